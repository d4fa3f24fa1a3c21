"""HotVAE: the scikit-learn style estimator users fit, predict, sample, save and load.

It is glue over the estimator contract (:class:`~jsdm_hot.estimators.base.JsdmEstimator`:
inputs, hold-out, standardisation, thresholds, draws, files): the network is
:class:`jsdm_hot.model.HotVAEModule`, the loop :func:`jsdm_hot.training.train_module`,
the label graph :func:`jsdm_hot.phylo.build_label_graph` (complete, co-occurrence
prior, phylogenetic from a Newick tree, or their combinations), the draws
:mod:`jsdm_hot.estimators.posterior`.

Data-aware defaults (``"auto"``) are rules of :mod:`jsdm_hot.estimators.auto`, resolved in
``fit`` and logged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jsdm_hot.errors import InputDataError, ModelFileError
from jsdm_hot.estimators.auto import CPU_D_MODEL, SPARSE_RICHNESS, resolve_model_values
from jsdm_hot.estimators.base import JsdmEstimator
from jsdm_hot.estimators.inputs import FitData
from jsdm_hot.graph import LabelGraph
from jsdm_hot.model.config import ModelConfig
from jsdm_hot.training.config import TrainConfig
from jsdm_hot.training.device import resolve_device

__all__ = ["HotVAE", "GRAPH_KINDS", "SPARSE_RICHNESS", "CPU_D_MODEL"]

logger = logging.getLogger(__name__)

#: Label graph kinds accepted by ``HotVAE(graph=...)``.
GRAPH_KINDS = ("auto", "complete", "prior", "phylo", "phylo+prior", "phylo&prior")
_MODEL_FIELDS = ModelConfig.field_names()
_TRAIN_FIELDS = ("lr", "weight_decay", "batch_size", "max_epochs", "patience", "min_delta", "grad_clip",
                 "optimizer", "lr_schedule", "warmup_epochs", "selection", "ema_decay")


class HotVAE(JsdmEstimator):
    """HOT-VAE joint species distribution model (Zhao et al., AAAI 2021).

    Parameters
    ----------
    d_model : int or "auto", default="auto"
        Decoder width (paper grid 100, 200, 512); ``"auto"``: 200 on a GPU,
        :data:`CPU_D_MODEL` on a CPU.
    n_layers, n_heads, latent_dim, n_subspaces_x, n_subspaces_y, encoder_hidden, dropout
        Architecture, see :class:`jsdm_hot.model.ModelConfig`.
    lambda0, lambda1, beta : float
        Eq 17 weights of the final BCE, the intermediate BCE and the KL term.
    lambda2 : float or "auto", default="auto"
        Weight of the ranking loss (see the module docstring for ``"auto"``).
    residual_factors, residual_mc, lambda_residual : int, int, float, default=4, 64, 3.0
        The residual association (ours, beyond the paper; see
        :class:`jsdm_hot.model.ModelConfig` and :mod:`jsdm_hot.model.residual`):
        rank K of ``Σ = Λ Λᵀ`` on the logit scale, Monte-Carlo draws of its
        likelihood, and its weight in the loss. ``residual_factors=0`` is the paper's model.
    lr, weight_decay, batch_size, max_epochs, patience, min_delta, grad_clip
        Optimisation, see :class:`jsdm_hot.training.TrainConfig`.
    graph : {"auto", "complete", "prior", "phylo", "phylo+prior", "phylo&prior"}, default="auto"
        Label graph of the decoder's species→species attention, built from the
        training sites only (never the validation or test sites).
    tree : str, Path or Phylogeny, optional
        Newick phylogeny of the species, for the ``phylo`` kinds; names are
        reconciled with the species (normalisation, ``synonyms``).
    synonyms : mapping or path, optional
        Extra name synonyms (old → new) for the reconciliation.
    tree_unmatched : {"error", "drop", "connect"}, default="error"
        Species missing from the tree: raise, drop them from the model (listed
        in the log and ``label_graph_.info``), or connect them to all species.
    phylo_k : int, default=3
        The phylo graph links each species to its k closest relatives.
    threshold_mode : {"per_label", "global"}, default="per_label"
        Decision thresholds chosen on the validation sites.
    val_fraction : float or None, default=0.1
        Share of the training sites held out for early stopping and thresholds
        when ``fit`` gets no validation data.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
    random_state : int, default=0
        Seeds initialisation, dropout, shuffling and the validation split.
    progress : bool, default=False
        Show a progress bar over epochs.
    checkpoint_dir : str or Path, optional
        Write a training checkpoint after every epoch; ``fit(resume=True)``
        continues from it.
    draws : {"auto", "residual", "latent"}, default="auto"
        How :meth:`sample` / :meth:`iter_samples` draw joint occurrences:
        ``"residual"`` — one decoder pass per site, then cheap draws of the residual
        association (the default when ``residual_factors > 0``); ``"latent"`` — the
        paper's draws, one ``z ~ q(z|x)`` and one decoder pass per draw (the default
        of the paper's model, ``residual_factors=0``).
    n_latent : int, default=1
        Residual draws: decoder passes per site (1: z at its posterior mean; more:
        that many ``z`` draws, cycled over the draws, adding latent uncertainty).

    Attributes
    ----------
    module_ : HotVAEModule
    label_graph_ : LabelGraph
        The graph used (``kind`` says which; tree reconciliation in ``info["tree"]``).
    model_config_ : ModelConfig
        The resolved network settings (``"auto"`` replaced by the values chosen).
    train_config_ : TrainConfig
    best_epoch_ : int
    stopped_early_ : str
    device_ : torch.device
    residual_correlation_, residual_covariance_ : DataFrame of shape (n_species, n_species)
        The fitted residual association (species names on both axes); identity / zeros
        for the paper's model.
    residual_loadings_ : DataFrame of shape (n_species, residual_factors)
    species_, feature_names_in_, n_features_in_, x_mean_, x_scale_, x_min_, x_max_,
    thresholds_, history_, fit_seconds_
        See :class:`~jsdm_hot.estimators.base.JsdmEstimator`.

    Examples
    --------
    >>> from jsdm_hot import HotVAE
    >>> from jsdm_hot.data.simulate import simulate_community
    >>> sim = simulate_community(n_sites=300, n_species=8, seed=1)
    >>> model = HotVAE(max_epochs=3, d_model=32).fit(sim.data)
    >>> model.predict_proba(sim.data).shape
    (300, 8)
    """

    _uses_label_graph = True

    def __init__(
        self,
        *,
        d_model: int | str = "auto",
        n_layers: int = 2,
        n_heads: int = 4,
        latent_dim: int = 64,
        n_subspaces_x: int = 1,
        n_subspaces_y: int = 1,
        encoder_hidden: int = 256,
        dropout: float = 0.1,
        lambda0: float = 1.0,
        lambda1: float = 0.1,
        lambda2: float | str = "auto",
        beta: float = 1e-4,
        feature_embedding: str = "none",
        embedding_size: int = 16,
        species_weighting: str = "none",
        direct_path: bool = False,
        residual_factors: int = 4,
        residual_mc: int = 64,
        lambda_residual: float = 3.0,
        lr: float = 7.5e-4,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        max_epochs: int = 200,
        patience: int = 20,
        min_delta: float = 1e-4,
        grad_clip: float = 5.0,
        optimizer: str = "adam",
        lr_schedule: str = "constant",
        warmup_epochs: int = 0,
        selection: str = "maf1",
        ema_decay: float = 0.0,
        n_members: int = 1,
        graph: str = "auto",
        tree: Any = None,
        synonyms: Any = None,
        tree_unmatched: str = "error",
        phylo_k: int = 3,
        threshold_mode: str = "per_label",
        val_fraction: float | None = 0.1,
        device: str = "auto",
        random_state: int | None = 0,
        progress: bool = False,
        checkpoint_dir: str | Path | None = None,
        draws: str = "auto",
        n_latent: int = 1,
    ):
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.latent_dim = latent_dim
        self.n_subspaces_x = n_subspaces_x
        self.n_subspaces_y = n_subspaces_y
        self.encoder_hidden = encoder_hidden
        self.dropout = dropout
        self.lambda0 = lambda0
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.beta = beta
        self.feature_embedding = feature_embedding
        self.embedding_size = embedding_size
        self.species_weighting = species_weighting
        self.direct_path = direct_path
        self.residual_factors = residual_factors
        self.residual_mc = residual_mc
        self.lambda_residual = lambda_residual
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.grad_clip = grad_clip
        self.optimizer = optimizer
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.selection = selection
        self.ema_decay = ema_decay
        self.n_members = n_members
        self.graph = graph
        self.tree = tree
        self.synonyms = synonyms
        self.tree_unmatched = tree_unmatched
        self.phylo_k = phylo_k
        self.threshold_mode = threshold_mode
        self.val_fraction = val_fraction
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self.checkpoint_dir = checkpoint_dir
        self.draws = draws
        self.n_latent = n_latent

    # ------------------------------------------------------------------ settings
    def _validate_params(self) -> None:
        if self.graph not in GRAPH_KINDS:
            raise InputDataError(f"graph must be one of {', '.join(GRAPH_KINDS)}, got {self.graph!r}")
        if self.graph.startswith("phylo") and self.tree is None:
            raise InputDataError(f"graph={self.graph!r} needs a phylogeny: pass tree=PATH.nwk (--tree)")
        if self.d_model != "auto" and (isinstance(self.d_model, bool) or not isinstance(self.d_model, int)):
            raise InputDataError(f"d_model must be a positive integer or 'auto', got {self.d_model!r}")
        if self.lambda2 != "auto" and not isinstance(self.lambda2, (int, float)):
            raise InputDataError(f"lambda2 must be a number >= 0 or 'auto', got {self.lambda2!r}")
        if isinstance(self.n_members, bool) or not isinstance(self.n_members, (int, np.integer)) or self.n_members < 1:
            raise InputDataError(f"n_members must be a positive integer, got {self.n_members!r}")
        if self.draws not in ("auto", "residual", "latent"):
            raise InputDataError(f"draws must be 'auto', 'residual' or 'latent', got {self.draws!r}")
        if isinstance(self.n_latent, bool) or not isinstance(self.n_latent, int) or self.n_latent < 1:
            raise InputDataError(f"n_latent must be a positive integer, got {self.n_latent!r}")
        self._train_config()  # validates the optimisation settings

    def graph_kind(self) -> str:
        """The label graph kind ``fit`` builds: ``graph``, with ``"auto"`` resolved."""
        if self.graph != "auto":
            return self.graph
        return "phylo+prior" if self.tree is not None else "complete"

    def _train_config(self) -> TrainConfig:
        return TrainConfig(**{k: getattr(self, k) for k in _TRAIN_FIELDS}, threshold_mode=self.threshold_mode)

    def _model_config(self, richness: float, device: torch.device) -> ModelConfig:
        """The network settings with ``"auto"`` resolved from the mean training richness and the device."""
        values = resolve_model_values({k: getattr(self, k) for k in _MODEL_FIELDS}, richness=richness, device=device)
        return ModelConfig(**values)

    # ------------------------------------------------------------------ graph
    def _label_graph(self, label_graph, data: FitData):
        """Build the label graph from the training sites (or check the given one); drop unmatched species."""
        if label_graph is not None:
            return super()._label_graph(label_graph, data)
        from jsdm_hot.phylo import build_label_graph

        kind = self.graph_kind()
        if self.graph == "auto":
            logger.info("graph='auto': %s%s", kind, " (a tree was given)" if self.tree is not None else "")
        tree = self.tree if kind.startswith("phylo") else None
        if self.tree is not None and tree is None:
            logger.info("graph=%r does not use the tree", kind)
        graph, report = build_label_graph(kind, data.Y, data.species, tree=tree, synonyms=self.synonyms,
                                          unmatched=self.tree_unmatched, phylo_k=self.phylo_k)
        if report is not None:
            logger.info("tree reconciliation: %s", report.summary() if hasattr(report, "summary") else report)
        if tuple(graph.species) != tuple(data.species):
            dropped = sorted(set(data.species) - set(graph.species))
            logger.warning("dropping %d species without a tip in the tree (tree_unmatched='drop'): %s",
                           len(dropped), ", ".join(dropped))
            data = data.select_species(graph.species)
        return graph, data

    # ------------------------------------------------------------------ fit
    def fit(self, X, Y=None, *, X_val=None, Y_val=None, label_graph: LabelGraph | None = None,
            resume: bool = False) -> HotVAE:
        """Train on sites ``X`` with occurrences ``Y``.

        Parameters
        ----------
        X : CommunityData, ParquetCommunity, DataFrame or array-like of shape (n_sites, n_features)
            A CommunityData carries its occurrences (leave ``Y`` None). A
            :class:`~jsdm_hot.data.streaming.ParquetCommunity` trains from disk,
            row group by row group (data larger than memory); without ``X_val``
            a ``val_fraction`` share of its row groups is held out and read into
            memory for validation.
        Y : array-like of shape (n_sites, n_species), optional
        X_val, Y_val : validation data in the same forms, optional
            Used for early stopping, model selection (maF1) and thresholds.
            Without them ``val_fraction`` of ``X`` is held out at random.
        label_graph : LabelGraph, optional
            Overrides ``graph``; its species must equal the data's.
        resume : bool
            Continue from the checkpoint in ``checkpoint_dir``.

        Returns
        -------
        self
        """
        from jsdm_hot.data.streaming import ParquetCommunity

        self._resume = bool(resume)
        try:
            if isinstance(X, ParquetCommunity):
                return self._fit_stream(X, X_val, label_graph)
            return super().fit(X, Y, X_val=X_val, Y_val=Y_val, label_graph=label_graph)
        finally:
            del self._resume

    def _fit_stream(self, data, X_val, label_graph: LabelGraph | None) -> HotVAE:
        """``fit`` on a ParquetCommunity: statistics from one streaming pass, then training from disk."""
        import time

        from jsdm_hot.estimators.streaming import stream_inputs
        from jsdm_hot.training.batches import ParquetBatches

        self._check_params()
        self._forget_fit()
        s = stream_inputs(data, X_val, val_fraction=self.val_fraction, seed=self.random_state,
                          graph_kind=self.graph_kind(), label_graph=label_graph)
        st = s.stats
        self._set_inputs(data.species, data.covariates, None, None, stats=(st.x_mean, st.x_scale, st.x_min, st.x_max))
        xv = self._standardise(s.X_val)
        t0 = time.perf_counter()
        self._train(ParquetBatches(data, s.units, st.x_mean, st.x_scale), None, xv, s.Y_val, s.label_graph,
                    prevalence=st.prevalence)
        self.fit_seconds_ = time.perf_counter() - t0
        self._set_thresholds(xv, s.Y_val)
        return self

    def _fit_core(self, X, Y, X_val, Y_val, label_graph) -> None:
        self._train(X, Y, X_val, Y_val, label_graph, prevalence=Y.mean(0))

    def _train(self, train, y_train, x_val, y_val, label_graph: LabelGraph, *, prevalence: np.ndarray) -> None:
        """Build the module and train it on standardised data; set the model's fitted attributes.

        ``train`` is an ndarray of shape (n_train, n_features) with ``y_train``, or a
        batch source with ``y_train=None`` (see :func:`jsdm_hot.training.train_module`).
        """
        from jsdm_hot.estimators.networks import train_members
        from jsdm_hot.training.distributed import context as dist_context

        if x_val is None:
            raise InputDataError("HotVAE needs validation sites for early stopping and thresholds: give X_val or "
                                 "a val_fraction")
        device = resolve_device(self.device)
        ctx = dist_context()
        if ctx.enabled and device.type == "cuda":  # one GPU per process under torchrun
            device = torch.device("cuda", ctx.local_rank)
        model_cfg = self._model_config(float(np.sum(prevalence)), device)
        train_cfg = self._train_config()
        seed = self._seed()
        L = len(self.species_)
        n_members = int(self.n_members)
        self.module_, results = train_members(
            n_members, self.n_features_in_, model_cfg, label_graph, prevalence, train, y_train, x_val, y_val,
            train_cfg, device=device, seed=seed, progress=self.progress, checkpoint_dir=self.checkpoint_dir,
            resume=getattr(self, "_resume", False))
        result = results[0]
        self.model_config_ = model_cfg
        self.train_config_ = train_cfg
        self.label_graph_ = label_graph
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.members_best_epoch_ = [int(r.best_epoch) for r in results]
        self.stopped_early_ = result.stopped_early
        self.device_ = device
        n_run = len(result.history)
        if not result.stopped_early and n_run >= 10 and result.best_epoch == n_run - 1:
            logger.warning("HotVAE was still improving at its epoch cap (max_epochs=%d, best epoch %d): "
                           "more epochs may help", train_cfg.max_epochs, result.best_epoch)
        logger.info("HotVAE fitted: %d species, graph %s, %d member(s), best epoch %d, validation maF1 %.4f",
                    L, label_graph.kind, n_members, result.best_epoch, result.best_val_maf1)

    # ------------------------------------------------------------------ predict
    def _proba(self, X: np.ndarray) -> np.ndarray:
        """Occurrence probabilities at the posterior mean of z (feature branch only), float32."""
        from jsdm_hot.training.loop import predict_proba_module

        return predict_proba_module(self.module_, np.asarray(X, dtype=np.float32), self.device_)

    def draw_mode(self) -> str:
        """``draws`` with ``"auto"`` resolved: residual draws when the model has residual factors."""
        if self.draws != "auto":
            return self.draws
        return "residual" if self.model_config_.residual_factors > 0 else "latent"

    def _default_chunk(self) -> int:
        return 1024 if self.draw_mode() == "residual" else super()._default_chunk()

    def _sample_chunk(self, X: np.ndarray, n_draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Joint draws of one chunk of sites (:mod:`jsdm_hot.estimators.posterior`), by :meth:`draw_mode`."""
        from jsdm_hot.estimators.posterior import latent_draws, residual_draws

        if self.draw_mode() == "residual":
            return residual_draws(self.module_, X, n_draws, seed=seed, device=self.device_, n_latent=self.n_latent)
        return latent_draws(self.module_, X, n_draws, seed=seed, device=self.device_)

    def predict_proba(self, X, *, as_frame: bool = False, given=None, n_mc: int = 2000, seed: int = 0):
        """Occurrence probabilities, optionally given a partial checklist.

        Parameters
        ----------
        X : CommunityData, DataFrame or array-like of shape (n_sites, n_features)
        as_frame : bool, default=False
            A DataFrame indexed by site id, one column per species.
        given : DataFrame or array-like of shape (n_sites, n_species), optional
            What was recorded at each site: 1 present, 0 absent, NaN unknown (a
            DataFrame is matched by species name; species it lacks are unknown).
            The unknown species are then predicted from the residual association
            conditioned on the recorded ones (importance sampling, ``n_mc`` draws per
            site); recorded entries are returned as given. Needs ``residual_factors > 0``.
        n_mc : int, default=2000
        seed : int, default=0

        Returns
        -------
        ndarray of shape (n_sites, n_species), float32, or DataFrame
        """
        if given is None:
            return super().predict_proba(X, as_frame=as_frame)
        from jsdm_hot.estimators.base import DEFAULT_CHUNK
        from jsdm_hot.estimators.inputs import chunk_seed
        from jsdm_hot.estimators.posterior import check_given, conditional, given_matrix

        self._check_fitted()
        if not self.has_residual_association:
            raise InputDataError("conditional prediction (given=) needs the residual association: fit with "
                                 "residual_factors > 0 (the paper's model has no residual to condition)")
        if int(self.n_members) > 1:
            raise InputDataError("conditional prediction (given=) is not available for an ensemble (n_members > 1): "
                                 "fit with n_members=1")
        Xs = self._features_for_predict(X)
        g = check_given(given_matrix(given, self.species_), Xs.shape[0], self.species_)
        parts = [conditional(self.module_, Xs[a:a + DEFAULT_CHUNK], g[a:a + DEFAULT_CHUNK], n_mc=int(n_mc),
                             seed=chunk_seed(seed, i), device=self.device_)[0]
                 for i, a in enumerate(range(0, Xs.shape[0], DEFAULT_CHUNK))]
        prob = np.concatenate(parts) if parts else np.zeros((0, len(self.species_)), np.float32)
        if not as_frame:
            return prob
        import pandas as pd

        from jsdm_hot.estimators.base import _site_ids

        return pd.DataFrame(prob, index=pd.Index(_site_ids(X, prob.shape[0]), name="site_id"), columns=list(self.species_))

    # ------------------------------------------------------------------ residual association
    @property
    def has_residual_association(self) -> bool:
        """True once fitted with ``residual_factors > 0`` (see :attr:`JsdmEstimator.has_residual_association`)."""
        return hasattr(self, "model_config_") and self.model_config_.residual_factors > 0

    def _species_frame(self, values: np.ndarray, columns=None):
        import pandas as pd

        return pd.DataFrame(values, index=pd.Index(self.species_, name="species"),
                            columns=list(self.species_) if columns is None else columns)

    @property
    def residual_correlation_(self):
        """Residual correlation ``cov2cor(Λ Λᵀ)`` between species (logit scale), DataFrame (n_species, n_species)."""
        self._check_fitted()
        return self._species_frame(self.module_.residual_correlation().detach().cpu().double().numpy())

    @property
    def residual_covariance_(self):
        """Residual covariance ``Σ = Λ Λᵀ`` (logit scale), DataFrame (n_species, n_species)."""
        self._check_fitted()
        return self._species_frame(self.module_.residual_covariance().detach().cpu().double().numpy())

    @property
    def residual_loadings_(self):
        """Residual loadings ``Λ``, DataFrame (n_species, residual_factors)."""
        self._check_fitted()
        lam = self.module_.residual_loadings().detach().cpu().double().numpy()
        return self._species_frame(lam, columns=[f"factor_{k + 1}" for k in range(lam.shape[1])])

    # ------------------------------------------------------------------ persistence
    def _state_tensors(self) -> dict[str, Any]:
        return {f"module.{k}": v for k, v in self.module_.state_dict().items()}

    def _state_config(self) -> dict[str, Any]:
        return {
            "model_config": self.model_config_.to_dict(),
            "train_config": self.train_config_.to_dict(),
            "label_graph": self.label_graph_.to_dict(),
            "best_epoch": int(self.best_epoch_),
            "stopped_early": self.stopped_early_,
            "members_best_epoch": list(getattr(self, "members_best_epoch_", [int(self.best_epoch_)])),
        }

    def _restore_state(self, tensors: dict[str, np.ndarray], config: dict[str, Any], device: str) -> None:
        self.model_config_ = ModelConfig(**config["model_config"])
        self.train_config_ = TrainConfig(**config["train_config"])
        g = config["label_graph"]
        bias_key = "module.attn_bias" if int(self.n_members) == 1 else "module.members.0.attn_bias"
        bias = tensors.get(bias_key) if g.get("has_bias") else None
        graph = LabelGraph.from_dict(g, bias=bias)
        if tuple(graph.species) != self.species_:
            raise ModelFileError("the saved label graph's species differ from the model's species")
        from jsdm_hot.estimators.networks import restore_module

        module = restore_module(tensors, int(self.n_members), self.n_features_in_, self.model_config_, graph)
        self.device_ = resolve_device(device)
        self.module_ = module.to(self.device_).eval()
        self.label_graph_ = graph
        self.best_epoch_ = int(config["best_epoch"])
        self.members_best_epoch_ = [int(e) for e in config.get("members_best_epoch", [self.best_epoch_])]
        self.stopped_early_ = str(config["stopped_early"])
