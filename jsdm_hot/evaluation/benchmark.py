"""A small accuracy benchmark: fit several models over seeds, score them on test sites, summarise.

The reusable core of ``jsdm-hot benchmark`` and ``benchmarks/accuracy.py``::

    from jsdm_hot.data.splits import train_val_test_split
    from jsdm_hot.evaluation.benchmark import run_one, aggregate, to_markdown

    records = []
    for seed in range(3):
        train, val, test = train_val_test_split(data, (0.7, 0.1, 0.2), kind="spatial", seed=seed)
        for name, params in {"hotvae": {"max_epochs": 50}, "logistic": {}}.items():
            records.append(run_one(name, params, train, val, test, seed))
    table = aggregate(records)          # one row per model: mean and sd of each metric
    print(to_markdown(table))

(:func:`run_benchmark` does exactly this loop.)

Models are named as in :data:`jsdm_hot.registry.MODEL_NAMES`: ``"hotvae"`` is
:class:`jsdm_hot.HotVAE`, the others are the baselines. Each is
fitted on the training sites with the validation sites for early stopping and
decision thresholds, then scored on the test sites with the five MLC metrics of
:func:`jsdm_hot.metrics.mlc.mlc_report` (ebF1 with sites empty in both scored 1,
miF1 / maF1 with 0/0 scored 0 — that function's defaults).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.mlc import MLC_METRICS, mlc_report
from jsdm_hot.registry import check_model_names, make_model

__all__ = [
    "METRICS",
    "ECOLOGY_METRICS",
    "HIGHER_IS_BETTER",
    "community_scores",
    "METRIC_LABELS",
    "run_one",
    "run_benchmark",
    "aggregate",
    "table_rows",
    "to_markdown",
]

logger = logging.getLogger(__name__)

#: Metrics of each run, in table order (the keys of :func:`~jsdm_hot.metrics.mlc.mlc_report`).
METRICS: tuple[str, ...] = MLC_METRICS

#: What ecologists judge, from joint posterior draws on the test sites (:func:`community_scores`),
#: in table order; ``run_one(..., ecology=True)`` adds them to its record.
ECOLOGY_METRICS: tuple[str, ...] = ("richness_rmse", "richness_disc", "richness_cov90", "beta_sor_disc")

#: Direction of improvement of the metrics of a record (``richness_cov90`` has none: 0.9 is calibrated).
HIGHER_IS_BETTER: dict[str, bool] = {**{m: True for m in METRICS}, "richness_rmse": False, "richness_disc": True,
                                     "beta_sor_disc": True, "fit_seconds": False}

#: Column titles of :func:`to_markdown` for :data:`METRICS` (and the fit time).
METRIC_LABELS: dict[str, str] = {
    "ebF1": "ebF1",
    "miF1": "miF1",
    "maF1": "maF1",
    "hamming_accuracy": "Hamming acc.",
    "median_auc": "median AUC",
    "richness_rmse": "richness RMSE",
    "richness_disc": "richness disc.",
    "richness_cov90": "richness 90 % cov.",
    "beta_sor_disc": "βSOR disc.",
    "fit_seconds": "fit (s)",
}


def community_scores(model: Any, test: CommunityData, *, n_draws: int = 100, seed: int = 0,
                     n_pairs: int = 300) -> dict[str, float]:
    """Richness and community scores of a fitted model on test sites, from its posterior draws.

    Norberg et al. (2019) measures (:mod:`jsdm_hot.metrics.ecology`) on ``model.sample``
    (joint draws for HOT-VAE and MPVAE, independent Bernoulli draws for the others).

    Parameters
    ----------
    model : fitted estimator
    test : CommunityData with occurrences
    n_draws : int, default=100
    seed : int, default=0
        Seeds the draws and the site pairs; the pairs depend only on ``seed`` and
        the number of test sites, so models scored with the same seed on the same
        sites share them.
    n_pairs : int, default=300

    Returns
    -------
    dict
        ``richness_rmse`` (RMSE of the posterior mean richness against the observed
        number of species per site; lower is better), ``richness_disc`` (Spearman
        correlation of the two), ``richness_cov90`` (share of sites whose observed
        richness lies in the central 90 % interval of the draws; 0.9 or above is
        calibrated, the discrete ends bias it upwards), ``beta_sor_disc`` (Spearman
        correlation of predicted and observed βSOR over ``n_pairs`` random site pairs).
    """
    from jsdm_hot.metrics.ecology import community_metrics, richness_metrics, sample_site_pairs

    y = test.select_species(list(model.species_)).Y
    draws = model.sample(test, n_draws=int(n_draws), seed=int(seed))
    rich = richness_metrics(y, draws)
    cov90 = richness_metrics(y, draws, level=0.9)["coverage"]
    pairs = sample_site_pairs(y.shape[0], n_pairs, np.random.default_rng(seed))
    comm = community_metrics(y, draws, pairs=pairs)
    return {"richness_rmse": float(rich["accuracy"]), "richness_disc": float(rich["discrimination"]),
            "richness_cov90": float(cov90), "beta_sor_disc": float(comm["sor"]["discrimination"])}

def run_one(
    model_name: str,
    params: Mapping[str, Any] | None,
    train: CommunityData,
    val: CommunityData,
    test: CommunityData,
    seed: int,
    *,
    return_fitted: bool = False,
    ecology: bool = False,
    n_draws: int = 100,
) -> dict[str, Any] | tuple[dict[str, Any], Any, np.ndarray]:
    """Fit one model with one seed and score it on the test sites.

    Parameters
    ----------
    model_name : str
        One of :data:`jsdm_hot.registry.MODEL_NAMES`.
    params : mapping or None
        Keyword parameters of the model, see :func:`jsdm_hot.registry.make_model`.
    train, val, test : CommunityData
        Sites with occurrences, same species and covariates (e.g. from
        :func:`jsdm_hot.data.splits.train_val_test_split`). ``val`` is used for
        early stopping and the decision thresholds.
    seed : int
        ``random_state`` of the model (the caller seeds the split).
    return_fitted : bool, default=False
        Also return the fitted model and its test probabilities
        ``(n_test, n_species)``, for callers that score more than this record.
    ecology : bool, default=False
        Also score richness and community from ``n_draws`` posterior draws
        (:func:`community_scores`, seeded by ``seed``): the keys of
        :data:`ECOLOGY_METRICS`.
    n_draws : int, default=100

    Returns
    -------
    dict (or ``(dict, model, prob_test)`` with ``return_fitted``)
        ``model`` (str), ``seed`` (int), the five metrics of :data:`METRICS`
        (float; ``median_auc`` is NaN when no test species has both classes),
        ``n_species_auc`` (int), ``fit_seconds`` (float, fit wall time),
        ``best_epoch`` (int, or None for non-iterative models),
        ``still_improving_at_cap`` (bool: the best epoch was one of the last two
        of ``max_epochs``, so more epochs may help), ``n_train``,
        ``n_val``, ``n_test`` (int, sites).
    """
    model = make_model(model_name, params, seed)
    for name, part in (("train", train), ("val", val), ("test", test)):
        if not isinstance(part, CommunityData) or part.Y is None:
            raise InputDataError(f"run_one: {name} must be a CommunityData with occurrences")
    t0 = time.perf_counter()
    model.fit(train, X_val=val)
    fit_seconds = time.perf_counter() - t0  # everything fit does (inputs, graph, training, thresholds)
    prob = model.predict_proba(test)
    y_test = test.select_species(list(model.species_)).Y
    metrics = mlc_report(y_test, prob, model.thresholds_)
    best = getattr(model, "best_epoch_", None)
    cap = model.get_params().get("max_epochs")
    at_cap = bool(best is not None and cap is not None and len(model.history_) >= int(cap) and best >= len(model.history_) - 2)
    if at_cap:
        logger.warning("%s seed %d was still improving at its epoch cap (max_epochs=%s): more epochs may help",
                       model_name, seed, cap)
    record: dict[str, Any] = {"model": model_name, "seed": int(seed)}
    record.update({m: float(metrics[m]) for m in METRICS})
    record.update({
        "n_species_auc": int(metrics["n_species_auc"]),
        "fit_seconds": float(fit_seconds),
        "best_epoch": None if best is None else int(best),
        "still_improving_at_cap": at_cap,
        "n_train": int(train.n_sites),
        "n_val": int(val.n_sites),
        "n_test": int(test.n_sites),
    })
    if ecology:
        record.update(community_scores(model, test, n_draws=n_draws, seed=seed))
    logger.info("%s seed %d: %s (%.1f s)", model_name, seed,
                ", ".join(f"{m} {record[m]:.4f}" for m in METRICS), fit_seconds)
    if return_fitted:
        return record, model, prob
    return record


def run_benchmark(
    data: CommunityData,
    models: Mapping[str, Mapping[str, Any] | None],
    seeds: Sequence[int] = (0, 1, 2),
    *,
    split: str = "random",
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    block_km: float = 50.0,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """:func:`run_one` for every seed × model; the split is redrawn for each seed.

    Parameters
    ----------
    data : CommunityData
        All sites, with occurrences.
    models : mapping name → params
        Models to run (see :func:`jsdm_hot.registry.make_model`); all are checked before any fit.
    seeds : sequence of int
        Seed ``s`` seeds both the train/val/test split and the models.
    split : {"random", "spatial", "temporal"}
        ``kind`` of :func:`jsdm_hot.data.splits.train_val_test_split`.
    fractions : (train, val, test)
    block_km : float
        Block size of the spatial split.
    callback : callable, optional
        Called with each record as soon as it is computed (progress display).

    Returns
    -------
    list of dict
        The records of :func:`run_one`, seed-major.
    """
    from jsdm_hot.data.splits import train_val_test_split

    names = check_model_names(models)
    for name in names:
        make_model(name, models[name], 0)  # fail on bad parameters before the first (slow) fit
    if len(seeds) == 0:
        raise InputDataError("run_benchmark needs at least one seed")
    records = []
    for seed in seeds:
        train, val, test = train_val_test_split(data, fractions, kind=split, block_km=block_km, seed=int(seed))
        for part, name in ((train, "training"), (val, "validation"), (test, "test")):
            if part.n_sites == 0:
                raise InputDataError(f"the {split} split with seed {seed} left no {name} sites; "
                                     "use more sites, other fractions or smaller blocks")
        for name in names:
            rec = run_one(name, models[name], train, val, test, int(seed))
            records.append(rec)
            if callback is not None:
                callback(rec)
    return records


def aggregate(records: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each metric, one row per model.

    Parameters
    ----------
    records : iterable of dict or DataFrame
        Records of :func:`run_one` (at least the keys ``model`` and :data:`METRICS`;
        ``fit_seconds`` is summarised too when present).

    Returns
    -------
    DataFrame
        Index ``model`` (order of first appearance); columns ``n_seeds`` (int)
        then ``<metric>_mean`` and ``<metric>_sd`` for each metric of
        :data:`METRICS` and ``fit_seconds``. ``sd`` is the sample standard
        deviation (``ddof=1``), NaN for a single seed; NaN metric values (e.g. a
        median AUC without any scorable species) are left out of both.
    """
    df = records.copy() if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    if df.empty:
        raise InputDataError("aggregate needs at least one record")
    missing = [c for c in ("model", *METRICS) if c not in df.columns]
    if missing:
        raise InputDataError(f"records lack the column(s) {missing}; expected the dicts of run_one")
    cols = list(METRICS) + [m for m in (*ECOLOGY_METRICS, "fit_seconds") if m in df.columns]
    order = list(dict.fromkeys(df["model"]))
    grouped = df.groupby("model", sort=False)
    out = pd.DataFrame(index=pd.Index(order, name="model"))
    out["n_seeds"] = grouped.size().reindex(order).astype(int)
    for c in cols:
        vals = grouped[c]
        out[f"{c}_mean"] = vals.mean().reindex(order).astype(float)
        out[f"{c}_sd"] = vals.std(ddof=1).reindex(order).astype(float)
    return out


