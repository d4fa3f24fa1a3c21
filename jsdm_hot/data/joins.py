"""Joining covariate tables onto sites: the one join of jsdm-hot, with one meaning.

A covariate table (per checklist, per grid cell, per site) is joined onto the
sites **strictly, many-to-one, by a key compared as text**:

* every site must find its key in the table (a site without covariates is an
  error naming the first missing keys, never a silent row of NaN);
* a key may appear only once in the table;
* keys are compared as text after normalisation, so a numeric id in one table
  and the same id written as text in the other match (``7``, ``7.0`` and
  ``"7"`` are one key); surrounding spaces are ignored;
* a column present on both sides must hold the same values (then it is kept
  once, e.g. a cell id repeated in a checklist table and a grid table);
  otherwise the join is refused.

:func:`join_covariate_tables` works on the raw table before column roles are
decided (what ``jsdm-hot fit DATA --covariates checklists.csv:checklist_id
--covariates grid.csv:grid_row`` does, chaining tables), and remembers which
file every joined column came from so errors can name it.
:func:`join_table` adds a table's columns to an existing CommunityData.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.readers import read_table
from jsdm_hot.errors import InputDataError

__all__ = ["CovariateTable", "key_text", "match_keys", "join_covariate_tables", "join_table"]

logger = logging.getLogger(__name__)


def key_text(values: pd.Series) -> pd.Series:
    """Join keys as normalised text: integral numbers without ``.0``, text stripped."""
    s = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_bool_dtype(s):
        return s.astype(str)
    if pd.api.types.is_numeric_dtype(s):
        num = pd.to_numeric(s)
        if num.notna().all() and np.all(np.mod(num.to_numpy(dtype=float), 1) == 0):
            return num.astype("int64").astype(str)
        return num.astype(str)
    text = s.astype(str).str.strip()
    as_num = pd.to_numeric(text, errors="coerce")
    integral = as_num.notna() & (np.mod(as_num.fillna(0.5).to_numpy(dtype=float), 1) == 0)
    return text.where(~integral, as_num.where(integral, 0).astype("int64").astype(str))


def match_keys(keys: pd.Series, table_keys: pd.Series, *, on: str, where: str = "") -> np.ndarray:
    """Row of the table matching each key (strict many-to-one, see the module docstring).

    Parameters
    ----------
    keys : Series of length n_sites
    table_keys : Series of length n_table_rows
    on : str
        The key column, for messages.
    where : str
        `` in FILE`` for messages.

    Returns
    -------
    ndarray of shape (n_sites,), int
    """
    tk = key_text(table_keys)
    dup = tk[tk.duplicated()]
    if len(dup):
        raise InputDataError(f"key {dup.iloc[0]!r} appears more than once in column {on!r}{where}; "
                             "a covariate table needs one row per key")
    missing_key = pd.Series(table_keys).isna().to_numpy()
    if missing_key.any():
        raise InputDataError(f"column {on!r}{where} is empty at row {int(np.flatnonzero(missing_key)[0]) + 1}")
    k = key_text(keys)
    idx = pd.Index(tk).get_indexer(k)
    if (idx < 0).any():
        bad = k[idx < 0].unique()[:5].tolist()
        raise InputDataError(f"{int((idx < 0).sum())} of {len(k)} sites have a {on!r} not found{where}, e.g. {bad}; "
                             "every site needs a row in each covariate table")
    return idx


@dataclass(frozen=True)
class CovariateTable:
    """A covariate table to join: its file (or frame) and key column.

    Attributes
    ----------
    table : DataFrame or path
    on : str
        Key column, present in the table and in the data it is joined onto.
    source : str, optional
        Name for messages (the path when ``table`` is one).
    """

    table: pd.DataFrame | str | Path
    on: str
    source: str | None = None

    def frame(self) -> tuple[pd.DataFrame, str]:
        """The table as a DataFrame, and its name for messages."""
        if isinstance(self.table, pd.DataFrame):
            return self.table, self.source or "the covariate table"
        return read_table(self.table, dtype={self.on: str}), str(self.table)


def join_covariate_tables(df: pd.DataFrame, tables: Sequence[CovariateTable], *,
                          source: str | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Join covariate tables onto a site table, in order (a later table may key on an earlier one's column).

    Parameters
    ----------
    df : DataFrame
        One row per site.
    tables : sequence of CovariateTable
    source : str, optional
        Name of ``df``'s file, for messages.

    Returns
    -------
    joined : DataFrame
        ``df`` with every table's columns except its key appended (same rows, same order).
    provenance : dict of str to str
        Joined column → the file it came from.

    Raises
    ------
    InputDataError
        A key column missing on either side, duplicated or missing keys, or a
        column name present in both tables.
    """
    out = df.reset_index(drop=True)
    provenance: dict[str, str] = {}
    for t in tables:
        frame, name = t.frame()
        for what, table, nm in (("the data", out, source or "the data"), ("the covariate table", frame, name)):
            if t.on not in table.columns:
                raise InputDataError(f"join column {t.on!r} is not in {what} ({nm}); its columns are {list(table.columns)}")
        idx = match_keys(out[t.on], frame[t.on], on=t.on, where=f" in {name}")
        new = [c for c in frame.columns if c != t.on]
        rows = frame[new].iloc[idx].reset_index(drop=True)
        clash = [c for c in new if c in out.columns]
        differ = [c for c in clash if not key_text(out[c]).equals(key_text(rows[c]))]
        if differ:
            raise InputDataError(f"columns {differ} of {name} already exist in the data ({source or 'the data'}) with "
                                 "other values; rename or drop them in one of the tables")
        if clash:
            logger.info("columns %s of %s repeat the data's values; kept once", clash, name)
        new = [c for c in new if c not in clash]
        out = pd.concat([out, rows[new]], axis=1)
        provenance.update({c: name for c in new})
        logger.info("joined %d columns of %s on %r", len(new), name, t.on)
    return out, provenance


