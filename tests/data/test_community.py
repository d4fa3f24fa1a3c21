"""Tests of CommunityData (jsdm_hot.data.community)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data.community import CommunityData, check_covariates, check_occurrences
from jsdm_hot.errors import InputDataError


@pytest.fixture
def frame():
    return pd.DataFrame({
        "site_id": ["a", "b", "c", "d"],
        "lon": [-80.0, -80.5, -81.0, -81.5],
        "lat": [35.0, 35.5, 36.0, 36.5],
        "temp": [0.1, 0.2, 0.3, 0.4],
        "visits": [0, 1, 2, 1],          # integer but not 0/1: a covariate
        "observer": ["x", "y", "x", "z"],  # text: kept in extra
        "Anas platyrhynchos": [1, 0, 1, 0],
        "sp_b": [0, 0, 1, 1],
        "flag": [True, False, True, True],  # booleans are occurrences
    })


def test_from_frame_default_rule(frame):
    d = CommunityData.from_frame(frame, source="f.csv")
    assert d.species == ("Anas platyrhynchos", "sp_b", "flag")
    assert d.covariates == ("temp", "visits")
    assert list(d.extra.columns) == ["observer"]
    np.testing.assert_array_equal(d.Y, [[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 1]])
    assert d.Y.dtype == np.uint8 and d.X.dtype == np.float64
    np.testing.assert_array_equal(d.X[:, 1], [0, 1, 2, 1])
    np.testing.assert_array_equal(d.coords, frame[["lon", "lat"]].to_numpy())
    assert list(d.site_ids) == ["a", "b", "c", "d"] and d.crs == "EPSG:4326"
    assert (d.n_sites, d.n_features, d.n_species) == (4, 2, 3)


def test_from_frame_explicit_roles(frame):
    d = CommunityData.from_frame(frame, covariate_cols=["temp", "sp_b"])
    assert d.covariates == ("temp", "sp_b")  # a 0/1 column named a covariate stays one
    assert d.species == ("Anas platyrhynchos", "flag")
    assert list(d.extra.columns) == ["visits", "observer"]
    d = CommunityData.from_frame(frame, species_prefix="sp_")
    assert d.species == ("sp_b",)  # the prefix is kept in the name
    d = CommunityData.from_frame(frame, species_cols="sp_b")  # a single name, not its letters
    assert d.species == ("sp_b",)
    d = CommunityData.from_frame(frame.drop(columns=["site_id", "lon", "lat"]))
    assert d.coords is None and d.crs is None and list(d.site_ids) == ["site_0", "site_1", "site_2", "site_3"]


def test_from_frame_errors(frame):
    with pytest.raises(InputDataError, match=r"species columns \['nope'\] in f\.csv not found"):
        CommunityData.from_frame(frame, species_cols=["sp_b", "nope"], source="f.csv")
    with pytest.raises(InputDataError, match=r"coordinate column 'lon' in f\.csv is present but 'lat' is not"):
        CommunityData.from_frame(frame.drop(columns=["lat"]), source="f.csv")
    f2 = frame.astype({"site_id": object})
    f2.loc[2, "site_id"] = None
    with pytest.raises(InputDataError, match=r"site id column 'site_id' in f\.csv is empty at row 3"):
        CommunityData.from_frame(f2, source="f.csv")
    with pytest.raises(InputDataError, match="found no 0/1 species columns"):
        CommunityData.from_frame(frame[["site_id", "temp"]])
    assert CommunityData.from_frame(frame[["site_id", "temp"]], require_species=False).Y is None


def test_from_arrays_validation():
    X = np.zeros((3, 2))
    with pytest.raises(InputDataError, match=r"column 'b' in g\.csv has value 2 at row 2; occurrence columns must be 0/1"):
        CommunityData.from_arrays(X, [[0, 1], [1, 2], [0, 0]], species=["a", "b"], source="g.csv")
    with pytest.raises(InputDataError, match=r"covariate column 'x_1' has value inf at row 3"):
        CommunityData.from_arrays([[0, 0], [1, 1], [2, np.inf]])
    with pytest.raises(InputDataError, match=r"species name 'a' appears twice \(positions 1 and 2\)"):
        CommunityData.from_arrays(X, np.zeros((3, 2)), species=["a", "a"])
    with pytest.raises(InputDataError, match="occurrences have 2 rows but covariates have 3"):
        CommunityData.from_arrays(X, np.zeros((2, 1)))
    with pytest.raises(InputDataError, match=r"occurrences must be 2-D"):
        CommunityData.from_arrays(X, np.zeros(3))
    with pytest.raises(InputDataError, match=r"covariates must be 2-D"):
        CommunityData.from_arrays(np.zeros((2, 2, 2)))
    with pytest.raises(InputDataError, match="2 site ids for 3 sites"):
        CommunityData.from_arrays(X, site_ids=["a", "b"])
    d = CommunityData.from_arrays(np.arange(3.0))  # 1-D X is one covariate
    assert d.X.shape == (3, 1) and d.covariates == ("x_0",)


def test_check_helpers_accept_text_zero_one_and_numeric_strings():
    np.testing.assert_array_equal(check_occurrences(np.array([["0", "1.0"], ["1", "0.0"]], dtype=object), ["a", "b"]),
                                  [[0, 1], [1, 0]])
    np.testing.assert_array_equal(check_covariates(np.array([["1.5"], ["-2"]], dtype=object), ["t"]), [[1.5], [-2.0]])


def test_subset_keeps_rows_aligned(frame):
    d = CommunityData.from_frame(frame)
    for index in ([3, 1], np.array([False, True, False, True])):
        s = d.subset(index)
        rows = [3, 1] if isinstance(index, list) else [1, 3]
        assert list(s.site_ids) == [d.site_ids[r] for r in rows]
        np.testing.assert_array_equal(s.X, d.X[rows])
        np.testing.assert_array_equal(s.Y, d.Y[rows])
        np.testing.assert_array_equal(s.coords, d.coords[rows])
        assert list(s.extra["observer"]) == [frame["observer"][r] for r in rows]
        assert s.species == d.species and s.covariates == d.covariates


def test_select_species_and_align_covariates(frame):
    d = CommunityData.from_frame(frame, source="f.csv")
    s = d.select_species(["sp_b", "Anas platyrhynchos"])
    assert s.species == ("sp_b", "Anas platyrhynchos")
    np.testing.assert_array_equal(s.Y, d.Y[:, [1, 0]])
    with pytest.raises(InputDataError, match=r"species \['Aves nova'\] not in the data in f\.csv"):
        d.select_species(["sp_b", "Aves nova"])
    with pytest.raises(InputDataError, match=r"species \['sp_b'\] selected more than once"):
        d.select_species(["sp_b", "sp_b"])
    a = d.align_covariates(["visits", "temp"])
    assert a.covariates == ("visits", "temp")
    np.testing.assert_array_equal(a.X, d.X[:, [1, 0]])
    with pytest.raises(InputDataError, match=r"covariates \['elev'\] used in training are missing in f\.csv; present: \['temp', 'visits'\]"):
        d.align_covariates(["temp", "elev"])


def test_to_frame_round_trip(frame):
    d = CommunityData.from_frame(frame)
    back = CommunityData.from_frame(d.to_frame())
    assert back.species == d.species and back.covariates == d.covariates
    np.testing.assert_array_equal(back.X, d.X)
    np.testing.assert_array_equal(back.Y, d.Y)
    np.testing.assert_array_equal(back.coords, d.coords)
    assert list(back.extra.columns) == ["observer"]
    assert "4 sites" in repr(d) and "3 species" in repr(d)
