"""Every baseline learns: on the simulated example it beats the constant prevalence predictor.

Fitted on a train / validation / test split of the simulated community
(jsdm_hot.data.simulate) with settings small enough for one CPU thread, each
baseline must beat the constant prevalence predictor on median AUC of the
held-out sites. What all models share (shapes, seeds, files, parameters, input
errors) is checked for every registered model in ``tests/estimators/test_contract.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.baselines import BASELINES
from jsdm_hot.metrics.mlc import median_auc

# small settings so each neural fit takes a few seconds on one CPU thread
FAST = {
    "logistic": {},
    "mlknn": {"k": 10},
    "mpvae": {"hidden": 32, "latent_dim": 8, "n_train_samples": 20, "max_epochs": 40, "patience": 40},
    "lamp": {"d_model": 16, "n_heads": 2, "n_layers": 1, "max_epochs": 40, "patience": 40, "lr": 3e-3},
    "c2ae": {"max_epochs": 60, "patience": 60, "lr": 3e-3},
}


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_beats_constant_prevalence_predictor(name, split):
    train, val, test = split
    est = BASELINES[name](**FAST.get(name, {})).fit(train, X_val=val)
    constant = np.tile(train.Y.mean(0), (test.n_sites, 1))
    base = median_auc(test.Y, constant)
    auc = median_auc(test.Y, est.predict_proba(test))
    assert base == pytest.approx(0.5)
    assert auc > base + 0.1, f"{name}: median AUC {auc:.3f} vs constant {base:.3f}"
