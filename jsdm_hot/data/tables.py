"""Wide site × (covariates + species) tables in and out: CSV, TSV and Parquet.

A wide table has one row per site: a site id column, longitude and latitude,
covariate columns and one 0/1 column per species. Which column is what follows
:meth:`jsdm_hot.data.community.CommunityData.from_frame`: explicit
``species_cols`` or ``species_prefix`` win; otherwise every all-0/1 integer
column (other than the id and coordinates) is a species, and the remaining
numeric columns are covariates.

Errors name the file and, for bad values, the column and the 1-based data row
(the header is not counted; data row 1 is line 2 of a CSV file).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError

__all__ = ["read_wide_csv", "write_wide_csv", "read_table", "atomic_target"]

logger = logging.getLogger(__name__)

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip", ".zst": "zstd"}
_TEXT_KINDS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_PARQUET_KINDS = {".parquet", ".pq"}


def _kind(path: Path) -> tuple[str, str | None]:
    """(table suffix, compression) of ``path``; e.g. ``data.csv.gz`` -> (".csv", "gzip")."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in _COMPRESSION:
        compression = _COMPRESSION[suffixes.pop()]
    kind = suffixes[-1] if suffixes else ""
    if kind not in _TEXT_KINDS and kind not in _PARQUET_KINDS:
        raise InputDataError(
            f"cannot tell the table format of {path}: expected a name ending in .csv, .tsv, .tab "
            "(optionally compressed: .gz, .bz2, .xz, .zip, .zst) or .parquet"
        )
    if kind in _PARQUET_KINDS and compression:
        raise InputDataError(f"{path}: Parquet files are compressed internally; drop the {path.suffix} suffix")
    return kind, compression


