"""Shared machinery of the baselines: the estimator contract of :class:`jsdm_hot.HotVAE`.

Every baseline (:class:`~jsdm_hot.baselines.BinaryRelevanceLogistic`,
:class:`~jsdm_hot.baselines.MLkNN`, :class:`~jsdm_hot.baselines.MPVAE`,
:class:`~jsdm_hot.baselines.LaMP`) inherits :class:`BaselineEstimator`, which does
what they have in common:

* input handling — ``X`` is a :class:`~jsdm_hot.data.community.CommunityData`
  (occurrences and names taken from it), a DataFrame or an array
  ``(n_sites, n_features)`` with ``Y`` given separately; covariates must be
  finite, occurrences 0/1; at prediction, named inputs are matched to the
  training covariates by name;
* feature standardisation, fitted on the training sites and stored as
  ``x_mean_`` / ``x_scale_`` (a constant covariate gets scale 1);
* decision thresholds chosen on the validation sites only
  (:func:`jsdm_hot.thresholds.select_thresholds`); without validation data a
  seeded ``val_fraction`` of the training sites is held out for them, as
  :class:`jsdm_hot.HotVAE` does (``val_fraction=None``: no hold-out, 0.5);
* ``predict`` = ``predict_proba`` ≥ ``thresholds_``;
* ``sample`` — by default independent Bernoulli draws per species, which is all
  a model without a joint predictive distribution can give (MPVAE overrides it
  with joint draws);
* ``save`` / ``load`` to a directory of safetensors weights + JSON config via
  :mod:`jsdm_hot.io` (never pickle);
* a :class:`jsdm_hot.errors.NotFittedError` from any method that needs ``fit``.

:class:`TorchBaselineMixin` adds the PyTorch parts of MPVAE and LaMP: device
choice, a seeded mini-batch Adam loop with early stopping on validation maF1
(the model-selection rule HOT-VAE uses), batched inference and state dicts.

Subclasses implement ``_fit_core``, ``_proba`` and the persistence hooks
``_state_tensors`` / ``_state_config`` / ``_restore_state``.
"""

from __future__ import annotations

import copy
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from jsdm_hot.data.community import CommunityData
from jsdm_hot.inputs import prediction_features, split_xy
from jsdm_hot.errors import InputDataError, ModelFileError, NotFittedError

__all__ = ["BaselineEstimator", "TorchBaselineMixin", "resolve_device"]

log = logging.getLogger(__name__)

#: Format version written into every saved baseline directory.
FORMAT_VERSION = 1


