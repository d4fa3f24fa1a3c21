"""Response curves: partial dependence of occurrence, richness and community along a covariate.

Method (partial dependence, Friedman 2001; what Hmsc's ``plotGradient`` calls a
"non-focal covariates at their observed values" gradient)
---------------------------------------------------------------------------------
For a covariate ``j`` and a grid value ``v`` every evaluation site keeps its own
observed values of the other covariates and gets ``x_j = v``; the model predicts
all sites and the prediction is averaged over sites. So a curve is the mean
response over the observed mix of the other covariates, not the response at
their means (which can be a combination no site has). Grid values are in the
covariate's original units: ``n_points`` evenly spaced values between its 2.5 %
and 97.5 % quantiles over the sites given (all distinct values for a covariate
with at most ``n_points`` of them, e.g. 0/1 dummies).

Quantities per grid value (rows of the tidy table):

* ``occurrence`` (one per species): mean over sites of ``predict_proba``;
* ``richness``: expected richness, the sum over species of the above;
* ``turnover`` (community summary): Bray–Curtis dissimilarity between the
  expected regional composition (site-averaged occurrence probabilities of all
  species) at ``v`` and at the reference value (the grid value nearest the
  covariate's median): 0 at the reference, growing as the community changes;
* ``cwm`` (one per trait, when ``traits`` are given): community-weighted mean
  trait, ``Σ_l p̄_l t_l / Σ_l p̄_l`` (Hmsc's ``measure = "T"``, on the regional
  composition).

Posterior band
--------------
With ``n_draws > 0`` each grid value is also drawn jointly with
``model.sample(X, n_draws, seed)`` (the same seed at every grid value, so
neighbouring values share random numbers and the band is smooth) on at most
``max_draw_sites`` of the sites; each quantity is computed per draw on the
site-averaged draws, and ``lower``/``upper`` are its central ``level`` interval
over draws. Where the model yields the probability of each joint draw
(HOT-VAE's ``iter_samples(..., return_prob=True)``: ``sigmoid(decoder(z))``) that
replaces the 0/1 draw: same expectation, no Bernoulli noise (Rao–Blackwell), which
for rare species would otherwise fill the band with the chance of a handful of
presences among the drawn sites. The band is the predictive uncertainty of the quantity *averaged
over those sites*; since HOT-VAE draws one latent vector per site, it narrows
roughly like ``1/sqrt(n_sites)`` and is not parameter uncertainty (the model
has no posterior over its weights). For richness, ``site_lower``/``site_upper``
add the predictive interval at a single site (quantiles of the richness of
every draw at every site), the range a planner should expect at one place.
``estimate`` is always the point prediction (``predict_proba``), which for
HOT-VAE uses the posterior mean of z and can differ slightly from ``draws_mean``.

Cost
----
``n_points × max_sites`` rows of ``predict_proba`` per covariate, plus
``n_points × n_draws × max_draw_sites`` sampled rows per covariate with a band;
see :mod:`jsdm_hot.explain` for a measured total.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain._common import (
    MAX_DRAWS,
    MAX_ROWS,
    as_generator,
    check_count,
    model_inputs,
    resolve_names,
    stacked_proba,
    subsample_rows,
)
from jsdm_hot.explain.labels import display

__all__ = ["grid_values", "bray_curtis", "community_weighted_mean", "response_curves", "richness_surface"]

logger = logging.getLogger(__name__)

COLUMNS = ["covariate", "value", "quantity", "name", "label", "estimate", "draws_mean", "lower", "upper",
           "site_lower", "site_upper"]


# --------------------------------------------------------------------------- kernels
def grid_values(x: np.ndarray, n_points: int = 20, quantiles: tuple[float, float] = (0.025, 0.975)) -> np.ndarray:
    """Grid of a covariate in its own units.

    Parameters
    ----------
    x : ndarray of shape (n_sites,)
    n_points : int, default=20
    quantiles : (float, float), default=(0.025, 0.975)
        The grid spans these quantiles of ``x``.

    Returns
    -------
    ndarray of shape (n_values,)
        The distinct values of ``x`` if there are at most ``n_points``, else
        ``n_points`` evenly spaced values between the quantiles.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise InputDataError(f"grid_values needs a non-empty 1-D covariate, got shape {x.shape}")
    if not 0.0 <= quantiles[0] < quantiles[1] <= 1.0:
        raise InputDataError(f"quantiles must satisfy 0 <= low < high <= 1, got {quantiles}")
    uniq = np.unique(x)
    if uniq.size <= n_points:
        return uniq
    lo, hi = np.quantile(x, quantiles)
    return np.linspace(lo, hi, int(n_points)) if hi > lo else np.array([lo])