@contextlib.contextmanager
def atomic_target(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    final = Path(path)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def _line_to_row(message: str) -> str:
    """Rewrite pandas' 'line N' (1-based file line, header = line 1) as a data row."""
    m = re.search(r"line (\d+)", message)
    if not m:
        return message
    line = int(m.group(1))
    return f"data row {line - 1} (line {line} of the file): {message}"


def read_table(
    path: str | os.PathLike, *, dtype: dict[str, object] | None = None
) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet table into a DataFrame.

    CSV/TSV use pandas' pyarrow engine when pyarrow is installed (falling back
    to the C engine, whose messages carry line numbers, when pyarrow fails).
    Parquet needs pyarrow.

    Parameters
    ----------
    path : path
        ``.csv``, ``.tsv``, ``.tab`` (optionally ``.gz``/``.bz2``/``.xz``/``.zip``/``.zst``)
        or ``.parquet``/``.pq``.
    dtype : dict, optional
        Column types for text files (e.g. ``{"site_id": str}``); columns
        absent from the file are ignored.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    InputDataError
        Missing or empty file, unknown format, or content that cannot be parsed;
        the message names the file.
    """
    p = Path(path)
    if not p.exists():
        raise InputDataError(f"file not found: {p}")
    if p.is_dir():
        raise InputDataError(f"{p} is a directory, expected a table file")
    kind, compression = _kind(p)
    if p.stat().st_size == 0:
        raise InputDataError(f"{p} is empty (0 bytes); expected a header row and one row per site")
    if kind in _PARQUET_KINDS:
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - pyarrow is a declared extra
            raise InputDataError(f"reading {p} needs pyarrow (pip install 'jsdm-hot[ebird]')") from exc
        try:
            return pq.read_table(p).to_pandas()
        except Exception as exc:
            raise InputDataError(f"cannot read {p} as Parquet: {exc}") from exc

    sep = _TEXT_KINDS[kind]
    try:
        header = pd.read_csv(p, sep=sep, nrows=0, compression=compression)
    except pd.errors.EmptyDataError:
        raise InputDataError(f"{p} is empty (no header row); expected a header row and one row per site") from None
    except Exception as exc:
        raise InputDataError(f"cannot parse the header of {p}: {exc}") from exc
    dtypes = {c: t for c, t in (dtype or {}).items() if c in header.columns}
    try:
        import pyarrow  # noqa: F401

        engine = "pyarrow"
    except ImportError:  # pragma: no cover
        engine = "c"
    df = None
    if engine == "pyarrow":
        try:
            df = pd.read_csv(p, sep=sep, engine="pyarrow", dtype=dtypes or None, compression=compression)
        except Exception as exc:  # the C engine gives better (line-numbered) messages
            logger.debug("pyarrow could not parse %s (%s); retrying with the C engine", p, exc)
    if df is None:
        try:
            df = pd.read_csv(p, sep=sep, dtype=dtypes or None, compression=compression)
        except Exception as exc:
            raise InputDataError(f"cannot parse {p}: {_line_to_row(str(exc))}") from exc
    return df


def read_wide_csv(
    path: str | os.PathLike,
    *,
    species_cols: Sequence[str] | None = None,
    species_prefix: str | None = None,
    covariate_cols: Sequence[str] | None = None,
    site_col: str | None = "site_id",
    lon_col: str | None = "lon",
    lat_col: str | None = "lat",
    crs: str | None = "EPSG:4326",
    require_species: bool = True,
) -> CommunityData:
    """Read a wide site table (CSV, TSV or Parquet) into a validated CommunityData.

    Parameters
    ----------
    path : path
        The table; see :func:`read_table` for the formats.
    species_cols : sequence of str, optional
        The species columns. Default: the rule of
        :meth:`CommunityData.from_frame` (every all-0/1 integer column).
    species_prefix : str, optional
        Species are the columns whose names start with it.
    covariate_cols : sequence of str, optional
        The covariates. Default: every other numeric column.
    site_col, lon_col, lat_col : str or None
        Site id and coordinate columns; absent columns are allowed (site ids
        then default to ``site_<row>``, and there are no coordinates). The site
        id column is read as text, so ``"007"`` stays ``"007"``.
    crs : str, default="EPSG:4326"
    require_species : bool, default=True
        If False, a table with no species columns (sites to predict at) is accepted.

    Returns
    -------
    CommunityData
        ``X`` of shape (n_sites, n_features), ``Y`` of shape (n_sites, n_species)
        (None without species columns), ``source`` = the path.

    Raises
    ------
    InputDataError
        Naming the file: missing or empty file, no data rows, unparsable content,
        named columns that are absent, no species columns, a species value other
        than 0/1 or a non-finite covariate (with column and 1-based data row),
        duplicate site ids.
    """
    p = Path(path)
    df = read_table(p, dtype={site_col: str} if site_col else None)
    if len(df) == 0:
        raise InputDataError(f"{p} has a header but no data rows")
    data = CommunityData.from_frame(
        df,
        species_cols=species_cols,
        species_prefix=species_prefix,
        covariate_cols=covariate_cols,
        site_col=site_col,
        lon_col=lon_col,
        lat_col=lat_col,
        crs=crs,
        source=str(p),
        require_species=require_species,
    )
    logger.info(
        "read %s: %d sites, %d covariates %s, %d species%s",
        p, data.n_sites, data.n_features, list(data.covariates), data.n_species,
        "" if data.coords is not None else ", no coordinates",
    )
    return data


def write_wide_csv(data: CommunityData, path: str | os.PathLike) -> Path:
    """Write ``data`` as a wide table, atomically (temporary file, then ``os.replace``).

    Columns: site_id, lon, lat (when there are coordinates), covariates, one 0/1
    column per species, then any extra columns (see :meth:`CommunityData.to_frame`).
    Floats are written at full precision, so :func:`read_wide_csv` gives back
    the same values. A ``.tsv``/``.tab`` name writes tab-separated text, a
    ``.parquet`` name Parquet, and a ``.gz`` (etc.) suffix compresses.

    Parameters
    ----------
    data : CommunityData
    path : path

    Returns
    -------
    Path
        ``path``.
    """
    p = Path(path)
    kind, compression = _kind(p)
    if not p.parent.is_dir():
        raise InputDataError(f"cannot write {p}: the folder {p.parent} does not exist")
    df = data.to_frame()
    with atomic_target(p) as tmp:
        if kind in _PARQUET_KINDS:
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, sep=_TEXT_KINDS[kind], index=False, compression=compression, lineterminator="\n")
    logger.info("wrote %s (%d sites, %d species)", p, data.n_sites, data.n_species)
    return p
