"""Figures of response curves, richness surfaces, importances and variance partitions.

Built as :class:`matplotlib.figure.Figure` objects without pyplot (nothing
global is touched; Jupyter shows a returned figure). Colours are colour-blind
safe: the Okabe–Ito palette for lines and bars, ``viridis`` for sequential maps.
Axis labels come from ``covariate_labels`` (covariate → label with units, see
:func:`jsdm_hot.explain.labels.covariate_labels`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain.labels import display

__all__ = ["OKABE_ITO", "plot_response", "plot_surface", "plot_importance", "plot_importance_matrix",
           "plot_variance_partition"]

#: Okabe & Ito (2008) colour-blind-safe qualitative palette (black last).
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000")
SEQUENTIAL_CMAP = "viridis"


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _rug(ax, table: pd.DataFrame, covariate: str) -> None:
    obs = table.attrs.get("observed", {}).get(covariate)
    if obs:
        ax.plot(obs, np.zeros(len(obs)), "|", color="0.35", ms=8, transform=ax.get_xaxis_transform(),
                label="observed 5 % quantiles")


def plot_response(
    table: pd.DataFrame,
    covariate: str,
    *,
    species: Sequence[str] | None = None,
    max_species: int = 6,
    covariate_labels: Mapping[str, str] | None = None,
):
    """Response to one covariate: species occurrence, expected richness, community turnover.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`jsdm_hot.explain.response_curves`.
    covariate : str
    species : sequence of str, optional
        Species (``name`` column) to draw; default the ``max_species`` whose
        probability changes most along the covariate.
    max_species : int, default=6
    covariate_labels : mapping, optional
        Covariate → x-axis label with units.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels; bands are the central ``level`` interval of the joint
        draws (see :mod:`jsdm_hot.explain.response`).
    """
    t = table[table["covariate"] == covariate]
    if t.empty:
        raise InputDataError(f"no response curves for covariate {covariate!r}; the table has "
                             f"{sorted(table['covariate'].unique())}")
    level = table.attrs.get("level", 0.9)
    occ = t[t["quantity"] == "occurrence"]
    if species is None:
        spread = occ.groupby("name")["estimate"].agg(lambda v: v.max() - v.min()).sort_values(ascending=False)
        species = list(spread.index[:max_species])
    xlab = display(covariate, covariate_labels)
    fig = _figure((13.5, 4.2))
    axs = fig.subplots(1, 3)
    for c, sp in enumerate(species):
        s = occ[occ["name"] == sp]
        col = OKABE_ITO[c % len(OKABE_ITO)]
        axs[0].plot(s["value"], s["estimate"], color=col, lw=2, label=s["label"].iloc[0])
        if s["lower"].notna().any():
            axs[0].fill_between(s["value"], s["lower"], s["upper"], color=col, alpha=0.2, lw=0)
    axs[0].set_ylabel("occurrence probability (mean over sites)")
    axs[0].set_ylim(bottom=0)
    axs[0].legend(fontsize=7, loc="best")
    axs[0].set_title("Species", fontsize=10)
    r = t[t["quantity"] == "richness"]
    axs[1].plot(r["value"], r["estimate"], color="black", lw=2, label="expected richness (point prediction)")
    if r["lower"].notna().any():
        axs[1].fill_between(r["value"], r["lower"], r["upper"], color=OKABE_ITO[3], alpha=0.35, lw=0,
                            label=f"{level:.0%} band of joint draws (mean of {table.attrs.get('n_draw_sites', '?')} sites)")
        axs[1].plot(r["value"], r["site_lower"], color=OKABE_ITO[3], ls="--", lw=1,
                    label=f"{level:.0%} interval at one site")
        axs[1].plot(r["value"], r["site_upper"], color=OKABE_ITO[3], ls="--", lw=1)
    axs[1].set_ylabel("species richness (number of species)")
    axs[1].set_ylim(bottom=0)
    axs[1].legend(fontsize=7, loc="best")
    axs[1].set_title("Richness", fontsize=10)
    tv = t[t["quantity"] == "turnover"]
    axs[2].plot(tv["value"], tv["estimate"], color=OKABE_ITO[4], lw=2)
    if tv["lower"].notna().any():
        axs[2].fill_between(tv["value"], tv["lower"], tv["upper"], color=OKABE_ITO[4], alpha=0.2, lw=0)
    ref = table.attrs.get("reference", {}).get(covariate)
    if ref is not None:
        axs[2].axvline(ref, color="0.5", lw=1, ls=":", label=f"reference (median) {ref:.3g}")
        axs[2].legend(fontsize=7, loc="best")
    axs[2].set_ylabel("Bray–Curtis dissimilarity of composition")
    axs[2].set_ylim(0, max(0.05, float(np.nanmax(tv[["estimate", "upper"]].to_numpy())) * 1.1))
    axs[2].set_title("Community turnover from the reference value", fontsize=10)
    for ax in axs:
        ax.set_xlabel(xlab)
        _rug(ax, table, covariate)
    fig.suptitle(f"Partial dependence on {xlab} (other covariates at observed values, averaged over "
                 f"{table.attrs.get('n_sites', '?')} sites)", fontsize=11)
    return fig


def plot_surface(surface: pd.DataFrame, *, covariate_labels: Mapping[str, str] | None = None):
    """Filled contours of expected richness over two covariates; observed sites as points.

    Parameters
    ----------
    surface : pandas.DataFrame
        From :func:`jsdm_hot.explain.richness_surface`.
    covariate_labels : mapping, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    gx, gy = np.unique(surface["x_value"]), np.unique(surface["y_value"])
    z = surface.set_index(["x_value", "y_value"])["richness"].unstack().loc[gx, gy].to_numpy().T
    fig = _figure((6.4, 5.2))
    ax = fig.subplots()
    cs = ax.contourf(gx, gy, z, levels=12, cmap=SEQUENTIAL_CMAP)
    obs = np.asarray(surface.attrs.get("observed", []), dtype=float)
    if obs.size:
        ax.scatter(obs[:, 0], obs[:, 1], s=5, c="white", edgecolors="black", linewidths=0.3, alpha=0.7,
                   label="sites averaged over")
        ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(cs, ax=ax, label="expected species richness")
    x, y = surface.attrs.get("x", "x"), surface.attrs.get("y", "y")
    ax.set_xlabel(display(x, covariate_labels))
    ax.set_ylabel(display(y, covariate_labels))
    ax.set_title("Expected richness (two-way partial dependence)\ntrust it only where sites are", fontsize=10)
    return fig


