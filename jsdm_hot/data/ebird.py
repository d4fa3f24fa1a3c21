"""eBird Basic Dataset (EBD) ingest: filters, taxonomy roll-up, zero-filling, effort covariates.

An EBD extract is a tab-separated text file (often several GB) with one row per
observation (a species on a checklist); the matching *sampling-event file* has one
row per checklist. Presence/absence comes from joining the two: a species is present
(1) on a complete checklist when it has a row in the EBD, absent (0) otherwise.

Everything heavy runs in DuckDB (imported lazily) over a streaming ``read_csv``
scan: the files are never loaded whole into pandas. Filters are pushed into the SQL
``WHERE``; shared checklists are collapsed by a SQL ``GROUP BY`` over the rows of
shared checklists only; the EBD is read in one pass that maps each kept row to its
checklist's output row and gathers those row numbers per species. Only the
checklist table (through Arrow, strings stay Arrow-backed) and one integer list
per species come back to Python. DuckDB works on a scratch database file in a
temporary folder so it can evict to disk beyond ``memory_limit``; for a 2 GB EBD
(5.6 M rows, 1.4 M checklists) the whole process peaks at about 1.4 GB RSS, of
which ~370 MB is the import of jsdm_hot itself (see
``benchmarks/results/ingest_speed.md``).

Conventions (the same as the R package auk, Strimas-Mackey et al.):

* **Checklist id** = ``GROUP IDENTIFIER`` when non-empty, else ``SAMPLING EVENT
  IDENTIFIER``. Copies of a shared checklist (one per observer) collapse into one
  checklist; its fields come from the copy with the smallest sampling event id
  (auk's ``auk_unique`` rule); ``n_sampling_events``, ``sampling_event_ids`` and
  ``observer_ids`` record what was merged. A species is present on the collapsed
  checklist if any copy reports it.
* **Taxonomic roll-up.** In the EBD, the ``SCIENTIFIC NAME`` of ``issf``, ``form``
  and ``intergrade`` rows is already the species name (the subspecies is in
  ``SUBSPECIES SCIENTIFIC NAME``), so without a taxonomy file those rows count for
  their species and ``spuh``, ``slash``, ``hybrid`` and ``domestic`` rows are
  dropped. With ``taxonomy=`` (a path to the eBird/Clements taxonomy CSV with
  columns ``species_code, scientific_name, common_name, category, report_as``, as
  shipped by auk; not bundled here because of its license) names are joined to the
  taxonomy: species-level names are kept, names whose ``report_as`` points to a
  species roll up to it, other taxa are dropped, and names absent from that
  taxonomy version are dropped with a warning listing them. ``domestic`` rows are
  dropped in both modes (auk's documentation says it drops them; its code, joining
  on the species-level scientific name, would keep them: we follow the documented
  intent, domestic birds are not wild occurrences).
* **"X" counts** mean present, count unknown. Any other non-integer count is an
  error naming the file and line.

Deviation from auk: auk's ``auk_zerofill`` fails on checklists of the EBD missing
from the sampling file; so do we (:class:`~jsdm_hot.errors.InputDataError` naming
the first such row). Without a sampling file the checklists are those present in
the EBD extract itself: that is only a faithful zero-fill when the extract was not
restricted to a few species (otherwise checklists with none of them are missed);
a warning says so.
"""

from __future__ import annotations

import csv
import datetime as _dt
import logging
import math
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError

__all__ = [
    "EbirdFilters",
    "EFFORT_COLUMNS",
    "read_header",
    "zero_fill",
    "load_ebird",
    "effort_covariates",
    "standard_effort",
    "with_standard_effort",
    "best_hour",
]

logger = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------- filters
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

    def to_dict(self) -> dict:
        """JSON-friendly dict (tuples as lists)."""
        return {f.name: (list(v) if isinstance(v, tuple) else v) for f in fields(self) if (v := getattr(self, f.name)) is not None}


