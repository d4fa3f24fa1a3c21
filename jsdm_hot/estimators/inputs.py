"""Input handling shared by every estimator (HotVAE and the baselines).

Three boundaries: :func:`split_xy` turns what ``fit`` receives (a CommunityData,
or arrays / DataFrames) into validated arrays plus names; :func:`prepare_fit`
adds the validation sites (given, or the one seeded hold-out of
:func:`jsdm_hot.data.splits.holdout_split`); :func:`prediction_features` matches
what ``predict_proba`` / ``sample`` receive to the training covariates. All raise
:class:`~jsdm_hot.errors.InputDataError` with messages naming the estimator, the
shape or the column at fault.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from jsdm_hot.data.community import CommunityData, check_covariates, check_occurrences
from jsdm_hot.data.splits import holdout_split
from jsdm_hot.errors import InputDataError

__all__ = ["FitData", "chunk_seed", "prepare_fit", "split_xy", "prediction_features"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitData:
    """Validated training (and validation) arrays with their names.

    Attributes
    ----------
    X : ndarray of shape (n_train, n_features), float64
    Y : ndarray of shape (n_train, n_species), uint8
    X_val : ndarray of shape (n_val, n_features) or None
    Y_val : ndarray of shape (n_val, n_species) or None
    covariates : tuple of str, length n_features
    species : tuple of str, length n_species
    """

    X: np.ndarray
    Y: np.ndarray
    X_val: np.ndarray | None
    Y_val: np.ndarray | None
    covariates: tuple[str, ...]
    species: tuple[str, ...]

    def select_species(self, species: Sequence[str]) -> FitData:
        """Keep (and reorder to) ``species`` in the training and validation occurrences."""
        pos = {s: i for i, s in enumerate(self.species)}
        cols = [pos[s] for s in species]
        return replace(self, Y=self.Y[:, cols], Y_val=None if self.Y_val is None else self.Y_val[:, cols],
                       species=tuple(species))


def chunk_seed(seed: int, chunk_index: int) -> int:
    """A 63-bit seed for chunk ``chunk_index`` of a draw run seeded by ``seed`` (independent streams)."""
    ss = np.random.SeedSequence([int(seed), int(chunk_index)])
    return int(ss.generate_state(1, dtype=np.uint64)[0] & 0x7FFF_FFFF_FFFF_FFFF)


def prepare_fit(X: Any, Y: Any, X_val: Any, Y_val: Any, *, val_fraction: float | None, seed: int | None,
                owner: str) -> FitData:
    """Training and validation arrays for ``owner.fit``.

    Parameters
    ----------
    X, Y : see :func:`split_xy`
    X_val, Y_val : validation sites in the same forms, optional
        A CommunityData is matched to the training names; arrays by position.
    val_fraction : float or None
        Without ``X_val``: share of the training sites held out by
        :func:`~jsdm_hot.data.splits.holdout_split` (seeded by ``seed``); None: no
        validation sites.
    seed : int or None
    owner : str
        The estimator's class name, for messages.

    Returns
    -------
    FitData
        ``X`` and ``X_val`` in C order.
    """
    Xa, Ya, cov, species = split_xy(X, Y, f"{owner}.fit")
    n, p = Xa.shape
    L = Ya.shape[1]
    cov = cov or tuple(f"x_{j}" for j in range(p))
    species = species or tuple(f"sp_{j}" for j in range(L))
    Xv = Yv = None
    if X_val is not None:
        Xv, Yv, _, _ = split_xy(X_val, Y_val, f"{owner}.fit (validation)")
        if isinstance(X_val, CommunityData):
            Xv = X_val.align_covariates(cov).X
            Yv = X_val.select_species(species).Y
        elif Xv.shape[1] != p or Yv.shape[1] != L:
            raise InputDataError(f"validation data has {Xv.shape[1]} features / {Yv.shape[1]} species; training has {p} / {L}")
    elif Y_val is not None:
        raise InputDataError(f"{owner}.fit: Y_val given without X_val")
    elif val_fraction is not None:
        if n < 4:
            raise InputDataError(f"{owner}.fit needs at least 4 sites to hold some out for validation, got {n}")
        vi, ti = holdout_split(n, float(val_fraction), seed)
        logger.info("%s: no validation data given; holding out %d of %d sites (val_fraction=%s)", owner, vi.size, n,
                    val_fraction)
        Xa, Ya, Xv, Yv = Xa[ti], Ya[ti], Xa[vi], Ya[vi]
    if Xa.shape[0] < 2:
        raise InputDataError(f"{owner}.fit needs at least 2 training sites, got {Xa.shape[0]}")
    # C order whatever the input (a DataFrame or a column selection is Fortran-ordered), so the
    # same sites give the same numbers bit for bit (reductions and matmuls depend on memory layout)
    Xa = np.ascontiguousarray(Xa)
    Xv = None if Xv is None else np.ascontiguousarray(Xv)
    return FitData(Xa, Ya, Xv, Yv, tuple(cov), tuple(species))


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


def _matched_by_name(X: Any, names: list[str]) -> bool:
    """Whether ``X`` is a DataFrame to match to the training covariates ``names`` by column name."""
    import pandas as pd

    if not hasattr(X, "columns") or isinstance(X.columns, pd.RangeIndex):
        return False
    if names == [f"x_{j}" for j in range(len(names))]:  # fitted on a plain array: names only if the frame has them
        return set(map(str, X.columns)) >= set(names)
    return True


def prediction_features(X: Any, feature_names: Sequence[str], owner: str) -> np.ndarray:
    """Validated covariates ``(n_sites, len(feature_names))`` in training order, not standardised.

    A CommunityData or DataFrame is matched to the training covariates by name
    (any order, extra columns ignored; missing ones raise); a plain array by position.
    A DataFrame without column names (``pd.DataFrame(array)``, a RangeIndex), or
    given to a model fitted on a plain array (names ``x_0, x_1, ...``), is taken
    by position, as an array.

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
    elif _matched_by_name(X, names):
        cols = [str(c) for c in X.columns]
        missing = [c for c in names if c not in cols]
        if missing:
            raise InputDataError(f"covariates {missing} used in training are missing from the DataFrame; "
                                 f"present: {cols} ({owner}: {', '.join(names)})")
        Xa = np.asarray(X.iloc[:, [cols.index(c) for c in names]])
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
    return np.ascontiguousarray(check_covariates(Xa, names))  # C order: same numbers whatever the input form
