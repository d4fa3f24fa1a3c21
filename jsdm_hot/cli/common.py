"""Options and argument parsing shared by several commands; no library logic lives here."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, List, Optional

import typer

from jsdm_hot.data.columns import ColumnSpec
from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)

SPECIES_HELP = (
    "Comma-separated species (occurrence) columns. Default: the 0/1 columns of DATA that are not ids, "
    "coordinates, covariates named by --covariate-cols or columns of --covariates tables; when 0/1 "
    "columns are interleaved with other numeric columns the guess is refused and you are asked to name them."
)

# typer option declarations reused by fit / predict / evaluate / tree-check / benchmark / explain
SpeciesCols = typer.Option(None, "--species-cols", help=SPECIES_HELP)
SpeciesPrefix = typer.Option(None, "--species-prefix", help="Columns starting with this prefix are species.")
CovariateCols = typer.Option(None, "--covariate-cols", help="Comma-separated covariate columns (default: all other numeric columns except ids).")
SiteCol = typer.Option(None, "--site-col", help="Site / checklist id column (default: site_id, site, checklist_id, ... if present; else row numbers).")
LonCol = typer.Option(None, "--lon-col", help="Longitude (or x) column (default: lon, longitude, ... if present).")
LatCol = typer.Option(None, "--lat-col", help="Latitude (or y) column (default: lat, latitude, ... if present).")
Covariates = typer.Option(None, "--covariates", help="Covariate table FILE[:KEY] joined onto DATA by KEY (default key: --join-on); "
                          "repeat to chain tables, e.g. --covariates checklists.csv:checklist_id --covariates grid.csv:grid_row.")
JoinOn = typer.Option(None, "--join-on", help="Default key column of the --covariates tables.")
Sampling = typer.Option(None, "--sampling", help="eBird sampling-event file: DATA is then a raw EBD text file, zero-filled.")
Set = typer.Option(None, "--set", help="Model parameter NAME=VALUE (repeatable), e.g. --set dropout=0.2 --set n_layers=3.")
StandardEffort = typer.Option(False, "--standard-effort", help="Predict for eBird best practice's standard checklist "
                              "(60 min, 1 km, Traveling, 1 observer, 07:00; --effort changes any of them): the model's "
                              "effort covariates, whatever their encoding, get these values.")
Effort = typer.Option(None, "--effort", help="Survey effort in plain units, NAME=VALUE (repeatable): duration_min=30, "
                      "distance_km=2, n_observers=1, protocol=Stationary, time=07:30, date=2019-06-15.")


def split_list(text: Optional[str]) -> Optional[list[str]]:
    """``"a,b , c"`` → ``["a", "b", "c"]``; None stays None."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


def parse_value(raw: str) -> Any:
    """A command-line value as JSON (numbers, true/false, null, quoted strings), else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_assignments(items: Optional[List[str]], what: str = "--set", form: str = "NAME=VALUE") -> dict[str, Any]:
    """``["a=1", "b=x"]`` → ``{"a": 1, "b": "x"}`` (values via :func:`parse_value`); ``form`` is named in errors."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputDataError(f"{what} {item!r}: expected {form}")
        out[key.strip()] = parse_value(raw.strip())
    return out


def column_spec(species_cols: Optional[str] = None, species_prefix: Optional[str] = None,
                covariate_cols: Optional[str] = None, site_col: Optional[str] = None, lon_col: Optional[str] = None,
                lat_col: Optional[str] = None) -> ColumnSpec:
    """The :class:`~jsdm_hot.data.columns.ColumnSpec` of the column options."""
    return ColumnSpec.from_options(species_cols=species_cols, species_prefix=species_prefix,
                                   covariate_cols=covariate_cols, site_col=site_col, lon_col=lon_col, lat_col=lat_col)


def covariate_tables(specs: Optional[List[str]], join_on: Optional[str]) -> list:
    """``--covariates FILE[:KEY]`` options as :class:`~jsdm_hot.data.joins.CovariateTable` objects."""
    from jsdm_hot.data.joins import CovariateTable

    out = []
    for spec in specs or []:
        path, key = spec, join_on
        head, sep, tail = spec.rpartition(":")
        if sep and head and tail and "/" not in tail and not Path(spec).exists():
            path, key = head, tail
        if key is None:
            raise InputDataError(f"--covariates {spec}: give the key column as FILE:KEY or with --join-on")
        out.append(CovariateTable(Path(path), key))
    return out


def load_data(path: Path, columns: ColumnSpec, *, covariates: Optional[List[str]] = None,
              join_on: Optional[str] = None, sampling: Optional[Path] = None,
              require_species: bool = True) -> CommunityData:
    """DATA as a CommunityData: a wide table (joined with covariate tables) or a raw EBD file with its sampling file."""
    if not Path(path).exists():
        raise InputDataError(f"data file {path} does not exist")
    if sampling is not None:
        from jsdm_hot.data.ebird import load_ebird

        if covariates:
            raise InputDataError("--covariates cannot be joined onto a raw EBD file here: run `jsdm-hot prepare` "
                                 "first, then fit the wide table it writes with --covariates")
        return load_ebird(path, sampling)
    from jsdm_hot.data.tables import read_wide_csv

    return read_wide_csv(path, columns, covariates=covariate_tables(covariates, join_on),
                         require_species=require_species)


def effort_constants(covariates, effort: Optional[List[str]], standard: bool) -> Optional[dict[str, float]]:
    """The model's effort covariates for ``--standard-effort`` / ``--effort`` (None when neither is given)."""
    if not standard and not effort:
        return None
    from jsdm_hot.data.ebird import effort_values

    values = effort_values(list(covariates), parse_assignments(effort, "--effort"))
    logger.info("survey effort: %s", ", ".join(f"{k}={v:g}" for k, v in values.items()))
    return values
