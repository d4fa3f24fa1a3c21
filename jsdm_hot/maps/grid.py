"""Prediction grids: a table of cells or a stack of aligned rasters; :func:`open_grid` takes any of them.

Both kinds expose the same small interface (:class:`~jsdm_hot.maps.lattice.MapGrid`):
the regular lattice (``x``, ``y`` cell-centre coordinates, ``crs``), the
covariate names, :meth:`~jsdm_hot.maps.lattice.MapGrid.read_rows` returning the
covariates of a strip of rows with NaN where a cell has no data, and
:meth:`~jsdm_hot.maps.lattice.MapGrid.valid_rows`, the cells to map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps.grid_raster import RasterGrid, grid_from_rasters
from jsdm_hot.maps.grid_table import TableGrid, grid_from_table
from jsdm_hot.maps.lattice import MapGrid, covariate_plan, crs_label

__all__ = ["MapGrid", "TableGrid", "RasterGrid", "covariate_plan", "crs_label", "open_grid", "grid_from_table",
           "grid_from_rasters"]


def open_grid(grid: Any, *, x: str | None = None, y: str | None = None, crs: str | None = None,
              resolution: float | tuple[float, float] | None = None, mask: str | None = None) -> MapGrid:
    """Open any supported grid input.

    Parameters
    ----------
    grid : MapGrid, DataFrame, xarray.Dataset, path or list of paths
        A table (DataFrame, ``.csv``/``.tsv``/``.parquet``), a raster stack
        (Dataset, directory of GeoTIFFs, GeoTIFF or NetCDF file, list of GeoTIFFs).
    x, y : str, optional
        Coordinate columns of a table (default: x/lon/longitude, y/lat/latitude).
    crs : str, optional
        CRS of a table (default ``"EPSG:4326"``) or of rasters without one.
    resolution : float or (float, float), optional
        Cell size of a table grid.
    mask : str, optional
        Variable of the grid (e.g. the study-region template of a raster
        stack) outside of which nothing is mapped: cells where it is missing
        or 0 stay NaN in every layer (see :meth:`MapGrid.set_mask`).

    Returns
    -------
    MapGrid

    Raises
    ------
    InputDataError
        For inputs of unknown kind, listing the accepted kinds.
    """
    if isinstance(grid, MapGrid):
        return grid.set_mask(mask) if mask is not None else grid
    return _open_grid(grid, x=x, y=y, crs=crs, resolution=resolution).set_mask(mask)


def _open_grid(grid: Any, *, x: str | None, y: str | None, crs: str | None,
               resolution: float | tuple[float, float] | None) -> MapGrid:
    import xarray as xr

    if isinstance(grid, pd.DataFrame):
        return grid_from_table(grid, x=x, y=y, crs=crs or "EPSG:4326", resolution=resolution)
    if isinstance(grid, xr.Dataset):
        return grid_from_rasters(grid, crs=crs)
    if isinstance(grid, (str, Path)):
        path = Path(grid)
        name = path.name.lower()
        if name.endswith((".csv", ".tsv", ".txt", ".parquet", ".pq", ".csv.gz", ".tsv.gz")):
            return grid_from_table(path, x=x, y=y, crs=crs or "EPSG:4326", resolution=resolution)
        return grid_from_rasters(path, crs=crs)
    if isinstance(grid, (list, tuple)) and grid and all(isinstance(g, (str, Path)) for g in grid):
        return grid_from_rasters(list(grid), crs=crs)
    raise InputDataError(
        f"unsupported grid of type {type(grid).__name__}: give a DataFrame or table file (.csv/.tsv/.parquet), "
        "an xarray.Dataset, a GeoTIFF/NetCDF file, a directory of GeoTIFFs or a list of GeoTIFF paths")
