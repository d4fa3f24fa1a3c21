"""Input handling shared by every estimator (HotVAE and the baselines).

Two boundaries: :func:`split_xy` turns what ``fit`` receives (a CommunityData,
or arrays / DataFrames) into validated arrays plus names, and
:func:`prediction_features` matches what ``predict_proba`` / ``sample`` receive to
the training covariates. Both raise :class:`~jsdm_hot.errors.InputDataError` with
messages naming the estimator, the shape or the column at fault.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from jsdm_hot.data.community import CommunityData, check_covariates, check_occurrences
from jsdm_hot.errors import InputDataError

__all__ = ["split_xy", "prediction_features"]


def split_xy(X: Any, Y: Any, what: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None, tuple[str, ...] | None]:
    """Arrays, covariate names and species names from ``X`` / ``Y`` given to ``fit``.

    Parameters
    ----------
    X : CommunityData (occurrences inside it), DataFrame (column names are the
        covariate names) or array of shape (n_sites, n_features)
    Y : None with a CommunityData, else array or DataFrame (column names are
        species) of shape (n_sites, n_species)
    what : str
        Names the caller in messages, e.g. ``"HotVAE.fit (validation)"``.

    Returns
    -------
    X : ndarray of shape (n_sites, n_features), float64
    Y : ndarray of shape (n_sites, n_species), uint8
    covariates, species : tuple of str, or None when the input has no names
    """
    if isinstance(X, CommunityData):
        if Y is not None:
            raise InputDataError(
                f"{what}: occurrences are taken from the CommunityData; do not pass them separately as well"
            )
        if X.Y is None:
            raise InputDataError(f"{what}: the CommunityData{' from ' + X.source if X.source else ''} has no occurrences")
        return X.X, X.Y, tuple(X.covariates), tuple(X.species)
    if Y is None:
        raise InputDataError(f"{what}: occurrences Y are required when X is an array")
    cov = tuple(str(c) for c in X.columns) if hasattr(X, "columns") else None
    Xa = np.asarray(X)
    if Xa.ndim != 2:
        raise InputDataError(f"{what}: X must be 2-D (n_sites, n_features), got shape {Xa.shape}")
    Xa = check_covariates(Xa, cov or [f"x_{j}" for j in range(Xa.shape[1])], what)
    species = tuple(str(c) for c in Y.columns) if hasattr(Y, "columns") else None
    Ya = np.asarray(Y)
    if Ya.ndim != 2:
        raise InputDataError(f"{what}: Y must be 2-D (n_sites, n_species), got shape {Ya.shape}")
    Ya = check_occurrences(Ya, species or [f"sp_{j}" for j in range(Ya.shape[1])], what)
    if Ya.shape[0] != Xa.shape[0]:
        raise InputDataError(f"{what}: Y has {Ya.shape[0]} rows but X has {Xa.shape[0]}")
    return Xa, Ya, cov, species


def prediction_features(X: Any, feature_names: Sequence[str], owner: str) -> np.ndarray:
    """Validated covariates ``(n_sites, len(feature_names))`` in training order, not standardised.

    A CommunityData or DataFrame is matched to the training covariates by name
    (any order, extra columns ignored; missing ones raise); a plain array by position.

    Parameters
    ----------
    X : CommunityData, DataFrame or array of shape (n_sites, n_features)
    feature_names : sequence of str
        The training covariates.
    owner : str
        The estimator's class name, for messages.
    """
    names = list(feature_names)
    if isinstance(X, CommunityData):
        Xa = X.align_covariates(names).X
    elif hasattr(X, "columns") and set(map(str, X.columns)) >= set(names):
        Xa = np.asarray(X[names])
    else:
        Xa = np.asarray(X)
        if Xa.ndim == 1:
            raise InputDataError(
                f"X must be 2-D (n_sites, n_features); got a 1-D array of length {Xa.shape[0]} "
                "(use X.reshape(1, -1) for a single site)"
            )
        if Xa.ndim != 2:
            raise InputDataError(f"X must be 2-D (n_sites, n_features), got shape {Xa.shape}")
        if Xa.shape[1] != len(names):
            raise InputDataError(
                f"X has {Xa.shape[1]} features but the model was trained on {len(names)} "
                f"({owner}: {', '.join(names)})"
            )
    return check_covariates(Xa, names)
