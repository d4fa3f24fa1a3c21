"""Occurrence discrimination is the *mean* species AUC (Norberg et al. 2019), at every level that reports it.

The hand cases of tests/metrics have two species, where mean and median agree; here
three species have AUCs 1, 1 and 1/4: mean 0.75, median 1.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from jsdm_hot.metrics.ecology import norberg_metrics, occurrence_metrics

# sites × species; worked AUCs (pairs positive > negative, out of 2 × 2):
#   species 0: present at p .9, .8; absent at .2, .1            → 4/4 = 1
#   species 1: present at p .7, .6; absent at .3, .4            → 4/4 = 1
#   species 2: present at p .6, .2; absent at .8, .4 → only .6 > .4 → 1/4
Y = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [0, 0, 0]], dtype=np.uint8)
P = np.array([[0.9, 0.7, 0.8], [0.8, 0.3, 0.6], [0.2, 0.6, 0.2], [0.1, 0.4, 0.4]])
AUC = (1.0, 1.0, 0.25)
MEAN_AUC = 0.75  # the median would be 1.0


def test_worked_aucs_agree_with_sklearn():
    np.testing.assert_allclose([roc_auc_score(Y[:, j], P[:, j]) for j in range(3)], AUC)
    assert np.median(AUC) != MEAN_AUC


def test_occurrence_discrimination_is_the_mean_auc():
    m = occurrence_metrics(Y, P)
    assert m["n_species_auc"] == 3
    assert m["discrimination"] == pytest.approx(MEAN_AUC)


def test_single_class_species_leave_the_mean():
    y = np.column_stack([Y, np.ones(4, dtype=np.uint8)])  # a fourth species present everywhere: no AUC
    p = np.column_stack([P, [0.1, 0.9, 0.5, 0.3]])
    m = occurrence_metrics(y, p)
    assert m["n_species_auc"] == 3 and m["discrimination"] == pytest.approx(MEAN_AUC)


def test_norberg_table_reports_the_mean_auc():
    draws = (np.random.default_rng(0).random((20, *P.shape)) < P).astype(np.uint8)
    table = norberg_metrics(Y, P, draws, rng=0).set_index(["aspect", "measure"])
    assert table.loc[("occurrence", "discrimination"), "value"] == pytest.approx(MEAN_AUC)


class _FixedModel:
    """A fitted model stand-in predicting :data:`P` whatever the sites (the evaluation's public contract)."""

    species_ = ("a", "b", "c")
    feature_names_in_ = ("x",)
    thresholds_ = np.full(3, 0.5)

    def predict_proba(self, X):
        return P.copy()

    def sample(self, X, n_draws=100, seed=0):
        return (np.random.default_rng(seed).random((n_draws, *P.shape)) < P).astype(np.uint8)


def test_evaluation_table_reports_the_mean_auc():
    from jsdm_hot import CommunityData, evaluate

    data = CommunityData.from_arrays(np.arange(4.0)[:, None], Y, species=["a", "b", "c"], covariates=["x"])
    table = evaluate(_FixedModel(), data, n_draws=10, occurrence_prob="point").set_index(["group", "metric"])
    assert table.loc[("occurrence", "discrimination"), "value"] == pytest.approx(MEAN_AUC)
