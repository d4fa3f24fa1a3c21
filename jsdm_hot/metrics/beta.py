"""Pairwise β-diversity after Baselga (2010): βSOR, βSIM and βNES.

For two communities (0/1 vectors over the same species) let ``a`` be the number
of species present in both, ``b`` the number present only in the first and
``c`` the number present only in the second. Baselga (2010, *Global Ecology and
Biogeography* 19:134-143) partitions Sørensen dissimilarity into turnover and
nestedness:

* βSOR = (b + c) / (2a + b + c)            (Sørensen dissimilarity)
* βSIM = min(b, c) / (a + min(b, c))       (Simpson dissimilarity: turnover)
* βNES = βSOR − βSIM                        (nestedness-resultant dissimilarity)

All three lie in [0, 1]. The functions broadcast over leading axes, so a whole
``(n_draws, n_pairs, n_species)`` stack is scored in one vectorised call.

Edge cases (Baselga's formulas are 0/0 there; ``betapart`` returns NaN). We
define them so that no value is ever NaN and ``βNES = βSOR − βSIM`` always holds:

* both communities empty: identical, so βSOR = βSIM = βNES = 0;
* exactly one community empty: βSOR = 1 (the formula's value). The empty
  community is a subset of the other, so the difference is pure nestedness:
  βSIM = 0 and βNES = 1.
"""

from __future__ import annotations

import numpy as np

from jsdm_hot.errors import InputDataError

__all__ = ["beta_components", "beta_sor", "beta_sim", "beta_nes", "beta_all"]


def _as_binary(
    x: np.ndarray, name: str, labels: tuple[str, ...] | None = None, what: str = "values must be 0/1"
) -> np.ndarray:
    """Check ``x`` holds only 0/1 and return it as bool (a view for uint8/int8 input).

    Unsigned and signed integer arrays are checked with ``min``/``max`` (no
    temporaries), so large posterior draw stacks validate cheaply. The error
    names the first offending position, using ``labels`` for the axes.
    """
    arr = np.asarray(x)
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind not in "biuf":
        raise InputDataError(f"{name} must be a numeric 0/1 array, got dtype {arr.dtype}")
    if arr.size == 0:
        return arr.astype(bool)
    if arr.dtype.kind in "iu":
        valid = bool(arr.min() >= 0) and bool(arr.max() <= 1)
    else:
        valid = bool(np.all((arr == 0) | (arr == 1)))
    if not valid:
        bad = np.argwhere(~((arr == 0) | (arr == 1)))[0]
        if labels is not None and len(labels) == arr.ndim:
            where = ", ".join(f"{lab} {int(i)}" for lab, i in zip(labels, bad))
        else:
            where = f"index {tuple(int(i) for i in bad)}"
        raise InputDataError(f"{name} has value {arr[tuple(bad)].item()!r} at {where}; {what}")
    if arr.dtype.itemsize == 1 and arr.dtype.kind in "iu":
        return arr.view(bool)
    return arr.astype(bool)


def beta_components(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared and unique species counts of two communities.

    Parameters
    ----------
    x, y : array-like of shape (..., n_species), 0/1 or bool
        Communities; leading axes broadcast against each other.

    Returns
    -------
    a, b, c : ndarray of shape (...), int64
        ``a`` species in both, ``b`` only in ``x``, ``c`` only in ``y``.

    Raises
    ------
    InputDataError
        If a value is not 0/1 or the species axes differ in length.
    """
    xb = _as_binary(x, "x", what="community vectors must be 0/1")
    yb = _as_binary(y, "y", what="community vectors must be 0/1")
    if xb.ndim == 0 or yb.ndim == 0 or xb.shape[-1] != yb.shape[-1]:
        raise InputDataError(
            f"communities must share the last (species) axis, got shapes {xb.shape} and {yb.shape}"
        )
    a = np.count_nonzero(xb & yb, axis=-1)
    b = np.count_nonzero(xb & ~yb, axis=-1)
    c = np.count_nonzero(~xb & yb, axis=-1)
    return a.astype(np.int64), b.astype(np.int64), c.astype(np.int64)


def _sor(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    num = (b + c).astype(np.float64)
    den = (2 * a + b + c).astype(np.float64)
    # den == 0 only when both are empty -> 0 (identical).
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _sim(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    m = np.minimum(b, c).astype(np.float64)
    den = a + m
    # den == 0 when a == 0 and min(b, c) == 0: at least one community empty -> 0.
    return np.divide(m, den, out=np.zeros_like(m), where=den > 0)


def beta_sor(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sørensen dissimilarity βSOR = (b + c) / (2a + b + c).

    Parameters
    ----------
    x, y : array-like of shape (..., n_species), 0/1 or bool

    Returns
    -------
    ndarray of shape (...), float64, in [0, 1]
        0 when both communities are empty (see module notes).

    Examples
    --------
    >>> float(beta_sor([1, 1, 0, 0], [1, 0, 1, 0]))
    0.5
    """
    return _sor(*beta_components(x, y))


def beta_sim(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Simpson (turnover) dissimilarity βSIM = min(b, c) / (a + min(b, c)).

    Parameters
    ----------
    x, y : array-like of shape (..., n_species), 0/1 or bool

    Returns
    -------
    ndarray of shape (...), float64, in [0, 1]
        0 when either community is empty (an empty community is nested in any
        other; Baselga's formula is 0/0 there).

    Examples
    --------
    >>> float(beta_sim([1, 1, 1, 0], [1, 0, 0, 0]))
    0.0
    """
    return _sim(*beta_components(x, y))


def beta_nes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nestedness-resultant dissimilarity βNES = βSOR − βSIM.

    Parameters
    ----------
    x, y : array-like of shape (..., n_species), 0/1 or bool

    Returns
    -------
    ndarray of shape (...), float64, in [0, 1]
        1 when exactly one community is empty, 0 when both are.

    Examples
    --------
    >>> round(float(beta_nes([1, 1, 1, 0], [1, 0, 0, 0])), 6)
    0.5
    """
    return beta_all(x, y)["nes"]


def beta_all(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """βSOR, βSIM and βNES in one pass over the data.

    Parameters
    ----------
    x, y : array-like of shape (..., n_species), 0/1 or bool

    Returns
    -------
    dict
        ``{"sor": ..., "sim": ..., "nes": ...}``, each ndarray of shape (...).
    """
    a, b, c = beta_components(x, y)
    sor = _sor(a, b, c)
    sim = _sim(a, b, c)
    # Clip the subtraction's rounding (sor >= sim holds exactly in reals).
    return {"sor": sor, "sim": sim, "nes": np.clip(sor - sim, 0.0, 1.0)}