def _cell(mean: float, sd: float, digits: int) -> str:
    if not math.isfinite(mean):
        return "–"
    if not math.isfinite(sd):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def table_rows(df: pd.DataFrame, digits: int = 3) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows of :func:`aggregate`'s result (for Markdown or a terminal table).

    Parameters
    ----------
    df : DataFrame
        Output of :func:`aggregate`.
    digits : int, default=3
        Decimals of every value (fit time: 1).

    Returns
    -------
    header : list of str
        ``model``, ``seeds``, then the :data:`METRIC_LABELS` of each metric present
        (``ebF1``, ``miF1``, ``maF1``, ``Hamming acc.``, ``median AUC``, ``fit (s)``).
    rows : list of list of str
        One per model; a cell is ``mean ± sd``, only ``mean`` when the sd is NaN
        (one seed), ``–`` when the mean is NaN.
    """
    metrics = [m for m in (*METRICS, *ECOLOGY_METRICS, "fit_seconds") if f"{m}_mean" in df.columns]
    if not metrics:
        raise InputDataError("expected the DataFrame of aggregate() (columns <metric>_mean, <metric>_sd)")
    header = ["model", "seeds"] + [METRIC_LABELS[m] for m in metrics]
    rows = []
    for model, row in df.iterrows():
        cells = [str(model), str(int(row["n_seeds"])) if "n_seeds" in df.columns else ""]
        for m in metrics:
            d = 1 if m == "fit_seconds" else int(digits)
            cells.append(_cell(float(row[f"{m}_mean"]), float(row.get(f"{m}_sd", np.nan)), d))
        rows.append(cells)
    return header, rows


def to_markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A Markdown table of :func:`aggregate`'s result: one row per model, cells ``mean ± sd``.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`aggregate`.
    digits : int, default=3
        Decimals of every value (fit time: 1).

    Returns
    -------
    str
        Columns and cells as :func:`table_rows` (metric columns right-aligned);
        ends with a newline.
    """
    header, rows = table_rows(df, digits)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
