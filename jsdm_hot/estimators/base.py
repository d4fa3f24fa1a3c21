"""The estimator contract of jsdm-hot, in code: :class:`JsdmEstimator`.

HOT-VAE and every baseline derive from it. It owns what they have in common, so
each exists once:

* input checking — ``X`` is a :class:`~jsdm_hot.data.community.CommunityData`
  (occurrences and names taken from it), a DataFrame or an array
  ``(n_sites, n_features)`` with ``Y`` given separately (:mod:`.inputs`);
* the one validation hold-out (:func:`jsdm_hot.data.splits.holdout_split`):
  without ``X_val``, a seeded ``val_fraction`` of the training sites is held
  out for early stopping and thresholds (``val_fraction=None``: none; thresholds 0.5);
* feature standardisation from the training sites (``x_mean_``, ``x_scale_``;
  a constant covariate gets scale 1) and the training range (``x_min_``,
  ``x_max_``, used to flag extrapolation);
* decision thresholds chosen on the validation sites only
  (:func:`jsdm_hot.training.select_thresholds` on :meth:`predict_proba` of
  those sites), ``predict`` = ``predict_proba ≥ thresholds_``;
* batched prediction and chunked, seeded posterior draws (:meth:`iter_samples`,
  :meth:`sample`): independent Bernoulli draws per species unless a subclass
  has a joint predictive distribution (HOT-VAE, MPVAE);
* ``save`` / ``load`` to a directory of safetensors weights + JSON
  (:mod:`jsdm_hot.io`, never pickle) and ``get_params`` / ``set_params`` /
  :func:`sklearn.base.clone` with flat keyword parameters;
* a :class:`~jsdm_hot.errors.NotFittedError` from any method that needs ``fit``.

Subclasses store their keyword parameters in ``__init__`` (nothing else; they
must include ``val_fraction``, ``threshold_mode``, ``random_state`` and
``device``) and implement the hooks ``_fit_core``, ``_proba``,
``_state_tensors`` / ``_state_config`` / ``_restore_state`` and, optionally,
``_validate_params``, ``_label_graph`` and ``_sample_chunk``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from sklearn.base import BaseEstimator

from jsdm_hot.errors import InputDataError, ModelFileError, NotFittedError
from jsdm_hot.estimators.inputs import FitData, chunk_seed, prediction_features, prepare_fit

__all__ = ["JsdmEstimator", "FORMAT_VERSION", "DEFAULT_CHUNK"]

logger = logging.getLogger(__name__)

#: Version of the estimator layout inside a model directory (``config.json`` → ``format_version``).
#: 2: one layout for every estimator (``base.*`` arrays); models of 0.1's HotVAE (layout 1) must be refitted.
FORMAT_VERSION = 2

#: Sites per chunk of :meth:`JsdmEstimator.iter_samples` (bounded memory whatever the grid size).
DEFAULT_CHUNK = 64

_BASE_ARRAYS = ("x_mean", "x_scale", "x_min", "x_max", "thresholds")


def _jsonable(value: Any) -> Any:
    """A parameter value as JSON: paths become strings; objects with ``to_newick`` their Newick text."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "to_newick"):
        return value.to_newick()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _site_ids(X: Any, n: int) -> list:
    """Site labels of a prediction input: CommunityData ids, a DataFrame's index, else 0..n-1."""
    ids = getattr(X, "site_ids", None)
    if ids is None and hasattr(X, "index") and hasattr(X, "columns"):
        ids = X.index
    return list(ids) if ids is not None and len(ids) == n else list(range(n))


