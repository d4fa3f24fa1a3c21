"""The unit of work of a map: covariates of one chunk of cells → its layer arrays (pure, no I/O).

:func:`predict_chunk` is all that runs per chunk, in this process
(:func:`jsdm_hot.maps.predict_map`) or on a dask worker
(:mod:`jsdm_hot.maps.cluster`): both call it with the same chunks and seeds,
so the maps are identical. :class:`ChunkSpec` holds everything it needs
besides the model and the covariates; it is small and picklable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jsdm_hot.maps.layers import CommunityBasis, predict_layers

__all__ = ["ChunkSpec", "predict_chunk"]


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a chunk of the map needs besides the model and its covariates.

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
    """

    layers: tuple[str, ...]
    n_draws: int
    seed: int
    richness_k: tuple[int, ...]
    species_index: tuple[int, ...] | None
    community: CommunityBasis | None
    seed_block: int


def predict_chunk(model: Any, X: np.ndarray, start: int, spec: ChunkSpec) -> dict[str, np.ndarray]:
    """Layers of one chunk of valid cells.

    Parameters
    ----------
    model : object
        Fitted estimator (``predict_proba``, ``sample``, ``x_min_``, ``x_max_``).
    X : ndarray of shape (n_cells, n_features)
        Raw covariates of the valid cells ``start .. start + n_cells - 1``, in
        the order of ``model.feature_names_in_`` (constants filled in).
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
    return predict_layers(model, X, layers=list(spec.layers), n_draws=spec.n_draws, seed=spec.seed,
                          richness_k=list(spec.richness_k),
                          species_index=None if spec.species_index is None else list(spec.species_index),
                          community=spec.community, seed_block=spec.seed_block,
                          first_block=int(start) // spec.seed_block)
