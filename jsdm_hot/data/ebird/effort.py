"""Effort covariates of eBird checklists: :func:`effort_covariates`.

Checklist fields (duration, distance, observers, protocol, start time, date)
become model covariates as eBird best practices use them. Values for one
standardised checklist (prediction maps) are in
:mod:`jsdm_hot.data.ebird.standard`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError

__all__ = ["EFFORT_COVARIATES", "effort_covariates"]

_EFFORT_PARTS = ("duration", "distance", "observers", "protocol", "time", "doy", "year")

#: Every effort covariate :func:`effort_covariates` makes -> the input it is computed from.
EFFORT_COVARIATES = {
    "duration_h": "duration_min", "log_duration": "duration_min", "distance_km": "distance_km",
    "n_observers": "n_observers", "protocol_traveling": "protocol", "protocol_area": "protocol",
    "protocol_other": "protocol", "time_sin": "time", "time_cos": "time", "time_h": "time",
    "doy_sin": "date", "doy_cos": "date", "year": "date",
}


def _hours(t: pd.Series) -> pd.Series:
    """Hours since midnight of ``"HH:MM[:SS]"`` strings (NaN when malformed or ≥ 24 h)."""
    parts = t.astype("string").str.extract(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
    h = pd.to_numeric(parts[0], errors="coerce") + pd.to_numeric(parts[1], errors="coerce") / 60 \
        + pd.to_numeric(parts[2], errors="coerce").fillna(0) / 3600
    return h.where(h < 24)


def _protocol_kind(p: pd.Series) -> pd.Series:
    """``stationary``, ``traveling``, ``area`` or ``other`` for each protocol name.

    Matches the word anywhere, case-insensitively, so the current names
    (``Stationary``, ``Traveling``, ``Area``), their banded variants
    (``Stationary (2 band, 25m)``) and the names of older EBD releases
    (``eBird - Stationary Count``, ``eBird - Exhaustive Area Count``) are all
    recognised; ``Travelling`` too.
    """
    s = p.astype("string").str.lower().fillna("")
    out = pd.Series("other", index=p.index, dtype=object)
    out[s.str.contains(r"\barea\b")] = "area"
    out[s.str.contains(r"\btravell?ing\b")] = "traveling"
    out[s.str.contains(r"\bstationary\b")] = "stationary"
    return out


def _cyclic(x, period: float):
    """``(sin, cos)`` of ``2π x / period``: hour of day (24) or day of year (365.25) on a circle."""
    angle = 2 * np.pi * np.asarray(x, dtype=float) / period
    return np.sin(angle), np.cos(angle)


def effort_covariates(
    frame: pd.DataFrame,
    *,
    include: Sequence[str] = _EFFORT_PARTS,
    time_encoding: str = "cyclic",
    duration_encoding: str = "hours",
) -> pd.DataFrame:
    """Effort covariates of checklists, as eBird best practices use them.

    Parameters
    ----------
    frame : DataFrame of shape (n_checklists, ...)
        With columns (as produced by :func:`zero_fill`) ``duration_minutes``,
        ``effort_distance_km``, ``number_observers``, ``protocol``,
        ``time_observations_started`` (``"HH:MM:SS"``) and ``observation_date``
        (``"YYYY-MM-DD"``); only those needed by ``include``.
    include : sequence of str
        Any of ``"duration", "distance", "observers", "protocol", "time", "doy", "year"``.
    time_encoding : {"cyclic", "hours"}
        Time of day as ``time_sin, time_cos`` (sin/cos of 2π·h/24, so 23:59 is near
        00:00) or as ``time_h``, hours since midnight (local time, as recorded).
    duration_encoding : {"hours", "log"}
        Duration as ``duration_h`` (hours) or ``log_duration`` (natural log of
        minutes, as in roccupy's detection model).

    Returns
    -------
    DataFrame of shape (n_checklists, n_covariates), float64
        ``duration_h`` (hours) or ``log_duration``, ``distance_km`` (stationary and
        area checklists: 0 km; an area search records an area, not a distance, and
        the ``protocol_area`` dummy absorbs the difference),
        ``n_observers``, ``protocol_traveling``, ``protocol_area``,
        ``protocol_other`` (0/1 dummies; stationary is the reference level),
        ``time_sin, time_cos`` or ``time_h``, ``doy_sin, doy_cos`` (sin/cos of
        2π·day-of-year/365.25), ``year``. Missing effort values are NaN.
    """
    bad = [p for p in include if p not in _EFFORT_PARTS]
    if bad:
        raise InputDataError(f"unknown effort covariate group(s) {bad}; choose from {list(_EFFORT_PARTS)}")
    if duration_encoding not in ("hours", "log"):
        raise InputDataError(f"duration_encoding must be 'hours' or 'log', got {duration_encoding!r}")
    if time_encoding not in ("cyclic", "hours"):
        raise InputDataError(f"time_encoding must be 'cyclic' or 'hours', got {time_encoding!r}")
    needs = {"duration": "duration_minutes", "distance": "effort_distance_km", "observers": "number_observers",
             "protocol": "protocol", "time": "time_observations_started", "doy": "observation_date",
             "year": "observation_date"}
    missing = sorted({needs[p] for p in include if needs[p] not in frame.columns}
                     | ({"protocol"} if "distance" in include and "protocol" not in frame.columns else set()))
    if missing:
        raise InputDataError(f"effort covariates need column(s) {missing}; the table has {list(frame.columns)}")
    out: dict[str, pd.Series] = {}
    num = lambda c: pd.to_numeric(frame[c], errors="coerce").astype(float)  # noqa: E731
    kind = _protocol_kind(frame["protocol"]) if "protocol" in frame.columns else None
    if "duration" in include:
        minutes = num("duration_minutes")
        if duration_encoding == "hours":
            out["duration_h"] = minutes / 60.0
        else:
            out["log_duration"] = np.log(minutes.where(minutes > 0))
    if "distance" in include:
        d = num("effort_distance_km")
        out["distance_km"] = d.where(d.notna() | ~kind.isin(["stationary", "area"]), 0.0)
    if "observers" in include:
        out["n_observers"] = num("number_observers")
    if "protocol" in include:
        for k in ("traveling", "area", "other"):
            out[f"protocol_{k}"] = (kind == k).astype(float)
    if "time" in include:
        h = _hours(frame["time_observations_started"]).astype(float)
        if time_encoding == "cyclic":
            out["time_sin"], out["time_cos"] = _cyclic(h, 24.0)
        else:
            out["time_h"] = h
    if "doy" in include or "year" in include:
        d = pd.to_datetime(frame["observation_date"], format="%Y-%m-%d", errors="coerce")
        if "doy" in include:
            doy = d.dt.day_of_year.astype(float)
            out["doy_sin"], out["doy_cos"] = _cyclic(doy, 365.25)
        if "year" in include:
            out["year"] = d.dt.year.astype(float)
    return pd.DataFrame(out, index=frame.index)
