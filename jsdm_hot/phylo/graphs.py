"""Label graphs from a phylogeny, and the one dispatch of graph kinds: :func:`build_label_graph`.

:func:`phylo_graph` (hard mask: connect close relatives), :func:`phylo_bias`
(soft additive attention bias, beyond the paper) and the dispatcher
:func:`build_label_graph` (``complete``, ``prior``, ``phylo``,
``phylo+prior``, ``phylo&prior``) return :class:`~jsdm_hot.graph.LabelGraph`
objects. The kinds are dispatched here only (the estimators call it; the
graph module below knows nothing of trees).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.graph import LabelGraph
from jsdm_hot.phylo.distances import PhyloDistances, phylo_distances
from jsdm_hot.phylo.newick import Phylogeny, read_tree
from jsdm_hot.phylo.reconcile import UNMATCHED_POLICIES, ReconciliationReport, reconcile

__all__ = ["GRAPH_KINDS", "DEFAULT_PHYLO_K", "phylo_graph", "phylo_bias", "build_label_graph"]

logger = logging.getLogger(__name__)

#: Label graph kinds understood by :func:`build_label_graph`.
GRAPH_KINDS = ("complete", "prior", "phylo", "phylo+prior", "phylo&prior")
#: Default number of nearest relatives in :func:`phylo_graph`.
DEFAULT_PHYLO_K = 3


def _expand(distances: PhyloDistances, species: Sequence[str] | None) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Positions of the distance rows within ``species`` and a mask of matched species."""
    sp_all = tuple(species) if species is not None else distances.species
    pos = {s: i for i, s in enumerate(sp_all)}
    missing = [s for s in distances.species if s not in pos]
    if missing:
        raise InputDataError(f"species {missing[:5]} of the distance matrix are not in the species list")
    idx = np.asarray([pos[s] for s in distances.species], dtype=np.int64)
    has = np.zeros(len(sp_all), dtype=bool)
    has[idx] = True
    return sp_all, idx, has


