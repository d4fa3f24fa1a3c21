"""Training-range check for the model card, on :func:`jsdm_hot.metrics.extrapolation.outside_range`.

A cell extrapolates when any of its covariates lies outside the closed range the
model was trained on, ``[x_min_j, x_max_j]``. Only covariates present in both the
cells and the range are checked (a map grid may lack the effort covariates,
which are set to a standard checklist there). This is the simplest
extrapolation measure (the univariate part of MESS, Elith et al. 2010); it misses
new *combinations* of in-range values.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.extrapolation import outside_range


def training_range(model: Any, train: Any = None) -> tuple[np.ndarray, np.ndarray, str] | None:
    """``(x_min, x_max, source)`` in the model's covariate order, or None when unknown.

    From the fitted ``x_min_`` / ``x_max_`` (every estimator records them), else —
    for ranges that are unknown (NaN) — from the covariates of ``train``
    (CommunityData, DataFrame or array).
    """
    lo, hi = np.asarray(model.x_min_, np.float64), np.asarray(model.x_max_, np.float64)
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        return lo, hi, "model.x_min_ / x_max_"
    if train is None:
        return None
    from jsdm_hot.explain._common import model_inputs

    X = model_inputs(model, train)
    return X.min(0), X.max(0), f"the {X.shape[0]} training sites given"


def cells_matrix(model: Any, cells: Any) -> tuple[np.ndarray, list[int]]:
    """Covariates of ``cells`` that the model has, and their positions among the model's covariates."""
    feats = [str(f) for f in model.feature_names_in_]
    if hasattr(cells, "covariates") and hasattr(cells, "X"):  # CommunityData
        names, X = list(cells.covariates), np.asarray(cells.X, np.float64)
    elif isinstance(cells, pd.DataFrame):
        names = [c for c in cells.columns if c in feats]
        X = cells[names].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    else:
        X = np.asarray(cells, np.float64)
        if X.ndim != 2 or X.shape[1] != len(feats):
            raise InputDataError(f"cells array must have shape (n_cells, {len(feats)}), got {X.shape}")
        names = feats
    pos = [(i, feats.index(n)) for i, n in enumerate(names) if n in feats]
    if not pos:
        raise InputDataError(f"the cells share no covariate with the model ({', '.join(feats[:10])} ...)")
    return X[:, [i for i, _ in pos]], [j for _, j in pos]


def extrapolation_table(
    X: np.ndarray, positions: Sequence[int], x_min: np.ndarray, x_max: np.ndarray, names: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-covariate share of cells outside the training range, and the per-cell flag.

    Returns
    -------
    table : DataFrame
        ``covariate, train_min, train_max, cells_min, cells_max, share_below, share_above``.
    outside : ndarray of shape (n_cells,), bool
        Cells with at least one covariate outside its range.
    """
    pos = list(positions)
    lo, hi = np.asarray(x_min)[pos], np.asarray(x_max)[pos]
    out = outside_range(X, lo, hi)
    with np.errstate(invalid="ignore"):
        table = pd.DataFrame({
            "covariate": [names[j] for j in pos], "train_min": lo, "train_max": hi,
            "cells_min": np.nanmin(X, 0) if X.size else np.nan, "cells_max": np.nanmax(X, 0) if X.size else np.nan,
            "share_below": (X < lo).mean(0), "share_above": (X > hi).mean(0),
        })
    return table, out.any(1)
