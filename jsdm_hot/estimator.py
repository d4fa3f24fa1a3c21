"""HotVAE: the scikit-learn style estimator users fit, predict, sample, save and load.

It is glue: inputs are validated and standardised here, the network is
:class:`jsdm_hot.model.HotVAEModule`, the loop is :func:`jsdm_hot.train.train_module`,
the draws come from :mod:`jsdm_hot.posterior`, and files from :mod:`jsdm_hot.io`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from jsdm_hot.config import HotVAEConfig
from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError, ModelFileError, NotFittedError
from jsdm_hot.graph import LabelGraph
from jsdm_hot.inputs import prediction_features, split_xy
from jsdm_hot.thresholds import apply_thresholds

__all__ = ["HotVAE"]

logger = logging.getLogger(__name__)

#: Keys of the arrays stored in ``weights.safetensors`` besides the module's own (``module.*``).
SAVE_KEYS = {"x_mean": "x_mean", "x_scale": "x_scale", "thresholds": "thresholds"}


def _init_readout_bias(module, prevalence: np.ndarray) -> None:
    """Start each species' readout bias (Eq 9) at the logit of its training prevalence.

    Not in the paper (which does not state its initialisation); it removes the
    first epochs spent learning prevalences, which matters on small data sets.
    Prevalences are clipped to [1e-3, 1 - 1e-3] so absent species stay finite.

    Parameters
    ----------
    prevalence : ndarray of shape (n_species,)
    """
    prev = np.clip(prevalence, 1e-3, 1 - 1e-3)
    with torch.no_grad():
        module.decoder.readout_bias.copy_(torch.as_tensor(np.log(prev / (1 - prev)), dtype=torch.float32))


class HotVAE(BaseEstimator):
    """HOT-VAE joint species distribution model (Zhao et al., AAAI 2021).

    Parameters
    ----------
    config : HotVAEConfig or dict, optional
        Hyper-parameters; default :class:`HotVAEConfig()` (paper defaults).
    graph : {"complete", "prior"}, default="complete"
        Label graph built from the training data when ``fit`` gets no
        ``label_graph`` (phylogenetic graphs: build one with
        :func:`jsdm_hot.phylo.build_label_graph` and pass it to ``fit``).
    val_fraction : float, default=0.1
        Share of the training sites held out for early stopping and
        thresholds when ``fit`` gets no validation data.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, default=0
        Seeds initialisation, dropout, shuffling and the validation split.
    progress : bool, default=False
        Show progress bars.
    checkpoint_dir : str or path, optional
        Write a training checkpoint after every epoch; ``fit(resume=True)``
        continues from it.

    Attributes
    ----------
    module_ : HotVAEModule
    label_graph_ : LabelGraph
    species_ : tuple of str, length n_species
    feature_names_in_ : tuple of str, length n_features_in_
    n_features_in_ : int
    x_mean_, x_scale_ : ndarray of shape (n_features_in_,)
        Training standardisation, reused for every prediction.
    thresholds_ : ndarray of shape (n_species,)
        Decision thresholds chosen on the validation data.
    history_ : list of dict
        Per-epoch training and validation record.
    best_epoch_ : int
    config_ : HotVAEConfig
        The validated configuration used.

    Examples
    --------
    >>> from jsdm_hot import HotVAE, HotVAEConfig
    >>> from jsdm_hot.data.simulate import simulate_community
    >>> sim = simulate_community(n_sites=300, n_species=8, seed=1)
    >>> model = HotVAE(HotVAEConfig(max_epochs=3, d_model=32)).fit(sim.data)
    >>> model.predict_proba(sim.data).shape
    (300, 8)
    """

    def __init__(
        self,
        config: HotVAEConfig | dict | None = None,
        graph: str = "complete",
        val_fraction: float = 0.1,
        device: str = "auto",
        random_state: int = 0,
        progress: bool = False,
        checkpoint_dir: str | Path | None = None,
    ):
        self.config = config
        self.graph = graph
        self.val_fraction = val_fraction
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self.checkpoint_dir = checkpoint_dir

    # ------------------------------------------------------------------ fit
    def _resolved_config(self) -> HotVAEConfig:
        cfg = self.config
        if cfg is None:
            cfg = HotVAEConfig()
        elif isinstance(cfg, dict):
            cfg = HotVAEConfig.from_dict(cfg)
        elif not isinstance(cfg, HotVAEConfig):
            raise InputDataError(f"config must be a HotVAEConfig, a dict or None, got {type(cfg).__name__}")
        return HotVAEConfig.from_dict(cfg.to_dict()).validate()

    def fit(
        self,
        X,
        Y=None,
        *,
        X_val=None,
        Y_val=None,
        label_graph: LabelGraph | None = None,
        resume: bool = False,
    ) -> "HotVAE":
        """Train on sites ``X`` with occurrences ``Y``.

        Parameters
        ----------
        X : CommunityData, ParquetCommunity or array-like of shape (n_sites, n_features)
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

        cfg = self._resolved_config()
        if isinstance(X, ParquetCommunity):
            return self._fit_stream(X, X_val, label_graph, resume, cfg)
        Xa, Ya, cov_names, species = split_xy(X, Y, f"{type(self).__name__}.fit")
        n, p = Xa.shape
        L = Ya.shape[1]
        cov_names = cov_names or tuple(f"x_{j}" for j in range(p))
        species = species or tuple(f"sp_{j}" for j in range(L))
        if n < 4:
            raise InputDataError(f"fit needs at least 4 sites, got {n}")
        if X_val is not None:
            Xv, Yv, _, _ = split_xy(X_val, Y_val, f"{type(self).__name__}.fit (validation)")
            if isinstance(X_val, CommunityData):
                Xv = X_val.align_covariates(cov_names).X
                Yv = X_val.select_species(species).Y
            elif Xv.shape[1] != p or Yv.shape[1] != L:
                raise InputDataError(f"validation data has {Xv.shape[1]} features / {Yv.shape[1]} species; training has {p} / {L}")
            Xt, Yt = Xa, Ya
        else:
            vi, ti = self._holdout(n)
            Xt, Yt, Xv, Yv = Xa[ti], Ya[ti], Xa[vi], Ya[vi]

        if label_graph is None:
            label_graph = LabelGraph.build(self.graph, Yt, species)
        x_mean = Xt.mean(0)
        x_scale = Xt.std(0)
        x_scale = np.where(x_scale > 0, x_scale, 1.0)
        return self._fit_prepared((Xt - x_mean) / x_scale, Yt, (Xv - x_mean) / x_scale, Yv,
                                  cov_names=cov_names, species=species, x_mean=x_mean, x_scale=x_scale,
                                  prevalence=Yt.mean(0), label_graph=label_graph, resume=resume, cfg=cfg)

    def _holdout(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Seeded random split of ``n`` items (sites or row groups) into (validation, training) indices.

        ``round(val_fraction × n)`` items validate, at least one and leaving at least one to train;
        both index arrays are sorted.
        """
        if not 0.0 < self.val_fraction < 1.0:
            raise InputDataError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        perm = np.random.default_rng(self.random_state).permutation(n)
        n_val = min(n - 1, max(1, int(round(self.val_fraction * n))))
        return np.sort(perm[:n_val]), np.sort(perm[n_val:])

    def _fit_stream(self, data, X_val, label_graph: LabelGraph | None, resume: bool, cfg: HotVAEConfig) -> "HotVAE":
        """``fit`` on a ParquetCommunity: statistics from one streaming pass, then training from disk."""
        from jsdm_hot.data.streaming import ParquetBatches, ParquetCommunity

        species, cov_names = data.species, data.covariates
        units = np.arange(data.n_units)
        if X_val is None:
            if data.n_units < 2:
                raise InputDataError(f"{data.path} has a single row group: give validation data (X_val) or write "
                                     "the parquet file with several row groups")
            val_units, units = self._holdout(data.n_units)
            val = data.read(val_units)
        else:
            val = X_val.read() if isinstance(X_val, ParquetCommunity) else X_val
            if not isinstance(val, CommunityData) or not val.has_occurrences:
                raise InputDataError("X_val for a parquet training set must be a CommunityData or ParquetCommunity with occurrences")
        Xv = val.align_covariates(cov_names).X
        Yv = val.select_species(species).Y
        stats = data.scan(units)
        logger.info("streaming %d training sites in %d row groups from %s", stats.n_sites, units.size, data.path)
        if label_graph is None:
            if self.graph == "prior":
                label_graph = LabelGraph.prior_from_counts(stats.cooccurrence, species)
            else:
                label_graph = LabelGraph.build(self.graph, None, species)
        source = ParquetBatches(data, units, stats.x_mean, stats.x_scale)
        return self._fit_prepared(source, None, (Xv - stats.x_mean) / stats.x_scale, Yv,
                                  cov_names=cov_names, species=species, x_mean=stats.x_mean, x_scale=stats.x_scale,
                                  prevalence=stats.prevalence, label_graph=label_graph, resume=resume, cfg=cfg)

    def _fit_prepared(self, train, y_train, x_val, y_val, *, cov_names, species, x_mean, x_scale, prevalence,
                      label_graph: LabelGraph, resume: bool, cfg: HotVAEConfig) -> "HotVAE":
        """Build the module and train it on standardised data; set the fitted attributes.

        ``train`` is an ndarray of shape (n_train, n_features) with ``y_train``, or a
        batch source with ``y_train=None`` (see :func:`jsdm_hot.train.train_module`).
        """
        from jsdm_hot.distributed import context as dist_context
        from jsdm_hot.model import HotVAEModule
        from jsdm_hot.train import resolve_device, train_module

        if tuple(label_graph.species) != tuple(species):
            raise InputDataError("label_graph species differ from the data's species (same names in the same order are required)")
        p, L = len(cov_names), len(species)
        device = resolve_device(self.device)
        ctx = dist_context()
        if ctx.enabled and device.type == "cuda":  # one GPU per process under torchrun
            device = torch.device("cuda", ctx.local_rank)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.random_state)
            module = HotVAEModule(
                p, L, cfg,
                mask=torch.as_tensor(label_graph.mask),
                bias=None if label_graph.bias is None else torch.as_tensor(label_graph.bias),
            )
            _init_readout_bias(module, prevalence)
            module = module.to(device)
            result = train_module(
                module, train, y_train, x_val.astype(np.float32), y_val, cfg,
                device=device, seed=self.random_state, progress=self.progress,
                checkpoint_dir=self.checkpoint_dir, resume=resume,
            )
        module.eval()
        self.module_ = module
        self.config_ = cfg
        self.label_graph_ = label_graph
        self.species_ = tuple(species)
        self.feature_names_in_ = tuple(cov_names)
        self.n_features_in_ = p
        self.x_mean_ = x_mean
        self.x_scale_ = x_scale
        self.thresholds_ = result.thresholds
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.stopped_early_ = result.stopped_early
        self.device_ = device
        logger.info("HotVAE fitted: %d sites, %d species, best epoch %d, validation maF1 %.4f",
                    train.shape[0] if y_train is not None else train.n_sites, L, result.best_epoch, result.best_val_maf1)
        return self

    # -------------------------------------------------------------- predict
    def _check_is_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() first")

    def _prepare_X(self, X) -> np.ndarray:
        """Standardised covariates ``(n_sites, n_features_in_)``, float32 (see :func:`~jsdm_hot.inputs.prediction_features`)."""
        self._check_is_fitted()
        Xa = prediction_features(X, self.feature_names_in_, type(self).__name__)
        return ((Xa - self.x_mean_) / self.x_scale_).astype(np.float32)

    def predict_proba(self, X) -> np.ndarray:
        """Occurrence probabilities at the posterior mean of z (feature branch only).

        Parameters
        ----------
        X : CommunityData or array-like of shape (n_sites, n_features)

        Returns
        -------
        ndarray of shape (n_sites, n_species), float32
        """
        from jsdm_hot.train import predict_proba_module

        x = self._prepare_X(X)
        return predict_proba_module(self.module_, x, self.device_)

    def predict(self, X) -> np.ndarray:
        """0/1 occurrences using the validation-chosen :attr:`thresholds_`.

        Returns
        -------
        ndarray of shape (n_sites, n_species), uint8
        """
        return apply_thresholds(self.predict_proba(X), self.thresholds_)

    def sample(self, X, n_draws: int = 100, seed: int = 0, chunk_size: int | None = None) -> np.ndarray:
        """Joint posterior predictive draws (see :mod:`jsdm_hot.posterior`).

        Parameters
        ----------
        X : CommunityData or array-like of shape (n_sites, n_features)
        n_draws : int, default=100
        seed : int, default=0
        chunk_size : int, optional
            Sites per chunk (memory bound); results depend on seed and chunk size.

        Returns
        -------
        ndarray of shape (n_draws, n_sites, n_species), uint8
        """
        from jsdm_hot.posterior import DEFAULT_CHUNK, sample_draws

        if int(n_draws) < 1:
            raise InputDataError(f"n_draws must be >= 1, got {n_draws}")
        x = self._prepare_X(X)
        return sample_draws(self.module_, x, int(n_draws), seed=seed, device=self.device_,
                            chunk_size=chunk_size or DEFAULT_CHUNK)

    def iter_samples(self, X, n_draws: int = 100, seed: int = 0, chunk_size: int | None = None, return_prob: bool = False):
        """Streaming version of :meth:`sample`: yields ``(sites_slice, draws)`` per chunk of sites."""
        from jsdm_hot.posterior import DEFAULT_CHUNK, iter_draws

        x = self._prepare_X(X)
        return iter_draws(self.module_, x, int(n_draws), seed=seed, device=self.device_,
                          chunk_size=chunk_size or DEFAULT_CHUNK, return_prob=return_prob)

    # ------------------------------------------------------------ save/load
    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the fitted model to directory ``path`` (safetensors + JSON, atomic, no pickle)."""
        from jsdm_hot.io import save_model_dir

        self._check_is_fitted()
        tensors: dict[str, Any] = {f"module.{k}": v for k, v in self.module_.state_dict().items()}
        tensors.update({SAVE_KEYS["x_mean"]: self.x_mean_, SAVE_KEYS["x_scale"]: self.x_scale_,
                        SAVE_KEYS["thresholds"]: np.asarray(self.thresholds_, dtype=np.float64)})
        params = self.get_params()
        params["config"] = self.config_.to_dict()
        params["checkpoint_dir"] = None if params["checkpoint_dir"] is None else str(params["checkpoint_dir"])
        config = {
            "params": params,
            "species": list(self.species_),
            "feature_names": list(self.feature_names_in_),
            "label_graph": self.label_graph_.to_dict(),
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "stopped_early": self.stopped_early_,
        }
        return save_model_dir(path, tensors, config, class_name=type(self).__name__, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> "HotVAE":
        """Rebuild a model saved with :meth:`save`; never executes code from the files."""
        from jsdm_hot.io import load_model_dir
        from jsdm_hot.model import HotVAEModule
        from jsdm_hot.train import resolve_device

        arrays, cfg = load_model_dir(path, expected_class=cls.__name__)
        try:
            params = dict(cfg["params"])
            # saved before the residual association existed: the paper's model (no residual factors)
            params["config"] = {"residual_factors": 0, **params["config"]}
            params["device"] = device
            est = cls(**params)
            est.config_ = HotVAEConfig.from_dict(params["config"]).validate()
            species = tuple(cfg["species"])
            features = tuple(cfg["feature_names"])
            bias = arrays.get("module.attn_bias")
            graph = LabelGraph.from_dict(cfg["label_graph"], bias=bias if cfg["label_graph"].get("has_bias") else None)
            module = HotVAEModule(len(features), len(species), est.config_, mask=torch.as_tensor(graph.mask),
                                  bias=None if graph.bias is None else torch.as_tensor(graph.bias))
            state = {k[len("module."):]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("module.")}
            if "attn_mask" in state:
                state["attn_mask"] = state["attn_mask"].bool()
            module.load_state_dict(state, strict=True)
        except (KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise ModelFileError(f"{path} does not describe a valid {cls.__name__}: {exc}") from None
        est.device_ = resolve_device(device)
        est.module_ = module.to(est.device_).eval()
        est.label_graph_ = graph
        est.species_ = species
        est.feature_names_in_ = features
        est.n_features_in_ = len(features)
        est.x_mean_ = arrays[SAVE_KEYS["x_mean"]]
        est.x_scale_ = arrays[SAVE_KEYS["x_scale"]]
        est.thresholds_ = arrays[SAVE_KEYS["thresholds"]]
        est.history_ = cfg.get("history", [])
        est.best_epoch_ = cfg.get("best_epoch", -1)
        est.stopped_early_ = cfg.get("stopped_early", "")
        return est
