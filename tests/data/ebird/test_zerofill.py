"""Tests of jsdm_hot.data.ebird.zerofill on the real auk EBD samples (../shared/data/ebird_auk) and broken copies of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data.ebird import EbirdFilters, zero_fill
from jsdm_hot.errors import InputDataError

from .auk import auk, read_rows, write_rows


def test_zero_fill_matches_expected_presence_absence():
    d = auk()
    wide = zero_fill(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt")
    exp = pd.read_csv(d / "zerofill_presence_absence.csv")
    assert len(wide) == 706  # 729 sampling events, groups collapsed
    assert wide.attrs["species"] == ["Alcedo meninting", "Halcyon smyrnensis", "Todiramphus chloris"]
    assert list(wide["checklist_id"]) == list(exp["checklist_id"])
    np.testing.assert_array_equal(wide["n_sampling_events"], exp["n_sampling_events"])
    for s in wide.attrs["species"]:
        np.testing.assert_array_equal(wide[s].to_numpy(), exp[s].to_numpy(), err_msg=s)
    assert wide[wide.attrs["species"]].sum().tolist() == [4, 71, 203]


def test_presences_match_ebd_rows_and_groups_are_collapsed():
    d = auk()
    wide = zero_fill(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt").set_index("checklist_id")
    header, rows = read_rows(d / "zerofill-ex_ebd.txt")
    sei, grp, sci = header.index("SAMPLING EVENT IDENTIFIER"), header.index("GROUP IDENTIFIER"), header.index("SCIENTIFIC NAME")
    expected = {((r[grp] or r[sei]), r[sci]) for r in rows}
    got = {(cid, s) for s in wide.attrs["species"] for cid in wide.index[wide[s] == 1]}
    assert got == expected
    # a shared checklist: its sampling events are all listed and its fields come from the smallest id
    g = wide.loc["G2470228"]
    assert g["n_sampling_events"] == 3
    assert g["sampling_event_ids"] == "S24992079,S37405228,S37448111"
    sh, srows = read_rows(d / "zerofill-ex_sampling.txt")
    first = next(r for r in srows if r[sh.index("SAMPLING EVENT IDENTIFIER")] == "S24992079")
    assert g["observation_date"] == first[sh.index("OBSERVATION DATE")]
    assert g["latitude"] == pytest.approx(float(first[sh.index("LATITUDE")]))


def test_ebd_only_checklists_and_group_collapse():
    d = auk()
    wide = zero_fill(d / "ebd-sample.txt")
    header, rows = read_rows(d / "ebd-sample.txt")
    c = {k: header.index(k) for k in ("SAMPLING EVENT IDENTIFIER", "GROUP IDENTIFIER", "ALL SPECIES REPORTED", "SCIENTIFIC NAME")}
    complete = [r for r in rows if r[c["ALL SPECIES REPORTED"]] == "1"]
    ids = {r[c["GROUP IDENTIFIER"]] or r[c["SAMPLING EVENT IDENTIFIER"]] for r in complete}
    assert len(complete) == 390
    assert set(wide["checklist_id"]) == ids and len(wide) == len(ids) < 390
    per_sp = pd.Series([s for s in {(r[c["GROUP IDENTIFIER"]] or r[c["SAMPLING EVENT IDENTIFIER"]], r[c["SCIENTIFIC NAME"]]) for r in complete}]).map(lambda t: t[1]).value_counts()
    assert wide[wide.attrs["species"]].sum().to_dict() == per_sp.to_dict()


@pytest.mark.parametrize("with_taxonomy", [False, True])
def test_rollup_keeps_species_drops_spuh_slash_hybrid_domestic(with_taxonomy):
    d = auk()
    tax = d / "ebird_taxonomy.csv" if with_taxonomy else None
    wide = zero_fill(d / "ebd-rollup-ex.txt", taxonomy=tax, filters=EbirdFilters(complete=False))
    assert wide.attrs["species"] == ["Fulica americana", "Loxia curvirostra", "Setophaga coronata"]
    header, rows = read_rows(d / "ebd-rollup-ex.txt")
    sei, cat, sci = (header.index(k) for k in ("SAMPLING EVENT IDENTIFIER", "CATEGORY", "SCIENTIFIC NAME"))
    # every checklist is kept (also those holding only spuh/slash/hybrid/domestic rows)
    assert set(wide["checklist_id"]) == {r[sei] for r in rows}
    wide = wide.set_index("checklist_id")
    # the 4 Yellow-rumped Warbler taxa (issf, species, intergrade) of a checklist become one presence
    yrwa = {r[sei] for r in rows if r[sci] == "Setophaga coronata"}
    assert set(wide.index[wide["Setophaga coronata"] == 1]) == yrwa
    assert {r[cat] for r in rows if r[sci] == "Setophaga coronata"} == {"issf", "species", "intergrade"}
    # forms roll up too: two Red Crossbill types
    assert wide["Loxia curvirostra"].sum() == len({r[sei] for r in rows if r[sci] == "Loxia curvirostra"})
    # domestic Rock Pigeon, gull hybrid / slash and spuhs are gone
    assert "Columba livia" not in wide.columns
    assert not any("/" in s or " x " in s or s.endswith(" sp.") for s in wide.attrs["species"])


def test_taxonomy_rolls_up_subspecies_names_and_reports_unknown(tmp_path, caplog):
    d = auk()
    header, rows = read_rows(d / "ebd-rollup-ex.txt")
    sci, cat = header.index("SCIENTIFIC NAME"), header.index("CATEGORY")
    rows = [list(r) for r in rows]
    rows[0][sci], rows[0][cat] = "Setophaga coronata auduboni", "issf"  # a subspecies name: report_as yerwar
    rows[1][sci], rows[1][cat] = "Nonexistens avis", "species"
    f = write_rows(tmp_path / "ebd.txt", header, rows)
    wide = zero_fill(f, taxonomy=d / "ebird_taxonomy.csv", filters=EbirdFilters(complete=False))
    assert "Setophaga coronata auduboni" not in wide.columns and "Nonexistens avis" not in wide.columns
    cid = rows[0][header.index("SAMPLING EVENT IDENTIFIER")]
    assert wide.set_index("checklist_id").loc[cid, "Setophaga coronata"] == 1
    assert "Nonexistens avis" in caplog.text


def test_missing_required_column_is_named(tmp_path):
    d = auk()
    header, rows = read_rows(d / "ebd-sample.txt")
    j = header.index("OBSERVATION COUNT")
    f = write_rows(tmp_path / "ebd.txt", header[:j] + header[j + 1:], [r[:j] + r[j + 1:] for r in rows])
    with pytest.raises(InputDataError, match=r"ebd.txt is missing required column\(s\) \['OBSERVATION COUNT'\]"):
        zero_fill(f)


@pytest.mark.parametrize("source, row, column, value, line", [
    ("zerofill-ex_sampling.txt", 40, "OBSERVATION DATE", "2012/03/05", 42),  # a malformed date in the sampling file
    ("ebd-sample.txt", 9, "OBSERVATION COUNT", "many", 11),                 # a count that is no number in the EBD
])
def test_bad_value_names_file_and_line(tmp_path, source, row, column, value, line):
    d = auk()
    header, rows = read_rows(d / source)
    rows[row][header.index(column)] = value
    bad = write_rows(tmp_path / source, header, rows)
    args = (d / "zerofill-ex_ebd.txt", bad) if "sampling" in source else (bad,)
    with pytest.raises(InputDataError, match=rf"{source}, line {line}: column '{column}' has value '{value}'"):
        zero_fill(*args)


def test_x_count_is_presence(tmp_path):
    d = auk()
    header, rows = read_rows(d / "ebd-sample.txt")
    h = {k: i for i, k in enumerate(header)}
    xs = [r for r in rows if r[h["OBSERVATION COUNT"]] == "X" and r[h["ALL SPECIES REPORTED"]] == "1"]
    assert xs
    wide = zero_fill(d / "ebd-sample.txt").set_index("checklist_id")
    for r in xs:
        assert wide.loc[r[h["GROUP IDENTIFIER"]] or r[h["SAMPLING EVENT IDENTIFIER"]], r[h["SCIENTIFIC NAME"]]] == 1


def test_sampling_file_that_does_not_match(tmp_path):
    d = auk()
    header, rows = read_rows(d / "zerofill-ex_sampling.txt")
    eh, erows = read_rows(d / "zerofill-ex_ebd.txt")
    target = erows[5][eh.index("SAMPLING EVENT IDENTIFIER")]
    assert not erows[5][eh.index("GROUP IDENTIFIER")]
    rows = [r for r in rows if r[header.index("SAMPLING EVENT IDENTIFIER")] != target]
    s = write_rows(tmp_path / "sampling.txt", header, rows)
    with pytest.raises(InputDataError, match=rf"not in sampling-event file .*sampling.txt.*{target}.*line 7"):
        zero_fill(d / "zerofill-ex_ebd.txt", s)
    # an EBD file given as the sampling file is not a sampling file either way: wrong columns are named
    with pytest.raises(InputDataError, match="missing required column"):
        zero_fill(d / "zerofill-ex_ebd.txt", d / "zerofill_presence_absence.csv")


def test_row_with_missing_fields_names_file_and_line(tmp_path):
    d = auk()
    header, rows = read_rows(d / "ebd-sample.txt")
    rows[5] = rows[5][:-2]
    f = write_rows(tmp_path / "ebd.txt", header, rows)
    with pytest.raises(InputDataError, match=r"(?s)could not read .*ebd.txt.*Line: 7.*Expected Number of Columns: 52 Found: 50"):
        zero_fill(f)
