"""Environmental covariates from rasters: values at checklist points, buffers, class fractions.

Table joins are in :mod:`jsdm_hot.data.joins`; standardisation belongs to the
estimators (:class:`jsdm_hot.estimators.base.JsdmEstimator`).

Rasters (GeoTIFF, NetCDF, or an already opened xarray object) are read with
xarray + rioxarray (imported lazily). Points given in ``crs_points`` (default
WGS84 lon/lat) are reprojected with pyproj to the raster's CRS, so rasters in any
projection (sinusoidal MODIS, Lambert equal-area grids, ...) work. A raster without
a CRS is an error: guessing would silently misplace every point.

Point values are those of the cell containing the point. With ``buffer_m`` the
value is the mean over the cells whose centres lie within ``buffer_m`` metres of
the point (NaN/nodata cells ignored; when no cell centre is that close, the cell
containing the point). For projected rasters in metres the distance
is Euclidean in the raster's CRS; for geographic rasters (degrees) it is measured
on a local equirectangular approximation (1° latitude = 111.32 km, 1° longitude =
111.32 km · cos(latitude)), accurate to well under a cell for buffers of a few km.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError

__all__ = ["extract_at_points", "add_raster_covariates"]

logger = logging.getLogger(__name__)

_M_PER_DEG = 111_320.0


def _open(raster, variable: str | None):
    """Return (DataArray with dims (band, y, x), name for messages)."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    import xarray as xr

    if isinstance(raster, (str, Path)):
        path = Path(raster)
        if not path.exists():
            raise InputDataError(f"raster file {path} does not exist")
        name = str(path)
        if path.suffix.lower() in (".nc", ".nc4", ".netcdf", ".cdf"):
            ds = xr.open_dataset(path, decode_coords="all")
            da = _pick_variable(ds, variable, name)
        else:
            da = rioxarray.open_rasterio(path, masked=True)
            if isinstance(da, list):
                da = da[0]
            if isinstance(da, xr.Dataset):
                da = _pick_variable(da, variable, name)
    elif isinstance(raster, xr.Dataset):
        name = "the given xarray Dataset"
        da = _pick_variable(raster, variable, name)
    elif isinstance(raster, xr.DataArray):
        name = f"the given DataArray {raster.name!r}"
        da = raster
    else:
        raise InputDataError(
            f"raster must be a file path, xarray.DataArray or xarray.Dataset, got {type(raster).__name__}"
        )
    return da, name


def _pick_variable(ds, variable: str | None, name: str):
    if variable is not None:
        if variable not in ds.data_vars:
            raise InputDataError(f"variable {variable!r} not in {name}; it has {list(ds.data_vars)}")
        return ds[variable]
    spatial = [v for v in ds.data_vars if ds[v].ndim >= 2]
    if len(spatial) != 1:
        raise InputDataError(f"{name} has {len(spatial)} gridded variables {spatial}; choose one with variable=")
    return ds[spatial[0]]


def _as_band_yx(da, name: str):
    """Squeeze/stack a DataArray to dims (band, y, x) with band labels."""
    try:
        xdim, ydim = da.rio.x_dim, da.rio.y_dim
    except Exception:  # rioxarray raises its own MissingSpatialDimensionError
        raise InputDataError(f"{name} has no recognisable x/y dimensions (dims {da.dims})") from None
    other = [d for d in da.dims if d not in (xdim, ydim)]
    if not other:
        da = da.expand_dims("band")
        other = ["band"]
    if len(other) > 1:
        da = da.stack(band=other)
        other = ["band"]
    da = da.transpose(other[0], ydim, xdim)
    return da, other[0]


def _band_names(da, band_dim: str, prefix: str) -> list[str]:
    n = da.sizes[band_dim]
    long_name = da.attrs.get("long_name")
    if isinstance(long_name, (list, tuple)) and len(long_name) == n and all(long_name):
        labels = [str(v) for v in long_name]
    elif isinstance(long_name, str) and n == 1:
        labels = [long_name]
    elif band_dim != "band" or da[band_dim].dtype.kind not in "iu":
        labels = [str(v) for v in da[band_dim].values]
    else:
        labels = [str(v) for v in da[band_dim].values] if n > 1 else [""]
    return [f"{prefix}_{lab}" if lab else prefix for lab in labels]


