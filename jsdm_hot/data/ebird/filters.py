"""Filters applied while scanning an EBD / sampling-event file: :class:`EbirdFilters`."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, fields

from jsdm_hot.errors import InputDataError

__all__ = ["EbirdFilters", "BEST_PRACTICE", "BEST_PRACTICE_MIN_DETECTIONS"]

#: eBird best-practice checklist filters (Strimas-Mackey et al. 2020, *Best Practices for
#: Using eBird Data* v1.0, ch. 2; Johnston et al. 2021): stationary and traveling protocols,
#: at most 5 h, 5 km and 10 observers (complete, approved checklists are
#: :class:`EbirdFilters`' defaults anyway). Version 2.0 of the guide (2023) allows 6 h and
#: 10 km at under 100 km/h; give those limits explicitly to follow it.
BEST_PRACTICE = {"protocol": ("Stationary", "Traveling"), "duration_minutes": (None, 300.0),
                 "distance_km": (None, 5.0), "n_observers": (None, 10)}
#: Species detected on fewer checklists are dropped under best practice (``load_ebird(min_detections=...)``).
BEST_PRACTICE_MIN_DETECTIONS = 10

def _as_tuple(v) -> tuple | None:
    if v is None:
        return None
    if isinstance(v, (str, int, float)):
        return (v,)
    return tuple(v)


def _range(v, what: str) -> tuple | None:
    if v is None:
        return None
    t = tuple(v)
    if len(t) != 2:
        raise InputDataError(f"filter {what} must be a (min, max) pair (None for open ends), got {v!r}")
    lo, hi = t
    if lo is not None and hi is not None and lo > hi:
        raise InputDataError(f"filter {what}: min {lo!r} is greater than max {hi!r}")
    return t


def _iso_date(v, what: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.strftime("%Y-%m-%d")
    try:
        return _dt.date.fromisoformat(str(v)).isoformat()
    except ValueError:
        raise InputDataError(f"filter {what}: {v!r} is not a date YYYY-MM-DD") from None


def _hhmmss(v, what: str) -> str | None:
    if v is None:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", str(v).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise InputDataError(f"filter {what}: {v!r} is not a time HH:MM or HH:MM:SS")
    return f"{int(m.group(1)):02d}:{m.group(2)}:{m.group(3) or '00'}"


@dataclass(frozen=True)
class EbirdFilters:
    """Filters applied while scanning an EBD / sampling-event file (like auk's ``auk_*``).

    Every field left at ``None`` means "no filter". String matches are exact
    (country/state/county: name or code, e.g. ``"US"`` or ``"United States"``,
    ``"US-GA"``); protocol names are case-insensitive and may also be protocol codes
    (``"P22"``). Ranges are inclusive ``(min, max)`` pairs with ``None`` for an
    open end.

    Attributes
    ----------
    species : tuple of str
        Scientific or common species names (after taxonomic roll-up).
    country, state, county : tuple of str
    bbox : (lon_min, lat_min, lon_max, lat_max)
        Degrees, WGS84.
    date : (start, end)
        ISO dates (str or ``datetime.date``), inclusive.
    months : tuple of int
        Months 1..12 to keep (any year), e.g. ``(5, 6, 7)`` for the breeding season.
    protocol : tuple of str
        E.g. ``("Stationary", "Traveling")``.
    duration_minutes, distance_km, n_observers : (min, max)
        Effort limits. Stationary checklists have no distance and count as 0 km.
    time_started : (start, end)
        Start time range ``"HH:MM"``; checklists without start time are dropped.
    complete : bool, default True
        Keep only complete checklists (``ALL SPECIES REPORTED`` = 1): needed for
        presence/absence.
    approved : bool, default True
        Keep only approved records (``APPROVED`` = 1, EBD observation file only).
    """

    species: tuple[str, ...] | None = None
    country: tuple[str, ...] | None = None
    state: tuple[str, ...] | None = None
    county: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None
    date: tuple | None = None
    months: tuple[int, ...] | None = None
    protocol: tuple[str, ...] | None = None
    duration_minutes: tuple | None = None
    distance_km: tuple | None = None
    n_observers: tuple | None = None
    time_started: tuple | None = None
    complete: bool = True
    approved: bool = True

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        for k in ("species", "country", "state", "county", "protocol"):
            v = _as_tuple(getattr(self, k))
            set_(k, None if v is None else tuple(str(s) for s in v))
        if self.bbox is not None:
            b = tuple(float(x) for x in self.bbox)
            if len(b) != 4 or not (b[0] <= b[2] and b[1] <= b[3]):
                raise InputDataError(f"bbox must be (lon_min, lat_min, lon_max, lat_max) with min <= max, got {self.bbox!r}")
            set_("bbox", b)
        if self.date is not None:
            lo, hi = _range(self.date, "date")
            set_("date", _range((_iso_date(lo, "date"), _iso_date(hi, "date")), "date"))
        if self.months is not None:
            m = tuple(int(x) for x in _as_tuple(self.months))
            bad = [x for x in m if not 1 <= x <= 12]
            if bad:
                raise InputDataError(f"months must be in 1..12, got {bad}")
            set_("months", m)
        for k in ("duration_minutes", "distance_km", "n_observers"):
            set_(k, _range(getattr(self, k), k))
        if self.time_started is not None:
            lo, hi = _range(self.time_started, "time_started")
            set_("time_started", (_hhmmss(lo, "time_started"), _hhmmss(hi, "time_started")))

    @classmethod
    def best_practice(cls, **fields) -> "EbirdFilters":
        """Filters of eBird best practice (:data:`BEST_PRACTICE`), with ``fields`` replacing any of them.

        Examples
        --------
        >>> EbirdFilters.best_practice(state="US-GA").distance_km
        (None, 5.0)
        >>> EbirdFilters.best_practice(distance_km=None).distance_km is None
        True
        """
        return cls(**{**BEST_PRACTICE, **fields})

    def describe(self) -> str:
        """One line naming every filter that is set (what ``jsdm-hot prepare`` logs)."""
        def rng(r, unit: str) -> str:
            lo, hi = r
            return " and ".join(p for p in ((f">= {lo:g}{unit}" if lo is not None else ""),
                                            (f"<= {hi:g}{unit}" if hi is not None else "")) if p)

        parts = ["complete checklists only" if self.complete else "incomplete checklists kept (no true absences)"]
        if self.approved:
            parts.append("approved records only")
        for name in ("species", "country", "state", "county", "protocol", "months"):
            v = getattr(self, name)
            if v:
                parts.append(f"{name} in {', '.join(str(x) for x in v)}")
        if self.bbox is not None:
            parts.append(f"bbox {self.bbox}")
        if self.date is not None:
            parts.append(f"date {self.date[0] or '...'} to {self.date[1] or '...'}")
        for name, unit, label in (("duration_minutes", " min", "duration"), ("distance_km", " km", "distance"),
                                  ("n_observers", "", "observers")):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{label} {rng(v, unit)}" + (" (stationary = 0 km)" if name == "distance_km" else ""))
        if self.time_started is not None:
            parts.append(f"start time {self.time_started[0] or '...'} to {self.time_started[1] or '...'}")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """JSON-friendly dict (tuples as lists)."""
        return {f.name: (list(v) if isinstance(v, tuple) else v) for f in fields(self) if (v := getattr(self, f.name)) is not None}
