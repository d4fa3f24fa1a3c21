"""Permutation importance: the scoring kernels against scikit-learn and hand values, the permutation
machinery on a model with known dependence, and recovery of the true drivers on simulated communities."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.explain import default_groups, permutation_importance
from jsdm_hot.explain._common import ebird_effort_names
from jsdm_hot.explain.importance import auc_by_column, scores

from .conftest import simulated_split, strongly_driven


def test_auc_by_column_equals_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = (rng.random((60, 5)) < 0.4).astype(np.uint8)
    s = np.round(rng.random((60, 5)), 1)  # many ties
    y[:, 4] = 0  # one class only
    got = auc_by_column(y, s)
    for j in range(4):
        assert got[j] == pytest.approx(roc_auc_score(y[:, j], s[:, j]), abs=1e-12)
    assert np.isnan(got[4])


def test_scores_hand_values():
    y = np.array([[1, 0], [0, 0], [1, 1]])
    p = np.array([[0.8, 0.1], [0.4, 0.2], [0.6, 0.5]])
    s = scores(y, p)
    ll0 = np.mean([np.log(0.8), np.log(0.6), np.log(0.6)])
    ll1 = np.mean([np.log(0.9), np.log(0.8), np.log(0.5)])
    np.testing.assert_allclose(s["log_likelihood"], [ll0, ll1, ll0 + ll1])
    # richness: expected 0.9, 0.6, 1.1 against observed 1, 0, 2
    assert s["richness_rmse"][0] == pytest.approx(np.sqrt((0.1 ** 2 + 0.6 ** 2 + 0.9 ** 2) / 3))
    assert s["auc"][0] == 1.0 and s["auc"][1] == 1.0 and s["auc"][2] == 1.0


def test_default_groups_pair_cyclic_and_protocol():
    feats = ["bio1", "time_sin", "time_cos", "protocol_traveling", "protocol_area", "doy_sin", "doy_cos", "x_sin"]
    g = default_groups(feats)
    assert g == {"bio1": ["bio1"], "time": ["time_sin", "time_cos"], "protocol": ["protocol_traveling", "protocol_area"],
                 "doy": ["doy_sin", "doy_cos"], "x_sin": ["x_sin"]}


def test_ebird_effort_names_come_from_the_package():
    names = set(ebird_effort_names())
    assert {"log_duration", "duration_h", "distance_km", "n_observers", "protocol_traveling", "time_sin", "time_cos",
            "time_h", "doy_sin", "doy_cos", "year"} <= names
    assert "bio1" not in names


@pytest.fixture
def known_model(stand_in):
    """Species a depends on x0 only, b on x1 only; x2 (an effort covariate) is ignored by both."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    W = np.array([[2.5, 0.0], [0.0, -2.0], [0.0, 0.0]])
    model = stand_in(W, [0.0, -0.5], ["a", "b"], ["x0", "x1", "log_duration"])
    Y = (rng.random((400, 2)) < model.predict_proba(X)).astype(np.uint8)
    data = CommunityData.from_arrays(X, Y, species=["a", "b"], covariates=["x0", "x1", "log_duration"])
    return model, data


def test_importance_table_on_a_known_model(known_model):
    model, data = known_model
    imp = permutation_importance(model, data, n_repeats=4, rng=0, labels={"a": "Species A"})
    assert set(imp["metric"]) == {"auc", "log_likelihood", "richness_rmse"}
    assert len(imp) == 3 * (2 * 3 + 1)  # 3 groups × (2 metrics × (2 species + community) + richness)
    ignored = imp[imp["covariate"] == "log_duration"]
    np.testing.assert_array_equal(ignored["importance"], 0.0)  # shuffling an unused covariate changes nothing
    assert set(ignored["kind"]) == {"effort"} and set(imp.loc[imp["covariate"] != "log_duration", "kind"]) == {"environment"}
    auc = imp[imp["metric"] == "auc"].set_index(["species", "covariate"])["importance"]
    assert auc["a", "x0"] > 0.2 and auc["a", "x1"] == 0.0
    assert auc["b", "x1"] > 0.2 and auc["b", "x0"] == 0.0
    top = imp[(imp["rank"] == 1) & (imp["metric"] == "log_likelihood")].set_index("species")["covariate"]
    assert top["a"] == "x0" and top["b"] == "x1"
    assert imp.loc[imp["species"] == "a", "label"].iloc[0] == "Species A"
    # baseline is the unshuffled score; spread columns are consistent
    assert (imp["importance_min"] <= imp["importance"] + 1e-12).all()
    assert (imp["importance"] <= imp["importance_max"] + 1e-12).all()
    # effort covariates are ranked apart: the ignored effort covariate is first among effort ones
    assert (ignored["rank_in_kind"] == 1).all()


def test_importance_is_seeded_and_validates(known_model):
    model, data = known_model
    a = permutation_importance(model, data, n_repeats=2, rng=5)
    b = permutation_importance(model, data, n_repeats=2, rng=np.random.default_rng(5))
    pd.testing.assert_frame_equal(a, b)
    c = permutation_importance(model, data, n_repeats=2, rng=6)
    assert not np.allclose(a["importance"], c["importance"])
    with pytest.raises(InputDataError, match="n_repeats"):
        permutation_importance(model, data, n_repeats=0)
    with pytest.raises(InputDataError, match="not a covariate"):
        permutation_importance(model, data, groups={"g": ["nope"]})
    with pytest.raises(InputDataError, match="two groups"):
        permutation_importance(model, data, groups={"g": ["x0"], "h": ["x0", "x1"]})
    with pytest.raises(InputDataError, match="observed occurrences"):
        permutation_importance(model, data.X)


def test_grouped_effort_from_parameter(known_model):
    model, data = known_model
    imp = permutation_importance(model, data, groups={"both": ["x0", "x1"], "log_duration": ["log_duration"]},
                                 effort=["x0", "x1"], n_repeats=2, max_sites=100)
    kinds = imp.drop_duplicates("covariate").set_index("covariate")["kind"]
    assert kinds["both"] == "effort" and kinds["log_duration"] == "environment"  # explicit effort list wins
    assert imp.loc[imp["covariate"] == "both", "members"].iloc[0] == "x0,x1"


def _check_drivers(model, sim, test, metric="auc"):
    driven = strongly_driven(sim)
    assert driven, "the simulation must have strongly driven species"
    imp = permutation_importance(model, test, n_repeats=3, rng=0)
    for l, k in driven:
        s = imp[(imp["species"] == sim.species[l]) & (imp["metric"] == metric)]
        top = s.loc[s["importance"].idxmax(), "covariate"]
        assert top == sim.data.covariates[k], (sim.species[l], sim.truth.beta[:, l], s[["covariate", "importance"]])
    return driven


@pytest.mark.parametrize("name", ["seed3", "seed9"])
def test_true_drivers_rank_first_logistic(name):
    from jsdm_hot.baselines import BinaryRelevanceLogistic

    sim, train, test = simulated_split(name)
    model = BinaryRelevanceLogistic().fit(train)
    driven = _check_drivers(model, sim, test)
    _check_drivers(model, sim, test, metric="log_likelihood")
    if name == "seed9":  # two different driving covariates
        assert len({k for _, k in driven}) == 2


def test_true_drivers_rank_first_hotvae(hot_model, sim_split):
    sim, _, test = sim_split
    _check_drivers(hot_model, sim, test)
