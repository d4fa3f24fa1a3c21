"""The arrays and metadata behind an evaluation table: :class:`EvaluationDetails`.

:func:`jsdm_hot.evaluation.evaluate` keeps one in ``table.attrs["details"]``;
the report writers (:mod:`~jsdm_hot.evaluation.tables`) and the figures
(:mod:`~jsdm_hot.evaluation.plots`) read it, so nothing is drawn twice. This
module imports neither of them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError

__all__ = ["EvaluationDetails", "as_details"]

#: Table groups in order.
GROUPS = ("mlc", "occurrence", "richness", "community")


@dataclass(frozen=True, eq=False)
class EvaluationDetails:
    """Arrays behind an evaluation table (what the report and plots need).

    Stored in ``table.attrs["details"]``. pandas deep-copies ``attrs`` on many
    operations; this object is treated as immutable and ``copy.deepcopy``
    returns it unchanged, so that costs nothing.

    Attributes
    ----------
    species : tuple of str, length n_species
    site_ids : ndarray of shape (n_sites,)
    y_true : ndarray of shape (n_sites, n_species), uint8
    prob : ndarray of shape (n_sites, n_species), float64
        Occurrence probabilities used for the Norberg occurrence measures.
    point_prob : ndarray of shape (n_sites, n_species), float64
        ``model.predict_proba``, used for the MLC metrics.
    thresholds : ndarray of shape (n_species,)
        Decision thresholds used for the MLC metrics.
    per_species_auc : ndarray of shape (n_species,)
        ROC AUC of ``prob`` (NaN for species with one class in ``y_true``).
    prevalence : ndarray of shape (n_species,)
        Share of sites where each species is observed.
    richness_draws : ndarray of shape (n_draws, n_sites), int32
        Richness of every site in every draw.
    pairs : ndarray of shape (n_pairs, 2), int64
        Site index pairs of the community measures.
    beta_obs : dict of str to ndarray of shape (n_pairs,)
        Observed βSOR / βSIM / βNES (keys ``sor``, ``sim``, ``nes``).
    beta_draws : dict of str to ndarray of shape (n_draws, n_pairs)
        The same in every draw.
    extra : pandas.DataFrame
        Further values: occurrence ``calibration_sum`` and ``n_species_auc``,
        richness / community ``coverage``, the four measures on βSIM and βNES
        (groups ``community_sim`` / ``community_nes``). Columns ``group``,
        ``metric``, ``value``, ``better`` (None where no direction applies).
    settings : dict
        ``n_draws``, ``seed``, ``n_pairs``, ``n_bins``, ``level``,
        ``coverage``, ``occurrence_prob``, ``draws_source``,
        ``thresholds_source``, ``chunk_size``.
    model_info : dict
        Model class, parameters and fitted attributes (JSON-serialisable).
    data_info : dict
        ``n_sites``, ``n_species``, ``n_features``, ``source``.
    notes : list of str
        Human-readable notes (fallbacks, species without AUC, ...).
    """

    species: tuple[str, ...]
    site_ids: np.ndarray
    y_true: np.ndarray
    prob: np.ndarray
    point_prob: np.ndarray
    thresholds: np.ndarray
    per_species_auc: np.ndarray
    prevalence: np.ndarray
    richness_draws: np.ndarray
    pairs: np.ndarray
    beta_obs: dict[str, np.ndarray]
    beta_draws: dict[str, np.ndarray]
    extra: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    model_info: dict[str, Any] = field(default_factory=dict)
    data_info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __deepcopy__(self, memo):  # immutable by convention: share, don't copy
        return self

    def __copy__(self):
        return self

    @property
    def n_draws(self) -> int:
        """Number of posterior draws."""
        return int(self.richness_draws.shape[0])

    @property
    def richness_obs(self) -> np.ndarray:
        """Observed richness, ndarray of shape (n_sites,), int64."""
        return self.y_true.sum(axis=1, dtype=np.int64)


def as_details(obj: Any) -> EvaluationDetails:
    """The :class:`EvaluationDetails` of an evaluation table (``attrs["details"]``), or ``obj`` itself.

    Raises
    ------
    InputDataError
        When ``obj`` is neither (e.g. a table whose ``attrs`` were lost).
    """
    if isinstance(obj, EvaluationDetails):
        return obj
    if isinstance(obj, pd.DataFrame) and isinstance(obj.attrs.get("details"), EvaluationDetails):
        return obj.attrs["details"]
    raise InputDataError(
        "the evaluation report needs the table returned by jsdm_hot.evaluation.evaluate (with attrs['details']) "
        f"or its EvaluationDetails, got {type(obj).__name__}"
    )


def _jsonable(obj: Any) -> Any:
    """Recursively turn numpy / pandas / dataclass-ish values into JSON values (NaN → None)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()] if obj.dtype.kind == "f" else _jsonable(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return str(obj)
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        try:
            return _jsonable(obj.to_dict())
        except TypeError:
            pass
    return str(obj)