def phylo_graph(
    distances: PhyloDistances,
    species: Sequence[str] | None = None,
    *,
    k: int | None = None,
    quantile: float | None = None,
    clade_depth: float | None = None,
    metric: str = "patristic",
) -> LabelGraph:
    """Phylogenetic label graph: connect close relatives.

    Exactly one rule applies (default: ``k=3``):

    * ``k`` — each species is connected to its ``k`` nearest relatives;
      species tied with the k-th nearest are connected too (frequent on
      ultrametric trees, where all members of a sister clade are equally
      far). The graph is symmetrised (edge when either end chose the other).
    * ``quantile`` in (0, 1] — connect pairs whose distance is at most this
      quantile of all off-diagonal distances (``quantile=0.1`` keeps roughly
      the closest 10 % of pairs; the threshold is an observed distance,
      numpy's ``method="lower"``).
    * ``clade_depth`` — connect pairs in the same clade when the pruned tree is
      cut at this distance from its root: the depth of their most recent
      common ancestor is ≥ ``clade_depth`` (branch-length units, e.g. Myr
      after the root of the kept species; edges if the tree has none). Uses
      ``mrca_depth`` and ignores ``metric``.

    Parameters
    ----------
    distances : PhyloDistances
    species : sequence of str, optional
        The data's full species list (a superset of ``distances.species``).
        Species without a tip are connected to every species (the
        ``unmatched="connect"`` policy). Default: ``distances.species``.
    k : int, optional
    quantile : float, optional
    clade_depth : float, optional
    metric : {"patristic", "topological"}, default="patristic"

    Returns
    -------
    LabelGraph
        Kind ``"phylo"``; symmetric mask of shape (n_species, n_species) with
        self-loops; ``info`` records the rule and counts.
    """
    given = [name for name, v in (("k", k), ("quantile", quantile), ("clade_depth", clade_depth)) if v is not None]
    if len(given) > 1:
        raise InputDataError(f"give only one of k, quantile, clade_depth to phylo_graph (got {given})")
    if not given:
        k = DEFAULT_PHYLO_K
    sp_all, idx, has = _expand(distances, species)
    n = len(distances.species)
    D = distances.matrix(metric)
    tol = 1e-9 * max(float(D.max()), 1.0)
    if clade_depth is not None:
        if not np.isfinite(clade_depth):
            raise InputDataError(f"clade_depth must be finite, got {clade_depth}")
        sub = distances.mrca_depth >= clade_depth - tol
        rule: dict[str, Any] = {"rule": "clade_depth", "clade_depth": float(clade_depth)}
    elif quantile is not None:
        if not 0.0 < quantile <= 1.0:
            raise InputDataError(f"phylo quantile must be in (0, 1], got {quantile}")
        off = D[~np.eye(n, dtype=bool)]
        thr = float(np.quantile(off, quantile, method="lower")) if off.size else 0.0
        sub = D <= thr + tol
        rule = {"rule": "quantile", "quantile": float(quantile), "threshold": thr, "metric": metric}
    else:
        if int(k) != k or k < 1:
            raise InputDataError(f"phylo k (number of nearest relatives) must be a positive integer, got {k}")
        k = int(k)
        if n - 1 <= k:
            sub = np.ones((n, n), dtype=bool)
        else:
            Dm = D.copy()
            np.fill_diagonal(Dm, np.inf)
            kth = np.partition(Dm, k - 1, axis=1)[:, k - 1]
            sub = Dm <= kth[:, None] + tol
            sub |= sub.T
        rule = {"rule": "k", "k": k, "metric": metric}
    L = len(sp_all)
    mask = np.ones((L, L), dtype=bool)
    mask[np.ix_(idx, idx)] = sub
    off_n = int((sub.sum() - np.trace(sub)) // 2) if sub.shape[0] else 0
    info = {**rule, "n_edges_phylo": off_n, "n_matched": n,
            "n_connected_unmatched": int((~has).sum()),
            "connected_unmatched": [s for s, h in zip(sp_all, has) if not h]}
    g = LabelGraph(mask, sp_all, "phylo", info=info)
    info["n_edges"] = int((g.mask.sum() - L) // 2)
    return g


def phylo_bias(
    distances: PhyloDistances,
    species: Sequence[str] | None = None,
    *,
    scale: float | None = None,
    metric: str = "patristic",
) -> np.ndarray:
    """Soft phylogenetic prior: an additive attention bias (beyond the paper).

    ``bias[i, j] = -d_ij / scale``, added to the label→label attention logits
    before the softmax, multiplies the unnormalised attention of species i on
    species j by ``exp(-d_ij / scale)``: close relatives are favoured, distant
    ones damped but not cut off (the hard graphs of :func:`phylo_graph` cut
    them). The diagonal is 0.

    Parameters
    ----------
    distances : PhyloDistances
    species : sequence of str, optional
        Full species list; species without a tip get the bias of a pair at
        distance ``scale`` (−1) to and from every other species: neither
        favoured nor damped relative to a typical pair.
    scale : float, optional
        Distance at which attention is damped by e. Default: the median of
        the off-diagonal distances (bias ≈ −1 for a typical pair).
    metric : {"patristic", "topological"}, default="patristic"

    Returns
    -------
    ndarray of shape (n_species, n_species), float32
    """
    sp_all, idx, _ = _expand(distances, species)
    D = distances.matrix(metric)
    n = D.shape[0]
    if scale is None:
        off = D[~np.eye(n, dtype=bool)]
        scale = float(np.median(off)) if off.size else 1.0
        if scale <= 0:
            scale = float(off.max()) if off.size and off.max() > 0 else 1.0
    if not np.isfinite(scale) or scale <= 0:
        raise InputDataError(f"phylogenetic bias scale must be a positive number, got {scale}")
    L = len(sp_all)
    bias = np.full((L, L), -1.0)
    bias[np.ix_(idx, idx)] = -D / scale
    np.fill_diagonal(bias, 0.0)
    return bias.astype(np.float32)


def build_label_graph(
    kind: str,
    Y: np.ndarray | None,
    species: Sequence[str],
    *,
    tree: str | Path | Phylogeny | None = None,
    synonyms: Mapping[str, str] | str | Path | None = None,
    unmatched: str = "error",
    phylo_k: int | None = DEFAULT_PHYLO_K,
    phylo_quantile: float | None = None,
    phylo_clade_depth: float | None = None,
    phylo_metric: str = "patristic",
    phylo_bias_scale: float | str | None = None,
) -> tuple[LabelGraph, ReconciliationReport | None]:
    """Build the decoder's label graph by name (what ``jsdm-hot fit --graph`` calls).

    Parameters
    ----------
    kind : {"complete", "prior", "phylo", "phylo+prior", "phylo&prior"}
        ``complete``: all pairs; ``prior``: co-occurrence in ``Y`` (paper);
        ``phylo``: :func:`phylo_graph`; ``phylo+prior``: union of the two
        (an edge when related *or* co-occurring); ``phylo&prior``:
        intersection (related *and* co-occurring).
    Y : ndarray of shape (n_sites, n_species) or None
        Training occurrences, columns in ``species`` order; needed by the
        ``prior`` kinds only.
    species : sequence of str of length n_species
    tree : str or Path or Phylogeny, optional
        Needed by the ``phylo`` kinds and by ``phylo_bias_scale``; otherwise
        ignored (with a log message).
    synonyms : mapping or str or Path, optional
        Synonym table for :func:`reconcile`.
    unmatched : {"error", "drop", "connect"}, default="error"
        Species without a tip: ``error`` raises :class:`TreeError` listing
        them; ``connect`` keeps every species, the unmatched ones connected
        to all species in the phylogenetic graph; ``drop`` returns a graph
        over the matched species only — **the caller must then drop the other
        species from its data**, e.g.
        ``data = data.select_species(graph.species)``; they are listed in
        ``report.unmatched``.
    phylo_k, phylo_quantile, phylo_clade_depth : optional
        The rule of :func:`phylo_graph`. ``phylo_quantile`` or
        ``phylo_clade_depth``, when given, take precedence over ``phylo_k``
        (default 3 nearest relatives).
    phylo_metric : {"patristic", "topological"}, default="patristic"
    phylo_bias_scale : float or "auto" or None, default=None
        When set, the graph also carries the soft :func:`phylo_bias` (with
        this scale, or the median distance for ``"auto"``), for any kind
        (e.g. ``complete`` + bias is a purely soft phylogenetic prior).

    Returns
    -------
    graph : LabelGraph
        Over ``report.kept_species`` (all ``species`` unless ``drop``), in
        data order; ``graph.kind`` is ``kind``.
    report : ReconciliationReport or None
        None when no tree was used.

    Raises
    ------
    InputDataError
        Unknown kind or policy, a phylo kind without a tree, a prior kind
        without ``Y`` or ``Y`` of the wrong shape.
    TreeError
        Tree problems and unmatched species under ``unmatched="error"``.
    """
    if kind not in GRAPH_KINDS:
        raise InputDataError(f"unknown label graph kind {kind!r}; expected one of {', '.join(GRAPH_KINDS)}")
    if unmatched not in UNMATCHED_POLICIES:
        raise InputDataError(f"tree-unmatched policy {unmatched!r} is not one of {', '.join(UNMATCHED_POLICIES)}")
    species = tuple(str(s) for s in species)
    wants_tree = kind.startswith("phylo") or phylo_bias_scale is not None
    needs_prior = kind in ("prior", "phylo+prior", "phylo&prior")
    if needs_prior:
        if Y is None:
            raise InputDataError(f"label graph kind {kind!r} needs the training occurrences Y")
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != len(species):
            raise InputDataError(f"Y has shape {Y.shape}, expected (n_sites, {len(species)}) for the {len(species)} species")
    kept, report, dist = species, None, None
    if wants_tree:
        if tree is None:
            what = f"label graph kind {kind!r}" if kind.startswith("phylo") else "a phylogenetic attention bias"
            raise InputDataError(f"{what} needs a phylogeny (--tree FILE.nwk)")
        phy = read_tree(tree)
        report = reconcile(species, phy, synonyms=synonyms, unmatched=unmatched)
        kept = report.kept_species
        if needs_prior and len(kept) != len(species):
            pos = {s: i for i, s in enumerate(species)}
            Y = Y[:, [pos[s] for s in kept]]
        dist = phylo_distances(phy, report=report)
    elif tree is not None:
        logger.info("label graph kind %r does not use the tree (no bias requested); tree ignored", kind)
    prior = LabelGraph.prior(Y, kept) if needs_prior else None
    if kind == "complete":
        g = LabelGraph.complete(kept)
    elif kind == "prior":
        g = prior
    else:
        if phylo_clade_depth is not None:
            rule: dict[str, Any] = {"clade_depth": phylo_clade_depth}
        elif phylo_quantile is not None:
            rule = {"quantile": phylo_quantile}
        else:
            rule = {"k": phylo_k if phylo_k is not None else DEFAULT_PHYLO_K}
        g = phylo_graph(dist, kept, metric=phylo_metric, **rule)
        if prior is not None:
            comb = g.union(prior) if kind == "phylo+prior" else g.intersection(prior)
            g = LabelGraph(comb.mask, kept, kind, None, {**comb.info, "n_edges": int((comb.mask.sum() - len(kept)) // 2)})
    if report is None:
        return g, None
    info = dict(g.info)
    info["tree"] = report.to_dict()
    bias = None
    if phylo_bias_scale is not None:
        scale = None if phylo_bias_scale == "auto" else float(phylo_bias_scale)
        bias = phylo_bias(dist, kept, scale=scale, metric=phylo_metric)
        info["bias"] = {"kind": "phylo", "metric": phylo_metric, "scale": "auto(median)" if scale is None else scale}
    return LabelGraph(g.mask, kept, kind, bias, info), report
