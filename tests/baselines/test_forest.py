"""RandomForest: the flat-array traversal against scikit-learn, leaf-size tuning, persistence checks.

The contract shared by all baselines (shapes, beating the prevalence predictor on the
simulated community, exact save/load round trip) is in test_common.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import log_loss

from jsdm_hot.baselines import RandomForest
from jsdm_hot.baselines.forest import check_forest_arrays, flatten_forest, forest_proba
from jsdm_hot.errors import InputDataError, ModelFileError
from jsdm_hot.metrics.mlc import median_auc


def _sk_proba(rf, X):
    out = rf.predict_proba(X)
    return out[:, 1:] if isinstance(out, np.ndarray) else np.stack([o[:, 1] for o in out], axis=1)


@pytest.mark.parametrize("n_out", [1, 8])
def test_flat_traversal_equals_sklearn_predict_proba(sim_split, n_out):
    train, _, test = sim_split
    y = train.Y[:, :n_out]
    rf = RandomForestClassifier(25, min_samples_leaf=2, random_state=0).fit(train.X, y[:, 0] if n_out == 1 else y)
    arrays = flatten_forest(rf.estimators_)
    check_forest_arrays(arrays, train.n_features, n_out)
    assert arrays["roots"].size == 25
    assert arrays["children_left"].size == sum(e.tree_.node_count for e in rf.estimators_)
    np.testing.assert_allclose(forest_proba(arrays, test.X), _sk_proba(rf, test.X), rtol=0, atol=1e-6)
    # one integer covariate, queried exactly at the split thresholds: ties go left
    # (x <= threshold); leaves carry feature -2, which must not be used as a column index
    x1 = np.round(train.X[:, :1] * 3)
    rf1 = RandomForestClassifier(10, random_state=0).fit(x1, y[:, 0])
    thr = np.unique(np.concatenate([e.tree_.threshold[e.tree_.children_left >= 0] for e in rf1.estimators_]))
    assert np.all((2 * thr) % 1 == 0)  # midpoints of integers: exact in float32
    np.testing.assert_allclose(forest_proba(flatten_forest(rf1.estimators_), thr[:, None]),
                               _sk_proba(rf1, thr[:, None]), rtol=0, atol=1e-6)


def test_fitted_forest_equals_sklearn_and_leaf_size_is_chosen_by_validation_log_loss(sim_split):
    train, val, test = sim_split
    est = RandomForest(n_estimators=30, min_samples_leaf=(1, 5, 30), n_jobs=1, random_state=4).fit(train, X_val=val)
    Xs, Xv, Xt = (est._standardise(d.X) for d in (train, val, test))
    scores = {}
    for leaf in (1, 5, 30):
        rf = RandomForestClassifier(30, min_samples_leaf=leaf, random_state=4).fit(Xs, train.Y)
        scores[str(leaf)] = log_loss(val.Y.ravel(), _sk_proba(rf, Xv).ravel(), labels=[0, 1])
        if leaf == est.min_samples_leaf_:
            np.testing.assert_allclose(est.predict_proba(test), _sk_proba(rf, Xt), rtol=0, atol=1e-6)
    assert est.selection_["criterion"] == "val_log_loss"
    assert est.selection_["scores"] == pytest.approx(scores, rel=1e-6)
    assert est.min_samples_leaf_ == int(min(scores, key=scores.get))
    fixed = RandomForest(n_estimators=10, min_samples_leaf=7, n_jobs=1).fit(train, X_val=val)
    assert fixed.min_samples_leaf_ == 7 and fixed.selection_ == {"criterion": "fixed", "scores": {}}


def test_without_validation_the_leaf_size_is_chosen_out_of_bag(sim_split):
    train, _, _ = sim_split
    est = RandomForest(n_estimators=40, min_samples_leaf=(1, 10), val_fraction=None, n_jobs=1).fit(train)
    assert est.selection_["criterion"] == "oob_log_loss"
    rf = RandomForestClassifier(40, min_samples_leaf=10, random_state=0, oob_score=True).fit(
        est._standardise(train.X), train.Y)
    oob = rf.oob_decision_function_[:, 1, :]
    ok = np.all(np.isfinite(oob), axis=1)
    ref = log_loss(train.Y[ok].ravel(), oob[ok].ravel(), labels=[0, 1])
    assert est.selection_["scores"]["10"] == pytest.approx(ref, rel=1e-9)
    np.testing.assert_array_equal(est.thresholds_, 0.5)


def test_constant_species_get_training_prevalence(sim_split, with_constant_species):
    train, val, test = sim_split
    Y, Yv = with_constant_species
    est = RandomForest(n_estimators=15, min_samples_leaf=3, n_jobs=1).fit(train.X, Y, X_val=val.X, Y_val=Yv)
    np.testing.assert_array_equal(est.constant_, [False] * train.n_species + [True, True])
    p = est.predict_proba(test.X)
    np.testing.assert_array_equal(p[:, -2], 0.0)
    np.testing.assert_array_equal(p[:, -1], 1.0)
    assert est.forest_["leaf_value"].shape[1] == train.n_species
    ref = RandomForest(n_estimators=15, min_samples_leaf=3, n_jobs=1).fit(train.X, train.Y, X_val=val.X, Y_val=val.Y)
    np.testing.assert_array_equal(p[:, :-2], ref.predict_proba(test.X))


def test_seed_reproduces_and_n_jobs_does_not_matter(sim_split):
    train, val, test = sim_split
    a = RandomForest(n_estimators=20, min_samples_leaf=2, random_state=3, n_jobs=1).fit(train, X_val=val)
    b = RandomForest(n_estimators=20, min_samples_leaf=2, random_state=3, n_jobs=2).fit(train, X_val=val)
    c = RandomForest(n_estimators=20, min_samples_leaf=2, random_state=4, n_jobs=1).fit(train, X_val=val)
    np.testing.assert_array_equal(a.predict_proba(test), b.predict_proba(test))
    assert not np.array_equal(a.predict_proba(test), c.predict_proba(test))


@pytest.mark.parametrize("param, value", [
    ("n_estimators", 0), ("n_estimators", 2.5), ("min_samples_leaf", 0), ("min_samples_leaf", ()),
    ("min_samples_leaf", (1, "5")), ("max_features", "all"), ("max_features", 1.5), ("n_jobs", 0),
])
def test_bad_hyper_parameters_name_the_parameter(sim_split, param, value):
    train, val, _ = sim_split
    with pytest.raises(InputDataError, match=f"RandomForest: {param} must be"):
        RandomForest(**{param: value}).fit(train, X_val=val)


def test_tampered_files_are_refused(sim_split, tamper, tmp_path):
    train, val, test = sim_split
    est = RandomForest(n_estimators=12, min_samples_leaf=(2, 4), n_jobs=1).fit(train, X_val=val)
    path = est.save(tmp_path / "rf")
    back = RandomForest.load(path, device="cpu")
    assert back.min_samples_leaf == (2, 4) and back.min_samples_leaf_ == est.min_samples_leaf_
    assert back.selection_ == est.selection_
    np.testing.assert_array_equal(back.predict_proba(test), est.predict_proba(test))

    tamper.flip_weight_byte(path)
    tamper.refused(RandomForest, path, "does not match the hash")

    edits = {
        "n_estimators": (lambda c: c["params"].update(n_estimators=20), "n_estimators: config.json 20, fitted 12"),
        "max_features": (lambda c: c["params"].update(max_features=None), "max_features"),
        "leaf size": (lambda c: c["state"].update(min_samples_leaf=3), "min_samples_leaf 3 is not among"),
        "species": (lambda c: c["species"].append("extra"), "thresholds have shape"),
        "covariates": (lambda c: c["feature_names_in"].pop(), "x_mean has shape"),
    }
    tamper.edits_refused(est, path, edits)


def test_corrupt_tree_arrays_are_refused():
    rf = RandomForestClassifier(3, random_state=0).fit(np.arange(20.0)[:, None], np.arange(20) % 2)
    good = flatten_forest(rf.estimators_)
    check_forest_arrays(good, 1, 1)
    cycle = dict(good, children_left=good["children_left"].copy())
    cycle["children_left"][good["roots"][1]] = good["roots"][1]  # a node pointing to itself never ends a walk
    with pytest.raises(ModelFileError, match="'children_left' points outside its tree or backwards"):
        check_forest_arrays(cycle, 1, 1)
    with pytest.raises(ModelFileError, match="do not fit 0 covariates"):
        check_forest_arrays(good, 0, 1)
    with pytest.raises(ModelFileError, match="'leaf_value' must be probabilities"):
        check_forest_arrays(dict(good, leaf_value=good["leaf_value"] * 3), 1, 1)


def test_beats_prevalence_on_tarentaise(tarentaise_split):
    train, val, test = tarentaise_split
    est = RandomForest(n_estimators=60, min_samples_leaf=(2, 5), n_jobs=1).fit(train, X_val=val)
    constant = np.tile(train.Y.mean(0), (test.n_sites, 1))
    auc = median_auc(test.Y, est.predict_proba(test))
    assert median_auc(test.Y, constant) == pytest.approx(0.5)
    assert auc > 0.85, auc  # measured 0.90
