"""GradientBoosting (LightGBM per species): early stopping against lightgbm itself, fallbacks, persistence checks.

The contract shared by all baselines (shapes, beating the prevalence predictor on the
simulated community, exact save/load round trip) is in test_common.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.baselines import GradientBoosting
from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.mlc import median_auc

lgb = pytest.importorskip("lightgbm")

FAST = {"n_estimators": 150, "early_stopping_rounds": 15, "n_jobs": 1}


def test_each_species_equals_lightgbm_with_early_stopping(sim_split):
    train, val, test = sim_split
    est = GradientBoosting(**FAST, learning_rate=0.1, random_state=2).fit(train, X_val=val)
    Xs, Xv, Xt = (est._standardise(d.X) for d in (train, val, test))
    params = est._lgb_params()
    assert params["seed"] == 2 and params["bagging_fraction"] == 0.75 and params["bagging_freq"] == 1
    for j in range(train.n_species):
        dtr = lgb.Dataset(Xs, train.Y[:, j], params=params)
        dva = lgb.Dataset(Xv, val.Y[:, j], reference=dtr, params=params)
        ref = lgb.train(params, dtr, 150, valid_sets=[dva], callbacks=[lgb.early_stopping(15, verbose=False)])
        assert est.n_rounds_[j] == ref.best_iteration
        np.testing.assert_array_equal(est.predict_proba(test)[:, j], ref.predict(Xt, num_iteration=ref.best_iteration))
    assert est.rounds_from_ == ["early_stopping"] * train.n_species


def test_species_without_presences_in_validation_get_median_rounds(sim_split):
    train, val, _ = sim_split
    Yv = val.Y.copy()
    Yv[:, 0] = 0  # no presence of species 0 among the validation sites
    est = GradientBoosting(**FAST).fit(train.X, train.Y, X_val=val.X, Y_val=Yv)
    assert est.rounds_from_[0] == "median_of_early_stopped"
    assert est.n_rounds_[0] == int(np.median(est.n_rounds_[1:]))
    assert est.rounds_from_[1:] == ["early_stopping"] * (train.n_species - 1)


def test_without_validation_every_species_gets_n_estimators_rounds(sim_split):
    train, _, _ = sim_split
    est = GradientBoosting(n_estimators=7, val_fraction=None, n_jobs=1).fit(train)
    np.testing.assert_array_equal(est.n_rounds_, 7)
    assert est.rounds_from_ == ["n_estimators"] * train.n_species


def test_constant_species_get_training_prevalence(sim_split, with_constant_species):
    train, val, test = sim_split
    Y, Yv = with_constant_species
    est = GradientBoosting(**FAST).fit(train.X, Y, X_val=val.X, Y_val=Yv)
    np.testing.assert_array_equal(est.constant_, [False] * train.n_species + [True, True])
    assert est.boosters_[-1] is None and est.n_rounds_[-1] == 0 and est.rounds_from_[-2:] == ["constant"] * 2
    p = est.predict_proba(test.X)
    np.testing.assert_array_equal(p[:, -2], 0.0)
    np.testing.assert_array_equal(p[:, -1], 1.0)


def test_seed_reproduces_and_n_jobs_does_not_matter(sim_split):
    train, val, test = sim_split
    a = GradientBoosting(**FAST, random_state=5).fit(train, X_val=val)
    b = GradientBoosting(**dict(FAST, n_jobs=2), random_state=5).fit(train, X_val=val)
    c = GradientBoosting(**FAST, random_state=6).fit(train, X_val=val)
    np.testing.assert_array_equal(a.predict_proba(test), b.predict_proba(test))
    assert a.model_text_ == b.model_text_
    assert not np.array_equal(a.predict_proba(test), c.predict_proba(test))  # subsampling depends on the seed


@pytest.mark.parametrize("param, value", [
    ("n_estimators", 0), ("learning_rate", 0.0), ("learning_rate", float("nan")), ("num_leaves", 1),
    ("min_child_samples", 0), ("subsample", 1.5), ("subsample", 0), ("reg_lambda", -1.0),
    ("early_stopping_rounds", 0), ("n_jobs", 0), ("n_jobs", "all"),
])
def test_bad_hyper_parameters_name_the_parameter(sim_split, param, value):
    train, val, _ = sim_split
    with pytest.raises(InputDataError, match=f"GradientBoosting: {param} must be"):
        GradientBoosting(**{param: value}).fit(train, X_val=val)


def test_tampered_files_are_refused(sim_split, tamper, tmp_path):
    train, val, test = sim_split
    est = GradientBoosting(**FAST).fit(train, X_val=val)
    path = est.save(tmp_path / "gbm")
    back = GradientBoosting.load(path, device="cpu")
    assert back.model_text_ == est.model_text_ and back.rounds_from_ == est.rounds_from_
    np.testing.assert_array_equal(back.n_rounds_, est.n_rounds_)
    np.testing.assert_array_equal(back.predict_proba(test), est.predict_proba(test))

    tamper.flip_weight_byte(path)
    tamper.refused(GradientBoosting, path, "does not match the hash")

    edits = {
        "learning_rate": (lambda c: c["params"].update(learning_rate=0.5), "learning_rate: config.json 0.5, fitted 0.05"),
        "seed": (lambda c: c["params"].update(random_state=1), "random_state"),
        "unknown": (lambda c: c["params"].update(max_depth=3), "inconsistent GradientBoosting model directory"),
        "species": (lambda c: c["species"].pop(), "thresholds have shape"),
        "rules": (lambda c: c["state"].update(rounds_from=["x"]), "do not match 8 species"),
        "covariates": (lambda c: c["feature_names_in"].pop(), "x_mean has shape"),
    }
    tamper.edits_refused(est, path, edits)


def test_beats_prevalence_on_tarentaise(tarentaise_split):
    train, val, test = tarentaise_split
    est = GradientBoosting(n_estimators=300, early_stopping_rounds=20, n_jobs=1).fit(train, X_val=val)
    constant = np.tile(train.Y.mean(0), (test.n_sites, 1))
    assert median_auc(test.Y, constant) == pytest.approx(0.5)
    auc = median_auc(test.Y, est.predict_proba(test))
    assert auc > 0.84, auc  # measured 0.88
