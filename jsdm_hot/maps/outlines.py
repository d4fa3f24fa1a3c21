"""Outlines for map figures (coasts, countries, states) from a layer of a vector file (GeoPackage, shapefile, ...).

:func:`read_outlines` reads one layer with geopandas (``jsdm-hot[geo]``),
keeps the part around the map, turns polygons into their boundaries,
reprojects to the map's CRS and returns plain vertex arrays that
:func:`jsdm_hot.maps.plot_layer` draws as thin lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)

__all__ = ["Outlines", "outline_layer", "read_outlines"]


@dataclass(frozen=True)
class Outlines:
    """Lines to draw over a map.

    Attributes
    ----------
    lines : tuple of ndarray of shape (n_vertices, 2)
        Vertices (x, y) of each line, in the map's CRS.
    label : str
        Legend entry (the layer name).
    """

    lines: tuple[np.ndarray, ...]
    label: str


def _layers(path: Path) -> list[str]:
    import pyogrio

    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio's DataSourceError and friends
        raise InputDataError(f"cannot read vector file {path}: {exc}") from None


def outline_layer(path: str | Path, layer: str | None = None) -> str:
    """Check that ``path`` is a readable vector file with layer ``layer``; return the layer's name.

    ``layer=None`` is accepted for a file with a single layer. Cheap (reads
    the list of layers only): callers check it before a long computation.

    Raises
    ------
    InputDataError
        See :func:`read_outlines`.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"outline file {path} does not exist")
    names = _layers(path)
    if layer is None:
        if len(names) != 1:
            raise InputDataError(f"outline file {path} has {len(names)} layers {names}; choose one by name "
                                 "(e.g. outlines=(path, 'ne_states'), CLI: --outlines-layer)")
        return names[0]
    if layer not in names:
        raise InputDataError(f"layer {layer!r} is not in outline file {path}; its layers are {names}")
    return layer


def read_outlines(path: str | Path, layer: str | None = None, *, crs: Any = None,
                  bounds: tuple[float, float, float, float] | None = None) -> Outlines:
    """Read the outlines of one layer of a vector file.

    Parameters
    ----------
    path : path
        Vector file readable by GDAL/OGR (GeoPackage, shapefile, GeoJSON, ...).
    layer : str, optional
        Layer name (e.g. ``"ne_states"``); needed when the file has several.
    crs : str or CRS, optional
        CRS of the map; the outlines are reprojected to it.
    bounds : (xmin, ymin, xmax, ymax), optional
        Extent of the map in ``crs``; only the outlines within it are kept.

    Returns
    -------
    Outlines

    Raises
    ------
    InputDataError
        Missing or unreadable file, unknown layer (listing the file's layers),
        a layer without geometries or a CRS, or one without lines or polygons.
    """
    import geopandas as gpd
    import shapely

    path = Path(path)
    layer = outline_layer(path, layer)
    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio / GDAL errors are not JsdmHotError
        raise InputDataError(f"cannot read layer {layer!r} of outline file {path}: {exc}") from None
    if not isinstance(gdf, gpd.GeoDataFrame):  # e.g. a CSV file: OGR reads it as a table without geometries
        raise InputDataError(f"layer {layer!r} of outline file {path} has no geometries (is it a vector file?)")
    if gdf.crs is None:
        raise InputDataError(f"layer {layer!r} of outline file {path} has no coordinate reference system (CRS)")
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if crs is not None and bounds is not None:
        from pyproj import Transformer

        # crop in the file's CRS first: reprojecting the whole world to a local projection gives wild lines
        x0, y0, x1, y1 = Transformer.from_crs(crs, gdf.crs, always_xy=True).transform_bounds(*bounds, densify_pts=21)
        mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
        geoms = geoms.clip_by_rect(x0 - mx, y0 - my, x1 + mx, y1 + my)
    kinds = set(geoms.geom_type.dropna())
    if not kinds & {"Polygon", "MultiPolygon", "LineString", "MultiLineString", "LinearRing"} and len(geoms):
        raise InputDataError(f"layer {layer!r} of outline file {path} has no lines or polygons (it has {sorted(kinds)})")
    lines = geoms.boundary.where(geoms.geom_type.isin(["Polygon", "MultiPolygon"]), geoms)
    if crs is not None:
        lines = lines.to_crs(crs)
    if bounds is not None:
        lines = lines.clip_by_rect(*bounds)
    parts = shapely.get_parts(np.asarray(lines[~lines.is_empty].values))
    arrays = tuple(shapely.get_coordinates(p) for p in parts if not p.is_empty)
    logger.info("outlines: %d lines from layer %r of %s", len(arrays), layer, path)
    return Outlines(lines=arrays, label=str(layer))
