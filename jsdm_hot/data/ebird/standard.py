"""Standard effort for prediction: effort covariate values of one checklist, and the best hour.

:func:`effort_values` turns plain units (minutes, km, observers, a protocol
name, ``"07:30"``, ``"2019-06-15"``) into whichever effort covariates a model
has; :func:`standard_effort` gives the values of eBird best practice's
standardised checklist; :func:`with_standard_effort` sets them in a
:class:`~jsdm_hot.data.community.CommunityData`; :func:`best_hour` finds each
species' peak hour.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.ebird.effort import EFFORT_COVARIATES, _cyclic, _hours, _protocol_kind
from jsdm_hot.data.ebird.filters import _iso_date
from jsdm_hot.errors import InputDataError

__all__ = ["EFFORT_INPUTS", "RAW_EFFORT_FIELDS", "STANDARD_CHECKLIST", "effort_values", "standard_effort", "with_standard_effort", "best_hour"]

#: Plain-unit inputs of :func:`effort_values`: name -> what it is.
EFFORT_INPUTS = {
    "duration_min": "checklist duration in minutes, e.g. 60",
    "distance_km": "distance travelled in km, e.g. 1 (default 0 for stationary and area checklists)",
    "n_observers": "number of observers, e.g. 1",
    "protocol": "protocol name, e.g. 'Traveling', 'Stationary' or 'Area' (other names count as protocol_other)",
    "time": "start time of day as 'HH:MM' (e.g. '07:30') or hours since midnight (e.g. 7.5)",
    "date": "a date 'YYYY-MM-DD' (e.g. '2019-06-15') or a day of year 1-366 (e.g. 166)",
}
#: Other spellings accepted by :func:`effort_values` (the checklist field names among them).
_INPUT_ALIASES = {
    "duration": "duration_min", "duration_minutes": "duration_min", "distance": "distance_km",
    "effort_distance_km": "distance_km", "observers": "n_observers", "number_observers": "n_observers",
    "hour": "time", "start_time": "time", "time_observations_started": "time", "doy": "date",
    "day_of_year": "date", "observation_date": "date",
}
#: EBD checklist fields used directly as covariates by tables made outside jsdm-hot (e.g. roccupy) -> their input.
RAW_EFFORT_FIELDS = {"duration_minutes": "duration_min", "effort_distance_km": "distance_km",
                     "number_observers": "n_observers"}
#: The standardised checklist of eBird best practice (inputs not given to :func:`effort_values`).
STANDARD_CHECKLIST = {"duration_min": 60.0, "distance_km": 1.0, "n_observers": 1.0, "protocol": "Traveling", "time": 7.0}


def _number(name: str, value, lo: float, hi: float = np.inf) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and lo <= v <= hi):
        raise InputDataError(f"effort input {name}={value!r} must be a number in [{lo:g}, {hi:g}]: {EFFORT_INPUTS[name]}")
    return v


def _parse_time(value) -> float:
    if isinstance(value, str) and ":" in value:
        h = float(_hours(pd.Series([value])).iloc[0])
    else:
        try:
            h = float(value)
        except (TypeError, ValueError):
            h = float("nan")
    if not (np.isfinite(h) and 0.0 <= h < 24.0):
        raise InputDataError(f"effort input time={value!r} is not a time of day: {EFFORT_INPUTS['time']}")
    return h


def _parse_date(value) -> tuple[float, float | None]:
    """(day of year, year or None) of a date or a day-of-year number."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        d = value if not isinstance(value, _dt.datetime) else value.date()
        return float(d.timetuple().tm_yday), float(d.year)
    text = str(value).strip()
    if "-" in text[1:]:
        try:
            d = _dt.date.fromisoformat(text)
        except ValueError:
            raise InputDataError(f"effort input date={value!r} is not a date: {EFFORT_INPUTS['date']}") from None
        return float(d.timetuple().tm_yday), float(d.year)
    doy = _number("date", text, 1, 366)
    if doy != int(doy):
        raise InputDataError(f"effort input date={value!r}: a day of year is a whole number 1-366")
    return doy, None


