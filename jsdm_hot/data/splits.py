"""Random, spatial-block and temporal splits (and k-fold versions); spatiotemporal subsampling.

eBird checklists are spatially and temporally autocorrelated: a random split puts
near-duplicate checklists (same site, same week) on both sides and flatters a model.
Spatial-block splits keep every checklist of a grid block on one side; temporal
splits train on the past and test on the future.

Blocks are cells of a grid in km on an equal-area (sinusoidal) projection of
lon/lat: ``x = R·λ·cos φ``, ``y = R·φ`` with R = 6371.0088 km, so a block is about
``block_km × block_km`` anywhere (no pyproj needed). The splitters follow the
scikit-learn interface (``split`` yields ``(train_idx, test_idx)``,
``get_n_splits``), so they also work with ``sklearn.model_selection.cross_val_score``
given the coordinates as ``groups``-free input ``X`` of shape (n, 2).
"""

from __future__ import annotations

import logging
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError

__all__ = [
    "holdout_split",
    "random_split",
    "block_ids",
    "SpatialBlockKFold",
    "TemporalSplit",
    "temporal_split",
    "spatial_block_split",
    "train_val_test_split",
    "train_test_split",
    "spatiotemporal_subsample",
]

logger = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or fr.size < 2 or (fr < 0).any() or not np.isclose(fr.sum(), 1.0):
        raise InputDataError(f"fractions must be >= 2 non-negative numbers summing to 1, got {list(fractions)}")
    return fr


def _cuts(n: int, fr: np.ndarray) -> np.ndarray:
    """Split points of n items into parts of sizes ~ n·fr (largest-remainder rounding)."""
    raw = fr * n
    sizes = np.floor(raw).astype(int)
    rest = n - sizes.sum()
    sizes[np.argsort(-(raw - sizes), kind="stable")[:rest]] += 1
    return np.cumsum(sizes)[:-1]


