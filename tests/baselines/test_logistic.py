"""Binary-relevance logistic regression against scikit-learn, and its constant species."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from jsdm_hot.baselines import BinaryRelevanceLogistic
from jsdm_hot.errors import InputDataError


@pytest.fixture(scope="module")
def glm_data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 3)) * [2.0, 1.0, 0.5] + [5.0, 0.0, -1.0]
    beta = np.array([[1.5, -1.0, 0.0], [0.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
    p = 1 / (1 + np.exp(-((X - X.mean(0)) / X.std(0) @ beta.T - 0.5)))
    Y = (rng.random(p.shape) < p).astype(np.uint8)
    return X, Y


def test_matches_sklearn_per_species(glm_data):
    X, Y = glm_data
    est = BinaryRelevanceLogistic(C=0.7, val_fraction=None).fit(X, Y)
    Xs = (X - X.mean(0)) / X.std(0)
    Xt = X[:40] + 0.3
    for j in range(Y.shape[1]):
        ref = LogisticRegression(C=0.7, max_iter=1000).fit(Xs, Y[:, j])
        np.testing.assert_allclose(est.coef_[j], ref.coef_[0], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(est.predict_proba(Xt)[:, j],
                                   ref.predict_proba((Xt - X.mean(0)) / X.std(0))[:, 1], rtol=1e-6, atol=1e-9)
    assert not est.constant_.any()


def test_penalty_shrinks_coefficients(glm_data):
    X, Y = glm_data
    strong = BinaryRelevanceLogistic(C=0.01, val_fraction=None).fit(X, Y)
    weak = BinaryRelevanceLogistic(C=100.0, val_fraction=None).fit(X, Y)
    assert np.abs(strong.coef_).sum() < 0.5 * np.abs(weak.coef_).sum()


def test_single_class_species_get_training_prevalence(glm_data):
    X, Y = glm_data
    Y2 = np.hstack([Y, np.zeros((len(Y), 1), np.uint8), np.ones((len(Y), 1), np.uint8)])
    est = BinaryRelevanceLogistic(val_fraction=None).fit(X, Y2)
    np.testing.assert_array_equal(est.constant_, [False, False, False, True, True])
    p = est.predict_proba(X[:10])
    np.testing.assert_array_equal(p[:, 3], 0.0)
    np.testing.assert_array_equal(p[:, 4], 1.0)
    np.testing.assert_array_equal(est.coef_[3:], 0.0)
    # the fitted species are unaffected by the constant ones
    np.testing.assert_allclose(p[:, :3], BinaryRelevanceLogistic(val_fraction=None).fit(X, Y).predict_proba(X[:10]), rtol=1e-12)


def test_parameter_errors(glm_data):
    X, Y = glm_data
    with pytest.raises(InputDataError, match="C must be positive"):
        BinaryRelevanceLogistic(C=0).fit(X, Y)
    with pytest.raises(InputDataError, match="class_weight must be None or 'balanced'"):
        BinaryRelevanceLogistic(class_weight="heavy").fit(X, Y)
    with pytest.raises(InputDataError, match="threshold_mode must be 'per_label' or 'global'"):
        BinaryRelevanceLogistic(threshold_mode="best").fit(X, Y)


def test_global_threshold_mode_gives_one_threshold(glm_data):
    X, Y = glm_data
    est = BinaryRelevanceLogistic(threshold_mode="global").fit(X[:200], Y[:200], X_val=X[200:], Y_val=Y[200:])
    assert np.unique(est.thresholds_).size == 1
