"""Decision thresholds chosen on validation data only.

HOT-VAE (and the MPVAE code its tables compare against) report each metric at
the best of a grid of thresholds found on the *test* set. We never look at test
data: thresholds come from the validation split, either one per species
(maximising that species' F1, i.e. the validation maF1) or one global value
(maximising validation maF1 over all species at once).
"""

from __future__ import annotations

import numpy as np

from jsdm_hot.errors import InputDataError

__all__ = ["THRESHOLD_GRID", "select_thresholds", "apply_thresholds", "f1_per_label"]

#: Candidate thresholds: the 27 values of the MPVAE evaluation code (0.01 … 0.95)
#: plus a finer grid, so rare species can get low thresholds.
THRESHOLD_GRID: np.ndarray = np.unique(
    np.concatenate([
        [0.01, 0.02, 0.03, 0.04, 0.05],
        np.round(np.arange(0.05, 0.951, 0.05), 2),
        np.round(np.arange(0.06, 0.5, 0.02), 2),
    ])
)


def f1_per_label(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 of each label (column).

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_sites, n_species), 0/1

    Returns
    -------
    ndarray of shape (n_species,)
        ``2 tp / (2 tp + fp + fn)``; 0 when the denominator is 0 (as
        ``sklearn.metrics.f1_score(..., zero_division=0)``).
    """
    yt = np.asarray(y_true, dtype=bool)
    yp = np.asarray(y_pred, dtype=bool)
    tp = (yt & yp).sum(0)
    denom = yt.sum(0) + yp.sum(0)
    return np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), 0.0)


def select_thresholds(
    y_true: np.ndarray,
    prob: np.ndarray,
    mode: str = "per_label",
    grid: np.ndarray | None = None,
) -> np.ndarray:
    """Choose thresholds maximising F1 on validation data.

    Parameters
    ----------
    y_true : ndarray of shape (n_sites, n_species)
        Validation occurrences.
    prob : ndarray of shape (n_sites, n_species)
        Predicted occurrence probabilities for the same sites.
    mode : {"per_label", "global"}
        ``per_label`` maximises each species' F1 separately; ``global`` picks
        the single value maximising macro-F1.
    grid : ndarray, optional
        Candidate thresholds (default :data:`THRESHOLD_GRID`).

    Returns
    -------
    ndarray of shape (n_species,)
        Threshold per species (all equal in ``global`` mode). A species absent
        from the validation data gets 0.5 (per_label mode): no information,
        so the neutral value.
    """
    yt = np.asarray(y_true)
    p = np.asarray(prob, dtype=np.float64)
    if yt.shape != p.shape or yt.ndim != 2:
        raise InputDataError(f"y_true {yt.shape} and prob {p.shape} must be equal 2-D shapes (n_sites, n_species)")
    g = THRESHOLD_GRID if grid is None else np.asarray(grid, dtype=np.float64)
    # (n_grid, n_species) F1 table
    f1 = np.stack([f1_per_label(yt, p >= t) for t in g])
    if mode == "global":
        best = g[int(np.argmax(f1.mean(1)))]
        return np.full(yt.shape[1], best)
    if mode != "per_label":
        raise InputDataError(f"threshold mode must be 'per_label' or 'global', got {mode!r}")
    thr = g[np.argmax(f1, axis=0)]
    absent = yt.sum(0) == 0
    thr[absent] = 0.5
    return thr


def apply_thresholds(prob: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Binary predictions ``prob >= thresholds`` as uint8, shape of ``prob``."""
    return (np.asarray(prob) >= np.asarray(thresholds)[None, :]).astype(np.uint8)