def bray_curtis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bray–Curtis dissimilarity ``Σ|a − b| / Σ(a + b)`` over the last axis (0 when both are empty).

    Parameters
    ----------
    a, b : ndarray of shape (..., n_species), non-negative (broadcast)

    Returns
    -------
    ndarray of shape (...)
    """
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    den = (a + b).sum(-1)
    num = np.abs(a - b).sum(-1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def community_weighted_mean(prevalence: np.ndarray, traits: np.ndarray) -> np.ndarray:
    """Community-weighted mean traits ``Σ_l w_l t_l / Σ_l w_l``.

    Parameters
    ----------
    prevalence : ndarray of shape (..., n_species)
        Weights (occurrence probabilities or 0/1 draws).
    traits : ndarray of shape (n_species, n_traits)

    Returns
    -------
    ndarray of shape (..., n_traits)
        NaN where the weights sum to 0.
    """
    w = np.asarray(prevalence, np.float64)
    tot = w.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (w @ np.asarray(traits, np.float64)) / np.where(tot > 0, tot, 1.0), np.nan)


def _band(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and central interval over the last axis (draws): three arrays of shape values.shape[:-1]."""
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=-1)
    return values.mean(-1), lo, hi


# --------------------------------------------------------------------------- API
def _traits_matrix(traits: Any, species: Sequence[str]) -> tuple[np.ndarray, list[str]] | None:
    if traits is None:
        return None
    df = pd.DataFrame(traits)
    missing = [s for s in species if s not in df.index]
    if missing:
        raise InputDataError(f"traits table lacks {len(missing)} of the model's species (its index must be species "
                             f"names), e.g. {missing[:5]}")
    num = df.loc[list(species)].apply(pd.to_numeric, errors="coerce")
    if num.isna().any().any():
        bad = [c for c in num.columns if num[c].isna().any()]
        raise InputDataError(f"traits columns {bad} are not numeric for every species")
    return num.to_numpy(np.float64), [str(c) for c in num.columns]


