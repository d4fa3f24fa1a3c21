"""Tests of `jsdm-hot prepare` (jsdm_hot/cli/prepare.py) on the auk zero-fill example."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from jsdm_hot.data.ebird import EbirdFilters, load_ebird
from jsdm_hot.errors import InputDataError

from .auk import auk


def _prepare(tmp_path, *options: str):
    """Run ``jsdm-hot prepare`` on the auk zero-fill example; the written table."""
    from typer.testing import CliRunner

    from jsdm_hot.cli import app

    d = auk()
    out = tmp_path / "wide.csv"
    res = CliRunner().invoke(app, ["prepare", str(d / "zerofill-ex_ebd.txt"), "--sampling", str(d / "zerofill-ex_sampling.txt"),
                                   *options, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return pd.read_csv(out)


def _load(**kwargs):
    d = auk()
    return load_ebird(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt", **kwargs)


def test_cli_prepare_writes_wide_tables(tmp_path):
    from typer.testing import CliRunner

    from jsdm_hot.cli import app

    d = auk()
    out = tmp_path / "wide.csv"
    res = CliRunner().invoke(app, ["prepare", str(d / "zerofill-ex_ebd.txt"), "--sampling", str(d / "zerofill-ex_sampling.txt"),
                                   "--protocol", "Stationary,Traveling", "--max-duration", "300", "--max-distance", "inf",
                                   "--max-observers", "inf", "--min-detections", "1", "--out", str(out)])
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


def test_cli_prepare_defaults_follow_ebird_best_practice_and_are_logged(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    df = _prepare(tmp_path)
    ref = _load(filters=EbirdFilters.best_practice(), min_detections=10)
    assert EbirdFilters.best_practice() == EbirdFilters(protocol=("Stationary", "Traveling"), duration_minutes=(None, 300),
                                                        distance_km=(None, 5), n_observers=(None, 10))
    assert list(df["site_id"]) == list(ref.site_ids)
    assert [c for c in df.columns if c in ref.species] == list(ref.species)
    assert set(df["protocol"]) <= {"Stationary", "Traveling"}
    # the limits bite on this extract: more checklists without them, and a rare species only there
    loose = _load(filters=EbirdFilters(), min_detections=1)
    assert ref.n_sites < loose.n_sites and len(ref.species) < len(loose.species)
    text = caplog.text
    assert ("checklist filters: complete checklists only; approved records only; protocol in Stationary, Traveling; "
            "duration <= 300 min; distance <= 5 km (stationary = 0 km); observers <= 10") in text
    assert "eBird best-practice defaults" in text
    assert "fewer than 10 checklists are dropped" in text


def test_cli_prepare_no_best_practice_and_single_limits(tmp_path):
    df = _prepare(tmp_path, "--no-best-practice")
    ref = _load(filters=EbirdFilters(), min_detections=1)
    assert list(df["site_id"]) == list(ref.site_ids)
    # 'inf' and 'all' lift one limit, the others stay
    df = _prepare(tmp_path, "--max-distance", "inf", "--protocol", "all")
    ref = _load(filters=EbirdFilters(duration_minutes=(None, 300), n_observers=(None, 10)), min_detections=10)
    assert list(df["site_id"]) == list(ref.site_ids)
    # a minimum duration keeps the default maximum
    df = _prepare(tmp_path, "--min-duration", "10", "--min-detections", "1")
    ref = _load(filters=EbirdFilters.best_practice(duration_minutes=(10, 300)), min_detections=1)
    assert list(df["site_id"]) == list(ref.site_ids)
    assert df["duration_h"].min() >= 10 / 60