def holdout_split(n: int, fraction: float, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """The one seeded hold-out of jsdm-hot: ``(held_out, kept)`` indices of ``range(n)``.

    Used for the validation sites of every estimator, the validation row groups
    of a parquet stream and the test sites of ``jsdm-hot fit``:
    ``perm = default_rng(seed).permutation(n)``; the first
    ``round(fraction · n)`` items (at least one, and leaving at least one) are
    held out.

    Parameters
    ----------
    n : int
        Number of items (sites or row groups), at least 2.
    fraction : float
        In (0, 1).
    seed : int, numpy.random.Generator or None

    Returns
    -------
    held_out, kept : ndarray of int, sorted
    """
    if not 0.0 < float(fraction) < 1.0:
        raise InputDataError(f"hold-out fraction must be in (0, 1), got {fraction}")
    if n < 2:
        raise InputDataError(f"cannot hold out part of {n} item(s); at least 2 are needed")
    perm = _rng(seed).permutation(n)
    n_out = min(n - 1, max(1, int(round(float(fraction) * n))))
    return np.sort(perm[:n_out]), np.sort(perm[n_out:])


def random_split(n: int, fractions: Sequence[float] = (0.7, 0.1, 0.2), seed=0) -> tuple[np.ndarray, ...]:
    """Random partition of ``range(n)``.

    Returns
    -------
    tuple of ndarray
        One sorted int index array per fraction; sizes round(n · fraction)
        (largest remainder), together a partition of ``0..n-1``.
    """
    fr = _check_fractions(fractions)
    perm = _rng(seed).permutation(n)
    return tuple(np.sort(p) for p in np.split(perm, _cuts(n, fr)))


def _lonlat(X) -> np.ndarray:
    if isinstance(X, CommunityData):
        if X.coords is None:
            raise InputDataError(f"{X!r} has no coordinates; spatial splits need lon/lat")
        if X.crs not in (None, "EPSG:4326", "epsg:4326", "WGS84"):
            raise InputDataError(f"spatial blocks need lon/lat coordinates (EPSG:4326), {X!r} has crs {X.crs!r}")
        return np.asarray(X.coords, float)
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputDataError(f"coordinates must have shape (n_sites, 2) lon/lat, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InputDataError("coordinates contain NaN or infinite values")
    if (np.abs(arr[:, 1]) > 90).any() or (np.abs(arr[:, 0]) > 360).any():
        raise InputDataError("coordinates are not lon/lat degrees (|lat| > 90 or |lon| > 360)")
    return arr


def block_ids(lon, lat, block_km: float, *, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Id of the ``block_km`` equal-area grid block holding each point.

    Parameters
    ----------
    lon, lat : array-like of shape (n,)
        Degrees.
    block_km : float
        Block side in km.
    offset : (dx_km, dy_km)
        Shift of the grid origin (e.g. a random offset so blocks do not align with
        a fixed graticule).

    Returns
    -------
    ndarray of shape (n,), int64
        Block ids (equal ids = same block).
    """
    if not block_km > 0:
        raise InputDataError(f"block_km must be positive, got {block_km}")
    lam = np.radians(np.asarray(lon, float))
    phi = np.radians(np.asarray(lat, float))
    x = EARTH_RADIUS_KM * lam * np.cos(phi) + offset[0]
    y = EARTH_RADIUS_KM * phi + offset[1]
    bx = np.floor(x / block_km).astype(np.int64)
    by = np.floor(y / block_km).astype(np.int64)
    return by * 10_000_000 + bx


def _assign_groups(groups: np.ndarray, n_parts: int, weights: np.ndarray, rng) -> np.ndarray:
    """Assign groups to parts so the site counts per part approach ``weights`` (shuffled greedy)."""
    uniq, inv, counts = np.unique(groups, return_inverse=True, return_counts=True)
    order = rng.permutation(uniq.size)
    # large groups first (ties in random order) so the greedy fill balances well
    order = order[np.argsort(-counts[order], kind="stable")]
    target = weights / weights.sum() * groups.size
    filled = np.zeros(n_parts)
    part_of = np.empty(uniq.size, dtype=np.int64)
    for g in order:
        k = int(np.argmax(target - filled))  # the part furthest below its target
        part_of[g] = k
        filled[k] += counts[g]
    return part_of[inv]


class SpatialBlockKFold:
    """K-fold cross-validation over spatial blocks: all sites of a block share a fold.

    Parameters
    ----------
    block_km : float, default 50
        Block side in km (equal-area grid, see the module notes).
    n_splits : int, default 5
    random_state : int or numpy.random.Generator, optional
        Shuffles blocks before the balanced assignment to folds.

    Notes
    -----
    Folds are balanced by number of sites (greedy: largest blocks first, each to the
    fold furthest below n/k), not by number of blocks.
    """

    def __init__(self, block_km: float = 50.0, n_splits: int = 5, random_state=None):
        self.block_km = block_km
        self.n_splits = n_splits
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def fold_ids(self, X) -> np.ndarray:
        """Fold (0..n_splits-1) of each site; ``X``: CommunityData or (n, 2) lon/lat."""
        if int(self.n_splits) < 2:
            raise InputDataError(f"n_splits must be >= 2, got {self.n_splits}")
        xy = _lonlat(X)
        blocks = block_ids(xy[:, 0], xy[:, 1], self.block_km)
        nb = np.unique(blocks).size
        if nb < self.n_splits:
            raise InputDataError(
                f"only {nb} spatial blocks of {self.block_km} km for {self.n_splits} folds; use smaller blocks"
            )
        return _assign_groups(blocks, int(self.n_splits), np.ones(int(self.n_splits)), _rng(self.random_state))

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` for each fold."""
        folds = self.fold_ids(X)
        for k in range(int(self.n_splits)):
            yield np.flatnonzero(folds != k), np.flatnonzero(folds == k)

    def __repr__(self) -> str:
        return f"SpatialBlockKFold(block_km={self.block_km}, n_splits={self.n_splits}, random_state={self.random_state})"


def spatial_block_split(coords, fractions=(0.7, 0.1, 0.2), *, block_km: float = 50.0, seed=0) -> tuple[np.ndarray, ...]:
    """Partition sites into parts of ~``fractions`` of the sites, whole blocks at a time.

    Returns
    -------
    tuple of ndarray
        Sorted index arrays, one per fraction.
    """
    fr = _check_fractions(fractions)
    xy = _lonlat(coords)
    blocks = block_ids(xy[:, 0], xy[:, 1], block_km)
    nb = np.unique(blocks).size
    if nb < (fr > 0).sum():
        raise InputDataError(f"only {nb} spatial blocks of {block_km} km for {int((fr > 0).sum())} parts; use smaller blocks")
    part = _assign_groups(blocks, fr.size, fr, _rng(seed))
    return tuple(np.flatnonzero(part == k) for k in range(fr.size))


def _dates(dates) -> np.ndarray:
    d = pd.to_datetime(pd.Series(np.asarray(dates)), errors="coerce")
    if d.isna().any():
        i = int(np.flatnonzero(d.isna().to_numpy())[0])
        raise InputDataError(f"date at position {i} ({np.asarray(dates)[i]!r}) is missing or not a date")
    return d.to_numpy()


def temporal_split(dates, cutoff=None, *, fractions: Sequence[float] | None = None) -> tuple[np.ndarray, ...]:
    """Split by time: earlier sites train, later ones test.

    Parameters
    ----------
    dates : array-like of shape (n,)
        Dates (strings ``YYYY-MM-DD``, datetimes).
    cutoff : date or sequence of dates, optional
        Sites dated before the first cutoff go to part 0, before the second to
        part 1, ..., the rest to the last part.
    fractions : sequence of float, optional
        Instead of cutoffs: cut at the dates that leave about these fractions of
        sites in each part. All sites of one date stay in one part.

    Returns
    -------
    tuple of ndarray
        Sorted index arrays (2 with one cutoff, len(fractions) with fractions).
    """
    d = _dates(dates)
    if (cutoff is None) == (fractions is None):
        raise InputDataError("give exactly one of cutoff or fractions to temporal_split")
    if cutoff is not None:
        cuts = [pd.Timestamp(c) for c in (cutoff if isinstance(cutoff, (list, tuple)) else [cutoff])]
        if cuts != sorted(cuts):
            raise InputDataError(f"cutoffs must be increasing, got {cutoff}")
    else:
        fr = _check_fractions(fractions)
        srt = np.sort(d)
        pos = _cuts(d.size, fr)
        cuts = [pd.Timestamp(srt[min(p, d.size - 1)]) for p in pos]
    part = np.searchsorted(np.asarray(cuts, dtype="datetime64[ns]"), d.astype("datetime64[ns]"), side="right")
    return tuple(np.flatnonzero(part == k) for k in range(len(cuts) + 1))


class TemporalSplit:
    """Forward-chaining temporal cross-validation (like sklearn's ``TimeSeriesSplit``, on dates).

    Sites are cut into ``n_splits + 1`` consecutive periods holding about equal
    numbers of sites (a date is never split); split k trains on periods 0..k and
    tests on period k+1.

    Parameters
    ----------
    n_splits : int, default 5
    dates : array-like, optional
        Dates of the sites; else ``split`` takes them from ``X.extra[date_col]``
        of a CommunityData.
    date_col : str, default "observation_date"
    """

    def __init__(self, n_splits: int = 5, dates=None, date_col: str = "observation_date"):
        self.n_splits = n_splits
        self.dates = dates
        self.date_col = date_col

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def split(self, X=None, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        dates = self.dates if self.dates is not None else _dates_of(X, self.date_col)
        k = int(self.n_splits)
        parts = temporal_split(dates, fractions=np.full(k + 1, 1.0 / (k + 1)))
        for i in range(k):
            train = np.sort(np.concatenate(parts[: i + 1]))
            if parts[i + 1].size == 0 or train.size == 0:
                raise InputDataError(f"too few distinct dates for {k} temporal splits")
            yield train, parts[i + 1]


def _dates_of(data, date_col: str):
    if isinstance(data, CommunityData):
        if data.extra is None or date_col not in data.extra.columns:
            raise InputDataError(f"{data!r} has no extra column {date_col!r} with dates for a temporal split")
        return data.extra[date_col].to_numpy()
    return data


def train_val_test_split(
    data: CommunityData,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    *,
    kind: str = "random",
    block_km: float = 50.0,
    date_col: str = "observation_date",
    seed=0,
) -> tuple[CommunityData, CommunityData, CommunityData]:
    """Split a CommunityData into train, validation and test parts.

    Parameters
    ----------
    data : CommunityData
    fractions : (train, val, test)
        Fractions of sites (approximate for spatial and temporal splits, which move
        whole blocks / dates).
    kind : {"random", "spatial", "temporal"}
        ``spatial``: whole ``block_km`` blocks per part; ``temporal``: train on the
        earliest dates, validate on the next, test on the latest
        (``data.extra[date_col]``).
    seed : int or numpy.random.Generator

    Returns
    -------
    (train, val, test) : tuple of CommunityData
    """
    fr = _check_fractions(fractions)
    if fr.size != 3:
        raise InputDataError(f"train_val_test_split needs 3 fractions, got {list(fractions)}")
    if kind == "random":
        parts = random_split(data.n_sites, fr, seed)
    elif kind == "spatial":
        parts = spatial_block_split(data, fr, block_km=block_km, seed=seed)
    elif kind == "temporal":
        parts = temporal_split(_dates_of(data, date_col), fractions=fr)
    else:
        raise InputDataError(f"kind must be 'random', 'spatial' or 'temporal', got {kind!r}")
    return tuple(data.subset(p) for p in parts)  # type: ignore[return-value]


def train_test_split(data: CommunityData, test_fraction: float, *, kind: str = "random", block_km: float = 50.0,
                     date_col: str = "observation_date", seed=0) -> tuple[CommunityData, CommunityData | None]:
    """Hold out test sites: ``(train, test)``; ``test`` is None when ``test_fraction`` is 0.

    ``kind="random"`` uses :func:`holdout_split` (the rule of the validation
    hold-out); ``spatial`` and ``temporal`` use :func:`train_val_test_split`
    with no validation part (whole blocks / the latest dates are tested).
    """
    if test_fraction == 0:
        return data, None
    if not 0 < test_fraction < 1:
        raise InputDataError(f"test fraction must be in [0, 1), got {test_fraction}")
    if kind == "random":
        test, train = holdout_split(data.n_sites, test_fraction, seed)
        return data.subset(train), data.subset(test)
    train, _, test = train_val_test_split(data, (1 - test_fraction, 0.0, test_fraction), kind=kind, block_km=block_km,
                                          date_col=date_col, seed=seed)
    if test.n_sites == 0 or train.n_sites == 0:
        raise InputDataError(f"the {kind} split left no {'test' if test.n_sites == 0 else 'training'} sites; "
                             "use another --test-frac or smaller --block-km")
    return train, test


def spatiotemporal_subsample(
    data: CommunityData,
    cell_km: float = 3.0,
    *,
    by: str = "week",
    stratify: str | None = None,
    date_col: str = "observation_date",
    seed=0,
) -> CommunityData:
    """Keep one random checklist per grid cell × time period (eBird best practices).

    Reduces the spatial and temporal clustering of eBird effort (Johnston et al.
    2021; Strimas-Mackey et al. 2023, "Best Practices for Using eBird Data", sec.
    4.5: 3 km cells × week). ``stratify`` names a species: then one detection and
    one non-detection of it are kept per cell × period (best practice for a single
    species, keeping scarce detections). With ``stratify=None`` (a community) one
    checklist is kept per cell × period.

    Parameters
    ----------
    data : CommunityData
        With lon/lat ``coords`` and (unless ``by=None``) ``extra[date_col]``.
    cell_km : float, default 3
        Cell side (equal-area grid as :func:`block_ids`).
    by : {"week", "month", "day", "year", None}
        Time period within a year (``week`` = ISO week × year); ``None``: space only.
    stratify : str, optional
        Species name to stratify on.
    seed : int or numpy.random.Generator

    Returns
    -------
    CommunityData
        The kept sites, in their original order.
    """
    xy = _lonlat(data)
    key = pd.DataFrame({"cell": block_ids(xy[:, 0], xy[:, 1], cell_km)})
    if by is not None:
        d = pd.to_datetime(pd.Series(_dates_of(data, date_col)), errors="coerce")
        if d.isna().any():
            i = int(np.flatnonzero(d.isna().to_numpy())[0])
            raise InputDataError(f"site {data.site_ids[i]!r} has no valid {date_col}")
        key["year"] = d.dt.year.to_numpy()
        if by == "week":
            iso = d.dt.isocalendar()
            key["year"], key["period"] = iso["year"].to_numpy(), iso["week"].to_numpy()
        elif by == "month":
            key["period"] = d.dt.month.to_numpy()
        elif by == "day":
            key["period"] = d.dt.day_of_year.to_numpy()
        elif by != "year":
            raise InputDataError(f"by must be 'week', 'month', 'day', 'year' or None, got {by!r}")
    if stratify is not None:
        if data.Y is None or stratify not in data.species:
            raise InputDataError(f"species {stratify!r} to stratify on is not in {data!r}")
        key["det"] = data.Y[:, data.species.index(stratify)]
    rng = _rng(seed)
    key["r"] = rng.random(len(key))
    cols = [c for c in key.columns if c != "r"]
    keep = key.sort_values("r").drop_duplicates(cols).index.to_numpy()
    keep = np.sort(keep)
    logger.info("spatiotemporal subsample: kept %d of %d sites (%s km cells, by %s)", keep.size, data.n_sites, cell_km, by)
    return data.subset(keep)
