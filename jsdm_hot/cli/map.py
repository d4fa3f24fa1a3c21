"""``jsdm-hot map``: predict a saved model over a grid and write GeoTIFF / NetCDF / PNG maps."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional

import typer

from jsdm_hot.cli import app
from jsdm_hot.cli import common as c
from jsdm_hot.cli.common import split_list
from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)

_FORMATS = ("tif", "nc", "png")


def parse_constants(items: Optional[List[str]]) -> dict[str, float]:
    """``["duration_minutes=60", "number_observers=1"]`` → ``{"duration_minutes": 60.0, ...}``."""
    out: dict[str, float] = {}
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise InputDataError(f"--constant {part!r}: expected NAME=VALUE, e.g. duration_minutes=60")
            try:
                out[name.strip()] = float(value)
            except ValueError as exc:
                raise InputDataError(f"--constant {part!r}: value {value!r} is not a number") from exc
    return out


def _read_points(path: Path, cols: str):
    import numpy as np
    import pandas as pd

    names = split_list(cols) or []
    if len(names) != 2:
        raise InputDataError(f"--points-cols must name two columns (x,y), got {cols!r}")
    if not path.exists():
        raise InputDataError(f"--points file {path} does not exist")
    df = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path, sep=None, engine="python")
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise InputDataError(f"--points file {path} has no column(s) {missing}; its columns are {list(df.columns)[:30]}")
    return df[names].apply(pd.to_numeric, errors="coerce").dropna().to_numpy(dtype=np.float64)


def _effort(model_dir: Path, effort: Optional[List[str]], standard: bool):
    if not standard and not effort:
        return None
    from jsdm_hot.registry import load_model

    return c.effort_constants(load_model(model_dir, device="cpu").feature_names_in_, effort, standard)


@app.command("map")
def map_command(
    model_dir: Path = typer.Argument(..., help="Model directory written by `jsdm-hot fit`."),
    grid: Path = typer.Argument(..., help="Grid: table of cells (CSV/TSV/parquet with x, y and covariates), "
                                          "a directory of aligned GeoTIFFs, a GeoTIFF or a NetCDF file."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for the maps."),
    layers: str = typer.Option("richness,uncertainty,community,extrapolation", "--layers",
                               help="Comma-separated: richness, uncertainty (sd, 90% interval, composition "
                                    "uncertainty), interval, exceedance (needs --k), community (PCA axes, βSOR to "
                                    "reference), species (all), species:NAME, extrapolation (share of covariates "
                                    "outside the training range)."),
    draws: int = typer.Option(100, "--draws", help="Joint posterior draws per cell."),
    seed: int = typer.Option(0, "--seed"),
    k: Optional[str] = typer.Option(None, "--k", help="Richness thresholds for P(richness >= k), e.g. 5,10."),
    constant: Optional[List[str]] = typer.Option(
        None, "--constant", help="Value of a model covariate absent from the grid, NAME=VALUE in raw units "
                                 "(e.g. survey effort: duration_minutes=60); repeatable."),
    standard_effort: bool = c.StandardEffort,
    effort: Optional[List[str]] = c.Effort,
    reference: Optional[str] = typer.Option(
        None, "--reference", help="Comma-separated species of the reference community for the βSOR layer "
                                  "(default: the regional typical community)."),
    chunk_size: int = typer.Option(16384, "--chunk-size", help="Cells per chunk (bounds memory)."),
    seed_block: int = typer.Option(64, "--seed-block", help="Cells per call to the model's sampler; its working "
                                                           "memory grows with seed-block x draws x species."),
    formats: str = typer.Option("tif,nc,png", "--format", help="Outputs: any of tif, nc, png."),
    x_col: Optional[str] = typer.Option(None, "--x-col", help="Table grid: x column of cell centres (default x, lon or longitude)."),
    y_col: Optional[str] = typer.Option(None, "--y-col", help="Table grid: y column of cell centres (default y, lat or latitude)."),
    crs: Optional[str] = typer.Option(None, "--crs", help="CRS of a table grid (default EPSG:4326) or of rasters without one."),
    resolution: Optional[float] = typer.Option(None, "--resolution", help="Table grid cell size (inferred by default)."),
    mask: Optional[str] = typer.Option(None, "--mask", help="Grid variable (e.g. a study-region template raster) "
                                                            "outside of which (missing or 0) nothing is mapped."),
    points: Optional[Path] = typer.Option(None, "--points", help="Table of training sites (longitude, latitude): "
                                                                 "drawn on the PNGs, and the grid's extent is "
                                                                 "checked against theirs."),
    points_cols: str = typer.Option("lon,lat", "--points-cols", help="Longitude,latitude columns of --points."),
    outlines: Optional[Path] = typer.Option(None, "--outlines", help="Vector file (e.g. GeoPackage) whose lines "
                                                                     "or polygon boundaries are drawn on the PNGs."),
    outlines_layer: Optional[str] = typer.Option(None, "--outlines-layer", help="Layer of --outlines, e.g. ne_states."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda (here and on dask workers)."),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Run the chunks on a dask.distributed cluster: 'local' starts --workers "
                                  "worker processes (1 thread each) on this machine; tcp://HOST:PORT connects to "
                                  "a running `dask scheduler` whose workers see MODEL_DIR at the same path. "
                                  "Maps are identical to the single-process run. Needs jsdm-hot[dask]."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes of --scheduler local "
                                                                   "(default: the CPUs this process may use)."),
    connect_timeout: float = typer.Option(30.0, "--connect-timeout",
                                          help="Seconds to wait for the --scheduler address."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing map files."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Map richness, its uncertainty, community layers and species probabilities over GRID.

    With --scheduler the chunks of cells run on a dask cluster (see docs/scaling.md).
    """
    from jsdm_hot.maps import open_grid, predict_map, write_geotiff, write_netcdf, write_pngs

    fmts = split_list(formats) or []
    bad = [f for f in fmts if f not in _FORMATS]
    if bad or not fmts:
        raise InputDataError(f"--format: unknown format(s) {bad or fmts}; use any of {', '.join(_FORMATS)}")
    ks = []
    for t in split_list(k) or []:
        try:
            ks.append(int(t))
        except ValueError as exc:
            raise InputDataError(f"--k: {t!r} is not an integer") from exc
    if not model_dir.exists():
        raise InputDataError(f"model directory {model_dir} does not exist")
    if not grid.exists():
        raise InputDataError(f"grid {grid} does not exist")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputDataError(f"output {out} exists and is not an empty directory; pass --overwrite to replace maps in it")
    pts = _read_points(points, points_cols) if points is not None else None
    if outlines is not None:  # before the long part: a wrong file or layer name fails fast
        from jsdm_hot.maps.outlines import outline_layer

        outlines_layer = outline_layer(outlines, outlines_layer)
    constants = parse_constants(constant)

    if workers is not None and scheduler != "local":
        raise InputDataError("--workers sets the size of a local dask cluster: use it with --scheduler local")
    # the model class is read from MODEL_DIR/config.json; with --scheduler the workers load it too
    grid_ = open_grid(grid, x=x_col, y=y_col, crs=crs, resolution=resolution, mask=mask)
    ds = predict_map(str(model_dir), grid_, scheduler=scheduler, n_workers=workers, device=device,
                     connect_timeout=connect_timeout, layers=layers, n_draws=draws, seed=seed, richness_k=ks, constants=constants,
                     chunk_size=chunk_size, seed_block=seed_block, reference=split_list(reference),
                     effort=_effort(model_dir, effort, standard_effort), training_sites=pts,
                     progress=progress)
    written: list[Path] = []
    if "tif" in fmts:
        written += write_geotiff(ds, out, overwrite=True)
    if "nc" in fmts:
        written.append(write_netcdf(ds, out / "maps.nc", overwrite=True))
    if "png" in fmts:
        written += write_pngs(ds, out, points=pts, overwrite=True,
                              outlines=None if outlines is None else (outlines, outlines_layer))
    typer.echo(f"mapped {int(ds.attrs['n_cells_predicted'])} cells; wrote {len(written)} files to {out}")
    for p in written:
        typer.echo(f"  {p}")
