"""Tests of `jsdm-hot prepare` (jsdm_hot/cli/prepare.py) on the auk zero-fill example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data.ebird import EbirdFilters, load_ebird
from jsdm_hot.errors import InputDataError

from .auk import auk


def test_cli_prepare_writes_wide_tables(tmp_path):
    from typer.testing import CliRunner

    from jsdm_hot.cli import app

    d = auk()
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
