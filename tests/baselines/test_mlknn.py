"""ML-kNN against a brute-force, loop-by-loop transcription of Zhang & Zhou (2007)."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.baselines import MLkNN
from jsdm_hot.baselines.mlknn import neighbour_counts
from jsdm_hot.errors import InputDataError


def brute_force_mlknn(X, Y, Xt, k, s):
    """Direct transcription of the paper's algorithm (Fig. 1), with explicit loops."""
    m, L = Y.shape

    def knn(x, exclude=None):
        d = [(np.sqrt(((x - X[i]) ** 2).sum()), i) for i in range(m) if i != exclude]
        return [i for _, i in sorted(d)[:k]]

    prior = np.array([(s + Y[:, l].sum()) / (2 * s + m) for l in range(L)])
    c = np.zeros((L, k + 1))
    c_ = np.zeros((L, k + 1))
    for i in range(m):
        nb = knn(X[i], exclude=i)
        for l in range(L):
            delta = int(sum(Y[j, l] for j in nb))
            if Y[i, l] == 1:
                c[l, delta] += 1
            else:
                c_[l, delta] += 1
    cond1 = np.array([[(s + c[l, j]) / (s * (k + 1) + c[l].sum()) for j in range(k + 1)] for l in range(L)])
    cond0 = np.array([[(s + c_[l, j]) / (s * (k + 1) + c_[l].sum()) for j in range(k + 1)] for l in range(L)])
    r = np.zeros((len(Xt), L))
    for t, x in enumerate(Xt):
        nb = knn(x)
        for l in range(L):
            C = int(sum(Y[j, l] for j in nb))
            a = prior[l] * cond1[l, C]
            b = (1 - prior[l]) * cond0[l, C]
            r[t, l] = a / (a + b)
    return prior, cond1, cond0, r


@pytest.mark.parametrize("k,s", [(3, 1.0), (5, 0.5)])
def test_mlknn_matches_brute_force(k, s):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(25, 3)) * [1.0, 5.0, 0.1] + [0.0, 10.0, -3.0]
    Y = (rng.random((25, 4)) < [0.3, 0.5, 0.1, 0.7]).astype(np.uint8)
    X[7] = X[3]  # an exact duplicate site: its twin is a neighbour, itself is not
    Xt = rng.normal(size=(9, 3)) * [1.0, 5.0, 0.1] + [0.0, 10.0, -3.0]
    est = MLkNN(k=k, s=s, val_fraction=None).fit(X, Y)
    Xs = (X - X.mean(0)) / X.std(0)  # MLkNN works on standardised covariates
    prior, cond1, cond0, r = brute_force_mlknn(Xs, Y, (Xt - X.mean(0)) / X.std(0), k, s)
    np.testing.assert_allclose(est.prior_, prior, rtol=1e-12)
    np.testing.assert_allclose(est.cond_true_, cond1, rtol=1e-12)
    np.testing.assert_allclose(est.cond_false_, cond0, rtol=1e-12)
    np.testing.assert_allclose(est.predict_proba(Xt), r, rtol=1e-12)
    # the paper's decision rule without validation data: r > 0.5 (here >= 0.5)
    np.testing.assert_array_equal(est.predict(Xt), (r >= 0.5).astype(np.uint8))


def test_hand_computed_prior_and_tables():
    # four sites on a line, k = 1: neighbours are 0<->1 and 2<->3
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    Y = np.array([[1], [1], [0], [1]], dtype=np.uint8)
    est = MLkNN(k=1, s=1.0, val_fraction=None).fit(X, Y)
    assert est.prior_[0] == pytest.approx((1 + 3) / (2 + 4))
    # presence sites 0, 1 have 1 present neighbour, site 3 has 0; absence site 2 has 1
    np.testing.assert_allclose(est.cond_true_[0], [(1 + 1) / (2 + 3), (1 + 2) / (2 + 3)])
    np.testing.assert_allclose(est.cond_false_[0], [(1 + 0) / (2 + 1), (1 + 1) / (2 + 1)])
    # a new site next to site 0 sees one presence
    r = est.predict_proba(np.array([[0.2]]))[0, 0]
    a, b = 4 / 6 * 3 / 5, 2 / 6 * 2 / 3
    assert r == pytest.approx(a / (a + b))


def test_neighbour_counts():
    Y = np.array([[1, 0], [1, 1], [0, 1]], dtype=np.uint8)
    nb = np.array([[0, 1], [1, 2], [2, 2]])
    np.testing.assert_array_equal(neighbour_counts(Y, nb), [[2, 1], [1, 2], [0, 2]])


def test_mlknn_parameter_errors():
    X = np.arange(10.0)[:, None]
    Y = (np.arange(10) % 2)[:, None]
    with pytest.raises(InputDataError, match="k=10 needs more than k training sites, got 10"):
        MLkNN(k=10, val_fraction=None).fit(X, Y)
    with pytest.raises(InputDataError, match="k must be at least 1"):
        MLkNN(k=0).fit(X, Y)
    with pytest.raises(InputDataError, match="smoothing s must be positive"):
        MLkNN(s=0).fit(X, Y)


def test_load_rejects_a_directory_whose_k_differs_from_its_tables(tmp_path):
    import json

    from jsdm_hot.data.simulate import simulate_community
    from jsdm_hot.errors import ModelFileError

    train = simulate_community(n_sites=80, n_species=4, seed=3).data
    path = MLkNN(k=5).fit(train).save(tmp_path / "knn")
    meta = json.loads((path / "config.json").read_text())
    meta["config"]["params"]["k"] = 7  # tables were fitted with k = 5
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="inconsistent MLkNN model directory"):
        MLkNN.load(path)
