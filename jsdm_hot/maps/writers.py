"""Map writers: GeoTIFF (one file per layer, one band per species / k / axis) and CF NetCDF.

Every write is atomic: the file is written under a temporary name in the
destination directory and moved over the final name with :func:`os.replace`,
so an interrupted run never leaves a partial file under the final name. Files
get the permissions of the process umask (0644 under umask 022), not the
0600 of the temporary file.

The map's metadata (model, number of species, draws, seed, constants and
standard-effort values, reference community) travel with every file: as
global attributes of the NetCDF file and as GDAL metadata tags of each GeoTIFF.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.io import umask_mode

logger = logging.getLogger(__name__)

__all__ = ["atomic_path", "metadata_tags", "write_geotiff", "write_netcdf"]


@contextlib.contextmanager
def atomic_path(final: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success move it to ``final``.

    Parameters
    ----------
    final : path
        Destination file.
    overwrite : bool, default=True
        If False and ``final`` exists, raise :class:`InputDataError` before writing.

    Yields
    ------
    Path
        Temporary file in the same directory (removed if the block raises).
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise InputDataError(f"{final} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, umask_mode())  # mkstemp makes 0600
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def _tag_value(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return ",".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v.tolist())
    return str(v)


def metadata_tags(ds: Any, name: str) -> dict[str, str]:
    """GDAL metadata tags of layer ``name``: the map's attributes, then the layer's (as strings).

    Returns
    -------
    dict of str to str
        E.g. ``{"model": "HotVAE", "n_species": "32", "effort": "duration_minutes=60,...",
        "constants": ..., "layer": name, "units": ..., "long_name": ...}``.
    """
    da = ds[name]
    tags = {k: _tag_value(v) for k, v in ds.attrs.items() if v is not None and k != "title"}
    tags.update({k: _tag_value(v) for k, v in da.attrs.items() if v is not None and k not in ("grid_mapping",)})
    tags.update(layer=name, units=str(da.attrs.get("units", "")), long_name=str(da.attrs.get("long_name", name)))
    return tags


def _band_names(da: Any) -> list[str] | None:
    if da.ndim != 3:
        return None
    dim = da.dims[0]
    vals = da[dim].values
    if dim == "k":
        return [f"P(richness >= {int(v)})" for v in vals]
    if dim == "axis":
        return [f"composition axis {int(v)}" for v in vals]
    return [str(v) for v in vals]


def write_geotiff(ds: Any, out_dir: str | Path, layers: Sequence[str] | None = None, *,
                  overwrite: bool = True, compress: str = "deflate") -> list[Path]:
    """Write each layer of a map Dataset as a float32 GeoTIFF ``<out_dir>/<layer>.tif``.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`jsdm_hot.maps.predict_map` (dims y, x and optionally species/k/axis).
    out_dir : path
    layers : sequence of str, optional
        Variables to write (default: all data variables).
    overwrite : bool, default=True
    compress : str, default="deflate"

    Returns
    -------
    list of Path
        The files written. Multi-band layers get one band per species (or k,
        or axis), with the band description naming it; nodata is NaN; the CRS
        is the Dataset's; the map's and the layer's attributes are GDAL
        metadata tags (:func:`metadata_tags`: ``effort``, ``constants``,
        ``n_species``, ``n_draws``, ...).
    """
    import rioxarray  # noqa: F401  (registers .rio)

    out_dir = Path(out_dir)
    names = list(ds.data_vars) if layers is None else list(layers)
    for name in names:
        if name not in ds.data_vars:
            raise InputDataError(f"layer {name!r} is not in the map; it has {list(ds.data_vars)}")
        if not overwrite and (out_dir / f"{name}.tif").exists():
            raise InputDataError(f"{out_dir / f'{name}.tif'} already exists; pass overwrite=True "
                                 "(CLI: --overwrite) to replace it")
    import rasterio

    written = []
    crs = ds.rio.crs
    transform = ds.rio.transform()
    for name in names:
        da = ds[name]
        if da.dims[-2:] != ("y", "x"):
            raise InputDataError(f"layer {name!r} has dims {da.dims}; expected (..., y, x)")
        bands = _band_names(da)
        values = np.asarray(da.values)
        stack = values[None] if values.ndim == 2 else values
        ny, nx = stack.shape[1:]
        profile = dict(driver="GTiff", height=ny, width=nx, count=stack.shape[0], dtype="float32", crs=crs,
                       transform=transform, nodata=np.nan, compress=compress, interleave="band")
        if ny >= 256 and nx >= 256:
            profile.update(tiled=True, blockxsize=256, blockysize=256)
        final = out_dir / f"{name}.tif"
        # small GDAL block cache: written blocks are flushed instead of piling up in memory
        with atomic_path(final, overwrite=overwrite) as tmp, rasterio.Env(GDAL_CACHEMAX=64):
            with rasterio.open(tmp, "w", **profile) as dst:
                # one band at a time: no copy of a large multi-species layer
                for b in range(stack.shape[0]):
                    dst.write(np.asarray(stack[b], dtype=np.float32), b + 1)
                    dst.set_band_description(b + 1, bands[b] if bands is not None else name)
                dst.update_tags(**metadata_tags(ds, name))
        written.append(final)
        logger.info("wrote %s", final)
    return written


def _netcdf_engine(engine: str) -> str:
    if engine != "auto":
        return engine
    import importlib.util

    if importlib.util.find_spec("h5py") is not None and importlib.util.find_spec("h5netcdf") is not None:
        return "h5netcdf"
    if importlib.util.find_spec("netCDF4") is not None:
        return "netcdf4"
    logger.warning("neither h5netcdf+h5py nor netCDF4 is installed: writing uncompressed NetCDF-3 with scipy")
    return "scipy"


def write_netcdf(ds: Any, path: str | Path, *, overwrite: bool = True, engine: str = "auto") -> Path:
    """Write a map Dataset as CF-1.8 NetCDF.

    Each data variable keeps ``units`` and ``long_name`` and gets
    ``grid_mapping = "spatial_ref"`` when the Dataset has a CRS; x/y carry
    CF coordinate attributes; ``_FillValue`` is NaN.

    Parameters
    ----------
    ds : xarray.Dataset
    path : path
    overwrite : bool, default=True
    engine : {"auto", "h5netcdf", "netcdf4", "scipy"}, default="auto"
        "auto": NetCDF-4 with zlib compression via h5netcdf (needs h5py) or
        netCDF4; else NetCDF-3 via scipy (no compression).

    Returns
    -------
    Path
    """
    path = Path(path)
    engine = _netcdf_engine(engine)
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if v is not None}
    out.attrs["Conventions"] = "CF-1.8"
    has_crs = "spatial_ref" in out.coords or "spatial_ref" in out.data_vars
    encoding = {}
    for name in out.data_vars:
        if name == "spatial_ref":
            continue
        var = out[name]
        var.encoding.pop("grid_mapping", None)
        if has_crs:
            var.attrs["grid_mapping"] = "spatial_ref"
        encoding[name] = {"_FillValue": np.float32(np.nan), "dtype": "float32"}
        if engine != "scipy":
            encoding[name].update(zlib=True, complevel=4)
    if "species" in out.coords:
        out = out.assign_coords(species=out["species"].astype(str))
        out["species"].attrs["long_name"] = "species"
    with atomic_path(path, overwrite=overwrite) as tmp:
        out.to_netcdf(tmp, engine=engine, encoding=encoding)
    logger.info("wrote %s", path)
    return path
