"""Phylogenetic label priors: Newick trees, name reconciliation, distances, label graphs.

The decoder's label→label attention (HOT-VAE Eq 12-13) can be restricted to
species pairs that are related on a phylogeny, or softly biased towards close
relatives. This package turns a Newick tree into those priors:

1. :func:`read_tree` reads a Newick file or string with ete3 (with or without
   branch lengths, quoted labels, internal node names, ``[...]`` comments) into a
   :class:`Phylogeny`. Malformed text, an empty tree, unnamed or duplicate tips
   raise :class:`~jsdm_hot.errors.TreeError` naming the file and the problem.
2. :func:`reconcile` matches the species of the data to the tips through
   :func:`normalize_name` (underscores/spaces, case, trailing author strings,
   ``birds(...)``-style wrappers, OpenTree ``_ott123`` suffixes) and an optional
   synonym table (:func:`read_synonyms`, :func:`synonyms_from_ebird_taxonomy`).
   It returns a :class:`ReconciliationReport` (matched, matched through a
   synonym, unmatched species, unused tips). Unmatched species are never dropped
   silently: ``unmatched="error"`` (default) raises with the list and spelling
   suggestions, ``"drop"`` keeps only the matched species, ``"connect"`` keeps
   them all and leaves the unmatched ones fully connected in phylogenetic graphs.
3. :func:`phylo_distances` computes patristic (branch-length) and topological
   (edge-count) distance matrices of the tree pruned to the matched tips, in
   vectorised numpy/scipy (no O(L²) loop of ete3 ``get_distance`` calls).
   :func:`prune_tree` gives the pruned ete3 tree itself.
4. :func:`phylo_graph` (hard mask), :func:`phylo_bias` (soft additive attention
   bias, beyond the paper) and the dispatcher :func:`build_label_graph`
   (``complete``, ``prior``, ``phylo``, ``phylo+prior``, ``phylo&prior``) return
   :class:`~jsdm_hot.graph.LabelGraph` objects.

ete3 is an optional dependency (extra ``phylo``) and is imported inside the
functions that need it.

Modules: :mod:`~jsdm_hot.phylo.newick` (reading, pruning),
:mod:`~jsdm_hot.phylo.names` (normalisation, synonyms),
:mod:`~jsdm_hot.phylo.reconcile`, :mod:`~jsdm_hot.phylo.distances` (and the
distance algorithm), :mod:`~jsdm_hot.phylo.graphs` (graphs, bias, the kind
dispatch). Every name below is importable from ``jsdm_hot.phylo``.
"""

from jsdm_hot.phylo.distances import PhyloDistances, phylo_distances
from jsdm_hot.phylo.graphs import DEFAULT_PHYLO_K, GRAPH_KINDS, build_label_graph, phylo_bias, phylo_graph
from jsdm_hot.phylo.names import normalize_name, read_synonyms, synonyms_from_ebird_taxonomy
from jsdm_hot.phylo.newick import Phylogeny, prune_tree, read_tree
from jsdm_hot.phylo.reconcile import UNMATCHED_POLICIES, ReconciliationReport, reconcile

__all__ = [
    "GRAPH_KINDS",
    "UNMATCHED_POLICIES",
    "DEFAULT_PHYLO_K",
    "Phylogeny",
    "ReconciliationReport",
    "PhyloDistances",
    "read_tree",
    "normalize_name",
    "read_synonyms",
    "synonyms_from_ebird_taxonomy",
    "reconcile",
    "prune_tree",
    "phylo_distances",
    "phylo_graph",
    "phylo_bias",
    "build_label_graph",
]
