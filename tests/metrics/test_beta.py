"""Baselga (2010) βSOR / βSIM / βNES: hand-computed cases, edge cases, broadcasting, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.beta import beta_all, beta_components, beta_nes, beta_sim, beta_sor


def _brute(x, y):
    """βSOR, βSIM, βNES from Python sets, with the module's empty-community rules."""
    sx = {i for i, v in enumerate(x) if v}
    sy = {i for i, v in enumerate(y) if v}
    a, b, c = len(sx & sy), len(sx - sy), len(sy - sx)
    if a + b + c == 0:
        return 0.0, 0.0, 0.0
    sor = (b + c) / (2 * a + b + c)
    sim = 0.0 if a + min(b, c) == 0 else min(b, c) / (a + min(b, c))
    return sor, sim, sor - sim


def test_components_counts():
    a, b, c = beta_components([1, 1, 0, 1, 0], [1, 0, 1, 1, 0])
    assert (int(a), int(b), int(c)) == (2, 1, 1)


def test_identical_communities_are_zero():
    x = np.array([1, 0, 1, 1, 0])
    assert beta_sor(x, x) == 0.0
    assert beta_sim(x, x) == 0.0
    assert beta_nes(x, x) == 0.0


def test_disjoint_communities():
    x = np.array([1, 1, 0, 0])
    y = np.array([0, 0, 1, 0])
    # a=0, b=2, c=1: βSOR = 3/3 = 1, βSIM = 1/(0+1) = 1, βNES = 0.
    assert beta_sor(x, y) == 1.0
    assert beta_sim(x, y) == 1.0
    assert beta_nes(x, y) == 0.0


def test_nested_pair():
    big = np.array([1, 1, 1, 1, 0])
    small = np.array([1, 1, 0, 0, 0])
    # a=2, b=2, c=0: βSOR = 2/6, βSIM = 0/2 = 0, βNES = 1/3.
    assert beta_sor(big, small) == pytest.approx(1 / 3)
    assert beta_sim(big, small) == 0.0
    assert beta_nes(big, small) == pytest.approx(1 / 3)
    assert beta_nes(big, small) > 0


def test_partial_overlap_hand_values():
    x = np.array([1, 1, 1, 0])
    y = np.array([0, 0, 1, 1])
    # a=1, b=2, c=1: βSOR = 3/5, βSIM = 1/2, βNES = 0.1.
    assert beta_sor(x, y) == pytest.approx(0.6)
    assert beta_sim(x, y) == pytest.approx(0.5)
    assert beta_nes(x, y) == pytest.approx(0.1)


def test_empty_communities():
    empty = np.zeros(4, dtype=np.uint8)
    full = np.array([0, 1, 1, 0])
    # both empty: identical -> 0
    assert (beta_sor(empty, empty), beta_sim(empty, empty), beta_nes(empty, empty)) == (0.0, 0.0, 0.0)
    # one empty: βSOR 1, pure nestedness
    for x, y in ((empty, full), (full, empty)):
        assert beta_sor(x, y) == 1.0
        assert beta_sim(x, y) == 0.0
        assert beta_nes(x, y) == 1.0


def test_broadcast_over_draws_and_pairs_matches_loop():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(5, 7, 6))  # (draws, pairs, species)
    y = rng.integers(0, 2, size=(5, 7, 6))
    out = beta_all(x, y)
    for key in ("sor", "sim", "nes"):
        assert out[key].shape == (5, 7)
    for d in range(5):
        for p in range(7):
            ref = _brute(x[d, p], y[d, p])
            assert out["sor"][d, p] == pytest.approx(ref[0])
            assert out["sim"][d, p] == pytest.approx(ref[1])
            assert out["nes"][d, p] == pytest.approx(ref[2])
    # leading-axis broadcasting: one observed community against every draw
    single = beta_sor(x[0, 0], y[:, 0])
    assert single.shape == (5,)
    assert single[2] == pytest.approx(_brute(x[0, 0], y[2, 0])[0])


def test_bad_input_raises():
    with pytest.raises(InputDataError, match="value 2"):
        beta_sor([1, 2, 0], [1, 0, 0])
    with pytest.raises(InputDataError, match="species"):
        beta_sor([1, 0, 0], [1, 0])
    with pytest.raises(InputDataError, match="dtype"):
        beta_sor(np.array(["a", "b"]), np.array(["a", "b"]))


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 8)), elements=st.integers(0, 1)),
    st.data(),
)
def test_property_range_symmetry_and_partition(x, data):
    y = data.draw(hnp.arrays(np.uint8, x.shape, elements=st.integers(0, 1)))
    out = beta_all(x, y)
    for key in ("sor", "sim", "nes"):
        v = out[key]
        assert np.all(np.isfinite(v))
        assert np.all((v >= 0) & (v <= 1))
    np.testing.assert_allclose(out["nes"], out["sor"] - out["sim"], atol=1e-12)
    np.testing.assert_allclose(beta_sor(x, y), beta_sor(y, x))
    np.testing.assert_allclose(beta_sim(x, y), beta_sim(y, x))
    for r in range(x.shape[0]):
        ref = _brute(x[r], y[r])
        assert out["sor"][r] == pytest.approx(ref[0])
        assert out["sim"][r] == pytest.approx(ref[1])
