"""Tests of jsdm_hot.graph.LabelGraph: complete and prior graphs, combinators, persistence, the build shortcut."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot import InputDataError, LabelGraph


def test_complete_graph_connects_everything():
    g = LabelGraph.complete(["a", "b", "c"])
    assert g.mask.all() and g.density == 1.0 and g.kind == "complete"


def test_prior_graph_removes_exactly_never_cooccurring_pairs():
    # a-b co-occur at site 0, b-c at site 1, a and c never together, d never present
    Y = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 0]])
    g = LabelGraph.prior(Y, list("abcd"))
    expected = np.array([
        [1, 1, 0, 0],
        [1, 1, 1, 0],
        [0, 1, 1, 0],
        [0, 0, 0, 1],
    ], dtype=bool)
    np.testing.assert_array_equal(g.mask, expected)
    assert g.info["n_edges"] == 2


def test_prior_graph_on_simulated_data_matches_pairwise_check(small_sim):
    Y = small_sim.data.Y
    g = LabelGraph.prior(Y, small_sim.data.species)
    L = Y.shape[1]
    for i in range(L):
        for j in range(L):
            together = bool(((Y[:, i] == 1) & (Y[:, j] == 1)).any())
            assert g.mask[i, j] == (together or i == j)


def test_union_intersection_and_roundtrip():
    a = LabelGraph(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], bool), ("x", "y", "z"), "a")
    b = LabelGraph(np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], bool), ("x", "y", "z"), "b",
                   bias=np.full((3, 3), -0.5))
    u, n = a.union(b), a.intersection(b)
    assert u.mask[0, 1] and u.mask[0, 2] and not u.mask[1, 2]
    assert not n.mask[0, 1] and not n.mask[0, 2] and n.mask.diagonal().all()
    np.testing.assert_allclose(u.bias, -0.5)
    back = LabelGraph.from_dict(u.to_dict(), bias=u.bias)
    np.testing.assert_array_equal(back.mask, u.mask)
    assert back.species == u.species


def test_bad_graphs_raise():
    with pytest.raises(InputDataError, match="shape"):
        LabelGraph(np.ones((2, 3), bool), ("a", "b"), "x")
    with pytest.raises(InputDataError, match="different species"):
        LabelGraph.complete(["a", "b"]).union(LabelGraph.complete(["a", "c"]))
    from jsdm_hot.phylo import build_label_graph

    with pytest.raises(InputDataError, match="unknown label graph kind 'tree'"):
        build_label_graph("tree", np.zeros((2, 2)), ["a", "b"])
    with pytest.raises(InputDataError, match=r"'phylo' needs a phylogeny \(--tree"):
        build_label_graph("phylo", np.zeros((2, 2)), ["a", "b"])


def test_build_label_graph_dispatches_every_kind():
    pytest.importorskip("ete3")
    from jsdm_hot.phylo import build_label_graph

    species = ["A", "B", "C", "D"]
    Y = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1]])
    tree = "((A:1,B:2):3,(C:4,D:5):6);"
    g, report = build_label_graph("complete", None, species)
    assert g.kind == "complete" and g.mask.all() and report is None
    g, _ = build_label_graph("prior", Y, species)
    np.testing.assert_array_equal(g.mask, LabelGraph.prior(Y, species).mask)
    for kind in ("phylo", "phylo+prior", "phylo&prior"):
        g, report = build_label_graph(kind, Y, species, tree=tree, phylo_k=1)
        assert g.kind == kind and report is not None
    # A-B (phylo k=1) or A-C, C-D (co-occurrence); hand-checked union
    g, _ = build_label_graph("phylo+prior", Y, species, tree=tree, phylo_k=1)
    assert g.info["n_edges"] == 3
