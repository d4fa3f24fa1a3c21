"""The map grid interface: a regular lattice of cells with covariates (:class:`MapGrid`), shared helpers.

Tables of cells (:mod:`jsdm_hot.maps.grid_table`) and stacks of aligned
rasters (:mod:`jsdm_hot.maps.grid_raster`) implement it;
:func:`jsdm_hot.maps.grid.open_grid` picks one for any input.

Cells are indexed in row-major order of the output lattice (``flat = row * nx + col``);
``y`` is kept in the order of the input (north-up, descending, for tables).

Which cells are mapped (:meth:`MapGrid.valid_rows`): those where every
covariate the model reads from the grid is present; when the model reads none
(every covariate is a constant), those inside the grid's domain (a row of the
table; a cell where some raster has data). A ``mask`` variable (e.g. the
study-region template of a raster stack) further restricts the map to the
cells where it is present and not 0.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)

__all__ = ["MapGrid", "covariate_plan", "crs_label"]


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
    mask : str or None
        Variable whose missing (NaN / nodata) or 0 cells are not mapped.
    """

    x: np.ndarray
    y: np.ndarray
    crs: str | None
    variables: list[str]
    source: str
    mask: str | None = None
    #: Cell size (dx, dy), positive; None when a one-cell axis has no known size.
    resolution: tuple[float, float] | None = None

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

    def _domain_rows(self, r0: int, r1: int) -> np.ndarray:
        """Cells of rows ``r0:r1`` that hold data at all: (r1 - r0, nx) bool (default: any variable present)."""
        return np.isfinite(self.read_rows(r0, r1, self.variables)).any(axis=2)

    def set_mask(self, mask: str | None) -> "MapGrid":
        """Restrict the map to the cells where variable ``mask`` is present and not 0 (None: no mask).

        Raises
        ------
        InputDataError
            When ``mask`` is not a variable of the grid.
        """
        if mask is not None and mask not in self.variables:
            raise InputDataError(f"mask {mask!r} is not a variable of the grid {self.source}; it has "
                                 f"{self.variables[:40]}")
        self.mask = mask
        return self

    def valid_rows(self, r0: int, r1: int, names: Sequence[str]) -> np.ndarray:
        """Cells of rows ``r0:r1`` to map: every covariate in ``names`` present, inside the domain and the mask.

        Parameters
        ----------
        r0, r1 : int
        names : sequence of str
            Covariates read from the grid (may be empty: then the grid's
            domain decides, see the module notes).

        Returns
        -------
        ndarray of shape (r1 - r0, nx), bool
        """
        if names:
            ok = np.isfinite(self.read_rows(r0, r1, names)).all(axis=2)
        else:
            ok = self._domain_rows(int(r0), int(r1))
        if self.mask is not None:
            m = self.read_rows(r0, r1, [self.mask])[..., 0]
            ok &= np.isfinite(m) & (m != 0)
        return ok

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the cell edges, in the grid's CRS."""
        res = self.resolution or (0.0, 0.0)
        dx = abs(float(self.x[1] - self.x[0])) if len(self.x) > 1 else float(res[0])
        dy = abs(float(self.y[1] - self.y[0])) if len(self.y) > 1 else float(res[1])
        return (float(np.min(self.x)) - dx / 2, float(np.min(self.y)) - dy / 2,
                float(np.max(self.x)) + dx / 2, float(np.max(self.y)) + dy / 2)

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
        if flat.size == 0 or not names:
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



def crs_label(crs: Any) -> str:
    """Short readable name of a CRS for messages and figures.

    ``"EPSG:4326"`` when it has an EPSG code, else the projection
    method and its origin, e.g. ``"Lambert Azimuthal Equal Area (lat_0 33.2, lon_0 -83.7)"``;
    ``"None"`` for no CRS.
    """
    if crs is None:
        return "None"
    try:
        from pyproj import CRS

        c = CRS.from_user_input(crs)
    except Exception:  # pyproj raises its own CRSError; an unknown string is shown as given
        return str(crs)[:80]
    epsg = c.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    op = c.coordinate_operation
    if op is None:
        return c.name
    origin = [f"{'lat_0' if p.name.startswith('Latitude') else 'lon_0'} {p.value:g}" for p in op.params
              if p.name.startswith(("Latitude of", "Longitude of"))]
    return f"{op.method_name} ({', '.join(origin)})" if origin else op.method_name



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
