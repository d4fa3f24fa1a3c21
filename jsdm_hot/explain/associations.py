"""Species associations: strongest pairs, ordering by tree or clustering, heatmap.

Input is a species × species matrix as a DataFrame with the species names on
both axes: a model's residual correlation (``model.residual_correlation_``
where it exists) or, for any joint model, :func:`draw_associations`, the
association its joint posterior draws imply once the environment is accounted
for. The heatmap uses a colour-blind-safe diverging map (ColorBrewer ``RdBu``,
reversed: red positive, blue negative, symmetric around 0) and is ordered by
the phylogeny when a tree is given (ete3 leaf order through
:mod:`jsdm_hot.phylo`), else by average-linkage clustering of ``1 − r``
(scipy, optimal leaf ordering). The strongest pairs are outlined.

:func:`write_residual_associations` writes a fitted model's residual correlation
(models with :attr:`~jsdm_hot.estimators.base.JsdmEstimator.has_residual_association`)
as CSV tables and a heatmap ordered by the tree the model was fitted with
(:func:`fitted_tree`) when it records one; ``jsdm-hot evaluate --report`` uses it.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain.labels import display

__all__ = ["draw_associations", "check_matrix", "strongest_pairs", "association_order", "plot_associations",
           "fitted_tree", "write_residual_associations", "DIVERGING_CMAP"]

logger = logging.getLogger(__name__)

#: Colour-blind-safe diverging colour map (ColorBrewer RdBu, reversed).
DIVERGING_CMAP = "RdBu_r"


def draw_associations(draws: np.ndarray, species: Sequence[str], chunk: int = 256) -> pd.DataFrame:
    """Association implied by joint draws: the within-site correlation between species across draws.

    For each site the draws' covariance between species is taken across draws
    (the environment is fixed within a site, so what remains is the dependence
    the model adds on top of it); covariances are averaged over sites and scaled
    to a correlation. Independent models (BR-logistic) give about 0 off the
    diagonal; species never drawn get 0. Because sites are drawn independently,
    the spread of the per-site covariances gives each value a Monte Carlo
    standard error (``attrs["se"]``, same scale); values within a few standard
    errors of 0 are noise.

    Parameters
    ----------
    draws : ndarray of shape (n_draws, n_sites, n_species), 0/1
    species : sequence of str of length n_species
    chunk : int, default=256
        Sites per step (memory ``chunk × n_species²``).

    Returns
    -------
    pandas.DataFrame of shape (n_species, n_species)
        ``attrs["se"]``: ndarray of shape (n_species, n_species), standard errors.
    """
    d = np.asarray(draws)
    if d.ndim != 3 or d.shape[2] != len(species):
        raise InputDataError(f"draws must have shape (n_draws, n_sites, {len(species)}), got {d.shape}")
    S, n, L = d.shape
    if S < 2 or n < 2:
        raise InputDataError(f"draw_associations needs at least 2 draws and 2 sites, got {S} and {n}")
    total, total_sq = np.zeros((L, L)), np.zeros((L, L))
    for start in range(0, n, chunk):
        c = d[:, start:start + chunk].astype(np.float64)
        c -= c.mean(0, keepdims=True)
        ci = np.einsum("sia,sib->iab", c, c) / (S - 1)
        total += ci.sum(0)
        total_sq += (ci ** 2).sum(0)
    cov = total / n
    se_cov = np.sqrt(np.clip(total_sq / n - cov ** 2, 0.0, None) / (n - 1))
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.outer(sd, sd)
        r, se = cov / scale, se_cov / scale
    r, se = np.where(np.isfinite(r), r, 0.0), np.where(np.isfinite(se), se, 0.0)
    np.fill_diagonal(r, 1.0)
    np.fill_diagonal(se, 0.0)
    names = [str(s) for s in species]
    out = pd.DataFrame(r, index=names, columns=names)
    out.attrs["se"] = se
    return out


def check_matrix(matrix: Any) -> pd.DataFrame:
    """A square, symmetric, finite species × species DataFrame with the same names on both axes."""
    if not isinstance(matrix, pd.DataFrame):
        raise InputDataError(f"associations need a pandas DataFrame with species names on both axes, "
                             f"got {type(matrix).__name__}")
    m = matrix.astype(np.float64)
    if m.shape[0] != m.shape[1] or list(map(str, m.index)) != list(map(str, m.columns)):
        raise InputDataError(f"association matrix must be square with the same species on rows and columns; got "
                             f"{m.shape} with rows {list(m.index)[:3]}... and columns {list(m.columns)[:3]}...")
    a = m.to_numpy()
    if not np.isfinite(a).all():
        raise InputDataError("association matrix has missing or infinite values")
    if not np.allclose(a, a.T, atol=1e-8):
        raise InputDataError("association matrix is not symmetric")
    m.index = m.columns = [str(c) for c in m.columns]
    return m


def strongest_pairs(matrix: pd.DataFrame, n: int = 10, labels: Mapping[str, str] | None = None,
                    min_abs: float | np.ndarray = 0.0) -> pd.DataFrame:
    """The ``n`` strongest positive and ``n`` strongest negative species pairs.

    Parameters
    ----------
    matrix : DataFrame of shape (n_species, n_species)
    n : int, default=10
    labels : mapping, optional
        Species name → display label.
    min_abs : float or ndarray of shape (n_species, n_species), default=0
        Leave out pairs with ``|value| <= min_abs`` (per pair when an array,
        e.g. 4 × the standard errors of :func:`draw_associations`).

    Returns
    -------
    pandas.DataFrame
        Columns ``species_a, species_b, label_a, label_b, value, direction``
        (``positive`` / ``negative``) ``, rank`` (1 = strongest within its
        direction); positive pairs first.
    """
    m = check_matrix(matrix)
    names = list(m.columns)
    iu, ju = np.triu_indices(len(names), k=1)
    vals = m.to_numpy()[iu, ju]
    thr = np.broadcast_to(np.asarray(min_abs, np.float64), m.shape)[iu, ju]
    recs = []
    for direction, order in (("positive", np.argsort(-vals, kind="stable")), ("negative", np.argsort(vals, kind="stable"))):
        keep = [k for k in order if (vals[k] > thr[k] if direction == "positive" else vals[k] < -thr[k])][: int(n)]
        for rank, k in enumerate(keep, 1):
            a, b = names[iu[k]], names[ju[k]]
            recs.append((a, b, display(a, labels), display(b, labels), float(vals[k]), direction, rank))
    return pd.DataFrame(recs, columns=["species_a", "species_b", "label_a", "label_b", "value", "direction", "rank"])


def association_order(matrix: pd.DataFrame, tree: Any = None) -> tuple[list[str], str]:
    """Order of the species for display.

    Parameters
    ----------
    matrix : DataFrame of shape (n_species, n_species)
    tree : path, Newick string or jsdm_hot.phylo.Phylogeny, optional
        Species are matched to tips with :func:`jsdm_hot.phylo.reconcile`
        (unmatched ones kept) and put in the tree's leaf order; species not in
        the tree follow, clustered.

    Returns
    -------
    order : list of str
    how : str
        ``"tree"`` or ``"clustering"`` (average linkage on ``1 − r``).
    """
    m = check_matrix(matrix)
    names = list(m.columns)
    if tree is None:
        return _cluster_order(m), "clustering"
    from jsdm_hot.phylo import read_tree, reconcile

    phy = read_tree(tree)
    report = reconcile(names, phy, unmatched="connect")
    by_tip: dict[str, list[str]] = {}
    for s, t in report.tips.items():
        by_tip.setdefault(t, []).append(s)
    order = [s for t in phy.tip_names for s in by_tip.get(t, [])]
    rest = [s for s in names if s not in set(order)]
    if len(rest) > 1:
        rest = _cluster_order(m.loc[rest, rest])
    return order + rest, "tree"


def _cluster_order(m: pd.DataFrame) -> list[str]:
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    names = list(m.columns)
    if len(names) < 3:
        return names
    dist = np.clip(1.0 - m.to_numpy(), 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    z = linkage(squareform((dist + dist.T) / 2, checks=False), method="average", optimal_ordering=True)
    return [names[i] for i in leaves_list(z)]


def plot_associations(
    matrix: pd.DataFrame,
    *,
    tree: Any = None,
    labels: Mapping[str, str] | None = None,
    n_mark: int = 5,
    min_abs: float | np.ndarray = 0.0,
    title: str = "Species associations",
    value_label: str = "association (correlation)",
):
    """Heatmap of the associations, ordered by tree or clustering, strongest pairs outlined.

    Parameters
    ----------
    matrix : DataFrame of shape (n_species, n_species)
    tree : optional
        As :func:`association_order`.
    labels : mapping, optional
        Species name → display label for the axes.
    n_mark : int, default=5
        Outline the ``n_mark`` strongest positive and negative pairs.
    min_abs : float or ndarray, default=0
        Pairs with ``|value| <= min_abs`` are noise: drawn grey, never outlined
        (see :func:`strongest_pairs`).
    title, value_label : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    m = check_matrix(matrix)
    order, how = association_order(m, tree)
    idx = [list(m.columns).index(s) for s in order]
    a = m.loc[order, order].to_numpy().copy()
    thr = np.broadcast_to(np.asarray(min_abs, np.float64), m.shape)[np.ix_(idx, idx)]
    noise = (np.abs(a) <= thr) & ~np.eye(len(order), dtype=bool)
    a[noise] = np.nan
    np.fill_diagonal(a, np.nan)
    cmap = matplotlib.colormaps[DIVERGING_CMAP].with_extremes(bad="0.85")
    vmax = float(np.nanmax(np.abs(a))) if np.isfinite(a).any() else 1.0
    L = len(order)
    size = min(14.0, 3.0 + 0.28 * L)
    fig = Figure(figsize=(size + 1.8, size), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(a, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    ticks = [display(s, labels) for s in order]
    fs = max(5.0, min(9.0, 260.0 / max(L, 1)))
    ax.set_xticks(range(L), ticks, rotation=90, fontsize=fs)
    ax.set_yticks(range(L), ticks, fontsize=fs)
    pos = {s: i for i, s in enumerate(order)}
    pairs = strongest_pairs(m, n_mark, min_abs=min_abs)
    for r in pairs.itertuples(index=False):
        i, j = pos[r.species_a], pos[r.species_b]
        for (y, x) in ((i, j), (j, i)):
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, lw=1.6, ec="black"))
    fig.colorbar(im, ax=ax, shrink=0.7, label=value_label)
    grey = "; grey: diagonal" + (f" and {int(noise.sum()) // 2} pairs within noise"
                                 if np.any(thr > 0) else "")
    ax.set_title(f"{title}\nordered by {'the phylogeny' if how == 'tree' else 'clustering'}; black boxes: strongest "
                 f"pairs (at most {n_mark} per sign){grey}", fontsize=10)
    return fig


