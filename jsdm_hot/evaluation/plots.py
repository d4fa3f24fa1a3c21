"""Figures of the evaluation report (matplotlib, no pyplot, no global backend change).

The figures read an :class:`~jsdm_hot.evaluation.details.EvaluationDetails`
(or the table holding it) and never import :mod:`jsdm_hot.evaluation.report`,
which imports them. They accept degenerate evaluations: NaN metrics (species
present everywhere or nowhere), a single site (no site pairs), constant or
skewed draws (a posterior mean outside its 90 % interval).

Figures are built as :class:`matplotlib.figure.Figure` objects directly, not
through ``pyplot``: nothing global is touched (no ``matplotlib.use``, no
figure manager), saving uses the Agg renderer, and Jupyter still shows a
returned figure. Call ``fig.savefig(...)`` or :func:`jsdm_hot.evaluation.write_report`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jsdm_hot.evaluation.calibration import calibration_curve
from jsdm_hot.evaluation.details import as_details

__all__ = ["plot_report", "plot_richness", "plot_auc_prevalence", "plot_calibration", "plot_beta"]


def _figure(figsize: tuple[float, float]):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _title_model(det) -> str:
    return str(det.model_info.get("class", "model"))


def _points_with_intervals(ax, x: np.ndarray, center: np.ndarray, lo: np.ndarray, hi: np.ndarray, color: str,
                           what: str) -> None:
    """Points at ``center`` with their central 90 % interval drawn as a segment from ``lo`` to ``hi``.

    The segment is drawn between its ends, not as an error bar around the
    point: with skewed draws (e.g. βSOR 0 in 96 of 100 draws and 1 in 4) the
    posterior mean lies outside the 5-95 % interval, which a matplotlib
    ``yerr`` cannot show (negative lengths raise). The mean is drawn where it
    is, nothing is clipped.
    """
    ax.vlines(x, lo, hi, colors=color, alpha=0.25, linewidth=0.7, label="90 % interval of the draws")
    ax.plot(x, center, "o", ms=3.5, alpha=0.8, color=color, label=f"{what} (posterior mean)")


def _share_inside(obs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of finite observations inside ``[lo, hi]`` (NaN when none is finite)."""
    ok = np.isfinite(obs)
    return float(np.mean((lo[ok] <= obs[ok]) & (obs[ok] <= hi[ok]))) if ok.any() else float("nan")


def _rmse(pred: np.ndarray, obs: np.ndarray) -> float:
    """Root mean squared error over the finite pairs (NaN when none)."""
    ok = np.isfinite(pred) & np.isfinite(obs)
    return float(np.sqrt(np.mean((pred[ok] - obs[ok]) ** 2))) if ok.any() else float("nan")


