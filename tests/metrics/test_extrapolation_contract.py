"""Training-range flags and MESS: bounds, shapes, dtypes and the 0 < f <= 50 branch (gaps found by mutation testing)."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.extrapolation import extrapolation_share, mess, outside_range


def test_scalar_bounds_for_one_covariate():
    np.testing.assert_array_equal(outside_range([[0.5], [2.0], [-1.0]], 0.0, 1.0), [[False], [True], [True]])


def test_constant_training_covariate_is_a_valid_range():
    # x_min == x_max (covariate constant in training): only other values are outside
    np.testing.assert_array_equal(outside_range([[1.0, 0.5], [2.0, 0.5]], [1.0, 0.0], [1.0, 1.0]),
                                  [[False, False], [True, False]])
    # the error names the first covariate with x_min > x_max, not the first with x_min >= x_max
    with pytest.raises(InputDataError, match=r"x_min > x_max for covariate 1 \(3.0 > 2.0\)"):
        outside_range([[1.0, 2.0]], [1.0, 3.0], [1.0, 2.0])


def test_bound_shapes_are_checked_separately():
    X = np.zeros((2, 3))
    with pytest.raises(InputDataError, match=r"x_min and x_max must have shape \(3,\)"):
        outside_range(X, [0.0, 0.0], [1.0, 1.0, 1.0])
    with pytest.raises(InputDataError, match=r"x_min and x_max must have shape \(3,\)"):
        outside_range(X, [0.0, 0.0, 0.0], [1.0, 1.0])


def test_share_ignores_covariates_with_one_unknown_bound():
    X = np.array([[0.5, -1.0], [2.0, -1.0]])
    # covariate 1 has x_max NaN: not judged, although X < x_min there
    np.testing.assert_array_equal(extrapolation_share(X, [0.0, 0.0], [1.0, np.nan]), [0.0, 1.0])


def test_two_d_messages_name_the_argument():
    with pytest.raises(InputDataError, match=r"^X must be 2-D \(n_sites, n_features\)"):
        outside_range([1.0, 2.0], [0.0], [1.0])
    with pytest.raises(InputDataError, match=r"^X must be 2-D"):
        extrapolation_share([1.0, 2.0], [0.0], [1.0])
    with pytest.raises(InputDataError, match=r"^X must be 2-D"):
        mess([1.0, 2.0], [[1.0]])
    with pytest.raises(InputDataError, match=r"^reference must be 2-D"):
        mess([[1.0]], [1.0, 2.0])


def test_mess_branches_hand():
    # reference 0..99 (n = 100, range 99): f = % of reference values <= p
    R = np.arange(100.0)[:, None]
    X = np.array([[24.5],   # f = 25 -> 2 f = 50
                  [50.5],   # f = 51 -> 2 (100 - 51) = 98
                  [-49.5],  # f = 0 -> 100 (p - 0) / 99 = -50
                  [99.0]])  # f = 100 at the maximum -> 0
    np.testing.assert_allclose(mess(X, R), [50.0, 98.0, -50.0, 0.0])


def test_mess_integer_input_is_not_truncated():
    # f = 0: 100 (-1 - 0) / 3 = -33.33 even when X arrives as integers
    np.testing.assert_allclose(mess(np.array([[-1]]), np.array([[0], [3]])), [-100 / 3])


def test_mess_variable_dtype_and_degenerate_references():
    values, var = mess([[1.0], [np.nan]], [[1.0]], return_variable=True)  # one reference value: constant
    np.testing.assert_array_equal(values, [0.0, np.nan])
    assert var.dtype == np.int64 and var.tolist() == [0, -1]
    values, var = mess(np.zeros((3, 0)), np.zeros((5, 0)), return_variable=True)  # no covariates
    assert np.isnan(values).all() and var.tolist() == [-1, -1, -1]
    with pytest.raises(InputDataError, match="reference covariate 0 has no finite value"):
        mess([[1.0]], [[np.nan]])
