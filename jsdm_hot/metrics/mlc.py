"""Multi-label classification metrics: ebF1, miF1, maF1, Hamming accuracy, median AUC.

These are the five metrics of the HOT-VAE paper's tables (Zhao et al. 2021),
which follow the MPVAE evaluation code (``JunwenBai/MPVAE``, ``evals.py``).
AUC comes from ``sklearn.metrics.roc_auc_score``; the F1 and Hamming counts
are computed directly with numpy (one pass, no per-label Python loop) and the
tests check each against ``sklearn.metrics`` (``f1_score``, ``hamming_loss``).

Conventions (where the definitions leave a 0/0):

* **ebF1** (example-based F1) is the mean over sites of
  ``2 |y ∩ ŷ| / (|y| + |ŷ|)``. A site with nothing observed and nothing
  predicted has 0/0. ``empty="one"`` (default) scores it 1 — a perfect
  prediction — as ``sklearn.metrics.f1_score(average="samples",
  zero_division=1)``. The MPVAE code (and so, likely, HOT-VAE's reported
  numbers) *drops* such sites from the mean: ``empty="exclude"``. ``"zero"``
  scores them 0 (sklearn's ``zero_division=0``). On sparse eBird data, where
  many checklists hold no target species, the choice changes ebF1 a lot:
  report which one you used.
* **miF1** pools true/false positives over all sites and species; 0/0
  (nothing observed, nothing predicted anywhere) gives ``zero_division``.
* **maF1** is the mean over species of each species' F1. A species never
  observed and never predicted has 0/0 and scores ``zero_division`` (default
  0, as sklearn's ``zero_division=0`` and as MPVAE, whose ``2tp/(2tp+fp+fn+1e-6)``
  gives 0 there). Such species pull maF1 down; pass ``zero_division=1`` to
  count them as perfect instead.
* **Hamming accuracy** is 1 − Hamming loss: the share of site × species cells
  predicted correctly.
* **median AUC** is the median over species of the ROC AUC, using only the
  species with both presences and absences in ``y_true`` (AUC is undefined
  otherwise; MPVAE skips them the same way). NaN when no species qualifies.

Binarisation: ``ŷ = y_score >= threshold`` (as MPVAE), with one global threshold
or one per species. Thresholds must come from validation data
(:mod:`jsdm_hot.training.thresholds`).
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn import metrics as skm

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.beta import _as_binary

__all__ = [
    "MLC_METRICS",
    "eb_f1",
    "micro_f1",
    "macro_f1",
    "hamming_accuracy",
    "per_species_auc",
    "median_auc",
    "binarize",
    "mlc_report",
]

logger = logging.getLogger(__name__)

#: Keys of :func:`mlc_report`'s result, in table order.
MLC_METRICS: tuple[str, ...] = ("ebF1", "miF1", "maF1", "hamming_accuracy", "median_auc")

_EMPTY_MODES = ("one", "zero", "exclude")


def _check_binary(y: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 2:
        raise InputDataError(f"{name} must be 2-D (n_sites, n_species), got shape {arr.shape}")
    return _as_binary(arr, name, ("site (row)", "species (column)"), "expected 0/1")


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yt = _check_binary(y_true, "y_true")
    yp = _check_binary(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise InputDataError(f"y_true has shape {yt.shape} but y_pred has shape {yp.shape}; they must match")
    return yt, yp


def _check_score(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yt = _check_binary(y_true, "y_true")
    s = np.asarray(y_score, dtype=np.float64)
    if s.shape != yt.shape:
        raise InputDataError(f"y_true has shape {yt.shape} but y_score has shape {s.shape}; they must match")
    if not np.isfinite(s).all():
        i, j = np.argwhere(~np.isfinite(s))[0]
        raise InputDataError(f"y_score has non-finite value {s[i, j].item()} at site (row) {i}, species (column) {j}")
    return yt, s


def eb_f1(y_true: np.ndarray, y_pred: np.ndarray, *, empty: str = "one") -> float:
    """Example-based F1: mean over sites of ``2|y ∩ ŷ| / (|y| + |ŷ|)``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_sites, n_species), 0/1 or bool
    empty : {"one", "zero", "exclude"}, default="one"
        Score of a site with empty ``y`` and empty ``ŷ``: 1 (sklearn
        ``average="samples", zero_division=1``), 0, or left out of the mean
        (the MPVAE code's behaviour).

    Returns
    -------
    float
        NaN only with ``empty="exclude"`` when every site is empty in both.
    """
    if empty not in _EMPTY_MODES:
        raise InputDataError(f"empty must be one of {_EMPTY_MODES}, got {empty!r}")
    yt, yp = _check_pair(y_true, y_pred)
    if yt.shape[0] == 0:
        return float("nan")
    tp = np.count_nonzero(yt & yp, axis=1).astype(np.float64)
    den = (np.count_nonzero(yt, axis=1) + np.count_nonzero(yp, axis=1)).astype(np.float64)
    defined = den > 0
    f1 = np.divide(2.0 * tp, den, out=np.zeros_like(tp), where=defined)
    if empty == "one":
        f1[~defined] = 1.0
    elif empty == "exclude":
        if not defined.any():
            return float("nan")
        f1 = f1[defined]
    return float(f1.mean())


def micro_f1(y_true: np.ndarray, y_pred: np.ndarray, *, zero_division: float = 0.0) -> float:
    """Micro-averaged F1: ``2 Σtp / (2 Σtp + Σfp + Σfn)`` over all cells.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_sites, n_species), 0/1 or bool
    zero_division : float, default=0.0
        Returned when nothing is observed or predicted anywhere.

    Returns
    -------
    float
    """
    yt, yp = _check_pair(y_true, y_pred)
    tp = np.count_nonzero(yt & yp)
    den = np.count_nonzero(yt) + np.count_nonzero(yp)
    return float(2.0 * tp / den) if den > 0 else float(zero_division)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, *, zero_division: float = 0.0) -> float:
    """Macro-averaged F1: mean over species of ``2tp / (2tp + fp + fn)``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_sites, n_species), 0/1 or bool
    zero_division : float, default=0.0
        F1 of a species that is neither observed nor predicted at any site
        (sklearn's ``zero_division``; 0 as in MPVAE).

    Returns
    -------
    float
        NaN when there are no species.
    """
    yt, yp = _check_pair(y_true, y_pred)
    if yt.shape[1] == 0:
        return float("nan")
    tp = np.count_nonzero(yt & yp, axis=0).astype(np.float64)
    den = (np.count_nonzero(yt, axis=0) + np.count_nonzero(yp, axis=0)).astype(np.float64)
    f1 = np.divide(2.0 * tp, den, out=np.full_like(tp, float(zero_division)), where=den > 0)
    return float(f1.mean())


def hamming_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of site × species cells predicted correctly (1 − Hamming loss).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_sites, n_species), 0/1 or bool

    Returns
    -------
    float
        NaN for an empty array.
    """
    yt, yp = _check_pair(y_true, y_pred)
    if yt.size == 0:
        return float("nan")
    return float(1.0 - np.count_nonzero(yt ^ yp) / yt.size)


def per_species_auc(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """ROC AUC of each species (``sklearn.metrics.roc_auc_score``).

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1 or bool
    y_score : array-like of shape (n_sites, n_species)
        Scores or probabilities; higher means more likely present.

    Returns
    -------
    ndarray of shape (n_species,), float64
        NaN for a species that is present at every site or at none (AUC
        undefined).
    """
    yt, s = _check_score(y_true, y_score)
    out = np.full(yt.shape[1], np.nan)
    npos = np.count_nonzero(yt, axis=0)
    both = (npos > 0) & (npos < yt.shape[0])
    for j in np.flatnonzero(both):
        out[j] = skm.roc_auc_score(yt[:, j], s[:, j])
    return out


def median_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Median over species of the ROC AUC, over species with both classes.

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1 or bool
    y_score : array-like of shape (n_sites, n_species)

    Returns
    -------
    float
        NaN when no species has both presences and absences.
    """
    auc = per_species_auc(y_true, y_score)
    auc = auc[np.isfinite(auc)]
    return float(np.median(auc)) if auc.size else float("nan")


def binarize(y_score: np.ndarray, thresholds: float | np.ndarray) -> np.ndarray:
    """Turn scores into 0/1 predictions: ``y_score >= threshold``.

    Parameters
    ----------
    y_score : array-like of shape (n_sites, n_species)
    thresholds : float or array-like of shape (n_species,)
        One global threshold or one per species.

    Returns
    -------
    ndarray of shape (n_sites, n_species), uint8
    """
    s = np.asarray(y_score, dtype=np.float64)
    if s.ndim != 2:
        raise InputDataError(f"y_score must be 2-D (n_sites, n_species), got shape {s.shape}")
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim == 1 and t.shape[0] != s.shape[1]:
        raise InputDataError(f"got {t.shape[0]} thresholds for {s.shape[1]} species; give one per species or one scalar")
    if t.ndim > 1:
        raise InputDataError(f"thresholds must be a scalar or shape (n_species,), got shape {t.shape}")
    return (s >= t).astype(np.uint8)


def mlc_report(
    y_true: np.ndarray,
    y_score: np.ndarray,
    thresholds: float | np.ndarray = 0.5,
    *,
    empty: str = "one",
    zero_division: float = 0.0,
) -> dict[str, float]:
    """The five MLC metrics from probabilities and thresholds.

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1 or bool
    y_score : array-like of shape (n_sites, n_species)
        Predicted probabilities.
    thresholds : float or array-like of shape (n_species,), default=0.5
        Decision thresholds (choose them on validation data).
    empty : {"one", "zero", "exclude"}, default="one"
        ebF1 convention for sites empty in both (see :func:`eb_f1`).
    zero_division : float, default=0.0
        miF1 / maF1 value for 0/0 (see :func:`macro_f1`).

    Returns
    -------
    dict
        Keys :data:`MLC_METRICS`: ``ebF1``, ``miF1``, ``maF1``,
        ``hamming_accuracy``, ``median_auc``; plus ``n_species_auc``, the
        number of species the median AUC is taken over.
    """
    yt, s = _check_score(y_true, y_score)
    yp = binarize(s, thresholds)
    auc = per_species_auc(yt, s)
    finite = auc[np.isfinite(auc)]
    return {
        "ebF1": eb_f1(yt, yp, empty=empty),
        "miF1": micro_f1(yt, yp, zero_division=zero_division),
        "maF1": macro_f1(yt, yp, zero_division=zero_division),
        "hamming_accuracy": hamming_accuracy(yt, yp),
        "median_auc": float(np.median(finite)) if finite.size else float("nan"),
        "n_species_auc": int(finite.size),
    }
