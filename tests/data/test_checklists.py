"""Partial checklists: matched to the prediction sites by id and to the model's species by name; clear errors."""

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data.checklists import read_partial_checklist
from jsdm_hot.errors import InputDataError

SITES = ["s1", "s2", "s3"]
SPECIES = ["sp_a", "sp_b", "sp_c"]


def _csv(tmp_path, text, name="given.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_rows_by_site_id_columns_by_species_absent_means_unknown(tmp_path):
    # rows in another order, one site missing, one species missing, one empty cell; ids compared as text
    path = _csv(tmp_path, "checklist_id,sp_c,sp_a\ns3,1,\ns1,0,1\n")
    got = read_partial_checklist(path, SITES, SPECIES)
    expected = np.array([[1.0, np.nan, 0.0],       # s1: sp_a 1, sp_b unknown, sp_c 0
                         [np.nan, np.nan, np.nan],  # s2: not in the checklist
                         [np.nan, np.nan, 1.0]])    # s3: sp_a empty, sp_c 1
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert list(got.columns) == SPECIES and list(got.index) == SITES and got.index.name == "site_id"
    # numeric site ids in the data match text ids in the table; an explicit site column and a DataFrame work too
    frame = pd.DataFrame({"plot": [2, 0], "sp_b": [1, 0]})
    got = read_partial_checklist(frame, [0, 1, 2], SPECIES, site_col="plot")
    np.testing.assert_array_equal(got["sp_b"].to_numpy(), [0.0, np.nan, 1.0])
    assert np.isnan(got[["sp_a", "sp_c"]].to_numpy()).all()


@pytest.mark.parametrize("text, site_col, match", [
    ("where,sp_a\ns1,1\n", None, r"has no site id column \(one of site_id, site, checklist_id"),
    ("site_id,sp_a\ns1,1\n", "plot", r"has no site id column 'plot'"),
    ("site_id,sp_a\ns1,1\n,0\n", None, r"site id column 'site_id' of partial checklist .* is empty at data row 2"),
    ("site_id,sp_a\ns1,1\ns1,0\n", None, r"site id 's1' appears twice in partial checklist .* \(data rows 1 and 2\)"),
    ("site_id,sp_a\ns9,1\n", None, r"1 site id\(s\) that are not among the sites predicted at: \['s9'\]"),
    ("site_id,sp_a,sp_zz\ns1,1,0\n", None, r"columns that are not species of the model: \['sp_zz'\]"),
    ("site_id,sp_a\ns1,1\ns2,2\n", None, r"species column 'sp_a' of partial checklist .* has value 2 at data row 2; "
                                         r"use 1 \(recorded present\), 0 \(recorded absent\) or an empty cell"),
    ("site_id,sp_a\ns1,yes\n", None, r"has value 'yes' at data row 1"),
])
def test_bad_checklists_name_file_column_and_row(tmp_path, text, site_col, match):
    path = _csv(tmp_path, text)
    with pytest.raises(InputDataError, match=match) as info:
        read_partial_checklist(path, SITES, SPECIES, site_col=site_col)
    assert "given.csv" in str(info.value)
