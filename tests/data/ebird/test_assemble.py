"""Tests of jsdm_hot.data.ebird.assemble: load_ebird on the auk zero-fill example."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.data.ebird import EbirdFilters, best_hour, load_ebird, standard_effort, with_standard_effort, zero_fill
from jsdm_hot.errors import InputDataError

from .auk import auk, read_rows, write_rows


def test_load_ebird_and_standard_effort():
    d = auk()
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
    d = auk()
    with pytest.raises(InputDataError, match="lack effort values"):
        load_ebird(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt", missing_effort="error")


def test_missing_distance_is_blamed_on_the_sampling_file_and_its_column(tmp_path):
    # effort fields come from the sampling-event file: a traveling checklist without distance is reported there,
    # with the column and the protocol; stationary checklists (no distance recorded) count 0 km and pass
    d = auk()
    header, rows = read_rows(d / "zerofill-ex_sampling.txt")
    h = {k: i for i, k in enumerate(header)}
    assert any(r[h["PROTOCOL NAME"]] == "Stationary" and not r[h["EFFORT DISTANCE KM"]] for r in rows)
    k = next(i for i, r in enumerate(rows) if r[h["PROTOCOL NAME"]] == "Traveling" and r[h["ALL SPECIES REPORTED"]] == "1"
             and not r[h["GROUP IDENTIFIER"]])
    sei = rows[k][h["SAMPLING EVENT IDENTIFIER"]]
    f = EbirdFilters(protocol=("Stationary", "Traveling"))
    ok = load_ebird(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt", filters=f, missing_effort="error")
    stationary = ok.extra["protocol"].to_numpy() == "Stationary"
    assert stationary.any() and (ok.X[stationary, ok.covariates.index("distance_km")] == 0).all()
    rows[k][h["EFFORT DISTANCE KM"]] = ""
    samp = write_rows(tmp_path / "my_sampling.txt", header, rows)
    with pytest.raises(InputDataError) as info:
        load_ebird(d / "zerofill-ex_ebd.txt", samp, filters=f, missing_effort="error")
    msg = str(info.value)
    assert f"1 of {ok.n_sites} checklists from sampling-event file {samp} lack effort values" in msg
    assert f"checklist {sei!r}: ['distance_km'], empty or invalid in column(s) ['EFFORT DISTANCE KM']" in msg
    assert "its protocol is 'Traveling'" in msg
    assert "zerofill-ex_ebd.txt" not in msg
    # without a sampling file the checklist fields come from the EBD, which is then named
    with pytest.raises(InputDataError, match=r"checklists from EBD file .*ebd-sample\.txt lack effort values"):
        load_ebird(d / "ebd-sample.txt", missing_effort="error")
