"""Strict many-to-one joins of covariate tables, keys compared as text (jsdm_hot.data.joins)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.joins import CovariateTable, join_covariate_tables, join_table, key_text, match_keys
from jsdm_hot.data.tables import read_wide_csv
from jsdm_hot.errors import InputDataError


def test_key_text_normalises_numbers_and_text():
    assert key_text(pd.Series([7, 12])).tolist() == ["7", "12"]
    assert key_text(pd.Series([7.0, 12.0])).tolist() == ["7", "12"]
    assert key_text(pd.Series([7.5, 1.0])).tolist() == ["7.5", "1.0"]  # not all integral: kept as numbers
    assert key_text(pd.Series(["7", " 7.0 ", "007", "S12", " a b "])).tolist() == ["7", "7", "7", "S12", "a b"]
    assert key_text(pd.Series([True, False])).tolist() == ["True", "False"]


def test_numeric_and_text_keys_match():
    # the sites' keys are numbers (float after a NaN-free CSV read), the table's are text
    assert match_keys(pd.Series([7.0, 3.0, 7.0]), pd.Series(["3", "7", "9"]), on="cell").tolist() == [1, 0, 1]
    assert match_keys(pd.Series(["7", "3"]), pd.Series([3, 7]), on="cell").tolist() == [1, 0]


def test_missing_duplicate_and_empty_keys_name_the_file():
    table = pd.Series(["3", "7", "9"])
    with pytest.raises(InputDataError, match=r"^2 of 4 sites have a 'cell' not found in grid.csv, e\.g\. \['5', '8'\]; "
                                             "every site needs a row in each covariate table$"):
        match_keys(pd.Series([7, 5, 3, 8]), table, on="cell", where=" in grid.csv")
    with pytest.raises(InputDataError, match=r"key '7' appears more than once in column 'cell' in grid.csv; "
                                             "a covariate table needs one row per key"):
        match_keys(pd.Series([7]), pd.Series([3, 7, 7.0]), on="cell", where=" in grid.csv")
    with pytest.raises(InputDataError, match="column 'cell' in grid.csv is empty at row 2"):
        match_keys(pd.Series(["7"]), pd.Series(["7", None]), on="cell", where=" in grid.csv")


def _write(path, frame: pd.DataFrame):
    frame.to_csv(path, index=False)
    return path


def test_chained_tables_from_files_with_provenance(tmp_path):
    sites = pd.DataFrame({"checklist_id": ["c1", "c2", "c3"], "sp_a": [1, 0, 1], "sp_b": [0, 0, 1]})
    checklists = _write(tmp_path / "checklists.csv",
                        pd.DataFrame({"checklist_id": ["c3", "c1", "c2"], "duration": [30, 10, 20],
                                      "grid_row": [2, 1, 1]}))
    grid = _write(tmp_path / "grid.csv", pd.DataFrame({"grid_row": [1, 2], "elev": [100.0, 250.0]}))
    out, provenance = join_covariate_tables(
        sites, [CovariateTable(checklists, "checklist_id"), CovariateTable(grid, "grid_row")], source="sites.csv")
    assert list(out.columns) == ["checklist_id", "sp_a", "sp_b", "duration", "grid_row", "elev"]
    assert out["duration"].tolist() == [10, 20, 30] and out["elev"].tolist() == [100.0, 100.0, 250.0]
    assert provenance == {"duration": str(checklists), "grid_row": str(checklists), "elev": str(grid)}
    pd.testing.assert_frame_equal(out[list(sites.columns)], sites)  # same rows, same order


def test_join_errors_name_both_sides(tmp_path):
    sites = pd.DataFrame({"site_id": ["s1", "s2"], "cell": [1, 2], "elev": [1.0, 2.0]})
    grid = _write(tmp_path / "grid.csv", pd.DataFrame({"cell": [1, 2], "elev": [3.0, 4.0], "temp": [5.0, 6.0]}))
    with pytest.raises(InputDataError, match=r"columns \['elev'\] of .*grid.csv already exist in the data \(sites.csv\)"):
        join_covariate_tables(sites, [CovariateTable(grid, "cell")], source="sites.csv")
    with pytest.raises(InputDataError, match=r"join column 'grid_row' is not in the data \(sites.csv\)"):
        join_covariate_tables(sites, [CovariateTable(grid, "grid_row")], source="sites.csv")
    with pytest.raises(InputDataError, match=r"join column 'site_id' is not in the covariate table \(.*grid.csv\)"):
        join_covariate_tables(sites, [CovariateTable(grid, "site_id")], source="sites.csv")
    short = _write(tmp_path / "short.csv", pd.DataFrame({"cell": [1], "temp": [5.0]}))
    with pytest.raises(InputDataError, match=r"1 of 2 sites have a 'cell' not found in .*short.csv, e\.g\. \['2'\]"):
        join_covariate_tables(sites, [CovariateTable(short, "cell")])


def test_read_wide_csv_joins_tables_and_names_the_file_of_an_empty_covariate(tmp_path):
    data = _write(tmp_path / "sites.csv", pd.DataFrame({"site_id": ["s1", "s2", "s3"], "cell": [1, 2, 1],
                                                         "sp_a": [1, 0, 1], "sp_b": [0, 1, 1]}))
    grid = _write(tmp_path / "grid.csv", pd.DataFrame({"cell": ["1", "2"], "urban": [0, 1], "elev": [10.0, 20.0]}))
    d = read_wide_csv(data, covariates=[CovariateTable(grid, "cell")])
    # the joined 0/1 column is a covariate, never a species; the numeric key "cell" (not id-like by name) is one too
    assert d.species == ("sp_a", "sp_b") and set(d.covariates) == {"cell", "urban", "elev"}
    assert d.X[:, d.covariates.index("elev")].tolist() == [10.0, 20.0, 10.0]
    holes = _write(tmp_path / "holes.csv", pd.DataFrame({"cell": [1, 2], "elev": [10.0, np.nan]}))
    with pytest.raises(InputDataError, match=rf"covariate column 'elev' from {holes} is empty at data row 2 "
                                             r"\(site 's2'\) \(1 empty cells in all\)"):
        read_wide_csv(data, covariates=[CovariateTable(holes, "cell")], covariate_cols=["elev"])


def test_join_table_onto_community_data(tmp_path):
    data = CommunityData.from_arrays(np.zeros((3, 1)), [[1, 0], [0, 1], [1, 1]], covariates=["e"],
                                     extra=pd.DataFrame({"cell": [7, 3, 7]}))
    table = pd.DataFrame({"cell": ["3", "7", "9"], "bio1": [1.5, 2.5, 3.5], "name": ["a", "b", "c"]})
    out = join_table(data, table, on="cell", key="cell")
    assert out.covariates == ("e", "bio1") and out.X[:, 1].tolist() == [2.5, 1.5, 2.5]  # numeric columns only
    assert out.species == data.species and out.Y.tolist() == data.Y.tolist()
    with pytest.raises(InputDataError, match=r"1 of 3 sites have a 'cell' not found in the covariate table, e\.g\. \['5'\]"):
        join_table(data, table, on="cell", key=[7, 5, 3])
    with pytest.raises(InputDataError, match="appears more than once"):
        join_table(data, pd.concat([table, table]), on="cell", key="cell")
    with pytest.raises(InputDataError, match="3 keys for 2 sites"):
        join_table(data.subset([0, 1]), table, on="cell", key=[7, 3, 7])
    with pytest.raises(InputDataError, match=r"covariates \['e'\] in the covariate table already exist"):
        join_table(data, table.assign(e=0.0), on="cell", key="cell", columns=["e"])
    # keyed on the site ids by default; a file is named in messages and becomes the source
    by_site = _write(tmp_path / "by_site.csv", pd.DataFrame({"site": ["site_2", "site_0", "site_1"], "t": [2.0, 0.0, 1.0]}))
    out = join_table(data, by_site, on="site")
    assert out.X[:, 1].tolist() == [0.0, 1.0, 2.0] and out.source == str(by_site)
    with pytest.raises(InputDataError, match=rf"columns \['nope'\] not found in {by_site}"):
        join_table(data, by_site, on="site", columns=["nope"])
