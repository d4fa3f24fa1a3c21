"""SQL pieces of the DuckDB zero-fill engine (:mod:`jsdm_hot.data.ebird.zerofill`).

Quoting (:func:`_q`, :func:`_lit`), the streaming ``read_csv`` scan of a
tab-separated file (:func:`_scan`), checked casts that raise a tagged error
naming file, column and expected form (:func:`_checked`; :func:`_run` turns
them into :class:`~jsdm_hot.errors.InputDataError` with the file line), the
``WHERE`` clause of :class:`~jsdm_hot.data.ebird.filters.EbirdFilters`, the
checklist table with shared checklists collapsed, and the taxonomy roll-up.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from jsdm_hot.data.ebird.files import (
    _CHECKLIST_FIELDS,
    _EXPECT,
    _TRUE,
    GROUP,
    PROTOCOL_ALIASES,
    SEI,
    _find_bad_line,
)
from jsdm_hot.data.ebird.filters import EbirdFilters
from jsdm_hot.errors import InputDataError


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
        # the word anywhere, as effort_covariates: 'Stationary', 'Stationary (2 band, 25m)', 'eBird - Stationary Count'
        stationary = f"regexp_matches(lower({_q(proto)}), '\\bstationary\\b')" if proto else "FALSE"
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