def response_curves(
    model: Any,
    data: Any,
    covariates: Sequence[str] | str | None = None,
    *,
    species: Sequence[str] | str | None = None,
    labels: Mapping[str, str] | None = None,
    n_points: int = 20,
    n_draws: int = 20,
    level: float = 0.9,
    max_sites: int | None = 300,
    max_draw_sites: int = 100,
    traits: Any = None,
    quantiles: tuple[float, float] = (0.025, 0.975),
    rng: int | np.random.Generator | None = 0,
    max_rows: int = MAX_ROWS,
) -> pd.DataFrame:
    """Partial-dependence curves with posterior bands (see the module docstring for the method).

    Parameters
    ----------
    model : fitted estimator
        ``predict_proba``, ``sample``, ``species_``, ``feature_names_in_``.
    data : CommunityData, DataFrame or ndarray of shape (n_sites, n_features)
        Sites whose other covariates are averaged over (e.g. held-out sites).
    covariates : str or sequence of str, optional
        Covariates to vary (default: all of the model's).
    species : str or sequence of str, optional
        Species whose curves to return, by name or display label (default:
        all). Richness and community summaries always use every species.
    labels : mapping, optional
        Species name → display label (fills the ``label`` column).
    n_points : int, default=20
    n_draws : int, default=20
        Joint draws per grid value for the band (0: no band); at most 500.
    level : float, default=0.9
        Central interval of the band.
    max_sites : int or None, default=300
        Sites averaged over (a seeded random subset when there are more).
    max_draw_sites : int, default=100
        Of those, sites drawn for the band.
    traits : DataFrame, optional
        Species (index) × numeric traits: adds ``cwm`` rows.
    quantiles : (float, float), default=(0.025, 0.975)
        Range of the grid (quantiles of the covariate over ``data``).
    rng : int or numpy.random.Generator, default=0
        Chooses the site subsets and the draw seeds.
    max_rows : int, default=65536
        Rows per ``predict_proba`` call.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per covariate × grid value × quantity × name; columns
        ``covariate, value, quantity`` (``occurrence``, ``richness``,
        ``turnover``, ``cwm``) ``, name, label, estimate, draws_mean, lower,
        upper, site_lower, site_upper`` (NaN where not defined). ``attrs``:
        ``level``, ``n_sites``, ``n_draw_sites``, ``n_draws``, ``reference``
        (covariate → reference value of ``turnover``) and ``observed``
        (covariate → its 5 %-step quantiles over ``data``, for rugs).
    """
    gen = as_generator(rng)
    X = model_inputs(model, data)
    features = [str(f) for f in model.feature_names_in_]
    all_species = [str(s) for s in model.species_]
    cov_idx = resolve_names(covariates, features, "covariate")
    sp_idx = resolve_names(species, all_species, "species", labels)
    n_draws = check_count(n_draws, "n_draws", 0, MAX_DRAWS)
    n_points = check_count(n_points, "n_points", 2, 1000)
    if not 0.0 < level < 1.0:
        raise InputDataError(f"level must be in (0, 1), got {level}")
    tr = _traits_matrix(traits, all_species)
    rows = subsample_rows(X.shape[0], max_sites, gen)
    Xs = X[rows]
    drow = subsample_rows(Xs.shape[0], max_draw_sites, gen)
    if n_draws and not hasattr(model, "sample"):
        raise InputDataError(f"{type(model).__name__} has no sample(); use n_draws=0")
    frames, reference, observed = [], {}, {}
    for j in cov_idx:
        name = features[j]
        values = grid_values(X[:, j], n_points, quantiles)
        ref = int(np.argmin(np.abs(values - np.median(X[:, j]))))
        reference[name], observed[name] = float(values[ref]), np.quantile(X[:, j], np.linspace(0, 1, 21)).tolist()

        def block(k: int, base: np.ndarray = Xs, j: int = j, values: np.ndarray = values) -> np.ndarray:
            b = base.copy()
            b[:, j] = values[k]
            return b

        pbar = np.empty((values.size, len(all_species)))
        for k, prob in stacked_proba(model, block, values.size, Xs.shape[0], max_rows):
            pbar[k] = prob.mean(0)
        q = rs = None
        if n_draws:
            seed = int(gen.integers(2**31 - 1))
            q = np.empty((values.size, len(all_species), n_draws))
            rs = np.empty((values.size, 2))
            for k in range(values.size):
                occ, y = _draws(model, block(k, Xs[drow]), n_draws, seed)
                q[k] = occ.mean(1).T
                rs[k] = np.quantile(y.sum(2), [(1 - level) / 2, (1 + level) / 2])
        frames.append(_tidy(name, values, pbar, q, rs, ref, sp_idx, all_species, labels, tr, level))
        logger.info("response curves of %s: %d values × %d sites (%d drawn × %d draws)", name, values.size,
                    Xs.shape[0], drow.size if n_draws else 0, n_draws)
    out = pd.concat(frames, ignore_index=True)[COLUMNS]
    out.attrs.update(level=float(level), n_sites=int(Xs.shape[0]), n_draw_sites=int(drow.size) if n_draws else 0,
                     n_draws=n_draws, reference=reference, observed=observed)
    return out


