"""The 12 predictive-performance measures of Norberg et al. (2019).

Norberg, A., Abrego, N., Blanchet, F. G., et al. (2019). A comprehensive
evaluation of predictive performance of 33 species distribution models at
species and community levels. *Ecological Monographs* 89(3): e01370.

Three aspects × four measures. "better" says which direction is good.

=============  ============================================  ===================================  ======
aspect         measure                                       computed as                          better
=============  ============================================  ===================================  ======
occurrence     accuracy                                      mean over sites, species |p − y|      lower
occurrence     discrimination                                mean species ROC AUC                  higher
occurrence     calibration                                   mean |obs − pred| in 10 bins          lower
occurrence     precision                                     mean sqrt(p (1 − p))                  lower
richness       accuracy                                      RMSE(mean predicted S, observed S)    lower
richness       discrimination                                Spearman(mean predicted S, obs S)     higher
richness       calibration                                   |P(obs in 50 % interval) − 0.5|       lower
richness       precision                                     mean predictive sd of S               lower
community      (same four on βSOR of 300 random site pairs)                                        as above
=============  ============================================  ===================================  ======

Definitions and deviations (each also in the function that implements it):

* **Richness is the number of species at a site**, ``S_i = Σ_j y_ij``, as in
  Norberg et al. Some HOT-VAE-related papers describe "richness" differently;
  that wording is wrong and we do not follow it. Predicted richness is counted
  in each joint posterior draw, so co-occurrence carries into its spread.
* **Occurrence calibration is normalised.** For each species the sites are
  sorted by predicted probability and cut into 10 equal-count bins; the
  species' value is the *mean* over (non-empty) bins of
  ``|mean(y) − mean(p)|``, and the measure is the mean over species, so it
  lies in [0, 1] and does not grow with the number of species or bins. The
  HOT-VAE paper's occurrence calibration of 679.8 is an unnormalised sum (the
  paper does not state its exact terms), so it cannot be set beside ours. We
  also return the sum over species and bins as ``calibration_sum``: it equals
  ``calibration × n_species × n_bins`` when no bin is empty. Ties in ``p`` are
  ordered by site index (stable sort), so the bins are deterministic. With
  fewer sites than bins the empty bins are skipped.
* **Species with one class only** (present everywhere or nowhere in
  ``y_true``) have no AUC and are left out of occurrence discrimination
  (reported: ``n_species_auc``). They still count in the other measures.
* **Richness/community calibration** uses the inclusive central 50 % interval
  of the draws with numpy's ``"linear"`` quantiles (R's type 7). Because
  richness and β take few distinct values, this coverage is biased upwards even
  for a perfect model (ends carry mass). ``coverage="pit"`` replaces the share
  by the expected coverage under the randomised PIT
  (:func:`jsdm_hot.metrics.posterior_summary.pit_coverage`), which is exactly
  0.5 in expectation for a calibrated model; it is our addition, not Norberg's.
  The default (``"interval"``) follows Norberg.
* **Predictive sd** uses ``ddof=0`` over draws.
* **Spearman correlation** is NaN when observed or predicted values are
  constant (rank correlation undefined), and when fewer than 2 values exist.
* **Community pairs**: ``n_pairs`` (300) distinct unordered pairs of distinct
  sites, drawn without replacement with the given ``numpy.random.Generator``;
  when ``n_pairs`` is at least the number of possible pairs, all pairs are
  used. Pass the same ``pairs`` (or the same seed on the same sites) to
  compare models on identical pairs.
* **β-diversity** follows Baselga (2010) with our definitions for empty
  communities (:mod:`jsdm_hot.metrics.beta`): two empty sites have β = 0, one
  empty and one non-empty βSOR = 1, βSIM = 0, βNES = 1. βSOR gives the main
  community measures; βSIM (turnover) and βNES (nestedness) versions are also
  returned (aspects ``community_sim`` and ``community_nes``).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.beta import _as_binary, beta_all
from jsdm_hot.metrics.mlc import per_species_auc
from jsdm_hot.metrics.posterior_summary import interval_coverage, pit_coverage, richness_from_draws

__all__ = [
    "BETTER",
    "occurrence_calibration",
    "occurrence_metrics",
    "richness_metrics",
    "richness_metrics_from_counts",
    "sample_site_pairs",
    "community_metrics",
    "norberg_metrics",
]

logger = logging.getLogger(__name__)

#: Direction of improvement of each measure.
BETTER: dict[str, str] = {
    "accuracy": "lower",
    "discrimination": "higher",
    "calibration": "lower",
    "precision": "lower",
}
_MEASURES = ("accuracy", "discrimination", "calibration", "precision")
_COVERAGE = ("interval", "pit")


# --------------------------------------------------------------------------- checks
def _check_y(y_true: np.ndarray) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 2:
        raise InputDataError(f"y_true must be 2-D (n_sites, n_species), got shape {y.shape}")
    if y.shape[0] == 0 or y.shape[1] == 0:
        raise InputDataError(f"y_true has shape {y.shape}; need at least one site and one species")
    _as_binary(y, "y_true", ("site (row)", "species (column)"), "expected 0/1")
    return y.astype(np.uint8)


def _check_prob(prob: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    p = np.asarray(prob, dtype=np.float64)
    if p.shape != shape:
        raise InputDataError(f"prob has shape {p.shape} but y_true has shape {shape}; they must match")
    bad = ~(np.isfinite(p) & (p >= 0.0) & (p <= 1.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputDataError(
            f"prob has value {p[i, j].item()} at site (row) {i}, species (column) {j}; probabilities must be in [0, 1]"
        )
    return p


def _check_draws_shape(draws: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    d = np.asarray(draws)
    if d.ndim != 3 or d.shape[1:] != shape:
        raise InputDataError(
            f"draws must have shape (n_draws, {shape[0]}, {shape[1]}) to match y_true, got {d.shape}"
        )
    if d.shape[0] == 0:
        raise InputDataError("draws has no draws (n_draws = 0)")
    return d


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(0 if rng is None else int(rng))
    raise InputDataError(f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}")


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation; NaN when undefined (constant input, n < 2)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def _rmse(pred: np.ndarray, obs: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred, np.float64) - np.asarray(obs, np.float64)) ** 2)))


def _coverage(obs: np.ndarray, samples: np.ndarray, level: float, coverage: str) -> np.ndarray:
    if coverage == "interval":
        return interval_coverage(obs, samples, level).astype(np.float64)
    if coverage == "pit":
        return pit_coverage(obs, samples, level)
    raise InputDataError(f"coverage must be one of {_COVERAGE}, got {coverage!r}")


def _predictive_measures(obs: np.ndarray, samples: np.ndarray, level: float, coverage: str) -> dict[str, float]:
    """The four measures for a quantity with observed values (n,) and draws (n_draws, n)."""
    samples = np.asarray(samples, dtype=np.float64)
    if obs.size == 0:
        nan = float("nan")
        return {"accuracy": nan, "discrimination": nan, "calibration": nan, "precision": nan, "coverage": nan}
    mean = samples.mean(axis=0)
    cov = float(_coverage(obs, samples, level, coverage).mean())
    return {
        "accuracy": _rmse(mean, obs),
        "discrimination": _spearman(obs, mean),
        "calibration": abs(cov - level),
        "precision": float(samples.std(axis=0).mean()),
        "coverage": cov,
    }


# --------------------------------------------------------------------------- occurrence
def occurrence_calibration(
    y_true: np.ndarray, prob: np.ndarray, *, n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Per-species calibration error over equal-count probability bins.

    For each species, sites are sorted by ``prob`` (stable sort: ties keep site
    order) and split into ``n_bins`` bins of (nearly) equal size as
    ``numpy.array_split`` does; each bin contributes ``|mean(y) − mean(p)|``.

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1
    prob : array-like of shape (n_sites, n_species), in [0, 1]
    n_bins : int, default=10

    Returns
    -------
    per_species_mean : ndarray of shape (n_species,)
        Mean over non-empty bins (normalised, in [0, 1]).
    per_species_sum : ndarray of shape (n_species,)
        Sum over bins (the unnormalised form).
    """
    y = _check_y(y_true)
    p = _check_prob(prob, y.shape)
    if int(n_bins) < 1:
        raise InputDataError(f"n_bins must be >= 1, got {n_bins}")
    n_sites = y.shape[0]
    sizes = np.array([len(a) for a in np.array_split(np.arange(n_sites), int(n_bins))])
    sizes = sizes[sizes > 0]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    order = np.argsort(p, axis=0, kind="stable")
    ps = np.take_along_axis(p, order, axis=0)
    ys = np.take_along_axis(y.astype(np.float64), order, axis=0)
    mean_p = np.add.reduceat(ps, starts, axis=0) / sizes[:, None]
    mean_y = np.add.reduceat(ys, starts, axis=0) / sizes[:, None]
    err = np.abs(mean_y - mean_p)  # (n_nonempty_bins, n_species)
    return err.mean(axis=0), err.sum(axis=0)