def join_table(
    data: CommunityData,
    table: pd.DataFrame | str | Path,
    *,
    on: str,
    key: Sequence | str | None = None,
    columns: Sequence[str] | None = None,
) -> CommunityData:
    """Join tabular covariates (e.g. per grid cell) onto the sites of a CommunityData.

    Parameters
    ----------
    data : CommunityData
    table : DataFrame or path to a CSV / parquet file
        One row per key value.
    on : str
        Key column of ``table``.
    key : sequence of length n_sites, or str, optional
        The sites' key values, or the name of a ``data.extra`` column holding them.
        Default: the site ids.
    columns : sequence of str, optional
        Covariate columns to take (default: every numeric column but ``on``).

    Returns
    -------
    CommunityData
        ``data`` with the table's columns appended to ``X``.

    Raises
    ------
    InputDataError
        Missing key column, duplicated keys in the table, sites whose key is not in
        the table (the first few are named), non-numeric or missing values.
    """
    frame, name = CovariateTable(table, on).frame()
    where = f" in {name}"
    if on not in frame.columns:
        raise InputDataError(f"key column {on!r} not found{where}; the columns are {list(frame.columns)}")
    if key is None:
        keys = pd.Series(data.site_ids)
    elif isinstance(key, str):
        if data.extra is None or key not in data.extra.columns:
            raise InputDataError(f"{data!r} has no extra column {key!r} to join on")
        keys = data.extra[key].reset_index(drop=True)
    else:
        keys = pd.Series(list(key))
        if len(keys) != data.n_sites:
            raise InputDataError(f"{len(keys)} keys for {data.n_sites} sites")
    if columns is None:
        columns = [c for c in frame.columns if c != on and pd.api.types.is_numeric_dtype(frame[c])]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(f"columns {missing} not found{where}; the columns are {list(frame.columns)}")
    clash = [c for c in columns if c in data.covariates]
    if clash:
        raise InputDataError(f"covariates {clash}{where} already exist in {data!r}")
    idx = match_keys(keys, frame[on], on=on, where=where)
    vals = frame[list(columns)].iloc[idx].reset_index(drop=True)
    return CommunityData.from_arrays(
        np.column_stack([data.X, vals.to_numpy()]) if len(columns) else data.X, data.Y, site_ids=data.site_ids,
        species=data.species, covariates=list(data.covariates) + list(columns), coords=data.coords,
        crs=data.crs, source=name, extra=data.extra,
    )
