"""tune(): the defaults first, a seeded search on one shared validation split, the budget, the trials table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("optuna")

from jsdm_hot import HotVAE, InputDataError  # noqa: E402
from jsdm_hot.estimators.tuning import tune  # noqa: E402
from jsdm_hot.training.loop import validation_loglik  # noqa: E402

SPACE = {"lr": ("log", 1e-3, 1e-2), "dropout": ("categorical", (0.0, 0.2))}


@pytest.fixture(scope="module")
def result(small_sim, tiny_params):
    return tune(small_sim.data, params={**tiny_params, "max_epochs": 2}, space=SPACE, n_trials=3,
                budget_seconds=3600, random_state=4)


def test_first_trial_is_the_defaults_and_the_best_trial_is_returned(result, small_sim, tiny_params):
    t = result.trials
    assert list(t["trial"]) == [0, 1, 2] and (t["state"] == "complete").all()
    assert t.loc[0, "lr"] == HotVAE().lr and t.loc[0, "dropout"] == HotVAE().dropout
    assert {"score", "val_maf1", "val_loglik", "seconds", "best_epoch"} <= set(t.columns)
    best = int(np.argmax(t["score"]))
    assert result.best_score == t["score"].max() and result.best_params == {k: t.loc[best, k] for k in SPACE}
    assert isinstance(result.model, HotVAE) and result.model.lr == pytest.approx(t.loc[best, "lr"])
    np.testing.assert_allclose(t["score"], t["val_loglik"])
    # every trial used the same seeded hold-out: refitting the best configuration reproduces its score
    from jsdm_hot.data.splits import holdout_split

    vi, ti = holdout_split(small_sim.data.n_sites, 0.1, 4)
    val = small_sim.data.subset(vi)
    again = HotVAE(**{**tiny_params, "max_epochs": 2, **result.best_params}, random_state=4).fit(
        small_sim.data.subset(ti), X_val=val)
    assert validation_loglik(val.Y, again.predict_proba(val)) == pytest.approx(result.best_score, abs=1e-6)


def test_the_budget_stops_the_search(small_sim, tiny_params):
    r = tune(small_sim.data, params={**tiny_params, "max_epochs": 1}, space=SPACE, budget_seconds=1e-3)
    assert len(r.trials) == 1  # the defaults always run, nothing after the budget


def test_maf1_metric_and_explicit_validation(small_sim, tiny_params):
    d = small_sim.data
    r = tune(d.subset(np.arange(200)), X_val=d.subset(np.arange(200, 300)), params={**tiny_params, "max_epochs": 1},
             space=SPACE, n_trials=2, metric="maf1")
    np.testing.assert_allclose(r.trials["score"], r.trials["val_maf1"])


def test_bad_arguments_are_refused(small_sim):
    with pytest.raises(InputDataError, match="metric must be"):
        tune(small_sim.data, metric="auc")
    with pytest.raises(InputDataError, match="unknown HotVAE parameter"):
        tune(small_sim.data, space={"n_trees": ("categorical", (1, 2))})
    with pytest.raises(InputDataError, match="budget_seconds must be > 0"):
        tune(small_sim.data, budget_seconds=0)
