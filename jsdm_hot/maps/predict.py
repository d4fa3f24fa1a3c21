"""The map loop: predict layers over a whole grid, chunk by chunk, into an xarray Dataset.

Memory: covariates and joint draws are only held for one chunk
(``chunk_size`` cells; draws for one seed block of ``seed_block`` cells:
``n_draws × seed_block × n_species`` bytes). The output arrays are float32 and
hold ``n_cells × (n_mapped_species + n_layers)`` values, e.g. 1.7 GB for
4 M cells and 100 species; map fewer species (``layers=["richness", ...,
"species:NAME"]``) to shrink it. Cells with any missing covariate are skipped
and stay NaN.

The per-chunk work is :func:`predict_chunk` (covariates of one chunk →
its layer arrays, seeded by the chunk's global position). The driver runs it
in a loop, or, with ``scheduler=``, ships it to a ``dask.distributed`` cluster
(:mod:`jsdm_hot.maps.cluster`); both give identical maps.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps.grid import MapGrid, covariate_plan, open_grid
from jsdm_hot.maps.layers import LAYER_INFO, CommunityBasis, fit_community_basis, predict_layers, resolve_layers

logger = logging.getLogger(__name__)

__all__ = ["predict_map", "predict_chunk", "ChunkSpec", "DEFAULT_LAYERS", "check_model"]

DEFAULT_LAYERS = ("richness", "uncertainty", "community", "species")


def check_model(model: Any) -> tuple[list[str], list[str]]:
    """Check the duck-typed model interface; return (feature names, species).

    Raises
    ------
    InputDataError
        When the object lacks ``predict_proba``, ``sample``, ``species_`` or ``feature_names_in_``.
    """
    missing = [a for a in ("predict_proba", "sample", "species_", "feature_names_in_") if not hasattr(model, a)]
    if missing:
        raise InputDataError(
            f"{type(model).__name__} cannot be mapped: it lacks {missing} (a fitted model with predict_proba, "
            "sample, species_ and feature_names_in_ is needed; was it fitted with named covariates?)")
    return [str(f) for f in model.feature_names_in_], [str(s) for s in model.species_]


def _valid_cells(grid: MapGrid, names: list[str], max_cells: int) -> np.ndarray:
    """Sorted flat indices of the cells where every needed covariate is finite."""
    ny, nx = grid.shape
    step = grid.strip_rows(max_cells)
    parts = []
    for r0 in range(0, ny, step):
        r1 = min(r0 + step, ny)
        if names:
            ok = np.isfinite(grid.read_rows(r0, r1, names)).all(axis=2).ravel()
        else:
            ok = np.ones((r1 - r0) * nx, dtype=bool)
        parts.append(np.flatnonzero(ok) + r0 * nx)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _assemble_X(block: np.ndarray, n_features: int, grid_pos: list[int], const: Mapping[int, float]) -> np.ndarray:
    X = np.empty((block.shape[0], n_features), dtype=np.float64)
    if grid_pos:
        X[:, grid_pos] = block
    for j, v in const.items():
        X[:, j] = v
    return X


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a chunk of the map needs besides the model and its covariates (small, picklable).

    Attributes
    ----------
    layers : tuple of str
        Layer names (keys of :data:`jsdm_hot.maps.layers.LAYER_INFO`).
    n_draws, seed : int
    richness_k : tuple of int
    species_index : tuple of int or None
        Columns of ``probability`` to keep (None: all species).
    community : CommunityBasis or None
    seed_block : int
        Cells per ``model.sample`` call; a chunk starting at valid cell
        ``start`` (a multiple of ``seed_block``) begins with seed block
        ``start // seed_block``.
    n_features : int
    grid_pos : tuple of int
        Model feature index of each grid covariate column.
    constants : tuple of (int, float)
        Model feature index and value of each constant covariate.
    """

    layers: tuple[str, ...]
    n_draws: int
    seed: int
    richness_k: tuple[int, ...]
    species_index: tuple[int, ...] | None
    community: CommunityBasis | None
    seed_block: int
    n_features: int
    grid_pos: tuple[int, ...]
    constants: tuple[tuple[int, float], ...]


