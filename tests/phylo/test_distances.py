"""Tests of jsdm_hot.phylo.distances: patristic / topological distances against hand-computed values and ete3."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared_data

ete3 = pytest.importorskip("ete3")

from jsdm_hot import phylo  # noqa: E402

from .trees import SMALL, ete3_matrices, random_newick  # noqa: E402


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
    newick = random_newick(rng, 40)
    phy = phylo.read_tree(newick)
    keep = sorted(rng.choice(40, size=int(rng.integers(2, 40)), replace=False).tolist())
    tips = [f"t{i}" for i in keep]
    d = phylo.phylo_distances(phy, tips)
    assert d.species == tuple(tips)
    pruned = phylo.prune_tree(phy, tips)
    assert sorted(pruned.tip_names) == sorted(tips)
    pat, top = ete3_matrices(pruned.tree, tips)
    np.testing.assert_allclose(d.patristic, pat, rtol=0, atol=1e-9)
    # ete3's topology_only distance counts the nodes between two tips: edges - 1
    off = ~np.eye(len(tips), dtype=bool)
    np.testing.assert_array_equal(d.topological[off], top[off] + 1)
    # patristic distances are unchanged by pruning
    full_pat, _ = ete3_matrices(phy.tree, tips)
    np.testing.assert_allclose(d.patristic, full_pat, rtol=0, atol=1e-9)


def test_species_sharing_a_tip_are_at_distance_zero():
    rep = phylo.reconcile(["Acanthis flammea", "Acanthis hornemanni", "B b"], "((Acanthis_flammea:1,B_b:1):1,C_c:2);",
                          synonyms={"Acanthis hornemanni": "Acanthis flammea"})
    assert rep.shared_tips == {"Acanthis_flammea": ("Acanthis flammea", "Acanthis hornemanni")}
    d = phylo.phylo_distances("((Acanthis_flammea:1,B_b:1):1,C_c:2);", report=rep)
    assert d.patristic[0, 1] == 0 and d.patristic[0, 2] == d.patristic[1, 2] == 2


def test_bird_tree_pruning_and_distances_match_ete3(bird_tree, roccupy_species):
    rep = phylo.reconcile(roccupy_species, bird_tree)
    pruned = phylo.prune_tree(bird_tree, list(rep.tips.values()))
    assert sorted(pruned.tip_names) == sorted(rep.tips.values())
    # same topology as the provider's pruned subtree
    ref = ete3.Tree(str(require_shared_data("trees", "roccupy32.nwk")), format=1)
    assert pruned.tree.robinson_foulds(ref, unrooted_trees=False)[0] == 0
    d = phylo.phylo_distances(bird_tree, report=rep)
    assert d.species == tuple(roccupy_species)
    tips = [rep.tips[s] for s in roccupy_species]
    pat, top = ete3_matrices(pruned.tree, tips)
    np.testing.assert_allclose(d.patristic, pat, rtol=0, atol=1e-9)
    off = ~np.eye(32, dtype=bool)
    np.testing.assert_array_equal(d.topological[off], top[off] + 1)
    # and with the provider's subtree, whose summed branch lengths were rounded on the way
    # (relative differences up to 1.2e-6, i.e. ~2e-4 Myr on 176 Myr)
    ref_pat, _ = ete3_matrices(ref, tips)
    np.testing.assert_allclose(d.patristic, ref_pat, rtol=2e-6, atol=0)
    # ultrametric: every pair's distance is twice the age of its MRCA, max = 2 x 88.083 Myr
    assert d.patristic.max() == pytest.approx(2 * 88.083, abs=1e-3)