def _draws(model: Any, X: np.ndarray, n_draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(per-draw occurrence probabilities or 0/1 draws, 0/1 draws), each (n_draws, n_sites, n_species).

    Models with ``iter_samples(..., return_prob=True)`` (HOT-VAE) give the probability
    of each joint draw, ``sigmoid(decoder(z))``: the same expectation as the 0/1 draws
    without their Bernoulli noise (Rao–Blackwellised), so the band shows the latent
    uncertainty. Other models give their 0/1 ``sample`` draws for both.
    """
    if hasattr(model, "iter_samples"):
        parts = list(model.iter_samples(X, n_draws=n_draws, seed=seed, return_prob=True))
        if parts and len(parts[0]) == 3:
            return (np.concatenate([p[2] for p in parts], axis=1).astype(np.float64),
                    np.concatenate([p[1] for p in parts], axis=1))
    y = np.asarray(model.sample(X, n_draws=n_draws, seed=seed))
    return y.astype(np.float64), y


def _tidy(name, values, pbar, q, rs, ref, sp_idx, species, labels, traits, level) -> pd.DataFrame:
    """Rows of one covariate. pbar (G, L); q (G, L, S) site-averaged draws or None; rs (G, 2) or None."""
    G = values.size
    nan = np.full(G, np.nan)
    parts: list[dict] = []

    def add(quantity, nm, label, est, per_draw=None, site=None):
        m, lo, hi = _band(per_draw, level) if per_draw is not None else (nan, nan, nan)
        parts.append(dict(covariate=name, value=values, quantity=quantity, name=nm, label=label, estimate=est,
                          draws_mean=m, lower=lo, upper=hi, site_lower=site[:, 0] if site is not None else nan,
                          site_upper=site[:, 1] if site is not None else nan))

    for l in sp_idx:
        add("occurrence", species[l], display(species[l], labels), pbar[:, l], None if q is None else q[:, l, :])
    add("richness", "richness", "expected richness", pbar.sum(1), None if q is None else q.sum(1), rs)
    add("turnover", "turnover", "Bray–Curtis turnover from reference", bray_curtis(pbar, pbar[ref]),
        None if q is None else bray_curtis(np.moveaxis(q, 2, 1), np.moveaxis(q, 2, 1)[ref]))
    if traits is not None:
        T, tnames = traits
        cw = community_weighted_mean(pbar, T)
        cwq = None if q is None else np.moveaxis(community_weighted_mean(np.moveaxis(q, 2, 1), T), 1, 2)
        for t, tn in enumerate(tnames):
            add("cwm", tn, f"community-weighted mean {tn}", cw[:, t], None if cwq is None else cwq[:, t, :])
    return pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)


def richness_surface(
    model: Any,
    data: Any,
    x: str,
    y: str,
    *,
    n_points: int = 15,
    max_sites: int | None = 300,
    quantiles: tuple[float, float] = (0.025, 0.975),
    rng: int | np.random.Generator | None = 0,
    max_rows: int = MAX_ROWS,
) -> pd.DataFrame:
    """Expected richness over a grid of two covariates (two-way partial dependence).

    Parameters
    ----------
    model : fitted estimator
    data : CommunityData, DataFrame or ndarray of shape (n_sites, n_features)
    x, y : str
        The two covariates (names or ``feature_names_in_`` entries).
    n_points : int, default=15
        Grid values per covariate (``n_points²`` combinations).
    max_sites, quantiles, rng, max_rows
        As :func:`response_curves`.

    Returns
    -------
    pandas.DataFrame
        ``n_x × n_y`` rows: ``x_value``, ``y_value`` (original units),
        ``richness`` (mean over sites of the summed occurrence probabilities)
        and ``observed_share`` (share of ``data``'s sites in that grid cell's
        neighbourhood, 0 where the combination was never observed: read the
        surface only where it is > 0). ``attrs``: ``x``, ``y``, ``observed``
        (list of ``[x, y]`` of the sites averaged over).
    """
    gen = as_generator(rng)
    X = model_inputs(model, data)
    features = [str(f) for f in model.feature_names_in_]
    (jx,), (jy,) = resolve_names([x], features, "covariate"), resolve_names([y], features, "covariate")
    if jx == jy:
        raise InputDataError(f"richness_surface needs two different covariates, got {x!r} twice")
    rows = subsample_rows(X.shape[0], max_sites, gen)
    Xs = X[rows]
    gx, gy = grid_values(X[:, jx], n_points, quantiles), grid_values(X[:, jy], n_points, quantiles)
    pairs = np.array([(a, b) for a in gx for b in gy])

    def block(k: int) -> np.ndarray:
        b = Xs.copy()
        b[:, jx], b[:, jy] = pairs[k]
        return b

    rich = np.empty(len(pairs))
    for k, prob in stacked_proba(model, block, len(pairs), Xs.shape[0], max_rows):
        rich[k] = prob.sum(1).mean()
    out = pd.DataFrame({"x_value": pairs[:, 0], "y_value": pairs[:, 1], "richness": rich,
                        "observed_share": _support(X[:, [jx, jy]], gx, gy)})
    out.attrs.update(x=features[jx], y=features[jy], observed=Xs[:, [jx, jy]].tolist())
    return out


def _support(obs: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Share of observed (x, y) pairs nearest to each grid combination, shape (n_x * n_y,)."""
    ix = np.abs(obs[:, :1] - gx[None, :]).argmin(1)
    iy = np.abs(obs[:, 1:] - gy[None, :]).argmin(1)
    counts = np.zeros((gx.size, gy.size))
    np.add.at(counts, (ix, iy), 1.0)
    return (counts / obs.shape[0]).ravel()
