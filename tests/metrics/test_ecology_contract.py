"""Norberg measures: defaults, argument pass-through, seeds and edge shapes (gaps found by mutation testing).

Every test here was written to kill surviving mutants of ``benchmarks/mutation.py run metrics``
(see ``benchmarks/results/mutation.md``); each asserts documented behaviour with hand values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.ecology import (
    BETTER,
    community_metrics,
    norberg_metrics,
    occurrence_calibration,
    occurrence_metrics,
    richness_metrics,
    richness_metrics_from_counts,
    sample_site_pairs,
)

from .test_ecology import COUNTS, D_RICH, P_OCC, Y_OCC, Y_RICH  # the hand-checked cases of the main tests


def _random_case(seed: int = 3, n_sites: int = 50, n_species: int = 6, n_draws: int = 20):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=(n_sites, n_species))
    y = (rng.uniform(size=p.shape) < p).astype(np.uint8)
    draws = (rng.uniform(size=(n_draws, *p.shape)) < p).astype(np.uint8)
    return y, p, draws


def _expected_table(y, p, draws, *, n_pairs, rng, pairs, n_bins, level, coverage) -> pd.Series:
    """The table norberg_metrics must build, from the component functions called explicitly."""
    occ = occurrence_metrics(y, p, n_bins=n_bins)
    ric = richness_metrics(y, draws, level=level, coverage=coverage)
    com = community_metrics(y, draws, n_pairs=n_pairs, rng=rng, pairs=pairs, level=level, coverage=coverage)
    vals = {"occurrence": occ, "richness": ric, "community": com["sor"], "community_sim": com["sim"],
            "community_nes": com["nes"]}
    return pd.Series({(a, m): float(v[m]) for a, v in vals.items() for m in BETTER})


def _table(df: pd.DataFrame) -> pd.Series:
    return df.set_index(["aspect", "measure"])["value"]


# --------------------------------------------------------------------------- defaults and pass-through
def test_norberg_metrics_defaults_are_the_documented_ones():
    y, p, draws = _random_case()
    got = _table(norberg_metrics(y, p, draws))
    want = _expected_table(y, p, draws, n_pairs=300, rng=0, pairs=None, n_bins=10, level=0.5, coverage="interval")
    pd.testing.assert_series_equal(got, want.loc[got.index], check_names=False)
    # the defaults matter: another seed or bin count changes the table
    other = _expected_table(y, p, draws, n_pairs=300, rng=1, pairs=None, n_bins=11, level=0.5, coverage="interval")
    assert got[("occurrence", "calibration")] != other[("occurrence", "calibration")]
    assert got[("community", "accuracy")] != other[("community", "accuracy")]


def test_norberg_metrics_passes_every_option_on():
    y, p, draws = _random_case()
    opts = dict(n_pairs=7, rng=5, n_bins=3, level=0.8, coverage="pit")
    got = _table(norberg_metrics(y, p, draws, **opts))
    want = _expected_table(y, p, draws, pairs=None, **opts)
    pd.testing.assert_series_equal(got, want.loc[got.index], check_names=False)
    default = _table(norberg_metrics(y, p, draws))
    for key in [("occurrence", "calibration"), ("richness", "calibration"), ("community", "accuracy"),
                ("community", "calibration")]:
        assert got[key] != pytest.approx(default[key]), key  # each option changed something
    # explicit pairs override n_pairs / rng
    pairs = np.array([[0, 1], [2, 5], [3, 4], [10, 40]])
    got = _table(norberg_metrics(y, p, draws, pairs=pairs, n_pairs=2, rng=9))
    want = _expected_table(y, p, draws, n_pairs=300, rng=0, pairs=pairs, n_bins=10, level=0.5, coverage="interval")
    pd.testing.assert_series_equal(got, want.loc[got.index], check_names=False)


def test_community_metrics_default_seed_is_zero():
    y, _, draws = _random_case()
    got = community_metrics(y, draws, n_pairs=5)
    want = community_metrics(y, draws, pairs=sample_site_pairs(y.shape[0], 5, np.random.default_rng(0)))
    assert got == want


def test_occurrence_calibration_default_is_ten_bins():
    y, p, _ = _random_case(n_sites=53)
    for a, b in zip(occurrence_calibration(y, p), occurrence_calibration(y, p, n_bins=10)):
        np.testing.assert_array_equal(a, b)
    assert occurrence_metrics(y, p) == occurrence_metrics(y, p, n_bins=10)
    assert occurrence_metrics(y, p)["calibration"] != occurrence_metrics(y, p, n_bins=11)["calibration"]


def test_richness_level_is_used_hand():
    # level 0.9, linear quantiles: site 0 draws [1,2,2,3] -> [1.15, 2.85] holds 2; site 1 [0,0,1,1] -> [0, 1]
    # holds 0; site 2 [1,1,1,2] -> [1, 1.85] misses 3: coverage 2/3, calibration |2/3 - 0.9|
    m = richness_metrics(Y_RICH, D_RICH, level=0.9)
    assert m["coverage"] == pytest.approx(2 / 3)
    assert m["calibration"] == pytest.approx(0.9 - 2 / 3)
    # PIT, band [.05, .95]: site 0 [.25, .75] -> 1; site 1 [0, .5] -> .45/.5 = .9; site 2 F = 1 outside -> 0
    m = richness_metrics(Y_RICH, D_RICH, level=0.9, coverage="pit")
    assert m["coverage"] == pytest.approx(1.9 / 3)
    assert m["calibration"] == pytest.approx(0.9 - 1.9 / 3)
    assert richness_metrics_from_counts(Y_RICH.sum(1), COUNTS, level=0.9, coverage="pit") == m


def test_richness_from_counts_defaults_are_interval_at_one_half():
    m = richness_metrics_from_counts(Y_RICH.sum(1), COUNTS)
    assert m == richness_metrics_from_counts(Y_RICH.sum(1), COUNTS, level=0.5, coverage="interval")
    assert m["coverage"] == pytest.approx(2 / 3)  # worked example in test_ecology.py


# --------------------------------------------------------------------------- occurrence edge cases
def test_occurrence_calibration_one_bin_hand():
    # one bin: |mean y - mean p| per species: |.5 - .55| and |.5 - .45|
    per_mean, per_sum = occurrence_calibration(Y_OCC, P_OCC, n_bins=1)
    np.testing.assert_allclose(per_mean, [0.05, 0.05])
    np.testing.assert_allclose(per_sum, [0.05, 0.05])
    with pytest.raises(InputDataError, match="n_bins must be >= 1, got 0"):
        occurrence_calibration(Y_OCC, P_OCC, n_bins=0)


def test_occurrence_calibration_sum_is_per_species():
    y = np.column_stack([Y_OCC, [1, 1, 0, 0]])
    p = np.column_stack([P_OCC, [0.5, 0.5, 0.5, 0.5]])
    per_mean, per_sum = occurrence_calibration(y, p, n_bins=2)
    assert per_mean.shape == per_sum.shape == (3,)
    # species 2: ties keep site order -> bins (1, 1) and (0, 0): |1 - .5| and |0 - .5|
    np.testing.assert_allclose(per_mean, [0.20, 0.10, 0.5])
    np.testing.assert_allclose(per_sum, [0.40, 0.20, 1.0])


def test_occurrence_calibration_ties_keep_site_order_for_many_sites():
    # 40 sites, p alternating .5 / .2, present at sites 0..19. Stable sort, 4 bins of 10:
    # odd sites 1..19 (p .2, y 1) -> .8; odd 21..39 (.2, 0) -> .2; even 0..18 (.5, 1) -> .5; even 20..38 -> .5
    y = (np.arange(40) < 20).astype(np.uint8)[:, None]
    p = np.tile([0.5, 0.2], 20)[:, None]
    per_mean, per_sum = occurrence_calibration(y, p, n_bins=4)
    np.testing.assert_allclose(per_mean, [0.5])
    np.testing.assert_allclose(per_sum, [2.0])


def test_integer_probabilities_do_not_wrap_around():
    y = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.uint8)
    hard = (1 - y).astype(np.uint8)  # hard 0/1 "probabilities", every cell wrong
    m = occurrence_metrics(y, hard)
    assert m["accuracy"] == 1.0
    assert m["precision"] == 0.0


def test_y_true_needs_a_site_and_a_species():
    for shape in [(0, 3), (3, 0)]:
        with pytest.raises(InputDataError, match="need at least one site and one species"):
            occurrence_metrics(np.zeros(shape), np.zeros(shape))
    with pytest.raises(InputDataError, match=r"y_true must be 2-D \(n_sites, n_species\)"):
        occurrence_metrics(np.zeros(3), np.zeros(3))


def test_y_true_error_names_the_cell():
    msg = r"^y_true has value 2 at site \(row\) 1, species \(column\) 0; expected 0/1$"
    with pytest.raises(InputDataError, match=msg):
        occurrence_metrics(np.array([[1, 0], [2, 1]]), np.full((2, 2), 0.5))


# --------------------------------------------------------------------------- draws / richness validation
def test_draws_validation_messages():
    y = np.array([[1, 0], [0, 1], [1, 1]])  # 3 sites x 2 species
    with pytest.raises(InputDataError, match=r"draws must have shape \(n_draws, 3, 2\) to match y_true"):
        richness_metrics(y, np.zeros((4, 2, 2)))
    for fn in (richness_metrics, community_metrics):
        with pytest.raises(InputDataError, match=r"^draws has no draws \(n_draws = 0\)$"):
            fn(y, np.zeros((0, 3, 2)))


def test_richness_counts_validation():
    with pytest.raises(InputDataError, match="richness counts must have shape"):
        richness_metrics_from_counts(np.ones((3, 1)), np.ones((2, 3)))  # observed not 1-D
    with pytest.raises(InputDataError, match="richness counts must have shape"):
        richness_metrics_from_counts(np.ones(3), np.ones((0, 3)))  # no draws


# --------------------------------------------------------------------------- community
def test_community_without_pairs_reports_every_key_as_nan():
    out = community_metrics(np.array([[1, 0]]), np.array([[[1, 0]]]))
    assert set(out["sor"]) == {"accuracy", "discrimination", "calibration", "precision", "coverage"}
    assert all(math.isnan(v) for v in out["sor"].values())


def test_pairs_error_states_the_valid_range():
    y = np.array([[1, 0], [0, 1], [1, 1]])
    with pytest.raises(InputDataError, match=r"pairs hold site indices outside 0\.\.2$"):
        community_metrics(y, y[None], pairs=[[0, 3]])


# --------------------------------------------------------------------------- site pairs
def test_sample_site_pairs_defaults_and_seeds():
    pr = sample_site_pairs(30)
    assert pr.shape == (300, 2) and pr.dtype == np.int64
    np.testing.assert_array_equal(pr, sample_site_pairs(30, 300, np.random.default_rng(0)))
    # an int seed (or None for 0) means numpy.random.default_rng(seed)
    for seed, gen_seed in [(7, 7), (np.int64(7), 7), (None, 0), (0, 0)]:
        np.testing.assert_array_equal(sample_site_pairs(50, 10, seed),
                                      sample_site_pairs(50, 10, np.random.default_rng(gen_seed)))
    assert not np.array_equal(sample_site_pairs(50, 10, 7), sample_site_pairs(50, 10, 0))


def test_sample_site_pairs_small_counts():
    assert sample_site_pairs(10, 0).shape == (0, 2)
    assert sample_site_pairs(10, 1).shape == (1, 2)
    with pytest.raises(InputDataError, match="n_pairs must be >= 0"):
        sample_site_pairs(10, -1)
    # a few pairs from many sites (rejection sampling): distinct, i < j
    for seed in range(5):
        pr = sample_site_pairs(10, 3, seed)
        assert pr.shape == (3, 2) and np.all(pr[:, 0] < pr[:, 1]) and len({tuple(r) for r in pr.tolist()}) == 3


def test_sample_site_pairs_all_pairs_in_triu_order():
    i, j = np.triu_indices(5, 1)
    np.testing.assert_array_equal(sample_site_pairs(5, 10, 3), np.stack([i, j], axis=1))


def test_sample_site_pairs_dense_regime_has_distinct_sites():
    # more than half of the 15 pairs of 6 sites: drawn from the enumerated upper triangle
    for seed in range(10):
        pr = sample_site_pairs(6, 10, seed)
        assert pr.shape == (10, 2)
        assert np.all(pr[:, 0] < pr[:, 1])
        assert len({tuple(r) for r in pr.tolist()}) == 10


def test_interval_coverage_uses_the_level():
    # draws 0, 2, 2, 2, 4 and observed 1: the 50 % interval [2, 2] misses it, the 90 % one [0.4, 3.6] holds it
    counts = np.array([[0], [2], [2], [2], [4]])
    assert richness_metrics_from_counts([1], counts)["coverage"] == 0.0
    m = richness_metrics_from_counts([1], counts, level=0.9)
    assert m["coverage"] == 1.0
    assert m["calibration"] == pytest.approx(0.1)


def test_richness_counts_messages():
    with pytest.raises(InputDataError, match=r"\(n_draws >= 1, 3\) to match observed richness of shape \(3,\)"):
        richness_metrics_from_counts(np.ones(3), np.ones((2, 4)))
    with pytest.raises(InputDataError, match=r"\(n_draws >= 1, \?\) to match observed richness of shape \(\)"):
        richness_metrics_from_counts(3.0, np.ones((2, 1)))  # a scalar is not a richness vector


def test_rng_error_names_the_type():
    with pytest.raises(InputDataError, match="an int seed, got str$"):
        sample_site_pairs(10, 3, "seed")
