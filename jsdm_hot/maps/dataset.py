"""Assemble the map's layer arrays into a CF-annotated, georeferenced xarray Dataset."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from jsdm_hot.maps.lattice import MapGrid
from jsdm_hot.maps.layers import LAYER_INFO

__all__ = ["map_dataset"]


def map_dataset(g: MapGrid, store: dict[str, np.ndarray], names: Sequence[str], *,
                species: Sequence[str] | None, richness_k: Sequence[int], n_axes: int,
                attrs: Mapping[str, Any], layer_attrs: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """The layers as a Dataset on the grid's lattice (the arrays of ``store`` are consumed, not copied).

    Parameters
    ----------
    g : MapGrid
    store : dict of str to ndarray
        Per layer, ``(ny * nx,)`` or ``(n_band, ny * nx)`` float32 (NaN where not predicted).
    names : sequence of str
        Layers to include, in order.
    species : sequence of str or None
        Coordinate of the ``probability`` bands.
    richness_k : sequence of int
        Coordinate of the ``richness_ge`` bands.
    n_axes : int
        Number of ``composition_pc`` bands.
    attrs : mapping
        Dataset attributes.
    layer_attrs : mapping of str to mapping, optional
        Extra attributes per layer (besides CF ``units`` / ``long_name``).

    Returns
    -------
    xarray.Dataset
        Dims ``y``, ``x`` (grid order) and ``species`` / ``k`` / ``axis`` for
        multi-band layers; the CRS and transform written with rioxarray
        (``spatial_ref``).
    """
    import rioxarray  # noqa: F401  (registers .rio)
    import xarray as xr

    ny, nx = g.shape
    coords: dict[str, Any] = {"y": ("y", g.y), "x": ("x", g.x)}
    data_vars = {}
    for name in names:
        info = LAYER_INFO[name]
        dim = info["extra_dim"]
        var_attrs = {"units": info["units"], "long_name": info["long_name"], **(layer_attrs or {}).get(name, {})}
        if dim:
            data_vars[name] = ((dim, "y", "x"), store.pop(name).reshape(-1, ny, nx), var_attrs)
        else:
            data_vars[name] = (("y", "x"), store.pop(name).reshape(ny, nx), var_attrs)
    if species is not None:
        coords["species"] = ("species", np.asarray(list(species), dtype=str))
    if "richness_ge" in names:
        coords["k"] = ("k", np.asarray(list(richness_k), dtype=np.int32))
    if "composition_pc" in names:
        coords["axis"] = ("axis", np.arange(1, n_axes + 1, dtype=np.int32))
    ds = xr.Dataset(data_vars, coords=coords, attrs=dict(attrs))
    _coord_attrs(ds, g.crs)
    # inplace: rioxarray's default is a deep copy, which would double the memory of a large map
    ds.rio.set_spatial_dims(x_dim="x", y_dim="y", inplace=True)
    if g.crs is not None:
        ds.rio.write_crs(g.crs, inplace=True)
    transform = _transform(g)
    if transform is not None:
        ds.rio.write_transform(transform, inplace=True)
    return ds


def _transform(g: MapGrid) -> Any:
    """Affine transform of the lattice (cell edges), or None when a one-cell axis has no known size."""
    from affine import Affine

    res = g.resolution
    if len(g.x) > 1:
        dx = float(g.x[1] - g.x[0])
    elif res is not None:
        dx = float(res[0])
    else:
        return None
    if len(g.y) > 1:
        dy = float(g.y[1] - g.y[0])
    elif res is not None:
        dy = -float(res[1])
    else:
        return None
    return Affine(dx, 0.0, float(g.x[0]) - dx / 2, 0.0, dy, float(g.y[0]) - dy / 2)


def _coord_attrs(ds: Any, crs: str | None) -> None:
    """CF attributes of x/y: longitude/latitude for a geographic CRS, projection coordinates (with units) otherwise."""
    c = None
    if crs is not None:
        try:
            from pyproj import CRS

            c = CRS.from_user_input(crs)
        except Exception:  # pyproj's CRSError: an unknown CRS string is treated as projected, unit unknown
            c = None
    if c is not None and c.is_geographic:
        ds["x"].attrs.update(standard_name="longitude", long_name="longitude", units="degrees_east", axis="X")
        ds["y"].attrs.update(standard_name="latitude", long_name="latitude", units="degrees_north", axis="Y")
        return
    ds["x"].attrs.update(standard_name="projection_x_coordinate", long_name="x coordinate of projection", axis="X")
    ds["y"].attrs.update(standard_name="projection_y_coordinate", long_name="y coordinate of projection", axis="Y")
    if c is not None and c.axis_info:
        unit = c.axis_info[0].unit_name
        ds["x"].attrs["units"] = ds["y"].attrs["units"] = "m" if unit in ("metre", "meter") else unit
