"""The map driver: predict layers over a whole grid, chunk by chunk, into an xarray Dataset.

Three parts, as in elapid's raster prediction:

* :class:`~jsdm_hot.maps.options.MapOptions` — what to compute (layers,
  draws, seed, chunking);
* :func:`~jsdm_hot.maps.chunk.predict_chunk` — the pure kernel, covariates
  ``(n_cells, n_features)`` of one chunk → its layer arrays;
* this module — the I/O loop: open the grid, match the model's covariates to
  grid variables and constants, find the cells to map, check the extent,
  fit the community basis, feed the chunks to the kernel (here, or on a dask
  cluster with ``scheduler=``: :mod:`jsdm_hot.maps.cluster`), assemble the
  Dataset (:mod:`jsdm_hot.maps.dataset`).

Memory: covariates and joint draws are only held for one chunk
(``chunk_size`` cells; draws for one seed block of ``seed_block`` cells:
``n_draws × seed_block × n_species`` bytes). The output arrays are float32 and
hold ``n_cells × (n_mapped_species + n_layers)`` values, e.g. 1.7 GB for
4 M cells and 100 species; map fewer species (``layers=["richness", ...,
"species:NAME"]``) to shrink it. Cells that are not mapped (a missing
covariate, outside the grid's domain or mask) stay NaN in every layer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any, Iterator, Mapping

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps import cluster
from jsdm_hot.maps.chunk import ChunkSpec, predict_chunk
from jsdm_hot.maps.dataset import map_dataset
from jsdm_hot.maps.grid import open_grid
from jsdm_hot.maps.lattice import MapGrid, covariate_plan, crs_label
from jsdm_hot.maps.layers import LAYER_INFO, CommunityBasis, fit_community_basis
from jsdm_hot.maps.model import ModelInfo, load_model, model_info
from jsdm_hot.maps.options import DEFAULT_LAYERS, MapOptions, ResolvedLayers

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_LAYERS", "MapOptions", "predict_map"]


def predict_map(
    model: Any,
    grid: Any,
    options: MapOptions | None = None,
    *,
    constants: Mapping[str, float] | None = None,
    effort: Mapping[str, float] | None = None,
    training_sites: Any = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    device: str = "auto",
    connect_timeout: float = 30.0,
    progress: bool = False,
    **option_fields: Any,
) -> Any:
    """Predict map layers over a grid.

    Parameters
    ----------
    model : estimator or path
        Fitted jsdm-hot estimator (:class:`jsdm_hot.HotVAE` or a baseline;
        see :mod:`jsdm_hot.maps.model` for the contract used), or the path of
        a saved model directory (needed with ``scheduler``, whose workers load it).
    grid : MapGrid, DataFrame, xarray.Dataset, path or list of paths
        See :func:`jsdm_hot.maps.open_grid` (call it yourself for other
        coordinate columns, a CRS, a resolution or a ``mask`` variable).
        Covariates are matched to ``model.feature_names_in_`` by name, in raw units.
    options : MapOptions, optional
        Layers, draws, seed, chunking (default :class:`MapOptions`'s defaults).
    constants : mapping of str to float, optional
        Values of model covariates, in raw units, used in every cell (they
        also override grid values); every model covariate may come from here.
    effort : mapping of str to float, optional
        Survey-effort covariates of a standard checklist (e.g.
        ``{"duration_minutes": 60, "effort_distance_km": 1}``, computed by the
        caller). Those that are model covariates absent from the grid and not
        in ``constants`` are used as constants; the others are ignored. They
        are recorded (``effort`` attribute, figure captions, GeoTIFF tags):
        the map is then the probability of *detection on that checklist*.
    training_sites : array-like of shape (n_sites, 2), optional
        Longitude / latitude (WGS84) of the training sites. A WARNING is
        logged when the grid's extent does not overlap theirs at all.
    scheduler : None, "local", address str or distributed.Client, optional
        None: compute in this process. ``"local"``: a ``LocalCluster`` of
        ``n_workers`` processes; ``"tcp://host:8786"``: a running scheduler;
        a ``Client``: use it. Maps are identical to the single-process ones.
    n_workers : int, optional
        Workers of the ``"local"`` cluster (default: the CPUs this process may use).
    device : str, default="auto"
        Device a model given as a path is loaded on (here and on the workers).
    connect_timeout : float, default=30
        Seconds to wait for the scheduler at ``scheduler``'s address.
    progress : bool, default=False
        Show a tqdm progress bar over cells.
    **option_fields
        Fields of :class:`MapOptions` replacing those of ``options``:
        ``layers``, ``n_draws``, ``seed``, ``richness_k``, ``reference``,
        ``n_axes``, ``n_basis_cells``, ``chunk_size``, ``seed_block``.

    Returns
    -------
    xarray.Dataset
        Dims ``y``, ``x`` (grid order), and ``species``, ``k``, ``axis`` for
        multi-band layers; float32 variables (NaN where not mapped) with CF
        ``units``/``long_name``; CRS written with rioxarray (``spatial_ref``);
        attributes recording the model, constants, effort, draws, seed and the
        share of cells outside the training range.

    Raises
    ------
    InputDataError
        Missing covariates (listing them), unknown layers or species, a grid
        without any cell to map, an unreachable or malformed ``scheduler`` (or
        ``scheduler`` with a model object instead of a path).
    TypeError
        An unknown keyword (neither a parameter nor a :class:`MapOptions` field).
    """
    opts = MapOptions.build(options, **option_fields)
    model_dir = None
    if isinstance(model, (str, os.PathLike)):
        model_dir = os.path.abspath(os.fspath(model))
        model = load_model(model_dir, device=device)
    elif scheduler is not None:
        raise InputDataError(
            f"predict_map with scheduler={scheduler!r} needs the model directory, not a loaded "
            f"{type(model).__name__}: the workers load the model from it (save it with model.save(path) "
            "and pass the path)")
    info = model_info(model)
    lay = opts.resolve(info.species)
    g = open_grid(grid)
    values, effort_used = _constants(info.features, g, constants, effort)
    from_grid, const = covariate_plan(g, info.features, values)
    _log_constants_outside_range(info, const)
    with contextlib.ExitStack() as stack:
        client = None
        if scheduler is not None:  # connect before the long part, so that a bad address fails fast
            client = stack.enter_context(cluster.dask_client(scheduler, n_workers=n_workers, timeout=connect_timeout))
        t0 = time.perf_counter()
        valid = _valid_cells(g, from_grid, opts.chunk)
        logger.info("mapping %d of %d cells (%d x %d grid), %d species, %d draws", valid.size, g.n_cells,
                    *g.shape, len(info.species), opts.n_draws)
        site_attrs = _check_extent(g, training_sites)
        basis = None
        if {"composition_pc", "beta_sor_reference"} & set(lay.names):
            basis = _community_basis(model, info, g, valid, from_grid, const, opts)
        spec = ChunkSpec(layers=tuple(dict.fromkeys((*lay.names, "extrapolation"))), n_draws=int(opts.n_draws),
                         seed=int(opts.seed), richness_k=lay.richness_k, species_index=lay.species_index,
                         community=basis, seed_block=int(opts.seed_block))
        chunks = _chunk_inputs(g, valid, from_grid, info, const, opts.chunk)
        if client is None:
            results = ((flat, predict_chunk(model, X, start, spec)) for start, flat, X in chunks)
        else:
            results = cluster.map_chunks(client, model_dir, chunks, spec, device=device)
        store, n_outside = _collect(results, g, lay, basis, valid.size, progress)
        elapsed = time.perf_counter() - t0
        logger.info("mapped %d cells in %.1f s (%.0f cells/s)", valid.size, elapsed, valid.size / max(elapsed, 1e-9))
    _log_extrapolation(info, n_outside, valid.size)
    attrs = _attrs(info, g, opts, lay, const, effort_used, from_grid, valid.size, n_outside, basis, site_attrs)
    return map_dataset(g, store, lay.names, species=lay.species, richness_k=lay.richness_k,
                       n_axes=0 if basis is None else basis.components.shape[0], attrs=attrs,
                       layer_attrs=_layer_attrs(info, basis))


def _constants(features: tuple[str, ...], g: MapGrid, constants: Mapping[str, float] | None,
               effort: Mapping[str, float] | None) -> tuple[dict[str, float], dict[str, float]]:
    """Constants to use (``constants`` + the effort values the model needs) and the effort values used."""
    values = dict(constants or {})
    used: dict[str, float] = {}
    if effort:
        used = {f: effort[f] for f in features if f in effort and f not in g.variables and f not in values}
        ignored = sorted(set(effort) - set(used))
        logger.info("standard effort covariates: %s%s", used, f" (not used: {ignored})" if ignored else "")
        values.update(used)
    return values, {k: float(v) for k, v in used.items()}


def _log_constants_outside_range(info: ModelInfo, const: Mapping[int, float]) -> None:
    for j, v in const.items():
        lo, hi = info.x_min[j], info.x_max[j]
        if np.isfinite(lo) and np.isfinite(hi) and not lo <= v <= hi:
            logger.warning("constant %s=%g is outside the model's training range [%g, %g]: every cell of the map "
                           "extrapolates in this covariate", info.features[j], v, lo, hi)


def _valid_cells(g: MapGrid, names: list[str], max_cells: int) -> np.ndarray:
    """Sorted flat indices of the cells to map (see :meth:`MapGrid.valid_rows`)."""
    ny, nx = g.shape
    step = g.strip_rows(max_cells)
    parts = [np.flatnonzero(g.valid_rows(r0, min(r0 + step, ny), names).ravel()) + r0 * nx
             for r0 in range(0, ny, step)]
    valid = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if valid.size:
        return valid
    if names:
        counts = {n: int(np.isfinite(g.read_cells(np.arange(min(g.n_cells, 100_000)), [n])).sum()) for n in names}
        raise InputDataError(
            f"no cell of grid {g.source} has all covariates {names}"
            f"{f' inside the mask {g.mask!r}' if g.mask else ''}; non-missing values per covariate "
            f"(first 100,000 cells): {counts}")
    raise InputDataError(f"no cell of grid {g.source} holds data{f' inside the mask {g.mask!r}' if g.mask else ''}; "
                         "nothing to map")


def _check_extent(g: MapGrid, training_sites: Any) -> dict[str, Any]:
    """Compare the grid's extent with the training sites' (lon/lat); warn when they do not overlap at all."""
    if training_sites is None:
        return {}
    pts = np.asarray(training_sites, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InputDataError(f"training_sites must have shape (n_sites, 2) (longitude, latitude), got {pts.shape}")
    pts = pts[np.isfinite(pts).all(axis=1)]
    if pts.size == 0 or g.crs is None:
        return {}
    from pyproj import Transformer

    lonlat = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
    x, y = Transformer.from_crs("EPSG:4326", g.crs, always_xy=True).transform(pts[:, 0], pts[:, 1])
    x0, y0, x1, y1 = g.bounds
    inside = int(np.sum((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)))
    grid_ll = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True).transform_bounds(x0, y0, x1, y1)
    fmt = "lon {:.2f}..{:.2f}, lat {:.2f}..{:.2f}"
    if inside == 0:
        logger.warning(
            "the grid %s (%s) does not overlap the %d training sites (%s) at all: the whole map is a spatial "
            "extrapolation of the model; is it the grid this model was meant for?", g.source,
            fmt.format(grid_ll[0], grid_ll[2], grid_ll[1], grid_ll[3]), len(pts),
            fmt.format(lonlat[0], lonlat[2], lonlat[1], lonlat[3]))
    else:
        logger.info("%d of %d training sites lie within the grid's extent", inside, len(pts))
    return {"training_sites_lonlat_bounds": np.asarray(lonlat), "training_sites_in_grid": inside,
            "n_training_sites": int(len(pts))}


def _community_basis(model: Any, info: ModelInfo, g: MapGrid, valid: np.ndarray, from_grid: list[str],
                     const: Mapping[int, float], opts: MapOptions) -> CommunityBasis:
    """PCA axes and reference community, fitted on ``n_basis_cells`` valid cells drawn with the seed."""
    rng = np.random.default_rng(np.random.SeedSequence([int(opts.seed), 0x5EED]))
    pick = np.sort(rng.choice(valid, size=min(int(opts.n_basis_cells), valid.size), replace=False))
    X = _assemble_X(g.read_cells(pick, from_grid, max_cells=opts.chunk), info, from_grid, const)
    basis = fit_community_basis(np.asarray(model.predict_proba(X)), info.species, n_axes=opts.n_axes,
                                reference=opts.reference)
    logger.info("community basis: %s; PCA explained variance %s", basis.reference_rule,
                np.round(basis.explained_variance_ratio, 3).tolist())
    return basis


def _assemble_X(block: np.ndarray, info: ModelInfo, from_grid: list[str], const: Mapping[int, float]) -> np.ndarray:
    """Covariates (n_cells, n_features) in model order from grid columns ``block`` and the constants."""
    X = np.empty((block.shape[0], len(info.features)), dtype=np.float64)
    if from_grid:
        X[:, [info.features.index(n) for n in from_grid]] = block
    for j, v in const.items():
        X[:, j] = v
    return X


def _chunk_inputs(g: MapGrid, valid: np.ndarray, from_grid: list[str], info: ModelInfo,
                  const: Mapping[int, float], chunk: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(start, flat cell indices, X (n, n_features))`` chunk by chunk of valid cells."""
    for start in range(0, valid.size, chunk):
        flat = valid[start:start + chunk]
        yield start, flat, _assemble_X(g.read_cells(flat, from_grid, max_cells=chunk), info, from_grid, const)


def _collect(results: Any, g: MapGrid, lay: ResolvedLayers, basis: CommunityBasis | None, n_valid: int,
             progress: bool) -> tuple[dict[str, np.ndarray], int]:
    """Write each chunk's layers into full-grid float32 arrays; count cells outside the training range."""
    from tqdm.auto import tqdm

    n_band = {"probability": len(lay.species or ()), "richness_ge": len(lay.richness_k),
              "composition_pc": 0 if basis is None else basis.components.shape[0]}
    store = {name: np.full((n_band[name], g.n_cells) if LAYER_INFO[name]["extra_dim"] else (g.n_cells,), np.nan,
                           dtype=np.float32) for name in lay.names}
    n_outside = 0
    bar = tqdm(total=n_valid, unit="cell", disable=not progress, desc="mapping")
    try:
        for flat, res in results:
            n_outside += int(np.sum(res["extrapolation"] > 0))
            for name in lay.names:
                val = res[name]
                if val.ndim == 2:
                    store[name][:, flat] = val.T
                else:
                    store[name][flat] = val
            bar.update(flat.size)
    finally:
        bar.close()
        results.close()
    return store, n_outside


def _log_extrapolation(info: ModelInfo, n_outside: int, n_valid: int) -> None:
    if not (np.isfinite(info.x_min) & np.isfinite(info.x_max)).any():
        logger.info("%s records no training range of its covariates: extrapolation is not checked", info.name)
    elif n_outside:
        logger.warning("%d of %d mapped cells (%.1f%%) have covariates outside the model's training range: the "
                       "map extrapolates there (layer 'extrapolation' shows where)", n_outside, n_valid,
                       100.0 * n_outside / max(n_valid, 1))


def _attrs(info: ModelInfo, g: MapGrid, opts: MapOptions, lay: ResolvedLayers, const: Mapping[int, float],
           effort: Mapping[str, float], from_grid: list[str], n_valid: int, n_outside: int,
           basis: CommunityBasis | None, site_attrs: Mapping[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "title": "jsdm-hot species distribution maps",
        "source": f"jsdm-hot {_version()} with {info.name}",
        "model": info.name,
        "n_species": len(info.species),
        "grid": g.source,
        "crs_name": crs_label(g.crs),
        "n_draws": int(opts.n_draws),
        "seed": int(opts.seed),
        "n_cells_predicted": int(n_valid),
        "n_cells_outside_training_range": int(n_outside),
        "covariates_from_grid": ",".join(from_grid),
        "constants": ",".join(f"{info.features[j]}={v:g}" for j, v in const.items()),
        "effort": ",".join(f"{k}={v:g}" for k, v in effort.items()),
        "seed_block": int(opts.seed_block),
        "richness_interval": "90% central interval: 5% and 95% quantiles of the richness of the joint draws",
        **site_attrs,
    }
    if g.mask is not None:
        attrs["mask"] = g.mask
    if basis is not None:
        attrs["reference_community"] = ",".join(basis.reference_species)
        attrs["reference_rule"] = basis.reference_rule
        attrs["pca_explained_variance_ratio"] = basis.explained_variance_ratio.astype(np.float64)
        attrs["pca_n_cells"] = basis.n_cells
    return attrs


def _layer_attrs(info: ModelInfo, basis: CommunityBasis | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        "extrapolation": {"covariates": ",".join(info.features), "training_min": info.x_min,
                          "training_max": info.x_max}}
    if basis is not None:
        out["beta_sor_reference"] = {"reference_community": ",".join(basis.reference_species),
                                     "reference_rule": basis.reference_rule}
    return out


def _version() -> str:
    from jsdm_hot import __version__

    return __version__
