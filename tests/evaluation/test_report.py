"""Tests of jsdm_hot.evaluation.report: write_report's files and `jsdm-hot evaluate --report`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jsdm_hot import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation import evaluate, write_report

from .helpers import EXPECTED, N_DRAWS


def test_write_report_files(table, sim_split, tmp_path):
    test = sim_split[1]
    paths = write_report(table, tmp_path / "rep")
    assert {p.name for p in paths.values()} == {
        "metrics.csv", "metrics.md", "report.json", "richness.png", "auc_prevalence.png", "calibration.png",
        "beta_sor.png",
    }
    for key in ("richness_png", "auc_prevalence_png", "calibration_png", "beta_png"):
        blob = paths[key].read_bytes()
        assert blob[:8] == b"\x89PNG\r\n\x1a\n" and len(blob) > 10_000, key
    csv = pd.read_csv(paths["metrics_csv"])
    pd.testing.assert_frame_equal(csv, table[["group", "metric", "value", "better"]])
    md = paths["metrics_md"].read_text(encoding="utf-8")
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and not ln.startswith("| group") and "---" not in ln]
    assert len(rows) == 17
    for (g, m, _), row in zip(EXPECTED, rows):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[:2] == [g, m] and len(cells) == 5, row
    report = json.loads(paths["report_json"].read_text(encoding="utf-8"))
    assert [(r["group"], r["metric"], r["better"]) for r in report["metrics"]] == EXPECTED
    np.testing.assert_allclose([r["value"] for r in report["metrics"]], table["value"], rtol=1e-12)
    sp = {r["species"]: r for r in report["species"]}
    for j, name in enumerate(test.species):
        assert sp[name]["prevalence"] == pytest.approx(test.Y[:, j].mean())
    assert report["richness"]["observed"] == test.Y.sum(axis=1).tolist()
    assert report["richness"]["site_id"] == list(test.site_ids)
    assert all(lo <= m <= hi for lo, m, hi in zip(report["richness"]["lo90"], report["richness"]["mean"],
                                                  report["richness"]["hi90"]))
    assert len(report["community_pairs"]["observed_sor"]) == report["settings"]["n_pairs"] == 300
    assert report["settings"]["n_draws"] == N_DRAWS and report["model"]["class"] == "HotVAE"
    assert sum(b["n"] for b in report["calibration_curve"]) == test.Y.size
    assert {r["group"] for r in report["extra_metrics"]} >= {"community_sim", "community_nes"}


def test_write_report_from_given_draws(tmp_path):
    rng = np.random.default_rng(1)
    y = (rng.random((20, 4)) < 0.5).astype(np.uint8)
    data = CommunityData.from_arrays(rng.normal(size=(20, 2)), y)
    draws = (rng.random((8, 20, 4)) < 0.5).astype(np.uint8)
    plain = pd.DataFrame({"group": ["mlc"], "metric": ["ebF1"], "value": [0.5], "better": ["higher"]})
    paths = write_report(plain, tmp_path, data=data, draws=draws, prob=np.full((20, 4), 0.5))
    report = json.loads(paths["report_json"].read_text(encoding="utf-8"))
    assert report["settings"]["draws_source"] == "draws passed to write_report"
    assert report["richness"]["mean"] == pytest.approx(draws.sum(axis=2).mean(axis=0).tolist())
    with pytest.raises(InputDataError, match="attrs"):
        write_report(pd.DataFrame({"group": [], "metric": [], "value": [], "better": []}), "unused")


def test_cli_evaluate_report(model, sim_split, tmp_path):
    from typer.testing import CliRunner

    from jsdm_hot.cli import app
    from jsdm_hot.data.tables import write_wide_csv

    test = sim_split[1]
    model.save(tmp_path / "model")
    write_wide_csv(test, tmp_path / "test.csv")
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path / "model"), str(tmp_path / "test.csv"), "--draws", "5",
                                   "--report", str(tmp_path / "rep"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "rep" / "report.json").read_text(encoding="utf-8"))
    assert len(report["metrics"]) == 17 and report["settings"]["n_draws"] == 5
    direct = evaluate(model, test, n_draws=5, seed=0)
    np.testing.assert_allclose([r["value"] for r in report["metrics"]], direct["value"], rtol=1e-6)


def test_modules_import_one_way_without_cycles():
    # plots and the table writers read EvaluationDetails; only report imports them (no report <-> plots cycle,
    # not even through imports inside functions)
    import ast
    import importlib
    import inspect

    def imported(name: str) -> set[str]:
        tree = ast.parse(inspect.getsource(importlib.import_module(f"jsdm_hot.evaluation.{name}")))
        return {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
            {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}

    ev = "jsdm_hot.evaluation."
    deps = {m: {x[len(ev):] for x in imported(m) if x.startswith(ev)}
            for m in ("details", "calibration", "scoring", "compare", "tables", "plots", "report")}
    assert deps["details"] == set() and deps["calibration"] == set()
    assert deps["plots"] == {"details", "calibration"}
    assert deps["tables"] == {"details", "calibration"}
    assert deps["scoring"] == {"details"} and deps["compare"] == {"scoring"}
    assert "plots" in deps["report"]
    assert all("report" not in d for m, d in deps.items() if m != "report")
