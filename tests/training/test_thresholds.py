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
