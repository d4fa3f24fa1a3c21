"""Partial checklists: what was recorded at some sites, for predictions given it.

A partial checklist is a table with a site id column and some species columns
holding 1 (recorded present), 0 (recorded absent) or an empty cell (unknown).
:func:`read_partial_checklist` matches it to the sites and species of a
prediction: rows by site id (compared as text, as every join of jsdm-hot),
columns by species name. A species the table lacks, or a site it lacks, is
unknown everywhere there. The result is what
:meth:`jsdm_hot.HotVAE.predict_proba` takes as ``given`` (and ``jsdm-hot predict
--given``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.columns import SITE_NAMES
from jsdm_hot.errors import InputDataError

__all__ = ["read_partial_checklist"]

logger = logging.getLogger(__name__)


def _site_column(df: pd.DataFrame, site_col: str | None, where: str) -> str:
    cols = [str(c) for c in df.columns]
    if site_col is not None:
        if site_col not in cols:
            raise InputDataError(f"partial checklist {where} has no site id column {site_col!r}; the columns are {cols}")
        return site_col
    lower = {c.lower(): c for c in reversed(cols)}
    found = next((lower[n] for n in SITE_NAMES if n in lower), None)
    if found is None:
        raise InputDataError(f"partial checklist {where} has no site id column (one of {', '.join(SITE_NAMES)}); "
                             f"name it with --site-col (site_col); the columns are {cols}")
    return found


def _values(col: pd.Series, name: str, where: str) -> np.ndarray:
    """A species column as floats 1 / 0 / NaN; anything else is an error naming the row."""
    num = pd.to_numeric(col, errors="coerce").astype(np.float64)
    given = col.notna() & (col.astype(str).str.strip() != "")
    bad = given.to_numpy() & ~np.isin(num.to_numpy(), (0.0, 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        v = col.iloc[i]
        v = v.item() if isinstance(v, np.generic) else v
        raise InputDataError(f"species column {name!r} of partial checklist {where} has value {v!r} at "
                             "data row {}; use 1 (recorded present), 0 (recorded absent) or an empty cell "
                             "(unknown)".format(i + 1))
    return np.where(given.to_numpy(), num.to_numpy(), np.nan)


def read_partial_checklist(
    source: str | Path | pd.DataFrame,
    site_ids: Sequence[object],
    species: Sequence[str],
    *,
    site_col: str | None = None,
) -> pd.DataFrame:
    """A partial checklist table aligned to the prediction sites and the model's species.

    Parameters
    ----------
    source : path or DataFrame
        CSV / TSV / Parquet table (see :func:`jsdm_hot.data.readers.read_table`)
        with a site id column and species columns holding 1, 0 or empty.
    site_ids : sequence of length n_sites
        Ids of the sites predicted at, in prediction order.
    species : sequence of str of length n_species
        The model's species.
    site_col : str, optional
        The table's site id column (default: the first of
        :data:`~jsdm_hot.data.columns.SITE_NAMES`, case-insensitive).

    Returns
    -------
    pandas.DataFrame of shape (n_sites, n_species)
        Indexed by ``site_ids`` (as text), one column per species in ``species``
        order; 1.0 / 0.0 where recorded, NaN where unknown (a species or site the
        table lacks, or an empty cell).

    Raises
    ------
    InputDataError
        No site id column, an empty or repeated site id, a site not among
        ``site_ids``, a column that is not one of ``species``, or a value other
        than 0, 1 or empty; the message names the file, column and row.
    """
    where = "<table>" if isinstance(source, pd.DataFrame) else str(source)
    if isinstance(source, pd.DataFrame):
        df = source.reset_index(drop=True)
    else:
        from jsdm_hot.data.readers import read_table

        guesses = [site_col] if site_col else [*SITE_NAMES, *(n.upper() for n in SITE_NAMES)]
        df = read_table(source, dtype={c: str for c in guesses})
    site = _site_column(df, site_col, where)
    ids = df[site]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    if empty.any():
        raise InputDataError(f"site id column {site!r} of partial checklist {where} is empty at data row "
                             f"{int(np.flatnonzero(empty.to_numpy())[0]) + 1}")
    ids = ids.astype(str).str.strip()
    dup = ids.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy() & (ids == ids[dup].iloc[0]).to_numpy()) + 1
        raise InputDataError(f"site id {ids[dup].iloc[0]!r} appears twice in partial checklist {where} (data rows "
                             f"{rows[0]} and {rows[1]}); give one row per site")
    targets = pd.Index([str(s) for s in site_ids])
    unknown_sites = ids[~ids.isin(targets)]
    if len(unknown_sites):
        raise InputDataError(f"partial checklist {where} has {len(unknown_sites)} site id(s) that are not among the "
                             f"sites predicted at: {list(unknown_sites[:5])}; give checklists only for those sites")
    cols = [str(c) for c in df.columns if str(c) != site]
    names = [str(s) for s in species]
    unknown = [c for c in cols if c not in set(names)]
    if unknown:
        raise InputDataError(f"partial checklist {where} has columns that are not species of the model: {unknown[:5]}"
                             f"{' ...' if len(unknown) > 5 else ''}; expected the site id column and species columns "
                             f"(the model's species: {names[:5]}{' ...' if len(names) > 5 else ''})")
    values = pd.DataFrame({c: _values(df[c], c, where) for c in cols}, index=pd.Index(ids, name="site_id"))
    out = values.reindex(index=targets, columns=names).astype(np.float64)
    out.index.name = "site_id"
    logger.info("partial checklist %s: %d of %d sites, %d of %d species, %d recorded values", where, len(ids),
                len(targets), len(cols), len(names), int(np.isfinite(out.to_numpy()).sum()))
    return out
