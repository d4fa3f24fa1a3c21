"""Zero-filled eBird checklists as a :class:`~jsdm_hot.data.community.CommunityData`: :func:`load_ebird`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.ebird.effort import _EFFORT_PARTS, EFFORT_COVARIATES, effort_covariates
from jsdm_hot.data.ebird.filters import EbirdFilters
from jsdm_hot.data.ebird.zerofill import zero_fill
from jsdm_hot.errors import InputDataError

__all__ = ["load_ebird"]

logger = logging.getLogger(__name__)

#: EBD column each effort input comes from (the inputs of :data:`~jsdm_hot.data.ebird.effort.EFFORT_COVARIATES`).
_EFFORT_SOURCE = {"duration_min": "DURATION MINUTES", "distance_km": "EFFORT DISTANCE KM", "n_observers": "NUMBER OBSERVERS",
                  "protocol": "PROTOCOL NAME", "time": "TIME OBSERVATIONS STARTED", "date": "OBSERVATION DATE"}


def _effort_source(cols: list[str], row: pd.Series, ebd_path, sampling_path) -> str:
    """The middle of the missing-effort message: the file the checklist fields come from, the checklist,
    its covariates without a value, their source columns and, for a distance, the protocol.

    With a sampling-event file the checklist fields (effort included) are read from it,
    not from the EBD; without one, from the EBD.
    """
    where = f"sampling-event file {sampling_path}" if sampling_path is not None else f"EBD file {ebd_path}"
    columns = list(dict.fromkeys(_EFFORT_SOURCE[EFFORT_COVARIATES[c]] for c in cols if c in EFFORT_COVARIATES))
    text = (f"{where} lack effort values (e.g. checklist {row['checklist_id']!r}: {cols}, "
            f"empty or invalid in column(s) {columns}")
    if "distance_km" in cols and "protocol" in row.index:
        text += (f"; its protocol is {row['protocol']!r}: only stationary and area checklists count as 0 km "
                 "without a distance")
    return text + ")"

def load_ebird(
    ebd_path: str | Path,
    sampling_path: str | Path | None = None,
    *,
    filters: EbirdFilters | None = None,
    taxonomy: str | Path | None = None,
    species: Sequence[str] | None = None,
    effort: Sequence[str] = _EFFORT_PARTS,
    time_encoding: str = "cyclic",
    duration_encoding: str = "hours",
    missing_effort: str = "drop",
    min_detections: int = 1,
    threads: int | None = None,
    memory_limit: str | None = "1GB",
    tmpdir: str | Path | None = None,
) -> CommunityData:
    """Zero-filled eBird checklists as a :class:`CommunityData`.

    Parameters
    ----------
    ebd_path, sampling_path, filters, taxonomy, species, threads, memory_limit, tmpdir
        As in :func:`zero_fill`.
    effort : sequence of str
        Effort covariate groups (see :func:`effort_covariates`); ``()`` for none.
    time_encoding : {"cyclic", "hours"}
    duration_encoding : {"hours", "log"}
        See :func:`effort_covariates`.
    missing_effort : {"drop", "error"}
        Checklists lacking an effort value (e.g. incidental checklists have no
        duration) are dropped (logged) or raise.
    min_detections : int, default 1
        Species detected on fewer checklists are dropped (logged); species named in
        ``species`` are always kept.

    Returns
    -------
    CommunityData
        ``site_ids`` = checklist ids, ``coords`` = (longitude, latitude) EPSG:4326,
        ``X`` = effort covariates ``(n_checklists, n_covariates)``, ``Y`` 0/1
        ``(n_checklists, n_species)``, ``extra`` = date, start time, protocol,
        observers, sampling event ids and the other checklist fields.
    """
    if missing_effort not in ("drop", "error"):
        raise InputDataError(f"missing_effort must be 'drop' or 'error', got {missing_effort!r}")
    wide = zero_fill(ebd_path, sampling_path, filters=filters, taxonomy=taxonomy, species=species,
                     threads=threads, memory_limit=memory_limit, tmpdir=tmpdir)
    sp = list(wide.attrs["species"])
    fields_ = wide.drop(columns=sp)
    cov = effort_covariates(fields_, include=effort, time_encoding=time_encoding,
                            duration_encoding=duration_encoding) if effort else \
        pd.DataFrame(index=wide.index)
    bad = ~np.isfinite(cov.to_numpy(dtype=float)).all(axis=1) if cov.shape[1] else np.zeros(len(wide), bool)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        cols = [c for c in cov.columns if not np.isfinite(cov[c].iloc[first])]
        msg = f"{int(bad.sum())} of {len(wide)} checklists from {_effort_source(cols, fields_.iloc[first], ebd_path, sampling_path)}"
        if missing_effort == "error":
            raise InputDataError(msg + "; filter them (e.g. protocol=('Stationary', 'Traveling')) or use missing_effort='drop'")
        logger.info("%s; dropped", msg)
        keep = ~bad
        wide, cov, fields_ = wide[keep].reset_index(drop=True), cov[keep].reset_index(drop=True), \
            fields_[keep].reset_index(drop=True)
    Y = wide[sp].to_numpy(dtype=np.uint8) if sp else np.zeros((len(wide), 0), np.uint8)
    if min_detections > 0 and sp:
        asked = set(species or ()) | set((filters.species if filters else None) or ())
        keep_sp = [(Y[:, j].sum() >= min_detections) or s in asked for j, s in enumerate(sp)]
        dropped = [s for s, k in zip(sp, keep_sp) if not k]
        if dropped:
            logger.info("dropping %d species detected on fewer than %d checklists: %s", len(dropped),
                        min_detections, dropped[:20])
        sp = [s for s, k in zip(sp, keep_sp) if k]
        Y = Y[:, np.asarray(keep_sp, bool)]
    extra = fields_.drop(columns=["checklist_id", "latitude", "longitude"])
    return CommunityData.from_arrays(
        cov.to_numpy(dtype=float),
        Y,
        site_ids=wide["checklist_id"].to_numpy(),
        species=sp,
        covariates=list(cov.columns),
        coords=np.column_stack([wide["longitude"].to_numpy(float), wide["latitude"].to_numpy(float)]),
        crs="EPSG:4326",
        source=str(ebd_path),
        extra=extra,
    )
