"""Tests of jsdm_hot.phylo.names: normalize_name, synonym tables (CSV and eBird taxonomy)."""

from __future__ import annotations

import pytest
from conftest import require_shared_data

ete3 = pytest.importorskip("ete3")

from jsdm_hot import phylo  # noqa: E402
from jsdm_hot.errors import TreeError  # noqa: E402


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


def test_ebird_taxonomy_synonyms(bird_tree):
    syn = phylo.synonyms_from_ebird_taxonomy(require_shared_data("ebird_auk", "ebird_taxonomy.csv"))
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
