"""``jsdm-hot prepare``: raw eBird EBD + sampling-event file → zero-filled wide table.

By default the eBird best-practice filters apply (as in ``data_recipes/ebird_extract.py``;
:data:`jsdm_hot.data.ebird.BEST_PRACTICE`): complete, approved checklists,
Stationary and Traveling protocols, at most 5 h, 5 km and 10 observers, and
species detected on at least 10 checklists. Each limit has an option
(``inf`` / ``all`` lifts one); ``--no-best-practice`` lifts them all. The filters
applied are logged at INFO.

Example::

    jsdm-hot prepare ebd_US-GA_relNov-2025.txt --sampling ebd_sampling_relNov-2025.txt \\
        --state US-GA --months 6 --max-distance 10 --out checklists.parquet
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Optional

import typer

from jsdm_hot.cli import app
from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)


def _split(text: Optional[str]) -> Optional[list[str]]:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


def _floats(text: Optional[str], n: int, what: str) -> Optional[tuple[float, ...]]:
    items = _split(text)
    if items is None:
        return None
    try:
        vals = tuple(float(v) for v in items)
    except ValueError:
        raise InputDataError(f"{what} must be {n} comma-separated numbers, got {text!r}") from None
    if len(vals) != n:
        raise InputDataError(f"{what} must be {n} comma-separated numbers, got {text!r}")
    return vals


def _pair(lo, hi):
    return None if lo is None and hi is None else (lo, hi)


def _upper(value: Optional[float], default: Optional[float]) -> Optional[float]:
    """An upper limit: ``default`` when the option is unset, none for ``inf``."""
    if value is None:
        return default
    return None if math.isinf(value) and value > 0 else value


def _protocols(text: Optional[str], default):
    """Protocols to keep: ``default`` when unset, every protocol for ``all``."""
    if text is None:
        return default
    items = _split(text)
    return None if items is None or [p.lower() for p in items] == ["all"] else tuple(items)


@app.command()
def prepare(
    ebd: Path = typer.Argument(..., help="eBird Basic Dataset observation file (tab-separated .txt)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output wide table: .csv, .tsv, .parquet (optionally .gz)."),
    sampling: Optional[Path] = typer.Option(None, "--sampling", help="Matching sampling-event file (recommended: gives the absences)."),
    taxonomy: Optional[Path] = typer.Option(None, "--taxonomy", help="eBird taxonomy CSV for the roll-up (default: roll up by CATEGORY)."),
    species: Optional[str] = typer.Option(None, "--species", help="Comma-separated species (scientific or common names) to keep."),
    country: Optional[str] = typer.Option(None, "--country", help="Comma-separated countries (names or codes, e.g. US)."),
    state: Optional[str] = typer.Option(None, "--state", help="Comma-separated states (names or codes, e.g. US-GA)."),
    county: Optional[str] = typer.Option(None, "--county", help="Comma-separated counties (names or codes)."),
    bbox: Optional[str] = typer.Option(None, "--bbox", help="lon_min,lat_min,lon_max,lat_max (degrees)."),
    start_date: Optional[str] = typer.Option(None, "--start-date", help="First date YYYY-MM-DD (inclusive)."),
    end_date: Optional[str] = typer.Option(None, "--end-date", help="Last date YYYY-MM-DD (inclusive)."),
    months: Optional[str] = typer.Option(None, "--months", help="Comma-separated months 1-12 (any year)."),
    protocol: Optional[str] = typer.Option(None, "--protocol", help="Comma-separated protocols (default Stationary,Traveling); 'all' keeps every protocol."),
    min_duration: Optional[float] = typer.Option(None, "--min-duration", help="Minimum duration (minutes)."),
    max_duration: Optional[float] = typer.Option(None, "--max-duration", help="Maximum duration (minutes; default 300 = 5 h; 'inf': no limit)."),
    max_distance: Optional[float] = typer.Option(None, "--max-distance", help="Maximum distance (km; default 5; stationary = 0 km; 'inf': no limit)."),
    max_observers: Optional[float] = typer.Option(None, "--max-observers", help="Maximum number of observers (default 10; 'inf': no limit)."),
    start_time: Optional[str] = typer.Option(None, "--start-time", help="Earliest start time HH:MM."),
    end_time: Optional[str] = typer.Option(None, "--end-time", help="Latest start time HH:MM."),
    include_incomplete: bool = typer.Option(False, "--include-incomplete", help="Keep incomplete checklists (no true absences!)."),
    include_unapproved: bool = typer.Option(False, "--include-unapproved", help="Keep records not approved by reviewers."),
    time_encoding: str = typer.Option("cyclic", "--time-encoding", help="Time of day as 'cyclic' (sin/cos) or 'hours'."),
    duration_encoding: str = typer.Option("hours", "--duration-encoding", help="Duration as 'hours' or 'log' (ln minutes)."),
    missing_effort: str = typer.Option("drop", "--missing-effort", help="Checklists lacking effort values: 'drop' or 'error'."),
    min_detections: Optional[int] = typer.Option(None, "--min-detections", min=0, help="Drop species detected on fewer checklists (default 10; 1 with --no-best-practice)."),
    no_best_practice: bool = typer.Option(False, "--no-best-practice", help="No default protocol/duration/distance/observer limits (only the options given) and --min-detections 1."),
    subsample_km: Optional[float] = typer.Option(None, "--subsample-km", help="Keep one checklist per cell of this size (km) × --subsample-by."),
    subsample_by: str = typer.Option("week", "--subsample-by", help="Period for --subsample-km: week, month, day, year or none."),
    seed: int = typer.Option(0, "--seed", help="Seed of the subsampling."),
    memory_limit: str = typer.Option("1GB", "--memory-limit", help="DuckDB memory limit (it spills to disk beyond it)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="DuckDB threads (default: all cores)."),
) -> None:
    """Zero-fill a raw EBD extract into a site × species table with effort covariates.

    Filters run inside DuckDB while the file streams; shared checklists are
    collapsed, subspecies rolled up to species, spuh/slash/hybrid/domestic dropped.
    """
    from jsdm_hot.data.ebird import BEST_PRACTICE, BEST_PRACTICE_MIN_DETECTIONS, EbirdFilters, load_ebird
    from jsdm_hot.data.tables import write_wide_csv

    best = {} if no_best_practice else BEST_PRACTICE
    hi = {k: (best.get(k) or (None, None))[1] for k in ("duration_minutes", "distance_km", "n_observers")}
    effort = {"protocol": _protocols(protocol, best.get("protocol")),
              "duration_minutes": _pair(min_duration, _upper(max_duration, hi["duration_minutes"])),
              "distance_km": _pair(None, _upper(max_distance, hi["distance_km"])),
              "n_observers": _pair(None, _upper(max_observers, hi["n_observers"]))}
    unset = {"protocol": protocol, "duration_minutes": max_duration, "distance_km": max_distance,
             "n_observers": max_observers}
    defaults = [k for k, v in unset.items() if v is None and best.get(k) is not None]
    bb = _floats(bbox, 4, "--bbox")
    mo = _split(months)
    filters = EbirdFilters(
        species=_split(species), country=_split(country), state=_split(state), county=_split(county),
        bbox=bb, date=_pair(start_date, end_date),
        months=None if mo is None else tuple(_int(m, "--months") for m in mo),
        time_started=_pair(start_time, end_time), complete=not include_incomplete, approved=not include_unapproved,
        **effort,
    )
    if min_detections is None:
        min_detections = 1 if no_best_practice else BEST_PRACTICE_MIN_DETECTIONS
    logger.info("checklist filters: %s%s", filters.describe(),
                f" ({', '.join(defaults)}: eBird best-practice defaults; --no-best-practice lifts them)" if defaults else "")
    logger.info("species detected on fewer than %d checklists are dropped (--min-detections)", min_detections)
    data = load_ebird(ebd, sampling, filters=filters, taxonomy=taxonomy, time_encoding=time_encoding,
                      duration_encoding=duration_encoding, missing_effort=missing_effort,
                      min_detections=min_detections, threads=threads, memory_limit=memory_limit)
    if subsample_km is not None:
        from jsdm_hot.data.splits import spatiotemporal_subsample

        data = spatiotemporal_subsample(data, subsample_km, by=None if subsample_by == "none" else subsample_by, seed=seed)
    write_wide_csv(_text_extras_only(data), out)
    prevalence = data.Y.mean(axis=0) if data.n_species else []
    typer.echo(
        f"wrote {out}: {data.n_sites} checklists, {data.n_species} species, covariates {', '.join(data.covariates)}"
        + (f"; prevalence {min(prevalence):.3f}-{max(prevalence):.3f}" if data.n_species else "")
    )


def _int(v: str, what: str) -> int:
    try:
        return int(v)
    except ValueError:
        raise InputDataError(f"{what} must be comma-separated integers, got {v!r}") from None


def _text_extras_only(data):
    """Keep only non-empty text columns of ``data.extra``.

    Numeric extras (raw duration, distance with NaN for stationary checklists,
    group sizes) would be read back by ``jsdm-hot fit`` as covariates or even
    species under the default column rule; the model's covariates are already
    in ``data.X``. Text extras (dates, protocol, observer) stay for the user.
    """
    from dataclasses import replace

    import pandas as pd

    if data.extra is None:
        return data
    keep = [c for c in data.extra.columns
            if not pd.api.types.is_numeric_dtype(data.extra[c]) and not pd.api.types.is_bool_dtype(data.extra[c])
            and data.extra[c].notna().any() and (data.extra[c].astype(str).str.len() > 0).any()]
    return replace(data, extra=data.extra[keep] if keep else None)

