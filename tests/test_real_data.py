"""HOT-VAE against binary-relevance logistic regression on real bird data, over three seeds.

Seed ``s`` draws its own random train/validation/test split (``train_val_test_split(...,
seed=s)``) and fits both models with ``random_state=s``; the thresholds of both come
from the validation part. Each comparison is on the mean over the three seeds of a
test-set metric, and each test's name says what it holds HOT-VAE to: "beats" is a
strictly higher mean (by the margin in the test), "within" allows a bounded loss.
The six fits of a data set are shared by its tests (module-scoped fixtures). Torch
runs single-threaded, so the numbers do not depend on the machine's core count.

Measured on 2026-12-03 on the 2-core CPU development machine (torch 2.13.0, one
thread; deterministic): the means are in the comments, "per seed" lists HOT-VAE minus
BR-logistic for seeds 0, 1, 2. The epoch budgets were chosen from full trajectories
recorded per epoch (the fit with fewer epochs is a prefix of the longer one).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from wiring.builders import make_hotvae

from jsdm_hot.baselines import BinaryRelevanceLogistic
from jsdm_hot.data.splits import train_val_test_split
from jsdm_hot.metrics.mlc import mlc_report

pytestmark = pytest.mark.slow

SEEDS = (0, 1, 2)
METRICS = ("ebF1", "maF1", "median_auc")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _mean_scores(data, fractions, params) -> dict[str, dict[str, float]]:
    """Mean test metrics over :data:`SEEDS`: ``{"hot": {metric: mean}, "br": {metric: mean}}``."""
    reports: dict[str, list[dict[str, float]]] = {"hot": [], "br": []}
    for seed in SEEDS:
        train, val, test = train_val_test_split(data, fractions, seed=seed)
        br = BinaryRelevanceLogistic(random_state=seed).fit(train, X_val=val)
        hot = make_hotvae(random_state=seed, **params).fit(train, X_val=val)
        reports["hot"].append(mlc_report(test.Y, hot.predict_proba(test), hot.thresholds_))
        reports["br"].append(mlc_report(test.Y, br.predict_proba(test), br.thresholds_))
    return {name: {m: float(np.mean([r[m] for r in rs])) for m in METRICS} for name, rs in reports.items()}


# ---------------------------------------------------------------- roccupy
@pytest.fixture(scope="module")
def roccupy(shared_data):
    from jsdm_hot.data.fixtures import load_roccupy

    # lambda2 = 0: with a median of one species per checklist the ranking loss (Eq 16) hurt
    # (one seed, lambda2 = 1: ebF1 0.263, maF1 0.189, median AUC 0.891 — below BR-logistic).
    # 20 epochs (best epochs 18, 16, 14). Means over seeds 0-2, HOT-VAE vs BR-logistic:
    #   ebF1 0.386 vs 0.372 (+0.014; per seed +0.008 +0.001 +0.031)
    #   maF1 0.198 vs 0.195 (+0.003; per seed +0.026 -0.018 +0.001)
    #   median AUC 0.911 vs 0.910 (+0.001; per seed +0.004 -0.002 +0.000)
    # With the former budget (40 epochs, patience 10; best epochs 27, 21, 26) the means were
    # ebF1 -0.005, maF1 -0.005, median AUC +0.002: the single-seed "HOT-VAE beats BR-logistic on
    # maF1" of the earlier test (seed 0: +0.016) did not hold over seeds. On this sparse data the
    # two are level, within about 0.01 on each metric.
    params = {"d_model": 64, "max_epochs": 20, "patience": 10, "batch_size": 64, "lambda2": 0.0}
    return _mean_scores(load_roccupy(shared_data), (0.7, 0.1, 0.2), params)


@pytest.mark.parametrize("metric", METRICS)
def test_roccupy_hotvae_within_0_01_of_br_logistic(roccupy, metric):
    hot, br = roccupy["hot"][metric], roccupy["br"][metric]
    assert hot > br - 0.01, f"roccupy {metric}: HOT-VAE {hot:.4f}, BR-logistic {br:.4f} (means over seeds {SEEDS})"


# ---------------------------------------------------------------- tarentaise
@pytest.fixture(scope="module")
def tarentaise(shared_data):
    from jsdm_hot.data.fixtures import load_tarentaise

    # 50 epochs (best epochs 41, 47, 48). Means over seeds 0-2, HOT-VAE vs BR-logistic:
    #   ebF1 0.478 vs 0.469 (+0.009; per seed +0.012 +0.003 +0.013)
    #   maF1 0.309 vs 0.292 (+0.016; per seed +0.002 +0.031 +0.016)
    #   median AUC 0.887 vs 0.859 (+0.028; per seed +0.013 +0.041 +0.029)
    # The former budget (100 epochs, patience 20; best epochs 83, 89, 88) widens the gaps to
    # +0.021 / +0.022 / +0.029 at twice the cost.
    params = {"d_model": 64, "max_epochs": 50, "patience": 10, "batch_size": 32}
    return _mean_scores(load_tarentaise(shared_data), (0.6, 0.2, 0.2), params)


@pytest.mark.parametrize("metric, margin", [("ebF1", 0.0), ("maF1", 0.008), ("median_auc", 0.015)])
def test_tarentaise_hotvae_beats_br_logistic(tarentaise, metric, margin):
    hot, br = tarentaise["hot"][metric], tarentaise["br"][metric]
    assert hot > br + margin, (f"tarentaise {metric}: HOT-VAE {hot:.4f}, BR-logistic {br:.4f}, required margin "
                               f"{margin} (means over seeds {SEEDS})")
