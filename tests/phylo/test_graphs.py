"""Tests of jsdm_hot.phylo.graphs: phylo_graph, phylo_bias and the one graph-kind dispatch build_label_graph."""

from __future__ import annotations

import json

import numpy as np
import pytest

ete3 = pytest.importorskip("ete3")

from jsdm_hot import phylo  # noqa: E402
from jsdm_hot.errors import InputDataError, TreeError  # noqa: E402
from jsdm_hot.graph import LabelGraph  # noqa: E402

from .trees import SMALL, small_dist  # noqa: E402


def test_phylo_graph_k_nearest_symmetrised():
    d = small_dist()
    g = phylo.phylo_graph(d, k=1)
    assert g.kind == "phylo" and g.species == ("A", "B", "C", "D")
    # nearest: A->B (3), B->A (3), C->D (9), D->C (9)
    expected = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(g.mask, expected)
    g2 = phylo.phylo_graph(d, k=2)
    # 2nd nearest: A->C (14), B->C (15), C->A (14), D->A (15); symmetrised
    expected2 = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(g2.mask, expected2)
    assert g2.info["rule"] == "k" and g2.info["n_edges"] == 5


def test_phylo_graph_k_includes_ties_and_default_is_3():
    # ultrametric star of a sister pair and 3 equally distant outgroup tips
    d = phylo.phylo_distances(phylo.read_tree("((A:1,B:1):1,C:2,D:2,E:2);"))
    g = phylo.phylo_graph(d, k=2)
    a = d.species.index("A")
    assert g.mask[a].all()  # B nearest, then C, D, E tied for second
    assert phylo.phylo_graph(d).info["k"] == phylo.DEFAULT_PHYLO_K == 3


def test_phylo_graph_quantile_and_clade_depth():
    d = small_dist()
    # off-diagonal distances: 3,14,15,15,16,9 (x2); the 1/3 quantile is 9 -> edges A-B and C-D
    gq = phylo.phylo_graph(d, quantile=1 / 3)
    np.testing.assert_array_equal(gq.mask, phylo.phylo_graph(d, k=1).mask)
    assert gq.info["threshold"] == pytest.approx(9.0)
    # cut at depth 3 from the root: clades (A,B) [mrca depth 3] and (C,D) [mrca depth 6]
    g3 = phylo.phylo_graph(d, clade_depth=3)
    np.testing.assert_array_equal(g3.mask, gq.mask)
    # cut at depth 4: only C-D share a clade below it
    g4 = phylo.phylo_graph(d, clade_depth=4)
    assert not g4.mask[0, 1] and g4.mask[2, 3]
    with pytest.raises(InputDataError, match="only one of"):
        phylo.phylo_graph(d, k=2, quantile=0.5)
    with pytest.raises(InputDataError, match=r"quantile must be in \(0, 1\]"):
        phylo.phylo_graph(d, quantile=0)
    with pytest.raises(InputDataError, match="positive integer"):
        phylo.phylo_graph(d, k=0)


def test_phylo_graph_unmatched_species_connected():
    d = small_dist()
    g = phylo.phylo_graph(d, ["A", "X", "B", "C", "D"], k=1)
    assert g.species == ("A", "X", "B", "C", "D")
    assert g.mask[1].all() and g.mask[:, 1].all()
    assert g.mask[0, 2] and not g.mask[0, 3]
    assert g.info["connected_unmatched"] == ["X"]


def test_phylo_bias_values():
    d = small_dist()
    b = phylo.phylo_bias(d, ["A", "B", "X", "C", "D"])
    off = d.patristic[~np.eye(4, dtype=bool)]
    scale = np.median(off)  # 14.5
    assert b.dtype == np.float32 and b.shape == (5, 5)
    assert b[0, 1] == pytest.approx(-3 / scale) and b[0, 3] == pytest.approx(-14 / scale)
    assert np.all(np.diag(b) == 0)
    assert np.all(b[2, [0, 1, 3, 4]] == -1) and np.all(b[[0, 1, 3, 4], 2] == -1)
    b2 = phylo.phylo_bias(d, scale=3.0)
    assert b2[0, 1] == pytest.approx(-1.0)
    with pytest.raises(InputDataError, match="positive"):
        phylo.phylo_bias(d, scale=-1)


