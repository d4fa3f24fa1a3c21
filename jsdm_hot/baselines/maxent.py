"""MaxEnt per species (elapid), with prediction rebuilt from stored arrays.

Each species is fitted with :class:`elapid.MaxentModel` on the standardised
covariates. Prediction does not keep the elapid objects: their fitted
parameters (the feature transformer's scalings and knots, the coefficients,
``alpha_`` and ``entropy_``) are copied into arrays, and :func:`maxent_features`
/ :meth:`MaxEnt._proba` recompute elapid's cloglog output from them, so the
saved model is safetensors + JSON only. The tests check the rebuilt
prediction against ``MaxentModel.predict`` species by species.

elapid is an optional dependency (extra ``baselines``), imported only in ``fit``.
"""

from __future__ import annotations

import logging
from numbers import Integral, Real
from typing import Any

import numpy as np

from jsdm_hot.baselines._fitted import check_params_tensor, constant_species, params_tensor
from jsdm_hot.errors import InputDataError, ModelFileError
from jsdm_hot.estimators.base import JsdmEstimator

__all__ = ["MaxEnt", "maxent_features", "feature_classes", "n_maxent_features"]

log = logging.getLogger(__name__)

#: elapid's feature classes by letter, in the order its transformer concatenates them.
FEATURE_CLASSES = {"l": "linear", "q": "quadratic", "p": "product", "t": "threshold", "h": "hinge"}

#: Stored transformer arrays per feature class.
_CLASS_ARRAYS = {
    "linear": ("linear_scale", "linear_min"),
    "quadratic": ("quadratic_scale", "quadratic_min"),
    "product": ("product_scale", "product_min"),
    "threshold": ("threshold_knots",),
    "hinge": ("hinge_knots", "hinge_min", "hinge_max"),
}


def feature_classes(feature_types) -> list[str]:
    """elapid feature class names, in elapid's concatenation order.

    Parameters
    ----------
    feature_types : str or sequence of str
        Letters ``"lqpth"`` (e.g. ``"lhp"``) or names (``["linear", "hinge"]``).

    Raises
    ------
    InputDataError
        Naming ``feature_types`` when a class is unknown or none is given.
    """
    names = set()
    items = list(feature_types) if isinstance(feature_types, (str, list, tuple)) else None
    for item in items or []:
        name = FEATURE_CLASSES.get(item, item)
        if name not in FEATURE_CLASSES.values():
            items = None
            break
        names.add(name)
    if not items:
        raise InputDataError(
            f"MaxEnt: feature_types must be letters of 'lqpth' or names among {sorted(FEATURE_CLASSES.values())}, "
            f"got {feature_types!r}")
    return [c for c in FEATURE_CLASSES.values() if c in names]


def n_maxent_features(classes: list[str], n_features: int, n_hinge: int, n_threshold: int) -> int:
    """Width of elapid's feature matrix for ``n_features`` covariates."""
    p = n_features
    width = {"linear": p, "quadratic": p, "product": p * (p - 1) // 2 if p > 1 else 1,
             "threshold": n_threshold * p, "hinge": 2 * (n_hinge - 1) * p}
    return sum(width[c] for c in classes)


def _scaled(z: np.ndarray, scale: np.ndarray, mn: np.ndarray, clamp: bool) -> np.ndarray:
    out = z * scale + mn  # sklearn.preprocessing.MinMaxScaler.transform
    return np.clip(out, 0.0, 1.0) if clamp else out


def _products(x: np.ndarray) -> np.ndarray:
    if x.shape[1] == 1:  # elapid's column_product returns the single column itself
        return x
    i, j = np.triu_indices(x.shape[1], 1)  # (0,1), (0,2), ..., (1,2), ... as elapid's column_product
    return x[:, i] * x[:, j]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, where=den > 0, out=out)
    return np.clip(out, 0.0, 1.0)


