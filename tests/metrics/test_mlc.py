"""MLC metrics against scikit-learn and hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.mlc import (
    MLC_METRICS,
    binarize,
    eb_f1,
    hamming_accuracy,
    macro_f1,
    median_auc,
    micro_f1,
    mlc_report,
    per_species_auc,
)

# Worked example: 3 sites x 3 species.
Y_TRUE = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0]])
Y_PRED = np.array([[1, 1, 0], [0, 0, 0], [0, 1, 0]])


def _random_case(seed: int, n: int = 60, L: int = 7):
    rng = np.random.default_rng(seed)
    yt = (rng.uniform(size=(n, L)) < 0.25).astype(np.uint8)
    yp = (rng.uniform(size=(n, L)) < 0.25).astype(np.uint8)
    yt[:5] = 0  # some sites empty in both
    yp[:5] = 0
    yt[:, 0] = 0  # a species never observed ...
    yp[:, 0] = 0  # ... nor predicted (0/0 in maF1)
    return yt, yp


def test_eb_f1_worked_example():
    # site 0: tp=1, |y|=2, |ŷ|=2 -> 0.5; site 1: empty/empty; site 2: 1.
    assert eb_f1(Y_TRUE, Y_PRED) == pytest.approx((0.5 + 1 + 1) / 3)
    assert eb_f1(Y_TRUE, Y_PRED, empty="zero") == pytest.approx((0.5 + 0 + 1) / 3)
    assert eb_f1(Y_TRUE, Y_PRED, empty="exclude") == pytest.approx((0.5 + 1) / 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eb_f1_matches_sklearn_samples_average(seed):
    yt, yp = _random_case(seed)
    assert eb_f1(yt, yp, empty="one") == pytest.approx(skm.f1_score(yt, yp, average="samples", zero_division=1))
    assert eb_f1(yt, yp, empty="zero") == pytest.approx(skm.f1_score(yt, yp, average="samples", zero_division=0))
    keep = (yt.sum(1) + yp.sum(1)) > 0
    assert eb_f1(yt, yp, empty="exclude") == pytest.approx(
        skm.f1_score(yt[keep], yp[keep], average="samples", zero_division=0)
    )


def test_eb_f1_exclude_all_empty_is_nan():
    z = np.zeros((3, 2), dtype=np.uint8)
    assert np.isnan(eb_f1(z, z, empty="exclude"))
    assert eb_f1(z, z) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("zd", [0.0, 1.0])
def test_micro_macro_match_sklearn(seed, zd):
    yt, yp = _random_case(seed)
    assert micro_f1(yt, yp, zero_division=zd) == pytest.approx(skm.f1_score(yt, yp, average="micro", zero_division=zd))
    assert macro_f1(yt, yp, zero_division=zd) == pytest.approx(skm.f1_score(yt, yp, average="macro", zero_division=zd))


def test_macro_f1_worked_example():
    # species 0: tp=1 fp=0 fn=0 -> 1; species 1: tp=1 fp=1 -> 2/3; species 2: fn=1 -> 0.
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx((1 + 2 / 3 + 0) / 3)
    # micro: tp=2, fp=1, fn=1 -> 4/6
    assert micro_f1(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)


def test_hamming_accuracy_matches_sklearn():
    yt, yp = _random_case(4)
    assert hamming_accuracy(yt, yp) == pytest.approx(1 - skm.hamming_loss(yt, yp))
    assert hamming_accuracy(Y_TRUE, Y_PRED) == pytest.approx(7 / 9)


def test_per_species_auc_and_median():
    rng = np.random.default_rng(5)
    yt = (rng.uniform(size=(80, 5)) < 0.4).astype(np.uint8)
    yt[:, 1] = 0  # never present: undefined
    yt[:, 3] = 1  # always present: undefined
    s = rng.uniform(size=(80, 5)) + 0.5 * yt
    auc = per_species_auc(yt, s)
    assert np.isnan(auc[1]) and np.isnan(auc[3])
    for j in (0, 2, 4):
        assert auc[j] == pytest.approx(skm.roc_auc_score(yt[:, j], s[:, j]))
    assert median_auc(yt, s) == pytest.approx(np.median(auc[[0, 2, 4]]))


def test_median_auc_nan_when_no_species_has_both_classes():
    yt = np.array([[1, 0], [1, 0], [1, 0]])
    assert np.isnan(median_auc(yt, np.full((3, 2), 0.5)))


def test_auc_worked_example():
    yt = np.array([[1], [0], [1], [0]])
    s = np.array([[0.9], [0.5], [0.5], [0.1]])
    # positives {0.9, 0.5}, negatives {0.5, 0.1}: 1 + 1 + 0.5 + 1 = 3.5 / 4
    assert per_species_auc(yt, s)[0] == pytest.approx(0.875)


def test_binarize_and_report_per_species_thresholds():
    yt, _ = _random_case(6)
    rng = np.random.default_rng(6)
    s = np.clip(0.6 * yt + rng.uniform(0, 0.5, size=yt.shape), 0, 1)
    th = np.linspace(0.3, 0.6, yt.shape[1])
    yp = binarize(s, th)
    assert yp.dtype == np.uint8
    np.testing.assert_array_equal(yp, (s >= th).astype(np.uint8))
    assert binarize(np.array([[0.5, 0.49]]), 0.5).tolist() == [[1, 0]]  # >= as MPVAE
    rep = mlc_report(yt, s, th)
    assert tuple(k for k in rep if k in MLC_METRICS) == MLC_METRICS
    assert rep["ebF1"] == pytest.approx(skm.f1_score(yt, yp, average="samples", zero_division=1))
    assert rep["miF1"] == pytest.approx(skm.f1_score(yt, yp, average="micro", zero_division=0))
    assert rep["maF1"] == pytest.approx(skm.f1_score(yt, yp, average="macro", zero_division=0))
    assert rep["hamming_accuracy"] == pytest.approx(1 - skm.hamming_loss(yt, yp))
    assert rep["median_auc"] == pytest.approx(median_auc(yt, s))
    assert rep["n_species_auc"] == yt.shape[1] - 1  # species 0 never present


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(InputDataError, match=r"value 2 at site \(row\) 1, species \(column\) 0"):
        eb_f1(np.array([[1, 0], [2, 0]]), np.zeros((2, 2)))
    with pytest.raises(InputDataError, match="shape"):
        micro_f1(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(InputDataError, match="2-D"):
        macro_f1(np.zeros(3), np.zeros(3))
    with pytest.raises(InputDataError, match="3 thresholds for 2 species"):
        binarize(np.zeros((2, 2)), [0.1, 0.2, 0.3])
    with pytest.raises(InputDataError, match="non-finite"):
        per_species_auc(np.array([[0], [1]]), np.array([[np.nan], [0.2]]))
    with pytest.raises(InputDataError, match="empty must be"):
        eb_f1(Y_TRUE, Y_PRED, empty="skip")