def plot_richness(details, *, max_sites: int = 500, seed: int = 0):
    """Observed vs predicted species richness with 90 % predictive intervals.

    Left: one point per site (at most ``max_sites``, a seeded random subset),
    observed richness (jittered by up to ±0.2 so equal counts do not overlap)
    against the posterior mean, with the central 90 % interval of the draws as
    a vertical segment (the mean is not clipped: with skewed draws it can lie
    outside the interval) and the 1:1 line. Right: all sites ordered by predicted
    richness, the 50 % and 90 % intervals as bands and observed richness as dots.

    Parameters
    ----------
    details : EvaluationDetails or evaluation table
    max_sites : int, default=500
    seed : int, default=0
        Seeds the subset and the jitter.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from jsdm_hot.metrics.posterior_summary import central_interval

    det = as_details(details)
    counts = det.richness_draws.astype(np.float64)
    obs = det.richness_obs.astype(np.float64)
    mean = counts.mean(axis=0)
    lo90, hi90 = central_interval(counts, 0.9)
    lo50, hi50 = central_interval(counts, 0.5)
    n = obs.size
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=max_sites, replace=False)) if n > max_sites else np.arange(n)
    fig = _figure((11.0, 4.8))
    ax, ax2 = fig.subplots(1, 2)
    jitter = rng.uniform(-0.2, 0.2, size=idx.size)
    _points_with_intervals(ax, obs[idx] + jitter, mean[idx], lo90[idx], hi90[idx], "tab:blue", "site")
    top = float(max(obs.max(initial=0), hi90.max(initial=0), mean.max(initial=0))) + 0.5
    ax.plot([0, top], [0, top], color="0.3", lw=1, ls="--", label="1:1")
    ax.set_xlim(-0.5, top)
    ax.set_ylim(-0.5, top)
    inside = _share_inside(obs, lo90, hi90)
    rmse = _rmse(mean, obs)
    ax.set_xlabel("observed richness (species per site; jittered ±0.2)")
    ax.set_ylabel("predicted richness (posterior mean, species per site)")
    shown = f"{idx.size} of {n} sites" if idx.size < n else f"{n} sites"
    ax.set_title(f"Richness: {shown}\nRMSE {rmse:.2f}, {100 * inside:.0f} % of sites inside their 90 % interval",
                 fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    order = np.argsort(mean, kind="stable")
    x = np.arange(n)
    ax2.fill_between(x, lo90[order], hi90[order], color="tab:blue", alpha=0.2, step="mid", label="90 % interval")
    ax2.fill_between(x, lo50[order], hi50[order], color="tab:blue", alpha=0.4, step="mid", label="50 % interval")
    ax2.plot(x, mean[order], color="tab:blue", lw=1, label="posterior mean")
    ax2.plot(x, obs[order], "o", ms=2, color="tab:red", alpha=0.6, label="observed")
    ax2.set_xlabel("sites, ordered by predicted richness")
    ax2.set_ylabel("richness (species per site)")
    ax2.set_title(f"Predictive intervals from {det.n_draws} joint draws ({_title_model(det)})", fontsize=10)
    ax2.legend(loc="upper left", fontsize=8)
    return fig


def plot_auc_prevalence(details):
    """Per-species ROC AUC against prevalence in the evaluation data.

    Species without an AUC (present at all or none of the sites) are listed in
    the title, not plotted. With at most 25 species every point is labelled.
    The x axis is logarithmic when prevalences span more than a factor of 20.

    Parameters
    ----------
    details : EvaluationDetails or evaluation table

    Returns
    -------
    matplotlib.figure.Figure
    """
    det = as_details(details)
    auc = det.per_species_auc
    prev = det.prevalence
    ok = np.isfinite(auc)
    fig = _figure((6.4, 4.8))
    ax = fig.subplots()
    ax.scatter(prev[ok], auc[ok], s=25, color="tab:green", alpha=0.8, edgecolor="k", linewidth=0.3)
    if ok.sum() <= 25:
        for j in np.flatnonzero(ok):
            ax.annotate(det.species[j], (prev[j], auc[j]), fontsize=6, xytext=(3, 2), textcoords="offset points")
    ax.axhline(0.5, color="0.4", lw=1, ls=":", label="0.5 (no discrimination)")
    if ok.any():
        med = float(np.median(auc[ok]))
        ax.axhline(med, color="tab:green", lw=1, ls="--", label=f"median AUC {med:.3f}")
    pos = prev[ok][prev[ok] > 0]
    if pos.size and pos.max() / pos.min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel("prevalence (share of sites where the species is observed)")
    ax.set_ylabel("ROC AUC of predicted occurrence probability")
    ax.set_ylim(min(0.0, float(np.nanmin(auc, initial=1.0)) - 0.02) if ok.any() else 0.0, 1.02)
    missing = int((~ok).sum())
    extra = f"; {missing} species with one class, no AUC" if missing else ""
    ax.set_title(f"Per-species discrimination ({ok.sum()} species{extra})", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_calibration(details, n_bins: int | None = None):
    """Reliability diagram: observed frequency against mean predicted probability.

    All site × species cells are pooled and cut into ``n_bins`` equal-count
    bins (:func:`jsdm_hot.evaluation.calibration_curve`); a calibrated model
    lies on the diagonal. The Norberg occurrence calibration (per species,
    then averaged) is given in the title.

    Parameters
    ----------
    details : EvaluationDetails or evaluation table
    n_bins : int, optional
        Default: the evaluation's ``n_bins`` (10).

    Returns
    -------
    matplotlib.figure.Figure
    """
    det = as_details(details)
    nb = int(n_bins or det.settings.get("n_bins", 10))
    curve = calibration_curve(det.y_true, det.prob, nb)
    fig = _figure((5.6, 5.2))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.4", lw=1, ls="--", label="perfect calibration")
    ax.plot(curve["mean_predicted"], curve["observed_frequency"], "o-", color="tab:orange",
            label=f"{len(curve)} equal-count bins of {int(curve['n'].iloc[0]) if len(curve) else 0} cells")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("mean predicted occurrence probability in bin")
    ax.set_ylabel("observed occurrence frequency in bin")
    from jsdm_hot.metrics.ecology import occurrence_calibration

    per_species, _ = occurrence_calibration(det.y_true, det.prob, n_bins=nb)
    ax.set_title(f"Calibration (all species and sites pooled)\nNorberg calibration (per-species mean bin error) "
                 f"{float(per_species.mean()):.3f}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    src = det.settings.get("occurrence_prob", "")
    ax.text(0.98, 0.02, f"probabilities: {src.split(':')[0]}", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=7, color="0.3")
    return fig


def plot_beta(details):
    """Observed vs predicted βSOR (Sørensen dissimilarity) for the evaluation's site pairs.

    One point per pair: observed βSOR against the posterior mean over draws,
    with the central 90 % interval of the draws as a vertical segment, and the
    1:1 line. The mean is plotted as it is (not clipped, not replaced by the
    median): with skewed draws it can lie outside its 90 % interval, and the
    segment still shows the interval (see :func:`_points_with_intervals`).
    RMSE and the share inside use the pairs with a finite observed βSOR.

    Parameters
    ----------
    details : EvaluationDetails or evaluation table

    Returns
    -------
    matplotlib.figure.Figure
    """
    from jsdm_hot.metrics.posterior_summary import central_interval

    det = as_details(details)
    obs = det.beta_obs["sor"]
    draws = det.beta_draws["sor"]
    fig = _figure((5.6, 5.2))
    ax = fig.subplots()
    if obs.size:
        mean = draws.mean(axis=0)
        lo, hi = central_interval(draws, 0.9)
        _points_with_intervals(ax, obs, mean, lo, hi, "tab:purple", "site pair")
        ax.set_title(f"Community turnover, {obs.size} random site pairs\nRMSE {_rmse(mean, obs):.3f}, "
                     f"{100 * _share_inside(obs, lo, hi):.0f} % of pairs inside their 90 % interval", fontsize=10)
    else:
        ax.set_title("Community turnover: fewer than 2 sites, no pairs", fontsize=10)
    ax.plot([0, 1], [0, 1], color="0.4", lw=1, ls="--", label="1:1")
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_aspect("equal")
    ax.set_xlabel("observed βSOR (Sørensen dissimilarity, 0 = same species)")
    ax.set_ylabel("predicted βSOR (posterior mean over draws)")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_report(table, *, max_sites: int = 500, seed: int = 0) -> dict[str, Any]:
    """All report figures.

    Parameters
    ----------
    table : pandas.DataFrame or EvaluationDetails
        The result of :func:`jsdm_hot.evaluation.evaluate`.
    max_sites : int, default=500
        Sites drawn as points in the richness scatter.
    seed : int, default=0
        Seeds that subset and its jitter.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``richness``, ``auc_prevalence``, ``calibration``, ``beta``.
    """
    det = as_details(table)
    return {
        "richness": plot_richness(det, max_sites=max_sites, seed=seed),
        "auc_prevalence": plot_auc_prevalence(det),
        "calibration": plot_calibration(det),
        "beta": plot_beta(det),
    }
