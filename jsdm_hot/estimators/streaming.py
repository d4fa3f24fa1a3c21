"""What HotVAE's streaming fit (a :class:`~jsdm_hot.data.streaming.ParquetCommunity`) needs before training.

One pass over the training row groups gives the standardisation, the training range,
the prevalences and (for ``graph="prior"``) the co-occurrence counts; the validation
sites are a seeded ``val_fraction`` of the row groups (or ``X_val``) read into memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.graph import LabelGraph

__all__ = ["StreamInputs", "stream_inputs"]

logger = logging.getLogger(__name__)


@dataclass
class StreamInputs:
    """Training row groups, their one-pass statistics, the validation arrays and the label graph.

    Attributes
    ----------
    units : ndarray of int
        Training row groups.
    stats : the :meth:`ParquetCommunity.scan` statistics of ``units``
    X_val : ndarray of shape (n_val, n_features), covariates in training order (not standardised)
    Y_val : ndarray of shape (n_val, n_species), uint8
    label_graph : LabelGraph
    """

    units: np.ndarray
    stats: Any
    X_val: np.ndarray
    Y_val: np.ndarray
    label_graph: LabelGraph


def stream_inputs(data, X_val, *, val_fraction: float | None, seed: int | None, graph_kind: str,
                  label_graph: LabelGraph | None) -> StreamInputs:
    """Hold out validation row groups (or read ``X_val``), scan the rest, build a complete or prior graph."""
    from jsdm_hot.data.splits import holdout_split
    from jsdm_hot.data.streaming import ParquetCommunity

    species, cov_names = data.species, data.covariates
    units = np.arange(data.n_units)
    if X_val is None:
        if data.n_units < 2 or val_fraction is None:
            raise InputDataError(f"{data.path}: give validation data (X_val) or a parquet file with several row "
                                 "groups and a val_fraction")
        val_units, units = holdout_split(data.n_units, float(val_fraction), seed)
        val = data.read(val_units)
    else:
        val = X_val.read() if isinstance(X_val, ParquetCommunity) else X_val
        if not getattr(val, "has_occurrences", False):
            raise InputDataError("X_val for a parquet training set must be a CommunityData or ParquetCommunity "
                                 "with occurrences")
    stats = data.scan(units)
    logger.info("streaming %d training sites in %d row groups from %s", stats.n_sites, units.size, data.path)
    if label_graph is None:
        if graph_kind == "prior":
            label_graph = LabelGraph.prior_from_counts(stats.cooccurrence, species)
        elif graph_kind == "complete":
            label_graph = LabelGraph.complete(species)
        else:
            raise InputDataError(f"graph {graph_kind!r} needs the in-memory path; streaming supports complete or prior")
    return StreamInputs(units, stats, val.align_covariates(cov_names).X, val.select_species(species).Y, label_graph)
