"""Grids from stacks of aligned rasters (GeoTIFF files, a NetCDF file, an xarray Dataset), read strip by strip."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps.lattice import MapGrid, crs_label

logger = logging.getLogger(__name__)

__all__ = ["RasterGrid", "grid_from_rasters"]

_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img")


class RasterGrid(MapGrid):
    """Grid from aligned rasters: an xarray Dataset of 2-D variables sharing x/y coordinates.

    Parameters
    ----------
    dataset : xarray.Dataset
        Variables with dims (y, x), or (band, y, x) with one band. Lazily opened
        files (``rioxarray.open_rasterio``) are read strip by strip.
    crs : str, optional
        CRS when the dataset carries none.
    source : str, optional

    Raises
    ------
    InputDataError
        When neither the dataset nor ``crs`` gives a CRS (jsdm-hot does not guess one).
    """

    def __init__(self, dataset: Any, *, crs: str | None = None, source: str | None = None) -> None:
        import rioxarray  # noqa: F401  (registers .rio)

        self.source = source or "dataset"
        ds = dataset
        try:
            xdim, ydim = ds.rio.x_dim, ds.rio.y_dim
        except Exception as exc:  # rioxarray raises its own error types
            raise InputDataError(f"raster stack {self.source}: cannot find x/y dimensions ({exc})") from exc
        arrays = {}
        for name, da in ds.data_vars.items():
            if set(da.dims) == {ydim, xdim}:
                arrays[str(name)] = da.transpose(ydim, xdim)
            elif da.ndim == 3 and {ydim, xdim} <= set(da.dims):
                other = [d for d in da.dims if d not in (ydim, xdim)][0]
                if da.sizes[other] != 1:
                    raise InputDataError(
                        f"raster stack {self.source}: variable {name!r} has {da.sizes[other]} bands along "
                        f"{other!r}; give one variable per covariate")
                arrays[str(name)] = da.isel({other: 0}).transpose(ydim, xdim)
            else:
                logger.info("raster stack %s: variable %r with dims %s is not a map layer; ignored",
                            self.source, name, da.dims)
        if not arrays:
            raise InputDataError(f"raster stack {self.source} has no 2-D (y, x) variables")
        self._arrays = arrays
        self.x = np.asarray(ds[xdim].values, dtype=np.float64)
        self.y = np.asarray(ds[ydim].values, dtype=np.float64)
        if self.x.size > 1 and not np.all(np.diff(self.x) > 0):
            raise InputDataError(f"raster stack {self.source}: x coordinates must increase")
        ds_crs = ds.rio.crs
        self.crs = ds_crs.to_string() if ds_crs is not None else crs
        if self.crs is None:
            raise InputDataError(
                f"raster {self.source} has no coordinate reference system (CRS); set one (e.g. "
                "ds.rio.write_crs('EPSG:4326'), gdal_edit.py -a_srs) or pass crs= (CLI: --crs)")
        self.variables = list(arrays)
        self.dims = (ydim, xdim)
        res = np.abs(np.asarray(ds.rio.resolution(), dtype=np.float64)) if self.x.size > 1 or self.y.size > 1 else None
        self.resolution = None if res is None else (float(res[0]), float(res[1]))

    def _read_rows(self, r0: int, r1: int, names: list[str]) -> np.ndarray:
        ny, nx = self.shape
        out = np.empty((r1 - r0, nx, len(names)), dtype=np.float64)
        for j, name in enumerate(names):
            da = self._arrays[name].isel({self.dims[0]: slice(r0, r1)})
            vals = np.asarray(da.values, dtype=np.float64)
            nodata = da.rio.nodata
            if nodata is not None and not np.isnan(nodata):
                vals[vals == nodata] = np.nan
            out[:, :, j] = vals
        return out



def grid_from_rasters(rasters: Any, *, crs: str | None = None) -> RasterGrid:
    """Grid from aligned rasters.

    Parameters
    ----------
    rasters : xarray.Dataset, path to a directory of GeoTIFFs, a NetCDF file, or a list of raster paths
        One covariate per single-band file (named by the file stem) or per band
        of a multi-band file (named by the band description, else ``stem_1``,
        ``stem_2``, ...). All rasters must share shape, transform and CRS.
    crs : str, optional
        CRS when the rasters carry none.

    Returns
    -------
    RasterGrid
    """
    import xarray as xr

    if isinstance(rasters, xr.Dataset):
        return RasterGrid(rasters, crs=crs)
    if isinstance(rasters, (str, Path)):
        path = Path(rasters)
        if not path.exists():
            raise InputDataError(f"raster path {path} does not exist")
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in _RASTER_SUFFIXES)
            if not files:
                raise InputDataError(f"raster directory {path} holds no GeoTIFF ({', '.join(_RASTER_SUFFIXES)}) files")
            return _grid_from_files(files, crs=crs, source=str(path))
        if path.suffix.lower() in (".nc", ".nc4", ".netcdf"):
            ds = xr.open_dataset(path, engine="h5netcdf", decode_coords="all")
            return RasterGrid(ds, crs=crs, source=str(path))
        return _grid_from_files([path], crs=crs, source=str(path))
    files = [Path(p) for p in rasters]
    for p in files:
        if not p.exists():
            raise InputDataError(f"raster file {p} does not exist")
    return _grid_from_files(files, crs=crs, source=", ".join(str(p) for p in files[:3]) + (" ..." if len(files) > 3 else ""))



def _grid_from_files(files: Sequence[Path], *, crs: str | None, source: str) -> RasterGrid:
    import rioxarray
    import xarray as xr

    variables: dict[str, Any] = {}
    ref = None
    for p in files:
        try:
            da = rioxarray.open_rasterio(p, masked=True, cache=False)
        except Exception as exc:  # rasterio errors are not JsdmHotError
            raise InputDataError(f"cannot read raster {p}: {exc}") from exc
        if ref is None:
            ref = (p, da)
        else:
            rp, rda = ref
            # CRS first: rasters in different CRSs also differ in shape, and the CRS is the real cause
            if (da.rio.crs is None) != (rda.rio.crs is None) or (da.rio.crs is not None and da.rio.crs != rda.rio.crs):
                raise InputDataError(f"raster {p} has CRS {crs_label(da.rio.crs)} but {rp} has {crs_label(rda.rio.crs)}; "
                                     "reproject it first (e.g. rioxarray's reproject_match)")
            if da.rio.shape != rda.rio.shape or not np.allclose(tuple(da.rio.transform())[:6],
                                                                tuple(rda.rio.transform())[:6]):
                raise InputDataError(
                    f"raster {p} is not aligned with {rp}: shape {da.rio.shape} vs {rda.rio.shape}, transform "
                    f"{tuple(da.rio.transform())[:6]} vs {tuple(rda.rio.transform())[:6]}; resample it first "
                    "(e.g. rioxarray's reproject_match)")
            # identical lattice: share coordinates exactly
            da = da.assign_coords({da.rio.x_dim: rda[rda.rio.x_dim].values, da.rio.y_dim: rda[rda.rio.y_dim].values})
        n_band = da.sizes.get("band", 1)
        long_name = da.attrs.get("long_name")
        for b in range(n_band):
            if n_band == 1:
                name = p.stem
            elif isinstance(long_name, (tuple, list)) and len(long_name) == n_band and long_name[b]:
                name = str(long_name[b])
            else:
                name = f"{p.stem}_{b + 1}"
            if name in variables:
                raise InputDataError(f"covariate name {name!r} appears twice in the rasters ({p})")
            band = da.isel(band=b, drop=True) if "band" in da.dims else da
            variables[name] = band
    ds = xr.Dataset(variables)
    if ds.rio.crs is None and ref[1].rio.crs is not None:
        ds.rio.write_crs(ref[1].rio.crs, inplace=True)
    return RasterGrid(ds, crs=crs, source=source)
