"""eBird ingest on the real auk EBD samples (../shared/data/ebird_auk) and on broken copies of them."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data

from jsdm_hot.data.ebird import (
    EbirdFilters,
    best_hour,
    effort_covariates,
    load_ebird,
    standard_effort,
    with_standard_effort,
    zero_fill,
)
from jsdm_hot.errors import InputDataError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def _auk() -> Path:
    return require_shared_data("ebird_auk")


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as fh:
        r = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return r[0], r[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return path


# ----------------------------------------------------------------------------- zero fill
def test_zero_fill_matches_expected_presence_absence():
    d = _auk()
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
    d = _auk()
    wide = zero_fill(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt").set_index("checklist_id")
    header, rows = _rows(d / "zerofill-ex_ebd.txt")
    sei, grp, sci = header.index("SAMPLING EVENT IDENTIFIER"), header.index("GROUP IDENTIFIER"), header.index("SCIENTIFIC NAME")
    expected = {((r[grp] or r[sei]), r[sci]) for r in rows}
    got = {(cid, s) for s in wide.attrs["species"] for cid in wide.index[wide[s] == 1]}
    assert got == expected
    # a shared checklist: its sampling events are all listed and its fields come from the smallest id
    g = wide.loc["G2470228"]
    assert g["n_sampling_events"] == 3
    assert g["sampling_event_ids"] == "S24992079,S37405228,S37448111"
    sh, srows = _rows(d / "zerofill-ex_sampling.txt")
    first = next(r for r in srows if r[sh.index("SAMPLING EVENT IDENTIFIER")] == "S24992079")
    assert g["observation_date"] == first[sh.index("OBSERVATION DATE")]
    assert g["latitude"] == pytest.approx(float(first[sh.index("LATITUDE")]))


def test_ebd_only_checklists_and_group_collapse():
    d = _auk()
    wide = zero_fill(d / "ebd-sample.txt")
    header, rows = _rows(d / "ebd-sample.txt")
    c = {k: header.index(k) for k in ("SAMPLING EVENT IDENTIFIER", "GROUP IDENTIFIER", "ALL SPECIES REPORTED", "SCIENTIFIC NAME")}
    complete = [r for r in rows if r[c["ALL SPECIES REPORTED"]] == "1"]
    ids = {r[c["GROUP IDENTIFIER"]] or r[c["SAMPLING EVENT IDENTIFIER"]] for r in complete}
    assert len(complete) == 390
    assert set(wide["checklist_id"]) == ids and len(wide) == len(ids) < 390
    per_sp = pd.Series([s for s in {(r[c["GROUP IDENTIFIER"]] or r[c["SAMPLING EVENT IDENTIFIER"]], r[c["SCIENTIFIC NAME"]]) for r in complete}]).map(lambda t: t[1]).value_counts()
    assert wide[wide.attrs["species"]].sum().to_dict() == per_sp.to_dict()


@pytest.mark.parametrize("with_taxonomy", [False, True])
def test_rollup_keeps_species_drops_spuh_slash_hybrid_domestic(with_taxonomy):
    d = _auk()
    tax = d / "ebird_taxonomy.csv" if with_taxonomy else None
    wide = zero_fill(d / "ebd-rollup-ex.txt", taxonomy=tax, filters=EbirdFilters(complete=False))
    assert wide.attrs["species"] == ["Fulica americana", "Loxia curvirostra", "Setophaga coronata"]
    header, rows = _rows(d / "ebd-rollup-ex.txt")
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
    d = _auk()
    header, rows = _rows(d / "ebd-rollup-ex.txt")
    sci, cat = header.index("SCIENTIFIC NAME"), header.index("CATEGORY")
    rows = [list(r) for r in rows]
    rows[0][sci], rows[0][cat] = "Setophaga coronata auduboni", "issf"  # a subspecies name: report_as yerwar
    rows[1][sci], rows[1][cat] = "Nonexistens avis", "species"
    f = _write(tmp_path / "ebd.txt", header, rows)
    wide = zero_fill(f, taxonomy=d / "ebird_taxonomy.csv", filters=EbirdFilters(complete=False))
    assert "Setophaga coronata auduboni" not in wide.columns and "Nonexistens avis" not in wide.columns
    cid = rows[0][header.index("SAMPLING EVENT IDENTIFIER")]
    assert wide.set_index("checklist_id").loc[cid, "Setophaga coronata"] == 1
    assert "Nonexistens avis" in caplog.text


def test_filters_match_a_python_reference():
    d = _auk()
    f = EbirdFilters(country="US", protocol=("stationary", "Traveling"), duration_minutes=(None, 120),
                     months=(5, 6, 7), species=("Blue Jay",))
    wide = zero_fill(d / "ebd-sample.txt", filters=f)
    header, rows = _rows(d / "ebd-sample.txt")
    h = {k: i for i, k in enumerate(header)}
    keep = [r for r in rows if r[h["ALL SPECIES REPORTED"]] == "1" and r[h["COUNTRY CODE"]] == "US"
            and r[h["PROTOCOL NAME"]] in ("Stationary", "Traveling") and r[h["DURATION MINUTES"]]
            and float(r[h["DURATION MINUTES"]]) <= 120 and int(r[h["OBSERVATION DATE"]][5:7]) in (5, 6, 7)]
    ids = {r[h["GROUP IDENTIFIER"]] or r[h["SAMPLING EVENT IDENTIFIER"]] for r in keep}
    assert set(wide["checklist_id"]) == ids
    assert wide.attrs["species"] == ["Cyanocitta cristata"]
    det = {r[h["GROUP IDENTIFIER"]] or r[h["SAMPLING EVENT IDENTIFIER"]] for r in keep if r[h["COMMON NAME"]] == "Blue Jay"}
    assert set(wide.loc[wide["Cyanocitta cristata"] == 1, "checklist_id"]) == det
    # bbox and date range
    wide2 = zero_fill(d / "ebd-sample.txt", filters=EbirdFilters(bbox=(-100, 25, -80, 40), date=("2011-01-01", "2011-12-31")))
    keep2 = {r[h["GROUP IDENTIFIER"]] or r[h["SAMPLING EVENT IDENTIFIER"]] for r in rows
             if r[h["ALL SPECIES REPORTED"]] == "1" and -100 <= float(r[h["LONGITUDE"]]) <= -80
             and 25 <= float(r[h["LATITUDE"]]) <= 40 and r[h["OBSERVATION DATE"]].startswith("2011")}
    assert set(wide2["checklist_id"]) == keep2 and len(keep2) > 0


def test_bad_filters_raise():
    with pytest.raises(InputDataError, match="months"):
        EbirdFilters(months=(13,))
    with pytest.raises(InputDataError, match="bbox"):
        EbirdFilters(bbox=(10, 0, 0, 10))
    with pytest.raises(InputDataError, match="not a date"):
        EbirdFilters(date=("2020-13-01", None))


# ----------------------------------------------------------------------------- bad input
def test_missing_required_column_is_named(tmp_path):
    d = _auk()
    header, rows = _rows(d / "ebd-sample.txt")
    j = header.index("OBSERVATION COUNT")
    f = _write(tmp_path / "ebd.txt", header[:j] + header[j + 1:], [r[:j] + r[j + 1:] for r in rows])
    with pytest.raises(InputDataError, match=r"ebd.txt is missing required column\(s\) \['OBSERVATION COUNT'\]"):
        zero_fill(f)


def test_malformed_date_names_file_and_line(tmp_path):
    d = _auk()
    header, rows = _rows(d / "zerofill-ex_sampling.txt")
    rows[40][header.index("OBSERVATION DATE")] = "2012/03/05"
    s = _write(tmp_path / "sampling.txt", header, rows)
    with pytest.raises(InputDataError, match=r"sampling.txt, line 42: column 'OBSERVATION DATE' has value '2012/03/05'"):
        zero_fill(d / "zerofill-ex_ebd.txt", s)


def test_non_numeric_count_names_file_and_line(tmp_path):
    d = _auk()
    header, rows = _rows(d / "ebd-sample.txt")
    rows[9][header.index("OBSERVATION COUNT")] = "many"
    f = _write(tmp_path / "ebd.txt", header, rows)
    with pytest.raises(InputDataError, match=r"ebd.txt, line 11: column 'OBSERVATION COUNT' has value 'many'"):
        zero_fill(f)


def test_x_count_is_presence(tmp_path):
    d = _auk()
    header, rows = _rows(d / "ebd-sample.txt")
    h = {k: i for i, k in enumerate(header)}
    xs = [r for r in rows if r[h["OBSERVATION COUNT"]] == "X" and r[h["ALL SPECIES REPORTED"]] == "1"]
    assert xs
    wide = zero_fill(d / "ebd-sample.txt").set_index("checklist_id")
    for r in xs:
        assert wide.loc[r[h["GROUP IDENTIFIER"]] or r[h["SAMPLING EVENT IDENTIFIER"]], r[h["SCIENTIFIC NAME"]]] == 1


def test_sampling_file_that_does_not_match(tmp_path):
    d = _auk()
    header, rows = _rows(d / "zerofill-ex_sampling.txt")
    eh, erows = _rows(d / "zerofill-ex_ebd.txt")
    target = erows[5][eh.index("SAMPLING EVENT IDENTIFIER")]
    assert not erows[5][eh.index("GROUP IDENTIFIER")]
    rows = [r for r in rows if r[header.index("SAMPLING EVENT IDENTIFIER")] != target]
    s = _write(tmp_path / "sampling.txt", header, rows)
    with pytest.raises(InputDataError, match=rf"not in sampling-event file .*sampling.txt.*{target}.*line 7"):
        zero_fill(d / "zerofill-ex_ebd.txt", s)
    # an EBD file given as the sampling file is not a sampling file either way: wrong columns are named
    with pytest.raises(InputDataError, match="missing required column"):
        zero_fill(d / "zerofill-ex_ebd.txt", d / "zerofill_presence_absence.csv")


# ----------------------------------------------------------------------------- effort + CommunityData
def test_effort_covariates_hand_computed():
    frame = pd.DataFrame({
        "duration_minutes": [90, 30, None], "effort_distance_km": [2.5, None, None],
        "number_observers": [2, 1, 1], "protocol": ["Traveling", "Stationary", "Incidental"],
        "time_observations_started": ["06:00:00", "18:30:00", ""],
        "observation_date": ["2012-01-01", "2012-07-01", "2012-12-31"],
    })
    cov = effort_covariates(frame)
    assert cov["duration_h"].tolist()[:2] == [1.5, 0.5] and np.isnan(cov["duration_h"][2])
    assert cov["distance_km"].tolist()[:2] == [2.5, 0.0] and np.isnan(cov["distance_km"][2])  # stationary -> 0
    assert cov[["protocol_traveling", "protocol_area", "protocol_other"]].to_numpy().tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 1]]
    np.testing.assert_allclose(cov["time_sin"][:2], [1.0, np.sin(2 * np.pi * 18.5 / 24)], atol=1e-12)
    np.testing.assert_allclose(cov["time_cos"][:2], [0.0, np.cos(2 * np.pi * 18.5 / 24)], atol=1e-12)
    np.testing.assert_allclose(cov["doy_sin"], np.sin(2 * np.pi * np.array([1, 183, 366]) / 365.25))
    assert cov["year"].tolist() == [2012.0] * 3
    assert effort_covariates(frame, include=("time",), time_encoding="hours")["time_h"].tolist()[:2] == [6.0, 18.5]


def test_load_ebird_and_standard_effort():
    d = _auk()
    data = load_ebird(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt",
                      filters=EbirdFilters(protocol=("Stationary", "Traveling")))
    wide = zero_fill(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt",
                     filters=EbirdFilters(protocol=("Stationary", "Traveling"))).set_index("checklist_id")
    assert data.n_sites <= len(wide) and data.crs == "EPSG:4326"
    assert np.isfinite(data.X).all()
    i = 0
    cid = data.site_ids[i]
    assert tuple(data.coords[i]) == (wide.loc[cid, "longitude"], wide.loc[cid, "latitude"])
    for j, s in enumerate(data.species):
        assert data.Y[i, j] == wide.loc[cid, s]
    assert "observation_date" in data.extra.columns
    std = standard_effort(hour=6.0)
    assert std["duration_h"] == 1.0 and std["distance_km"] == 1.0 and std["protocol_traveling"] == 1.0
    assert std["time_sin"] == pytest.approx(1.0) and "doy_sin" not in std
    std_data = with_standard_effort(data, hour=6.0)
    k = data.covariates.index("duration_h")
    assert (std_data.X[:, k] == 1.0).all()
    d_idx = data.covariates.index("doy_sin")
    np.testing.assert_array_equal(std_data.X[:, d_idx], data.X[:, d_idx])  # no date given: kept

    t_sin = data.covariates.index("time_sin")
    t_cos = data.covariates.index("time_cos")

    def fake_proba(cd):  # species 0 peaks at 06:00, species 1 at 18:00
        h = (np.degrees(np.arctan2(cd.X[:, t_sin], cd.X[:, t_cos])) / 15.0) % 24
        return np.column_stack([-np.abs(h - 6.0), -np.abs(h - 18.0)])

    np.testing.assert_array_equal(best_hour(fake_proba, data), [6.0, 18.0])


def test_missing_effort_error_mode():
    d = _auk()
    with pytest.raises(InputDataError, match="lack effort values"):
        load_ebird(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt", missing_effort="error")


# ----------------------------------------------------------------------------- CLI
def test_cli_prepare_writes_wide_tables(tmp_path):
    from typer.testing import CliRunner

    from jsdm_hot.cli import app

    d = _auk()
    out = tmp_path / "wide.csv"
    res = CliRunner().invoke(app, ["prepare", str(d / "zerofill-ex_ebd.txt"), "--sampling", str(d / "zerofill-ex_sampling.txt"),
                                   "--protocol", "Stationary,Traveling", "--max-duration", "300", "--out", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    ref = load_ebird(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt",
                     filters=EbirdFilters(protocol=("Stationary", "Traveling"), duration_minutes=(None, 300)))
    assert list(df["site_id"]) == list(ref.site_ids)
    for j, s in enumerate(ref.species):
        np.testing.assert_array_equal(df[s].to_numpy(), ref.Y[:, j])
    np.testing.assert_allclose(df["duration_h"], ref.X[:, ref.covariates.index("duration_h")])
    assert f"{ref.n_sites} checklists" in res.output
    pq = tmp_path / "wide.parquet"
    res = CliRunner().invoke(app, ["prepare", str(d / "zerofill-ex_ebd.txt"), "--sampling", str(d / "zerofill-ex_sampling.txt"),
                                   "--species", "Collared Kingfisher", "--out", str(pq)])
    assert res.exit_code == 0, res.output
    assert "Todiramphus chloris" in pd.read_parquet(pq).columns
    res = CliRunner().invoke(app, ["prepare", str(d / "zerofill-ex_sampling.txt"), "--out", str(out)])
    assert isinstance(res.exception, InputDataError) and "missing required column" in str(res.exception)


def test_effort_filters_match_a_python_reference():
    d = _auk()
    f = EbirdFilters(distance_km=(None, 2.0), n_observers=(1, 2), time_started=("06:00", "10:30"))
    wide = zero_fill(d / "ebd-sample.txt", filters=f)
    header, rows = _rows(d / "ebd-sample.txt")
    h = {k: i for i, k in enumerate(header)}

    def dist(r):
        v = r[h["EFFORT DISTANCE KM"]]
        return float(v) if v else (0.0 if r[h["PROTOCOL NAME"]] == "Stationary" else None)

    keep = {r[h["GROUP IDENTIFIER"]] or r[h["SAMPLING EVENT IDENTIFIER"]] for r in rows
            if r[h["ALL SPECIES REPORTED"]] == "1" and dist(r) is not None and dist(r) <= 2.0
            and r[h["NUMBER OBSERVERS"]] and 1 <= int(r[h["NUMBER OBSERVERS"]]) <= 2
            and "06:00:00" <= r[h["TIME OBSERVATIONS STARTED"]] <= "10:30:00"}
    assert set(wide["checklist_id"]) == keep and 0 < len(keep) < 382


def test_row_with_missing_fields_names_file_and_line(tmp_path):
    d = _auk()
    header, rows = _rows(d / "ebd-sample.txt")
    rows[5] = rows[5][:-2]
    f = _write(tmp_path / "ebd.txt", header, rows)
    with pytest.raises(InputDataError, match=r"(?s)could not read .*ebd.txt.*Line: 7.*Expected Number of Columns: 52 Found: 50"):
        zero_fill(f)
