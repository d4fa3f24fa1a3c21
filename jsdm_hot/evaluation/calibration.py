"""Reliability-diagram data pooled over all site × species cells: :func:`calibration_curve`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError

__all__ = ["calibration_curve"]


def calibration_curve(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Reliability diagram data pooled over all site × species cells.

    Cells are sorted by predicted probability (stable sort) and cut into
    ``n_bins`` equal-count bins (``numpy.array_split``); each bin gives its mean
    predicted probability and observed frequency. This pools species, unlike
    the Norberg occurrence calibration, which is per species.

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1
    prob : array-like of shape (n_sites, n_species)
    n_bins : int, default=10

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin: ``bin``, ``n`` (cells), ``p_min``, ``p_max``,
        ``mean_predicted``, ``observed_frequency``.
    """
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(prob, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise InputDataError(f"y_true has {y.size} cells but prob has {p.size}; they must match")
    if int(n_bins) < 1:
        raise InputDataError(f"n_bins must be >= 1, got {n_bins}")
    order = np.argsort(p, kind="stable")
    rows = []
    for b, idx in enumerate(np.array_split(order, int(n_bins))):
        if idx.size == 0:
            continue
        rows.append({"bin": b, "n": int(idx.size), "p_min": float(p[idx].min()), "p_max": float(p[idx].max()),
                     "mean_predicted": float(p[idx].mean()), "observed_frequency": float(y[idx].mean())})
    return pd.DataFrame(rows, columns=["bin", "n", "p_min", "p_max", "mean_predicted", "observed_frequency"])
