"""Score a fitted model on sites with observed occurrences: the tidy evaluation table (:func:`evaluate`).

:func:`evaluate` returns a tidy table of 17 rows:

* group ``mlc``: ``ebF1``, ``miF1``, ``maF1``, ``hamming_accuracy``,
  ``median_auc`` (:func:`jsdm_hot.metrics.mlc.mlc_report`) from
  ``model.predict_proba`` binarised at the model's validation thresholds
  ``model.thresholds_``;
* groups ``occurrence``, ``richness``, ``community``: ``accuracy``,
  ``discrimination``, ``calibration``, ``precision`` of Norberg et al. (2019)
  (:mod:`jsdm_hot.metrics.ecology`).

Where the numbers come from (each choice is also recorded in the table's
``attrs["settings"]`` / ``attrs["notes"]`` and in ``report.json``):

* **Draws.** ``n_draws`` posterior predictive draws per site come from the
  model: ``model.iter_samples`` (streamed chunk by chunk of sites; HOT-VAE's
  draws are *joint*), else ``model.sample``, else — for a model with neither —
  independent ``Bernoulli(predict_proba)`` draws made here. Independent draws
  carry no co-occurrence, so richness and community measures of such a model
  describe a stacked SDM; the fallback is written in the notes.
* **Occurrence probabilities for the Norberg occurrence measures** are the
  posterior predictive mean ``E_z[sigmoid(decoder(z))]``, estimated as the mean
  of the per-draw probabilities that ``iter_samples(..., return_prob=True)``
  yields, so they are the probabilities the draws are made from. A model
  without per-draw probabilities (baselines) uses ``predict_proba``, which for
  a binary-relevance model is the same thing. ``occurrence_prob="point"``
  uses ``predict_proba`` for every model. The MLC metrics always use
  ``predict_proba``, because the validation thresholds were chosen on it.
* **Memory.** Draws are streamed: only the richness of every draw and site
  (``n_draws × n_sites`` int32) and the draws of the sites in the community
  pairs (at most ``2 n_pairs`` sites) are kept, so evaluation of many sites
  never holds ``n_draws × n_sites × n_species`` at once.
* **Site pairs** for the community measures are drawn with
  ``numpy.random.default_rng([seed, 1])``, independently of the model, so every
  model evaluated on the same data with the same seed is scored on the same
  pairs (:func:`compare` relies on this).

The table keeps, in ``attrs["details"]``, an :class:`EvaluationDetails` with the
arrays :func:`write_report` and :func:`jsdm_hot.evaluation.plot_report` need,
so the report never draws again.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Iterator

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation.details import EvaluationDetails, _jsonable

__all__ = ["evaluate", "evaluate_arrays"]

logger = logging.getLogger(__name__)

_NORBERG_MEASURES = ("accuracy", "discrimination", "calibration", "precision")
_PAIR_STREAM = 1  # SeedSequence entropy [seed, _PAIR_STREAM] for the site pairs
_FALLBACK_STREAM = 2  # [seed, _FALLBACK_STREAM] for fallback independent draws


def _model_info(model: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"class": type(model).__name__, "module": type(model).__module__}
    if hasattr(model, "get_params"):
        try:
            info["params"] = _jsonable(model.get_params(deep=False))
        except TypeError:
            info["params"] = _jsonable(model.get_params())
    for attr in ("n_features_in_", "feature_names_in_", "best_epoch_", "stopped_early_"):
        if hasattr(model, attr):
            info[attr.rstrip("_")] = _jsonable(getattr(model, attr))
    graph = getattr(model, "label_graph_", None)
    if graph is not None:
        info["label_graph"] = {"kind": getattr(graph, "kind", None),
                               "n_edges": int(np.count_nonzero(np.asarray(graph.mask))) if hasattr(graph, "mask") else None}
    try:
        from jsdm_hot import __version__

        info["jsdm_hot_version"] = __version__
    except ImportError:  # pragma: no cover
        pass
    return info


def _check_data(model: Any, data: CommunityData) -> CommunityData:
    if not isinstance(data, CommunityData):
        raise InputDataError(
            f"data must be a CommunityData with observed occurrences, got {type(data).__name__} "
            "(build one with CommunityData.from_arrays or jsdm_hot.read_wide_csv)"
        )
    where = f" ({data.source})" if data.source else ""
    if data.Y is None:
        raise InputDataError(f"data{where} has no occurrences; evaluation needs observed species columns")
    if data.n_sites == 0:
        raise InputDataError(f"data{where} has no sites")
    species = getattr(model, "species_", None)
    if species is not None and tuple(species) != tuple(data.species):
        missing = [s for s in species if s not in set(data.species)]
        if missing:
            raise InputDataError(
                f"data{where} lacks {len(missing)} of the model's species: {missing[:10]}"
                f"{' ...' if len(missing) > 10 else ''}"
            )
        data = data.select_species(tuple(species))
    return data


def _draw_chunks(
    model: Any, data: CommunityData, point_prob: np.ndarray, n_draws: int, seed: int,
    chunk_size: int | None, want_prob: bool,
) -> tuple[Iterator[tuple[slice, np.ndarray, np.ndarray | None]], str]:
    """Iterator over ``(sites, draws (n_draws, c, L), per-draw prob or None)`` and a description of the source."""
    it = getattr(model, "iter_samples", None)
    if callable(it):
        params = inspect.signature(it).parameters
        kwargs: dict[str, Any] = {"n_draws": n_draws, "seed": seed}
        if chunk_size is not None and "chunk_size" in params:
            kwargs["chunk_size"] = chunk_size
        has_prob = want_prob and "return_prob" in params
        if has_prob:
            kwargs["return_prob"] = True

        def gen():
            for item in it(data, **kwargs):
                if has_prob:
                    sl, d, p = item
                    yield sl, d, p
                else:
                    sl, d = item[0], item[1]
                    yield sl, d, None

        return gen(), f"{type(model).__name__}.iter_samples (joint posterior draws, streamed)"
    if callable(getattr(model, "sample", None)):
        def gen_sample():
            yield slice(0, data.n_sites), model.sample(data, n_draws=n_draws, seed=seed), None

        return gen_sample(), f"{type(model).__name__}.sample"
    rng = np.random.default_rng([int(seed), _FALLBACK_STREAM])
    step = int(chunk_size or 2048)

    def gen_bernoulli():
        for start in range(0, data.n_sites, step):
            p = point_prob[start:start + step]
            yield slice(start, start + p.shape[0]), (rng.random((n_draws,) + p.shape) < p[None]).astype(np.uint8), None

    return gen_bernoulli(), (
        f"independent Bernoulli(predict_proba) draws made by the evaluation: {type(model).__name__} has no "
        "sample/iter_samples, so the draws carry no species co-occurrence"
    )


def evaluate_arrays(
    y_true: np.ndarray,
    point_prob: np.ndarray,
    chunks,
    *,
    n_draws: int,
    thresholds: float | np.ndarray = 0.5,
    occ_prob: np.ndarray | None = None,
    n_pairs: int = 300,
    seed: int = 0,
    n_bins: int = 10,
    level: float = 0.5,
    coverage: str = "interval",
    species: tuple[str, ...] | None = None,
    site_ids: np.ndarray | None = None,
    progress: bool = False,
    pairs: np.ndarray | None = None,
) -> pd.DataFrame:
    """Evaluation table from arrays: the engine behind :func:`evaluate`.

    Parameters
    ----------
    y_true : ndarray of shape (n_sites, n_species), 0/1
    point_prob : ndarray of shape (n_sites, n_species)
        Probabilities for the MLC metrics (and for the occurrence measures
        when neither ``occ_prob`` nor per-draw probabilities are given).
    chunks : ndarray of shape (n_draws, n_sites, n_species), or iterable
        Posterior draws, whole or as ``(sites_slice, draws_chunk, prob_chunk
        or None)`` tuples covering consecutive sites.
    n_draws : int
    thresholds : float or ndarray of shape (n_species,), default=0.5
    occ_prob : ndarray of shape (n_sites, n_species), optional
        Probabilities for the Norberg occurrence measures. Default: the mean
        of the per-draw probabilities if every chunk has them, else
        ``point_prob``.
    n_pairs, seed, n_bins, level, coverage, progress
        As :func:`evaluate`.
    species, site_ids : optional
        Names kept in the details.
    pairs : ndarray of shape (n_pairs, 2), optional
        Explicit site pairs (default: drawn with ``default_rng([seed, 1])``).

    Returns
    -------
    pandas.DataFrame
        As :func:`evaluate` (``attrs["details"]`` filled, settings partial).
    """
    from jsdm_hot.metrics.beta import beta_all
    from jsdm_hot.metrics.ecology import (
        BETTER,
        community_metrics,
        occurrence_metrics,
        richness_metrics_from_counts,
        sample_site_pairs,
    )
    from jsdm_hot.metrics.mlc import MLC_METRICS, mlc_report, per_species_auc
    from jsdm_hot.metrics.posterior_summary import richness_from_draws

    y = np.asarray(y_true)
    if y.ndim != 2:
        raise InputDataError(f"y_true must be 2-D (n_sites, n_species), got shape {y.shape}")
    y = y.astype(np.uint8)
    n_sites, n_species = y.shape
    point_prob = np.asarray(point_prob, dtype=np.float64)
    if point_prob.shape != y.shape:
        raise InputDataError(
            f"the model's predict_proba gave shape {point_prob.shape} for {n_sites} sites × {n_species} species"
        )
    n_draws = int(n_draws)
    if n_draws < 1:
        raise InputDataError(f"n_draws must be >= 1, got {n_draws}")

    if pairs is None:
        pairs = sample_site_pairs(n_sites, n_pairs, np.random.default_rng([int(seed), _PAIR_STREAM]))
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    pair_sites, pair_local = np.unique(pairs, return_inverse=True)
    pair_local = pair_local.reshape(pairs.shape)
    pair_draws = np.zeros((n_draws, pair_sites.size, n_species), dtype=np.uint8)
    counts = np.zeros((n_draws, n_sites), dtype=np.int32)
    prob_sum = np.zeros((n_sites, n_species), dtype=np.float64)
    all_prob = True
    covered = 0

    if isinstance(chunks, np.ndarray):
        chunks = [(slice(0, chunks.shape[1] if chunks.ndim == 3 else 0), chunks, None)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_sites, unit="site", desc=f"posterior draws ({n_draws} per site)", leave=False)
    try:
        for sl, d, p in chunks:
            d = np.asarray(d)
            start, stop = sl.start or 0, sl.stop
            if start != covered or d.ndim != 3 or d.shape != (n_draws, stop - start, n_species):
                raise InputDataError(
                    f"the model's draws for sites {start}..{stop} have shape {d.shape}; expected "
                    f"({n_draws}, {stop - start}, {n_species}) following site {covered}"
                )
            counts[:, start:stop] = richness_from_draws(d)  # also checks 0/1
            inside = (pair_sites >= start) & (pair_sites < stop)
            if inside.any():
                pair_draws[:, inside] = d[:, pair_sites[inside] - start]
            if p is None:
                all_prob = False
            else:
                prob_sum[start:stop] = np.asarray(p, dtype=np.float64).mean(axis=0)
            covered = stop
            if bar is not None:
                bar.update(stop - start)
    finally:
        if bar is not None:
            bar.close()
    if covered != n_sites:
        raise InputDataError(f"the model's draws cover {covered} of {n_sites} sites")

    if occ_prob is not None:
        prob = np.asarray(occ_prob, dtype=np.float64)
        occ_source = "given"
    elif all_prob:
        prob = prob_sum
        occ_source = f"posterior predictive mean: mean of the {n_draws} per-draw probabilities"
    else:
        prob = point_prob
        occ_source = "predict_proba"

    mlc = mlc_report(y, point_prob, thresholds)
    occ = occurrence_metrics(y, prob, n_bins=n_bins)
    ric = richness_metrics_from_counts(y.sum(axis=1), counts, level=level, coverage=coverage)
    if pair_sites.size:
        com = community_metrics(y[pair_sites], pair_draws, pairs=pair_local, level=level, coverage=coverage)
    else:  # fewer than 2 sites: no pairs, every community measure is NaN (one placeholder site, no pair uses it)
        com = community_metrics(y[:1], np.zeros((n_draws, 1, n_species), np.uint8), pairs=pair_local, level=level,
                                coverage=coverage)

    rows = [{"group": "mlc", "metric": m, "value": float(mlc[m]), "better": "higher"} for m in MLC_METRICS]
    for group, vals in (("occurrence", occ), ("richness", ric), ("community", com["sor"])):
        rows += [{"group": group, "metric": m, "value": float(vals[m]), "better": BETTER[m]} for m in _NORBERG_MEASURES]
    table = pd.DataFrame(rows, columns=["group", "metric", "value", "better"])

    extra = [
        {"group": "mlc", "metric": "n_species_auc", "value": float(mlc["n_species_auc"]), "better": None},
        {"group": "occurrence", "metric": "calibration_sum", "value": occ["calibration_sum"], "better": "lower"},
        {"group": "occurrence", "metric": "n_species_auc", "value": float(occ["n_species_auc"]), "better": None},
        {"group": "richness", "metric": "coverage", "value": ric["coverage"], "better": None},
        {"group": "community", "metric": "coverage", "value": com["sor"]["coverage"], "better": None},
        {"group": "community", "metric": "n_pairs", "value": com["n_pairs"]["value"], "better": None},
    ]
    for key in ("sim", "nes"):
        extra += [{"group": f"community_{key}", "metric": m, "value": float(com[key][m]), "better": BETTER.get(m)}
                  for m in (*_NORBERG_MEASURES, "coverage")]

    obs_beta = beta_all(y[pairs[:, 0]], y[pairs[:, 1]])
    pred_beta = beta_all(pair_draws[:, pair_local[:, 0]], pair_draws[:, pair_local[:, 1]])
    notes: list[str] = []
    auc = per_species_auc(y, prob)
    n_no_auc = int(np.count_nonzero(~np.isfinite(auc)))
    if n_no_auc:
        notes.append(f"{n_no_auc} species are present at all or none of the sites: no AUC, left out of "
                     "occurrence discrimination and median AUC")
    details = EvaluationDetails(
        species=tuple(species) if species is not None else tuple(f"sp_{j}" for j in range(n_species)),
        site_ids=np.asarray(site_ids if site_ids is not None else [f"site_{i}" for i in range(n_sites)], dtype=object),
        y_true=y,
        prob=prob,
        point_prob=point_prob,
        thresholds=np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (n_species,)).copy(),
        per_species_auc=auc,
        prevalence=y.mean(axis=0),
        richness_draws=counts,
        pairs=pairs,
        beta_obs=obs_beta,
        beta_draws=pred_beta,
        extra=pd.DataFrame(extra, columns=["group", "metric", "value", "better"]),
        settings={"n_draws": n_draws, "seed": int(seed), "n_pairs": int(pairs.shape[0]), "n_pairs_requested": int(n_pairs),
                  "n_bins": int(n_bins), "level": float(level), "coverage": coverage, "occurrence_prob": occ_source,
                  "mlc_prob": "predict_proba", "mlc_ebf1_empty": "one"},
        data_info={"n_sites": n_sites, "n_species": n_species},
        notes=notes,
    )
    table.attrs["details"] = details
    return table


def evaluate(
    model: Any,
    data: CommunityData,
    n_draws: int = 100,
    seed: int = 0,
    progress: bool = False,
    n_pairs: int = 300,
    *,
    n_bins: int = 10,
    level: float = 0.5,
    coverage: str = "interval",
    occurrence_prob: str = "predictive",
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """Score a fitted model on sites with observed occurrences.

    Parameters
    ----------
    model : fitted estimator
        Anything with ``predict_proba(data) -> (n_sites, n_species)``; uses
        ``species_`` (to pick and order the data's species), ``thresholds_``
        (default 0.5 with a note) and ``iter_samples`` / ``sample`` when present
        (see the module notes for the fallback).
    data : CommunityData
        Test sites with the model's covariates and species.
    n_draws : int, default=100
        Posterior predictive draws per site.
    seed : int, default=0
        Seeds the draws and the choice of site pairs.
    progress : bool, default=False
        Show a tqdm progress bar over sites as the draws are made.
    n_pairs : int, default=300
        Random site pairs for the community measures (all pairs when fewer exist).
    n_bins : int, default=10
        Equal-count bins of the occurrence calibration.
    level : float, default=0.5
        Central interval of the richness / community calibration.
    coverage : {"interval", "pit"}, default="interval"
        See :func:`jsdm_hot.metrics.ecology.richness_metrics`.
    occurrence_prob : {"predictive", "point"}, default="predictive"
        Probabilities for the Norberg occurrence measures: the posterior
        predictive mean from the draws (when the model yields per-draw
        probabilities) or ``predict_proba``.
    chunk_size : int, optional
        Sites per chunk passed to ``model.iter_samples`` (default: the
        model's). HOT-VAE's draws depend on seed *and* chunk size.

    Returns
    -------
    pandas.DataFrame
        17 rows, columns ``group`` (``mlc``, ``occurrence``, ``richness``,
        ``community``), ``metric``, ``value`` (float; NaN where undefined),
        ``better`` (``"higher"`` / ``"lower"``). ``attrs`` holds ``details``
        (:class:`EvaluationDetails`), ``settings`` and ``notes``.

    Raises
    ------
    InputDataError
        ``data`` without occurrences or lacking the model's species or
        covariates; draws of the wrong shape or not 0/1.
    """
    if occurrence_prob not in ("predictive", "point"):
        raise InputDataError(f"occurrence_prob must be 'predictive' or 'point', got {occurrence_prob!r}")
    if int(n_draws) < 1:
        raise InputDataError(f"n_draws must be >= 1, got {n_draws}")
    data = _check_data(model, data)
    point_prob = np.asarray(model.predict_proba(data), dtype=np.float64)
    notes: list[str] = []
    thresholds = getattr(model, "thresholds_", None)
    if thresholds is None:
        thresholds = 0.5
        thr_source = "0.5 (the model has no thresholds_)"
        notes.append("MLC metrics use threshold 0.5: the model has no validation thresholds (thresholds_)")
    else:
        thr_source = "model.thresholds_ (chosen on validation data)"
    chunks, draws_source = _draw_chunks(model, data, point_prob, int(n_draws), int(seed), chunk_size,
                                        want_prob=occurrence_prob == "predictive")
    if draws_source.startswith("independent"):
        notes.append(f"draws: {draws_source}")
        logger.warning("%s", draws_source)
    logger.info("evaluating %s on %d sites × %d species with %d draws (%s)", type(model).__name__, data.n_sites,
                data.n_species, n_draws, draws_source)
    table = evaluate_arrays(
        data.Y, point_prob, chunks, n_draws=int(n_draws), thresholds=thresholds,
        occ_prob=point_prob if occurrence_prob == "point" else None, n_pairs=n_pairs, seed=seed, n_bins=n_bins,
        level=level, coverage=coverage, species=data.species, site_ids=data.site_ids, progress=progress,
    )
    det: EvaluationDetails = table.attrs["details"]
    det.settings.update({"draws_source": draws_source, "thresholds_source": thr_source, "chunk_size": chunk_size,
                         "occurrence_prob_option": occurrence_prob})
    if det.settings["occurrence_prob"] == "given":
        det.settings["occurrence_prob"] = "predict_proba (occurrence_prob='point')"
    det.model_info.update(_model_info(model))
    det.data_info.update({"n_features": data.n_features, "source": data.source})
    det.notes[:0] = notes
    table.attrs["settings"] = dict(det.settings)
    table.attrs["notes"] = list(det.notes)
    return table
