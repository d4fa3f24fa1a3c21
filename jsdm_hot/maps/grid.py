"""Prediction grids: a table of cells or a stack of aligned rasters, read row strip by row strip.

Both kinds expose the same small interface (:class:`MapGrid`): the regular
lattice (``x``, ``y`` cell-centre coordinates, ``crs``), the covariate names,
and :meth:`MapGrid.read_rows` returning the covariates of a strip of rows with
NaN where a cell has no data. :func:`open_grid` dispatches on the input kind.

Cells are indexed in row-major order of the output lattice (``flat = row * nx + col``);
``y`` is kept in the order of the input (north-up, descending, for tables).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)

__all__ = ["MapGrid", "TableGrid", "RasterGrid", "open_grid", "grid_from_table", "grid_from_rasters"]

_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img")
_MAX_CELLS = 2_000_000_000
_X_NAMES = ("x", "lon", "longitude")
_Y_NAMES = ("y", "lat", "latitude")


class MapGrid:
    """A regular lattice of cells with covariates; subclasses implement :meth:`_read_rows`.

    Attributes
    ----------
    x : ndarray of shape (nx,)
        Cell-centre x coordinates (increasing).
    y : ndarray of shape (ny,)
        Cell-centre y coordinates (one row per value).
    crs : str or None
        CRS understood by rioxarray (e.g. ``"EPSG:4326"``).
    variables : list of str
        Covariates available in the grid.
    source : str
        Description of the input, used in messages.
    """

    x: np.ndarray
    y: np.ndarray
    crs: str | None
    variables: list[str]
    source: str

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        return (len(self.y), len(self.x))

    @property
    def n_cells(self) -> int:
        return len(self.y) * len(self.x)

    def read_rows(self, r0: int, r1: int, names: Sequence[str]) -> np.ndarray:
        """Covariates of rows ``r0:r1``.

        Parameters
        ----------
        r0, r1 : int
            Row range (``0 <= r0 < r1 <= ny``).
        names : sequence of str
            Covariates, each in :attr:`variables`.

        Returns
        -------
        ndarray of shape (r1 - r0, nx, len(names)), float64
            NaN where a cell has no data.
        """
        missing = [n for n in names if n not in self.variables]
        if missing:
            raise InputDataError(f"covariates {missing} are not in the grid {self.source}")
        return self._read_rows(int(r0), int(r1), list(names))

    def _read_rows(self, r0: int, r1: int, names: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def strip_rows(self, max_cells: int = 262_144) -> int:
        """Rows per read strip so that a strip holds about ``max_cells`` cells."""
        return max(1, int(max_cells) // max(1, len(self.x)))

    def read_cells(self, flat: np.ndarray, names: Sequence[str], max_cells: int = 262_144) -> np.ndarray:
        """Covariates of the cells with sorted flat indices ``flat``.

        Rows are read in strips of at most ``max_cells`` cells; strips holding
        none of the cells are skipped.

        Returns
        -------
        ndarray of shape (len(flat), len(names)), float64
        """
        flat = np.asarray(flat, dtype=np.int64)
        nx = len(self.x)
        out = np.empty((flat.size, len(names)), dtype=np.float64)
        if flat.size == 0:
            return out
        rows = flat // nx
        step = self.strip_rows(max_cells)
        r = int(rows[0])
        last = int(rows[-1])
        while r <= last:
            r1 = min(r + step, last + 1)
            lo, hi = np.searchsorted(rows, [r, r1])
            if hi > lo:
                block = self.read_rows(r, r1, names).reshape(-1, len(names))
                out[lo:hi] = block[flat[lo:hi] - r * nx]
                r = r1
            else:
                r = int(rows[lo]) if lo < rows.size else last + 1
        return out


def _lattice(values: np.ndarray, res: float | None, axis: str, source: str) -> tuple[float, float, np.ndarray]:
    """(origin, resolution, integer position) of coordinates on a regular lattice."""
    u = np.unique(values)
    if res is None:
        if u.size < 2:
            raise InputDataError(
                f"cannot infer the {axis} resolution of grid {source}: all cells share {axis} = {float(u[0])}; "
                "pass resolution=")
        # the most common spacing of distinct coordinates (robust to a stray off-lattice cell)
        diffs = np.diff(u)
        scale = float(np.max(np.abs(u))) or 1.0
        keys = np.round(diffs / scale, 9)
        vals, counts = np.unique(keys, return_counts=True)
        res = float(np.median(diffs[keys == vals[np.argmax(counts)]]))
    res = float(abs(res))
    if not np.isfinite(res) or res <= 0:
        raise InputDataError(f"grid {source}: {axis} resolution must be positive, got {res}")
    pos = (values - u[0]) / res
    ipos = np.rint(pos).astype(np.int64)
    off = np.abs(pos - ipos)
    if off.max() > 1e-3:
        i = int(np.argmax(off))
        raise InputDataError(
            f"grid {source}: cell at row {i + 1} has {axis} = {float(values[i])!r}, which is not on a regular lattice "
            f"of step {res:g} from {float(u[0])!r}; maps need cells on a regular grid (pass resolution= if it was inferred wrong)")
    return float(u[0]), res, ipos


class TableGrid(MapGrid):
    """Grid from a table of cells: one row per cell with x/y cell-centre coordinates and covariates.

    Parameters
    ----------
    table : DataFrame
    x, y : str, optional
        Coordinate columns (cell centres); default the first present of
        ``x``/``lon``/``longitude`` and ``y``/``lat``/``latitude``.
    crs : str, default "EPSG:4326"
    resolution : float or (float, float), optional
        Cell size in x and y; inferred as the most common spacing between distinct coordinates.
    source : str, optional
        File name for messages.

    Notes
    -----
    Rows are sorted north to south (``y`` descending) and west to east. Non-numeric
    columns are not covariates; boolean columns become 0/1.
    """

    def __init__(self, table: pd.DataFrame, *, x: str | None = None, y: str | None = None,
                 crs: str | None = "EPSG:4326", resolution: float | tuple[float, float] | None = None,
                 source: str | None = None) -> None:
        self.source = source or "table"
        x = x or next((c for c in _X_NAMES if c in table.columns), "x")
        y = y or next((c for c in _Y_NAMES if c in table.columns), "y")
        for col in (x, y):
            if col not in table.columns:
                raise InputDataError(
                    f"grid {self.source} has no coordinate column {col!r}; its columns are {list(table.columns)[:30]}")
        if len(table) == 0:
            raise InputDataError(f"grid {self.source} has no rows")
        xs = pd.to_numeric(table[x], errors="coerce").to_numpy(dtype=np.float64)
        ys = pd.to_numeric(table[y], errors="coerce").to_numpy(dtype=np.float64)
        for col, v in ((x, xs), (y, ys)):
            bad = np.flatnonzero(~np.isfinite(v))
            if bad.size:
                raise InputDataError(
                    f"grid {self.source}: coordinate column {col!r} has a missing or non-numeric value at row "
                    f"{bad[0] + 1} ({table[col].iloc[bad[0]]!r})")
        rx, ry = (resolution, resolution) if np.isscalar(resolution) or resolution is None else resolution
        x0, dx, ix = _lattice(xs, rx, "x", self.source)
        y0, dy, iy = _lattice(ys, ry, "y", self.source)
        nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
        if nx * ny > _MAX_CELLS:
            raise InputDataError(f"grid {self.source}: inferred lattice of {ny} x {nx} cells is too large; "
                                 "check the coordinates or pass resolution=")
        row = (ny - 1) - iy  # north up
        self.x = x0 + dx * np.arange(nx)
        self.y = y0 + dy * (ny - 1 - np.arange(ny))
        self.crs = crs
        self.resolution = (dx, dy)
        flat = row * nx + ix
        order = np.argsort(flat, kind="stable")
        sflat = flat[order]
        dup = np.flatnonzero(np.diff(sflat) == 0)
        if dup.size:
            a, b = order[dup[0]], order[dup[0] + 1]
            raise InputDataError(
                f"grid {self.source}: rows {a + 1} and {b + 1} are the same cell (x={xs[a]!r}, y={ys[a]!r})")
        self._flat = sflat
        self._order = order
        self.coord_names = (x, y)
        numeric: dict[str, np.ndarray] = {}
        for col in table.columns:
            if col in (x, y):
                continue
            s = table[col]
            if s.dtype == bool:
                numeric[str(col)] = s.to_numpy(dtype=np.float64)
            elif pd.api.types.is_numeric_dtype(s):
                numeric[str(col)] = s.to_numpy(dtype=np.float64)
            elif s.dtype == object and set(s.dropna().unique()) <= {"True", "False", True, False}:
                numeric[str(col)] = s.map({"True": 1.0, "False": 0.0, True: 1.0, False: 0.0}).to_numpy(dtype=np.float64)
        self._columns = numeric
        self._nonnumeric = [str(c) for c in table.columns if c not in (x, y) and str(c) not in numeric]
        self.variables = list(numeric)
        self.n_table_cells = len(table)

    def read_rows(self, r0: int, r1: int, names: Sequence[str]) -> np.ndarray:  # noqa: D102 - documented in base
        bad = [n for n in names if n in self._nonnumeric]
        if bad:
            raise InputDataError(f"grid {self.source}: covariate column(s) {bad} are not numeric")
        return super().read_rows(r0, r1, names)

    def _read_rows(self, r0: int, r1: int, names: list[str]) -> np.ndarray:
        nx = len(self.x)
        out = np.full(((r1 - r0) * nx, len(names)), np.nan)
        lo, hi = np.searchsorted(self._flat, [r0 * nx, r1 * nx])
        idx = self._order[lo:hi]
        pos = self._flat[lo:hi] - r0 * nx
        for j, name in enumerate(names):
            out[pos, j] = self._columns[name][idx]
        return out.reshape(r1 - r0, nx, len(names))


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
        self.variables = list(arrays)
        self.dims = (ydim, xdim)

    def _read_rows(self, r0: int, r1: int, names: list[str]) -> np.ndarray:
        ny, nx = self.shape
        out = np.empty((r1 - r0, nx, len(names)), dtype=np.float64)
        for j, name in enumerate(names):
            da = self._arrays[name].isel({self.dims[0]: slice(r0, r1)})
            vals = np.asarray(da.values, dtype=np.float64)
            nodata = da.rio.nodata if hasattr(da, "rio") else None
            if nodata is not None and not np.isnan(nodata):
                vals[vals == nodata] = np.nan
            out[:, :, j] = vals
        return out


def _table_from_path(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".tsv", ".txt") or path.name.endswith((".csv.gz", ".tsv.gz")):
        sep = "\t" if ".tsv" in path.name else ","
        return pd.read_csv(path, sep=sep)
    raise InputDataError(f"grid file {path}: unknown table format {suffix!r} (use .csv, .tsv or .parquet)")


def grid_from_table(table: pd.DataFrame | str | Path, *, x: str | None = None, y: str | None = None,
                    crs: str | None = "EPSG:4326",
                    resolution: float | tuple[float, float] | None = None) -> TableGrid:
    """Grid from a table (DataFrame or CSV/TSV/parquet path) of cell centres and covariates.

    See :class:`TableGrid`.
    """
    if isinstance(table, (str, Path)):
        path = Path(table)
        if not path.exists():
            raise InputDataError(f"grid file {path} does not exist")
        return TableGrid(_table_from_path(path), x=x, y=y, crs=crs, resolution=resolution, source=str(path))
    return TableGrid(table, x=x, y=y, crs=crs, resolution=resolution)


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
            if da.rio.shape != rda.rio.shape or not np.allclose(tuple(da.rio.transform())[:6],
                                                                tuple(rda.rio.transform())[:6]):
                raise InputDataError(
                    f"raster {p} is not aligned with {rp}: shape {da.rio.shape} vs {rda.rio.shape}, transform "
                    f"{tuple(da.rio.transform())[:6]} vs {tuple(rda.rio.transform())[:6]}; resample it first "
                    "(e.g. rioxarray's reproject_match)")
            if (da.rio.crs is None) != (rda.rio.crs is None) or (da.rio.crs is not None and da.rio.crs != rda.rio.crs):
                raise InputDataError(f"raster {p} has CRS {da.rio.crs} but {rp} has {rda.rio.crs}")
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


def open_grid(grid: Any, *, x: str | None = None, y: str | None = None, crs: str | None = None,
              resolution: float | tuple[float, float] | None = None) -> MapGrid:
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

    Returns
    -------
    MapGrid

    Raises
    ------
    InputDataError
        For inputs of unknown kind, listing the accepted kinds.
    """
    import xarray as xr

    if isinstance(grid, MapGrid):
        return grid
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


