"""Maps for conservation planning: predict a fitted JSDM over an environmental grid.

>>> from jsdm_hot.maps import predict_map, write_geotiff, write_netcdf, write_pngs
>>> ds = predict_map(model, "grid.csv", constants={"duration_minutes": 60})   # doctest: +SKIP
>>> write_geotiff(ds, "maps/"); write_netcdf(ds, "maps/maps.nc"); write_pngs(ds, "maps/")  # doctest: +SKIP

* :mod:`~jsdm_hot.maps.grid` — :func:`open_grid`: grids from tables of cells
  (:mod:`~jsdm_hot.maps.grid_table`) or stacks of aligned rasters
  (:mod:`~jsdm_hot.maps.grid_raster`), sharing :class:`~jsdm_hot.maps.lattice.MapGrid`.
* :mod:`~jsdm_hot.maps.options` — :class:`MapOptions`, what a map computes.
* :mod:`~jsdm_hot.maps.layers` — the layer definitions and :func:`predict_layers`;
  :mod:`~jsdm_hot.maps.chunk` — the per-chunk kernel built on it.
* :mod:`~jsdm_hot.maps.predict` — :func:`predict_map`, the driver returning an xarray Dataset
  (:mod:`~jsdm_hot.maps.dataset`); :mod:`~jsdm_hot.maps.cluster` runs its chunks on dask.
* :mod:`~jsdm_hot.maps.writers`, :mod:`~jsdm_hot.maps.plots` — GeoTIFF, NetCDF and PNG output (atomic).

The model is any fitted jsdm-hot estimator; maps use only its contract
(:mod:`~jsdm_hot.maps.model`): ``predict_proba``, ``sample`` (joint draws),
``species_``, ``feature_names_in_`` and the training range ``x_min_`` /
``x_max_``. xarray, rioxarray, geopandas and matplotlib are imported only
when a map is made.
"""

from jsdm_hot.maps.grid import MapGrid, RasterGrid, TableGrid, crs_label, grid_from_rasters, grid_from_table, open_grid
from jsdm_hot.maps.layers import (
    LAYER_GROUPS,
    LAYER_INFO,
    CommunityBasis,
    fit_community_basis,
    predict_layers,
    resolve_layers,
)
from jsdm_hot.maps.options import DEFAULT_LAYERS, MapOptions
from jsdm_hot.maps.plots import plot_layer, write_pngs
from jsdm_hot.maps.predict import predict_map
from jsdm_hot.maps.writers import atomic_path, write_geotiff, write_netcdf

#: Alias of :func:`predict_map` (the name ``jsdm_hot.predict_grid`` exports).
predict_grid = predict_map

__all__ = [
    "CommunityBasis",
    "DEFAULT_LAYERS",
    "LAYER_GROUPS",
    "LAYER_INFO",
    "MapGrid",
    "MapOptions",
    "RasterGrid",
    "TableGrid",
    "atomic_path",
    "crs_label",
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
