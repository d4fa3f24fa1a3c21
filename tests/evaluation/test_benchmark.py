"""The benchmark core's ecology scores: richness and community measures from posterior draws on test sites."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.data.splits import train_val_test_split
from jsdm_hot.evaluation.benchmark import ECOLOGY_METRICS, aggregate, community_scores, run_one, to_markdown
from jsdm_hot.metrics.beta import beta_all
from jsdm_hot.metrics.ecology import sample_site_pairs
from jsdm_hot.registry import make_model


@pytest.fixture(scope="module")
def parts():
    sim = simulate_community(n_sites=240, n_species=6, seed=3)
    return train_val_test_split(sim.data, (0.6, 0.2, 0.2), seed=0)


def test_community_scores_by_hand(parts):
    train, val, test = parts
    model = make_model("logistic", {"C": 1.0}).fit(train, X_val=val)
    got = community_scores(model, test, n_draws=50, seed=7, n_pairs=40)
    draws = model.sample(test, n_draws=50, seed=7)
    obs = test.Y.sum(1)
    rich = draws.sum(2)  # (n_draws, n_sites)
    assert got["richness_rmse"] == pytest.approx(np.sqrt(np.mean((rich.mean(0) - obs) ** 2)))
    assert got["richness_disc"] == pytest.approx(spearmanr(rich.mean(0), obs)[0])
    lo, hi = np.quantile(rich, [0.05, 0.95], axis=0)
    assert got["richness_cov90"] == pytest.approx(np.mean((lo <= obs) & (obs <= hi)))
    pairs = sample_site_pairs(test.n_sites, 40, np.random.default_rng(7))
    b_obs = beta_all(test.Y[pairs[:, 0]], test.Y[pairs[:, 1]])["sor"]
    b_pred = beta_all(draws[:, pairs[:, 0]], draws[:, pairs[:, 1]])["sor"].mean(0)
    assert got["beta_sor_disc"] == pytest.approx(spearmanr(b_pred, b_obs)[0])


def test_run_one_with_ecology_adds_the_scores_and_the_table_shows_them(parts):
    train, val, test = parts
    recs = [run_one("logistic", {}, train, val, test, seed=s, ecology=True, n_draws=20) for s in (0, 1)]
    assert set(ECOLOGY_METRICS) <= set(recs[0])
    model = make_model("logistic", {}, seed=0).fit(train, X_val=val)
    assert recs[0]["richness_rmse"] == pytest.approx(community_scores(model, test, n_draws=20, seed=0)["richness_rmse"])
    md = to_markdown(aggregate(recs))
    assert "| richness RMSE | richness disc. | richness 90 % cov. | βSOR disc. | fit (s) |" in md
    assert "richness_rmse" not in run_one("logistic", {}, train, val, test, seed=0)
