"""Options and helpers shared by several CLI commands (data loading, splitting)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)

SPECIES_HELP = (
    "Comma-separated species (occurrence) columns. Default rule: every column holding only "
    "0/1 integers, other than the site id and coordinates, is a species; every other numeric "
    "column is a covariate."
)

# typer option declarations reused by fit / predict / evaluate
SpeciesCols = typer.Option(None, "--species-cols", help=SPECIES_HELP)
SpeciesPrefix = typer.Option(None, "--species-prefix", help="Columns starting with this prefix are species.")
CovariateCols = typer.Option(None, "--covariate-cols", help="Comma-separated covariate columns (default: all other numeric columns).")
SiteCol = typer.Option("site_id", "--site-col", help="Site / checklist id column (row numbers if absent).")
LonCol = typer.Option("lon", "--lon-col", help="Longitude (or x) column.")
LatCol = typer.Option("lat", "--lat-col", help="Latitude (or y) column.")
Covariates = typer.Option(None, "--covariates", help="Extra covariate table (CSV/parquet) joined on --join-on.")
JoinOn = typer.Option(None, "--join-on", help="Column shared by DATA and --covariates to join on.")
Sampling = typer.Option(None, "--sampling", help="eBird sampling-event file: DATA is then a raw EBD text file, zero-filled.")


def split_list(text: Optional[str]) -> Optional[list[str]]:
    """``"a,b , c"`` → ``["a", "b", "c"]``; None stays None."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


def load_data(
    path: Path,
    *,
    species_cols: Optional[str] = None,
    species_prefix: Optional[str] = None,
    covariate_cols: Optional[str] = None,
    site_col: str = "site_id",
    lon_col: str = "lon",
    lat_col: str = "lat",
    covariates: Optional[Path] = None,
    join_on: Optional[str] = None,
    sampling: Optional[Path] = None,
    require_species: bool = True,
) -> CommunityData:
    """Read a wide table (CSV/TSV/parquet), optionally joined with a covariate table,
    or a raw EBD file with its sampling-event file."""
    import pandas as pd

    if not Path(path).exists():
        raise InputDataError(f"data file {path} does not exist")
    if sampling is not None:
        from jsdm_hot.data.ebird import load_ebird

        return load_ebird(path, sampling)
    from jsdm_hot.data.tables import read_table

    df = read_table(path, dtype={site_col: str} if site_col else None)
    if covariates is not None:
        if join_on is None:
            raise InputDataError("--covariates needs --join-on COLUMN (a column present in both tables)")
        cov = read_table(covariates)
        for name, table, p in (("DATA", df, path), ("--covariates", cov, covariates)):
            if join_on not in table.columns:
                raise InputDataError(f"join column {join_on!r} is not in {name} file {p}; its columns are {list(table.columns)}")
        n0 = len(df)
        df = df.merge(cov, on=join_on, how="left", suffixes=("", "_cov"), validate="many_to_one")
        if len(df) != n0:
            raise InputDataError(f"joining {covariates} on {join_on!r} changed the number of rows")
    return CommunityData.from_frame(
        df,
        species_cols=split_list(species_cols),
        species_prefix=species_prefix,
        covariate_cols=split_list(covariate_cols),
        site_col=site_col,
        lon_col=lon_col,
        lat_col=lat_col,
        source=str(path),
        require_species=require_species,
    )


def holdout_split(data: CommunityData, test_frac: float, kind: str, seed: int, block_km: float = 50.0):
    """(train, test) CommunityData; ``kind`` is random, spatial or temporal."""
    if test_frac <= 0:
        return data, None
    if not 0 < test_frac < 1:
        raise InputDataError(f"--test-frac must be in [0, 1), got {test_frac}")
    if kind == "random":
        perm = np.random.default_rng(seed).permutation(data.n_sites)
        n_test = max(1, int(round(test_frac * data.n_sites)))
        return data.subset(np.sort(perm[n_test:])), data.subset(np.sort(perm[:n_test]))
    from jsdm_hot.data import splits

    train, _, test = splits.train_val_test_split(data, (1 - test_frac, 0.0, test_frac), kind=kind, block_km=block_km, seed=seed)
    return train, test
