"""Tests of jsdm_hot.evaluation: the 17-row table, its agreement with the metric functions, the report files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jsdm_hot import CommunityData, HotVAE
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation import EvaluationDetails, compare, evaluate, plot_report, write_report
from jsdm_hot.evaluation.report import evaluate_arrays
from jsdm_hot.metrics.ecology import norberg_metrics, sample_site_pairs
from jsdm_hot.metrics.mlc import MLC_METRICS, mlc_report
from jsdm_hot.metrics.posterior_summary import richness_from_draws

N_DRAWS = 30

EXPECTED = [
    ("mlc", "ebF1", "higher"),
    ("mlc", "miF1", "higher"),
    ("mlc", "maF1", "higher"),
    ("mlc", "hamming_accuracy", "higher"),
    ("mlc", "median_auc", "higher"),
    *[(g, m, b) for g in ("occurrence", "richness", "community")
      for m, b in (("accuracy", "lower"), ("discrimination", "higher"), ("calibration", "lower"), ("precision", "lower"))],
]


class FixedModel:
    """A fitted-model stand-in with fixed probabilities; ``sample`` only if ``draws`` is given."""

    def __init__(self, prob, species, draws=None, thresholds=None):
        self.prob = np.asarray(prob, dtype=np.float64)
        self.species_ = tuple(species)
        if thresholds is not None:
            self.thresholds_ = np.asarray(thresholds, dtype=np.float64)
        if draws is not None:
            self._draws = draws
            self.sample = lambda X, n_draws=100, seed=0: self._draws[:n_draws]

    def predict_proba(self, X):
        return self.prob.copy()


@pytest.fixture(scope="module")
def sim_split():
    sim = simulate_community(n_sites=150, n_species=9, seed=3)
    d = sim.data
    return d.subset(np.arange(110)), d.subset(np.arange(110, 150))


@pytest.fixture(scope="module")
def model(sim_split):
    train, _ = sim_split
    return HotVAE(max_epochs=2, d_model=32, encoder_hidden=32, latent_dim=8, batch_size=64, n_heads=2, lambda2=1.0,
                  device="cpu", random_state=0).fit(train)


@pytest.fixture(scope="module")
def table(model, sim_split):
    return evaluate(model, sim_split[1], n_draws=N_DRAWS, seed=0)


def test_table_has_17_rows_with_directions(table):
    assert list(table.columns) == ["group", "metric", "value", "better"]
    assert [tuple(r) for r in table[["group", "metric", "better"]].itertuples(index=False)] == EXPECTED
    assert np.isfinite(table["value"].to_numpy()).all()
    assert isinstance(table.attrs["details"], EvaluationDetails)
    assert table.attrs["settings"]["draws_source"].startswith("HotVAE.iter_samples")
    # subsetting the table (pandas deep-copies attrs) keeps the very same details object
    assert table[table.group == "mlc"].attrs["details"] is table.attrs["details"]


def test_values_equal_direct_metric_calls(model, sim_split, table):
    test = sim_split[1]
    det = table.attrs["details"]
    draws = model.sample(test, n_draws=N_DRAWS, seed=0)
    per_draw_prob = np.concatenate(
        [p for _, _, p in model.iter_samples(test, n_draws=N_DRAWS, seed=0, return_prob=True)], axis=1
    )
    prob = per_draw_prob.astype(np.float64).mean(axis=0)
    np.testing.assert_array_equal(det.richness_draws, richness_from_draws(draws))
    np.testing.assert_allclose(det.prob, prob, rtol=1e-12)
    expected_pairs = sample_site_pairs(test.n_sites, 300, np.random.default_rng([0, 1]))
    np.testing.assert_array_equal(det.pairs, expected_pairs)

    mlc = mlc_report(test.Y, model.predict_proba(test), model.thresholds_)
    got = table.set_index(["group", "metric"])["value"]
    for m in MLC_METRICS:
        assert got[("mlc", m)] == pytest.approx(mlc[m], rel=1e-12)
    nb = norberg_metrics(test.Y, prob, draws, pairs=expected_pairs)
    nb = nb[nb["main"]].set_index(["aspect", "measure"])["value"]
    for (aspect, measure), v in nb.items():
        assert got[(aspect, measure)] == pytest.approx(v, rel=1e-12, abs=1e-15), (aspect, measure)


def test_point_probabilities_option(model, sim_split):
    test = sim_split[1]
    t = evaluate(model, test, n_draws=5, seed=0, occurrence_prob="point")
    det = t.attrs["details"]
    np.testing.assert_allclose(det.prob, model.predict_proba(test), rtol=1e-7)
    with pytest.raises(InputDataError, match="occurrence_prob"):
        evaluate(model, test, n_draws=5, occurrence_prob="mean")


def test_seed_reproducible(model, sim_split, table):
    test = sim_split[1]
    again = evaluate(model, test, n_draws=N_DRAWS, seed=0)
    pd.testing.assert_frame_equal(again, table)
    np.testing.assert_array_equal(again.attrs["details"].richness_draws, table.attrs["details"].richness_draws)
    other = evaluate(model, test, n_draws=N_DRAWS, seed=1)
    assert not np.array_equal(other.attrs["details"].richness_draws, table.attrs["details"].richness_draws)
    assert not np.array_equal(other.attrs["details"].pairs, table.attrs["details"].pairs)
    # MLC metrics do not depend on the draws
    pd.testing.assert_frame_equal(other.iloc[:5], table.iloc[:5])


def test_perfect_deterministic_model_hand_values():
    y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=np.uint8)
    data = CommunityData.from_arrays(np.zeros((5, 1)), y, species=["a", "b", "c"])
    draws = np.repeat(y[None], 4, axis=0)
    m = FixedModel(y.astype(float), ["a", "b", "c"], draws=draws, thresholds=[0.5, 0.5, 0.5])
    t = evaluate(m, data, n_draws=4, seed=0).set_index(["group", "metric"])["value"]
    for metric in MLC_METRICS:
        assert t[("mlc", metric)] == 1.0
    assert t[("occurrence", "accuracy")] == 0.0
    assert t[("occurrence", "discrimination")] == 1.0
    assert t[("occurrence", "calibration")] == 0.0
    assert t[("occurrence", "precision")] == 0.0
    assert t[("richness", "accuracy")] == 0.0
    assert t[("richness", "discrimination")] == pytest.approx(1.0)  # observed richness 2,2,2,1,1 vs the same
    assert t[("community", "discrimination")] == pytest.approx(1.0)
    # every observed value is inside its (degenerate) interval: |1 - 0.5|
    assert t[("richness", "calibration")] == 0.5
    assert t[("richness", "precision")] == 0.0
    assert t[("community", "accuracy")] == 0.0
    assert t[("community", "precision")] == 0.0
    assert t[("community", "calibration")] == 0.5


def test_richness_discrimination_hand_value():
    # observed richness 2, 2, 1, 1, 3; draws give predicted means 2, 1.5, 1, 0.5, 3
    y = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1], [1, 1, 1]], dtype=np.uint8)
    d0 = y.copy()
    d1 = y.copy()
    d1[1, 1] = 0  # site 1: 2 then 1
    d1[3, 2] = 0  # site 3: 1 then 0
    draws = np.stack([d0, d1])
    data = CommunityData.from_arrays(np.zeros((5, 1)), y)
    m = FixedModel(np.full((5, 3), 0.5), data.species, draws=draws)
    t = evaluate(m, data, n_draws=2).set_index(["group", "metric"])["value"]
    mean = np.array([2, 1.5, 1, 0.5, 3])
    obs = np.array([2, 2, 1, 1, 3])
    assert t[("richness", "accuracy")] == pytest.approx(np.sqrt(np.mean((mean - obs) ** 2)))
    from scipy.stats import spearmanr

    assert t[("richness", "discrimination")] == pytest.approx(spearmanr(obs, mean).statistic)
    assert t[("richness", "precision")] == pytest.approx(np.mean([0, 0.5, 0, 0.5, 0]))


def test_streamed_chunks_equal_whole_array():
    rng = np.random.default_rng(5)
    n, L, S = 37, 6, 12
    y = (rng.random((n, L)) < 0.4).astype(np.uint8)
    p = np.clip(y * 0.6 + rng.random((n, L)) * 0.3, 0, 1)
    draws = (rng.random((S, n, L)) < p[None]).astype(np.uint8)
    whole = evaluate_arrays(y, p, draws, n_draws=S, n_pairs=50, seed=2)
    bounds = [0, 5, 6, 20, 37]
    chunks = [(slice(a, b), draws[:, a:b], None) for a, b in zip(bounds[:-1], bounds[1:])]
    streamed = evaluate_arrays(y, p, iter(chunks), n_draws=S, n_pairs=50, seed=2)
    pd.testing.assert_frame_equal(whole, streamed)
    for k in ("sor", "sim", "nes"):
        np.testing.assert_array_equal(whole.attrs["details"].beta_draws[k], streamed.attrs["details"].beta_draws[k])
    bad = [(slice(0, 5), draws[:, 0:5], None), (slice(6, 37), draws[:, 6:37], None)]
    with pytest.raises(InputDataError, match="following site 5"):
        evaluate_arrays(y, p, iter(bad), n_draws=S)


def test_fallback_independent_draws_without_sample():
    rng = np.random.default_rng(0)
    n, L = 60, 5
    p = rng.uniform(0.1, 0.9, size=(n, L))
    y = (rng.random((n, L)) < p).astype(np.uint8)
    data = CommunityData.from_arrays(rng.normal(size=(n, 2)), y)
    m = FixedModel(p, data.species)  # no sample, no thresholds_
    t = evaluate(m, data, n_draws=400, seed=3)
    det = t.attrs["details"]
    assert any("independent Bernoulli" in note for note in t.attrs["notes"])
    assert any("threshold 0.5" in note for note in t.attrs["notes"])
    np.testing.assert_array_equal(det.thresholds, np.full(L, 0.5))
    # draws follow the probabilities: mean richness per site ≈ Σ p, within 4 sd of the Monte Carlo error
    se = np.sqrt((p * (1 - p)).sum(axis=1) / 400)
    assert np.all(np.abs(det.richness_draws.mean(axis=0) - p.sum(axis=1)) < 4 * se + 1e-9)
    np.testing.assert_array_equal(det.prob, p)  # no per-draw probabilities: predict_proba


def test_input_errors(model, sim_split):
    test = sim_split[1]
    no_y = CommunityData.from_arrays(test.X, None, covariates=test.covariates, source="sites.csv")
    with pytest.raises(InputDataError, match="sites.csv.*no occurrences"):
        evaluate(model, no_y, n_draws=2)
    few = test.select_species(test.species[:4])
    with pytest.raises(InputDataError, match=test.species[5]):
        evaluate(model, few, n_draws=2)
    with pytest.raises(InputDataError, match="n_draws"):
        evaluate(model, test, n_draws=0)
    wrong = FixedModel(np.full((test.n_sites, 9), 0.5), test.species, draws=np.zeros((3, test.n_sites, 8), np.uint8))
    with pytest.raises(InputDataError, match=r"expected \(3, 40, 9\)"):
        evaluate(wrong, test, n_draws=3)
    with pytest.raises(InputDataError, match="attrs"):
        write_report(pd.DataFrame({"group": [], "metric": [], "value": [], "better": []}), "unused")


def test_species_are_aligned_to_the_model(model, sim_split, table):
    test = sim_split[1]
    shuffled = test.select_species(test.species[::-1])
    t = evaluate(model, shuffled, n_draws=N_DRAWS, seed=0)
    pd.testing.assert_frame_equal(t, table)


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


def test_plot_report_figures(table):
    from matplotlib.figure import Figure

    figs = plot_report(table)
    assert set(figs) == {"richness", "auc_prevalence", "calibration", "beta"}
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), name
    with pytest.raises(InputDataError, match="evaluate"):
        plot_report(pd.DataFrame())


def test_compare_same_pairs_and_best(model, sim_split):
    test = sim_split[1]
    const = FixedModel(np.tile(test.Y.mean(axis=0), (test.n_sites, 1)), model.species_)
    wide = compare({"hot": model, "const": const}, test, n_draws=10, seed=0)
    assert list(wide.columns) == ["hot", "const", "better", "best"]
    assert list(wide.index) == [(g, m) for g, m, _ in EXPECTED]
    tables = wide.attrs["tables"]
    np.testing.assert_array_equal(tables["hot"].attrs["details"].pairs, tables["const"].attrs["details"].pairs)
    for (g, m), row in wide.iterrows():
        a, b = row["hot"], row["const"]
        if not (np.isfinite(a) and np.isfinite(b)):
            continue
        win_hot = a > b if row["better"] == "higher" else a < b
        expected = "hot" if win_hot else ("const" if a != b else "hot = const")
        assert row["best"] == expected, (g, m)
    # a constant prediction has AUC 0.5 for every species
    assert wide.loc[("occurrence", "discrimination"), "const"] == pytest.approx(0.5)


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
