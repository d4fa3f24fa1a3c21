"""Maps for conservation planning: predict a fitted JSDM over an environmental grid.

>>> from jsdm_hot.maps import predict_map, write_geotiff, write_netcdf, write_pngs
>>> ds = predict_map(model, "grid.csv", constants={"duration_minutes": 60})   # doctest: +SKIP
>>> write_geotiff(ds, "maps/"); write_netcdf(ds, "maps/maps.nc"); write_pngs(ds, "maps/")  # doctest: +SKIP

* :mod:`~jsdm_hot.maps.grid` — grids from tables of cells or stacks of aligned rasters.
* :mod:`~jsdm_hot.maps.layers` — the pure kernel :func:`predict_layers` and the layer definitions.
* :mod:`~jsdm_hot.maps.predict` — :func:`predict_map`, the chunked loop returning an xarray Dataset.
* :mod:`~jsdm_hot.maps.writers`, :mod:`~jsdm_hot.maps.plots` — GeoTIFF, NetCDF and PNG output (atomic).

The model is duck-typed: any fitted object with ``predict_proba``, ``sample``
(joint draws), ``species_`` and ``feature_names_in_`` works. xarray, rioxarray
and matplotlib are imported only when a map is made.
"""

from jsdm_hot.maps.grid import MapGrid, RasterGrid, TableGrid, grid_from_rasters, grid_from_table, open_grid
from jsdm_hot.maps.layers import (
    LAYER_GROUPS,
    LAYER_INFO,
    CommunityBasis,
    fit_community_basis,
    predict_layers,
    resolve_layers,
)
from jsdm_hot.maps.plots import plot_layer, write_pngs
from jsdm_hot.maps.predict import DEFAULT_LAYERS, predict_map
from jsdm_hot.maps.writers import atomic_path, write_geotiff, write_netcdf

#: Alias of :func:`predict_map` (the name ``jsdm_hot.predict_grid`` exports).
predict_grid = predict_map

__all__ = [
    "CommunityBasis",
    "DEFAULT_LAYERS",
    "LAYER_GROUPS",
    "LAYER_INFO",
    "MapGrid",
    "RasterGrid",
    "TableGrid",
    "atomic_path",
    "fit_community_basis",
    "grid_from_rasters",
    "grid_from_table",
    "open_grid",
    "plot_layer",
    "predict_layers",
    "predict_grid",
    "predict_map",
    "resolve_layers",
    "write_geotiff",
    "write_netcdf",
    "write_pngs",
]