def fitted_tree(model: Any) -> Any | None:
    """The phylogeny a model was fitted with, when it records one, else None.

    Looked up in order: the model's ``tree`` parameter (a path, Newick text or
    Phylogeny; saved models keep the path or the Newick text), then the source
    file of the tree reconciliation in ``model.label_graph_.info["tree"]``. A
    recorded path that no longer exists is skipped (logged).

    Returns
    -------
    str, Path, Phylogeny or None
        Anything :func:`jsdm_hot.phylo.read_tree` reads.
    """
    info = dict(getattr(getattr(model, "label_graph_", None), "info", None) or {})
    candidates = [getattr(model, "tree", None), (info.get("tree") or {}).get("source")]
    for tree in candidates:
        if tree is None:
            continue
        text = str(tree) if isinstance(tree, (str, Path)) else None
        if text is None or text.lstrip().startswith("(") or Path(text).is_file():
            return tree
        logger.info("the tree the model was fitted with (%s) is no longer there; ordering by clustering", text)
    return None


def write_residual_associations(
    model: Any,
    out_dir: str | Path,
    *,
    tree: Any = None,
    labels: Mapping[str, str] | None = None,
    n_pairs: int = 10,
    n_mark: int = 5,
    dpi: int = 110,
) -> dict[str, Path]:
    """Write a model's residual correlation: the matrix, its strongest pairs and a heatmap.

    Files (each written atomically): ``residual_correlation.csv`` (species ×
    species, rows and columns in the heatmap's order), ``residual_pairs.csv``
    (the ``n_pairs`` strongest positive and negative pairs, :func:`strongest_pairs`)
    and ``residual_correlation.png`` (:func:`plot_associations`, ordered by the
    tree, else by clustering; the ``n_mark`` strongest pairs of each sign outlined).

    Parameters
    ----------
    model : fitted estimator
        With :attr:`~jsdm_hot.estimators.base.JsdmEstimator.has_residual_association`
        (its ``residual_correlation_``, a DataFrame of shape (n_species, n_species)).
    out_dir : path-like
        Folder (created).
    tree : optional
        Orders the heatmap; default :func:`fitted_tree`.
    labels : mapping, optional
        Species name → display label.
    n_pairs, n_mark : int
    dpi : int

    Returns
    -------
    dict of str to pathlib.Path
        ``residual_correlation_csv``, ``residual_pairs_csv``, ``residual_correlation_png``.

    Raises
    ------
    InputDataError
        The model has no residual association.
    """
    from jsdm_hot.io import atomic_write_bytes, atomic_write_text

    if not getattr(model, "has_residual_association", False):
        raise InputDataError(f"{type(model).__name__} has no residual association between species (fit HotVAE with "
                             "residual_factors > 0)")
    corr = check_matrix(model.residual_correlation_)
    tree = fitted_tree(model) if tree is None else tree
    order, how = association_order(corr, tree)
    out = Path(out_dir)
    paths = {"residual_correlation_csv": out / "residual_correlation.csv",
             "residual_pairs_csv": out / "residual_pairs.csv",
             "residual_correlation_png": out / "residual_correlation.png"}
    atomic_write_text(paths["residual_correlation_csv"], corr.loc[order, order].rename_axis("species").to_csv())
    atomic_write_text(paths["residual_pairs_csv"], strongest_pairs(corr, n_pairs, labels).to_csv(index=False))
    fig = plot_associations(corr, tree=tree, labels=labels, n_mark=n_mark,
                            title=f"Residual correlation of {type(model).__name__} (logit scale)",
                            value_label="residual correlation")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    atomic_write_bytes(paths["residual_correlation_png"], buf.getvalue())
    logger.info("wrote the residual correlation (%d species, ordered by %s) to %s", len(order), how, out)
    return paths
