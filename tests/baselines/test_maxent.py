"""MaxEnt (elapid per species): the rebuilt features and cloglog output against elapid, persistence checks.

The contract shared by all baselines (shapes, beating the prevalence predictor on the
simulated community, exact save/load round trip) is in test_common.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.baselines import MaxEnt
from jsdm_hot.baselines.maxent import feature_classes, maxent_features, n_maxent_features
from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.mlc import median_auc

elapid = pytest.importorskip("elapid")


@pytest.mark.parametrize("feature_types, clamp", [("lhp", True), ("lqpth", False), ("l", True)])
def test_prediction_equals_elapid_before_save(sim_split, feature_types, clamp):
    train, val, test = sim_split
    est = MaxEnt(feature_types=feature_types, clamp=clamp, beta_multiplier=1.0).fit(train, X_val=val)
    Xs, Xt = est._standardise(train.X), est._standardise(test.X) * 1.5  # beyond the training range: clamping matters
    p = est._proba(Xt)
    for j in range(train.n_species):
        ref = elapid.MaxentModel(feature_types=feature_types, clamp=clamp, beta_multiplier=1.0, use_sklearn=True,
                                 random_state=0).fit(Xs, train.Y[:, j])
        np.testing.assert_allclose(p[:, j], ref.predict(Xt), rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(est.coef_[j], ref.beta_scores_)
        if j == 0:
            F = maxent_features(Xt, est.transformer_, est.feature_classes_, clamp)
            np.testing.assert_array_equal(F, ref.transformer.transform(Xt))
            assert F.shape[1] == n_maxent_features(est.feature_classes_, train.n_features, 10, 10)


def test_one_covariate_and_cloglog_by_hand(sim_split):
    train, _, test = sim_split
    est = MaxEnt(feature_types="lph", val_fraction=None).fit(train.X[:, :1], train.Y)
    Xt = est._standardise(test.X[:, :1])
    ref = elapid.MaxentModel(feature_types="lph", use_sklearn=True, random_state=0).fit(
        est._standardise(train.X[:, :1]), train.Y[:, 2])
    np.testing.assert_allclose(est._proba(Xt)[:, 2], ref.predict(Xt), rtol=1e-12, atol=1e-12)
    F = maxent_features(Xt, est.transformer_, est.feature_classes_, True)
    eta = F @ est.coef_[2] + est.alpha_[2]
    np.testing.assert_allclose(est._proba(Xt)[:, 2], 1 - np.exp(-np.exp(eta + est.entropy_[2])), rtol=1e-12)


def test_feature_type_spellings():
    assert feature_classes("hpl") == ["linear", "product", "hinge"]
    assert feature_classes(["threshold", "quadratic"]) == ["quadratic", "threshold"]
    assert feature_classes(("l", "hinge")) == ["linear", "hinge"]


def test_constant_species_get_training_prevalence(sim_split, with_constant_species):
    train, val, test = sim_split
    Y, Yv = with_constant_species
    est = MaxEnt(feature_types="l").fit(train.X, Y, X_val=val.X, Y_val=Yv)
    np.testing.assert_array_equal(est.constant_, [False] * train.n_species + [True, True])
    p = est.predict_proba(test.X)
    np.testing.assert_array_equal(p[:, -2], 0.0)
    np.testing.assert_array_equal(p[:, -1], 1.0)
    np.testing.assert_array_equal(est.coef_[-2:], 0.0)
    ref = MaxEnt(feature_types="l").fit(train.X, train.Y, X_val=val.X, Y_val=val.Y)
    np.testing.assert_array_equal(p[:, :-2], ref.predict_proba(test.X))


def test_seed_reproduces(sim_split):
    train, val, test = sim_split
    a = MaxEnt(random_state=3).fit(train, X_val=val)
    b = MaxEnt(random_state=3).fit(train, X_val=val)
    np.testing.assert_array_equal(a.predict_proba(test), b.predict_proba(test))
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_regularisation_multiplier_drops_features(sim_split):
    train, val, _ = sim_split
    loose = MaxEnt(beta_multiplier=0.2).fit(train, X_val=val)
    tight = MaxEnt(beta_multiplier=5.0).fit(train, X_val=val)
    assert (tight.coef_ != 0).sum() < (loose.coef_ != 0).sum()


@pytest.mark.parametrize("param, value", [
    ("feature_types", "lx"), ("feature_types", ""), ("feature_types", 3), ("beta_multiplier", 0),
    ("n_hinge_features", 1), ("n_threshold_features", 0), ("clamp", "yes"), ("class_weights", -1.0),
    ("class_weights", "even"), ("tolerance", float("inf")), ("max_iter", 0),
])
def test_bad_hyper_parameters_name_the_parameter(sim_split, param, value):
    train, val, _ = sim_split
    with pytest.raises(InputDataError, match=f"MaxEnt: {param} must be"):
        MaxEnt(**{param: value}).fit(train, X_val=val)


def test_tampered_files_are_refused(sim_split, tamper, tmp_path):
    train, val, test = sim_split
    est = MaxEnt(feature_types=["linear", "hinge"]).fit(train, X_val=val)
    path = est.save(tmp_path / "maxent")
    back = MaxEnt.load(path, device="cpu")
    assert back.feature_types == ["linear", "hinge"] and back.feature_classes_ == est.feature_classes_
    np.testing.assert_array_equal(back.predict_proba(test), est.predict_proba(test))

    tamper.flip_weight_byte(path)
    tamper.refused(MaxEnt, path, "does not match the hash")

    edits = {
        "feature types": (lambda c: c["params"].update(feature_types="lhp"), "feature_types: config.json 'lhp'"),
        "clamp": (lambda c: c["params"].update(clamp=False), "clamp: config.json False, fitted True"),
        "multiplier": (lambda c: c["params"].update(beta_multiplier=3), "beta_multiplier"),
        "species": (lambda c: c["species"].append("extra"), "thresholds have shape"),
        "covariates": (lambda c: c["feature_names_in"].pop(), "x_mean has shape"),
    }
    tamper.edits_refused(est, path, edits)


def test_beats_prevalence_on_tarentaise(tarentaise_split):
    train, val, test = tarentaise_split
    est = MaxEnt().fit(train, X_val=val)
    constant = np.tile(train.Y.mean(0), (test.n_sites, 1))
    assert median_auc(test.Y, constant) == pytest.approx(0.5)
    auc = median_auc(test.Y, est.predict_proba(test))
    assert auc > 0.8, auc  # measured 0.84
