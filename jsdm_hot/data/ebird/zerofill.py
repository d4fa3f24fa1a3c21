"""Zero-filling in DuckDB: EBD + sampling-event file → one 0/1 column per species (:func:`zero_fill`).

Everything heavy runs in DuckDB (imported lazily) over a streaming scan; see
the notes of :mod:`jsdm_hot.data.ebird` for the conventions and the memory
figures.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.ebird.files import (
    _EXPECT,
    _ROLLUP_KEEP,
    EBD_REQUIRED,
    SAMPLING_REQUIRED,
    SEI,
    _find_bad_line,
    _find_checklist,
    read_header,
)
from jsdm_hot.data.ebird.filters import EbirdFilters
from jsdm_hot.data.ebird.sql import _checked, _checklist_sql, _checklist_where, _cid, _in, _q, _run, _scan, _taxonomy_sql
from jsdm_hot.errors import InputDataError

__all__ = ["zero_fill"]

logger = logging.getLogger(__name__)

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
