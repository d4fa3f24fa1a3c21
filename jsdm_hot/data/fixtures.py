"""Loaders for the real data sets staged beside the project (tests, benchmarks, notebooks).

The data live outside the repository (``<project>/../shared/data`` by default, or
the folder named by the ``JSDM_HOT_DATA`` environment variable); each folder has a
README with source, license and conversions. These loaders only reshape them into
:class:`~jsdm_hot.data.community.CommunityData`.

* ``ebird_roccupy``: 8,000 complete eBird checklists (US, June 2019) × 32 species,
  with a 10-arc-minute environmental grid (Ingram, roccupy; MIT).
* ``tarentaise``: 376 alpine sites × 98 birds with 14 ordinal habitat variables
  (ade4; GPL >= 2).
* ``mlc``: the yeast and scene multi-label benchmarks (Mulan train/test splits).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.ebird import effort_covariates
from jsdm_hot.errors import InputDataError

__all__ = ["shared_data_root", "load_roccupy", "load_tarentaise", "load_mlc"]

logger = logging.getLogger(__name__)


def shared_data_root() -> Path:
    """``$JSDM_HOT_DATA`` if set, else ``<repository root>/../shared/data``."""
    env = os.environ.get("JSDM_HOT_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _folder(root, name: str) -> Path:
    root = Path(root) if root is not None else shared_data_root()
    p = root / name if (root / name).is_dir() else root
    if not p.is_dir():
        raise InputDataError(f"data folder {p} does not exist")
    return p


def _read(path: Path, **kw) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(f"expected file {path} is missing")
    return pd.read_csv(path, **kw)


def load_roccupy(root=None, *, time_encoding: str = "cyclic") -> CommunityData:
    """The roccupy eBird sample: 8,000 checklists × 32 species with grid-cell and effort covariates.

    Parameters
    ----------
    root : path, optional
        The ``ebird_roccupy`` folder or its parent (default :func:`shared_data_root`).
    time_encoding : {"cyclic", "hours"}
        Start time as ``time_sin, time_cos`` or ``time_h``.

    Returns
    -------
    CommunityData
        ``site_ids`` = checklist ids; ``coords`` = checklist (longitude, latitude);
        ``Y`` (8000, 32) from ``occurrences.csv``; ``X`` (8000, 42 or 41) =

        * the checklist's grid cell (joined on ``grid_row``, a 0-based row of
          ``grid.csv``): 16 WorldClim ``bio*`` variables (native units, e.g. °C×10)
          and 17 NLCD land-cover fractions ``X0 … X95`` (``X12`` is 0 everywhere,
          kept so column sets stay stable);
        * effort (:func:`~jsdm_hot.data.ebird.effort_covariates`):
          ``log_duration`` (ln minutes), ``distance_km`` (0 for stationary and area
          checklists), ``n_observers``, ``protocol_traveling``, ``protocol_area``,
          ``protocol_other`` (stationary is the reference), time of day, and
          ``doy_sin``, ``doy_cos``. Year is left out (all June 2019).

        ``extra`` keeps ``observation_date``, ``time_observations_started``,
        ``protocol_type``, ``fold_id`` (the author's 3 CV folds), ``cell_id``,
        ``grid_row``, ``state_code``, ``land_cover`` and ``dominant_land_cover``.
    """
    d = _folder(root, "ebird_roccupy")
    cl = _read(d / "checklists.csv", low_memory=False)
    occ = _read(d / "occurrences.csv")
    grid = _read(d / "grid.csv")
    if not (cl["checklist_id"].to_numpy() == occ["checklist_id"].to_numpy()).all():
        raise InputDataError(f"{d / 'checklists.csv'} and {d / 'occurrences.csv'} list checklists in different orders")
    if not (grid["grid_row"].to_numpy() == np.arange(len(grid))).all():
        raise InputDataError(f"{d / 'grid.csv'}: grid_row is not the 0-based row position")
    bad = ~cl["grid_row"].between(0, len(grid) - 1)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(f"{d / 'checklists.csv'} row {i + 1}: grid_row {cl['grid_row'].iloc[i]} is not a row of grid.csv")
    env_cols = [c for c in grid.columns if re.fullmatch(r"bio\d+", c)] + [c for c in grid.columns if re.fullmatch(r"X\d+", c)]
    env = grid[env_cols].iloc[cl["grid_row"].to_numpy()].reset_index(drop=True)
    effort = effort_covariates(
        cl.rename(columns={"protocol_type": "protocol"}),
        include=("duration", "distance", "observers", "protocol", "time", "doy"),
        time_encoding=time_encoding, duration_encoding="log",
    )
    X = pd.concat([env, effort.reset_index(drop=True)], axis=1)
    species = [c for c in occ.columns if c != "checklist_id"]
    keep = ["observation_date", "time_observations_started", "protocol_type", "fold_id", "cell_id", "grid_row",
            "state_code", "land_cover", "dominant_land_cover"]
    return CommunityData.from_arrays(
        X.to_numpy(dtype=float), occ[species].to_numpy(), site_ids=cl["checklist_id"].to_numpy(),
        species=species, covariates=list(X.columns),
        coords=cl[["longitude", "latitude"]].to_numpy(dtype=float), crs="EPSG:4326",
        source=str(d), extra=cl[keep].reset_index(drop=True),
    )


def _level_number(v) -> float:
    """Ordered-factor label to a number: 'A0600' -> 600, '3' -> 3."""
    m = re.search(r"-?\d+(?:\.\d+)?", str(v))
    if not m:
        raise ValueError(v)
    return float(m.group(0))


def load_tarentaise(root=None, *, species_names: str = "code") -> CommunityData:
    """Tarentaise alpine birds: 376 sites × 98 species, 15 environmental covariates.

    Parameters
    ----------
    root : path, optional
        The ``tarentaise`` folder or its parent.
    species_names : {"code", "latin"}
        Species column names: ade4's 3-letter codes or the Latin names (as spelled
        in ade4, typos included; see the folder README).

    Returns
    -------
    CommunityData
        ``X`` (376, 15): the 14 ordered habitat factors converted to numbers (level
        labels ``A0600`` … ``A2550`` → 600 … 2550 m for ``alti``; digit levels
        ``0``–``5`` → integers) and ``alti_m`` (altitude in m). No coordinates
        (the data set has none).
    """
    if species_names not in ("code", "latin"):
        raise InputDataError(f"species_names must be 'code' or 'latin', got {species_names!r}")
    d = _folder(root, "tarentaise")
    ecol = _read(d / "ecol.csv", dtype={"site": str})
    envir = _read(d / "envir.csv", dtype=str)
    if not (ecol["site"].to_numpy() == envir["site"].to_numpy()).all():
        raise InputDataError(f"{d / 'ecol.csv'} and {d / 'envir.csv'} list sites in different orders")
    cov = [c for c in envir.columns if c != "site"]
    X = np.empty((len(envir), len(cov)))
    for j, c in enumerate(cov):
        for i, v in enumerate(envir[c]):
            try:
                X[i, j] = _level_number(v)
            except ValueError:
                raise InputDataError(f"{d / 'envir.csv'} row {i + 1}, column {c!r}: level {v!r} has no number") from None
    codes = [c for c in ecol.columns if c != "site"]
    names = codes
    if species_names == "latin":
        sp = _read(d / "species.csv")
        lookup = dict(zip(sp["code"], sp["latin_name"]))
        names = [lookup[c] for c in codes]
    return CommunityData.from_arrays(
        X, ecol[codes].to_numpy(), site_ids=ecol["site"].to_numpy(), species=names, covariates=cov,
        coords=None, source=str(d),
    )


def load_mlc(root=None, name: str = "yeast", split: str = "train") -> CommunityData:
    """A multi-label benchmark (``"yeast"`` or ``"scene"``), Mulan ``"train"`` or ``"test"`` split.

    Returns
    -------
    CommunityData
        ``X`` (n, 103) for yeast / (n, 294) for scene (features ``f0 …``), ``Y``
        (n, 14) / (n, 6) with label names from ``labels.csv`` (``Class1`` …;
        ``Beach`` …). Site ids ``"<name>_<split>_<row>"``; no coordinates.
    """
    if name not in ("yeast", "scene"):
        raise InputDataError(f"name must be 'yeast' or 'scene', got {name!r}")
    if split not in ("train", "test"):
        raise InputDataError(f"split must be 'train' or 'test', got {split!r}")
    d = _folder(root, "mlc")
    df = _read(d / f"{name}_{split}.csv")
    fcols = [c for c in df.columns if re.fullmatch(r"f\d+", c)]
    ycols = [c for c in df.columns if re.fullmatch(r"y\d+", c)]
    labels = _read(d / "labels.csv")
    lab = dict(zip(labels.loc[labels["dataset"] == name, "column"], labels.loc[labels["dataset"] == name, "label_name"]))
    return CommunityData.from_arrays(
        df[fcols].to_numpy(dtype=float), df[ycols].to_numpy(), site_ids=[f"{name}_{split}_{i}" for i in range(len(df))],
        species=[lab.get(c, c) for c in ycols], covariates=fcols, coords=None, source=str(d / f"{name}_{split}.csv"),
    )
