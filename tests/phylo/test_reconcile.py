"""Tests of jsdm_hot.phylo.reconcile: matching data species to tips (exact, synonyms, unmatched policies)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data

ete3 = pytest.importorskip("ete3")

from jsdm_hot import phylo  # noqa: E402
from jsdm_hot.errors import InputDataError, TreeError  # noqa: E402

from .trees import TARENTAISE_SYNONYMS  # noqa: E402


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


def test_roccupy_all_32_species_reconcile_with_bird_tree(bird_tree, roccupy_species):
    rep = phylo.reconcile(roccupy_species, bird_tree)
    assert len(roccupy_species) == 32
    assert rep.ok and len(rep.tips) == 32
    assert rep.via_synonym == {}  # all 32 match after normalisation (space <-> underscore)
    assert len(rep.unused_tips) == 11167 - 32
    expected = pd.read_csv(require_shared_data("trees", "roccupy32_name_matching.csv"))
    assert rep.tips == dict(zip(expected["dataset_name"], expected["tree_label"]))


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
