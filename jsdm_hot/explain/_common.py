"""Helpers shared by the explain modules: model inputs, batched prediction, names, seeds.

Nothing here is specific to one estimator: any fitted model with
``predict_proba(X) -> (n_sites, n_species)``, ``sample(X, n_draws, seed) ->
(n_draws, n_sites, n_species)``, ``species_`` and ``feature_names_in_`` works
(HotVAE and every baseline).
"""

from __future__ import annotations

import difflib
import logging
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError, NotFittedError

logger = logging.getLogger(__name__)

#: Upper bound on the rows of one ``predict_proba`` call (stacked copies of the sites).
MAX_ROWS = 65_536
#: Upper bounds on posterior draws and permutation repeats: the explain functions refuse more.
MAX_DRAWS = 500
MAX_REPEATS = 50


def as_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a seed, a generator (returned as is) or None (seed 0)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise InputDataError(f"rng must be an int seed or a numpy.random.Generator, got {type(rng).__name__}")


def check_fitted(model: Any) -> None:
    """Raise unless ``model`` has the attributes the explain functions use."""
    missing = [a for a in ("predict_proba", "species_", "feature_names_in_") if not hasattr(model, a)]
    if missing:
        raise NotFittedError(
            f"{type(model).__name__} lacks {missing}: give a fitted jsdm-hot model (HotVAE or a baseline; call fit() first)"
        )


def model_inputs(model: Any, data: Any) -> np.ndarray:
    """Covariates of ``data`` in the model's order, in original units.

    Parameters
    ----------
    model : fitted estimator
    data : CommunityData, DataFrame or ndarray of shape (n_sites, n_features)
        Named inputs are matched to ``model.feature_names_in_`` by name.

    Returns
    -------
    ndarray of shape (n_sites, n_features), float64
    """
    from jsdm_hot.estimators.inputs import prediction_features

    check_fitted(model)
    X = prediction_features(data, tuple(model.feature_names_in_), type(model).__name__)
    return np.array(X, dtype=np.float64)


def model_occurrences(model: Any, data: Any, what: str) -> np.ndarray:
    """Observed occurrences of the model's species in ``data``, shape (n_sites, n_species), uint8."""
    if not isinstance(data, CommunityData) or not data.has_occurrences:
        raise InputDataError(f"{what} needs held-out sites with observed occurrences (a CommunityData with Y)")
    return data.select_species(tuple(model.species_)).Y


def subsample_rows(n: int, max_rows: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of at most ``max_rows`` of ``n`` rows (all of them when ``max_rows`` is None or ≥ n)."""
    if max_rows is None or n <= int(max_rows):
        return np.arange(n)
    if int(max_rows) < 1:
        raise InputDataError(f"max_sites must be >= 1, got {max_rows}")
    return np.sort(rng.choice(n, size=int(max_rows), replace=False))


def stacked_proba(
    model: Any,
    make_block: Callable[[int], np.ndarray],
    n_blocks: int,
    n_rows: int,
    max_rows: int = MAX_ROWS,
) -> Iterator[tuple[int, np.ndarray]]:
    """``predict_proba`` of many modified copies of the same sites, several copies per call.

    Parameters
    ----------
    model : fitted estimator
    make_block : callable
        ``k -> ndarray (n_rows, n_features)``, the k-th modified copy.
    n_blocks : int
    n_rows : int
        Rows of every block.
    max_rows : int, default=MAX_ROWS
        Rows per ``predict_proba`` call (bounds memory; at least one block).

    Yields
    ------
    k : int
    prob : ndarray of shape (n_rows, n_species), float64
    """
    per_call = max(1, int(max_rows) // max(1, n_rows))
    for start in range(0, n_blocks, per_call):
        ks = range(start, min(start + per_call, n_blocks))
        prob = np.asarray(model.predict_proba(np.concatenate([make_block(k) for k in ks], axis=0)), dtype=np.float64)
        for i, k in enumerate(ks):
            yield k, prob[i * n_rows:(i + 1) * n_rows]


def check_count(value: int, name: str, low: int, high: int) -> int:
    """``int(value)`` if ``low <= value <= high``, else an InputDataError naming ``name``."""
    v = int(value)
    if not low <= v <= high:
        raise InputDataError(f"{name} must be between {low} and {high}, got {value}")
    return v


def resolve_names(requested: Sequence[str] | str | None, names: Sequence[str], what: str,
                  labels: Mapping[str, str] | None = None) -> list[int]:
    """Indices of ``requested`` among ``names``; each may be a name or its display label.

    Parameters
    ----------
    requested : str, sequence of str or None
        None selects every name.
    names : sequence of str
        The model's species or covariates.
    what : str
        ``"species"`` or ``"covariate"``, for messages.
    labels : mapping, optional
        Name → display label (e.g. scientific → common name); labels are accepted too.

    Raises
    ------
    InputDataError
        Unknown names, listed with close matches.
    """
    names = [str(n) for n in names]
    if requested is None:
        return list(range(len(names)))
    if isinstance(requested, str):
        requested = [requested]
    lookup = {n.lower(): i for i, n in enumerate(names)}
    for n, lab in (labels or {}).items():
        if str(n) in names:
            lookup.setdefault(str(lab).lower(), names.index(str(n)))
    out, bad = [], []
    for r in requested:
        i = lookup.get(str(r).lower())
        if i is None:
            bad.append(str(r))
        else:
            out.append(i)
    if bad:
        hints = {b: difflib.get_close_matches(b.lower(), list(lookup), n=3) for b in bad}
        listed = "; ".join(b + (f" (did you mean {', '.join(h)}?)" if h else "") for b, h in hints.items())
        raise InputDataError(f"unknown {what} {listed}; the model has {len(names)}: {', '.join(names[:12])}"
                             + (" ..." if len(names) > 12 else ""))
    return list(dict.fromkeys(out))


def ebird_effort_names() -> tuple[str, ...]:
    """Every effort covariate name jsdm-hot knows: those :func:`jsdm_hot.data.ebird.effort_covariates`
    makes and the raw EBD effort fields (``duration_minutes``, ``effort_distance_km``, ``number_observers``)."""
    from jsdm_hot.data.ebird import EFFORT_COVARIATES
    from jsdm_hot.data.ebird.standard import RAW_EFFORT_FIELDS

    return tuple(dict.fromkeys([*EFFORT_COVARIATES, *RAW_EFFORT_FIELDS]))


def effort_set(effort: Sequence[str] | None, features: Sequence[str]) -> set[str]:
    """The model's covariates that count as effort (default: :func:`ebird_effort_names`)."""
    names = ebird_effort_names() if effort is None else tuple(str(e) for e in effort)
    unknown = [e for e in names if e not in features]
    if effort is not None and unknown:
        logger.info("effort covariates %s are not among the model's covariates; ignored", unknown)
    return {e for e in names if e in features}
