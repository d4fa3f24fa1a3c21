"""jsdm_hot.metrics.extrapolation: training-range flags and MESS (Elith et al. 2010) against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.extrapolation import extrapolation_share, mess, outside_range


def test_outside_range_flags_exactly_the_values_beyond_the_bounds():
    X = np.array([[0.0, 5.0, 1.0],
                  [-0.1, 5.0, 1.0],   # covariate 0 below
                  [1.0, 10.0, 9.0],   # bounds are inside
                  [1.01, 10.5, np.nan],  # 0 and 1 above; NaN not flagged
                  [0.5, 7.0, -3.0]])  # covariate 2 has no known range
    lo, hi = np.array([0.0, 5.0, np.nan]), np.array([1.0, 10.0, np.nan])
    expected = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(outside_range(X, lo, hi), expected)
    # share over the covariates with a known range (2 here)
    np.testing.assert_array_equal(extrapolation_share(X, lo, hi), [0.0, 0.5, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(extrapolation_share(X, [np.nan] * 3, [np.nan] * 3), [np.nan] * 5)
    with pytest.raises(InputDataError, match="shape \\(3,\\)"):
        outside_range(X, lo[:2], hi[:2])
    with pytest.raises(InputDataError, match="x_min > x_max for covariate 0"):
        outside_range(X, [2.0, 5.0, 0.0], [1.0, 10.0, 1.0])


def test_mess_matches_a_hand_computed_example():
    # reference: covariate 0 = 1..10 (range 9), covariate 1 = 0, 10, ..., 90 (range 90)
    R = np.column_stack([np.arange(1.0, 11.0), np.arange(0.0, 100.0, 10.0)])
    X = np.array([[5.5, 45.0],    # f = 50, 50         -> 2f = 100, 100         -> MESS 100 (var 0, first)
                  [0.0, 30.0],    # f = 0 -> 100(0-1)/9 = -11.11; f = 40 -> 80 -> -11.11 (var 0)
                  [8.0, 95.0],    # f = 80 -> 2(100-80) = 40; f = 100 -> 100(90-95)/90 = -5.56 -> var 1
                  [12.0, -10.0],  # 100(10-12)/9 = -22.22; 100(-10-0)/90 = -11.11 -> -22.22 (var 0)
                  [1.0, 90.0],    # f = 10 -> 20; f = 100 at the max -> 0 -> 0 (var 1)
                  [np.nan, 10.0]])
    values, var = mess(X, R, return_variable=True)
    np.testing.assert_allclose(values[:5], [100.0, -100 / 9, -500 / 90, -200 / 9, 0.0])
    assert np.isnan(values[5])
    np.testing.assert_array_equal(var, [0, 0, 1, 0, 1, -1])
    # inside the reference range MESS >= 0, outside < 0: the sign agrees with outside_range
    flags = outside_range(X[:5], R.min(0), R.max(0)).any(axis=1)
    np.testing.assert_array_equal(values[:5] < 0, flags)


def test_mess_constant_reference_covariate_and_nan_reference_values():
    R = np.array([[3.0, 1.0], [3.0, 2.0], [3.0, np.nan], [3.0, 3.0]])
    X = np.array([[3.0, 2.0], [4.0, 2.0]])
    # covariate 1 (reference 1, 2, 3): p = 2 -> f = 2/3 = 66.7% -> 2(100 - 66.7) = 66.7
    np.testing.assert_allclose(mess(X, R), [0.0, -100.0])  # covariate 0 constant: 0 at it, -100 elsewhere
    np.testing.assert_allclose(mess(X[:, 1:], R[:, 1:]), [200 / 3, 200 / 3])
    with pytest.raises(InputDataError, match="reference has 1 covariates but X has 2"):
        mess(X, R[:, :1])
