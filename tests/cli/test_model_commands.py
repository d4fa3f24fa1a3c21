"""End-to-end CLI: simulate → fit (phylo+prior graph) → predict → evaluate, and clear errors."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from jsdm_hot.cli import app

runner = CliRunner()


def _ok(args):
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    _ok(["simulate", root / "ex", "--sites", 200, "--species", 6, "--seed", 2])
    _ok(["fit", root / "ex" / "community.csv", "--tree", root / "ex" / "tree.nwk", "--graph", "phylo+prior",
         "--phylo-k", 2, "--out", root / "model", "--epochs", 3, "--d-model", 16, "--draws", 10,
         "--report", root / "report", "--no-progress"])
    return root


def test_help_lists_commands():
    out = _ok(["--help"]).output
    for cmd in ("fit", "predict", "evaluate", "simulate", "map", "prepare", "tree-check"):
        assert cmd in out


def test_fit_writes_model_and_report(workflow):
    model_dir = workflow / "model"
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "weights.safetensors"]
    cfg = json.loads((model_dir / "config.json").read_text())["config"]
    assert cfg["label_graph"]["kind"].startswith("phylo")
    report = json.loads((workflow / "report" / "report.json").read_text())
    assert report  # written and valid JSON
    assert (workflow / "report" / "metrics.md").read_text().count("|") > 20


def test_predict_matches_python_api(workflow, tmp_path):
    from jsdm_hot import HotVAE, read_wide_csv

    out = tmp_path / "pred.csv"
    _ok(["predict", workflow / "model", workflow / "ex" / "community.csv", "--out", out])
    pred = pd.read_csv(out)
    model = HotVAE.load(workflow / "model")
    data = read_wide_csv(workflow / "ex" / "community.csv")
    np.testing.assert_allclose(pred[list(model.species_)].to_numpy(), model.predict_proba(data), atol=1e-6)
    assert pred["site_id"].astype(str).tolist() == list(data.site_ids)


def test_evaluate_prints_metrics(workflow):
    out = _ok(["evaluate", workflow / "model", workflow / "ex" / "community.csv", "--draws", 5]).output
    for name in ("ebF1", "miF1", "maF1", "hamming_accuracy", "median_auc"):
        assert name in out


def test_errors_are_one_line_messages(workflow, tmp_path):
    res = runner.invoke(app, ["fit", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m")])
    assert res.exit_code != 0 and "does not exist" in str(res.exception)
    res = runner.invoke(app, ["fit", str(workflow / "ex" / "community.csv"), "--out", str(workflow / "model")])
    assert res.exit_code != 0 and "already exists" in str(res.exception)
    res = runner.invoke(app, ["fit", str(workflow / "ex" / "community.csv"), "--graph", "phylo", "--out", str(tmp_path / "m2")])
    assert res.exit_code != 0 and "--tree" in str(res.exception)
