"""The one column rule (jsdm_hot.data.columns.ColumnSpec), rule by rule as its module docstring states it."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from jsdm_hot.data.columns import ColumnSpec
from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError


def _frame(**cols) -> pd.DataFrame:
    return pd.DataFrame(cols)


# ---------------------------------------------------------------------- 1. site id
def test_site_id_is_recognised_by_name_case_insensitively():
    df = _frame(temp=[0.1, 0.2], Checklist_ID=["S1", "S2"], sp_a=[1, 0])
    roles = ColumnSpec().resolve(df)
    assert roles.site == "Checklist_ID" and roles.covariates == ["temp"] and roles.species == ["sp_a"]
    # the first name of SITE_NAMES present wins: site_id before site, ..., id
    assert ColumnSpec().resolve(_frame(id=["a", "b"], site=["x", "y"], sp=[1, 0])).site == "site"
    assert ColumnSpec().resolve(_frame(temp=[1.0, 2.0], sp=[1, 0])).site is None  # → row numbers
    data = CommunityData.from_frame(_frame(temp=[1.0, 2.0], sp=[1, 0]))
    assert list(data.site_ids) == ["site_0", "site_1"]


def test_explicit_absent_columns_raise_naming_them():
    df = _frame(site_id=["a", "b"], lon=[1.0, 2.0], lat=[3.0, 4.0], temp=[0.5, 0.6], sp_a=[1, 0])
    for spec, what in [
        (ColumnSpec(site="plot"), r"site id column \['plot'\]"),
        (ColumnSpec(lon="x", lat="lat"), r"coordinate columns \['x'\]"),
        (ColumnSpec(species=["sp_a", "sp_z"]), r"species columns \['sp_z'\]"),
        (ColumnSpec(covariates=["elev"]), r"covariate columns \['elev'\]"),
        (ColumnSpec(exclude=["notes"]), r"excluded columns \['notes'\]"),
    ]:
        with pytest.raises(InputDataError, match=what + r" in d\.csv not found; the columns are \['site_id', "):
            spec.resolve(df, source="d.csv")
    with pytest.raises(InputDataError, match="give both the longitude and the latitude column"):
        ColumnSpec(lon="lon").resolve(df)


# ---------------------------------------------------------------------- 2. coordinates
@pytest.mark.parametrize("pair", [("lon", "lat"), ("Longitude", "Latitude"), ("decimalLongitude", "decimalLatitude"),
                                  ("x", "y")])
def test_coordinate_pairs_are_recognised(pair):
    df = pd.DataFrame({pair[0]: [1.0, 2.0], pair[1]: [3.0, 4.0], "temp": [0.1, 0.2], "sp": [1, 0]})
    roles = ColumnSpec().resolve(df)
    assert (roles.lon, roles.lat) == pair and roles.covariates == ["temp"]


def test_geographic_pair_wins_and_projected_xy_are_not_covariates():
    """eBird extracts carry lon/lat and projected x/y: the geographic pair is the coordinates, x/y are neither."""
    df = _frame(x=[10.0, 20.0], y=[30.0, 40.0], longitude=[1.0, 2.0], latitude=[3.0, 4.0], temp=[0.1, 0.2],
                sp=[1, 0])
    roles = ColumnSpec().resolve(df)
    assert (roles.lon, roles.lat) == ("longitude", "latitude")
    assert roles.covariates == ["temp"] and "x" not in roles.extra and "y" not in roles.extra
    # named covariates may use x/y
    assert ColumnSpec(covariates=["x", "temp"]).resolve(df).covariates == ["x", "temp"]


def test_half_a_coordinate_pair_is_an_error_except_x():
    with pytest.raises(InputDataError, match=r"coordinate column 'latitude' in d\.csv is present but 'longitude' is not"):
        ColumnSpec().resolve(_frame(latitude=[1.0, 2.0], temp=[0.1, 0.2], sp=[1, 0]), source="d.csv")
    roles = ColumnSpec().resolve(_frame(x=[1.0, 2.0], temp=[0.1, 0.2], sp=[1, 0]))  # a lone x is a covariate
    assert roles.lon is None and roles.covariates == ["x", "temp"]


# ---------------------------------------------------------------------- 3. species
def test_species_named_by_list_or_prefix():
    df = _frame(site_id=["a", "b"], temp=[0.1, 0.2], sp_a=[1, 0], sp_b=[0, 1], other=[1, 1])
    roles = ColumnSpec(species=["sp_b", "sp_a"]).resolve(df)
    assert roles.species == ["sp_b", "sp_a"] and roles.covariates == ["temp", "other"]
    assert roles.guessed_covariates and not roles.guessed_species  # the covariates were inferred
    named = ColumnSpec(species=["sp_a"], covariates=["temp"]).resolve(df)
    assert not named.guessed_species and not named.guessed_covariates
    roles = ColumnSpec(species_prefix="sp_").resolve(df)
    assert roles.species == ["sp_a", "sp_b"] and roles.covariates == ["temp", "other"]
    with pytest.raises(InputDataError, match=r"no column starts with species prefix 'zz_' in d\.csv"):
        ColumnSpec(species_prefix="zz_").resolve(df, source="d.csv")
    assert ColumnSpec(species_prefix="zz_").resolve(df, require_species=False).species == []


def test_guessed_species_are_0_1_integer_or_boolean_columns():
    df = _frame(site_id=["a", "b", "c"], temp=[0.0, 1.0, 0.0], count=[0, 1, 3], Turdus=[1, 0, 1],
                Anas=[True, False, False])
    roles = ColumnSpec().resolve(df)
    # 0.0/1.0 floats and 0/1/3 counts are covariates
    assert roles.species == ["Turdus", "Anas"] and roles.covariates == ["temp", "count"] and roles.guessed_species
    with pytest.raises(InputDataError, match=r"found no 0/1 species columns in d\.csv; name them with --species-cols"):
        ColumnSpec().resolve(df[["site_id", "temp", "count"]], source="d.csv")
    assert ColumnSpec().resolve(df[["site_id", "temp"]], require_species=False).species == []


def test_roccupy_like_ids_flags_and_effort_dummies_are_never_species(caplog):
    """The eBird roccupy columns: checklist and grid ids, fold/cell ids, the all-species flag, is_/has_/protocol_ dummies."""
    df = _frame(checklist_id=["S1", "S2", "S3"], grid_row=[0, 1, 1], fold_id=[0, 1, 0], cell_id=[1, 0, 1],
                locality_id=["L1", "L2", "L3"], all_species_reported=[True, True, True], is_up=[True, False, True],
                has_open_water=[False, True, False], protocol_Traveling=[1, 0, 1], duration_minutes=[30, 60, 45],
                bio1=[95.0, 80.0, 70.0], **{"Selasphorus rufus": [0, 1, 0], "Limosa fedoa": [1, 0, 0]})
    with caplog.at_level(logging.INFO, logger="jsdm_hot.data.columns"):
        roles = ColumnSpec().resolve(df)
    assert roles.site == "checklist_id"
    assert roles.species == ["Selasphorus rufus", "Limosa fedoa"]
    # ids are neither species nor covariates; 0/1 flags and dummies with known prefixes are covariates
    assert roles.covariates == ["is_up", "has_open_water", "protocol_Traveling", "duration_minutes", "bio1"]
    assert roles.extra == ["grid_row", "fold_id", "cell_id", "locality_id", "all_species_reported"]
    assert "are covariates or ids, not species (by name)" in caplog.text


def test_tarentaise_like_interleaved_0_1_columns_are_ambiguous():
    """Environment with 0/1 columns (water) before the species: which 0/1 columns are species cannot be told."""
    df = _frame(site=[1, 2, 3], phot=[5, 3, 5], eau=[0, 1, 0], neig=[0, 2, 3], pent=[1, 0, 3],
                Mal=[1, 1, 0], Cca=[1, 1, 1], Svu=[1, 0, 0])
    with pytest.raises(InputDataError) as err:
        ColumnSpec().resolve(df, source="tarentaise.csv")
    msg = str(err.value)
    assert msg.startswith("cannot tell species from covariates in tarentaise.csv: the 0/1 columns are interleaved "
                          "with other numeric columns (neig, pent)")
    for option in ("--species-cols", "--species-prefix", "--covariate-cols", "--covariates",
                   "ColumnSpec(species=..., covariates=...)"):
        assert option in msg
    # any of the named remedies settles it
    assert ColumnSpec(species=["Mal", "Cca", "Svu"]).resolve(df).covariates == ["phot", "eau", "neig", "pent"]
    assert ColumnSpec(covariates=["phot", "eau", "neig", "pent"]).resolve(df).species == ["Mal", "Cca", "Svu"]
    joined = ColumnSpec().resolve(df, covariate_columns=["phot", "eau", "neig", "pent"])
    assert joined.species == ["Mal", "Cca", "Svu"]


def test_species_block_may_be_contiguous_among_covariates():
    df = _frame(site_id=["a", "b"], temp=[0.5, 0.7], sp_a=[1, 0], sp_b=[0, 1], rain=[3.0, 4.0])
    roles = ColumnSpec().resolve(df)
    assert roles.species == ["sp_a", "sp_b"] and roles.covariates == ["temp", "rain"]


# ---------------------------------------------------------------------- 4. covariates and the rest
def test_covariates_named_or_every_other_numeric_column_and_extra_kept():
    df = _frame(site_id=["a", "b"], date=["2019-06-01", "2019-06-02"], temp=[0.5, 0.7], flag=[True, False],
                plot_code=[3, 4], sp_a=[1, 0], notes=["x", "y"])
    roles = ColumnSpec(species=["sp_a"]).resolve(df)
    assert roles.covariates == ["temp", "flag"]  # numeric and boolean; the id-like plot_code is not one
    assert roles.extra == ["date", "plot_code", "notes"]
    roles = ColumnSpec(species=["sp_a"], covariates=["temp"], exclude=["notes"]).resolve(df)
    assert roles.covariates == ["temp"] and roles.extra == ["date", "flag", "plot_code", "notes"]
    with pytest.raises(InputDataError, match=r"columns \['sp_a'\] are named both as species and as covariates"):
        ColumnSpec(species=["sp_a"], covariates=["temp", "sp_a"]).resolve(df)
    data = CommunityData.from_frame(df, ColumnSpec(species=["sp_a"]))
    assert list(data.extra.columns) == ["date", "plot_code", "notes"] and data.covariates == ("temp", "flag")


def test_from_options_splits_comma_lists_and_drops_empty_values():
    spec = ColumnSpec.from_options(species_cols="a, b,", species_prefix="", covariate_cols=["t", " r "], site_col="",
                                   lon_col="lon", lat_col="lat", exclude="notes")
    assert spec == ColumnSpec(species=("a", "b"), species_prefix=None, covariates=("t", "r"), site=None, lon="lon",
                              lat="lat", exclude=("notes",))
    assert ColumnSpec.from_options() == ColumnSpec()
    with pytest.raises(InputDataError, match="either as a ColumnSpec or as options, not both"):
        CommunityData.from_frame(_frame(sp=[1, 0]), ColumnSpec(), species_cols="sp")


def test_describe_says_what_became_what():
    roles = ColumnSpec().resolve(_frame(site_id=["a", "b"], lon=[1.0, 2.0], lat=[3.0, 4.0], temp=[0.5, 0.6],
                                        sp_a=[1, 0]))
    assert roles.describe() == "site id: site_id; coordinates: lon/lat; 1 species: sp_a; 1 covariates: temp"