class JsdmEstimator(BaseEstimator):
    """Base class of every jsdm-hot model (see the module docstring).

    Fitted attributes
    -----------------
    species_ : tuple of str, length n_species
    feature_names_in_ : tuple of str, length n_features_in_
        Covariate names (``x_0, x_1, ...`` when fitted on a plain array).
    n_features_in_ : int
    x_mean_, x_scale_ : ndarray of shape (n_features_in_,)
        Standardisation of the covariates, from the training sites.
    x_min_, x_max_ : ndarray of shape (n_features_in_,)
        Range of each covariate over the training sites (original units).
    thresholds_ : ndarray of shape (n_species,)
        Decision thresholds used by :meth:`predict`, chosen on validation sites.
    history_ : list of dict
        Per-epoch training record (empty for non-iterative models).
    fit_seconds_ : float
        Wall time of the model fit proper (``_fit_core``).
    metadata_ : dict
        JSON facts saved with the model by :meth:`save` (e.g. the held-out site ids
        ``jsdm-hot fit`` records); empty after ``fit``.
    """

    #: Whether ``_fit_core`` uses a label graph (others log that they ignore one).
    _uses_label_graph = False

    # ------------------------------------------------------------------ hooks
    def _validate_params(self) -> None:
        """Check the subclass's own parameters; raise InputDataError naming the parameter."""

    def _label_graph(self, label_graph, data: FitData):
        """The label graph to train with, and ``data`` (possibly with species dropped).

        The default checks a given graph against the species and returns it; subclasses
        that build graphs (HotVAE) override this. Built from training sites only.
        """
        if label_graph is not None:
            if tuple(label_graph.species) != tuple(data.species):
                raise InputDataError("label_graph species differ from the training species (same names, same order needed)")
            if not self._uses_label_graph:
                logger.info("%s ignores label_graph (it does not model species through a graph)", type(self).__name__)
        return label_graph, data

    def _fit_core(self, X: np.ndarray, Y: np.ndarray, X_val: np.ndarray | None, Y_val: np.ndarray | None,
                  label_graph) -> None:  # pragma: no cover - abstract
        """Fit on standardised ``X`` (n_sites, n_features) and ``Y`` (n_sites, n_species) uint8."""
        raise NotImplementedError

    def _proba(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Occurrence probabilities (n_sites, n_species) from standardised ``X``."""
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

    def _default_chunk(self) -> int:
        """Sites per chunk of :meth:`iter_samples` when the caller gives none."""
        return DEFAULT_CHUNK

    def _sample_chunk(self, X: np.ndarray, n_draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Draws for one chunk of standardised sites: independent Bernoulli per species.

        Returns
        -------
        draws : ndarray of shape (n_draws, n_chunk_sites, n_species), uint8
        prob : ndarray of shape (n_draws, n_chunk_sites, n_species), float32
            The occurrence probability each draw was made from.
        """
        p = np.asarray(self._proba(X), dtype=np.float32)
        draws = (np.random.default_rng(seed).random((n_draws,) + p.shape) < p[None]).astype(np.uint8)
        return draws, np.broadcast_to(p, draws.shape)

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, (int, np.integer))):
            raise InputDataError(
                f"{type(self).__name__}: random_state must be an int or None (it is saved as JSON), got {type(rs).__name__}"
            )
        if self.threshold_mode not in ("per_label", "global"):
            raise InputDataError(
                f"{type(self).__name__}: threshold_mode must be 'per_label' or 'global', got {self.threshold_mode!r}"
            )
        vf = self.val_fraction
        if vf is not None and not 0.0 < float(vf) < 1.0:
            raise InputDataError(f"{type(self).__name__}: val_fraction must be in (0, 1) or None, got {vf}")
        self._validate_params()

    def _seed(self) -> int:
        """``random_state`` as an int (a fresh random one when None)."""
        if self.random_state is None:
            return int(np.random.default_rng().integers(2**62))
        return int(self.random_state)

    def _check_fitted(self) -> None:
        if not hasattr(self, "thresholds_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, Y) (or load a saved model) first"
            )

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.x_mean_) / self.x_scale_

    def _features_for_predict(self, X: Any) -> np.ndarray:
        """Validated, standardised covariates ``(n_sites, n_features_in_)`` float32 for prediction."""
        self._check_fitted()
        return self._standardise(prediction_features(X, self.feature_names_in_, type(self).__name__)).astype(np.float32)

    # ------------------------------------------------------------------ fit
    def fit(self, X, Y=None, *, X_val=None, Y_val=None, label_graph=None):
        """Fit on training sites; choose thresholds on validation sites.

        Parameters
        ----------
        X : CommunityData, DataFrame or array-like of shape (n_sites, n_features)
            Training covariates (and occurrences, for a CommunityData).
        Y : array-like or DataFrame of shape (n_sites, n_species), optional
            Training occurrences 0/1; required unless ``X`` is a CommunityData.
        X_val, Y_val : validation sites, same forms as ``X`` / ``Y``, optional
            Used for early stopping and the decision thresholds. Without them,
            ``val_fraction`` of the training sites is held out at random
            (seeded by ``random_state``).
        label_graph : LabelGraph, optional
            Species attention mask (HotVAE, LaMP); overrides the ``graph``
            parameter. Ignored, with a log message, by models without one.

        Returns
        -------
        self
        """
        self._check_params()
        self._forget_fit()
        data = prepare_fit(X, Y, X_val, Y_val, val_fraction=self.val_fraction, seed=self.random_state,
                           owner=type(self).__name__)
        graph, data = self._label_graph(label_graph, data)
        self._set_inputs(data.species, data.covariates, data.X, data.Y)
        Xv = None if data.X_val is None else self._standardise(data.X_val)
        t0 = time.perf_counter()
        self._fit_core(self._standardise(data.X), data.Y, Xv, data.Y_val, graph)
        self.fit_seconds_ = time.perf_counter() - t0
        self._set_thresholds(Xv, data.Y_val)
        return self

    def _forget_fit(self) -> None:
        """A second fit forgets the first."""
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)

    def _set_inputs(self, species, covariates, X: np.ndarray | None, Y: np.ndarray | None, *,
                    stats: tuple[np.ndarray, ...] | None = None) -> None:
        """Names, standardisation and training range from the training covariates ``X`` (or given ``stats``)."""
        self.species_ = tuple(species)
        self.feature_names_in_ = tuple(covariates)
        self.n_features_in_ = len(self.feature_names_in_)
        if stats is None:
            sd = X.std(0)
            stats = (X.mean(0), np.where(sd > 0, sd, 1.0), X.min(0), X.max(0))
        self.x_mean_, self.x_scale_, self.x_min_, self.x_max_ = (np.asarray(s, dtype=np.float64) for s in stats)
        self.history_ = []
        self.metadata_ = {}

    def _set_thresholds(self, X_val_std: np.ndarray | None, Y_val: np.ndarray | None) -> None:
        from jsdm_hot.training.thresholds import select_thresholds

        if X_val_std is None:
            logger.info("%s: no validation data, decision thresholds are 0.5", type(self).__name__)
            self.thresholds_ = np.full(len(self.species_), 0.5)
            return
        prob = np.asarray(self._proba(X_val_std.astype(np.float32)), dtype=np.float64)
        self.thresholds_ = np.asarray(select_thresholds(Y_val, prob, mode=self.threshold_mode), dtype=np.float64)

    # ------------------------------------------------------------------ capabilities
    @property
    def has_residual_association(self) -> bool:
        """Capability: whether the fitted model has a residual association between species.

        When True the model provides ``residual_correlation_`` and
        ``residual_covariance_`` (DataFrames of shape (n_species, n_species), species
        names on both axes), ``residual_loadings_`` (DataFrame of shape
        (n_species, n_factors)) and conditional prediction,
        ``predict_proba(X, given=partial_checklist)``. False for models without one
        (the baselines, HotVAE with ``residual_factors=0``) and for unfitted models.
        Reports, the model card and ``jsdm-hot predict --given`` decide on this, not
        on which attributes happen to exist.
        """
        return False

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X, *, as_frame: bool = False, given=None):
        """Occurrence probabilities.

        For HOT-VAE these are the feature branch's probabilities at the posterior
        mean of z (one decoder pass); the joint draws of :meth:`sample` average to
        nearly the same values (their mean over draws is what the richness and
        community metrics use).

        Parameters
        ----------
        X : CommunityData, DataFrame or array-like of shape (n_sites, n_features)
            Matched to the training covariates by name (CommunityData, DataFrame)
            or by position (array).
        as_frame : bool, default=False
            Return a DataFrame indexed by site id (a CommunityData's ids, a
            DataFrame's index, else 0..n-1) with one column per species.
        given : DataFrame or array-like of shape (n_sites, n_species), optional
            A partial checklist to condition on; only models with
            :attr:`has_residual_association` support it (others raise
            :class:`~jsdm_hot.errors.InputDataError`).

        Returns
        -------
        ndarray of shape (n_sites, n_species), float, or DataFrame
        """
        if given is not None:
            raise InputDataError(f"{type(self).__name__} cannot predict given a partial checklist: conditional "
                                 "prediction needs a model with a residual association between species (HotVAE "
                                 "with residual_factors > 0)")
        prob = self._proba(self._features_for_predict(X))
        if not as_frame:
            return prob
        import pandas as pd

        return pd.DataFrame(prob, index=pd.Index(_site_ids(X, prob.shape[0]), name="site_id"), columns=list(self.species_))

    def predict(self, X) -> np.ndarray:
        """0/1 occurrences ``predict_proba(X) >= thresholds_``.

        Returns
        -------
        ndarray of shape (n_sites, n_species), uint8
        """
        from jsdm_hot.training.thresholds import apply_thresholds

        return apply_thresholds(self.predict_proba(X), self.thresholds_)

    def iter_samples(self, X, n_draws: int = 100, seed: int = 0, chunk_size: int | None = None,
                     return_prob: bool = False) -> Iterator[tuple]:
        """Posterior predictive draws, chunk by chunk of sites (bounded memory).

        Parameters
        ----------
        X : CommunityData, DataFrame or array-like of shape (n_sites, n_features)
        n_draws : int, default=100
        seed : int, default=0
            The same seed (and chunk size) gives the same draws.
        chunk_size : int, optional
            Sites per chunk (default: the model's; :data:`DEFAULT_CHUNK` unless it draws cheaply).
        return_prob : bool, default=False
            Also yield each draw's occurrence probabilities.

        Yields
        ------
        sites : slice
            Rows of ``X`` covered by the chunk.
        draws : ndarray of shape (n_draws, n_chunk_sites, n_species), uint8
        prob : ndarray of shape (n_draws, n_chunk_sites, n_species), float32
            Only with ``return_prob``.
        """
        if isinstance(n_draws, bool) or int(n_draws) < 1:
            raise InputDataError(f"n_draws must be at least 1, got {n_draws}")
        self._check_fitted()
        chunk = int(chunk_size or self._default_chunk())
        if chunk < 1:
            raise InputDataError(f"chunk_size must be at least 1, got {chunk_size}")
        Xs = self._features_for_predict(X)
        for ci, start in enumerate(range(0, Xs.shape[0], chunk)):
            stop = min(start + chunk, Xs.shape[0])
            draws, prob = self._sample_chunk(Xs[start:stop], int(n_draws), chunk_seed(seed, ci))
            yield (slice(start, stop), draws, prob) if return_prob else (slice(start, stop), draws)

    def sample(self, X, n_draws: int = 100, seed: int = 0, chunk_size: int | None = None, *,
               as_xarray: bool = False):
        """All posterior predictive draws at once (see :meth:`iter_samples`).

        Parameters
        ----------
        as_xarray : bool, default=False
            Return an ``xarray.DataArray`` with dimensions ``(draw, site, species)``
            and site ids / species names as coordinates (needs xarray).

        Returns
        -------
        ndarray of shape (n_draws, n_sites, n_species), uint8, or DataArray
        """
        parts = [d for _, d in self.iter_samples(X, n_draws, seed=seed, chunk_size=chunk_size)]
        draws = (np.concatenate(parts, axis=1) if parts
                 else np.zeros((int(n_draws), 0, len(self.species_)), dtype=np.uint8))
        if not as_xarray:
            return draws
        try:
            import xarray as xr
        except ImportError as exc:  # pragma: no cover - xarray is in the geo extra
            raise InputDataError("as_xarray=True needs xarray (pip install 'jsdm-hot[geo]')") from exc
        return xr.DataArray(draws, dims=("draw", "site", "species"), name="occurrence",
                            coords={"draw": np.arange(draws.shape[0]), "site": _site_ids(X, draws.shape[1]),
                                    "species": list(self.species_)})

    # ------------------------------------------------------------------ persistence
    def save(self, path, overwrite: bool = False, metadata: dict | None = None) -> Path:
        """Write the fitted model to a directory (safetensors weights + JSON config, atomic, no pickle).

        Parameters
        ----------
        path : str or Path
            Directory to create.
        overwrite : bool, default=False
            Replace an existing directory; otherwise an existing one raises.
        metadata : dict, optional
            JSON-serialisable facts to keep with the model (merged into
            :attr:`metadata_`), e.g. the data file and held-out site ids.

        Returns
        -------
        Path
        """
        from jsdm_hot.io import save_model_dir

        self._check_fitted()
        self.metadata_ = {**self.metadata_, **(metadata or {})}
        tensors = {f"base.{k}": np.ascontiguousarray(getattr(self, f"{k}_"), dtype=np.float64) for k in _BASE_ARRAYS}
        for k, v in self._state_tensors().items():
            if k.startswith("base."):
                raise AssertionError(f"state tensor name {k!r} is reserved")
            tensors[k] = v
        config = {
            "format_version": FORMAT_VERSION,
            "params": _jsonable(self.get_params(deep=False)),
            "species": list(self.species_),
            "feature_names_in": list(self.feature_names_in_),
            "history": self.history_,
            "fit_seconds": float(getattr(self, "fit_seconds_", float("nan"))),
            "metadata": _jsonable(self.metadata_),
            "state": self._state_config(),
        }
        save_model_dir(path, tensors, config, class_name=type(self).__name__, overwrite=overwrite)
        return Path(path)

    @classmethod
    def load(cls, path, device: str = "auto"):
        """Load a model written by :meth:`save`; never executes code from the files.

        Parameters
        ----------
        path : str or Path
        device : str, default="auto"
            Where the neural models put their weights (ignored by the others).

        Raises
        ------
        ModelFileError
            When the directory is missing, from another class, tampered with or incomplete.
        """
        from jsdm_hot.io import load_model_dir

        tensors, config = load_model_dir(path, cls.__name__)
        if config.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"{path}: estimator layout version {config.get('format_version')!r}, this jsdm-hot reads "
                f"{FORMAT_VERSION}; the model was saved by an older jsdm-hot — refit it"
            )
        try:
            params = dict(config["params"])
            params["device"] = device
            est = cls(**params)
            tens = {k: np.asarray(v) for k, v in tensors.items()}
            base = {k: tens.pop(f"base.{k}").astype(np.float64) for k in _BASE_ARRAYS}
            est.species_ = tuple(config["species"])
            est.feature_names_in_ = tuple(config["feature_names_in"])
            est.n_features_in_ = len(est.feature_names_in_)
            for k in ("x_mean", "x_scale", "x_min", "x_max"):
                if base[k].shape != (est.n_features_in_,):
                    raise ValueError(f"{k} has shape {base[k].shape}, expected ({est.n_features_in_},)")
                setattr(est, f"{k}_", base[k])
            if base["thresholds"].shape != (len(est.species_),):
                raise ValueError(f"thresholds have shape {base['thresholds'].shape}, expected ({len(est.species_)},)")
            est.history_ = list(config["history"])
            est.fit_seconds_ = float(config.get("fit_seconds", float("nan")))
            est.metadata_ = dict(config.get("metadata") or {})
            est._restore_state(tens, config["state"], device)
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, InputDataError) as exc:
            raise ModelFileError(f"{path}: incomplete or inconsistent {cls.__name__} model directory ({exc})") from exc
        est.thresholds_ = base["thresholds"]
        return est