def _effort_table(inputs: dict) -> dict[str, float]:
    """Every effort covariate (all encodings) that ``inputs`` (canonical names, any of them) determine."""
    out: dict[str, float] = {}
    kind = None
    if "protocol" in inputs:
        kind = _protocol_kind(pd.Series([str(inputs["protocol"])])).iloc[0]
        out.update({f"protocol_{k}": float(kind == k) for k in ("traveling", "area", "other")})
    if "duration_min" in inputs:
        minutes = _number("duration_min", inputs["duration_min"], 0)
        out["duration_h"] = minutes / 60.0
        out["duration_minutes"] = minutes  # the checklist field itself, as many eBird extracts use it
        if minutes > 0:
            out["log_duration"] = float(np.log(minutes))
    if "distance_km" in inputs:
        out["distance_km"] = _number("distance_km", inputs["distance_km"], 0)
    elif kind in ("stationary", "area"):  # as effort_covariates: no distance recorded -> 0 km
        out["distance_km"] = 0.0
    if "distance_km" in out:
        out["effort_distance_km"] = out["distance_km"]
    if "n_observers" in inputs:
        out["n_observers"] = _number("n_observers", inputs["n_observers"], 1)
        out["number_observers"] = out["n_observers"]
    if "time" in inputs:
        h = _parse_time(inputs["time"])
        out["time_h"] = h
        out["time_sin"], out["time_cos"] = (float(v) for v in _cyclic(h, 24.0))
    if "date" in inputs:
        doy, year = _parse_date(inputs["date"])
        out["doy_sin"], out["doy_cos"] = (float(v) for v in _cyclic(doy, 365.25))
        if year is not None:
            out["year"] = year
    return out


