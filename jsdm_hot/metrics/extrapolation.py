"""Environmental extrapolation: where do prediction sites leave the covariate space of the training sites?

Pure numpy kernels, used by the ``extrapolation`` map layer
(:mod:`jsdm_hot.maps`) and by model cards.

* :func:`outside_range` — per site and covariate, is the value outside the
  training range ``[x_min, x_max]`` (the fitted ``x_min_`` / ``x_max_`` of
  every jsdm-hot estimator)?
* :func:`extrapolation_share` — per site, the share of covariates outside
  their training range: 0 inside the training "box", 1 when every covariate is
  outside.
* :func:`mess` — the multivariate environmental similarity surface (MESS) of
  Elith, Kearney & Phillips (2010), *Methods Ecol. Evol.* 1: 330–342, from a
  reference sample of the training covariates: negative where at least one
  covariate lies outside the reference range, and how far (in % of that
  range); positive values rank how typical the site is.

Covariates whose training range is unknown (NaN in ``x_min`` / ``x_max``,
e.g. a model saved before the range was recorded) are not judged: they are
never flagged and do not count in the share.
"""

from __future__ import annotations

import numpy as np

from jsdm_hot.errors import InputDataError

__all__ = ["outside_range", "extrapolation_share", "mess"]


def _as_2d(X, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputDataError(f"{name} must be 2-D (n_sites, n_features), got shape {X.shape}")
    return X


def _range(X: np.ndarray, x_min, x_max) -> tuple[np.ndarray, np.ndarray]:
    lo = np.asarray(x_min, dtype=np.float64).reshape(-1)
    hi = np.asarray(x_max, dtype=np.float64).reshape(-1)
    if lo.shape != (X.shape[1],) or hi.shape != (X.shape[1],):
        raise InputDataError(f"x_min and x_max must have shape ({X.shape[1]},) like the columns of X, "
                             f"got {lo.shape} and {hi.shape}")
    if np.any(lo > hi):
        j = int(np.flatnonzero(lo > hi)[0])
        raise InputDataError(f"x_min > x_max for covariate {j} ({lo[j]} > {hi[j]})")
    return lo, hi


def outside_range(X, x_min, x_max) -> np.ndarray:
    """Which covariate values lie outside the training range.

    Parameters
    ----------
    X : array-like of shape (n_sites, n_features)
        Raw covariates of the sites to predict at.
    x_min, x_max : array-like of shape (n_features,)
        Training range of each covariate (NaN: unknown, never flagged).

    Returns
    -------
    ndarray of shape (n_sites, n_features), bool
        True where ``X < x_min`` or ``X > x_max`` (the bounds themselves are
        inside). NaN values of ``X`` are not flagged.
    """
    X = _as_2d(X, "X")
    lo, hi = _range(X, x_min, x_max)
    with np.errstate(invalid="ignore"):
        return (X < lo) | (X > hi)


def extrapolation_share(X, x_min, x_max) -> np.ndarray:
    """Share of covariates outside their training range, per site.

    Parameters
    ----------
    X : array-like of shape (n_sites, n_features)
    x_min, x_max : array-like of shape (n_features,)
        Training range (NaN: unknown; such covariates are left out of the share).

    Returns
    -------
    ndarray of shape (n_sites,), float64
        In [0, 1]: 0 when every (judged) covariate is inside its range; NaN
        when no covariate has a known range.
    """
    X = _as_2d(X, "X")
    lo, hi = _range(X, x_min, x_max)
    known = np.isfinite(lo) & np.isfinite(hi)
    out = np.full(X.shape[0], np.nan)
    if known.any():
        out[:] = outside_range(X[:, known], lo[known], hi[known]).mean(axis=1)
    return out


def mess(X, reference, *, return_variable: bool = False):
    """Multivariate environmental similarity surface (Elith et al. 2010).

    For site value ``p`` of covariate ``j`` and reference values
    ``r_1 .. r_n`` (minimum ``m``, maximum ``M``), let ``f`` be the percentage
    of reference values ``<= p``. The similarity is

    * ``100 (p - m) / (M - m)`` if ``f = 0`` (below the range: negative),
    * ``2 f`` if ``0 < f <= 50``,
    * ``2 (100 - f)`` if ``50 < f < 100``,
    * ``100 (M - p) / (M - m)`` if ``f = 100`` (at or above the maximum: <= 0);

    MESS is the minimum over covariates. Like ``dismo::mess`` (the reference
    implementation), ``f`` counts reference values *less than or equal to*
    ``p`` (Elith et al. write "smaller than"); with ``<=`` a site at the
    reference maximum scores 0 and one at the minimum ``200 / n``.

    Deviation: a covariate that is constant in the reference (``M = m``) has
    an undefined ratio; here it scores 0 where ``p = m`` and -100 elsewhere
    (outside a zero-width range, as far as the formula can say).

    Parameters
    ----------
    X : array-like of shape (n_sites, n_features)
        Sites to judge.
    reference : array-like of shape (n_reference, n_features)
        Reference sample (e.g. the training sites' covariates); NaN values are
        ignored per covariate.
    return_variable : bool, default=False
        Also return the most dissimilar covariate of each site (the argmin).

    Returns
    -------
    mess : ndarray of shape (n_sites,), float64
        NaN for a site with a NaN covariate.
    variable : ndarray of shape (n_sites,), int64
        Only with ``return_variable``: column of the most dissimilar covariate
        (-1 where MESS is NaN).
    """
    X = _as_2d(X, "X")
    R = _as_2d(reference, "reference")
    if R.shape[1] != X.shape[1]:
        raise InputDataError(f"reference has {R.shape[1]} covariates but X has {X.shape[1]}")
    sim = np.empty_like(X)
    for j in range(X.shape[1]):
        r = np.sort(R[np.isfinite(R[:, j]), j])
        if r.size == 0:
            raise InputDataError(f"reference covariate {j} has no finite value")
        p = X[:, j]
        f = 100.0 * np.searchsorted(r, p, side="right") / r.size
        lo, hi = r[0], r[-1]
        s = np.where(f <= 50.0, 2.0 * f, 2.0 * (100.0 - f))
        if hi > lo:
            s = np.where(f == 0.0, 100.0 * (p - lo) / (hi - lo), s)
            s = np.where(f == 100.0, 100.0 * (hi - p) / (hi - lo), s)
        else:
            s = np.where(p == lo, 0.0, -100.0)
        s[~np.isfinite(p)] = np.nan
        sim[:, j] = s
    bad = np.isnan(sim).any(axis=1)
    out = np.full(X.shape[0], np.nan)
    var = np.full(X.shape[0], -1, dtype=np.int64)
    if X.shape[1] and (~bad).any():
        out[~bad] = sim[~bad].min(axis=1)
        var[~bad] = sim[~bad].argmin(axis=1)
    return (out, var) if return_variable else out
