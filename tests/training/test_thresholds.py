import numpy as np
import pytest
from sklearn.metrics import f1_score

from jsdm_hot import InputDataError
from jsdm_hot.training.thresholds import THRESHOLD_GRID, apply_thresholds, f1_per_label, select_thresholds


def test_f1_per_label_matches_sklearn():
    rng = np.random.default_rng(0)
    yt = rng.integers(0, 2, (50, 6))
    yp = rng.integers(0, 2, (50, 6))
    yt[:, 5] = 0
    yp[:, 5] = 0
    np.testing.assert_allclose(f1_per_label(yt, yp), f1_score(yt, yp, average=None, zero_division=0))


def test_per_label_thresholds_maximise_each_species_f1():
    rng = np.random.default_rng(1)
    yt = rng.integers(0, 2, (80, 4))
    prob = np.clip(yt * 0.3 + rng.random((80, 4)) * 0.7, 0, 1)
    thr = select_thresholds(yt, prob)
    best = np.array([max(f1_score(yt[:, j], prob[:, j] >= t, zero_division=0) for t in THRESHOLD_GRID) for j in range(4)])
    got = f1_per_label(yt, apply_thresholds(prob, thr))
    np.testing.assert_allclose(got, best)


def test_global_threshold_is_shared_and_absent_species_neutral():
    yt = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    prob = np.array([[0.9, 0.1], [0.2, 0.3], [0.8, 0.2], [0.1, 0.4]])
    g = select_thresholds(yt, prob, mode="global")
    assert g[0] == g[1]
    per = select_thresholds(yt, prob)
    assert per[1] == 0.5  # never observed in validation: neutral threshold
    assert 0.2 < per[0] <= 0.8
    with pytest.raises(InputDataError):
        select_thresholds(yt, prob[:, :1])
    with pytest.raises(InputDataError):
        select_thresholds(yt, prob, mode="best")


# --------------------------------------------------------------------------- gaps found by mutation testing
YT = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
PROB = np.array([[0.9, 0.2], [0.4, 0.6], [0.6, 0.3], [0.1, 0.5]])


def test_global_threshold_maximises_mean_f1_on_the_given_grid():
    # grid .85 / .5 / .25 (the best value last, so taking the first grid value fails); species F1 at each:
    #   .85: sp0 predicts site 0 -> 2/3; sp1 none -> 0; mean 1/3
    #   .5:  sp0 sites 0,2 -> 1.0; sp1 sites 1,3 -> 2*1/(2+2) = .5; mean .75
    #   .25: sp0 predicts sites 0,1,2 -> 2*2/(2+3) = .8; sp1 predicts 1,2,3 -> 2*2/(2+3) = .8; mean .8
    grid = [0.85, 0.5, 0.25]
    g = select_thresholds(YT, PROB, mode="global", grid=grid)
    np.testing.assert_array_equal(g, [0.25, 0.25])
    assert g.dtype == np.float64
    # per label on the same grid: species 0 best at .5 (F1 1), species 1 at .25 (.8)
    np.testing.assert_array_equal(select_thresholds(YT, PROB, grid=grid), [0.5, 0.25])


def test_apply_thresholds_is_inclusive_uint8():
    out = apply_thresholds(np.array([[0.5, 0.49], [0.7, 0.2]]), np.array([0.5, 0.2]))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [[1, 1], [1, 1]])
    np.testing.assert_array_equal(apply_thresholds(np.array([[0.49, 0.19]]), np.array([0.5, 0.2])), [[0, 0]])


def test_f1_per_label_accepts_float_and_int_labels():
    rng = np.random.default_rng(2)
    yt = rng.integers(0, 2, (30, 4))
    yp = rng.integers(0, 2, (30, 4))
    want = f1_score(yt, yp, average=None, zero_division=0)
    np.testing.assert_allclose(f1_per_label(yt.astype(float), yp), want)  # e.g. a float table column
    np.testing.assert_allclose(f1_per_label(yt, yp.astype(float)), want)
    np.testing.assert_allclose(f1_per_label(yt * 1.0, yp * 1.0), want)