def occurrence_metrics(y_true: np.ndarray, prob: np.ndarray, *, n_bins: int = 10) -> dict[str, float]:
    """Norberg's four occurrence measures from predicted probabilities.

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1
    prob : array-like of shape (n_sites, n_species), in [0, 1]
        Predicted occurrence probabilities (posterior mean).
    n_bins : int, default=10
        Equal-count bins for calibration.

    Returns
    -------
    dict
        ``accuracy`` = mean |p − y| over all sites and species;
        ``discrimination`` = mean ROC AUC over species with both classes (NaN
        if none; ``n_species_auc`` says how many); ``calibration`` = mean over
        species of the mean over bins of |observed frequency − mean p|
        (normalised; ``calibration_sum`` is the unnormalised sum over species
        and bins); ``precision`` = mean sqrt(p (1 − p)), the Bernoulli sd.
    """
    y = _check_y(y_true)
    p = _check_prob(prob, y.shape)
    auc = per_species_auc(y, p)
    finite = auc[np.isfinite(auc)]
    cal_mean, cal_sum = occurrence_calibration(y, p, n_bins=n_bins)
    return {
        "accuracy": float(np.mean(np.abs(p - y))),
        "discrimination": float(finite.mean()) if finite.size else float("nan"),
        "calibration": float(cal_mean.mean()),
        "precision": float(np.mean(np.sqrt(p * (1.0 - p)))),
        "n_species_auc": int(finite.size),
        "calibration_sum": float(cal_sum.sum()),
    }