def plot_importance(
    importance: pd.DataFrame,
    *,
    species: str = "community",
    metric: str = "auc",
    top: int = 15,
    covariate_labels: Mapping[str, str] | None = None,
):
    """Bar chart of permutation importance (mean ± sd over repeats), environment and effort apart.

    Parameters
    ----------
    importance : pandas.DataFrame
        From :func:`jsdm_hot.explain.permutation_importance`.
    species : str, default="community"
        ``species`` value (a species name or ``"community"``).
    metric : {"auc", "log_likelihood", "richness_rmse"}, default="auc"
    top : int, default=15
        Covariate groups shown per kind.
    covariate_labels : mapping, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = importance[(importance["species"] == species) & (importance["metric"] == metric)]
    if t.empty:
        raise InputDataError(f"no importance rows for species {species!r} and metric {metric!r}")
    kinds = [k for k in ("environment", "effort") if (t["kind"] == k).any()]
    sizes = [min(top, int((t["kind"] == k).sum())) for k in kinds]
    fig = _figure((7.5, 1.3 + 0.28 * sum(sizes) + 0.5 * len(kinds)))
    axs = fig.subplots(len(kinds), 1, squeeze=False, height_ratios=[max(s, 1) for s in sizes])[:, 0]
    unit = {"auc": "drop in AUC", "log_likelihood": "drop in log-likelihood per site",
            "richness_rmse": "increase in richness RMSE (species)"}[metric]
    for ax, kind, n, col in zip(axs, kinds, sizes, (OKABE_ITO[3], OKABE_ITO[0])):
        s = t[t["kind"] == kind].sort_values("importance", ascending=False).head(n)[::-1]
        names = [display(c, covariate_labels) if "," not in m else f"{c} ({m})"
                 for c, m in zip(s["covariate"], s["members"])]
        ax.barh(range(len(s)), s["importance"], xerr=s["importance_sd"], color=col, ecolor="0.2", capsize=2)
        ax.set_yticks(range(len(s)), names, fontsize=8)
        ax.axvline(0, color="0.4", lw=0.8)
        ax.set_title(f"{kind} covariates", fontsize=9, loc="left")
        ax.set_xlabel(f"{unit} when shuffled (mean ± sd, {int(s['n_repeats'].iloc[0])} repeats)", fontsize=8)
    who = "community" if species == "community" else t["label"].iloc[0]
    fig.suptitle(f"Permutation importance on held-out sites: {who}", fontsize=10)
    return fig


def plot_importance_matrix(
    importance: pd.DataFrame,
    *,
    metric: str = "auc",
    covariate_labels: Mapping[str, str] | None = None,
    max_species: int = 40,
):
    """Heatmap species × covariate group of permutation importance (which covariates drive each species).

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = importance[(importance["metric"] == metric) & (importance["species"] != "community")]
    if t.empty:
        raise InputDataError(f"no per-species importance rows for metric {metric!r}")
    wide = t.pivot_table(index="label", columns="covariate", values="importance", aggfunc="first")
    kinds = t.drop_duplicates("covariate").set_index("covariate")["kind"]
    mean = t.groupby("covariate")["importance"].mean()
    order_c = [c for k in ("environment", "effort") for c in mean[kinds[mean.index] == k].sort_values(ascending=False).index]
    order_s = wide.max(axis=1).sort_values(ascending=False).index[:max_species]
    wide = wide.loc[order_s, order_c]
    n_env = int((kinds[order_c] == "environment").sum())
    fig = _figure((max(5.5, 2.5 + 0.35 * wide.shape[1]), 1.8 + 0.24 * wide.shape[0]))  # wide enough for the title
    ax = fig.subplots()
    im = ax.imshow(np.clip(wide.to_numpy(), 0, None), cmap=SEQUENTIAL_CMAP, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(wide.shape[1]), [display(c, covariate_labels) + (" [effort]" if kinds[c] == "effort" else "")
                                         for c in wide.columns], rotation=90, fontsize=7)
    ax.set_yticks(range(wide.shape[0]), wide.index, fontsize=7)
    if 0 < n_env < wide.shape[1]:
        ax.axvline(n_env - 0.5, color="white", lw=3)
    fig.colorbar(im, ax=ax, shrink=0.6, label={"auc": "drop in AUC", "log_likelihood": "drop in log-likelihood"}
                 .get(metric, metric) + " (negative shown as 0)")
    title = "Which covariates drive each species\n(permutation importance on held-out sites)"
    if 0 < n_env < wide.shape[1]:
        title += "\nenvironment left, effort right of the white line"
    ax.set_title(title, fontsize=10)
    return fig


def plot_variance_partition(partition: pd.DataFrame):
    """Stacked bars of the variance shares per species (environment / associations / space).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputDataError
        When the partition is unavailable (its ``attrs["reason"]`` is given).
    """
    if not partition.attrs.get("available", not partition.empty):
        raise InputDataError(partition.attrs.get("reason", "variance partition unavailable"))
    p = partition.sort_values("share_environment")
    fig = _figure((7.0, 1.5 + 0.22 * len(p)))
    ax = fig.subplots()
    left = np.zeros(len(p))
    for col, name, c in (("share_environment", "environment", OKABE_ITO[2]),
                         ("share_associations", "associations", OKABE_ITO[5]), ("share_space", "space", OKABE_ITO[1])):
        v = np.nan_to_num(p[col].to_numpy(dtype=float))
        if v.any():
            ax.barh(range(len(p)), v, left=left, color=c, label=name)
            left += v
    ax.set_yticks(range(len(p)), p["label"], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of explained latent variance")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Variance partitioning ({partition.attrs.get('source')}, {partition.attrs.get('link')} link)",
                 fontsize=10)
    return fig
