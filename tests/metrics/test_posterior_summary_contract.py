"""Richness summaries and coverage: defaults, level bounds, point masses, dtypes (gaps found by mutation testing)."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.posterior_summary import (
    RichnessSummary,
    central_interval,
    interval_coverage,
    pit_coverage,
    richness_from_draws,
    richness_summary,
    richness_summary_from_counts,
    summarise_richness_chunks,
)

from .test_posterior_summary import DRAWS  # 4 draws x 2 sites x 3 species

# richness: site 0 [1, 2, 0, 3] (sorted 0 1 2 3), site 1 [3, 0, 2, 3] (sorted 0 2 3 3)
COUNTS = np.array([[1, 3], [2, 0], [0, 2], [3, 3]])


def test_richness_from_draws_is_int32_for_bool_draws():
    r = richness_from_draws(DRAWS.astype(bool))
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r, COUNTS)


def test_coverage_default_level_is_one_half():
    samples = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])  # 50 % interval [1, 3], 90 % [0.2, 3.8]
    obs = np.array([3.5])
    assert interval_coverage(obs, samples).tolist() == [False]
    assert interval_coverage(obs, samples, 0.9).tolist() == [True]
    np.testing.assert_array_equal(pit_coverage(obs, samples), pit_coverage(obs, samples, 0.5))
    assert pit_coverage(obs, samples).tolist() == [0.0]  # F(3.5) = .8, outside [.25, .75]
    assert pit_coverage(obs, samples, 0.9).tolist() == [1.0]


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.2])
def test_pit_coverage_rejects_levels_outside_the_open_unit_interval(level):
    with pytest.raises(InputDataError, match=r"interval level must be in \(0, 1\)"):
        pit_coverage([1.0], [[1.0], [2.0]], level)


def test_pit_coverage_needs_draws():
    with pytest.raises(InputDataError, match=r"n_draws >= 1"):
        pit_coverage([1.0, 2.0, 3.0], np.zeros((0, 3)))


def test_pit_coverage_without_mass_at_the_observation():
    # draws 1, 2, 3, 4: F is flat between them; an observation with no mass scores 1 if F(y) is in the band
    samples = np.array([[1.0], [2.0], [3.0], [4.0]])
    # F(0.5) = 0, F(1.5) = .25 (band edge a), F(3.5) = .75 (band edge b), F(4.5) = 1
    got = [pit_coverage([y], samples, 0.5)[0] for y in (0.5, 1.5, 2.5, 3.5, 4.5)]
    assert got == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_richness_summary_from_counts_default_method_is_linear():
    s = richness_summary_from_counts(COUNTS)
    assert sorted(s.intervals) == [0.5, 0.9]
    lo, hi = s.intervals[0.9]
    # linear quantiles at .05 / .95: site 0 [0,1,2,3] -> [0.15, 2.85]; site 1 [0,2,3,3] -> [0.3, 3]
    np.testing.assert_allclose(lo, [0.15, 0.3])
    np.testing.assert_allclose(hi, [2.85, 3.0])
    with pytest.raises(InputDataError, match=r"n_draws >= 1"):
        richness_summary_from_counts(np.zeros((0, 3)))


def test_method_is_passed_on():
    # "lower" quantiles: site 0 at .25 -> 0, at .75 -> 2; site 1 -> 0 and 3
    for s in (richness_summary(DRAWS, levels=(0.5,), method="lower"),
              summarise_richness_chunks([DRAWS[:, :1], DRAWS[:, 1:]], levels=(0.5,), method="lower")):
        lo, hi = s.intervals[0.5]
        np.testing.assert_array_equal(lo, [0.0, 0.0])
        np.testing.assert_array_equal(hi, [2.0, 3.0])


def test_to_frame_values_and_index():
    s = richness_summary(DRAWS, levels=(0.5,), at_least=(2,))
    df = s.to_frame()
    assert list(df.index) == [0, 1]
    np.testing.assert_allclose(df["richness_lo50"], [0.75, 1.5])
    np.testing.assert_allclose(df["richness_hi50"], [2.25, 3.0])
    np.testing.assert_allclose(df["p_richness_ge2"], [0.5, 0.75])
    assert s.to_frame(site_ids=["a", "b"]).index.name == "site_id"


def test_concat_keeps_draw_count_and_messages():
    a = richness_summary(DRAWS[:, :1], levels=(0.5,))
    b = richness_summary(DRAWS[:, 1:], levels=(0.5,))
    both = RichnessSummary.concat([a, b])
    assert both.n_draws == 4 and both.n_sites == 2
    with pytest.raises(InputDataError, match="^no richness summaries to concatenate$"):
        RichnessSummary.concat([])
    with pytest.raises(InputDataError, match="^richness summaries to concatenate have different levels or thresholds$"):
        RichnessSummary.concat([a, richness_summary(DRAWS, levels=(0.9,))])


def test_draws_messages():
    with pytest.raises(InputDataError, match=r"^draws has no draws \(n_draws = 0\)$"):
        richness_from_draws(np.zeros((0, 2, 2)))
    with pytest.raises(InputDataError, match="; posterior draws must be 0/1$"):
        richness_from_draws(np.full((1, 1, 2), 2))


def test_central_interval_default_level_and_bounds():
    samples = np.arange(5.0)[:, None]  # 0..4
    lo, hi = central_interval(samples)
    assert (lo.item(), hi.item()) == (1.0, 3.0)  # level 0.5
    for level in (0.0, 1.0):
        with pytest.raises(InputDataError, match=r"interval level must be in \(0, 1\)"):
            central_interval(samples, level)


def test_interval_coverage_passes_the_method_on():
    samples = np.array([[0.0], [1.0], [2.0], [3.0]])
    # linear: [0.75, 2.25] misses 0.5; "lower": [0, 2] holds it
    assert interval_coverage([0.5], samples).tolist() == [False]
    assert interval_coverage([0.5], samples, method="lower").tolist() == [True]