# --------------------------------------------------------------------------- richness
def richness_metrics(
    y_true: np.ndarray,
    draws: np.ndarray,
    *,
    level: float = 0.5,
    coverage: str = "interval",
) -> dict[str, float]:
    """Norberg's four richness measures from joint posterior draws.

    Richness is the number of species at a site (Norberg et al. 2019), counted
    in ``y_true`` and in every draw.

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1
    draws : array-like of shape (n_draws, n_sites, n_species), 0/1 or bool
        Joint posterior predictive draws.
    level : float, default=0.5
        Central interval level for calibration.
    coverage : {"interval", "pit"}, default="interval"
        ``"interval"``: share of sites whose observed richness lies in the
        inclusive central interval (Norberg; biased upwards for discrete
        richness). ``"pit"``: expected randomised-PIT coverage (unbiased; ours).

    Returns
    -------
    dict
        ``accuracy`` = RMSE between posterior mean richness (mean over the
        draws; equal to ``Σ_j p_ij`` up to Monte Carlo error) and observed
        richness; ``discrimination`` = Spearman correlation between them (NaN
        if either is constant); ``calibration`` = |coverage − level|;
        ``precision`` = mean over sites of the sd over draws (``ddof=0``);
        ``coverage`` = the share itself.
    """
    y = _check_y(y_true)
    d = _check_draws_shape(draws, y.shape)
    return richness_metrics_from_counts(y.sum(axis=1), richness_from_draws(d), level=level, coverage=coverage)


