"""Per-site richness summaries from posterior draws: worked examples, chunking, PIT coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

# 4 draws x 2 sites x 3 species
DRAWS = np.array(
    [
        [[1, 0, 0], [1, 1, 1]],
        [[1, 1, 0], [0, 0, 0]],
        [[0, 0, 0], [1, 1, 0]],
        [[1, 1, 1], [1, 1, 1]],
    ],
    dtype=np.uint8,
)
# richness: site 0 [1, 2, 0, 3], site 1 [3, 0, 2, 3]


def test_richness_from_draws():
    r = richness_from_draws(DRAWS)
    assert r.shape == (4, 2) and r.dtype == np.int32
    np.testing.assert_array_equal(r, [[1, 3], [2, 0], [0, 2], [3, 3]])
    np.testing.assert_array_equal(richness_from_draws(DRAWS.astype(bool)), r)


def test_richness_summary_worked_example():
    s = richness_summary(DRAWS, levels=(0.5,), at_least=(2, 3))
    np.testing.assert_allclose(s.mean, [1.5, 2.0])
    np.testing.assert_allclose(s.sd, [np.sqrt(1.25), np.sqrt(1.5)])  # ddof = 0
    lo, hi = s.intervals[0.5]
    # linear quantiles: site 0 sorted [0,1,2,3] -> [0.75, 2.25]; site 1 sorted [0,2,3,3] -> [1.5, 3]
    np.testing.assert_allclose(lo, [0.75, 1.5])
    np.testing.assert_allclose(hi, [2.25, 3.0])
    np.testing.assert_allclose(s.prob_at_least[2], [0.5, 0.75])
    np.testing.assert_allclose(s.prob_at_least[3], [0.25, 0.5])
    assert s.n_draws == 4 and s.n_sites == 2


def test_to_frame_columns_and_index():
    s = richness_summary(DRAWS, levels=(0.5, 0.9), at_least=(1,))
    df = s.to_frame(site_ids=["a", "b"])
    assert list(df.columns) == [
        "richness_mean", "richness_sd", "richness_lo50", "richness_hi50",
        "richness_lo90", "richness_hi90", "p_richness_ge1",
    ]
    assert list(df.index) == ["a", "b"]
    assert df.loc["b", "richness_mean"] == pytest.approx(2.0)
    with pytest.raises(InputDataError, match="3 site ids for 2 sites"):
        s.to_frame(site_ids=["a", "b", "c"])


def test_chunked_equals_full():
    rng = np.random.default_rng(0)
    draws = (rng.uniform(size=(30, 101, 8)) < 0.3).astype(np.uint8)
    full = richness_summary(draws, levels=(0.5, 0.95), at_least=(0, 3))
    chunked = summarise_richness_chunks(
        (draws[:, i : i + 17] for i in range(0, 101, 17)), levels=(0.5, 0.95), at_least=(0, 3)
    )
    for a, b in ((full.mean, chunked.mean), (full.sd, chunked.sd)):
        np.testing.assert_array_equal(a, b)
    for lv in (0.5, 0.95):
        np.testing.assert_array_equal(full.intervals[lv][0], chunked.intervals[lv][0])
        np.testing.assert_array_equal(full.intervals[lv][1], chunked.intervals[lv][1])
    np.testing.assert_array_equal(full.prob_at_least[3], chunked.prob_at_least[3])
    np.testing.assert_array_equal(chunked.prob_at_least[0], 1.0)


def test_concat_rejects_mismatched_parts():
    a = richness_summary(DRAWS, levels=(0.5,))
    b = richness_summary(DRAWS, levels=(0.9,))
    with pytest.raises(InputDataError, match="different levels"):
        RichnessSummary.concat([a, b])
    c = richness_summary(DRAWS[:2], levels=(0.5,))
    with pytest.raises(InputDataError, match="4 and 2 draws"):
        RichnessSummary.concat([a, c])
    with pytest.raises(InputDataError, match="no richness summaries"):
        RichnessSummary.concat([])


def test_interval_and_coverage():
    samples = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 4.0], [4.0, 5.0]])
    lo, hi = central_interval(samples, 0.5)
    np.testing.assert_allclose(lo, [1.0, 2.0])
    np.testing.assert_allclose(hi, [3.0, 4.0])
    np.testing.assert_array_equal(interval_coverage([3.0, 4.5], samples, 0.5), [True, False])
    with pytest.raises(InputDataError, match="level"):
        central_interval(samples, 1.0)
    with pytest.raises(InputDataError, match="samples must have shape"):
        interval_coverage([1.0, 2.0, 3.0], samples, 0.5)
    with pytest.raises(InputDataError, match="samples must have shape"):
        pit_coverage([1.0, 2.0, 3.0], samples, 0.5)


def test_pit_coverage_continuous_matches_interval():
    # continuous predictive distribution: PIT coverage is 0/1 and agrees with quantile coverage
    rng = np.random.default_rng(4)
    samples = rng.normal(size=(1000, 500))
    obs = rng.normal(size=500)
    pit = pit_coverage(obs, samples, 0.5)
    assert set(np.unique(pit)) <= {0.0, 1.0}
    agree = np.mean(pit.astype(bool) == interval_coverage(obs, samples, 0.5))
    assert agree > 0.99
    assert abs(pit.mean() - 0.5) < 0.06


def test_pit_coverage_discrete_calibrated_is_half():
    # Binomial(10, .5) richness at every site: interval coverage is ~0.66, PIT coverage ~0.5
    rng = np.random.default_rng(5)
    samples = rng.binomial(10, 0.5, size=(400, 4000))
    obs = rng.binomial(10, 0.5, size=4000)
    assert abs(pit_coverage(obs, samples, 0.5).mean() - 0.5) < 0.03
    assert interval_coverage(obs, samples, 0.5).mean() > 0.6


def test_bad_draws():
    with pytest.raises(InputDataError, match="3-D"):
        richness_from_draws(np.zeros((2, 3)))
    with pytest.raises(InputDataError, match="draws has value 5 at draw 0, site 1, species 0"):
        richness_from_draws(np.array([[[0, 1], [5, 0]]]))
    with pytest.raises(InputDataError, match="n_draws = 0"):
        richness_from_draws(np.zeros((0, 2, 2)))
    with pytest.raises(InputDataError, match="n_draws >= 1"):
        richness_summary_from_counts(np.zeros(5))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.integers(0, 6), st.integers(0, 2**32 - 1))
def test_property_summary_bounds(n_draws, n_sites, n_species, seed):
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, 2, size=(n_draws, n_sites, n_species))
    s = richness_summary(draws, levels=(0.5, 0.9), at_least=(1,))
    assert np.all((s.mean >= 0) & (s.mean <= n_species))
    assert np.all(s.sd >= 0)
    for lo, hi in s.intervals.values():
        assert np.all(lo <= hi) and np.all(lo >= 0) and np.all(hi <= n_species)
    assert np.all((s.prob_at_least[1] >= 0) & (s.prob_at_least[1] <= 1))
    obs = rng.integers(0, n_species + 1, size=n_sites)
    cov = pit_coverage(obs, richness_from_draws(draws), 0.5)
    assert np.all((cov >= 0) & (cov <= 1))
