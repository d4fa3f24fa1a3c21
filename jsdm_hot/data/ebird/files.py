"""EBD file layout: column names, header checks, value validators and line finders.

The eBird Basic Dataset (observations) and its sampling-event file are
tab-separated text with a header of EBD column names. This module knows those
names (:data:`EBD_REQUIRED`, :data:`SAMPLING_REQUIRED`, ...), reads and checks a
header (:func:`read_header`) and, after DuckDB reports a bad value, finds the
file line that holds it so errors can name it.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import re
from pathlib import Path
from typing import Sequence

from jsdm_hot.errors import InputDataError

__all__ = ["SEI", "GROUP", "EBD_REQUIRED", "SAMPLING_REQUIRED", "PROTOCOL_ALIASES", "EFFORT_COLUMNS", "read_header"]

SEI = "SAMPLING EVENT IDENTIFIER"
GROUP = "GROUP IDENTIFIER"
#: Columns any EBD observation file must have for zero-filling.
EBD_REQUIRED = (
    SEI, "SCIENTIFIC NAME", "CATEGORY", "OBSERVATION COUNT", "LATITUDE", "LONGITUDE",
    "OBSERVATION DATE", "ALL SPECIES REPORTED",
)
#: Columns any sampling-event file must have.
SAMPLING_REQUIRED = (SEI, "LATITUDE", "LONGITUDE", "OBSERVATION DATE", "ALL SPECIES REPORTED")
#: The protocol column has had several names across EBD releases; the first present is used.
PROTOCOL_ALIASES = ("PROTOCOL TYPE", "PROTOCOL NAME", "OBSERVATION TYPE")
#: Effort columns needed for effort covariates (protocol: any alias above).
EFFORT_COLUMNS = ("TIME OBSERVATIONS STARTED", "DURATION MINUTES", "EFFORT DISTANCE KM", "NUMBER OBSERVERS")

# checklist-level fields kept per checklist: EBD column -> output name
_CHECKLIST_FIELDS = {
    "LATITUDE": "latitude",
    "LONGITUDE": "longitude",
    "OBSERVATION DATE": "observation_date",
    "TIME OBSERVATIONS STARTED": "time_observations_started",
    "DURATION MINUTES": "duration_minutes",
    "EFFORT DISTANCE KM": "effort_distance_km",
    "NUMBER OBSERVERS": "number_observers",
    "PROTOCOL CODE": "protocol_code",
    "COUNTRY CODE": "country_code",
    "STATE CODE": "state_code",
    "COUNTY CODE": "county_code",
    "LOCALITY ID": "locality_id",
}
_TRUE = ("1", "true", "True", "TRUE", "T")
_ROLLUP_KEEP = ("species", "issf", "form", "intergrade")


def read_header(path: str | Path, required: Sequence[str] = (), what: str = "EBD") -> list[str]:
    """Column names of a tab-separated EBD-style file (a trailing empty column is ignored).

    Raises
    ------
    InputDataError
        If the file is missing or empty, or lacks any of ``required`` (all missing
        columns are listed).
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{what} file {path} does not exist")
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        line = fh.readline().rstrip("\r\n")
    if not line:
        raise InputDataError(f"{what} file {path} is empty (no header line)")
    cols = line.split("\t")
    while cols and cols[-1] == "":
        cols.pop()
    missing = [c for c in required if c not in cols]
    if missing:
        raise InputDataError(
            f"{what} file {path} is missing required column(s) {missing}; is it a tab-separated "
            f"eBird {'sampling-event' if what == 'sampling' else 'Basic Dataset'} file? Its header has: {cols}"
        )
    return cols


# validators used both in SQL (for speed) and in the Python diagnostic scan (for the line)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _valid_date(v: str) -> bool:
    if not v or not _DATE_RE.fullmatch(v):
        return False
    try:
        _dt.date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _valid_float(v: str) -> bool:
    try:
        return math.isfinite(float(v))
    except ValueError:
        return False


def _valid_count(v: str) -> bool:
    return v == "X" or re.fullmatch(r"[0-9]+", v) is not None


_EXPECT = {
    "date": ("a date YYYY-MM-DD", _valid_date),
    "float": ("a number", _valid_float),
    "count": ("a whole number or 'X' (present, not counted)", _valid_count),
    "id": ("a non-empty identifier", lambda v: bool(v.strip())),
}


def _find_bad_line(path: Path, column: str, kind: str) -> tuple[int, str] | None:
    """First (1-based file line, value) where ``column`` fails the ``kind`` check."""
    ok = _EXPECT[kind][1]
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        j = header.index(column)
        for lineno, row in enumerate(reader, start=2):
            v = row[j] if j < len(row) else ""
            if not ok(v):
                return lineno, v
    return None


def _find_checklist(path: Path, checklist_id: str) -> tuple[int | None, str | None]:
    """First (line, sampling event id) of an EBD row belonging to ``checklist_id``."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        js = header.index(SEI)
        jg = header.index(GROUP) if GROUP in header else None
        for lineno, row in enumerate(reader, start=2):
            g = row[jg].strip() if jg is not None and jg < len(row) else ""
            if (g or (row[js] if js < len(row) else "")) == checklist_id:
                return lineno, row[js]
    return None, None
