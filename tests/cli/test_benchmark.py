"""``jsdm-hot benchmark`` and its library core ``jsdm_hot.evaluation.benchmark``."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from jsdm_hot.cli import app
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.data.splits import train_val_test_split
from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation.benchmark import METRICS, aggregate, run_one, to_markdown
from jsdm_hot.metrics.mlc import mlc_report
from jsdm_hot.registry import MODEL_NAMES, make_model

runner = CliRunner()

TINY_HOTVAE = ["--param", "hotvae.d_model=16", "--param", "hotvae.n_heads=2", "--param", "hotvae.latent_dim=8",
               "--param", "hotvae.encoder_hidden=32", "--param", "hotvae.batch_size=64"]
HEADER = ["model", "seeds", "ebF1", "miF1", "maF1", "Hamming acc.", "median AUC", "fit (s)"]
CELL = re.compile(r"^(\d+\.\d{3}) ± (\d+\.\d{3})$")


def _ok(args):
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


def _md_rows(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    assert set("".join(cells[1])) <= set("-:")  # separator line
    return cells[0], cells[2:]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    _ok(["simulate", root / "ex", "--sites", 200, "--species", 6, "--seed", 2])
    return root


@pytest.fixture(scope="module")
def bench(example):
    out, rec = example / "results.md", example / "records.csv"
    res = _ok(["benchmark", example / "ex" / "community.csv", "--models", "logistic,hotvae", "--seeds", 2,
               "--split", "random", "--epochs", 2, "--device", "cpu", *TINY_HOTVAE,
               "--out", out, "--records", rec])
    return res, out.read_text(), pd.read_csv(rec)


def test_markdown_table_rows_columns_and_values(bench):
    res, text, _ = bench
    header, rows = _md_rows(text)
    assert header == HEADER
    assert [r[0] for r in rows] == ["logistic", "hotvae"]
    for row in rows:
        assert row[1] == "2"
        for cell in row[2:7]:  # the five metrics: mean ± sd, both in [0, 1]
            m = CELL.match(cell)
            assert m, cell
            mean, sd = float(m.group(1)), float(m.group(2))
            assert 0.0 <= mean <= 1.0 and 0.0 <= sd <= 1.0
    assert "random" in text and "Seeds: 0, 1" in text
    assert '"max_epochs": 2' in text and '"d_model": 16' in text  # parameters are recorded
    assert "test-set metrics" in res.output and "│ hotvae " in res.output  # the terminal table


def test_markdown_values_are_mean_and_sd_of_the_records(bench):
    _, text, records = bench
    assert len(records) == 4 and sorted(records["seed"].unique()) == [0, 1]
    assert (records.loc[records["model"] == "hotvae", "best_epoch"] <= 2).all()
    _, rows = _md_rows(text)
    for row in rows:
        sub = records[records["model"] == row[0]]
        for metric, cell in zip(METRICS, row[2:7]):
            mean, sd = map(float, CELL.match(cell).groups())
            # cells are the values rounded to 3 decimals (a mean ending in 5 may round either way)
            assert abs(mean - sub[metric].mean()) <= 5e-4 + 1e-12
            assert abs(sd - sub[metric].std(ddof=1)) <= 5e-4 + 1e-12
    # seeds redraw the split: the logistic scores differ between seeds
    lo = records[records["model"] == "logistic"]
    assert lo["median_auc"].nunique() == 2


def test_bad_model_name_lists_valid_names(example, tmp_path):
    res = runner.invoke(app, ["benchmark", str(example / "ex" / "community.csv"), "--models", "logistic,hotvea",
                              "--out", str(tmp_path / "r.md")])
    assert res.exit_code != 0
    msg = str(res.exception)
    assert isinstance(res.exception, InputDataError)
    assert "unknown model 'hotvea'" in msg
    for name in ("hotvae", "logistic", "mlknn", "mpvae", "lamp", "c2ae"):
        assert name in msg
    assert not (tmp_path / "r.md").exists()


@pytest.mark.parametrize("extra, msg", [
    (["--param", "hotvae.d_modle=16"], r"unknown parameter\(s\) \['d_modle'\] for model 'hotvae'; valid: .*d_model"),
    (["--param", "lamp.lr=0.1"], "model 'lamp' is not in --models"),
    (["--param", "hotvae"], "expected MODEL.NAME=VALUE"),
    (["--split", "diagonal"], "--split must be one of random, spatial, temporal"),
    (["--val-frac", "0.5", "--test-frac", "0.5"], "must be in"),
])
def test_bad_options_raise_clear_errors(example, tmp_path, extra, msg):
    res = runner.invoke(app, ["benchmark", str(example / "ex" / "community.csv"), "--models", "hotvae",
                              "--out", str(tmp_path / "r.md"), *extra])
    assert res.exit_code != 0 and isinstance(res.exception, InputDataError)
    assert re.search(msg, str(res.exception)), str(res.exception)


# ------------------------------------------------------------------ library
@pytest.fixture(scope="module")
def parts():
    data = simulate_community(n_sites=240, n_species=6, n_interactions=1, seed=4).data
    return train_val_test_split(data, (0.6, 0.2, 0.2), kind="random", seed=1)


def _tiny_xy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 2)), (rng.random((20, 3)) < 0.5).astype(int)


def test_model_names_and_make_model():
    assert MODEL_NAMES == ("hotvae", "logistic", "mlknn", "mpvae", "lamp", "c2ae", "rf", "gbm", "maxent")
    from jsdm_hot import HotVAE

    hv = make_model("hotvae", {"d_model": 16, "n_heads": 2, "graph": "prior"}, seed=5)
    assert isinstance(hv, HotVAE) and hv.d_model == 16 and hv.graph == "prior" and hv.random_state == 5
    assert make_model("mlknn", {"k": 4}, seed=2).get_params()["k"] == 4
    with pytest.raises(InputDataError, match="d_model=10 must be divisible by n_heads=4"):
        make_model("hotvae", {"d_model": 10, "device": "cpu"}).fit(*_tiny_xy())
    with pytest.raises(InputDataError, match="unknown parameter"):
        make_model("logistic", {"random_state": 3})  # the seed argument sets it


def test_run_one_scores_the_test_sites_with_mlc_report(parts):
    train, val, test = parts
    rec = run_one("logistic", {"C": 0.5}, train, val, test, seed=0)
    ref = make_model("logistic", {"C": 0.5}).fit(train, X_val=val)
    expected = mlc_report(test.Y, ref.predict_proba(test), ref.thresholds_)
    for m in METRICS:
        assert rec[m] == pytest.approx(expected[m], rel=1e-12)
    assert rec["model"] == "logistic" and rec["seed"] == 0 and rec["best_epoch"] is None
    assert (rec["n_train"], rec["n_val"], rec["n_test"]) == (train.n_sites, val.n_sites, test.n_sites)
    assert rec["n_species_auc"] == expected["n_species_auc"] and rec["fit_seconds"] >= 0


def test_aggregate_and_markdown_by_hand():
    recs = [
        {"model": "a", "seed": 0, "ebF1": 0.2, "miF1": 0.1, "maF1": 0.3, "hamming_accuracy": 0.9, "median_auc": 0.7},
        {"model": "a", "seed": 1, "ebF1": 0.4, "miF1": 0.3, "maF1": 0.5, "hamming_accuracy": 0.8, "median_auc": float("nan")},
        {"model": "a", "seed": 2, "ebF1": 0.6, "miF1": 0.2, "maF1": 0.4, "hamming_accuracy": 0.7, "median_auc": 0.9},
        {"model": "b", "seed": 0, "ebF1": 0.5, "miF1": 0.5, "maF1": 0.5, "hamming_accuracy": 0.5, "median_auc": float("nan")},
    ]
    df = aggregate(recs)
    assert list(df.index) == ["a", "b"] and list(df["n_seeds"]) == [3, 1]
    assert df.loc["a", "ebF1_mean"] == pytest.approx(0.4)
    assert df.loc["a", "ebF1_sd"] == pytest.approx(0.2)  # sample sd of 0.2, 0.4, 0.6
    assert df.loc["a", "median_auc_mean"] == pytest.approx(0.8)  # the NaN seed is left out
    assert df.loc["a", "median_auc_sd"] == pytest.approx(np.std([0.7, 0.9], ddof=1))
    assert math.isnan(df.loc["b", "ebF1_sd"]) and math.isnan(df.loc["b", "median_auc_mean"])
    assert "fit_seconds_mean" not in df.columns
    header, rows = _md_rows(to_markdown(df))
    assert header == HEADER[:-1]
    assert rows[0] == ["a", "3", "0.400 ± 0.200", "0.200 ± 0.100", "0.400 ± 0.100", "0.800 ± 0.100", "0.800 ± 0.141"]
    assert rows[1] == ["b", "1", "0.500", "0.500", "0.500", "0.500", "–"]
    pd.testing.assert_frame_equal(aggregate(pd.DataFrame(recs)), df)
    with pytest.raises(InputDataError, match="lack the column"):
        aggregate([{"model": "a", "ebF1": 1.0}])
