"""Wide site × (covariates + species) tables in and out: CSV, TSV and Parquet.

A wide table has one row per site: a site id column, longitude and latitude,
covariate columns and one 0/1 column per species. Which column is what follows
the one column rule of :class:`jsdm_hot.data.columns.ColumnSpec`.

Errors name the file and, for bad values, the column and the 1-based data row
(the header is not counted; data row 1 is line 2 of a CSV file). Files are read
by :func:`jsdm_hot.data.readers.read_table`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.columns import SITE_NAMES, ColumnSpec
from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.joins import CovariateTable
from jsdm_hot.data.readers import PARQUET_KINDS, TEXT_KINDS, read_table, table_kind
from jsdm_hot.errors import InputDataError
from jsdm_hot.io import atomic_target

__all__ = ["read_wide_csv", "write_wide_csv", "species_in_table"]

logger = logging.getLogger(__name__)

def read_wide_csv(
    path: str | os.PathLike,
    columns: ColumnSpec | None = None,
    *,
    covariates: Sequence[CovariateTable] = (),
    crs: str | None = "EPSG:4326",
    require_species: bool = True,
    **options,
) -> CommunityData:
    """Read a wide site table (CSV, TSV or Parquet), optionally joined with covariate tables.

    Parameters
    ----------
    path : path
        The table; see :func:`read_table` for the formats.
    columns : ColumnSpec, optional
        Column roles (see :mod:`jsdm_hot.data.columns` for what is guessed when
        left open); or give its fields as options (``species_cols``,
        ``species_prefix``, ``covariate_cols``, ``site_col``, ``lon_col``,
        ``lat_col``, ``exclude``). The site id column is read as text, so
        ``"007"`` stays ``"007"``.
    covariates : sequence of CovariateTable
        Tables joined in order, strictly, by key (:mod:`jsdm_hot.data.joins`);
        their columns are covariates, never species.
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
        named columns that are absent, no species columns, an ambiguous column
        guess, a species value other than 0/1 or a missing/non-finite covariate
        (with its column, the file it came from and the 1-based data row),
        duplicate site ids, failed joins.
    """
    from jsdm_hot.data.joins import join_covariate_tables

    p = Path(path)
    if columns is None:
        columns = ColumnSpec.from_options(**options)
    elif options:
        raise InputDataError(f"give column roles either as a ColumnSpec or as options, not both ({sorted(options)})")
    df = read_table(p, dtype={c: str for c in (columns.site, *SITE_NAMES) if c})
    if len(df) == 0:
        raise InputDataError(f"{p} has a header but no data rows")
    df, provenance = join_covariate_tables(df, covariates, source=str(p))
    roles = columns.resolve(df, source=str(p), require_species=require_species, covariate_columns=list(provenance))
    if roles.guessed_covariates:
        empty = {c: int(df[c].isna().sum()) for c in roles.covariates if df[c].isna().any()}
        if empty:
            logger.warning("left out of the covariates because they have empty cells (name covariates with "
                           "--covariate-cols to choose): %s", ", ".join(
                               f"{c} ({n} empty, from {provenance.get(c, p)})" for c, n in empty.items()))
            roles = roles.without_covariates(list(empty))
    _check_missing_covariates(df, roles.covariates, roles.site, provenance, str(p))
    data = CommunityData.from_frame(
        df,
        ColumnSpec(species=roles.species, covariates=roles.covariates, site=roles.site, lon=roles.lon, lat=roles.lat),
        crs=crs,
        source=str(p),
        require_species=require_species,
    )
    logger.info(
        "read %s: %d sites, %d covariates, %d species%s",
        p, data.n_sites, data.n_features, data.n_species, "" if data.coords is not None else ", no coordinates",
    )
    return data


def _check_missing_covariates(df: pd.DataFrame, covariates: Sequence[str], site: str | None,
                              provenance: dict[str, str], source: str) -> None:
    """Raise for an empty covariate cell, naming the file the column came from (not always DATA)."""
    for c in covariates:
        empty = np.flatnonzero(df[c].isna().to_numpy())
        if empty.size:
            i = int(empty[0])
            where = provenance.get(c, source)
            site_txt = f" (site {df[site].iloc[i]!r})" if site else ""
            hint = ""
            if "distance" in c.lower():
                hint = (" Stationary checklists have no distance: fill it with 0 km (the eBird best-practice "
                        "convention) or leave the column out with --covariate-cols.")
            raise InputDataError(
                f"covariate column {c!r} from {where} is empty at data row {i + 1}{site_txt} ({empty.size} empty "
                f"cells in all); covariates must be numbers — impute or drop them first.{hint}")


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
    kind, compression = table_kind(p)
    if not p.parent.is_dir():
        raise InputDataError(f"cannot write {p}: the folder {p.parent} does not exist")
    df = data.to_frame()
    with atomic_target(p) as tmp:
        if kind in PARQUET_KINDS:
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, sep=TEXT_KINDS[kind], index=False, compression=compression, lineterminator="\n")
    logger.info("wrote %s (%d sites, %d species)", p, data.n_sites, data.n_species)
    return p


def species_in_table(path: str | os.PathLike, columns: ColumnSpec | None = None, *,
                     names_col: str | None = None) -> list[str]:
    """Species names of a table, by the same column rule as :func:`read_wide_csv` (what ``fit`` would model).

    Parameters
    ----------
    path : path
        A wide site × species table, or a species list (with ``names_col``).
    columns : ColumnSpec, optional
        Column roles of a wide table.
    names_col : str, optional
        The table is a species list: this column holds one species name per row.

    Returns
    -------
    list of str
        In table order, duplicates removed.

    Raises
    ------
    InputDataError
        Missing file or column, or no species column found.
    """
    df = read_table(path)
    if names_col is not None:
        if names_col not in df.columns:
            raise InputDataError(f"column {names_col!r} not in {path}; columns are {list(df.columns)}")
        names = [s.strip() for s in df[names_col].dropna().astype(str) if s.strip()]
        if not names:
            raise InputDataError(f"column {names_col!r} of {path} has no species names")
        return list(dict.fromkeys(names))
    return (columns or ColumnSpec()).resolve(df, source=str(path)).species
