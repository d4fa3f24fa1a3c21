"""Tests of jsdm_hot.phylo.newick: reading and validating Newick trees; ete3 imported lazily."""

from __future__ import annotations

import numpy as np
import pytest

ete3 = pytest.importorskip("ete3")

from jsdm_hot import phylo  # noqa: E402
from jsdm_hot.errors import TreeError  # noqa: E402


def test_read_tree_branch_lengths_quotes_internal_names_comments(tmp_path):
    path = tmp_path / "t.nwk"
    path.write_text("[&R] (('Anas platyrhynchos':1.5,B_b:2)clade1[&posterior=0.9]:3,\n 'x, y (z)':4)root;\n")
    phy = phylo.read_tree(path)
    assert phy.source == str(path)
    assert phy.has_branch_lengths
    assert sorted(phy.tip_names) == ["Anas platyrhynchos", "B_b", "x, y (z)"]
    names = {n.name for n in phy.tree.traverse()}
    assert "clade1" in names  # internal labels kept
    d = phylo.phylo_distances(phy)
    i, j = d.species.index("Anas platyrhynchos"), d.species.index("x, y (z)")
    assert d.patristic[i, j] == pytest.approx(1.5 + 3 + 4)


def test_numeric_and_coded_tip_names_are_not_collapsed():
    phy = phylo.read_tree("((1,2),(sp_001,sp_002));")
    assert sorted(phy.tip_names) == ["1", "2", "sp_001", "sp_002"]
    rep = phylo.reconcile(["sp 001", "sp 002", "2"], phy)
    assert rep.tips == {"sp 001": "sp_001", "sp 002": "sp_002", "2": "2"}


def test_read_tree_without_branch_lengths_counts_edges():
    phy = phylo.read_tree("((A,B),(C,(D,E)));")
    assert not phy.has_branch_lengths
    d = phylo.phylo_distances(phy)
    k = {s: i for i, s in enumerate(d.species)}
    assert d.patristic[k["A"], k["D"]] == 5 and d.topological[k["A"], k["D"]] == 5
    np.testing.assert_array_equal(d.patristic, d.topological)


def test_root_branch_length_is_not_a_missing_length():
    phy = phylo.read_tree("((A:1,B:2):3,C:4):0.5;")
    assert phy.has_branch_lengths
    d = phylo.phylo_distances(phy, ["A", "C"])
    assert d.patristic[0, 1] == pytest.approx(8.0)


@pytest.mark.parametrize(
    "text, match",
    [
        ("((A:1,B:2):3,C:4;", "malformed Newick.*unclosed"),
        ("(A:1,B:2)):3;", "malformed Newick.*unbalanced '\\)'"),
        ("A,B;", "malformed Newick.*','"),
        ("((A,B),C); (D,E);", "malformed Newick.*after the closing ';'"),
        ("(('A:1,B:2),C);", "malformed Newick.*unclosed quote"),
        ("", "empty tree"),
        ("  ;\n", "empty tree"),
        ("((A:1,B:2):3,A:4);", "duplicate tip names.*'A'"),
        ("((Anas_acuta:1,'Anas acuta':2):3,C:4);", "same species name after normalisation.*'Anas_acuta' and 'Anas acuta'"),
        ("((A:1,):3,C:4);", "a tip in .* has no name"),
        ("((A:1,B):3,C:4);", "1 of 4 branches.*no length"),
        ("((A:1,B:-2):3,C:4);", "negative branch length.*-2.*B"),
    ],
)
def test_read_tree_errors_name_file_and_problem(tmp_path, text, match):
    path = tmp_path / "bad.nwk"
    path.write_text(text)
    with pytest.raises(TreeError, match=match) as info:
        phylo.read_tree(path)
    assert str(path) in str(info.value)


def test_read_tree_missing_file(tmp_path):
    with pytest.raises(TreeError, match=r"tree file .*nope\.nwk does not exist"):
        phylo.read_tree(tmp_path / "nope.nwk")


def test_to_newick_round_trip_keeps_precision_and_quoted_names():
    phy = phylo.read_tree("(('a b':1.123456789,C:116.880123):2,D:3);")
    again = phylo.read_tree(phy.to_newick())
    assert again.tip_names == phy.tip_names
    np.testing.assert_allclose(phylo.phylo_distances(again).patristic, phylo.phylo_distances(phy).patristic, rtol=0, atol=1e-12)


def test_ete3_is_imported_lazily():
    # no module-level import of the optional dependency (static check: the test process has ete3 loaded already);
    # graph.py, which phylo builds on, does not import phylo at module level either
    import ast
    import importlib
    import inspect
    import pkgutil

    import jsdm_hot.cli.tree as cli_tree
    import jsdm_hot.graph as graph

    mods = [importlib.import_module(f"jsdm_hot.phylo.{m.name}") for m in pkgutil.iter_modules(phylo.__path__)]
    assert {m.__name__.rsplit(".", 1)[1] for m in mods} >= {"newick", "names", "reconcile", "distances", "graphs"}
    for mod in (phylo, *mods, cli_tree, graph):
        tree = ast.parse(inspect.getsource(mod))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in top if isinstance(n, ast.ImportFrom)}
        assert not any(n.split(".")[0] == "ete3" for n in names), mod.__name__
        if mod is graph:
            assert not any(n.startswith("jsdm_hot.phylo") for n in names)


def test_public_names_are_importable_from_the_package():
    # the names of the former single module jsdm_hot/phylo.py
    old = {"GRAPH_KINDS", "UNMATCHED_POLICIES", "DEFAULT_PHYLO_K", "Phylogeny", "ReconciliationReport", "PhyloDistances",
           "read_tree", "normalize_name", "read_synonyms", "synonyms_from_ebird_taxonomy", "reconcile", "prune_tree",
           "phylo_distances", "phylo_graph", "phylo_bias", "build_label_graph"}
    assert set(phylo.__all__) == old
    for name in old:
        assert getattr(phylo, name) is not None
