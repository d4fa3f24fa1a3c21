"""Reading any site or covariate table: CSV, TSV (optionally compressed) and Parquet, with clear errors.

The one table reader of jsdm-hot: wide site tables, covariate tables, species
lists and grid tables all go through :func:`read_table`. Errors name the file
and, for unparsable content, the 1-based data row (the header is not counted;
data row 1 is line 2 of a CSV file).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pandas as pd

from jsdm_hot.errors import InputDataError

__all__ = ["read_table", "table_kind", "TEXT_KINDS", "PARQUET_KINDS"]

logger = logging.getLogger(__name__)

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip", ".zst": "zstd"}
TEXT_KINDS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
PARQUET_KINDS = {".parquet", ".pq"}


def table_kind(path: Path) -> tuple[str, str | None]:
    """(table suffix, compression) of ``path``; e.g. ``data.csv.gz`` -> (".csv", "gzip")."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in _COMPRESSION:
        compression = _COMPRESSION[suffixes.pop()]
    kind = suffixes[-1] if suffixes else ""
    if kind not in TEXT_KINDS and kind not in PARQUET_KINDS:
        raise InputDataError(
            f"cannot tell the table format of {path}: expected a name ending in .csv, .tsv, .tab "
            "(optionally compressed: .gz, .bz2, .xz, .zip, .zst) or .parquet"
        )
    if kind in PARQUET_KINDS and compression:
        raise InputDataError(f"{path}: Parquet files are compressed internally; drop the {path.suffix} suffix")
    return kind, compression


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
    kind, compression = table_kind(p)
    if p.stat().st_size == 0:
        raise InputDataError(f"{p} is empty (0 bytes); expected a header row and one row per site")
    if kind in PARQUET_KINDS:
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - pyarrow is a declared extra
            raise InputDataError(f"reading {p} needs pyarrow (pip install 'jsdm-hot[ebird]')") from exc
        try:
            return pq.read_table(p).to_pandas()
        except Exception as exc:
            raise InputDataError(f"cannot read {p} as Parquet: {exc}") from exc

    sep = TEXT_KINDS[kind]
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
