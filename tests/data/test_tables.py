"""Tests of wide-table I/O (jsdm_hot.data.tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data import CommunityData, read_table, read_wide_csv, simulate_community, write_wide_csv
from jsdm_hot.errors import InputDataError


@pytest.fixture(scope="module")
def sim_data():
    return simulate_community(n_sites=60, n_species=7, n_covariates=3, n_mc=2, seed=11).data


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.csv.gz", "t.parquet"])
def test_round_trip_is_exact(tmp_path, sim_data, name):
    p = write_wide_csv(sim_data, tmp_path / name)
    back = read_wide_csv(p)
    assert back.species == sim_data.species and back.covariates == sim_data.covariates
    np.testing.assert_array_equal(back.X, sim_data.X)
    np.testing.assert_array_equal(back.Y, sim_data.Y)
    np.testing.assert_array_equal(back.coords, sim_data.coords)
    assert list(back.site_ids) == list(sim_data.site_ids)
    assert back.crs == "EPSG:4326" and back.source == str(p)
    assert [q.name for q in tmp_path.iterdir()] == [name]  # no temporary file left


def test_round_trip_of_full_precision_floats_and_text_ids(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 2)) * 1e3
    data = CommunityData.from_arrays(X, rng.integers(0, 2, (5, 3)), site_ids=["007", "08", "x1", "10", "011"],
                                     species=["Turdus migratorius", "Anas platyrhynchos", "sp 3"],
                                     covariates=["a", "b"], coords=rng.uniform(-10, 10, (5, 2)))
    p = write_wide_csv(data, tmp_path / "d.csv")
    back = read_wide_csv(p)
    np.testing.assert_array_equal(back.X, X)  # bit-exact
    assert list(back.site_ids) == ["007", "08", "x1", "10", "011"]  # ids stay text
    assert back.species == data.species


def test_write_is_atomic_on_failure(tmp_path, sim_data, monkeypatch):
    p = write_wide_csv(sim_data, tmp_path / "d.csv")
    before = p.read_bytes()

    def boom(self, path, *a, **k):
        with open(path, "w") as fh:
            fh.write("partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_wide_csv(sim_data.subset([0, 1]), p)
    assert p.read_bytes() == before
    assert [q.name for q in tmp_path.iterdir()] == ["d.csv"]


def test_write_into_missing_folder_names_it(tmp_path, sim_data):
    with pytest.raises(InputDataError, match="does not exist"):
        write_wide_csv(sim_data, tmp_path / "nope" / "d.csv")


def test_default_rule_and_explicit_columns(tmp_path):
    p = _write(tmp_path / "d.csv",
               "site_id,lon,lat,temp,count,habitat,Turdus migratorius,sp_b\n"
               "s1,1.0,2.0,0.5,3,wood,1,0\n"
               "s2,1.5,2.5,0.7,0,field,0,1\n"
               "s3,2.0,3.0,0.1,1,wood,1,1\n")
    d = read_wide_csv(p)
    assert d.species == ("Turdus migratorius", "sp_b")
    assert d.covariates == ("temp", "count")  # 0/1/3 is a count, not an occurrence
    assert list(d.extra.columns) == ["habitat"]
    np.testing.assert_array_equal(d.Y, [[1, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(d.coords, [[1.0, 2.0], [1.5, 2.5], [2.0, 3.0]])
    d2 = read_wide_csv(p, species_prefix="sp_", covariate_cols=["temp"])
    assert d2.species == ("sp_b",) and d2.covariates == ("temp",)
    assert list(d2.extra.columns) == ["count", "habitat", "Turdus migratorius"]
    # None means "recognise by name": site id and coordinates are still found
    d3 = read_wide_csv(p, species_cols=["sp_b", "Turdus migratorius"], site_col=None, lon_col=None, lat_col=None)
    assert d3.species == ("sp_b", "Turdus migratorius") and d3.covariates == ("temp", "count")
    assert list(d3.site_ids) == ["s1", "s2", "s3"] and d3.coords is not None
    # explicit roles: coordinates may also be covariates when named so
    d4 = read_wide_csv(p, species_cols=["sp_b"], covariate_cols=["lat", "temp"], lon_col="lon", lat_col="lat")
    assert d4.covariates == ("lat", "temp") and d4.X[:, 0].tolist() == d4.coords[:, 1].tolist()


def test_missing_file(tmp_path):
    with pytest.raises(InputDataError, match=r"file not found: .*absent\.csv"):
        read_wide_csv(tmp_path / "absent.csv")


@pytest.mark.parametrize("content, match", [
    ("", r"empty \(0 bytes\)"),
    ("\n\n", r"empty \(no header row\)"),
    ("site_id,temp,sp_a\n", "has a header but no data rows"),
])
def test_empty_files(tmp_path, content, match):
    p = _write(tmp_path / "e.csv", content)
    with pytest.raises(InputDataError, match=match) as err:
        read_wide_csv(p)
    assert str(p) in str(err.value)


def test_unparsable_row_names_file_and_data_row(tmp_path):
    p = _write(tmp_path / "bad.csv", "site_id,temp,sp_a\na,0.5,1\nb,0.2,0\nc,0.1,0,9\n")
    with pytest.raises(InputDataError) as err:
        read_wide_csv(p)
    msg = str(err.value)
    assert str(p) in msg and "data row 3 (line 4 of the file)" in msg


def test_unknown_suffix_and_directory(tmp_path):
    with pytest.raises(InputDataError, match=r"cannot tell the table format of .*d\.xlsx"):
        read_wide_csv(_write(tmp_path / "d.xlsx", "a\n1\n"))
    with pytest.raises(InputDataError, match="is a directory"):
        read_wide_csv(tmp_path)


def test_no_species_columns(tmp_path):
    p = _write(tmp_path / "n.csv", "site_id,temp,rain\na,0.5,1.5\nb,0.1,2.5\n")
    with pytest.raises(InputDataError, match=r"found no 0/1 species columns in .*n\.csv; name them with --species-cols "
                                             r"\(species_cols\) or --species-prefix \(species_prefix\)"):
        read_wide_csv(p)
    d = read_wide_csv(p, require_species=False)
    assert d.Y is None and d.covariates == ("temp", "rain")
    with pytest.raises(InputDataError, match=r"no column starts with species prefix 'sp_' in .*n\.csv"):
        read_wide_csv(p, species_prefix="sp_")


def test_non_binary_species_value_names_column_row_and_file(tmp_path):
    p = _write(tmp_path / "v.csv", "site_id,temp,sp_a,sp_b\na,0.5,1,0\nb,0.1,0,1\nc,0.3,2,0\n")
    with pytest.raises(InputDataError) as err:
        read_wide_csv(p, species_prefix="sp_")
    msg = str(err.value)
    assert "column 'sp_a'" in msg and "has value 2 at row 3" in msg and str(p) in msg and "0/1" in msg
    with pytest.raises(InputDataError, match=r"column 'sp_b' in .*w\.csv has value 'yes' at row 1"):
        read_wide_csv(_write(tmp_path / "w.csv", "site_id,temp,sp_b\na,0.5,yes\n"), species_cols=["sp_b"])


def test_nan_covariate_names_column_row_and_file(tmp_path):
    p = _write(tmp_path / "c.csv", "site_id,temp,rain,sp_a\na,0.5,1.0,1\nb,,2.0,0\n")
    with pytest.raises(InputDataError, match=r"covariate column 'temp' from .*c\.csv is empty at data row 2 \(site 'b'\) "
                                             r"\(1 empty cells in all\); covariates must be numbers"):
        read_wide_csv(p, covariate_cols=["temp", "rain"])
    q = _write(tmp_path / "t.csv", "site_id,temp,sp_a\na,0.5,1\nb,warm,0\n")
    with pytest.raises(InputDataError, match=r"covariate column 'temp' in .*t\.csv has non-numeric value 'warm' at row 2"):
        read_wide_csv(q, covariate_cols=["temp"])


def test_guessed_covariates_leave_out_columns_with_empty_cells(tmp_path, caplog):
    p = _write(tmp_path / "c.csv", "site_id,temp,rain,sp_a\na,0.5,1.0,1\nb,,2.0,0\n")
    with caplog.at_level("WARNING"):
        d = read_wide_csv(p)
    assert d.covariates == ("rain",)
    assert "left out of the covariates because they have empty cells" in caplog.text and "temp (1 empty" in caplog.text


def test_duplicate_site_ids(tmp_path):
    p = _write(tmp_path / "d.csv", "site_id,temp,sp_a\nx,0.5,1\ny,0.1,0\nx,0.3,0\n")
    with pytest.raises(InputDataError, match=r"site id 'x' in .*d\.csv appears twice \(rows 1 and 3\)"):
        read_wide_csv(p)


def test_missing_named_columns(tmp_path):
    p = _write(tmp_path / "m.csv", "site_id,temp,sp_a\nx,0.5,1\n")
    with pytest.raises(InputDataError, match=r"species columns \['sp_z'\] in .*m\.csv not found; the columns are"):
        read_wide_csv(p, species_cols=["sp_a", "sp_z"])
    with pytest.raises(InputDataError, match=r"covariate columns \['elev'\] in .*m\.csv not found"):
        read_wide_csv(p, covariate_cols=["elev"])


def test_read_table_formats(tmp_path):
    df = pd.DataFrame({"site_id": ["a", "b"], "x": [0.25, -1.5], "sp": [1, 0]})
    df.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    df.to_parquet(tmp_path / "t.parquet", index=False)
    for name in ("t.tsv", "t.parquet"):
        got = read_table(tmp_path / name)
        assert list(got.columns) == ["site_id", "x", "sp"]
        np.testing.assert_array_equal(got["x"].to_numpy(), [0.25, -1.5])
    with pytest.raises(InputDataError, match=r"cannot read .*broken\.parquet as Parquet"):
        read_table(_write(tmp_path / "broken.parquet", "not parquet"))