def extract_at_points(
    raster,
    lon,
    lat,
    *,
    buffer_m: float | None = None,
    crs_points: str = "EPSG:4326",
    variable: str | None = None,
    prefix: str | None = None,
    stat: str = "mean",
    classes: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Raster values at points (or their mean within a buffer).

    Parameters
    ----------
    raster : path, xarray.DataArray or xarray.Dataset
        GeoTIFF / NetCDF file, or an opened object carrying a CRS (``.rio.crs``).
    lon, lat : array-like of shape (n_points,)
        Point coordinates in ``crs_points`` (x, y for a projected CRS).
    buffer_m : float, optional
        Radius in metres; the value is the mean of cells with centres within it.
        ``None``: the value of the cell containing the point.
    crs_points : str, default "EPSG:4326"
    variable : str, optional
        Variable of a NetCDF file / Dataset holding several.
    prefix : str, optional
        Column name prefix (default: the file stem or variable name).
    stat : {"mean", "fractions"}
        ``"mean"``: mean value. ``"fractions"``: for a categorical raster (land
        cover), the fraction of the buffer's valid cells in each class (eBird best
        practice "pland"); without a buffer, a 0/1 indicator of the point's class.
    classes : sequence of float, optional
        Classes for ``stat="fractions"`` (default: every value present in the
        raster, so columns are the same whatever the points).

    Returns
    -------
    pandas.DataFrame of shape (n_points, n_bands) or (n_points, n_bands * n_classes)
        One float64 column per band (``prefix_<band label>``), or per band and
        class (``prefix_<band label>_c<class>``); NaN outside the raster or where
        every cell in the buffer is nodata.

    Raises
    ------
    InputDataError
        Raster without CRS (naming it), unknown variable, coordinate arrays of
        different lengths.
    """
    from pyproj import CRS, Transformer

    da, name = _open(raster, variable)
    if prefix is None:
        prefix = Path(raster).stem if isinstance(raster, (str, Path)) else str(da.name or "raster")
    crs = da.rio.crs
    if crs is None:
        raise InputDataError(
            f"raster {name} has no coordinate reference system (CRS); set one (e.g. "
            "da.rio.write_crs('EPSG:4326') or gdal_edit.py -a_srs) before extracting values"
        )
    da, band_dim = _as_band_yx(da, name)
    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    if lon.shape != lat.shape:
        raise InputDataError(f"lon and lat have different lengths ({lon.size} and {lat.size})")
    rcrs = CRS.from_user_input(crs.to_wkt())
    try:
        pcrs = CRS.from_user_input(crs_points)
    except Exception as exc:  # pyproj.exceptions.CRSError and friends
        raise InputDataError(f"crs_points {crs_points!r} is not a known CRS: {exc}") from None
    tr = Transformer.from_crs(pcrs, rcrs, always_xy=True)
    x, y = tr.transform(lon, lat)
    x, y = np.asarray(x, float), np.asarray(y, float)

    transform = da.rio.transform()
    a, b, c, d, e, f = transform.a, transform.b, transform.c, transform.d, transform.e, transform.f
    if b != 0 or d != 0:
        raise InputDataError(f"raster {name} is rotated (affine {transform}); rotated rasters are not supported")
    values = np.asarray(da.values, dtype=np.float64)  # (n_bands, n_rows, n_cols)
    nodata = da.rio.nodata
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        values = np.where(values == nodata, np.nan, values)
    nb, nr, nc = values.shape
    if stat not in ("mean", "fractions"):
        raise InputDataError(f"stat must be 'mean' or 'fractions', got {stat!r}")
    cls = None
    if stat == "fractions":
        cls = np.unique(values[np.isfinite(values)]) if classes is None else np.asarray(classes, dtype=float)
    width = nb if cls is None else nb * cls.size

    def reduce(block: np.ndarray) -> np.ndarray:
        """(n_bands, n_cells) -> (width,) mean or class fractions over the valid cells."""
        cnt = np.isfinite(block).sum(axis=1)
        if cls is None:
            with np.errstate(invalid="ignore"):
                s = np.nansum(block, axis=1)
            return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)
        hits = (block[:, None, :] == cls[None, :, None]).sum(axis=2)  # (nb, K)
        return np.where(cnt[:, None] > 0, hits / np.maximum(cnt, 1)[:, None], np.nan).reshape(-1)

    colf = (x - c) / a
    rowf = (y - f) / e
    out = np.full((lon.size, width), np.nan)
    if buffer_m is None:
        ok = np.isfinite(colf) & np.isfinite(rowf) & (colf >= 0) & (colf < nc) & (rowf >= 0) & (rowf < nr)
        ci, ri = np.floor(colf[ok]).astype(int), np.floor(rowf[ok]).astype(int)
        v = values[:, ri, ci].T  # (n_ok, nb)
        if cls is None:
            out[ok] = v
        else:
            onehot = (v[:, :, None] == cls[None, None, :]).astype(float)
            onehot[~np.isfinite(v)] = np.nan
            out[ok] = onehot.reshape(v.shape[0], -1)
    else:
        if buffer_m <= 0:
            raise InputDataError(f"buffer_m must be positive, got {buffer_m}")
        geographic = rcrs.is_geographic
        if not geographic:
            unit = rcrs.axis_info[0].unit_conversion_factor if rcrs.axis_info else 1.0
        # latitude of each point in degrees for the geographic metric
        for i in range(lon.size):
            if not (np.isfinite(colf[i]) and np.isfinite(rowf[i])):
                continue
            if geographic:
                mx = _M_PER_DEG * max(math.cos(math.radians(y[i])), 1e-6)
                my = _M_PER_DEG
            else:
                mx = my = unit
            rc = buffer_m / (abs(a) * mx)
            rr = buffer_m / (abs(e) * my)
            c0, c1 = max(int(math.floor(colf[i] - rc)), 0), min(int(math.ceil(colf[i] + rc)), nc - 1)
            r0, r1 = max(int(math.floor(rowf[i] - rr)), 0), min(int(math.ceil(rowf[i] + rr)), nr - 1)
            if c0 > c1 or r0 > r1:
                continue
            cc = np.arange(c0, c1 + 1) + 0.5
            rr_ = np.arange(r0, r1 + 1) + 0.5
            dx = (cc - colf[i]) * abs(a) * mx
            dy = (rr_ - rowf[i]) * abs(e) * my
            inside = (dy[:, None] ** 2 + dx[None, :] ** 2) <= buffer_m**2
            if not inside.any():  # buffer smaller than a cell: the cell holding the point
                if 0 <= colf[i] < nc and 0 <= rowf[i] < nr:
                    out[i] = reduce(values[:, int(rowf[i]), int(colf[i])][:, None])
                continue
            out[i] = reduce(values[:, r0:r1 + 1, c0:c1 + 1][:, inside])
    cols = _band_names(da, band_dim, prefix)
    if cls is not None:
        labels = [f"{int(k)}" if float(k).is_integer() else f"{k:g}" for k in cls]
        cols = [f"{b}_c{k}" for b in cols for k in labels]
    outside = np.isnan(out).all(axis=1).sum()
    if outside:
        logger.info("%d of %d points have no value in %s (outside or nodata)", outside, lon.size, name)
    return pd.DataFrame(out, columns=cols)


def add_raster_covariates(
    data: CommunityData,
    rasters: Mapping[str, object] | Sequence,
    *,
    buffer_m: float | None = None,
    missing: str = "error",
) -> CommunityData:
    """Append raster values at ``data.coords`` as covariates.

    Parameters
    ----------
    data : CommunityData
        Must have ``coords`` (in ``data.crs``).
    rasters : mapping prefix -> raster, or sequence of rasters
        Passed to :func:`extract_at_points`.
    missing : {"error", "drop"}
        Sites with a NaN value (outside a raster / nodata): raise naming the first
        one, or drop them (logged).
    """
    if data.coords is None:
        raise InputDataError(f"{data!r} has no coordinates to extract raster values at")
    items = rasters.items() if isinstance(rasters, Mapping) else [(None, r) for r in rasters]
    frames = [extract_at_points(r, data.coords[:, 0], data.coords[:, 1], buffer_m=buffer_m,
                                crs_points=data.crs or "EPSG:4326", prefix=p) for p, r in items]
    new = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=range(data.n_sites))
    clash = [c for c in new.columns if c in data.covariates]
    if clash:
        raise InputDataError(f"raster covariate names {clash} already exist in {data!r}; pass distinct prefixes")
    bad = new.isna().any(axis=1).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (f"{int(bad.sum())} of {data.n_sites} sites have no raster value (e.g. site {data.site_ids[i]!r} at "
               f"{tuple(data.coords[i])}, columns {list(new.columns[new.iloc[i].isna()])})")
        if missing == "error":
            raise InputDataError(msg + "; use missing='drop' to drop them")
        logger.info("%s; dropped", msg)
    keep = ~bad
    sub = data.subset(np.flatnonzero(keep)) if bad.any() else data
    return CommunityData.from_arrays(
        np.column_stack([sub.X, new.to_numpy()[keep]]), sub.Y, site_ids=sub.site_ids, species=sub.species,
        covariates=list(sub.covariates) + list(new.columns), coords=sub.coords, crs=sub.crs, source=sub.source,
        extra=sub.extra,
    )