def richness_metrics_from_counts(
    observed: np.ndarray,
    counts: np.ndarray,
    *,
    level: float = 0.5,
    coverage: str = "interval",
) -> dict[str, float]:
    """:func:`richness_metrics` from richness already counted per draw.

    Lets a streaming evaluation keep only the ``(n_draws, n_sites)`` richness
    counts (e.g. from :func:`jsdm_hot.metrics.posterior_summary.richness_from_draws`
    chunk by chunk) instead of the full draws. Same definitions and result.

    Parameters
    ----------
    observed : array-like of shape (n_sites,)
        Observed richness (number of species at each site).
    counts : array-like of shape (n_draws, n_sites)
        Predicted richness in each draw.
    level : float, default=0.5
    coverage : {"interval", "pit"}, default="interval"

    Returns
    -------
    dict
        As :func:`richness_metrics`.
    """
    obs = np.asarray(observed, dtype=np.float64)
    c = np.asarray(counts)
    if obs.ndim != 1 or c.ndim != 2 or c.shape[1] != obs.shape[0] or c.shape[0] == 0:
        raise InputDataError(
            f"richness counts must have shape (n_draws >= 1, {obs.shape[0] if obs.ndim == 1 else '?'}) "
            f"to match observed richness of shape {obs.shape}, got {c.shape}"
        )
    return _predictive_measures(obs, c, level, coverage)


# --------------------------------------------------------------------------- community
def sample_site_pairs(n_sites: int, n_pairs: int = 300, rng: np.random.Generator | int | None = 0) -> np.ndarray:
    """Distinct unordered pairs of distinct sites, drawn without replacement.

    Parameters
    ----------
    n_sites : int
    n_pairs : int, default=300
    rng : numpy.random.Generator or int, default=0
        Generator (or seed) for the draw.

    Returns
    -------
    ndarray of shape (min(n_pairs, n_sites (n_sites − 1) / 2), 2), int64
        Each row ``(i, j)`` with ``i < j``. All pairs (in ``numpy.triu_indices``
        order) when ``n_pairs`` is at least their number; none for < 2 sites.
    """
    gen = _rng(rng)
    n = int(n_sites)
    if int(n_pairs) < 0:
        raise InputDataError(f"n_pairs must be >= 0, got {n_pairs}")
    total = n * (n - 1) // 2
    if total == 0 or n_pairs == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if n_pairs >= total:
        i, j = np.triu_indices(n, 1)
        return np.stack([i, j], axis=1).astype(np.int64)
    if 2 * n_pairs >= total:  # dense: enumerate (total <= 2 n_pairs, small)
        i, j = np.triu_indices(n, 1)
        pick = gen.choice(total, size=n_pairs, replace=False)
        return np.stack([i[pick], j[pick]], axis=1).astype(np.int64)
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int]] = []
    while len(out) < n_pairs:
        m = 2 * (n_pairs - len(out)) + 8
        a = gen.integers(0, n, size=m)
        b = gen.integers(0, n - 1, size=m)
        b = b + (b >= a)  # b != a, uniform over the other sites
        for u, v in zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()):
            if (u, v) not in seen:
                seen.add((u, v))
                out.append((u, v))
                if len(out) == n_pairs:
                    break
    return np.asarray(out, dtype=np.int64)


