"""Effort covariates of eBird checklists, standard effort for prediction, and the best hour.

:func:`effort_covariates` turns checklist fields (duration, distance, observers,
protocol, start time, date) into model covariates; :func:`standard_effort` and
:func:`effort_values` give the covariate values of one standardised checklist
(eBird best practice) for prediction maps; :func:`with_standard_effort` sets
them in a :class:`~jsdm_hot.data.community.CommunityData`; :func:`best_hour`
finds each species' peak hour.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.ebird.filters import _iso_date
from jsdm_hot.errors import InputDataError

__all__ = ["effort_covariates", "standard_effort", "with_standard_effort", "best_hour"]

_EFFORT_PARTS = ("duration", "distance", "observers", "protocol", "time", "doy", "year")


def _hours(t: pd.Series) -> pd.Series:
    parts = t.astype("string").str.extract(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?")
    h = pd.to_numeric(parts[0], errors="coerce") + pd.to_numeric(parts[1], errors="coerce") / 60 \
        + pd.to_numeric(parts[2], errors="coerce").fillna(0) / 3600
    return h.where(h < 24)


def _protocol_kind(p: pd.Series) -> pd.Series:
    s = p.astype("string").str.lower().fillna("")
    out = pd.Series("other", index=p.index, dtype=object)
    out[s.str.startswith("stationary")] = "stationary"
    out[s.str.startswith("traveling")] = "traveling"
    out[s.str.startswith("area")] = "area"
    return out


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
            out["time_sin"] = np.sin(2 * np.pi * h / 24)
            out["time_cos"] = np.cos(2 * np.pi * h / 24)
        else:
            out["time_h"] = h
    if "doy" in include or "year" in include:
        d = pd.to_datetime(frame["observation_date"], format="%Y-%m-%d", errors="coerce")
        if "doy" in include:
            doy = d.dt.day_of_year.astype(float)
            out["doy_sin"] = np.sin(2 * np.pi * doy / 365.25)
            out["doy_cos"] = np.cos(2 * np.pi * doy / 365.25)
        if "year" in include:
            out["year"] = d.dt.year.astype(float)
    return pd.DataFrame(out, index=frame.index)


def standard_effort(
    *,
    hour: float = 7.0,
    duration_h: float = 1.0,
    distance_km: float = 1.0,
    n_observers: float = 1.0,
    protocol: str = "traveling",
    date: str | _dt.date | None = None,
    time_encoding: str = "cyclic",
    duration_encoding: str = "hours",
) -> dict[str, float]:
    """Effort covariate values of a standardised checklist, for prediction maps.

    The default is eBird best practice: a 1 h, 1 km traveling checklist by one
    observer starting at ``hour`` (use :func:`best_hour` for each species' peak).
    Day of year and year are included only when ``date`` is given.

    Returns
    -------
    dict
        Covariate name -> value, with the names of :func:`effort_covariates`.
    """
    frame = pd.DataFrame({
        "duration_minutes": [duration_h * 60.0], "effort_distance_km": [distance_km],
        "number_observers": [n_observers], "protocol": [protocol],
        "time_observations_started": [f"{int(hour) % 24:02d}:{int(round((hour % 1) * 60)) % 60:02d}:00"],
        "observation_date": [_iso_date(date, "date") if date is not None else None],
    })
    include = [p for p in _EFFORT_PARTS if date is not None or p not in ("doy", "year")]
    cov = effort_covariates(frame, include=include, time_encoding=time_encoding, duration_encoding=duration_encoding)
    if time_encoding == "hours":
        cov["time_h"] = float(hour)
    else:  # exact fractional hour (the string above is rounded to minutes)
        cov["time_sin"], cov["time_cos"] = np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)
    return {k: float(v) for k, v in cov.iloc[0].items()}


def with_standard_effort(data: CommunityData, **effort) -> CommunityData:
    """Copy of ``data`` whose effort covariates are set to :func:`standard_effort` values.

    Only covariates present in ``data`` are overwritten (e.g. day of year stays as
    is unless ``date=`` is given). ``effort`` are keyword arguments of
    :func:`standard_effort`.
    """
    values: dict[str, float] = {}
    for de in ("hours", "log"):  # whichever encodings the data use
        for te in ("cyclic", "hours"):
            values.update(standard_effort(**{"duration_encoding": de, "time_encoding": te, **effort}))
    X = data.X.copy()
    hit = []
    for j, name in enumerate(data.covariates):
        if name in values:
            X[:, j] = values[name]
            hit.append(name)
    if not hit:
        raise InputDataError(
            f"none of the effort covariates {sorted(values)} are among the covariates of {data!r}: {list(data.covariates)}"
        )
    return replace(data, X=X)


def best_hour(
    predict_proba: Callable[[CommunityData], np.ndarray],
    data: CommunityData,
    hours: Sequence[float] = tuple(np.arange(0.0, 24.0, 0.5)),
    **effort,
) -> np.ndarray:
    """Hour of day at which each species' mean predicted occurrence is highest.

    Parameters
    ----------
    predict_proba : callable
        ``CommunityData -> ndarray (n_sites, n_species)``, e.g. a fitted model's
        ``predict_proba``.
    data : CommunityData
        Sites to average over (e.g. the training checklists).
    hours : sequence of float
        Candidate start hours.
    **effort
        Other :func:`standard_effort` arguments (duration, distance, ...).

    Returns
    -------
    ndarray of shape (n_species,)
        The best hour per species (first of ties).
    """
    means = np.stack([np.asarray(predict_proba(with_standard_effort(data, hour=h, **effort))).mean(axis=0)
                      for h in hours])
    return np.asarray(hours, dtype=float)[means.argmax(axis=0)]
