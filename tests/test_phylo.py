"""Tests of jsdm_hot.phylo (Newick reading, reconciliation, distances, graphs) and `jsdm-hot tree-check`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data

ete3 = pytest.importorskip("ete3")

from jsdm_hot import phylo  # noqa: E402
from jsdm_hot.errors import InputDataError, TreeError  # noqa: E402
from jsdm_hot.graph import LabelGraph  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TREES = DATA / "trees"

# A small tree with hand-computable distances.
#            /- A (1)
#      (3) --|
#  root      \- B (2)
#      (6) --/- C (4)
#            \- D (5)
SMALL = "((A:1,B:2):3,(C:4,D:5):6);"


def _need_data(*parts: str) -> Path:
    return require_shared_data(*parts)


@pytest.fixture(scope="module")
def bird_tree() -> phylo.Phylogeny:
    return phylo.read_tree(_need_data("trees", "birds_full.nwk"))


@pytest.fixture(scope="module")
def roccupy_species() -> list[str]:
    return pd.read_csv(_need_data("ebird_roccupy", "species.csv"))["scientific_name"].tolist()


@pytest.fixture(scope="module")
def tarentaise_species() -> list[str]:
    return pd.read_csv(_need_data("tarentaise", "species.csv"))["latin_name"].tolist()


# Old (ade4 / pre-2020) tarentaise names -> Clements 2025 names. Typos, genus moves and gender agreements.
TARENTAISE_SYNONYMS = {
    "Certhia brachydactila": "Certhia brachydactyla",
    "Carduelis chloris": "Chloris chloris",
    "Parus caeruleus": "Cyanistes caeruleus",
    "Parus ater": "Periparus ater",
    "Parus montanus": "Poecile montanus",
    "Troglodutes troglodytes": "Troglodytes troglodytes",
    "Miliaria calandra": "Emberiza calandra",
    "Falco tunnnunculus": "Falco tinnunculus",
    "Carduelis cannabina": "Linaria cannabina",
    "Parus palustris": "Poecile palustris",
    "Delichon urbica": "Delichon urbicum",
    "Regulus ignicapillus": "Regulus ignicapilla",
    "Sylvia communis": "Curruca communis",
    "Saxicola torquata": "Saxicola rubicola",
    "Parus cristatus": "Lophophanes cristatus",
    "Corvus monedula": "Coloeus monedula",
    "Dendrocopos minor": "Dryobates minor",
    "Serinus citrinella": "Carduelis citrinella",
    "Carduelis flammea": "Acanthis flammea",
    "Tetrao tetryx": "Lyrurus tetrix",
    "Sylvia curruca": "Curruca curruca",
    "Lagopus mutus": "Lagopus muta",
}


def _random_newick(rng: np.random.Generator, n_tips: int, *, unary: float = 0.15, polytomy: float = 0.2) -> str:
    """Random rooted tree with branch lengths, some unary nodes and polytomies."""
    nodes = [f"t{i}:{rng.uniform(0.1, 3):.6f}" for i in range(n_tips)]
    while len(nodes) > 1:
        k = 3 if (len(nodes) >= 3 and rng.random() < polytomy) else 2
        pick = sorted(rng.choice(len(nodes), size=k, replace=False).tolist(), reverse=True)
        kids = [nodes.pop(i) for i in pick]
        new = f"({','.join(kids)}):{rng.uniform(0.1, 3):.6f}"
        if rng.random() < unary:
            new = f"({new}):{rng.uniform(0.1, 3):.6f}"
        nodes.append(new)
    return nodes[0].rsplit(":", 1)[0] + ";"


def _ete3_matrices(tree, tips):
    leaves = {leaf.name: leaf for leaf in tree}
    n = len(tips)
    pat = np.zeros((n, n))
    top = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = leaves[tips[i]], leaves[tips[j]]
            pat[i, j] = pat[j, i] = tree.get_distance(a, b)
            top[i, j] = top[j, i] = tree.get_distance(a, b, topology_only=True)
    return pat, top


# ============================================================ names


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Anas_platyrhynchos", "Anas platyrhynchos"),
        ("anas  platyrhynchos", "Anas platyrhynchos"),
        ("ANAS PLATYRHYNCHOS", "Anas platyrhynchos"),
        ("Anas platyrhynchos Linnaeus, 1758", "Anas platyrhynchos"),
        ("Parus major (Linnaeus, 1758)", "Parus major"),
        ("Parus major L.", "Parus major"),
        ("birds(Anas_platyrhynchos)", "Anas platyrhynchos"),
        ("Anas_platyrhynchos_ott765185", "Anas platyrhynchos"),
        ("'Anas platyrhynchos'", "Anas platyrhynchos"),
        ("Anas platyrhynchos diazi", "Anas platyrhynchos diazi"),
        ("  Picoides tridactylus ", "Picoides tridactylus"),
        ("ANAS PLATYRHYNCHOS LINNAEUS, 1758", "Anas platyrhynchos"),
        ("anas platyrhynchos linnaeus, 1758", "Anas platyrhynchos"),
        ("sp_007", "Sp 007"),  # codes with digits stay distinct
        ("Genus sp. 2", "Genus sp 2"),
    ],
)
def test_normalize_name(raw, expected):
    assert phylo.normalize_name(raw) == expected


# ============================================================ reading


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


# ============================================================ distances


def test_distances_hand_computed():
    d = phylo.phylo_distances(phylo.read_tree(SMALL))
    assert d.species == ("A", "B", "C", "D")
    expected_pat = np.array([
        [0, 3, 14, 15],
        [3, 0, 15, 16],
        [14, 15, 0, 9],
        [15, 16, 9, 0],
    ], dtype=float)
    expected_top = np.array([[0, 2, 4, 4], [2, 0, 4, 4], [4, 4, 0, 2], [4, 4, 2, 0]], dtype=float)
    np.testing.assert_allclose(d.patristic, expected_pat)
    np.testing.assert_array_equal(d.topological, expected_top)
    # depth of the MRCA from the root of the pruned tree; the diagonal holds tip depths
    expected_mrca = np.array([[4, 3, 0, 0], [3, 5, 0, 0], [0, 0, 10, 6], [0, 0, 6, 11]], dtype=float)
    np.testing.assert_allclose(d.mrca_depth, expected_mrca)


def test_distances_of_subset_use_pruned_tree():
    # keep A, C, D: pruning removes the (A,B) node, so A hangs directly from the root by 1 + 3
    d = phylo.phylo_distances(phylo.read_tree(SMALL), ["D", "A", "C"])
    assert d.species == ("D", "A", "C")
    np.testing.assert_allclose(d.patristic, [[0, 15, 9], [15, 0, 14], [9, 14, 0]])
    np.testing.assert_array_equal(d.topological, [[0, 3, 2], [3, 0, 3], [2, 3, 0]])
    np.testing.assert_allclose(d.mrca_depth[1, 1], 4.0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_distances_match_ete3_get_distance_on_random_trees(seed):
    rng = np.random.default_rng(seed)
    newick = _random_newick(rng, 40)
    phy = phylo.read_tree(newick)
    keep = sorted(rng.choice(40, size=int(rng.integers(2, 40)), replace=False).tolist())
    tips = [f"t{i}" for i in keep]
    d = phylo.phylo_distances(phy, tips)
    assert d.species == tuple(tips)
    pruned = phylo.prune_tree(phy, tips)
    assert sorted(pruned.tip_names) == sorted(tips)
    pat, top = _ete3_matrices(pruned.tree, tips)
    np.testing.assert_allclose(d.patristic, pat, rtol=0, atol=1e-9)
    # ete3's topology_only distance counts the nodes between two tips: edges - 1
    off = ~np.eye(len(tips), dtype=bool)
    np.testing.assert_array_equal(d.topological[off], top[off] + 1)
    # patristic distances are unchanged by pruning
    full_pat, _ = _ete3_matrices(phy.tree, tips)
    np.testing.assert_allclose(d.patristic, full_pat, rtol=0, atol=1e-9)


def test_species_sharing_a_tip_are_at_distance_zero():
    rep = phylo.reconcile(["Acanthis flammea", "Acanthis hornemanni", "B b"], "((Acanthis_flammea:1,B_b:1):1,C_c:2);",
                          synonyms={"Acanthis hornemanni": "Acanthis flammea"})
    assert rep.shared_tips == {"Acanthis_flammea": ("Acanthis flammea", "Acanthis hornemanni")}
    d = phylo.phylo_distances("((Acanthis_flammea:1,B_b:1):1,C_c:2);", report=rep)
    assert d.patristic[0, 1] == 0 and d.patristic[0, 2] == d.patristic[1, 2] == 2


# ============================================================ reconciliation


def test_reconcile_exact_synonym_unmatched_and_unused():
    tree = "((Anas_platyrhynchos:1,Cyanistes_caeruleus:1):1,(Pica_pica:1,Corvus_corax:1):1);"
    species = ["anas platyrhynchos", "Parus caeruleus", "Pica pica Linnaeus, 1758", "Dodo dodo"]
    rep = phylo.reconcile(species, tree, synonyms={"Parus caeruleus": "Cyanistes caeruleus"}, unmatched="connect")
    assert rep.tips == {"anas platyrhynchos": "Anas_platyrhynchos", "Parus caeruleus": "Cyanistes_caeruleus",
                        "Pica pica Linnaeus, 1758": "Pica_pica"}
    assert rep.via_synonym == {"Parus caeruleus": "Cyanistes caeruleus"}
    assert rep.unmatched == ("Dodo dodo",)
    assert rep.unused_tips == ("Corvus_corax",)
    assert rep.kept_species == tuple(species)
    frame = rep.to_frame()
    assert frame["status"].tolist() == ["exact", "synonym", "exact", "unmatched"]
    text = rep.summary()
    assert "matched: 3 (2 exact after normalisation, 1 through a synonym)" in text
    assert "Dodo dodo" in text and "connected to every species" in text


def test_reconcile_synonym_reverse_direction():
    # the tree uses the old name, the data the new one
    rep = phylo.reconcile(["Cyanistes caeruleus", "Pica pica"], "(Parus_caeruleus:1,Pica_pica:1);",
                          synonyms={"Parus caeruleus": "Cyanistes caeruleus"})
    assert rep.tips["Cyanistes caeruleus"] == "Parus_caeruleus"
    assert rep.via_synonym == {"Cyanistes caeruleus": "Parus caeruleus"}


def test_reconcile_unmatched_error_lists_species_and_suggestions():
    with pytest.raises(TreeError) as info:
        phylo.reconcile(["Falco tunnnunculus", "Pica pica", "Dodo dodo"], "(Falco_tinnunculus:1,Pica_pica:1);")
    msg = str(info.value)
    assert "2 of 3 species match no tip of <newick string>" in msg
    assert "Falco tunnnunculus (similar tips: Falco tinnunculus)" in msg
    assert "Dodo dodo" in msg and "--tree-unmatched drop|connect" in msg


def test_reconcile_no_overlap_is_an_error_under_every_policy(tmp_path):
    path = tmp_path / "other.nwk"
    path.write_text("(X_x:1,Y_y:1);")
    for policy in phylo.UNMATCHED_POLICIES:
        with pytest.raises(TreeError, match=rf"no overlap between the tree {path}.*none of the 2 species"):
            phylo.reconcile(["Pica pica", "Corvus corax"], path, unmatched=policy)


def test_reconcile_bad_policy_and_duplicate_species():
    with pytest.raises(InputDataError, match="unmatched='ignore'"):
        phylo.reconcile(["A"], "(A:1,B:1);", unmatched="ignore")
    with pytest.raises(InputDataError, match=r"duplicate species names.*\['A'\]"):
        phylo.reconcile(["A", "A"], "(A:1,B:1);")


def test_read_synonyms_columns_and_errors(tmp_path):
    good = tmp_path / "syn.csv"
    good.write_text("accepted,synonym\nCyanistes caeruleus,Parus_caeruleus\n# comment\n\nChloris chloris,Carduelis chloris\n")
    assert phylo.read_synonyms(good) == {"parus caeruleus": "Cyanistes caeruleus", "carduelis chloris": "Chloris chloris"}
    conflict = tmp_path / "conflict.csv"
    conflict.write_text("old,new\nParus ater,Periparus ater\n\n# note\nParus ater,Poecile ater\n")
    with pytest.raises(TreeError, match=r"conflict\.csv line 5: 'Parus ater' maps to both 'Periparus ater' and 'Poecile ater'"):
        phylo.read_synonyms(conflict)
    blank = tmp_path / "blank.csv"
    blank.write_text("old,new\nParus ater,\n")
    with pytest.raises(TreeError, match=r"blank\.csv line 2: expected values in columns 'old' and 'new'"):
        phylo.read_synonyms(blank)
    with pytest.raises(TreeError, match="does not exist"):
        phylo.read_synonyms(tmp_path / "none.csv")


# ============================================================ real data


def test_roccupy_all_32_species_reconcile_with_bird_tree(bird_tree, roccupy_species):
    rep = phylo.reconcile(roccupy_species, bird_tree)
    assert len(roccupy_species) == 32
    assert rep.ok and len(rep.tips) == 32
    assert rep.via_synonym == {}  # all 32 match after normalisation (space <-> underscore)
    assert len(rep.unused_tips) == 11167 - 32
    expected = pd.read_csv(TREES / "roccupy32_name_matching.csv")
    assert rep.tips == dict(zip(expected["dataset_name"], expected["tree_label"]))


def test_bird_tree_pruning_and_distances_match_ete3(bird_tree, roccupy_species):
    rep = phylo.reconcile(roccupy_species, bird_tree)
    pruned = phylo.prune_tree(bird_tree, list(rep.tips.values()))
    assert sorted(pruned.tip_names) == sorted(rep.tips.values())
    # same topology as the provider's pruned subtree
    ref = ete3.Tree(str(_need_data("trees", "roccupy32.nwk")), format=1)
    assert pruned.tree.robinson_foulds(ref, unrooted_trees=False)[0] == 0
    d = phylo.phylo_distances(bird_tree, report=rep)
    assert d.species == tuple(roccupy_species)
    tips = [rep.tips[s] for s in roccupy_species]
    pat, top = _ete3_matrices(pruned.tree, tips)
    np.testing.assert_allclose(d.patristic, pat, rtol=0, atol=1e-9)
    off = ~np.eye(32, dtype=bool)
    np.testing.assert_array_equal(d.topological[off], top[off] + 1)
    # and with the provider's subtree, whose summed branch lengths were rounded on the way
    # (relative differences up to 1.2e-6, i.e. ~2e-4 Myr on 176 Myr)
    ref_pat, _ = _ete3_matrices(ref, tips)
    np.testing.assert_allclose(d.patristic, ref_pat, rtol=2e-6, atol=0)
    # ultrametric: every pair's distance is twice the age of its MRCA, max = 2 x 88.083 Myr
    assert d.patristic.max() == pytest.approx(2 * 88.083, abs=1e-3)


def test_tarentaise_needs_synonyms_for_22_species(bird_tree, tarentaise_species, tmp_path):
    with pytest.raises(TreeError, match=r"22 of 98 species match no tip"):
        phylo.reconcile(tarentaise_species, bird_tree)
    syn_path = tmp_path / "tarentaise_synonyms.csv"
    pd.DataFrame({"old": list(TARENTAISE_SYNONYMS), "new": list(TARENTAISE_SYNONYMS.values())}).to_csv(syn_path, index=False)
    rep = phylo.reconcile(tarentaise_species, bird_tree, synonyms=syn_path)
    assert rep.ok and len(rep.tips) == 98
    assert set(rep.via_synonym) == set(TARENTAISE_SYNONYMS)
    assert rep.tips["Parus caeruleus"] == "Cyanistes_caeruleus"
    # drop: graph over the 76 exact matches only; connect: all 98, the 22 fully connected
    Y = np.random.default_rng(0).integers(0, 2, size=(30, 98))
    g_drop, r_drop = phylo.build_label_graph("phylo", Y, tarentaise_species, tree=bird_tree, unmatched="drop")
    assert len(g_drop.species) == 76 and len(r_drop.unmatched) == 22
    assert not set(g_drop.species) & set(r_drop.unmatched)
    g_con, _ = phylo.build_label_graph("phylo", Y, tarentaise_species, tree=bird_tree, unmatched="connect")
    assert g_con.species == tuple(tarentaise_species)
    um = [tarentaise_species.index(s) for s in r_drop.unmatched]
    assert g_con.mask[um].all() and g_con.mask[:, um].all()
    kept = [tarentaise_species.index(s) for s in g_drop.species]
    np.testing.assert_array_equal(g_con.mask[np.ix_(kept, kept)], g_drop.mask)


def test_ebird_taxonomy_synonyms(bird_tree):
    syn = phylo.synonyms_from_ebird_taxonomy(_need_data("ebird_auk", "ebird_taxonomy.csv"))
    assert syn["mallard"] == "Anas platyrhynchos"
    assert syn["apteryx australis lawryi"] == "Apteryx australis"  # issf -> its species
    rep = phylo.reconcile(["Mallard", "Coal Tit", "Apteryx australis lawryi"], bird_tree, synonyms=syn)
    assert rep.tips == {"Mallard": "Anas_platyrhynchos", "Coal Tit": "Periparus_ater",
                        "Apteryx australis lawryi": "Apteryx_australis"}
    assert set(rep.via_synonym) == {"Mallard", "Coal Tit", "Apteryx australis lawryi"}


def test_ebird_taxonomy_missing_columns(tmp_path):
    bad = tmp_path / "tax.csv"
    bad.write_text("scientific_name,common_name\nAnas platyrhynchos,Mallard\n")
    with pytest.raises(TreeError, match=r"tax\.csv lacks column\(s\).*report_as"):
        phylo.synonyms_from_ebird_taxonomy(bad)


# ============================================================ graphs


def _small_dist():
    return phylo.phylo_distances(phylo.read_tree(SMALL))


def test_phylo_graph_k_nearest_symmetrised():
    d = _small_dist()
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
    d = _small_dist()
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
    d = _small_dist()
    g = phylo.phylo_graph(d, ["A", "X", "B", "C", "D"], k=1)
    assert g.species == ("A", "X", "B", "C", "D")
    assert g.mask[1].all() and g.mask[:, 1].all()
    assert g.mask[0, 2] and not g.mask[0, 3]
    assert g.info["connected_unmatched"] == ["X"]


def test_phylo_bias_values():
    d = _small_dist()
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
    phyl = phylo.phylo_graph(_small_dist(), k=1).mask  # edges A-B, C-D
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
    np.testing.assert_allclose(g.bias, phylo.phylo_bias(_small_dist()))
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


def test_ete3_is_imported_lazily():
    # no module-level import of the optional dependency (static check: the test process has ete3 loaded already)
    import ast
    import inspect

    import jsdm_hot.cli.tree as cli_tree

    for mod in (phylo, cli_tree):
        tree = ast.parse(inspect.getsource(mod))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in top if isinstance(n, ast.ImportFrom)}
        assert "ete3" not in names, mod.__name__


# ============================================================ CLI


def _runner():
    from typer.testing import CliRunner

    from jsdm_hot.cli import app

    return CliRunner(), app


def test_cli_tree_check_wide_csv(tmp_path):
    runner, app = _runner()
    tree = tmp_path / "t.nwk"
    tree.write_text("((Anas_platyrhynchos:1,Pica_pica:1):1,Corvus_corax:2);")
    data = tmp_path / "d.csv"
    pd.DataFrame({"site_id": ["s1", "s2"], "lon": [1.0, 2.0], "lat": [3.0, 4.0], "Anas platyrhynchos": [0, 1],
                  "Pica pica": [1, 1], "temp": [3.5, 2.0]}).to_csv(data, index=False)
    out = tmp_path / "report.csv"
    pruned = tmp_path / "pruned.nwk"
    res = runner.invoke(app, ["tree-check", str(data), "--tree", str(tree), "--out", str(out), "--write-pruned", str(pruned)])
    assert res.exit_code == 0, res.output
    assert "data: 2 species" in res.output and "matched: 2" in res.output and "unused tips: 1" in res.output
    assert "phylo graph (k=3) over 2 species: 1 edges" in res.output and "median 2, max 2" in res.output
    assert pd.read_csv(out)["status"].tolist() == ["exact", "exact"]
    assert sorted(phylo.read_tree(pruned).tip_names) == ["Anas_platyrhynchos", "Pica_pica"]


def test_cli_tree_check_unmatched_policies_and_synonyms(tmp_path):
    runner, app = _runner()
    tree = tmp_path / "t.nwk"
    tree.write_text("((Cyanistes_caeruleus:1,Pica_pica:1):1,Corvus_corax:2);")
    data = tmp_path / "species.csv"
    pd.DataFrame({"latin_name": ["Parus caeruleus", "Pica pica"]}).to_csv(data, index=False)
    args = ["tree-check", str(data), "--names-col", "latin_name", "--tree", str(tree)]
    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert "unmatched species: 1" in res.output and "Parus caeruleus" in res.output
    assert "phylo graph" not in res.output
    res = runner.invoke(app, args + ["--tree-unmatched", "drop"])
    assert res.exit_code == 0 and "policy drop" in res.output
    assert "phylo graph (k=3) over 1 species" in res.output
    res = runner.invoke(app, args + ["--tree-unmatched", "connect", "--phylo-k", "1"])
    assert res.exit_code == 0 and "phylo graph (k=1) over 2 species: 1 edges" in res.output
    syn = tmp_path / "syn.csv"
    syn.write_text("old,new\nParus caeruleus,Cyanistes caeruleus\n")
    res = runner.invoke(app, args + ["--synonyms", str(syn)])
    assert res.exit_code == 0, res.output
    assert "1 through a synonym" in res.output and "Parus caeruleus -> Cyanistes caeruleus" in res.output


def test_cli_tree_check_no_overlap_raises_tree_error(tmp_path):
    runner, app = _runner()
    tree = tmp_path / "t.nwk"
    tree.write_text("(X_x:1,Y_y:1);")
    data = tmp_path / "d.csv"
    pd.DataFrame({"Pica pica": [0, 1]}).to_csv(data, index=False)
    res = runner.invoke(app, ["tree-check", str(data), "--tree", str(tree)])
    assert isinstance(res.exception, TreeError) and "no overlap" in str(res.exception)


def test_cli_tree_check_roccupy(roccupy_species):
    runner, app = _runner()
    occ = _need_data("ebird_roccupy", "occurrences.csv")
    res = runner.invoke(app, ["tree-check", str(occ), "--tree", str(_need_data("trees", "roccupy32.nwk"))])
    assert res.exit_code == 0, res.output
    assert "data: 32 species" in res.output and "matched: 32 (32 exact" in res.output