def resolve_device(device: str) -> str:
    """``"auto"`` → ``"cuda"`` when available else ``"cpu"``; other strings pass through."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


class BaselineEstimator(BaseEstimator):
    """Base class of the baselines (sklearn-style; see the module docstring).

    Fitted attributes common to all baselines
    -----------------------------------------
    species_ : tuple of str, length n_species
    feature_names_in_ : tuple of str, length n_features
        Covariate names (``x_0, x_1, ...`` when fitted on a plain array).
    n_features_in_ : int
    x_mean_, x_scale_ : ndarray of shape (n_features,)
        Standardisation of the covariates, from the training sites.
    x_min_, x_max_ : ndarray of shape (n_features,)
        Range of each covariate over the training sites (NaN in models saved before it was recorded).
    thresholds_ : ndarray of shape (n_species,)
        Decision thresholds used by :meth:`predict`.
    history_ : list of dict
        Per-epoch training record (empty for non-iterative models).
    """

    # ------------------------------------------------------------ hooks
    def _fit_core(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        X_val: np.ndarray | None,
        Y_val: np.ndarray | None,
        label_graph: Any,
    ) -> None:  # pragma: no cover - abstract
        """Fit on standardised ``X`` (n_sites, n_features) float64 and ``Y`` uint8."""
        raise NotImplementedError

    def _proba(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Probabilities (n_sites, n_species) float64 from standardised ``X``."""
        raise NotImplementedError

    def _state_tensors(self) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        """Fitted arrays of the subclass (names must not start with ``base.``)."""
        raise NotImplementedError

    def _state_config(self) -> dict[str, Any]:
        """JSON-serialisable fitted state of the subclass beyond its tensors."""
        return {}

    def _restore_state(self, tensors: dict[str, np.ndarray], config: dict[str, Any], device: str) -> None:  # pragma: no cover
        """Inverse of :meth:`_state_tensors` / :meth:`_state_config`."""
        raise NotImplementedError

    # ------------------------------------------------------------ inputs
    def _check_params(self) -> None:
        rs = self.random_state
        if rs is not None and not isinstance(rs, (int, np.integer)):
            raise InputDataError(
                f"{type(self).__name__}: random_state must be an int or None (it is saved as JSON), got {type(rs).__name__}"
            )
        mode = self.threshold_mode
        if mode not in ("per_label", "global"):
            raise InputDataError(f"{type(self).__name__}: threshold_mode must be 'per_label' or 'global', got {mode!r}")

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.x_mean_) / self.x_scale_

    def _check_fitted(self) -> None:
        if not hasattr(self, "thresholds_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, Y) (or load a saved model) first"
            )

    def _features_for_predict(self, X: Any) -> np.ndarray:
        """Validated, standardised covariates ``(n_sites, n_features_in_)`` for prediction."""
        self._check_fitted()
        return self._standardise(prediction_features(X, self.feature_names_in_, type(self).__name__))

    # ------------------------------------------------------------ contract
    def fit(self, X, Y=None, *, X_val=None, Y_val=None, label_graph=None):
        """Fit on training sites; choose thresholds on validation sites.

        Parameters
        ----------
        X : CommunityData, DataFrame or array-like of shape (n_sites, n_features)
            Training covariates (and occurrences, for a CommunityData).
        Y : array-like or DataFrame of shape (n_sites, n_species), optional
            Training occurrences 0/1; required unless ``X`` is a CommunityData.
        X_val, Y_val : validation sites, same forms as ``X`` / ``Y``, optional
            Used for the decision thresholds (and early stopping of the neural
            baselines). Without them, ``val_fraction`` of the training sites is
            held out at random for that purpose, as :class:`jsdm_hot.HotVAE`
            does; with ``val_fraction=None`` all sites are used for training and
            the thresholds are 0.5.
        label_graph : LabelGraph, optional
            Species attention mask; used by :class:`~jsdm_hot.baselines.LaMP`,
            ignored (with a log message) by the others.

        Returns
        -------
        self
        """
        self._check_params()
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)  # a second fit forgets the first
        cls = type(self).__name__
        Xa, Ya, cov, species = split_xy(X, Y, f"{cls}.fit")
        n, p = Xa.shape
        L = Ya.shape[1]
        cov = cov or tuple(f"x_{j}" for j in range(p))
        species = species or tuple(f"sp_{j}" for j in range(L))
        Xv = Yv = None
        if X_val is not None:
            Xv, Yv, cov_v, sp_v = split_xy(X_val, Y_val, f"{cls}.fit (validation)")
            if isinstance(X_val, CommunityData):
                Xv = X_val.align_covariates(cov).X
                Yv = X_val.select_species(species).Y
            elif Xv.shape[1] != p or Yv.shape[1] != L:
                raise InputDataError(
                    f"validation data has {Xv.shape[1]} features / {Yv.shape[1]} species; training has {p} / {L}"
                )
        elif Y_val is not None:
            raise InputDataError("Y_val given without X_val")
        elif self.val_fraction is not None and self.val_fraction != 0:
            if not 0.0 < float(self.val_fraction) < 1.0:
                raise InputDataError(f"{cls}: val_fraction must be in (0, 1) or None, got {self.val_fraction}")
            perm = np.random.default_rng(self.random_state).permutation(n)
            n_val = max(1, int(round(float(self.val_fraction) * n)))
            vi, ti = np.sort(perm[:n_val]), np.sort(perm[n_val:])
            Xa, Ya, Xv, Yv = Xa[ti], Ya[ti], Xa[vi], Ya[vi]
            log.info("%s: no validation data given; holding out %d of %d sites (val_fraction=%s)",
                     cls, n_val, n, self.val_fraction)
        if Xa.shape[0] < 2:
            raise InputDataError(f"{cls}.fit needs at least 2 training sites, got {Xa.shape[0]}")
        if label_graph is not None and tuple(label_graph.species) != tuple(species):
            raise InputDataError("label_graph species differ from the training species (same names, same order needed)")
        self.n_features_in_ = int(p)
        self.feature_names_in_ = tuple(cov)
        self.species_ = tuple(species)
        self.x_mean_ = Xa.mean(0)
        sd = Xa.std(0)
        self.x_scale_ = np.where(sd > 0, sd, 1.0)
        self.x_min_, self.x_max_ = Xa.min(0), Xa.max(0)
        self.history_ = []
        Xv = None if Xv is None else self._standardise(Xv)
        self._fit_core(self._standardise(Xa), Ya, Xv, Yv, label_graph)
        if Xv is not None:
            from jsdm_hot.thresholds import select_thresholds

            self.thresholds_ = np.asarray(select_thresholds(Yv, self._proba(Xv), mode=self.threshold_mode),
                                          dtype=np.float64)
        else:
            log.info("%s: no validation data, decision thresholds are 0.5", cls)
            self.thresholds_ = np.full(L, 0.5)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Occurrence probabilities.

        Parameters
        ----------
        X : CommunityData or array-like of shape (n_sites, n_features)

        Returns
        -------
        ndarray of shape (n_sites, n_species), float64
        """
        Xs = self._features_for_predict(X)
        return np.asarray(self._proba(Xs), dtype=np.float64)

    def predict(self, X) -> np.ndarray:
        """Occurrences ``predict_proba(X) >= thresholds_``.

        Returns
        -------
        ndarray of shape (n_sites, n_species), uint8
        """
        from jsdm_hot.thresholds import apply_thresholds

        return apply_thresholds(self.predict_proba(X), self.thresholds_)

    def sample(self, X, n_draws: int = 100, seed: int = 0) -> np.ndarray:
        """Posterior predictive draws, one per species independently.

        A binary-relevance model has no joint predictive distribution: each
        species is drawn from ``Bernoulli(predict_proba)`` independently, so the
        draws carry no co-occurrence (unlike HOT-VAE's and MPVAE's joint draws).

        Returns
        -------
        ndarray of shape (n_draws, n_sites, n_species), uint8
        """
        if int(n_draws) < 1:
            raise InputDataError(f"n_draws must be at least 1, got {n_draws}")
        p = self.predict_proba(X)
        rng = np.random.default_rng(seed)
        return (rng.random((int(n_draws),) + p.shape) < p[None]).astype(np.uint8)

    # ------------------------------------------------------------ persistence
    def save(self, path, overwrite: bool = False) -> Path:
        """Write the fitted model to a directory (safetensors weights + JSON config).

        Parameters
        ----------
        path : str or Path
            Directory to create.
        overwrite : bool, default=False
            Replace an existing directory; otherwise an existing one raises.

        Returns
        -------
        Path
        """
        from jsdm_hot.io import save_model_dir

        self._check_fitted()
        params = self.get_params(deep=False)
        tensors = {f"base.{k}": np.ascontiguousarray(v) for k, v in (
            ("x_mean", self.x_mean_), ("x_scale", self.x_scale_), ("thresholds", self.thresholds_),
            ("x_min", self.x_min_), ("x_max", self.x_max_))}
        for k, v in self._state_tensors().items():
            if k.startswith("base."):
                raise AssertionError(f"state tensor name {k!r} is reserved")
            tensors[k] = v
        config = {
            "format_version": FORMAT_VERSION,
            "params": params,
            "species": list(self.species_),
            "feature_names_in": list(self.feature_names_in_),
            "n_features_in": int(self.n_features_in_),
            "history": self.history_,
            "state": self._state_config(),
        }
        save_model_dir(path, tensors, config, class_name=type(self).__name__, overwrite=overwrite)
        return Path(path)

    @classmethod
    def load(cls, path, device: str = "auto"):
        """Load a model written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
        device : str, default="auto"
            Where the neural baselines put their weights (ignored by the others).

        Raises
        ------
        ModelFileError
            When the directory is missing, from another class or incomplete.
        """
        from jsdm_hot.io import load_model_dir

        tensors, config = load_model_dir(path, cls.__name__)
        try:
            if config.get("format_version") != FORMAT_VERSION:
                raise ModelFileError(
                    f"{path}: baseline format version {config.get('format_version')!r}, this jsdm-hot reads {FORMAT_VERSION}"
                )
            params = dict(config["params"])
            params["device"] = device
            est = cls(**params)
            tens = {k: np.asarray(v) for k, v in tensors.items()}
            est.x_mean_ = tens.pop("base.x_mean").astype(np.float64)
            est.x_scale_ = tens.pop("base.x_scale").astype(np.float64)
            nan = np.full(est.x_mean_.shape, np.nan)  # models saved before the range was recorded
            est.x_min_, est.x_max_ = tens.pop("base.x_min", nan).astype(np.float64), tens.pop("base.x_max", nan).astype(np.float64)
            thresholds = tens.pop("base.thresholds").astype(np.float64)
            est.species_ = tuple(config["species"])
            est.feature_names_in_ = tuple(config["feature_names_in"])
            est.n_features_in_ = int(config["n_features_in"])
            est.history_ = list(config["history"])
            est._restore_state(tens, config["state"], device)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{path}: incomplete or inconsistent {cls.__name__} model directory ({exc!r})") from exc
        est.thresholds_ = thresholds
        return est


# =============================================================== torch helpers
class TorchBaselineMixin:
    """Training and inference helpers shared by the PyTorch baselines.

    Expects the estimator to define the parameters ``lr``, ``batch_size``,
    ``max_epochs``, ``patience``, ``weight_decay``, ``device`` and
    ``random_state``, and the hooks ``_build_module(n_features, n_species,
    label_graph)`` and ``_batch_loss(module, x, y, generator) -> Tensor``; the
    fitted module is ``module_`` and ``_module_proba(module, x) -> Tensor`` gives
    probabilities in eval mode.
    """

    _PREDICT_BATCH = 4096

    def _device(self) -> str:
        return resolve_device(self.device)

    def _train_module(self, X, Y, X_val, Y_val, label_graph) -> None:
        import torch

        from jsdm_hot.thresholds import f1_per_label, select_thresholds

        dev = torch.device(self._device())
        seed = int(np.random.default_rng().integers(2**62)) if self.random_state is None else int(self.random_state)
        rng = np.random.default_rng(seed)
        gen = torch.Generator(device=dev).manual_seed(seed)
        n = X.shape[0]
        bs = max(1, min(int(self.batch_size), n))
        xt = torch.as_tensor(X, dtype=torch.float32, device=dev)
        yt = torch.as_tensor(Y, dtype=torch.float32, device=dev)
        devices = [dev.index or 0] if dev.type == "cuda" else []
        # fork_rng: parameter initialisation and dropout use the global torch RNG;
        # seeding it inside fork_rng keeps fits reproducible without leaving global state.
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            module = self._build_module(X.shape[1], Y.shape[1], label_graph).to(dev)
            opt = torch.optim.Adam(module.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
            best_score, best_state, best_epoch, bad = -math.inf, None, -1, 0
            for epoch in range(int(self.max_epochs)):
                module.train()
                perm = torch.as_tensor(rng.permutation(n), device=dev)
                total, seen = 0.0, 0
                for start in range(0, n, bs):
                    idx = perm[start:start + bs]
                    loss = self._batch_loss(module, xt[idx], yt[idx], gen)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * idx.numel()
                    seen += idx.numel()
                rec: dict[str, float] = {"epoch": epoch + 1, "loss": total / max(seen, 1)}
                if X_val is not None:
                    pv = self._predict_module(module, X_val)
                    thr = select_thresholds(Y_val, pv)
                    score = float(f1_per_label(Y_val, pv >= thr[None, :]).mean())
                    rec["val_maf1"] = score
                    if score > best_score:
                        best_score, best_epoch, bad = score, epoch + 1, 0
                        best_state = copy.deepcopy(module.state_dict())
                    else:
                        bad += 1
                self.history_.append(rec)
                if not math.isfinite(rec["loss"]):
                    raise InputDataError(
                        f"{type(self).__name__}: training loss became {rec['loss']} at epoch {epoch + 1}; "
                        "lower lr or check the covariates for extreme values"
                    )
                if X_val is not None and bad >= int(self.patience):
                    log.info("%s: early stop at epoch %d (best %d, val maF1 %.4f)", type(self).__name__,
                             epoch + 1, best_epoch, best_score)
                    break
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        self.best_epoch_ = best_epoch if best_state is not None else len(self.history_)

    def _predict_module(self, module, X: np.ndarray) -> np.ndarray:
        import torch

        dev = next(module.parameters()).device
        was_training = module.training
        module.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, X.shape[0], self._PREDICT_BATCH):
                xb = torch.as_tensor(X[start:start + self._PREDICT_BATCH], dtype=torch.float32, device=dev)
                out.append(self._module_proba(module, xb).float().cpu().numpy())
        module.train(was_training)
        if not out:
            return np.zeros((0, len(self.species_)), dtype=np.float64)
        return np.concatenate(out).astype(np.float64)

    def _proba(self, X: np.ndarray) -> np.ndarray:
        return self._predict_module(self.module_, X)

    def _state_tensors(self) -> dict[str, np.ndarray]:
        return {f"module.{k}": v.detach().cpu().contiguous().numpy() for k, v in self.module_.state_dict().items()}

    def _torch_state_config(self) -> dict[str, Any]:
        return {"n_features": int(self.n_features_in_), "n_species": len(self.species_), "best_epoch": int(self.best_epoch_)}

    def _restore_module(self, tensors: dict[str, np.ndarray], config: dict[str, Any], device: str) -> None:
        import torch

        dev = torch.device(resolve_device(device))
        with torch.random.fork_rng(devices=[]):  # initial values are overwritten; keep the global RNG untouched
            module = self._build_module(int(config["n_features"]), int(config["n_species"]), None)
        own = module.state_dict()
        state = {}
        for k, v in tensors.items():
            if k.startswith("module."):
                name = k[len("module."):]
                t = torch.as_tensor(v)
                state[name] = t.to(own[name].dtype) if name in own else t  # bool buffers are stored as uint8
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelFileError(f"saved {type(self).__name__} weights do not match its architecture: {exc}") from exc
        self.module_ = module.to(dev).eval()
        self.best_epoch_ = int(config.get("best_epoch", 0))