def test_build_label_graph_kinds():
    species = ["A", "B", "C", "D"]
    Y = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1]])
    prior = LabelGraph.prior(Y, species).mask  # edges A-C, C-D
    phyl = phylo.phylo_graph(small_dist(), k=1).mask  # edges A-B, C-D
    g, rep = phylo.build_label_graph("complete", Y, species)
    assert rep is None and g.mask.all()
    g, rep = phylo.build_label_graph("prior", Y, species, tree=SMALL)
    assert rep is None and np.array_equal(g.mask, prior)
    g, rep = phylo.build_label_graph("phylo", Y, species, tree=SMALL, phylo_k=1)
    assert rep.ok and g.kind == "phylo" and np.array_equal(g.mask, phyl) and g.bias is None
    g, _ = phylo.build_label_graph("phylo+prior", Y, species, tree=SMALL, phylo_k=1)
    assert g.kind == "phylo+prior" and np.array_equal(g.mask, phyl | prior)
    assert g.info["n_edges"] == 3  # A-B, A-C, C-D
    g, _ = phylo.build_label_graph("phylo&prior", Y, species, tree=SMALL, phylo_k=1)
    assert g.kind == "phylo&prior" and np.array_equal(g.mask, phyl & prior)
    assert g.info["n_edges"] == 1  # C-D
    g, _ = phylo.build_label_graph("phylo", Y, species, tree=SMALL, phylo_quantile=1 / 3, phylo_k=None)
    assert np.array_equal(g.mask, phyl)
    # soft bias on the complete graph
    g, rep = phylo.build_label_graph("complete", Y, species, tree=SMALL, phylo_bias_scale="auto")
    assert g.mask.all() and rep is not None
    np.testing.assert_allclose(g.bias, phylo.phylo_bias(small_dist()))
    g, _ = phylo.build_label_graph("phylo", Y, species, tree=SMALL, phylo_bias_scale=3.0)
    assert g.bias[0, 1] == pytest.approx(-1.0)


def test_build_label_graph_drop_subsets_prior_and_connect_keeps_all():
    species = ["A", "X", "C", "D"]
    Y = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])
    with pytest.raises(TreeError, match="1 of 4 species match no tip.*X"):
        phylo.build_label_graph("phylo+prior", Y, species, tree=SMALL)
    g, rep = phylo.build_label_graph("phylo+prior", Y, species, tree=SMALL, unmatched="drop", phylo_k=1)
    assert g.species == ("A", "C", "D") and rep.unmatched == ("X",)
    # prior on the kept columns only: A co-occurs with nobody kept; C-D co-occur; phylo k=1 on A,C,D: A->C, C->D, D->C
    expected = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(g.mask, expected)
    g, rep = phylo.build_label_graph("phylo&prior", Y, species, tree=SMALL, unmatched="connect", phylo_k=1)
    assert g.species == tuple(species)
    # X is connected in phylo, so the intersection keeps X's co-occurrence edges (X-A, X-C) only
    assert g.mask[1, 0] and g.mask[1, 2] and not g.mask[1, 3]


def test_build_label_graph_input_errors():
    Y = np.zeros((2, 4))
    with pytest.raises(InputDataError, match="unknown label graph kind 'tree'"):
        phylo.build_label_graph("tree", Y, list("ABCD"), tree=SMALL)
    with pytest.raises(InputDataError, match=r"'phylo' needs a phylogeny \(--tree"):
        phylo.build_label_graph("phylo", Y, list("ABCD"))
    with pytest.raises(InputDataError, match="needs the training occurrences Y"):
        phylo.build_label_graph("phylo+prior", None, list("ABCD"), tree=SMALL)
    with pytest.raises(InputDataError, match=r"Y has shape \(2, 3\)"):
        phylo.build_label_graph("prior", np.zeros((2, 3)), list("ABCD"))
    with pytest.raises(InputDataError, match="policy 'skip'"):
        phylo.build_label_graph("phylo", Y, list("ABCD"), tree=SMALL, unmatched="skip")


def test_phylo_graph_mask_is_accepted_by_labelgraph_round_trip():
    g, _ = phylo.build_label_graph("phylo", None, list("ABCD"), tree=SMALL, phylo_k=1, phylo_bias_scale="auto")
    d = json.loads(json.dumps(g.to_dict()))  # info (with the tree report) is JSON-serialisable
    assert d["info"]["tree"]["n_matched"] == 4 and d["info"]["k"] == 1
    back = LabelGraph.from_dict(d, bias=g.bias)
    np.testing.assert_array_equal(back.mask, g.mask)
    assert back.kind == "phylo"


def test_phylo_graph_topological_metric():
    d = phylo.phylo_distances(phylo.read_tree("(((A:5,B:5):0.1,C:0.1):0.1,D:0.1);"))
    a, b, c = (d.species.index(x) for x in "ABC")
    # patristic: A's nearest is C (5.2 < 10); topological: B (2 edges < 3)
    g_pat = phylo.phylo_graph(d, k=1)
    g_top = phylo.phylo_graph(d, k=1, metric="topological")
    assert g_pat.mask[a, c] and not g_pat.mask[a, b]
    assert g_top.mask[a, b]
    with pytest.raises(InputDataError, match="unknown phylogenetic distance 'bogus'"):
        phylo.phylo_graph(d, k=1, metric="bogus")
