"""Norberg et al. (2019) measures: hand-computed tiny cases for all 12, calibration, pairs, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

# --------------------------------------------------------------------------- occurrence
Y_OCC = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
P_OCC = np.array([[0.9, 0.2], [0.4, 0.6], [0.8, 0.5], [0.1, 0.5]])


def test_occurrence_accuracy_hand():
    # species 0: .1 + .4 + .2 + .1 = .8; species 1: .2 + .4 + .5 + .5 = 1.6; / 8 cells
    assert occurrence_metrics(Y_OCC, P_OCC)["accuracy"] == pytest.approx(2.4 / 8)


def test_occurrence_discrimination_hand():
    # species 0 separates perfectly (AUC 1); species 1: (1 + 1 + 1 + 0.5) / 4 = 0.875
    m = occurrence_metrics(Y_OCC, P_OCC)
    assert m["discrimination"] == pytest.approx((1.0 + 0.875) / 2)
    assert m["n_species_auc"] == 2


def test_occurrence_discrimination_excludes_single_class_species():
    y = np.column_stack([Y_OCC, np.zeros(4, dtype=int)])  # third species never present
    p = np.column_stack([P_OCC, [0.3, 0.1, 0.2, 0.9]])
    m = occurrence_metrics(y, p)
    assert m["discrimination"] == pytest.approx((1.0 + 0.875) / 2)
    assert m["n_species_auc"] == 2


def test_occurrence_calibration_hand_two_bins():
    # species 0 sorted by p: (.1,0) (.4,0) | (.8,1) (.9,1): |0-.25| = .25, |1-.85| = .15 -> mean .20
    # species 1 sorted (ties by site order): (.2,0) (.5 site 2,1) | (.5 site 3,0) (.6,1):
    #   |.5-.35| = .15, |.5-.55| = .05 -> mean .10
    per_mean, per_sum = occurrence_calibration(Y_OCC, P_OCC, n_bins=2)
    np.testing.assert_allclose(per_mean, [0.20, 0.10])
    np.testing.assert_allclose(per_sum, [0.40, 0.20])
    m = occurrence_metrics(Y_OCC, P_OCC, n_bins=2)
    assert m["calibration"] == pytest.approx(0.15)
    assert m["calibration_sum"] == pytest.approx(0.60)  # the unnormalised form
    assert m["calibration_sum"] == pytest.approx(m["calibration"] * 2 * 2)


def test_occurrence_calibration_more_bins_than_sites_skips_empty_bins():
    # 10 bins over 4 sites: four single-site bins, |y - p| each -> equals accuracy per species
    per_mean, _ = occurrence_calibration(Y_OCC, P_OCC, n_bins=10)
    np.testing.assert_allclose(per_mean, [0.8 / 4, 1.6 / 4])


def test_occurrence_precision_hand():
    sds = [0.3, math.sqrt(0.24), 0.4, 0.3, 0.4, math.sqrt(0.24), 0.5, 0.5]
    assert occurrence_metrics(Y_OCC, P_OCC)["precision"] == pytest.approx(np.mean(sds))


def test_occurrence_calibration_perfect_vs_miscalibrated():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=(20000, 3))
    y = (rng.uniform(size=p.shape) < p).astype(np.uint8)
    good = occurrence_metrics(y, p)["calibration"]
    bad = occurrence_metrics(y, p**3)["calibration"]  # systematically too low
    assert good < 0.02
    assert bad > 0.1


# --------------------------------------------------------------------------- richness
def _draws_from_counts(counts: np.ndarray, n_species: int) -> np.ndarray:
    """Draws (n_draws, n_sites, n_species) whose richness equals ``counts`` (first k species present)."""
    return (np.arange(n_species)[None, None, :] < counts[:, :, None]).astype(np.uint8)


Y_RICH = np.array([[1, 1, 0], [0, 0, 0], [1, 1, 1]])  # observed richness 2, 0, 3
COUNTS = np.array([[1, 0, 1], [2, 0, 1], [2, 1, 1], [3, 1, 2]])  # 4 draws x 3 sites
# per site draws: site 0 [1,2,2,3] (mean 2), site 1 [0,0,1,1] (mean .5), site 2 [1,1,1,2] (mean 1.25)
D_RICH = _draws_from_counts(COUNTS, 3)


def test_richness_accuracy_hand():
    m = richness_metrics(Y_RICH, D_RICH)
    assert m["accuracy"] == pytest.approx(math.sqrt((0.0 + 0.25 + 1.75**2) / 3))


def test_richness_discrimination_hand():
    # observed ranks (2, 1, 3), predicted mean (2, .5, 1.25) ranks (3, 1, 2): rho = 1 - 6*2/(3*8) = .5
    assert richness_metrics(Y_RICH, D_RICH)["discrimination"] == pytest.approx(0.5)


def test_richness_calibration_interval_coverage_worked_example():
    # linear (type 7) quartiles: site 0 [1.75, 2.25] holds 2; site 1 [0, 1] holds 0 (inclusive);
    # site 2 [1, 1.25] misses 3 -> coverage 2/3, calibration |2/3 - 1/2| = 1/6
    m = richness_metrics(Y_RICH, D_RICH)
    assert m["coverage"] == pytest.approx(2 / 3)
    assert m["calibration"] == pytest.approx(1 / 6)


def test_richness_calibration_pit_worked_example():
    # site 0: F(2-)=.25, F(2)=.75 -> fully in [.25,.75] -> 1; site 1: [0, .5] -> .25/.5 = .5;
    # site 2: obs 3 above all draws, F = 1 outside the band -> 0.  mean .5 -> calibration 0
    m = richness_metrics(Y_RICH, D_RICH, coverage="pit")
    assert m["coverage"] == pytest.approx(0.5)
    assert m["calibration"] == pytest.approx(0.0)


def test_richness_from_counts_equals_from_draws():
    for cov in ("interval", "pit"):
        assert richness_metrics_from_counts(Y_RICH.sum(1), COUNTS, coverage=cov) == richness_metrics(
            Y_RICH, D_RICH, coverage=cov
        )
    with pytest.raises(InputDataError, match="richness counts must have shape"):
        richness_metrics_from_counts(Y_RICH.sum(1), COUNTS[:, :2])


def test_richness_precision_hand():
    sds = [math.sqrt(0.5), 0.5, math.sqrt(0.1875)]
    assert richness_metrics(Y_RICH, D_RICH)["precision"] == pytest.approx(np.mean(sds))


def test_richness_calibration_of_a_perfect_model():
    """A model that draws from the true distribution: PIT coverage ≈ 0.5, interval coverage biased up."""
    rng = np.random.default_rng(1)
    n_sites, n_species, n_draws = 3000, 10, 200
    p = rng.uniform(0.2, 0.8, size=(n_sites, n_species))
    y = (rng.uniform(size=p.shape) < p).astype(np.uint8)
    draws = (rng.uniform(size=(n_draws, *p.shape)) < p).astype(np.uint8)
    pit = richness_metrics(y, draws, coverage="pit")
    assert pit["calibration"] < 0.03
    interval = richness_metrics(y, draws)
    assert interval["coverage"] > 0.55  # documented discreteness bias of Norberg's form


# --------------------------------------------------------------------------- community
Y_COM = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0]])
D_COM = np.array(
    [
        [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]],
        [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 0]],
    ]
)
PAIRS = np.array([[0, 1], [0, 2]])


def test_community_sor_hand():
    # observed βSOR: (0,1) a=1,b=1,c=1 -> .5; (0,2) a=2,b=0,c=1 -> .2
    # predicted: draw 0 (0,1) identical 0, (0,2) disjoint 1; draw 1 (0,1) 1, (0,2) a=1,c=2 -> .5
    m = community_metrics(Y_COM, D_COM, pairs=PAIRS)["sor"]
    assert m["accuracy"] == pytest.approx(math.sqrt((0.0 + 0.55**2) / 2))
    assert m["discrimination"] == pytest.approx(-1.0)  # obs (.5, .2) vs predicted (.5, .75)
    # intervals: pair 0 draws [0, 1] -> [.25, .75] holds .5; pair 1 [.5, 1] -> [.625, .875] misses .2
    assert m["coverage"] == pytest.approx(0.5)
    assert m["calibration"] == pytest.approx(0.0)
    assert m["precision"] == pytest.approx((0.5 + 0.25) / 2)


def test_community_sim_and_nes_hand():
    out = community_metrics(Y_COM, D_COM, pairs=PAIRS)
    # βSIM observed (.5, 0); draws pair 0 [0, 1], pair 1 [1, 0] -> means (.5, .5), constant -> Spearman NaN
    assert out["sim"]["accuracy"] == pytest.approx(math.sqrt((0.0 + 0.25) / 2))
    assert math.isnan(out["sim"]["discrimination"])
    assert out["sim"]["precision"] == pytest.approx(0.5)
    # βNES observed (0, .2); draws pair 0 [0, 0], pair 1 [0, .5] -> means (0, .25)
    assert out["nes"]["accuracy"] == pytest.approx(math.sqrt((0.0 + 0.05**2) / 2))
    assert out["nes"]["discrimination"] == pytest.approx(1.0)
    assert out["nes"]["precision"] == pytest.approx((0.0 + 0.25) / 2)
    assert out["n_pairs"]["value"] == 2


def test_community_perfect_prediction():
    rng = np.random.default_rng(2)
    y = (rng.uniform(size=(40, 6)) < 0.4).astype(np.uint8)
    draws = np.repeat(y[None], 5, axis=0)
    m = community_metrics(y, draws, n_pairs=100, rng=np.random.default_rng(0))["sor"]
    assert m["accuracy"] == 0.0
    assert m["precision"] == 0.0
    assert m["coverage"] == 1.0  # every observed value is its own degenerate interval


def test_sample_site_pairs():
    pr = sample_site_pairs(1000, 300, np.random.default_rng(7))
    assert pr.shape == (300, 2)
    assert np.all(pr[:, 0] < pr[:, 1])
    assert len({tuple(r) for r in pr.tolist()}) == 300
    np.testing.assert_array_equal(pr, sample_site_pairs(1000, 300, np.random.default_rng(7)))
    assert not np.array_equal(pr, sample_site_pairs(1000, 300, np.random.default_rng(8)))
    # dense regime (more than half of all pairs requested)
    dense = sample_site_pairs(30, 300, np.random.default_rng(0))  # 435 possible
    assert dense.shape == (300, 2) and len({tuple(r) for r in dense.tolist()}) == 300
    # all pairs when too few sites
    assert sample_site_pairs(10, 300, 0).shape == (45, 2)
    assert sample_site_pairs(1, 300, 0).shape == (0, 2)
    # every site is equally likely to be in a pair (rejection path: 200 of 1225 pairs)
    gen = np.random.default_rng(0)
    reps = [sample_site_pairs(50, 200, gen) for _ in range(30)]
    assert all(np.all(r[:, 0] < r[:, 1]) and len({tuple(x) for x in r.tolist()}) == 200 for r in reps)
    counts = np.bincount(np.concatenate([r.ravel() for r in reps]), minlength=50)
    assert counts.sum() == 30 * 400
    assert counts.min() > 240 - 80 and counts.max() < 240 + 80


def test_community_with_too_few_sites_is_nan():
    y = np.array([[1, 0]])
    out = community_metrics(y, y[None], n_pairs=300)
    assert out["n_pairs"]["value"] == 0
    assert all(math.isnan(v) for v in out["sor"].values())


def test_pairs_validation():
    with pytest.raises(InputDataError, match="outside"):
        community_metrics(Y_COM, D_COM, pairs=[[0, 3]])
    with pytest.raises(InputDataError, match=r"shape \(n_pairs, 2\)"):
        community_metrics(Y_COM, D_COM, pairs=[0, 1])


# --------------------------------------------------------------------------- table
def test_norberg_metrics_table():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=(50, 6))
    y = (rng.uniform(size=p.shape) < p).astype(np.uint8)
    draws = (rng.uniform(size=(20, *p.shape)) < p).astype(np.uint8)
    df = norberg_metrics(y, p, draws, rng=np.random.default_rng(0))
    assert list(df.columns) == ["aspect", "measure", "value", "better", "main"]
    assert len(df) == 20 and int(df["main"].sum()) == 12
    main = df[df["main"]]
    assert set(main["aspect"]) == {"occurrence", "richness", "community"}
    assert all(main.groupby("aspect").size() == 4)
    assert all(df["better"] == df["measure"].map(BETTER))
    assert df.loc[(df.aspect == "occurrence") & (df.measure == "discrimination"), "better"].item() == "higher"
    occ = occurrence_metrics(y, p)
    assert df.set_index(["aspect", "measure"]).loc[("occurrence", "accuracy"), "value"] == pytest.approx(occ["accuracy"])
    com = community_metrics(y, draws, rng=np.random.default_rng(0))
    got = df.set_index(["aspect", "measure"]).loc[("community_nes", "precision"), "value"]
    assert got == pytest.approx(com["nes"]["precision"])


def test_bad_inputs_raise():
    y = np.array([[1, 0], [0, 1]])
    with pytest.raises(InputDataError, match=r"prob has value 1.5 at site \(row\) 1, species \(column\) 0"):
        occurrence_metrics(y, np.array([[0.5, 0.5], [1.5, 0.2]]))
    with pytest.raises(InputDataError, match="y_true has value 3"):
        occurrence_metrics(np.array([[3, 0], [0, 1]]), np.full((2, 2), 0.5))
    with pytest.raises(InputDataError, match=r"draws must have shape \(n_draws, 2, 2\)"):
        richness_metrics(y, np.zeros((4, 3, 2)))
    with pytest.raises(InputDataError, match="draws has value 2"):
        richness_metrics(y, np.full((1, 2, 2), 2))
    with pytest.raises(InputDataError, match="coverage must be"):
        richness_metrics(y, y[None], coverage="hpd")
    with pytest.raises(InputDataError, match="rng"):
        community_metrics(y, y[None], rng="seed")


# --------------------------------------------------------------------------- properties
@st.composite
def _cases(draw):
    n = draw(st.integers(1, 12))
    L = draw(st.integers(1, 5))
    S = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # mix of extreme and ordinary probabilities, ties included
    p = rng.choice(np.array([0.0, 0.5, 1.0, 0.25]), size=(n, L)) if draw(st.booleans()) else rng.uniform(size=(n, L))
    y = rng.integers(0, 2, size=(n, L)) if draw(st.booleans()) else np.zeros((n, L), dtype=int)
    d = rng.integers(0, 2, size=(S, n, L)).astype(bool)
    return y, p, d, seed


@pytest.mark.filterwarnings("error")  # no divide-by-zero / invalid-value warnings anywhere
@settings(max_examples=60, deadline=None)
@given(_cases(), st.sampled_from(["interval", "pit"]))
def test_property_never_crashes_and_stays_in_range(case, coverage):
    y, p, d, seed = case
    df = norberg_metrics(y, p, d, rng=np.random.default_rng(seed), n_pairs=20, coverage=coverage)
    v = df.set_index(["aspect", "measure"])["value"]
    for (aspect, measure), value in v.items():
        if measure == "discrimination" or aspect != "occurrence" and y.shape[0] < 2 and aspect.startswith("community"):
            continue  # may be NaN (documented)
        assert np.isfinite(value), (aspect, measure)
    for measure in ("accuracy", "calibration"):
        assert 0.0 <= v[("occurrence", measure)] <= 1.0
    assert 0.0 <= v[("occurrence", "precision")] <= 0.5
    for aspect in ("richness", "community", "community_sim", "community_nes"):
        if np.isfinite(v[(aspect, "calibration")]):
            assert 0.0 <= v[(aspect, "calibration")] <= 0.5
    for aspect in ("community", "community_sim", "community_nes"):
        if np.isfinite(v[(aspect, "accuracy")]):
            assert 0.0 <= v[(aspect, "accuracy")] <= 1.0
            assert 0.0 <= v[(aspect, "precision")] <= 0.5
    disc = v[("occurrence", "discrimination")]
    assert np.isnan(disc) or 0.0 <= disc <= 1.0
