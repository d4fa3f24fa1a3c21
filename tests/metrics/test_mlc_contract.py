"""MLC metrics: defaults, empty shapes, zero_division and error positions (gaps found by mutation testing)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.beta import _as_binary, beta_components
from jsdm_hot.metrics.mlc import (
    binarize,
    eb_f1,
    hamming_accuracy,
    macro_f1,
    median_auc,
    micro_f1,
    mlc_report,
    per_species_auc,
)


def test_eb_f1_degenerate_shapes():
    assert eb_f1(np.zeros((3, 0)), np.zeros((3, 0))) == 1.0  # every site empty in both -> 1 ("one")
    assert math.isnan(eb_f1(np.zeros((0, 3)), np.zeros((0, 3))))  # no sites
    # a single site: 2 tp / (|y| + |y_hat|) = 2 / 3
    assert eb_f1([[1, 1, 0]], [[1, 0, 0]]) == pytest.approx(2 / 3)


def test_hamming_accuracy_degenerate_shapes():
    assert hamming_accuracy([[1]], [[1]]) == 1.0
    assert hamming_accuracy([[1]], [[0]]) == 0.0
    assert math.isnan(hamming_accuracy(np.zeros((0, 3)), np.zeros((0, 3))))


def test_macro_f1_default_zero_division_and_single_species():
    y = np.array([[1, 0], [0, 0]])
    # species 1 neither observed nor predicted: 0 by default (MPVAE), 1 with zero_division=1
    assert macro_f1(y, y) == pytest.approx(0.5) == skm.f1_score(y, y, average="macro", zero_division=0)
    assert macro_f1(y, y, zero_division=1.0) == 1.0
    # one species: 2 tp / (2 tp + fp + fn) = 2 / 3
    assert macro_f1([[1], [0]], [[1], [1]]) == pytest.approx(2 / 3)
    assert math.isnan(macro_f1(np.zeros((3, 0)), np.zeros((3, 0))))


def test_macro_f1_zero_division_only_for_0_over_0():
    # species 0: observed once, never predicted: F1 = 0 / 1 = 0 whatever zero_division is
    y, p = np.array([[1, 0], [0, 0]]), np.zeros((2, 2))
    want = skm.f1_score(y, p, average="macro", zero_division=1)
    assert macro_f1(y, p, zero_division=1.0) == pytest.approx(want) == pytest.approx(0.5)


def test_per_species_auc_species_present_once():
    y = np.array([[1, 0], [0, 1], [0, 1]])
    s = np.array([[0.9, 0.3], [0.1, 0.8], [0.2, 0.4]])
    np.testing.assert_allclose(per_species_auc(y, s), [1.0, 1.0])


def test_nan_auc_without_runtime_warnings():
    y = np.ones((3, 2))  # no species has both classes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert math.isnan(median_auc(y, np.full((3, 2), 0.5)))
        assert math.isnan(mlc_report(y, np.full((3, 2), 0.5))["median_auc"])
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_mlc_report_defaults_and_options():
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=(30, 5)) < 0.3).astype(np.uint8)
    s = rng.uniform(size=y.shape)
    y[:4], s[:4] = 0, 0.1  # sites empty in truth and prediction
    y[:, 0], s[:, 0] = 0, 0.2  # a species neither observed nor predicted
    assert mlc_report(y, s) == mlc_report(y, s, 0.5, empty="one", zero_division=0.0)
    yp = binarize(s, 0.5)
    got = mlc_report(y, s, empty="zero", zero_division=1.0)
    assert got["ebF1"] == eb_f1(y, yp, empty="zero") != eb_f1(y, yp)
    assert got["maF1"] == macro_f1(y, yp, zero_division=1.0) != macro_f1(y, yp)
    # nothing observed or predicted anywhere: miF1 and maF1 are the zero_division value
    none = mlc_report(np.zeros((3, 2)), np.zeros((3, 2)), zero_division=1.0)
    assert none["miF1"] == none["maF1"] == 1.0


def test_error_messages_name_the_position():
    s = np.full((2, 2), 0.5)
    s[1, 0] = np.nan
    with pytest.raises(InputDataError, match=r"y_score has non-finite value nan at site \(row\) 1, species \(column\) 0"):
        per_species_auc(np.eye(2), s)
    with pytest.raises(InputDataError, match=r"^y_true has value 2 at site \(row\) 0, species \(column\) 0; expected 0/1$"):
        per_species_auc([[2, 0], [0, 1]], np.full((2, 2), 0.5))


def test_binarize_rejects_2d_thresholds():
    with pytest.raises(InputDataError, match="thresholds must be a scalar or shape"):
        binarize(np.full((2, 3), 0.5), np.full((1, 3), 0.5))


# --------------------------------------------------------------------------- beta components
def test_beta_components_are_int64_counts():
    a, b, c = beta_components([1, 1, 0, 0], [1, 0, 1, 1])
    assert (int(a), int(b), int(c)) == (1, 1, 2)
    assert a.dtype == b.dtype == c.dtype == np.int64


def test_beta_components_errors():
    with pytest.raises(InputDataError, match="must share the last"):
        beta_components(1, [1, 0])
    with pytest.raises(InputDataError, match="must share the last"):
        beta_components([1, 0], 1)
    with pytest.raises(InputDataError, match=r"^x has value 2 at index \(1,\); community vectors must be 0/1$"):
        beta_components([1, 2], [1, 0])
    with pytest.raises(InputDataError, match=r"^y has value 2 at index \(0,\); community vectors must be 0/1$"):
        beta_components([1, 0], [2, 0])


def test_micro_f1_default_zero_division_and_one_cell():
    assert micro_f1(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0  # nothing anywhere: zero_division=0 by default
    # one observed cell, never predicted: 2 tp / (2 tp + fp + fn) = 0 / 1, not the zero_division value
    y, p = np.array([[1, 0]]), np.zeros((1, 2))
    assert micro_f1(y, p, zero_division=1.0) == 0.0 == skm.f1_score(y, p, average="micro", zero_division=1)


def test_pair_errors_name_the_argument():
    with pytest.raises(InputDataError, match=r"^y_true has value 2 at site \(row\) 0, species \(column\) 0; expected 0/1$"):
        eb_f1([[2]], [[1]])
    with pytest.raises(InputDataError, match=r"^y_pred has value 2 at site \(row\) 0, species \(column\) 0; expected 0/1$"):
        eb_f1([[1]], [[2]])


def test_as_binary_checks_floats_exactly_and_views_bytes():
    with pytest.raises(InputDataError, match="x has value 0.5"):
        beta_components([0.5, 1.0], [1, 0])
    # 2-byte integers are converted, not viewed (a bool view would double the length)
    a, b, c = beta_components(np.array([1, 1, 0], np.int16), np.array([1, 0, 1], np.int16))
    assert (int(a), int(b), int(c)) == (1, 1, 1)
    u8 = np.array([[1, 0, 1]], dtype=np.uint8)
    out = _as_binary(u8, "x")
    assert out.dtype == bool and np.shares_memory(out, u8)  # no copy of large uint8 draw stacks
    np.testing.assert_array_equal(out, [[True, False, True]])
    with pytest.raises(InputDataError, match="^x has value 2 at index"):
        _as_binary(np.array([1, 2], np.int64), "x")
