"""Per-site summaries of species richness from joint posterior draws.

Richness is the number of species present at a site (Norberg et al. 2019),
computed in every draw: ``richness[d, i] = Σ_j draws[d, i, j]``. From those
``n_draws`` values per site we summarise the posterior predictive distribution
(mean, sd, central intervals, ``P(richness ≥ k)``).

Every function here is per site, so it works chunk by chunk: call it on each
``(n_draws, chunk_sites, n_species)`` block coming out of a streaming sampler
and concatenate (:meth:`RichnessSummary.concat`, :func:`summarise_richness_chunks`);
the result is identical to one call on the full array. Nothing keeps state
between calls.

Quantiles use numpy's ``"linear"`` method by default (R's type 7, the default
of ``quantile()`` in R, the language of Norberg et al.'s code). Richness is
discrete, so interval ends may fall between integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.beta import _as_binary

__all__ = [
    "richness_from_draws",
    "central_interval",
    "interval_coverage",
    "pit_coverage",
    "RichnessSummary",
    "richness_summary",
    "richness_summary_from_counts",
    "summarise_richness_chunks",
]


def _check_draws(draws: np.ndarray) -> np.ndarray:
    d = np.asarray(draws)
    if d.ndim != 3:
        raise InputDataError(f"draws must be 3-D (n_draws, n_sites, n_species), got shape {d.shape}")
    if d.shape[0] == 0:
        raise InputDataError("draws has no draws (n_draws = 0)")
    _as_binary(d, "draws", ("draw", "site", "species"), "posterior draws must be 0/1")
    return d


def richness_from_draws(draws: np.ndarray) -> np.ndarray:
    """Species richness of every site in every draw.

    Parameters
    ----------
    draws : array-like of shape (n_draws, n_sites, n_species), 0/1 or bool

    Returns
    -------
    ndarray of shape (n_draws, n_sites), int32
    """
    d = _check_draws(draws)
    if d.dtype == bool:
        return np.count_nonzero(d, axis=2).astype(np.int32)
    return d.sum(axis=2, dtype=np.int32)


def central_interval(
    samples: np.ndarray, level: float = 0.5, *, axis: int = 0, method: str = "linear"
) -> tuple[np.ndarray, np.ndarray]:
    """Central predictive interval: the ``(1−level)/2`` and ``(1+level)/2`` quantiles.

    Parameters
    ----------
    samples : array-like, draws along ``axis``
        E.g. richness of shape (n_draws, n_sites).
    level : float in (0, 1), default=0.5
    axis : int, default=0
        The draws axis.
    method : str, default="linear"
        ``numpy.quantile`` method.

    Returns
    -------
    lower, upper : ndarray
        ``samples``' shape without ``axis``.
    """
    if not 0.0 < level < 1.0:
        raise InputDataError(f"interval level must be in (0, 1), got {level}")
    s = np.asarray(samples, dtype=np.float64)
    q = np.quantile(s, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=axis, method=method)
    return q[0], q[1]


def interval_coverage(
    observed: np.ndarray, samples: np.ndarray, level: float = 0.5, *, method: str = "linear"
) -> np.ndarray:
    """Whether each observed value lies in its central interval (ends included).

    Parameters
    ----------
    observed : array-like of shape (n,)
    samples : array-like of shape (n_draws, n)
    level : float, default=0.5
    method : str, default="linear"
        ``numpy.quantile`` method.

    Returns
    -------
    ndarray of shape (n,), bool

    Notes
    -----
    This is the coverage Norberg et al. (2019) use for richness and community
    calibration. For a discrete predictive distribution (richness) it is biased
    upwards even for a perfect model, because the interval's ends carry
    probability mass: for Binomial(10, 0.5) richness the inclusive
    [q25, q75] = [4, 6] holds 65.6 % of the mass. :func:`pit_coverage` removes
    that bias.
    """
    obs = np.asarray(observed, dtype=np.float64)
    if np.ndim(samples) != obs.ndim + 1 or np.shape(samples)[1:] != obs.shape:
        raise InputDataError(f"samples must have shape (n_draws, *{obs.shape}), got {np.shape(samples)}")
    lo, hi = central_interval(samples, level, axis=0, method=method)
    return (lo <= obs) & (obs <= hi)


def pit_coverage(observed: np.ndarray, samples: np.ndarray, level: float = 0.5) -> np.ndarray:
    """Expected coverage of the central interval under the randomised PIT.

    For each site the randomised probability integral transform is
    ``u = F(y−) + V (F(y) − F(y−))`` with ``V ~ U(0, 1)`` and ``F`` the empirical
    predictive CDF of the draws. ``u`` is exactly uniform for a calibrated
    discrete model. We return ``P(u ∈ [(1−level)/2, (1+level)/2])`` in closed
    form (no randomness): the overlap of ``[F(y−), F(y)]`` with the central
    band, divided by ``F(y) − F(y−)``; 0 or 1 when the observed value has no
    predictive mass.

    Parameters
    ----------
    observed : array-like of shape (n,)
    samples : array-like of shape (n_draws, n)
    level : float in (0, 1), default=0.5

    Returns
    -------
    ndarray of shape (n,), float64 in [0, 1]
        Its mean is ≈ ``level`` for a calibrated model, discrete or not.
    """
    if not 0.0 < level < 1.0:
        raise InputDataError(f"interval level must be in (0, 1), got {level}")
    obs = np.asarray(observed, dtype=np.float64)
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim != obs.ndim + 1 or s.shape[1:] != obs.shape or s.shape[0] == 0:
        raise InputDataError(f"samples must have shape (n_draws >= 1, *{obs.shape}), got {s.shape}")
    f_lo = np.mean(s < obs, axis=0)
    f_hi = np.mean(s <= obs, axis=0)
    a, b = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    width = f_hi - f_lo
    overlap = np.clip(np.minimum(f_hi, b) - np.maximum(f_lo, a), 0.0, None)
    point = ((a <= f_hi) & (f_hi <= b)).astype(np.float64)
    return np.divide(overlap, width, out=point, where=width > 0)


@dataclass(frozen=True)
class RichnessSummary:
    """Per-site posterior summaries of richness.

    Attributes
    ----------
    mean : ndarray of shape (n_sites,), float64
        Posterior predictive mean richness.
    sd : ndarray of shape (n_sites,), float64
        Standard deviation over draws (``ddof=0``).
    intervals : dict of float -> (ndarray, ndarray)
        ``{level: (lower, upper)}``, each of shape (n_sites,).
    prob_at_least : dict of int -> ndarray
        ``{k: P(richness ≥ k)}``, each of shape (n_sites,).
    n_draws : int
    """

    mean: np.ndarray
    sd: np.ndarray
    intervals: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    prob_at_least: dict[int, np.ndarray] = field(default_factory=dict)
    n_draws: int = 0

    @property
    def n_sites(self) -> int:
        """Number of sites summarised."""
        return int(self.mean.shape[0])

    def to_frame(self, site_ids: Sequence[object] | None = None) -> pd.DataFrame:
        """One row per site: ``richness_mean``, ``richness_sd``,
        ``richness_lo{pct}`` / ``richness_hi{pct}`` per interval level and
        ``p_richness_ge{k}``.

        Parameters
        ----------
        site_ids : sequence of length n_sites, optional
            Used as the index.

        Returns
        -------
        pandas.DataFrame of shape (n_sites, n_columns)
        """
        cols: dict[str, np.ndarray] = {"richness_mean": self.mean, "richness_sd": self.sd}
        for level, (lo, hi) in sorted(self.intervals.items()):
            pct = f"{100 * level:g}"
            cols[f"richness_lo{pct}"] = lo
            cols[f"richness_hi{pct}"] = hi
        for k, p in sorted(self.prob_at_least.items()):
            cols[f"p_richness_ge{k}"] = p
        index = None if site_ids is None else pd.Index(list(site_ids), name="site_id")
        if index is not None and len(index) != self.n_sites:
            raise InputDataError(f"got {len(index)} site ids for {self.n_sites} sites")
        return pd.DataFrame(cols, index=index)

    @classmethod
    def concat(cls, parts: Sequence["RichnessSummary"]) -> "RichnessSummary":
        """Join summaries of consecutive site chunks.

        Parameters
        ----------
        parts : sequence of RichnessSummary
            Same levels, thresholds and number of draws.

        Returns
        -------
        RichnessSummary
        """
        if not parts:
            raise InputDataError("no richness summaries to concatenate")
        first = parts[0]
        for p in parts[1:]:
            if set(p.intervals) != set(first.intervals) or set(p.prob_at_least) != set(first.prob_at_least):
                raise InputDataError("richness summaries to concatenate have different levels or thresholds")
            if p.n_draws != first.n_draws:
                raise InputDataError(
                    f"richness summaries to concatenate come from {first.n_draws} and {p.n_draws} draws"
                )
        return cls(
            mean=np.concatenate([p.mean for p in parts]),
            sd=np.concatenate([p.sd for p in parts]),
            intervals={
                lv: (
                    np.concatenate([p.intervals[lv][0] for p in parts]),
                    np.concatenate([p.intervals[lv][1] for p in parts]),
                )
                for lv in first.intervals
            },
            prob_at_least={k: np.concatenate([p.prob_at_least[k] for p in parts]) for k in first.prob_at_least},
            n_draws=first.n_draws,
        )


def richness_summary_from_counts(
    counts: np.ndarray,
    *,
    levels: Sequence[float] = (0.5, 0.9),
    at_least: Sequence[int] = (),
    method: str = "linear",
) -> RichnessSummary:
    """Summarise richness already counted per draw.

    Parameters
    ----------
    counts : array-like of shape (n_draws, n_sites)
        Richness per draw and site (e.g. from :func:`richness_from_draws`).
    levels : sequence of float in (0, 1), default=(0.5, 0.9)
        Central interval levels.
    at_least : sequence of int, default=()
        Thresholds ``k`` for ``P(richness ≥ k)``.
    method : str, default="linear"
        ``numpy.quantile`` method.

    Returns
    -------
    RichnessSummary
    """
    c = np.asarray(counts)
    if c.ndim != 2 or c.shape[0] == 0:
        raise InputDataError(f"richness counts must have shape (n_draws >= 1, n_sites), got {c.shape}")
    cf = c.astype(np.float64)
    intervals = {float(lv): central_interval(cf, float(lv), axis=0, method=method) for lv in levels}
    return RichnessSummary(
        mean=cf.mean(axis=0),
        sd=cf.std(axis=0),
        intervals=intervals,
        prob_at_least={int(k): np.mean(c >= k, axis=0) for k in at_least},
        n_draws=int(c.shape[0]),
    )


def richness_summary(
    draws: np.ndarray,
    *,
    levels: Sequence[float] = (0.5, 0.9),
    at_least: Sequence[int] = (),
    method: str = "linear",
) -> RichnessSummary:
    """Per-site richness summaries from joint posterior draws.

    Parameters
    ----------
    draws : array-like of shape (n_draws, n_sites, n_species), 0/1 or bool
    levels : sequence of float in (0, 1), default=(0.5, 0.9)
        Central interval levels.
    at_least : sequence of int, default=()
        Thresholds ``k`` for ``P(richness ≥ k)``.
    method : str, default="linear"
        ``numpy.quantile`` method.

    Returns
    -------
    RichnessSummary

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([[[1, 0]], [[1, 1]], [[0, 0]], [[1, 1]]])   # 4 draws, 1 site, 2 species
    >>> s = richness_summary(d, levels=(0.5,), at_least=(2,))
    >>> float(s.mean[0]), float(s.prob_at_least[2][0])
    (1.25, 0.5)
    """
    return richness_summary_from_counts(
        richness_from_draws(draws), levels=levels, at_least=at_least, method=method
    )


def summarise_richness_chunks(
    chunks: Iterable[np.ndarray],
    *,
    levels: Sequence[float] = (0.5, 0.9),
    at_least: Sequence[int] = (),
    method: str = "linear",
) -> RichnessSummary:
    """Summarise a stream of ``(n_draws, chunk_sites, n_species)`` draw blocks.

    Only one block is held at a time besides the per-site results, so memory
    stays bounded by the chunk size.

    Parameters
    ----------
    chunks : iterable of ndarray of shape (n_draws, chunk_sites, n_species)
        Consecutive site chunks, all with the same number of draws.
    levels, at_least, method
        As :func:`richness_summary`.

    Returns
    -------
    RichnessSummary
        Identical to :func:`richness_summary` on the concatenated draws.
    """
    parts = [richness_summary(c, levels=levels, at_least=at_least, method=method) for c in chunks]
    return RichnessSummary.concat(parts)
