"""Tests of jsdm_hot.evaluation.tables: metrics.md says which probabilities each metric uses; report.json too."""

from __future__ import annotations

import json

import numpy as np

from jsdm_hot.evaluation import DEFINITIONS, PROBABILITIES, evaluate_arrays, write_report
from jsdm_hot.evaluation.tables import markdown_report, report_dict


def _table():
    rng = np.random.default_rng(4)
    y = (rng.random((12, 3)) < 0.5).astype(np.uint8)
    draws = (rng.random((6, 12, 3)) < 0.5).astype(np.uint8)
    return evaluate_arrays(y, np.full(y.shape, 0.4), draws, n_draws=6, n_pairs=10, seed=0)


def test_every_metric_has_a_definition_and_every_group_its_probabilities():
    table = _table()
    assert {(g, m) for g, m in zip(table["group"], table["metric"])} == set(DEFINITIONS)
    assert set(PROBABILITIES) == set(table["group"]) == {"mlc", "occurrence", "richness", "community"}
    assert "predict_proba" in PROBABILITIES["mlc"] and "posterior mean of z" in PROBABILITIES["mlc"]
    assert "mean over the draws of the per-draw probabilities" in PROBABILITIES["occurrence"]


def test_markdown_states_the_probabilities_of_each_group(tmp_path):
    table = _table()
    det = table.attrs["details"]
    md = markdown_report(table[["group", "metric", "value", "better"]], det)
    for group, text in PROBABILITIES.items():
        assert f"- {group}: {text}." in md
    # the occurrence line also says what this evaluation used (no per-draw probabilities here: predict_proba)
    assert det.settings["occurrence_prob"] == "predict_proba"
    assert "Here: predict_proba." in md
    paths = write_report(table, tmp_path)
    assert paths["metrics_md"].read_text(encoding="utf-8") == md
    report = json.loads(paths["report_json"].read_text(encoding="utf-8"))
    assert report["probabilities"] == {**PROBABILITIES, "occurrence_used": "predict_proba"}
    assert report == json.loads(json.dumps(report_dict(table[["group", "metric", "value", "better"]], det,
                                                       {k: p.name for k, p in paths.items()})))
