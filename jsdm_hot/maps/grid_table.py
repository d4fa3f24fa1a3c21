"""Grids from tables of cells: one row per cell with x/y cell-centre coordinates and covariates."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps.lattice import MapGrid

logger = logging.getLogger(__name__)

__all__ = ["TableGrid", "grid_from_table"]

_MAX_CELLS = 2_000_000_000
_X_NAMES = ("x", "lon", "longitude")
_Y_NAMES = ("y", "lat", "latitude")


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
            raise InputDataError(f"grid {self.source} has a header but no rows (one row per cell expected)")
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

    def _domain_rows(self, r0: int, r1: int) -> np.ndarray:
        """A table's domain: the cells that have a row."""
        nx = len(self.x)
        out = np.zeros((r1 - r0) * nx, dtype=bool)
        lo, hi = np.searchsorted(self._flat, [r0 * nx, r1 * nx])
        out[self._flat[lo:hi] - r0 * nx] = True
        return out.reshape(r1 - r0, nx)



def _table_from_path(path: Path) -> pd.DataFrame:
    """Read a grid table; empty, unparsable or undecodable files raise :class:`InputDataError`."""
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputDataError(f"grid {path} is empty (0 bytes); expected a header row and one row per cell")
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".tsv", ".txt") or path.name.endswith((".csv.gz", ".tsv.gz")):
            sep = "\t" if ".tsv" in path.name else ","
            return pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError:
        raise InputDataError(f"grid {path} is empty (no header row); expected a header row and one row per cell"
                             ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise InputDataError(f"cannot parse grid {path}: {str(exc).strip()}") from None
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