def covariate_plan(grid: MapGrid, features: Sequence[str], constants: Mapping[str, float] | None
                   ) -> tuple[list[str], dict[int, float]]:
    """Match the model's features to grid variables and user constants.

    Returns
    -------
    from_grid : list of str
        Features read from the grid, in model order.
    const : dict of int to float
        Feature position -> constant value.

    Raises
    ------
    InputDataError
        Listing every feature found neither in the grid nor in ``constants``.
    """
    constants = dict(constants or {})
    unknown = [k for k in constants if k not in features]
    if unknown:
        raise InputDataError(f"constants {unknown} are not covariates of the model; its covariates are {list(features)}")
    const: dict[int, float] = {}
    from_grid: list[str] = []
    missing: list[str] = []
    for j, name in enumerate(features):
        if name in constants:
            try:
                value = float(constants[name])
            except (TypeError, ValueError) as exc:
                raise InputDataError(f"constant for covariate {name!r} must be a number, got {constants[name]!r}") from exc
            if not np.isfinite(value):
                raise InputDataError(f"constant for covariate {name!r} must be finite, got {value}")
            if name in grid.variables:
                logger.info("covariate %r: the constant %g overrides the grid's values", name, value)
            const[j] = value
        elif name in grid.variables:
            from_grid.append(name)
        else:
            missing.append(name)
    if missing:
        raise InputDataError(
            f"the model's covariates {missing} are not in the grid {grid.source} (it has {grid.variables[:40]}"
            f"{' ...' if len(grid.variables) > 40 else ''}); supply them as constants, e.g. "
            f"constants={{{', '.join(repr(m) + ': ...' for m in missing[:3])}}} (CLI: --constant NAME=VALUE), "
            "such as a standard survey effort")
    extra = [v for v in grid.variables if v not in features]
    if extra:
        logger.info("grid %s: %d variables are not model covariates and are ignored: %s", grid.source,
                    len(extra), extra[:10])
    return from_grid, const
