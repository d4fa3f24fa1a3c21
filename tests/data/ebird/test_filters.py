"""Tests of jsdm_hot.data.ebird.filters: EbirdFilters checked against a Python reference on the auk samples."""

from __future__ import annotations

import pytest

from jsdm_hot.data.ebird import EbirdFilters, zero_fill
from jsdm_hot.errors import InputDataError

from .auk import auk, read_rows, write_rows


def test_filters_match_a_python_reference():
    d = auk()
    f = EbirdFilters(country="US", protocol=("stationary", "Traveling"), duration_minutes=(None, 120),
                     months=(5, 6, 7), species=("Blue Jay",))
    wide = zero_fill(d / "ebd-sample.txt", filters=f)
    header, rows = read_rows(d / "ebd-sample.txt")
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


def test_effort_filters_match_a_python_reference():
    d = auk()
    f = EbirdFilters(distance_km=(None, 2.0), n_observers=(1, 2), time_started=("06:00", "10:30"))
    wide = zero_fill(d / "ebd-sample.txt", filters=f)
    header, rows = read_rows(d / "ebd-sample.txt")
    h = {k: i for i, k in enumerate(header)}

    def dist(r):
        v = r[h["EFFORT DISTANCE KM"]]
        return float(v) if v else (0.0 if r[h["PROTOCOL NAME"]] == "Stationary" else None)

    keep = {r[h["GROUP IDENTIFIER"]] or r[h["SAMPLING EVENT IDENTIFIER"]] for r in rows
            if r[h["ALL SPECIES REPORTED"]] == "1" and dist(r) is not None and dist(r) <= 2.0
            and r[h["NUMBER OBSERVERS"]] and 1 <= int(r[h["NUMBER OBSERVERS"]]) <= 2
            and "06:00:00" <= r[h["TIME OBSERVATIONS STARTED"]] <= "10:30:00"}
    assert set(wide["checklist_id"]) == keep and 0 < len(keep) < 382


def test_distance_filter_counts_stationary_under_old_protocol_names_as_0_km(tmp_path):
    # EBD releases before 2018 call it "eBird - Stationary Count": still no distance, still 0 km
    d = auk()
    header, rows = read_rows(d / "ebd-sample.txt")
    j = header.index("PROTOCOL NAME")
    assert sum(r[j] == "Stationary" for r in rows) > 100
    old = write_rows(tmp_path / "ebd_old_names.txt", header,
                     [[("eBird - Stationary Count" if (i == j and v == "Stationary") else v) for i, v in enumerate(r)]
                      for r in rows])
    f = EbirdFilters(distance_km=(None, 2.0))
    ref = zero_fill(d / "ebd-sample.txt", filters=f)
    got = zero_fill(old, filters=f)
    assert list(got["checklist_id"]) == list(ref["checklist_id"])
    assert (got["protocol"] == "eBird - Stationary Count").sum() == (ref["protocol"] == "Stationary").sum() > 0


def test_best_practice_filters_and_their_description():
    from jsdm_hot.data.ebird import BEST_PRACTICE, BEST_PRACTICE_MIN_DETECTIONS

    f = EbirdFilters.best_practice(state="US-GA")
    assert (f.protocol, f.duration_minutes, f.distance_km, f.n_observers) == (("Stationary", "Traveling"), (None, 300.0),
                                                                            (None, 5.0), (None, 10))
    assert f.complete and f.approved and f.state == ("US-GA",) and BEST_PRACTICE_MIN_DETECTIONS == 10
    assert EbirdFilters.best_practice(distance_km=None).distance_km is None
    assert set(BEST_PRACTICE) <= {fl for fl in EbirdFilters.__dataclass_fields__}
    assert f.describe() == ("complete checklists only; approved records only; state in US-GA; protocol in Stationary, "
                            "Traveling; duration <= 300 min; distance <= 5 km (stationary = 0 km); observers <= 10")
    g = EbirdFilters(complete=False, approved=False, duration_minutes=(5, None), date=("2020-01-01", None),
                     time_started=("05:00", None))
    assert g.describe() == ("incomplete checklists kept (no true absences); date 2020-01-01 to ...; duration >= 5 min; "
                            "start time 05:00:00 to ...")
