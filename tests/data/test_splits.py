"""Random, spatial-block and temporal splits; spatiotemporal subsampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.splits import (
    EARTH_RADIUS_KM,
    SpatialBlockKFold,
    TemporalSplit,
    block_ids,
    holdout_split,
    random_split,
    spatial_block_split,
    spatiotemporal_subsample,
    temporal_split,
    train_test_split,
    train_val_test_split,
)
from jsdm_hot.errors import InputDataError


def _community(n=400, seed=0) -> CommunityData:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-90, -80, n)
    lat = rng.uniform(30, 40, n)
    dates = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    Y = rng.integers(0, 2, (n, 3))
    return CommunityData.from_arrays(rng.normal(size=(n, 2)), Y, coords=np.column_stack([lon, lat]),
                                     extra=pd.DataFrame({"observation_date": dates.strftime("%Y-%m-%d")}))


def test_random_split_partitions():
    parts = random_split(101, (0.7, 0.1, 0.2), seed=3)
    assert [p.size for p in parts] == [71, 10, 20]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(101))
    again = random_split(101, (0.7, 0.1, 0.2), seed=3)
    assert all((a == b).all() for a, b in zip(parts, again))
    with pytest.raises(InputDataError, match="summing to 1"):
        random_split(10, (0.5, 0.6))


def test_block_ids_are_equal_area_km():
    # two points 0.3 block apart in the same block; 1.2 blocks apart east-west at 60°N differ
    km = 10.0
    lat = 60.0
    dlon_per_km = np.degrees(1 / (EARTH_RADIUS_KM * np.cos(np.radians(lat))))
    b = block_ids([0.5 * km * dlon_per_km, 0.8 * km * dlon_per_km, 2.2 * km * dlon_per_km], [lat] * 3, km)
    assert b[0] == b[1] != b[2]


def test_spatial_block_kfold_keeps_blocks_apart():
    data = _community()
    cv = SpatialBlockKFold(block_km=100, n_splits=4, random_state=0)
    blocks = block_ids(data.coords[:, 0], data.coords[:, 1], 100)
    seen_test = []
    for train, test in cv.split(data):
        assert np.intersect1d(train, test).size == 0 and train.size + test.size == data.n_sites
        # no block has sites on both sides
        assert not set(blocks[train]) & set(blocks[test])
        seen_test.append(test)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen_test)), np.arange(data.n_sites))
    sizes = [t.size for t in seen_test]
    assert max(sizes) - min(sizes) < 0.25 * data.n_sites / 4  # balanced by sites
    # sklearn compatibility: usable as cv= on the coordinate array
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import cross_val_score

    scores = cross_val_score(LinearRegression(), data.coords, data.X[:, 0],
                             cv=SpatialBlockKFold(100, 3, random_state=1).split(data.coords))
    assert scores.shape == (3,)
    with pytest.raises(InputDataError, match="spatial blocks"):
        list(SpatialBlockKFold(block_km=5000, n_splits=5).split(data))


def test_train_val_test_spatial_keeps_blocks_on_one_side():
    data = _community(600)
    tr, va, te = train_val_test_split(data, kind="spatial", block_km=80, seed=2)
    assert tr.n_sites + va.n_sites + te.n_sites == data.n_sites
    b = [set(block_ids(d.coords[:, 0], d.coords[:, 1], 80)) for d in (tr, va, te)]
    assert not (b[0] & b[1]) and not (b[0] & b[2]) and not (b[1] & b[2])
    assert abs(tr.n_sites / data.n_sites - 0.7) < 0.1
    ids = set(tr.site_ids) | set(va.site_ids) | set(te.site_ids)
    assert ids == set(data.site_ids)
    parts = spatial_block_split(data.coords, (0.5, 0.5), block_km=80, seed=0)
    assert len(parts) == 2


def test_temporal_splits():
    data = _community(300)
    tr, va, te = train_val_test_split(data, kind="temporal")
    d = [pd.to_datetime(x.extra["observation_date"]) for x in (tr, va, te)]
    assert d[0].max() < d[1].min() and d[1].max() < d[2].min()
    assert tr.n_sites + va.n_sites + te.n_sites == 300
    dates = ["2020-01-05", "2020-03-01", "2019-12-31", "2020-03-01", "2021-01-01"]
    a, b = temporal_split(dates, "2020-03-01")
    assert a.tolist() == [0, 2] and b.tolist() == [1, 3, 4]
    folds = list(TemporalSplit(3).split(data))
    assert len(folds) == 3
    for train, test in folds:
        dt = pd.to_datetime(data.extra["observation_date"])
        assert dt.iloc[train].max() < dt.iloc[test].min()
    with pytest.raises(InputDataError, match="not a date"):
        temporal_split(["2020-01-01", "soon"], "2020-02-01")
    with pytest.raises(InputDataError, match="kind"):
        train_val_test_split(data, kind="bogus")


def test_spatiotemporal_subsample_one_per_cell_week():
    rng = np.random.default_rng(0)
    # 3 clusters of checklists within ~100 m; 2 weeks each
    centres = np.array([[-84.0, 33.0], [-83.0, 34.0], [-82.0, 32.0]])
    n = 90
    c = np.repeat(np.arange(3), 30)
    lonlat = centres[c] + rng.normal(scale=0.0005, size=(n, 2))
    week = np.tile(np.repeat([0, 1], 15), 3)
    dates = (pd.Timestamp("2022-06-06") + pd.to_timedelta(week * 7 + rng.integers(0, 5, n), unit="D")).strftime("%Y-%m-%d")
    Y = np.zeros((n, 2), int)
    Y[::4, 0] = 1
    data = CommunityData.from_arrays(np.zeros((n, 1)), Y, coords=lonlat, extra=pd.DataFrame({"observation_date": dates}))
    cells = block_ids(lonlat[:, 0], lonlat[:, 1], 3.0)
    expected_groups = len(set(zip(cells, week)))
    sub = spatiotemporal_subsample(data, cell_km=3.0, by="week", seed=1)
    assert sub.n_sites == expected_groups
    key = list(zip(block_ids(sub.coords[:, 0], sub.coords[:, 1], 3.0), pd.to_datetime(sub.extra["observation_date"]).dt.isocalendar().week))
    assert len(set(key)) == sub.n_sites
    strat = spatiotemporal_subsample(data, cell_km=3.0, by="week", stratify="sp_0", seed=1)
    det = set(zip(cells, week, Y[:, 0]))
    assert strat.n_sites == len(det) and strat.Y[:, 0].sum() == len({k for k in det if k[2] == 1})
    assert spatiotemporal_subsample(data, cell_km=3.0, by=None).n_sites == len(set(cells))


@pytest.mark.parametrize("kind", ["random", "spatial", "temporal"])
def test_empty_validation_part_as_used_by_cli_holdout(kind):
    data = _community(200, seed=4)
    tr, va, te = train_val_test_split(data, (0.8, 0.0, 0.2), kind=kind, block_km=100, seed=0)
    assert va.n_sites == 0 and tr.n_sites + te.n_sites == 200 and te.n_sites > 0


def test_holdout_split_hand_checked():
    """``perm = default_rng(seed).permutation(n)``; the first ``round(fraction · n)`` (≥ 1, ≤ n - 1) are held out."""
    # default_rng(0).permutation(10) = [4 6 2 7 3 5 9 0 8 1]
    held, kept = holdout_split(10, 0.3, 0)
    assert held.tolist() == [2, 4, 6] and kept.tolist() == [0, 1, 3, 5, 7, 8, 9]
    assert holdout_split(10, 0.25, 0)[0].tolist() == [4, 6]  # round(2.5) = 2 (half to even)
    assert holdout_split(10, 0.35, 0)[0].tolist() == [2, 4, 6, 7]  # round(3.5) = 4
    # default_rng(3).permutation(7) = [5 6 2 1 4 3 0]: at least one held out, at least one kept
    assert holdout_split(7, 0.01, 3)[0].tolist() == [5]
    assert holdout_split(7, 0.99, 3)[1].tolist() == [0]
    # a Generator is used as given
    np.testing.assert_array_equal(holdout_split(10, 0.3, np.random.default_rng(0))[0], held)
    for fraction in (0.0, 1.0, -0.1):
        with pytest.raises(InputDataError, match="hold-out fraction must be in"):
            holdout_split(10, fraction, 0)
    with pytest.raises(InputDataError, match=r"cannot hold out part of 1 item\(s\); at least 2 are needed"):
        holdout_split(1, 0.5, 0)


def test_train_test_split_random_is_the_holdout_rule():
    data = _community(50, seed=2)
    train, test = train_test_split(data, 0.2, seed=7)
    held, kept = holdout_split(50, 0.2, 7)
    assert list(test.site_ids) == list(data.site_ids[held]) and list(train.site_ids) == list(data.site_ids[kept])
    assert train_test_split(data, 0, seed=7) == (data, None)
    with pytest.raises(InputDataError, match=r"test fraction must be in \[0, 1\), got 1"):
        train_test_split(data, 1, seed=7)
    tr, te = train_test_split(data, 0.3, kind="spatial", block_km=200, seed=1)
    assert tr.n_sites + te.n_sites == 50 and te.n_sites > 0
    assert not set(block_ids(*te.coords.T, 200)) & set(block_ids(*tr.coords.T, 200))  # whole blocks per side