def community_metrics(
    y_true: np.ndarray,
    draws: np.ndarray,
    *,
    n_pairs: int = 300,
    rng: np.random.Generator | int | None = 0,
    pairs: np.ndarray | None = None,
    level: float = 0.5,
    coverage: str = "interval",
) -> dict[str, dict[str, float]]:
    """Norberg's four community measures on pairwise β-diversity.

    For each site pair, observed β comes from ``y_true`` and predicted β from
    every draw (Baselga 2010 βSOR, βSIM, βNES; :mod:`jsdm_hot.metrics.beta`).

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1
    draws : array-like of shape (n_draws, n_sites, n_species), 0/1 or bool
    n_pairs : int, default=300
        Number of random site pairs (ignored when ``pairs`` is given).
    rng : numpy.random.Generator or int, default=0
        Generator or seed for the pairs.
    pairs : array-like of shape (n_pairs, 2), optional
        Explicit site index pairs (use the same for every model compared).
    level : float, default=0.5
    coverage : {"interval", "pit"}, default="interval"
        See :func:`richness_metrics`.

    Returns
    -------
    dict
        ``{"sor": m, "sim": m, "nes": m}`` where ``m`` has ``accuracy`` (RMSE
        between observed β and mean predicted β), ``discrimination``
        (Spearman), ``calibration`` (|coverage − level|), ``precision`` (mean
        sd over draws), ``coverage``; all NaN when there are no pairs.
        ``"n_pairs"`` maps to ``{"value": number of pairs used}``.
    """
    y = _check_y(y_true)
    d = _check_draws_shape(draws, y.shape)
    if pairs is None:
        pr = sample_site_pairs(y.shape[0], n_pairs, rng)
    else:
        pr = np.asarray(pairs, dtype=np.int64)
        if pr.ndim != 2 or pr.shape[1] != 2:
            raise InputDataError(f"pairs must have shape (n_pairs, 2), got {pr.shape}")
        if pr.size and (pr.min() < 0 or pr.max() >= y.shape[0]):
            raise InputDataError(f"pairs hold site indices outside 0..{y.shape[0] - 1}")
    obs = beta_all(y[pr[:, 0]], y[pr[:, 1]])
    pred = beta_all(d[:, pr[:, 0]], d[:, pr[:, 1]])  # each (n_draws, n_pairs)
    out: dict[str, dict[str, float]] = {
        key: _predictive_measures(obs[key], pred[key], level, coverage) for key in ("sor", "sim", "nes")
    }
    out["n_pairs"] = {"value": float(pr.shape[0])}
    return out


# --------------------------------------------------------------------------- all 12
def norberg_metrics(
    y_true: np.ndarray,
    prob: np.ndarray,
    draws: np.ndarray,
    *,
    n_pairs: int = 300,
    rng: np.random.Generator | int | None = 0,
    pairs: np.ndarray | None = None,
    n_bins: int = 10,
    level: float = 0.5,
    coverage: str = "interval",
) -> pd.DataFrame:
    """All Norberg et al. (2019) measures as a tidy table.

    Parameters
    ----------
    y_true : array-like of shape (n_sites, n_species), 0/1
        Observed occurrences (test sites).
    prob : array-like of shape (n_sites, n_species), in [0, 1]
        Predicted occurrence probabilities.
    draws : array-like of shape (n_draws, n_sites, n_species), 0/1 or bool
        Joint posterior predictive draws for the same sites.
    n_pairs : int, default=300
    rng : numpy.random.Generator or int, default=0
        Generator or seed for the community site pairs.
    pairs : array-like of shape (n_pairs, 2), optional
        Explicit site pairs (overrides ``n_pairs`` / ``rng``).
    n_bins : int, default=10
    level : float, default=0.5
    coverage : {"interval", "pit"}, default="interval"

    Returns
    -------
    pandas.DataFrame
        Columns ``aspect``, ``measure``, ``value``, ``better`` ("lower" /
        "higher") and ``main`` (True for Norberg's 12: occurrence, richness,
        and community on βSOR). Rows with ``aspect`` ``community_sim`` and
        ``community_nes`` give the same measures on βSIM and βNES (main=False).
    """
    y = _check_y(y_true)
    occ = occurrence_metrics(y, prob, n_bins=n_bins)
    ric = richness_metrics(y, draws, level=level, coverage=coverage)
    com = community_metrics(y, draws, n_pairs=n_pairs, rng=rng, pairs=pairs, level=level, coverage=coverage)
    rows = []
    for aspect, vals, main in (
        ("occurrence", occ, True),
        ("richness", ric, True),
        ("community", com["sor"], True),
        ("community_sim", com["sim"], False),
        ("community_nes", com["nes"], False),
    ):
        for m in _MEASURES:
            rows.append({"aspect": aspect, "measure": m, "value": float(vals[m]), "better": BETTER[m], "main": main})
    logger.debug("Norberg metrics on %d sites, %d species, %d draws", y.shape[0], y.shape[1], np.shape(draws)[0])
    return pd.DataFrame(rows, columns=["aspect", "measure", "value", "better", "main"])