def effort_values(covariates: Sequence[str], inputs: Mapping[str, object] | None = None, /, *,
                  defaults: bool = True, **units) -> dict[str, float]:
    """Values of a model's effort covariates for one checklist described in plain units.

    Turns a duration in minutes, a distance in km, a number of observers, a
    protocol name, a start time (``"07:30"`` or hours) and a date
    (``"2019-06-15"`` or a day of year) into the covariates that
    :func:`effort_covariates` made for the model — whichever of ``duration_h`` /
    ``log_duration``, ``distance_km``, ``n_observers``, ``protocol_*``,
    ``time_sin``/``time_cos`` / ``time_h``, ``doy_sin``/``doy_cos``, ``year``
    are among ``covariates``. Use it for prediction maps at a standard effort.

    Parameters
    ----------
    covariates : sequence of str
        The model's covariate names (e.g. ``model.feature_names_in_``); names
        that are not effort covariates (environment) are ignored.
    inputs : mapping of str to object, optional
        Inputs by name (values may be strings, as typed on a command line);
        merged with ``**units``. Names: ``duration_min``, ``distance_km``,
        ``n_observers``, ``protocol``, ``time``, ``date`` (see
        :data:`EFFORT_INPUTS`); also accepted: ``duration``, ``distance``,
        ``observers``, ``hour``, ``doy``, ``day_of_year`` and the checklist
        field names (``duration_minutes``, ``effort_distance_km``,
        ``number_observers``, ``time_observations_started``, ``observation_date``).
    defaults : bool, default=True
        Inputs not given take the values of eBird best practice's standard
        checklist (:data:`STANDARD_CHECKLIST`: 60 min, 1 km, 1 observer,
        Traveling, 07:00; a stationary or area protocol defaults to 0 km).
        A date has no default. With ``defaults=False`` every input the model's
        effort covariates need must be given.
    **units
        Inputs as keyword arguments.

    Returns
    -------
    dict of str to float
        The model's effort covariates (in ``covariates`` order) and their values.

    Raises
    ------
    InputDataError
        Unknown input names (listing the accepted ones) or an input given twice;
        a value that cannot be read (a time ``"7h30"``, a negative distance);
        ``covariates`` without any effort covariate (listing them and the known
        effort covariates); effort covariates whose input is missing (e.g.
        ``doy_sin`` without a date, ``year`` from a day of year only); inputs
        that set none of the model's covariates.

    Examples
    --------
    >>> v = effort_values(["elevation", "duration_h", "distance_km", "time_sin", "time_cos", "doy_sin", "doy_cos"],
    ...                   duration_min=90, distance_km=2, time="06:00", date="2019-06-15")
    >>> {k: round(x, 3) for k, x in v.items()}
    {'duration_h': 1.5, 'distance_km': 2.0, 'time_sin': 1.0, 'time_cos': 0.0, 'doy_sin': 0.282, 'doy_cos': -0.959}
    >>> effort_values(["duration_h", "distance_km"], {"duration": "30", "protocol": "Stationary"})
    {'duration_h': 0.5, 'distance_km': 0.0}
    >>> effort_values(["duration_h"], minutes=30)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jsdm_hot.errors.InputDataError: unknown effort input(s) ['minutes']; accepted inputs are duration_min: ...
    """
    given: dict[str, object] = {}
    unknown: list[str] = []
    for key, value in [*(inputs or {}).items(), *units.items()]:
        name = str(key).strip().lower().replace("-", "_")
        name = _INPUT_ALIASES.get(name, name)
        if name not in EFFORT_INPUTS:
            unknown.append(str(key))
        elif name in given:
            raise InputDataError(f"effort input {name!r} is given twice (as {key!r} and another spelling)")
        else:
            given[name] = value
    if unknown:
        accepted = "; ".join(f"{k}: {v}" for k, v in EFFORT_INPUTS.items())
        raise InputDataError(f"unknown effort input(s) {unknown}; accepted inputs are {accepted}")
    covariates = [str(c) for c in covariates]
    known = {**EFFORT_COVARIATES, **RAW_EFFORT_FIELDS}
    wanted = [c for c in covariates if c in known]
    if not wanted:
        raise InputDataError(f"none of the covariates {covariates} is an effort covariate; effort covariates are "
                             f"{list(known)} (made by load_ebird / effort_covariates, or the EBD fields themselves)")
    needed = {known[c] for c in wanted}
    if "distance_km" in wanted and "distance_km" not in given and "protocol" in given:
        needed.add("protocol")  # a stationary or area protocol sets the distance to 0 km
    unused = [k for k in given if k not in needed]
    if unused:
        raise InputDataError(f"effort input(s) {unused} set none of the model's covariates {covariates}; "
                             f"its effort covariates are {wanted}")
    kind = _protocol_kind(pd.Series([str(given["protocol"])])).iloc[0] if "protocol" in given else None
    full = dict(given)
    if defaults:
        for k in needed - set(given):
            # no default distance for a stationary or area protocol: _effort_table sets 0 km
            if k in STANDARD_CHECKLIST and not (k == "distance_km" and kind in ("stationary", "area")):
                full[k] = STANDARD_CHECKLIST[k]
    table = _effort_table(full)
    missing = [c for c in wanted if c not in table]
    if missing:
        need = sorted({known[c] for c in missing})
        hint = "; ".join(f"{n}: {EFFORT_INPUTS[n]}" for n in need)
        extra = (" (year needs a full date, not a day of year)" if "year" in missing and "date" in given else "")
        raise InputDataError(f"the model's effort covariates {missing} need input(s) {need}{extra}; give {hint}")
    return {c: table[c] for c in wanted}


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
    Day of year and year are included only when ``date`` is given. To fill a
    given model's covariates from plain units, see :func:`effort_values`.

    Returns
    -------
    dict
        Covariate name -> value, with the names of :func:`effort_covariates`
        for these encodings.
    """
    if duration_encoding not in ("hours", "log"):
        raise InputDataError(f"duration_encoding must be 'hours' or 'log', got {duration_encoding!r}")
    if time_encoding not in ("cyclic", "hours"):
        raise InputDataError(f"time_encoding must be 'cyclic' or 'hours', got {time_encoding!r}")
    table = _effort_table(_standard_inputs(hour, duration_h, distance_km, n_observers, protocol, date))
    names = ["duration_h" if duration_encoding == "hours" else "log_duration", "distance_km", "n_observers",
             "protocol_traveling", "protocol_area", "protocol_other",
             *(("time_sin", "time_cos") if time_encoding == "cyclic" else ("time_h",)),
             *(("doy_sin", "doy_cos", "year") if date is not None else ())]
    return {k: table[k] for k in names if k in table}


def _standard_inputs(hour=7.0, duration_h=1.0, distance_km=1.0, n_observers=1.0, protocol="traveling", date=None) -> dict:
    """:func:`standard_effort`'s arguments as inputs of :func:`_effort_table`."""
    if date is not None:
        date = _iso_date(date, "date")
    return {"duration_min": float(duration_h) * 60.0, "distance_km": distance_km, "n_observers": n_observers,
            "protocol": protocol, "time": float(hour) % 24.0, **({"date": date} if date is not None else {})}


def with_standard_effort(data: CommunityData, **effort) -> CommunityData:
    """Copy of ``data`` whose effort covariates are set to :func:`standard_effort` values.

    Only covariates present in ``data`` are overwritten (e.g. day of year stays as
    is unless ``date=`` is given). ``effort`` are keyword arguments of
    :func:`standard_effort` (its encodings are ignored: the data's own are used).
    """
    effort = {k: v for k, v in effort.items() if k not in ("time_encoding", "duration_encoding")}
    values = _effort_table(_standard_inputs(**effort))
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