def maxent_features(X: np.ndarray, arrays: dict[str, np.ndarray], classes: list[str], clamp: bool) -> np.ndarray:
    """elapid's ``MaxentFeatureTransformer.transform`` from stored arrays.

    Parameters
    ----------
    X : ndarray of shape (n_sites, n_features)
    arrays : dict of str to ndarray
        ``linear_scale`` / ``linear_min`` (n_features,), ``quadratic_*`` (n_features,),
        ``product_*`` (n_products,), ``threshold_knots`` (n_threshold, n_features),
        ``hinge_knots`` (n_hinge, n_features), ``hinge_min`` / ``hinge_max`` (n_features,).
    classes : list of str
        From :func:`feature_classes`.
    clamp : bool
        Clip the linear / quadratic / product features to [0, 1] (elapid's ``clamp``).

    Returns
    -------
    ndarray of shape (n_sites, n_maxent_features), float64
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    parts = []
    if "linear" in classes:
        parts.append(_scaled(X, arrays["linear_scale"], arrays["linear_min"], clamp))
    if "quadratic" in classes:
        parts.append(_scaled(X ** 2, arrays["quadratic_scale"], arrays["quadratic_min"], clamp))
    if "product" in classes:
        parts.append(_scaled(_products(X), arrays["product_scale"], arrays["product_min"], clamp))
    if "threshold" in classes:
        knots = arrays["threshold_knots"].T  # (n_features, n_threshold)
        parts.append((X[:, :, None] > knots[None]).reshape(n, -1).astype(np.float64))
    if "hinge" in classes:
        knots = arrays["hinge_knots"].T  # (n_features, n_hinge)
        lo, hi = arrays["hinge_min"][:, None], arrays["hinge_max"][:, None]
        x = X[:, :, None]
        left = _ratio(x - knots[None, :, :-1], (hi - knots[:, :-1])[None])
        right = _ratio(x - lo[None], (knots[:, 1:] - lo)[None])
        parts.append(np.concatenate((left, right), axis=2).reshape(n, -1))
    return np.concatenate(parts, axis=1)


def _transformer_shapes(classes: list[str], p: int, n_hinge: int, n_threshold: int) -> dict[str, tuple[int, ...]]:
    """Shapes of the stored transformer arrays for ``p`` covariates."""
    n_prod = p * (p - 1) // 2 if p > 1 else 1
    shapes = {"linear_scale": (p,), "linear_min": (p,), "quadratic_scale": (p,), "quadratic_min": (p,),
              "product_scale": (n_prod,), "product_min": (n_prod,), "threshold_knots": (n_threshold, p),
              "hinge_knots": (n_hinge, p), "hinge_min": (p,), "hinge_max": (p,)}
    return {k: shapes[k] for c in classes for k in _CLASS_ARRAYS[c]}


def _transformer_arrays(transformer) -> dict[str, np.ndarray]:
    """Copy the fitted arrays out of an ``elapid.features.MaxentFeatureTransformer``."""
    est = transformer.estimators_
    out: dict[str, np.ndarray] = {}
    for name in ("linear", "quadratic", "product"):
        if est[name] is not None:
            scaler = est[name] if name == "linear" else est[name].estimator
            out[f"{name}_scale"], out[f"{name}_min"] = scaler.scale_.copy(), scaler.min_.copy()
    if est["threshold"] is not None:
        out["threshold_knots"] = np.asarray(est["threshold"].threshold_indices_, dtype=np.float64)
    if est["hinge"] is not None:
        h = est["hinge"]
        out["hinge_knots"] = np.asarray(h.hinge_indices_, dtype=np.float64)
        out["hinge_min"], out["hinge_max"] = np.asarray(h.mins_, np.float64), np.asarray(h.maxs_, np.float64)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


class MaxEnt(JsdmEstimator):
    """MaxEnt (Phillips et al. 2006; maxnet formulation, Phillips et al. 2017) per species via elapid.

    Deviation from presence-background MaxEnt: here the occurrences are
    zero-filled checklists, so the 0s are *recorded absences*, not random
    background points. elapid's ``MaxentModel`` treats every 0 as background;
    we pass the training sites as they are, so for each species the
    "background" is the set of sites where it was not recorded (presence sites
    are not added to the background, unlike maxnet's default). The model is then
    a down-weighted logistic regression of presence against absence
    (background weight ``class_weights``) whose cloglog output we read as the
    probability of occurrence at a site, the interpretation Phillips et al.
    (2017) give it. Thresholds come from the validation sites as for every model.

    Solver: elapid fits with ``glmnet`` when the Fortran ``python-glmnet``
    package is installed, otherwise with scikit-learn's L1 ``liblinear``
    logistic regression (``C = 2 / (1 - exp(-beta_multiplier))``). We always
    use the scikit-learn path (``use_sklearn=True``), so results do not depend on
    whether glmnet happens to be installed (it does not build on most current
    Pythons); on that path elapid uses ``beta_multiplier`` only, not its
    per-feature-class maxnet regularisation table.

    Species with one class in training get their training prevalence.

    Parameters
    ----------
    feature_types : str or sequence of str, default="lhp"
        Feature classes (elapid's default set: linear, hinge, product); letters
        of ``"lqpth"`` or class names.
    beta_multiplier : float, default=1.5
        Regularisation multiplier (elapid's default); larger drops more features.
    n_hinge_features : int, default=10
        Hinge knots per covariate (elapid's default).
    n_threshold_features : int, default=10
        Threshold knots per covariate (elapid's default; used with ``"t"``).
    clamp : bool, default=True
        Clip linear / quadratic / product features to the training range at prediction.
    class_weights : float, default=100
        Weight of a presence relative to a background (absence) site, as
        elapid (and maxnet) use; ``"balanced"`` uses ``n_sites / n_presences``.
    tolerance : float, default=2e-6
        Solver convergence tolerance (elapid's default).
    max_iter : int, default=1000
        liblinear iterations.
    val_fraction, threshold_mode, random_state, device
        As in :class:`~jsdm_hot.baselines.BinaryRelevanceLogistic`;
        ``random_state`` is passed to elapid (liblinear's shuffling).

    Attributes
    ----------
    feature_classes_ : list of str
        Feature classes in elapid's order.
    transformer_ : dict of str to ndarray
        Feature transformer arrays (see :func:`maxent_features`); the transformer
        depends on the covariates only, so it is shared by all species.
    coef_ : ndarray of shape (n_species, n_maxent_features)
        elapid's ``beta_scores_`` (0 for constant species).
    alpha_ : ndarray of shape (n_species,)
        elapid's normalising constant ``alpha_``.
    entropy_ : ndarray of shape (n_species,)
        elapid's ``entropy_`` used by the cloglog transform.
    constant_ : ndarray of shape (n_species,), bool
    prevalence_ : ndarray of shape (n_species,)
    """

    def __init__(self, feature_types="lhp", beta_multiplier: float = 1.5, n_hinge_features: int = 10,
                 n_threshold_features: int = 10, clamp: bool = True, class_weights: float | str = 100,
                 tolerance: float = 2e-6, max_iter: int = 1000,
                 val_fraction: float | None = 0.1, threshold_mode: str = "per_label",
                 random_state: int | None = 0, device: str = "auto") -> None:
        self.feature_types = feature_types
        self.beta_multiplier = beta_multiplier
        self.n_hinge_features = n_hinge_features
        self.n_threshold_features = n_threshold_features
        self.clamp = clamp
        self.class_weights = class_weights
        self.tolerance = tolerance
        self.max_iter = max_iter
        self.val_fraction = val_fraction
        self.threshold_mode = threshold_mode
        self.random_state = random_state
        self.device = device

    def _check_maxent_params(self) -> list[str]:
        def positive(v):
            return isinstance(v, Real) and not isinstance(v, bool) and np.isfinite(v) and v > 0

        classes = feature_classes(self.feature_types)
        for name in ("beta_multiplier", "tolerance"):
            if not positive(getattr(self, name)):
                raise InputDataError(f"MaxEnt: {name} must be a positive number, got {getattr(self, name)!r}")
        for name, lo in (("n_hinge_features", 2), ("n_threshold_features", 1), ("max_iter", 1)):
            v = getattr(self, name)
            if not isinstance(v, Integral) or isinstance(v, bool) or v < lo:
                raise InputDataError(f"MaxEnt: {name} must be an int >= {lo}, got {v!r}")
        if not isinstance(self.clamp, bool):
            raise InputDataError(f"MaxEnt: clamp must be True or False, got {self.clamp!r}")
        if not (self.class_weights == "balanced" or positive(self.class_weights)):
            raise InputDataError(f"MaxEnt: class_weights must be a positive number or 'balanced', got {self.class_weights!r}")
        return classes

    def _elapid_model(self):
        try:
            import elapid
        except ImportError as exc:
            raise ImportError("MaxEnt needs elapid: pip install 'jsdm-hot[baselines]' (or elapid)") from exc
        return elapid.MaxentModel(
            feature_types=self.feature_classes_, beta_multiplier=float(self.beta_multiplier),
            n_hinge_features=int(self.n_hinge_features), n_threshold_features=int(self.n_threshold_features),
            clamp=self.clamp, class_weights=self.class_weights, convergence_tolerance=float(self.tolerance),
            max_iter=int(self.max_iter), transform="cloglog", use_sklearn=True, n_cpus=1,
            random_state=self.random_state,
        )

    def _fit_core(self, X, Y, X_val, Y_val, label_graph) -> None:
        self.feature_classes_ = self._check_maxent_params()
        if label_graph is not None:
            log.info("MaxEnt ignores label_graph (species are independent)")
        L = Y.shape[1]
        self.prevalence_, self.constant_ = constant_species(Y)
        fit = np.flatnonzero(~self.constant_)
        # one species after another: liblinear seeds a process-wide C rand(), so fits in parallel
        # threads are not reproducible (measured: up to 0.05 difference in probability)
        models = [self._elapid_model().fit(X, Y[:, j]) for j in fit]
        width = n_maxent_features(self.feature_classes_, X.shape[1], int(self.n_hinge_features),
                                  int(self.n_threshold_features))
        self.coef_ = np.zeros((L, width))
        self.alpha_ = np.zeros(L)
        self.entropy_ = np.zeros(L)
        for j, m in zip(fit, models):
            self.coef_[j] = m.beta_scores_
            self.alpha_[j] = m.alpha_
            self.entropy_[j] = m.entropy_
        # the transformer is fitted on X alone, identical for every species; keep one copy
        self.transformer_ = _transformer_arrays(models[0].transformer) if models else {}
        if self.constant_.any():
            log.info("MaxEnt: %d species with one class in training get a constant probability", int(self.constant_.sum()))

    def _proba(self, X: np.ndarray) -> np.ndarray:
        """elapid's cloglog ``1 - exp(-exp(F @ beta + alpha) exp(entropy))``; prevalence for constant species.

        Shape (n_sites, n_species).
        """
        out = np.tile(self.prevalence_, (X.shape[0], 1))
        fit = ~self.constant_
        if fit.any() and X.shape[0]:
            F = maxent_features(X, self.transformer_, self.feature_classes_, self.clamp)
            engma = F @ self.coef_[fit].T + self.alpha_[fit][None, :]
            out[:, fit] = 1.0 - np.exp(-np.exp(engma) * np.exp(self.entropy_[fit])[None, :])
        return out

    def _state_tensors(self) -> dict[str, np.ndarray]:
        tensors = {f"transformer.{k}": v for k, v in self.transformer_.items()}
        tensors.update(coef=self.coef_, alpha=self.alpha_, entropy=self.entropy_,
                       constant=self.constant_.astype(np.uint8), prevalence=self.prevalence_,
                       fitted_params=params_tensor(self))
        return tensors

    def _restore_state(self, tensors: dict[str, np.ndarray], config: dict[str, Any], device: str) -> None:
        check_params_tensor(self, tensors["fitted_params"])
        self.feature_classes_ = self._check_maxent_params()
        L, p = len(self.species_), self.n_features_in_
        self.coef_ = tensors["coef"].astype(np.float64)
        self.alpha_ = tensors["alpha"].astype(np.float64)
        self.entropy_ = tensors["entropy"].astype(np.float64)
        self.constant_ = tensors["constant"].astype(bool)
        self.prevalence_ = tensors["prevalence"].astype(np.float64)
        self.transformer_ = {k[len("transformer."):]: v.astype(np.float64) for k, v in tensors.items()
                             if k.startswith("transformer.")}
        width = n_maxent_features(self.feature_classes_, p, int(self.n_hinge_features), int(self.n_threshold_features))
        if self.coef_.shape != (L, width) or any(a.shape != (L,) for a in
                                                (self.alpha_, self.entropy_, self.constant_, self.prevalence_)):
            raise ModelFileError(f"MaxEnt: stored coefficients are not of shape ({L}, {width}) for feature types "
                                 f"{self.feature_classes_} and {p} covariates")
        if (~self.constant_).any():
            want = _transformer_shapes(self.feature_classes_, p, int(self.n_hinge_features), int(self.n_threshold_features))
            got = {k: v.shape for k, v in self.transformer_.items()}
            if got != want:
                raise ModelFileError(f"MaxEnt: stored transformer arrays {got} differ from those of feature types "
                                     f"{self.feature_classes_} with {p} covariates: {want}")
