"""End-to-end CLI: simulate → fit (phylo+prior graph) → predict → evaluate, and clear errors.

Also: fit records its train/test sites and ``evaluate --held-out`` scores only the test ones;
predict loads any model class through the registry; ``--set`` and ``--covariates`` reach the model.
"""

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
    meta = json.loads((model_dir / "config.json").read_text())
    assert meta["class_name"] == "HotVAE" and meta["config"]["format_version"] == 2
    assert meta["config"]["state"]["label_graph"]["kind"] == "phylo+prior"
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


def test_fit_records_the_sites_it_trained_and_tested_on(workflow):
    from jsdm_hot import HotVAE, read_wide_csv
    from jsdm_hot.data.splits import holdout_split

    model = HotVAE.load(workflow / "model")
    data = read_wide_csv(workflow / "ex" / "community.csv")
    test, train = holdout_split(data.n_sites, 0.2, 0)  # --test-frac 0.2, --seed 0, random split
    assert model.metadata_["test_site_ids"] == list(data.site_ids[test])
    assert model.metadata_["train_site_ids"] == list(data.site_ids[train])
    assert model.metadata_["split"] == "random" and model.metadata_["data"] == str(workflow / "ex" / "community.csv")
    assert model.get_params()["d_model"] == 16 and model.get_params()["lambda2"] == "auto"
    assert model.model_config_.lambda2 in (0.0, 1.0)  # "auto" resolved from the training sites


def test_evaluate_held_out_scores_only_the_test_sites(workflow):
    from jsdm_hot import HotVAE, read_wide_csv
    from jsdm_hot.metrics.mlc import mlc_report

    model = HotVAE.load(workflow / "model")
    data = read_wide_csv(workflow / "ex" / "community.csv")
    test = data.subset(np.isin(data.site_ids, model.metadata_["test_site_ids"]))
    expected = mlc_report(test.Y, model.predict_proba(test), model.thresholds_)
    out = _ok(["evaluate", workflow / "model", workflow / "ex" / "community.csv", "--held-out", "--draws", 5,
               "--no-progress"]).output
    assert f"{expected['ebF1']:.4f}" in out and f"{expected['maF1']:.4f}" in out
    everything = _ok(["evaluate", workflow / "model", workflow / "ex" / "community.csv", "--draws", 5,
                      "--no-progress"]).output
    full = mlc_report(data.Y, model.predict_proba(data), model.thresholds_)
    assert f"{full['ebF1']:.4f}" in everything


def test_predict_and_evaluate_load_any_model_class(workflow, tmp_path):
    from jsdm_hot import read_wide_csv
    from jsdm_hot.baselines import MLkNN

    data = read_wide_csv(workflow / "ex" / "community.csv")
    knn = MLkNN(k=5).fit(data)
    knn.save(tmp_path / "knn")
    _ok(["predict", tmp_path / "knn", workflow / "ex" / "community.csv", "--out", tmp_path / "p.csv"])
    pred = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_allclose(pred[list(knn.species_)].to_numpy(), knn.predict_proba(data), atol=1e-12)
    out = _ok(["evaluate", tmp_path / "knn", workflow / "ex" / "community.csv", "--draws", 5, "--no-progress"]).output
    assert "median_auc" in out
    res = runner.invoke(app, ["evaluate", str(tmp_path / "knn"), str(workflow / "ex" / "community.csv"), "--held-out"])
    assert res.exit_code != 0 and "records no held-out sites" in str(res.exception)


def test_set_and_covariate_tables_reach_the_model(workflow, tmp_path):
    from jsdm_hot import HotVAE

    community = pd.read_csv(workflow / "ex" / "community.csv")
    env = community[["site_id", "elev", "forest"]].rename(columns={"site_id": "plot"})
    env.sample(frac=1.0, random_state=0).to_csv(tmp_path / "env.csv", index=False)  # any row order
    sites = community.drop(columns=["elev", "forest"]).rename(columns={"site_id": "plot"})
    sites.to_csv(tmp_path / "sites.csv", index=False)
    _ok(["fit", tmp_path / "sites.csv", "--covariates", f"{tmp_path / 'env.csv'}:plot", "--out", tmp_path / "m",
         "--epochs", 1, "--d-model", 16, "--set", "n_heads=2", "--set", "dropout=0.0", "--test-frac", 0,
         "--no-progress"])
    model = HotVAE.load(tmp_path / "m")
    assert model.n_heads == 2 and model.dropout == 0.0 and model.model_config_.n_heads == 2
    assert set(model.feature_names_in_) == {"temp", "precip", "elev", "forest"}
    assert model.metadata_["test_site_ids"] == [] and len(model.metadata_["train_site_ids"]) == 200
    res = runner.invoke(app, ["fit", str(tmp_path / "sites.csv"), "--covariates", f"{tmp_path / 'env.csv'}:site",
                              "--out", str(tmp_path / "m2"), "--epochs", "1"])
    assert res.exit_code != 0 and "join column 'site' is not in the data" in str(res.exception)