def predict_chunk(model: Any, block: np.ndarray, start: int, spec: ChunkSpec) -> dict[str, np.ndarray]:
    """Layers of one chunk of valid cells: the unit of work of :func:`predict_map` (local or on dask).

    Parameters
    ----------
    model : object
        Fitted model (see :func:`predict_map`).
    block : ndarray of shape (n_cells, n_grid_covariates)
        Raw grid covariates of the valid cells ``start .. start + n_cells - 1``.
    start : int
        Position of the chunk's first cell among the map's valid cells (a
        multiple of ``spec.seed_block``); fixes the seeds of its draws.
    spec : ChunkSpec

    Returns
    -------
    dict of str to ndarray
        As :func:`jsdm_hot.maps.layers.predict_layers`: ``(n_cells,)`` or
        ``(n_cells, n_band)`` float32 per layer.
    """
    X = _assemble_X(block, spec.n_features, list(spec.grid_pos), dict(spec.constants))
    return predict_layers(model, X, layers=list(spec.layers), n_draws=spec.n_draws, seed=spec.seed,
                          richness_k=list(spec.richness_k),
                          species_index=None if spec.species_index is None else list(spec.species_index),
                          community=spec.community, seed_block=spec.seed_block,
                          first_block=int(start) // spec.seed_block)


def _chunk_inputs(g: MapGrid, valid: np.ndarray, names: list[str], chunk: int
                  ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(start, flat cell indices, covariates (n, len(names)))`` chunk by chunk of valid cells."""
    for start in range(0, valid.size, chunk):
        flat = valid[start:start + chunk]
        yield start, flat, g.read_cells(flat, names, max_cells=chunk)


def _local_chunks(model: Any, chunks: Iterable[tuple[int, np.ndarray, np.ndarray]], spec: ChunkSpec
                  ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    for start, flat, block in chunks:
        yield flat, predict_chunk(model, block, start, spec)


def predict_map(
    model: Any,
    grid: Any,
    *,
    layers: Iterable[str] | str = DEFAULT_LAYERS,
    n_draws: int = 100,
    seed: int = 0,
    richness_k: Sequence[int] = (),
    constants: Mapping[str, float] | None = None,
    chunk_size: int = 16_384,
    seed_block: int = 64,
    n_axes: int = 2,
    n_basis_cells: int = 5_000,
    reference: Sequence[str] | np.ndarray | None = None,
    standard_effort: bool | Mapping[str, Any] = False,
    x: str | None = None,
    y: str | None = None,
    crs: str | None = None,
    resolution: float | tuple[float, float] | None = None,
    progress: bool = False,
    scheduler: Any = None,
    n_workers: int | None = None,
    device: str = "auto",
    connect_timeout: float = 30.0,
) -> Any:
    """Predict map layers over a grid.

    Parameters
    ----------
    model : object or path
        Fitted model with ``predict_proba``, ``sample`` (joint draws),
        ``species_`` and ``feature_names_in_`` (e.g. :class:`jsdm_hot.HotVAE`),
        or the path of a saved model directory (loaded with its class's
        ``load``; needed with ``scheduler``, whose workers load it themselves).
    grid : MapGrid, DataFrame, xarray.Dataset, path or list of paths
        See :func:`jsdm_hot.maps.open_grid`. Covariates are matched to
        ``model.feature_names_in_`` by name and passed in raw units (the model
        standardises with its training statistics).
    layers : iterable of str or comma-separated str
        Layers or groups (see :func:`jsdm_hot.maps.layers.resolve_layers`):
        ``richness``, ``uncertainty``, ``interval``, ``exceedance``,
        ``community``, ``species``, ``species:NAME``, or layer names.
    n_draws : int, default=100
        Joint posterior draws per cell.
    seed : int, default=0
    richness_k : sequence of int, default=()
        Thresholds of ``P(richness >= k)``; giving any adds the ``richness_ge`` layer.
    constants : mapping of str to float, optional
        Values of model covariates missing from the grid (e.g. survey effort
        such as ``{"duration_minutes": 60}``), in raw units; they also
        override grid values.
    chunk_size : int, default=16384
        Cells per chunk (rounded up to a multiple of ``seed_block``); bounds memory.
    seed_block : int, default=64
        Cells per ``model.sample`` call; with the seed, fixes the draws
        independently of ``chunk_size``.
    n_axes : int, default=2
        Principal axes of composition (``composition_pc``).
    n_basis_cells : int, default=5000
        Valid cells, drawn at random with ``seed``, on which the PCA and the
        default reference community are fitted before mapping.
    reference : sequence of str or bool array, optional
        Reference community for ``beta_sor_reference`` (default: regional typical community).
    standard_effort : bool or mapping, default=False
        Fill eBird effort covariates that the model has and the grid lacks
        with the values of a standardised checklist,
        :func:`jsdm_hot.data.ebird.standard_effort` (a mapping gives its
        keyword arguments, e.g. ``{"hour": 6.5}``). ``constants`` win.
    x, y, crs, resolution
        Passed to :func:`jsdm_hot.maps.open_grid`.
    progress : bool, default=False
        Show a tqdm progress bar over cells.
    scheduler : None, "local", address str or distributed.Client, optional
        None: compute in this process. ``"local"``: start a
        ``distributed.LocalCluster`` of ``n_workers`` processes with one
        thread each. ``"tcp://host:8786"`` (any ``scheme://`` address):
        connect to a running ``dask scheduler``. A ``Client``: use it. The
        chunks run on the workers (see :mod:`jsdm_hot.maps.cluster`); the maps
        are identical to the single-process ones.
    n_workers : int, optional
        Workers of the ``"local"`` cluster (default: the CPUs this process may use).
    device : str, default="auto"
        Device the model is loaded on when ``model`` is a path (here and on the workers).
    connect_timeout : float, default=30
        Seconds to wait for the scheduler at ``scheduler``'s address.

    Returns
    -------
    xarray.Dataset
        Dims ``y``, ``x`` (grid order), and ``species``, ``k``, ``axis`` for
        multi-band layers; float32 variables (NaN where not predicted) with CF
        ``units``/``long_name``, CRS written with rioxarray (``spatial_ref``).

    Raises
    ------
    InputDataError
        On missing covariates (listing them), unknown layers or species, a
        grid without any cell with complete covariates, or an unreachable or
        malformed ``scheduler`` (or ``scheduler`` with a model object instead of a path).
    """
    import xarray as xr
    import rioxarray  # noqa: F401

    model_dir = None
    if isinstance(model, (str, os.PathLike)):
        from jsdm_hot.registry import load_model

        model_dir = os.path.abspath(os.fspath(model))
        model = load_model(model_dir, device=device)
    elif scheduler is not None:
        raise InputDataError(
            f"predict_map with scheduler={scheduler!r} needs the model directory, not a loaded "
            f"{type(model).__name__}: the workers load the model from it (save it with model.save(path) "
            "and pass the path)")
    features, species = check_model(model)
    names, sel_species = resolve_layers(layers, species)
    ks = sorted({int(k) for k in richness_k})
    if any(k < 0 for k in ks):
        raise InputDataError(f"richness thresholds k must be >= 0, got {ks}")
    if ks and "richness_ge" not in names:
        names = [n for n in LAYER_INFO if n in set(names) | {"richness_ge"}]
    if "richness_ge" in names and not ks:
        raise InputDataError("the exceedance layer P(richness >= k) needs thresholds: pass richness_k (CLI: --k 5,10)")
    if int(seed_block) < 1 or int(chunk_size) < 1:
        raise InputDataError(f"chunk_size and seed_block must be >= 1, got {chunk_size}, {seed_block}")
    seed_block = int(seed_block)
    chunk = -(-int(chunk_size) // seed_block) * seed_block

    g = open_grid(grid, x=x, y=y, crs=crs, resolution=resolution)
    constants = dict(constants or {})
    if standard_effort:
        effort = _standard_effort_values(dict(standard_effort) if isinstance(standard_effort, Mapping) else {})
        filled = {f: effort[f] for f in features if f in effort and f not in g.variables and f not in constants}
        logger.info("standard effort covariates: %s", filled)
        constants.update(filled)
    from_grid, const = covariate_plan(g, features, constants)
    grid_pos = [features.index(n) for n in from_grid]
    ny, nx = g.shape
    client = None
    with contextlib.ExitStack() as stack:
        if scheduler is not None:  # connect before the long part, so that a bad address fails fast
            from jsdm_hot.maps.cluster import dask_client

            client = stack.enter_context(dask_client(scheduler, n_workers=n_workers, timeout=connect_timeout))
        t0 = time.perf_counter()
        valid = _valid_cells(g, from_grid, max_cells=chunk)
        n_valid = int(valid.size)
        if n_valid == 0:
            counts = {n: int(np.isfinite(g.read_cells(np.arange(min(g.n_cells, 100_000)), [n])).sum())
                      for n in from_grid}
            raise InputDataError(
                f"no cell of grid {g.source} has all covariates {from_grid}; non-missing values per covariate "
                f"(first 100,000 cells): {counts}")
        logger.info("mapping %d of %d cells (%d x %d grid), %d species, %d draws", n_valid, g.n_cells, ny, nx,
                    len(species), n_draws)

        basis: CommunityBasis | None = None
        if {"composition_pc", "beta_sor_reference"} & set(names):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED]))
            pick = np.sort(rng.choice(valid, size=min(int(n_basis_cells), n_valid), replace=False))
            Xs = _assemble_X(g.read_cells(pick, from_grid, max_cells=chunk), len(features), grid_pos, const)
            basis = fit_community_basis(np.asarray(model.predict_proba(Xs)), species, n_axes=n_axes,
                                        reference=reference)
            logger.info("community basis: %s; PCA explained variance %s", basis.reference_rule,
                        np.round(basis.explained_variance_ratio, 3).tolist())

        sp_index = None if sel_species is None else [species.index(s) for s in sel_species]
        n_axes_fit = basis.components.shape[0] if basis is not None else 0
        extra = {"probability": len(sel_species or []), "richness_ge": len(ks), "composition_pc": n_axes_fit}
        store: dict[str, np.ndarray] = {}
        for name in names:
            dim = LAYER_INFO[name]["extra_dim"]
            shape = (extra[name], ny * nx) if dim else (ny * nx,)
            store[name] = np.full(shape, np.nan, dtype=np.float32)

        from tqdm.auto import tqdm

        spec = ChunkSpec(layers=tuple(names), n_draws=int(n_draws), seed=int(seed), richness_k=tuple(ks),
                         species_index=None if sp_index is None else tuple(sp_index), community=basis,
                         seed_block=seed_block, n_features=len(features), grid_pos=tuple(grid_pos),
                         constants=tuple((int(j), float(v)) for j, v in const.items()))
        chunks = _chunk_inputs(g, valid, from_grid, chunk)
        if client is None:
            results = _local_chunks(model, chunks, spec)
        else:
            from jsdm_hot.maps.cluster import map_chunks

            results = map_chunks(client, model_dir, chunks, spec, device=device)
        bar = tqdm(total=n_valid, unit="cell", disable=not progress, desc="mapping")
        try:
            for flat, res in results:
                for name, val in res.items():
                    if val.ndim == 2:
                        store[name][:, flat] = val.T
                    else:
                        store[name][flat] = val
                bar.update(flat.size)
        finally:
            bar.close()
            results.close()
        elapsed = time.perf_counter() - t0
        logger.info("mapped %d cells in %.1f s (%.0f cells/s)", n_valid, elapsed, n_valid / max(elapsed, 1e-9))

    coords: dict[str, Any] = {"y": ("y", g.y), "x": ("x", g.x)}
    data_vars = {}
    for name in names:
        info = LAYER_INFO[name]
        dim = info["extra_dim"]
        attrs = {"units": info["units"], "long_name": info["long_name"]}
        if dim:
            data_vars[name] = ((dim, "y", "x"), store.pop(name).reshape(-1, ny, nx), attrs)
        else:
            data_vars[name] = (("y", "x"), store.pop(name).reshape(ny, nx), attrs)
    if sel_species is not None:
        coords["species"] = ("species", np.asarray(sel_species, dtype=str))
    if "richness_ge" in names:
        coords["k"] = ("k", np.asarray(ks, dtype=np.int32))
    if "composition_pc" in names:
        coords["axis"] = ("axis", np.arange(1, n_axes_fit + 1, dtype=np.int32))
    attrs: dict[str, Any] = {
        "title": "jsdm-hot species distribution maps",
        "source": f"jsdm-hot {_version()} with {type(model).__name__}",
        "grid": g.source,
        "n_draws": int(n_draws),
        "seed": int(seed),
        "n_cells_predicted": n_valid,
        "covariates_from_grid": ",".join(from_grid),
        "constants": ",".join(f"{features[j]}={v:g}" for j, v in const.items()),
        "seed_block": seed_block,
        "richness_interval": "90% central interval: 5% and 95% quantiles of the richness of the joint draws",
    }
    if basis is not None:
        attrs["reference_community"] = ",".join(basis.reference_species)
        attrs["reference_rule"] = basis.reference_rule
        attrs["pca_explained_variance_ratio"] = basis.explained_variance_ratio.astype(np.float64)
        attrs["pca_n_cells"] = basis.n_cells
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
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

    res = getattr(g, "resolution", None)
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


def _standard_effort_values(kwargs: dict) -> dict[str, float]:
    """Effort covariates of a standardised eBird checklist, in every encoding ebird.py produces."""
    from jsdm_hot.data.ebird import standard_effort

    values: dict[str, float] = {}
    for de in ("hours", "log"):
        for te in ("cyclic", "hours"):
            values.update(standard_effort(**{"duration_encoding": de, "time_encoding": te, **kwargs}))
    return values


def _coord_attrs(ds: Any, crs: str | None) -> None:
    geographic = False
    if crs is not None:
        try:
            from pyproj import CRS

            geographic = CRS.from_user_input(crs).is_geographic
        except Exception:  # unknown CRS string: treat as projected
            geographic = False
    if geographic:
        ds["x"].attrs.update(standard_name="longitude", long_name="longitude", units="degrees_east", axis="X")
        ds["y"].attrs.update(standard_name="latitude", long_name="latitude", units="degrees_north", axis="Y")
    else:
        ds["x"].attrs.update(standard_name="projection_x_coordinate", long_name="x coordinate of projection",
                             axis="X")
        ds["y"].attrs.update(standard_name="projection_y_coordinate", long_name="y coordinate of projection",
                             axis="Y")
        if crs is not None:
            try:
                from pyproj import CRS

                unit = CRS.from_user_input(crs).axis_info[0].unit_name
                ds["x"].attrs["units"] = ds["y"].attrs["units"] = "m" if unit in ("metre", "meter") else unit
            except Exception:
                pass


def _version() -> str:
    try:
        from jsdm_hot import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "unknown"
