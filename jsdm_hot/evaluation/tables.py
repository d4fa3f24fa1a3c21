"""The report's tables: ``metrics.csv``'s definitions, ``metrics.md`` and ``report.json``.

:data:`DEFINITIONS` gives a one-line definition of every metric and
:data:`PROBABILITIES` says which probabilities each group of metrics is
computed from (both are written into ``metrics.md``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from jsdm_hot.evaluation.calibration import calibration_curve
from jsdm_hot.evaluation.details import EvaluationDetails, _jsonable

__all__ = ["DEFINITIONS", "PROBABILITIES", "markdown_report", "report_dict"]

#: One-line definition of every metric, keyed by (group, metric); used in ``metrics.md``.
DEFINITIONS: dict[tuple[str, str], str] = {
    ("mlc", "ebF1"): "example-based F1, mean over sites (sites empty in both count as 1)",
    ("mlc", "miF1"): "micro F1 over all site × species cells",
    ("mlc", "maF1"): "macro F1, mean over species",
    ("mlc", "hamming_accuracy"): "share of site × species cells predicted correctly",
    ("mlc", "median_auc"): "median over species of ROC AUC (species with both classes)",
    ("occurrence", "accuracy"): "mean |p − y| over sites and species",
    ("occurrence", "discrimination"): "mean over species of ROC AUC",
    ("occurrence", "calibration"): "mean over species of mean |observed − predicted| in 10 equal-count bins",
    ("occurrence", "precision"): "mean sqrt(p (1 − p))",
    ("richness", "accuracy"): "RMSE of posterior mean richness (species per site)",
    ("richness", "discrimination"): "Spearman correlation of observed and mean predicted richness",
    ("richness", "calibration"): "|share of sites with observed richness in the central 50 % interval − 0.5|",
    ("richness", "precision"): "mean over sites of the predictive sd of richness",
    ("community", "accuracy"): "RMSE of posterior mean βSOR over the site pairs",
    ("community", "discrimination"): "Spearman correlation of observed and mean predicted βSOR",
    ("community", "calibration"): "|share of pairs with observed βSOR in the central 50 % interval − 0.5|",
    ("community", "precision"): "mean over pairs of the predictive sd of βSOR",
}


#: Which probabilities each group of metrics is computed from (written into ``metrics.md`` and ``report.json``).
#: For HOT-VAE ``predict_proba`` is sigmoid(decoder(z)) at the posterior mean of z, while the draws average
#: sigmoid(decoder(z)) over z ~ q(z | x); the two differ because the mean of a sigmoid is not the sigmoid of the mean.
PROBABILITIES: dict[str, str] = {
    "mlc": ("model.predict_proba (for HOT-VAE: the decoder at the posterior mean of z, no sampling), binarised at "
            "the thresholds; the validation thresholds were chosen on these probabilities"),
    "occurrence": ("the posterior predictive mean E_z[sigmoid(decoder(z))], i.e. the mean over the draws of the "
                   "per-draw probabilities the 0/1 draws are made from (it differs from predict_proba, which fixes z "
                   "at its mean); models without per-draw probabilities, or occurrence_prob='point', use predict_proba"),
    "richness": "the 0/1 posterior predictive draws (species drawn jointly from one z per draw and site), summed per site",
    "community": "the 0/1 posterior predictive draws of the two sites of each pair (βSOR per draw)",
}


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    f = float(v)
    if not math.isfinite(f):
        return "NaN"
    return f"{f:.4f}"


def markdown_report(table: pd.DataFrame, det: EvaluationDetails) -> str:
    """``metrics.md``: settings, the probabilities each group uses, the metrics with definitions, notes.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``group``, ``metric``, ``value``, ``better`` (17 rows from :func:`~jsdm_hot.evaluation.evaluate`).
    det : EvaluationDetails

    Returns
    -------
    str
        Markdown text.
    """
    s = det.settings
    lines = [
        "# jsdm-hot evaluation report",
        "",
        f"Model: {det.model_info.get('class', '?')}; data: {det.data_info.get('n_sites')} sites × "
        f"{det.data_info.get('n_species')} species"
        + (f" ({det.data_info['source']})" if det.data_info.get("source") else "") + ".",
        f"Draws: {s.get('n_draws')} per site (seed {s.get('seed')}), {s.get('draws_source', 'given')}. "
        f"Community measures on {s.get('n_pairs')} random site pairs (βSOR).",
        f"MLC thresholds: {s.get('thresholds_source', 'given')}. Occurrence probabilities (Norberg): "
        f"{s.get('occurrence_prob')}.",
        "",
        "Probabilities each group uses:",
        "",
        f"- mlc: {PROBABILITIES['mlc']}.",
        f"- occurrence: {PROBABILITIES['occurrence']}. Here: {s.get('occurrence_prob')}.",
        f"- richness: {PROBABILITIES['richness']}.",
        f"- community: {PROBABILITIES['community']}.",
        "",
        "| group | metric | value | better | definition |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for r in table.itertuples(index=False):
        cells = [r.group, r.metric, _fmt(r.value), r.better, DEFINITIONS.get((r.group, r.metric), "")]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    if det.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in det.notes]
    lines += ["", "Further values (coverage, βSIM / βNES versions of the community measures) are in report.json.", ""]
    return "\n".join(lines)


def report_dict(table: pd.DataFrame, det: EvaluationDetails, files: dict[str, str]) -> dict[str, Any]:
    """``report.json``'s content: metrics, per-species and per-site summaries, site pairs, settings.

    Parameters
    ----------
    table : pandas.DataFrame
        As :func:`markdown_report`.
    det : EvaluationDetails
    files : dict of str to str
        The report's file names, recorded under ``"files"``.

    Returns
    -------
    dict
        JSON values only (NaN → None), for ``json.dumps(..., allow_nan=False)``.
    """
    from jsdm_hot.metrics.posterior_summary import central_interval

    counts = det.richness_draws.astype(np.float64)
    lo50, hi50 = central_interval(counts, 0.5)
    lo90, hi90 = central_interval(counts, 0.9)
    beta_pred = {k: v.mean(axis=0) for k, v in det.beta_draws.items()}
    beta_lo, beta_hi = central_interval(det.beta_draws["sor"], 0.9)
    return _jsonable({
        "metrics": table[["group", "metric", "value", "better"]].to_dict(orient="records"),
        "extra_metrics": det.extra.to_dict(orient="records"),
        "species": [
            {"species": sp, "prevalence": det.prevalence[j], "auc": det.per_species_auc[j],
             "mean_prob": det.prob[:, j].mean(), "threshold": det.thresholds[j]}
            for j, sp in enumerate(det.species)
        ],
        "richness": {
            "site_id": [str(s) for s in det.site_ids],
            "observed": det.richness_obs,
            "mean": counts.mean(axis=0),
            "sd": counts.std(axis=0),
            "lo50": lo50, "hi50": hi50, "lo90": lo90, "hi90": hi90,
        },
        "community_pairs": {
            "site_i": [str(det.site_ids[i]) for i in det.pairs[:, 0]],
            "site_j": [str(det.site_ids[j]) for j in det.pairs[:, 1]],
            **{f"observed_{k}": v for k, v in det.beta_obs.items()},
            **{f"predicted_{k}_mean": v for k, v in beta_pred.items()},
            "predicted_sor_lo90": beta_lo, "predicted_sor_hi90": beta_hi,
        },
        "calibration_curve": calibration_curve(det.y_true, det.prob, det.settings.get("n_bins", 10)).to_dict(orient="records"),
        "probabilities": {**PROBABILITIES, "occurrence_used": det.settings.get("occurrence_prob")},
        "settings": det.settings,
        "model": det.model_info,
        "data": det.data_info,
        "notes": det.notes,
        "files": files,
    })