def test_reports_hold_the_residual_correlation_ordered_by_the_fitted_tree(workflow, tmp_path):
    from jsdm_hot import HotVAE
    from jsdm_hot.phylo import read_tree

    model = HotVAE.load(workflow / "model")
    assert model.has_residual_association  # the CLI's HotVAE keeps the default residual factors
    tips = [t.replace("_", " ") for t in read_tree(workflow / "ex" / "tree.nwk").tip_names]
    expected_order = [t for t in tips if t in set(model.species_)]
    _ok(["evaluate", workflow / "model", workflow / "ex" / "community.csv", "--draws", 5, "--report",
         tmp_path / "rep", "--no-progress"])
    for report in (workflow / "report", tmp_path / "rep"):  # fit --report and evaluate --report
        corr = pd.read_csv(report / "residual_correlation.csv", index_col=0)
        assert list(corr.index) == list(corr.columns) == expected_order
        np.testing.assert_allclose(corr.to_numpy(), model.residual_correlation_.loc[expected_order, expected_order],
                                   atol=1e-9)
        assert set(pd.read_csv(report / "residual_pairs.csv")["direction"]) <= {"positive", "negative"}
        assert (report / "residual_correlation.png").stat().st_size > 1000
    # a model without a residual association gets the evaluation report only
    from jsdm_hot.baselines import BinaryRelevanceLogistic
    from jsdm_hot.data.tables import read_wide_csv

    BinaryRelevanceLogistic().fit(read_wide_csv(workflow / "ex" / "community.csv")).save(tmp_path / "br")
    _ok(["evaluate", tmp_path / "br", workflow / "ex" / "community.csv", "--draws", 5, "--report", tmp_path / "rep2",
         "--no-progress"])
    assert (tmp_path / "rep2" / "metrics.csv").exists() and not (tmp_path / "rep2" / "residual_correlation.csv").exists()


def test_predict_given_a_partial_checklist(workflow, tmp_path):
    from jsdm_hot import HotVAE, read_wide_csv
    from jsdm_hot.data.checklists import read_partial_checklist

    model = HotVAE.load(workflow / "model")
    data = read_wide_csv(workflow / "ex" / "community.csv")
    sp = list(model.species_)
    checklist = pd.DataFrame({"site_id": list(data.site_ids[:20]), sp[0]: data.Y[:20, 0], sp[1]: [1.0] * 10 + [None] * 10})
    checklist.iloc[::-1].to_csv(tmp_path / "given.csv", index=False)  # any row order; sites 21.. unknown
    out = tmp_path / "cond.csv"
    _ok(["predict", workflow / "model", workflow / "ex" / "community.csv", "--given", tmp_path / "given.csv",
         "--out", out, "--seed", 3])
    pred = pd.read_csv(out)
    assert pred["site_id"].astype(str).tolist() == list(data.site_ids)
    got = pred[sp].to_numpy()
    given = read_partial_checklist(tmp_path / "given.csv", data.site_ids, sp)
    np.testing.assert_allclose(got, model.predict_proba(data, given=given, seed=3), atol=1e-6)
    np.testing.assert_array_equal(got[:20, 0], data.Y[:20, 0])  # recorded values are returned as recorded
    np.testing.assert_array_equal(got[:10, 1], 1.0)
    assert not np.allclose(got[:10, 2:], model.predict_proba(data)[:10, 2:], atol=1e-4)  # the checklist matters
    # errors: --binary with --given; a checklist of an unknown species; a model without a residual association
    res = runner.invoke(app, ["predict", str(workflow / "model"), str(workflow / "ex" / "community.csv"), "--given",
                              str(tmp_path / "given.csv"), "--binary"])
    assert res.exit_code != 0 and "leave out --binary" in str(res.exception)
    (tmp_path / "bad.csv").write_text(f"site_id,not_a_species\n{data.site_ids[0]},1\n")
    res = runner.invoke(app, ["predict", str(workflow / "model"), str(workflow / "ex" / "community.csv"), "--given",
                              str(tmp_path / "bad.csv"), "--out", str(tmp_path / "x.csv")])
    assert res.exit_code != 0 and "not species of the model: ['not_a_species']" in str(res.exception)
    from jsdm_hot.baselines import BinaryRelevanceLogistic

    BinaryRelevanceLogistic().fit(data).save(tmp_path / "br")
    res = runner.invoke(app, ["predict", str(tmp_path / "br"), str(workflow / "ex" / "community.csv"), "--given",
                              str(tmp_path / "given.csv"), "--out", str(tmp_path / "x.csv")])
    assert res.exit_code != 0 and "--given needs a model with a residual association" in str(res.exception)


def test_fit_tune_saves_the_best_trial_and_records_the_trials(workflow, tmp_path):
    pytest.importorskip("optuna")
    from jsdm_hot import HotVAE

    res = _ok(["fit", workflow / "ex" / "community.csv", "--out", tmp_path / "tuned", "--epochs", 2, "--d-model", 16,
               "--set", "n_heads=2", "--tune", "--tune-budget", 1e-3, "--test-frac", 0, "--no-progress"])
    assert "tuning: 1 trials" in res.output  # the budget is spent: the defaults only
    model = HotVAE.load(tmp_path / "tuned")
    trials = model.metadata_["tuning"]
    assert len(trials) == 1 and trials[0]["trial"] == 0 and trials[0]["best_epoch"] == model.best_epoch_
    assert model.max_epochs == 2 and model.model_config_.d_model == 16
    bad = runner.invoke(app, ["fit", str(workflow / "ex" / "community.csv"), "--out", str(tmp_path / "x"),
                              "--tune", "--stream"])
    assert bad.exit_code != 0 and "--tune searches in memory" in str(bad.exception)
