"""The model card's training-range check: exactly the cells outside the range are flagged."""

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain._range import cells_matrix, extrapolation_table, training_range
from jsdm_hot.metrics.extrapolation import outside_range


def test_outside_range_flags_exactly_the_cells_beyond(stand_in):
    rng = np.random.default_rng(0)
    train = rng.uniform(-1, 1, size=(200, 2))
    lo, hi = train.min(0), train.max(0)
    # a grid extended 50 % beyond the training range on both axes
    gx = np.linspace(lo[0] - 1, hi[0] + 1, 41)
    gy = np.linspace(lo[1] - 1, hi[1] + 1, 37)
    grid = np.array([(a, b) for a in gx for b in gy])
    out = outside_range(grid, lo, hi)
    want = (grid < lo) | (grid > hi)
    np.testing.assert_array_equal(out, want)
    inside = (grid[:, 0] >= lo[0]) & (grid[:, 0] <= hi[0]) & (grid[:, 1] >= lo[1]) & (grid[:, 1] <= hi[1])
    np.testing.assert_array_equal(out.any(1), ~inside)
    assert inside.any() and (~inside).any()
    assert not outside_range(train, lo, hi).any()  # the training sites themselves, ends included
    assert not outside_range(np.array([[np.nan, 0.0]]), lo, hi)[0, 0]  # no data is not extrapolation
    with pytest.raises(InputDataError):
        outside_range(grid, lo[:1], hi)


def test_training_range_and_cells_matrix(stand_in):
    model = stand_in(np.zeros((3, 1)), [0.0], ["a"], ["x", "y", "effort"])
    assert training_range(model) is None
    train = np.array([[0.0, 1.0, 5.0], [2.0, 3.0, 5.0]])
    lo, hi, src = training_range(model, train)
    np.testing.assert_array_equal(lo, [0, 1, 5])
    assert "2 training sites" in src
    model.x_min_, model.x_max_ = np.array([-1.0, -1, -1]), np.array([1.0, 1, 1])
    assert training_range(model, train)[2] == "model.x_min_ / x_max_"
    cells = pd.DataFrame({"y": [0.5, 2.0, -3.0], "x": [0.0, 0.0, 0.0], "other": [9, 9, 9]})  # no effort column
    X, pos = cells_matrix(model, cells)
    assert pos == [1, 0] and X.shape == (3, 2)
    table, outside = extrapolation_table(X, pos, model.x_min_, model.x_max_, model.feature_names_in_)
    np.testing.assert_array_equal(outside, [False, True, True])
    assert table["covariate"].tolist() == ["y", "x"]
    np.testing.assert_allclose(table["share_above"], [1 / 3, 0.0])
    np.testing.assert_allclose(table["share_below"], [1 / 3, 0.0])
    with pytest.raises(InputDataError, match="share no covariate"):
        cells_matrix(model, pd.DataFrame({"q": [1.0]}))