# --------------------------------------------------------------------------- file helpers
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


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _lit(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return repr(float(v))
    return "'" + str(v).replace("'", "''") + "'"


def _in(expr: str, values: Iterable) -> str:
    return f"{expr} IN ({', '.join(_lit(v) for v in values)})"


def _scan(path: Path, cols: list[str]) -> str:
    """DuckDB ``read_csv`` call reading every column as text, no quoting, explicit names."""
    spec = {c: "VARCHAR" for c in cols}
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        first = fh.readline().rstrip("\r\n").split("\t")
    for i in range(len(cols), len(first)):  # trailing empty column(s)
        spec[f"_trailing_{i}"] = "VARCHAR"
    colspec = "{" + ", ".join(f"{_lit(k)}: 'VARCHAR'" for k in spec) + "}"
    return (
        f"read_csv({_lit(str(path))}, delim='\\t', quote='', escape='', header=true, "
        f"auto_detect=false, columns={colspec}, null_padding=false)"
    )


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


def _checked(col: str, kind: str, file_tag: str) -> str:
    """SQL expression casting ``col`` and raising a tagged error on an invalid value."""
    c = _q(col)
    tag = _lit(f"jsdm_hot|{file_tag}|{col}|{kind}|")
    if kind == "date":
        return (
            f"CASE WHEN length({c}) = 10 AND substr({c}, 5, 1) = '-' AND substr({c}, 8, 1) = '-' "
            f"AND TRY_CAST({c} AS DATE) IS NOT NULL THEN TRY_CAST({c} AS DATE) "
            f"ELSE error({tag} || coalesce({c}, '')) END"
        )
    if kind == "float":
        return (
            f"CASE WHEN isfinite(TRY_CAST({c} AS DOUBLE)) THEN TRY_CAST({c} AS DOUBLE) "
            f"ELSE error({tag} || coalesce({c}, '')) END"
        )
    if kind == "count":
        return (
            f"CASE WHEN {c} = 'X' OR regexp_full_match({c}, '[0-9]+') THEN TRUE "
            f"ELSE error({tag} || coalesce({c}, '')) END"
        )
    if kind == "id":
        return f"CASE WHEN nullif(trim({c}), '') IS NOT NULL THEN {c} ELSE error({tag} || coalesce({c}, '')) END"
    raise ValueError(kind)


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


def _run(con, sql: str, files: dict[str, Path], arrow: bool = False):
    """Execute SQL (``arrow``: fetch an Arrow table); turn tagged cast errors and CSV errors
    into InputDataError with file and line."""
    import duckdb

    try:
        return con.sql(sql).to_arrow_table() if arrow else con.execute(sql)
    except duckdb.Error as exc:
        msg = str(exc)
        m = re.search(r"jsdm_hot\|(\w+)\|([^|]+)\|(\w+)\|(.*)", msg)
        if m:
            tag, column, kind, value = m.group(1), m.group(2), m.group(3), m.group(4).strip()
            path = files[tag]
            found = _find_bad_line(path, column, kind)
            where = f"line {found[0]}" if found else "a line"
            value = found[1] if found else value
            raise InputDataError(
                f"{path}, {where}: column '{column}' has value {value!r}; expected {_EXPECT[kind][0]}"
            ) from None
        names = ", ".join(str(p) for p in files.values())
        detail = msg.split("Possible fixes")[0].strip() or repr(exc)  # drop DuckDB's option hints
        raise InputDataError(f"could not read {names} as tab-separated eBird data: {detail}") from None


# --------------------------------------------------------------------------- SQL pieces
def _protocol_col(cols: Sequence[str]) -> str | None:
    return next((c for c in PROTOCOL_ALIASES if c in cols), None)


def _checklist_where(f: EbirdFilters, cols: Sequence[str], path: Path, what: str) -> list[str]:
    """WHERE conjuncts on checklist-level fields (valid for EBD and sampling files)."""
    w: list[str] = []

    def need(col: str, why: str) -> None:
        if col not in cols:
            raise InputDataError(f"{what} file {path} has no column '{col}', needed for the {why} filter")

    if f.complete:
        w.append(_in(_q("ALL SPECIES REPORTED"), _TRUE))
    for attr, name_col, code_col in (("country", "COUNTRY", "COUNTRY CODE"), ("state", "STATE", "STATE CODE"),
                                     ("county", "COUNTY", "COUNTY CODE")):
        vals = getattr(f, attr)
        if vals:
            parts = [_in(_q(c), vals) for c in (name_col, code_col) if c in cols]
            if not parts:
                need(code_col, attr)
            w.append("(" + " OR ".join(parts) + ")")
    if f.bbox is not None:
        x0, y0, x1, y1 = f.bbox
        w.append(f"TRY_CAST({_q('LONGITUDE')} AS DOUBLE) BETWEEN {x0!r} AND {x1!r}")
        w.append(f"TRY_CAST({_q('LATITUDE')} AS DOUBLE) BETWEEN {y0!r} AND {y1!r}")
    d = f"TRY_CAST({_q('OBSERVATION DATE')} AS DATE)"
    if f.date is not None:
        lo, hi = f.date
        if lo:
            w.append(f"{d} >= DATE {_lit(lo)}")
        if hi:
            w.append(f"{d} <= DATE {_lit(hi)}")
    if f.months:
        w.append(_in(f"month({d})", f.months).replace("'", ""))
    proto = _protocol_col(cols)
    if f.protocol:
        if proto is None:
            need(PROTOCOL_ALIASES[0], "protocol")
        parts = [_in(f"lower({_q(proto)})", [p.lower() for p in f.protocol])]
        if "PROTOCOL CODE" in cols:
            parts.append(_in(_q("PROTOCOL CODE"), f.protocol))
        w.append("(" + " OR ".join(parts) + ")")

    def rng(expr: str, r) -> None:
        lo, hi = r
        if lo is not None:
            w.append(f"{expr} >= {float(lo)!r}")
        if hi is not None:
            w.append(f"{expr} <= {float(hi)!r}")

    if f.duration_minutes is not None:
        need("DURATION MINUTES", "duration")
        rng(f"TRY_CAST({_q('DURATION MINUTES')} AS DOUBLE)", f.duration_minutes)
    if f.distance_km is not None:
        need("EFFORT DISTANCE KM", "distance")
        stationary = f"lower({_q(proto)}) LIKE 'stationary%'" if proto else "FALSE"
        rng(f"coalesce(TRY_CAST({_q('EFFORT DISTANCE KM')} AS DOUBLE), CASE WHEN {stationary} THEN 0.0 END)",
            f.distance_km)
    if f.n_observers is not None:
        need("NUMBER OBSERVERS", "n_observers")
        rng(f"TRY_CAST({_q('NUMBER OBSERVERS')} AS DOUBLE)", f.n_observers)
    if f.time_started is not None:
        need("TIME OBSERVATIONS STARTED", "time_started")
        lo, hi = f.time_started
        t = f"lpad({_q('TIME OBSERVATIONS STARTED')}, 8, '0')"
        if lo:
            w.append(f"{t} >= {_lit(lo)}")
        if hi:
            w.append(f"{t} <= {_lit(hi)}")
    return w


def _cid(cols: Sequence[str]) -> str:
    if GROUP in cols:
        return f"coalesce(nullif(trim({_q(GROUP)}), ''), {_q(SEI)})"
    return _q(SEI)


def _checklist_sql(path: Path, cols: list[str], f: EbirdFilters, tag: str, what: str, extra_where=(),
                   one_row_per_event: bool = False) -> list[str]:
    """SQL statements creating table ``checklists``: one row per checklist (groups collapsed),
    fields from the copy with the smallest sampling event id.

    With ``one_row_per_event`` (a sampling-event file: one row per sampling event)
    only rows of shared checklists go through the GROUP BY; the others stream
    straight into the table, which keeps memory low for millions of checklists.
    """
    proto = _protocol_col(cols)
    keep = {c: o for c, o in _CHECKLIST_FIELDS.items() if c in cols}
    typed = {"LATITUDE": _checked("LATITUDE", "float", tag), "LONGITUDE": _checked("LONGITUDE", "float", tag),
             "OBSERVATION DATE": f"CAST({_checked('OBSERVATION DATE', 'date', tag)} AS VARCHAR)",
             **{c: f"TRY_CAST({_q(c)} AS DOUBLE)" for c in ("DURATION MINUTES", "EFFORT DISTANCE KM", "NUMBER OBSERVERS")}}
    members = [(typed.get(c, _q(c)), o) for c, o in keep.items()]
    if proto:
        members.append((_q(proto), "protocol"))
    struct = "{" + ", ".join(f"{_lit(o)}: {expr}" for expr, o in members) + "}"
    observer = f"{_q('OBSERVER ID')}" if "OBSERVER ID" in cols else "NULL"
    is_group = f"nullif(trim({_q(GROUP)}), '') IS NOT NULL" if GROUP in cols else "FALSE"
    where = _checklist_where(f, cols, path, what) + list(extra_where)
    rows = f"""SELECT {_cid(cols)} AS checklist_id, {_checked(SEI, 'id', tag)} AS sei, {observer} AS observer,
                      {is_group} AS is_group, {struct} AS f
               FROM {_scan(path, cols)} {"WHERE " + " AND ".join(where) if where else ""}"""
    agg = """SELECT checklist_id, len(list_distinct(list(sei))) AS n_sampling_events,
                    array_to_string(list_sort(list_distinct(list(sei))), ',') AS sampling_event_ids,
                    array_to_string(list_sort(list_distinct(list(observer))), ',') AS observer_ids,
                    arg_min(f, sei) AS f"""
    if not one_row_per_event:
        return {"checklists": f"{agg} FROM ({rows}) GROUP BY checklist_id"}
    ids = f"""SELECT {_cid(cols)} AS checklist_id, count(*) FILTER (WHERE NOT ({is_group})) AS n_single
              FROM {_scan(path, cols)} {"WHERE " + " AND ".join(where) if where else ""}
              GROUP BY ALL"""
    # no table: the (small) sampling file is scanned again when the result is fetched,
    # which is cheaper than writing and reading back millions of rows
    return {"ids": ids, "checklists": f"""
            SELECT checklist_id, 1::BIGINT AS n_sampling_events, sei AS sampling_event_ids,
                   observer AS observer_ids, f FROM ({rows}) WHERE NOT is_group
            UNION ALL
            {agg} FROM ({rows}) WHERE is_group GROUP BY checklist_id"""}


def _taxonomy_sql(taxonomy: Path) -> str:
    need = ["species_code", "scientific_name", "common_name", "category", "report_as"]
    with open(taxonomy, encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader(fh))
    missing = [c for c in need if c not in header]
    if missing:
        raise InputDataError(
            f"taxonomy file {taxonomy} is missing column(s) {missing}; expected the eBird taxonomy CSV "
            f"with columns {need} (e.g. auk's ebird_taxonomy), its header has {header}"
        )
    src = f"read_csv({_lit(str(taxonomy))}, header=true, all_varchar=true, delim=',', quote='\"')"
    return f"""
        SELECT t.scientific_name AS name,
               CASE WHEN t.category = 'species' THEN t.scientific_name ELSE s.scientific_name END AS species,
               CASE WHEN t.category = 'species' THEN t.common_name ELSE s.common_name END AS species_common
        FROM {src} t LEFT JOIN (SELECT * FROM {src} WHERE category = 'species') s
             ON nullif(t.report_as, '') = s.species_code
    """


# --------------------------------------------------------------------------- zero fill
def _arrow_string_mapper():
    """pyarrow → pandas type mapper keeping strings Arrow-backed (pandas' ``str`` dtype)."""
    import pyarrow as pa

    try:  # pandas >= 3: the default ``str`` dtype (NaN for missing)
        str_dtype = pd.StringDtype(storage="pyarrow", na_value=np.nan)
    except TypeError:  # older pandas
        str_dtype = pd.StringDtype(storage="pyarrow")

    def mapper(t):
        return str_dtype if pa.types.is_string(t) or pa.types.is_large_string(t) else None

    return mapper


def _connect(threads: int | None, memory_limit: str | None, workdir: str):
    """DuckDB connection on a scratch database file in ``workdir``.

    A file-backed database (instead of ``:memory:``) lets DuckDB evict the
    intermediate tables to disk, so resident memory stays near ``memory_limit``
    even for multi-GB extracts; the folder is deleted afterwards.
    """
    import duckdb

    config = {"preserve_insertion_order": False,  # lets DuckDB stream scans with less memory
              "temp_directory": str(Path(workdir) / "spill")}
    if threads:
        config["threads"] = int(threads)
    if memory_limit:
        config["memory_limit"] = str(memory_limit)
    return duckdb.connect(str(Path(workdir) / "scratch.duckdb"), config=config)


def zero_fill(
    ebd_path: str | Path,
    sampling_path: str | Path | None = None,
    *,
    filters: EbirdFilters | None = None,
    taxonomy: str | Path | None = None,
    species: Sequence[str] | None = None,
    threads: int | None = None,
    memory_limit: str | None = "1GB",
    tmpdir: str | Path | None = None,
) -> pd.DataFrame:
    """Zero-filled presence/absence: one row per (collapsed) checklist, one 0/1 column per species.

    Parameters
    ----------
    ebd_path : path
        EBD observation file (tab-separated, header of EBD column names).
    sampling_path : path, optional
        The matching sampling-event file. Without it, the checklists are those
        present in the EBD (see the module notes).
    filters : EbirdFilters, optional
        Default ``EbirdFilters()``: complete, approved checklists, no other filter.
    taxonomy : path, optional
        eBird taxonomy CSV for the roll-up (see the module notes).
    species : sequence of str, optional
        Species columns to produce, in this order (scientific or common names
        after roll-up; common names need ``taxonomy`` or the EBD ``COMMON NAME``
        column). Merged with ``filters.species``. Requested species never
        detected give all-zero columns.
    threads, memory_limit
        DuckDB settings (``memory_limit`` bounds DuckDB's memory: it spills to
        disk beyond it).
    tmpdir : path, optional
        Where DuckDB's scratch database and spill files go (default: the system
        temporary folder); removed at the end.

    Returns
    -------
    pandas.DataFrame of shape (n_checklists, n_fields + n_species)
        Sorted by ``checklist_id``. Columns: ``checklist_id``, ``n_sampling_events``,
        ``sampling_event_ids``, ``observer_ids``, ``latitude``, ``longitude``,
        ``observation_date``, the effort fields present (``time_observations_started``,
        ``duration_minutes``, ``effort_distance_km``, ``number_observers``,
        ``protocol``, ...), then one uint8 column per species (scientific name).
        ``df.attrs["species"]`` lists the species columns.

    Raises
    ------
    InputDataError
        Missing columns (listed), malformed dates / coordinates / counts (file and
        line), EBD checklists absent from the sampling file (file and line).
    """
    f = filters or EbirdFilters()
    if species is not None:
        species = [str(s) for s in species]
        f = replace(f, species=tuple(dict.fromkeys((f.species or ()) + tuple(species))))
    ebd_path = Path(ebd_path)
    ecols = read_header(ebd_path, EBD_REQUIRED, "EBD")
    files = {"ebd": ebd_path}
    scols: list[str] | None = None
    if sampling_path is not None:
        sampling_path = Path(sampling_path)
        scols = read_header(sampling_path, SAMPLING_REQUIRED, "sampling")
        files["sampling"] = sampling_path
    if taxonomy is not None:
        taxonomy = Path(taxonomy)
        if not taxonomy.is_file():
            raise InputDataError(f"taxonomy file {taxonomy} does not exist")

    import shutil
    import tempfile

    workdir = tempfile.mkdtemp(prefix="jsdm_hot_ebird_", dir=tmpdir)
    con = _connect(threads, memory_limit, workdir)
    try:
        # ---- checklists
        if scols is not None:
            cl_sql = _checklist_sql(sampling_path, scols, f, "sampling", "sampling", one_row_per_event=True)
        else:
            logger.warning(
                "no sampling-event file: checklists are taken from %s itself; if that extract was "
                "restricted to some species, checklists without them are missing (absences lost)", ebd_path)
            approved = [f"{_q('APPROVED')} = '1'"] if f.approved and "APPROVED" in ecols else []
            cl_sql = _checklist_sql(ebd_path, ecols, f, "ebd", "EBD", approved)
        # row of each checklist in the (sorted) output; sorting the ids alone is cheap
        if scols is not None:
            _run(con, f"""CREATE TABLE ci AS SELECT checklist_id, n_single,
                          (row_number() OVER (ORDER BY checklist_id) - 1)::INTEGER AS r FROM ({cl_sql['ids']})""",
                 files)
            final = cl_sql["checklists"]
            dup = con.execute("SELECT checklist_id FROM ci WHERE n_single > 1 LIMIT 1").fetchone()
            if dup:
                raise InputDataError(
                    f"sampling-event file {sampling_path} lists sampling event {dup[0]!r} more than once "
                    f"(line {_find_checklist(sampling_path, dup[0])[0]}); each sampling event must appear once"
                )
        else:
            _run(con, f"CREATE TABLE checklists AS {cl_sql['checklists']}", files)
            con.execute("CREATE TABLE ci AS SELECT checklist_id, "
                        "(row_number() OVER (ORDER BY checklist_id) - 1)::INTEGER AS r FROM checklists")
            final = "SELECT * FROM checklists"

        # ---- detections (checklist, species)
        where = _checklist_where(f, ecols, ebd_path, "EBD")
        if f.approved and "APPROVED" in ecols:
            where.append(f"{_q('APPROVED')} = '1'")
        where.append(f"lower(coalesce({_q('CATEGORY')}, '')) <> 'domestic'")
        common = f"e.{_q('COMMON NAME')}" if "COMMON NAME" in ecols else "NULL"
        if taxonomy is not None:
            src = f"""
                SELECT e.checklist_id, e.sei, e.sci, t.name IS NULL AS unmatched, t.species,
                       coalesce(t.species_common, e.common) AS common
                FROM (SELECT {_cid(ecols)} AS checklist_id, {_checked(SEI, 'id', 'ebd')} AS sei, {_q('SCIENTIFIC NAME')} AS sci,
                             {common.replace('e.', '')} AS common, {_checked('OBSERVATION COUNT', 'count', 'ebd')} AS ok,
                             {_checked('OBSERVATION DATE', 'date', 'ebd')} AS d
                      FROM {_scan(ebd_path, ecols)} WHERE {' AND '.join(where)}) e
                LEFT JOIN ({_taxonomy_sql(taxonomy)}) t ON e.sci = t.name
                WHERE e.ok AND e.d IS NOT NULL
            """
        else:
            src = f"""
                SELECT {_cid(ecols)} AS checklist_id, {_checked(SEI, 'id', 'ebd')} AS sei, {_q('SCIENTIFIC NAME')} AS sci,
                       FALSE AS unmatched,
                       CASE WHEN {_in(f"lower({_q('CATEGORY')})", _ROLLUP_KEEP)} THEN {_q('SCIENTIFIC NAME')} END AS species,
                       {common.replace('e.', '')} AS common
                FROM {_scan(ebd_path, ecols)}
                WHERE {' AND '.join(where)} AND {_checked('OBSERVATION COUNT', 'count', 'ebd')}
                      AND {_checked('OBSERVATION DATE', 'date', 'ebd')} IS NOT NULL
            """
        sp_filter = "TRUE"
        if f.species:
            sp_filter = f"({_in('species', f.species)} OR {_in('common', f.species)})"
        # one streaming pass: each kept EBD row -> its checklist's row number, gathered per species.
        # Grouping by species (few groups) instead of DISTINCT (checklist, species) pairs keeps the
        # hash table tiny; repeated rows just set the same 1 twice.
        det = _run(con, f"""
            SELECT d.species, CASE WHEN d.unmatched THEN d.sci END AS unmatched_name,
                   any_value(d.common) AS common,
                   list(ci.r) FILTER (WHERE ci.r IS NOT NULL) AS rows,
                   count(*) FILTER (WHERE ci.r IS NULL) AS n_missing,
                   min(d.checklist_id) FILTER (WHERE ci.r IS NULL) AS missing
            FROM ({src}) d LEFT JOIN ci USING (checklist_id)
            WHERE (d.species IS NOT NULL AND {sp_filter}) OR d.unmatched
            GROUP BY ALL""", files).fetchall()
        # via Arrow: strings go to pandas' Arrow-backed ``str`` columns without one Python
        # object per cell (a plain ``.df()`` briefly needs several times the memory)
        tbl = _run(con, f"SELECT checklist_id, n_sampling_events, sampling_event_ids, observer_ids, "
                        f"unnest(f) FROM ({final}) ORDER BY checklist_id", files, arrow=True)
        cl = tbl.to_pandas(types_mapper=_arrow_string_mapper())
        del tbl
    finally:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)

    unmatched = sorted({u for _, u, *_ in det if u is not None})
    if unmatched:
        logger.warning("%d scientific name(s) of %s are not in taxonomy %s and were dropped, e.g. %s",
                       len(unmatched), ebd_path, taxonomy, unmatched[:10])
    det = [t for t in det if t[0] is not None and t[1] is None]
    n_missing = sum(t[4] for t in det)
    if n_missing and scols is not None:
        examples = [t[5] for t in det if t[5] is not None]
        if not examples:  # rows without any checklist id
            found = _find_bad_line(Path(ebd_path), SEI, "id")
            where = f"line {found[0]}" if found else "a line"
            raise InputDataError(f"{ebd_path}, {where}: column '{SEI}' is empty; expected {_EXPECT['id'][0]}")
        example = min(examples)
        line, sei = _find_checklist(ebd_path, example)
        raise InputDataError(
            f"{n_missing} observation row(s) of EBD file {ebd_path} belong to checklists that are not in "
            f"sampling-event file {sampling_path} (after the same filters), e.g. sampling event {sei!r} at "
            f"line {line}; are the two files from the same extract and filtered alike?"
        )
    rows_of = {t[0]: t[3] or [] for t in det}
    found = sorted(rows_of)
    if f.species:
        name_of = {t[2]: t[0] for t in det if t[2] is not None}
        sp = list(dict.fromkeys(name_of.get(s, s) for s in f.species))
        never = sorted(set(sp) - set(found))
        if never:
            logger.warning("requested species %s are never detected in %s; their columns are all 0", never, ebd_path)
    else:
        sp = found
    n, L = len(cl), len(sp)
    Y = np.zeros((n, L), dtype=np.uint8)
    for jj, name in enumerate(sp):
        r = np.asarray(rows_of.get(name, []), dtype=np.int64)
        Y[r, jj] = 1
    for c in ("latitude", "longitude", "duration_minutes", "effort_distance_km", "number_observers"):
        if c in cl:
            cl[c] = cl[c].astype(float)
    out = pd.concat([cl.reset_index(drop=True), pd.DataFrame(Y, columns=sp)], axis=1)
    out.attrs["species"] = list(sp)
    logger.info("zero-filled %d checklists x %d species from %s", n, L, ebd_path)
    return out


# --------------------------------------------------------------------------- effort covariates
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


# --------------------------------------------------------------------------- CommunityData
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
        msg = (f"{int(bad.sum())} of {len(wide)} checklists from {ebd_path} lack effort values "
               f"(e.g. checklist {wide['checklist_id'].iloc[first]!r}: {cols})")
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
