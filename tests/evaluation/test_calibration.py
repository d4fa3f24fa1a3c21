"""Tests of jsdm_hot.evaluation.calibration: the pooled reliability curve against hand-computed bins."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation import calibration_curve


def test_calibration_curve_hand_computed_equal_count_bins():
    # 6 cells sorted by probability: [0.1, 0.2 | 0.4, 0.5 | 0.8, 0.9]; observed 0,0 | 1,0 | 1,1
    prob = np.array([[0.9, 0.1], [0.4, 0.8], [0.2, 0.5]])
    y = np.array([[1, 0], [1, 1], [0, 0]])
    curve = calibration_curve(y, prob, n_bins=3)
    assert curve["n"].tolist() == [2, 2, 2]
    np.testing.assert_allclose(curve["mean_predicted"], [0.15, 0.45, 0.85])
    np.testing.assert_allclose(curve["observed_frequency"], [0.0, 0.5, 1.0])
    assert curve[["p_min", "p_max"]].to_numpy().tolist() == [[0.1, 0.2], [0.4, 0.5], [0.8, 0.9]]
    # more bins than cells: empty bins are left out
    assert len(calibration_curve(y, prob, n_bins=10)) == 6


def test_calibration_curve_errors():
    with pytest.raises(InputDataError, match="6 cells but prob has 4"):
        calibration_curve(np.zeros((3, 2)), np.zeros((2, 2)))
    with pytest.raises(InputDataError, match="n_bins must be >= 1"):
        calibration_curve(np.zeros((3, 2)), np.zeros((3, 2)), n_bins=0)
