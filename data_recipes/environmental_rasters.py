#!/usr/bin/env python
"""Recipe: environmental rasters -> covariates at checklists (training) and on a prediction grid (maps).

Downloads are a MANUAL step (see ``environmental_rasters.md``: WorldClim bioclim,
MODIS MCD12Q1 land cover, GMTED/EarthEnv elevation). This script starts from local
GeoTIFF/NetCDF files in any CRS and uses :func:`jsdm_hot.data.covariates.extract_at_points`
for both steps, so the training covariates and the map covariates are computed
the same way and carry the same names:

``extract``
    Adds covariates to a table of checklists with ``lon``/``lat`` columns (e.g. the
    output of ``ebird_extract.py``): continuous rasters give the mean within
    ``--buffer-m`` (column ``NAME``), categorical rasters (land cover) the
    fraction of each class within the buffer ("pland", columns ``NAME_c<class>``).
``grid``
    Takes a template raster (e.g. a 3 km equal-area grid of the study region; its
    non-NaN cells are the region), computes the same covariates around every cell
    centre, and writes one GeoTIFF per covariate, aligned to the template, into a
    folder: ``jsdm-hot map MODEL_DIR that_folder/ --standard-effort`` maps it.

Rasters are given as ``NAME=PATH`` (continuous) or ``NAME=PATH`` after
``--categorical``; ``--band NAME=LABEL`` picks one band of a multi-band file (by
band description, e.g. a year ``2022``, or 1-based number). No network is needed.

Examples::

    python data_recipes/environmental_rasters.py extract checklists_ga_june.csv \\
        --continuous elevation=elevation_gmted_1km_us-ga.tif \\
        --categorical landcover=landcover_mcd12q1_umd_us-ga_2014-2022.tif --band landcover=2022 \\
        --buffer-m 1500 --out checklists_env.csv

    python data_recipes/environmental_rasters.py grid prediction-grid_us-ga.tif \\
        --continuous elevation=elevation_gmted_1km_us-ga.tif \\
        --categorical landcover=landcover_mcd12q1_umd_us-ga_2014-2022.tif --band landcover=2022 \\
        --buffer-m 1500 --out-dir grid_ga/
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("environmental_rasters")


@dataclass(frozen=True)
class RasterSpec:
    """One covariate source: a name, a file, how to summarise it, and which band."""

    name: str
    path: Path
    categorical: bool = False
    band: str | None = None


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"error: {what} must look like NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def parse_specs(args: argparse.Namespace) -> list[RasterSpec]:
    """RasterSpecs from ``--continuous``, ``--categorical`` and ``--band``."""
    bands = _pairs(args.band, "--band")
    specs = [RasterSpec(n, Path(p), False, bands.get(n)) for n, p in _pairs(args.continuous, "--continuous").items()]
    specs += [RasterSpec(n, Path(p), True, bands.get(n)) for n, p in _pairs(args.categorical, "--categorical").items()]
    if not specs:
        raise SystemExit("error: give at least one raster with --continuous NAME=PATH or --categorical NAME=PATH")
    unknown = sorted(set(bands) - {s.name for s in specs})
    if unknown:
        raise SystemExit(f"error: --band names {unknown} match no raster")
    missing = [str(s.path) for s in specs if not s.path.exists()]
    if missing:
        raise SystemExit(f"error: raster files not found: {missing}")
    return specs


def open_band(spec: RasterSpec):
    """The raster of ``spec`` as a single-band DataArray (lazy; CRS kept)."""
    import rioxarray

    da = rioxarray.open_rasterio(spec.path, masked=True)
    if "band" not in da.dims or da.sizes["band"] == 1:
        return da.squeeze("band", drop=True) if "band" in da.dims else da
    if spec.band is None:
        raise SystemExit(f"error: {spec.path} has {da.sizes['band']} bands; pick one with --band {spec.name}=LABEL")
    labels = da.attrs.get("long_name")
    labels = [str(x) for x in labels] if isinstance(labels, (list, tuple)) else []
    if spec.band in labels:
        return da.isel(band=labels.index(spec.band))
    if spec.band.isdigit() and 1 <= int(spec.band) <= da.sizes["band"]:
        return da.isel(band=int(spec.band) - 1)
    raise SystemExit(f"error: {spec.path} has no band {spec.band!r}; bands: {labels or list(range(1, da.sizes['band'] + 1))}")


def extract_covariates(lon, lat, specs: list[RasterSpec], buffer_m: float | None):
    """Covariates at points: DataFrame (n_points, n_columns) with stable column names.

    Continuous: ``NAME`` (mean within the buffer). Categorical: ``NAME_c<class>`` for
    every class present anywhere in the raster band, so checklists and grid cells
    get the same columns.
    """
    import numpy as np
    import pandas as pd

    from jsdm_hot.data.covariates import extract_at_points

    frames = []
    for spec in specs:
        da = open_band(spec)
        if spec.categorical:
            vals = np.asarray(da.values, dtype=float)
            classes = np.unique(vals[np.isfinite(vals)])
            df = extract_at_points(da, lon, lat, buffer_m=buffer_m, prefix=spec.name, stat="fractions",
                                   classes=classes)
        else:
            df = extract_at_points(da, lon, lat, buffer_m=buffer_m, prefix=spec.name)
            df.columns = [spec.name]
        frames.append(df)
    return pd.concat(frames, axis=1)


def cmd_extract(args: argparse.Namespace) -> int:
    from jsdm_hot.data.tables import read_table

    specs = parse_specs(args)
    table = read_table(args.table)
    lon_col, lat_col = args.lon_col, args.lat_col
    for c in (lon_col, lat_col):
        if c not in table.columns:
            raise SystemExit(f"error: {args.table} has no column {c!r} (use --lon-col/--lat-col)")
    cov = extract_covariates(table[lon_col].to_numpy(float), table[lat_col].to_numpy(float), specs, args.buffer_m)
    clash = [c for c in cov.columns if c in table.columns]
    if clash:
        raise SystemExit(f"error: {args.table} already has columns {clash}; choose other raster names")
    bad = cov.isna().any(axis=1)
    if bad.any():
        print(f"{int(bad.sum())} of {len(table)} rows lie outside a raster or on nodata; dropped", file=sys.stderr)
    out = table.join(cov)[~bad.to_numpy()]
    # covariates right after the coordinates, so read_wide_csv lists them before the species
    first = [c for c in out.columns if c not in cov.columns]
    at = first.index(lat_col) + 1
    out = out[first[:at] + list(cov.columns) + first[at:]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False)
    print(f"{len(out)} rows, {cov.shape[1]} raster covariates ({', '.join(cov.columns)}) -> {args.out}")
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    import numpy as np
    import rioxarray
    import xarray as xr
    from pyproj import Transformer

    specs = parse_specs(args)
    tpl = rioxarray.open_rasterio(args.template, masked=True).squeeze("band", drop=True)
    if tpl.rio.crs is None:
        raise SystemExit(f"error: template {args.template} has no CRS")
    xs, ys = np.meshgrid(tpl.x.values, tpl.y.values)
    valid = np.isfinite(np.asarray(tpl.values, dtype=float))
    if args.max_cells is not None and valid.sum() > args.max_cells:   # for quick trials only
        keep = np.flatnonzero(valid.ravel())[: args.max_cells]
        valid = np.zeros(valid.size, bool)
        valid[keep] = True
        valid = valid.reshape(tpl.shape)
    lon, lat = Transformer.from_crs(tpl.rio.crs, "EPSG:4326", always_xy=True).transform(xs[valid], ys[valid])
    cov = extract_covariates(np.asarray(lon), np.asarray(lat), specs, args.buffer_m)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in cov.columns:
        layer = np.full(tpl.shape, np.nan, dtype="float32")
        layer[valid] = cov[name].to_numpy(dtype="float32")
        da = xr.DataArray(layer, dims=("y", "x"), coords={"y": tpl.y.values, "x": tpl.x.values}, name=name)
        da = da.rio.write_crs(tpl.rio.crs).rio.write_transform(tpl.rio.transform()).rio.write_nodata(np.nan)
        da.rio.to_raster(args.out_dir / f"{name}.tif", compress="deflate")
    print(f"{int(valid.sum())} cells x {cov.shape[1]} covariates -> {args.out_dir}/ (one GeoTIFF per covariate)")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Raster covariates at checklists and on a prediction grid.")
    sub = p.add_subparsers(dest="command", required=True)

    def rasters(sp):
        sp.add_argument("--continuous", action="append", metavar="NAME=PATH",
                        help="continuous raster (mean within the buffer); repeatable")
        sp.add_argument("--categorical", action="append", metavar="NAME=PATH",
                        help="categorical raster, e.g. land cover (class fractions within the buffer); repeatable")
        sp.add_argument("--band", action="append", metavar="NAME=LABEL",
                        help="band of a multi-band raster (description such as 2022, or 1-based number)")
        sp.add_argument("--buffer-m", type=float, default=1500.0,
                        help="buffer radius in metres (eBird best practice: 3 km diameter)")
        sp.add_argument("-v", "--verbose", action="store_true")

    e = sub.add_parser("extract", help="add raster covariates to a table of checklists")
    e.add_argument("table", type=Path, help="table with lon/lat columns (CSV/TSV/Parquet)")
    e.add_argument("--out", type=Path, required=True, help="output CSV")
    e.add_argument("--lon-col", default="lon")
    e.add_argument("--lat-col", default="lat")
    rasters(e)
    g = sub.add_parser("grid", help="covariate GeoTIFFs aligned to a template grid, for jsdm-hot map")
    g.add_argument("template", type=Path, help="template raster: its non-NaN cells are mapped")
    g.add_argument("--out-dir", type=Path, required=True, help="folder for one GeoTIFF per covariate")
    g.add_argument("--max-cells", type=int, default=None, help="only the first N valid cells (quick trials)")
    rasters(g)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return cmd_extract(args) if args.command == "extract" else cmd_grid(args)


def run(argv: list[str] | None = None) -> int:
    """``main`` with jsdm-hot input errors turned into a one-line message and exit status 2."""
    from jsdm_hot.errors import JsdmHotError

    try:
        return main(argv)
    except JsdmHotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
