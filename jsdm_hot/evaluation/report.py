"""Write the evaluation report: ``metrics.csv``, ``metrics.md``, ``report.json`` and PNG figures.

:func:`write_report` takes the table of :func:`jsdm_hot.evaluation.evaluate`
(its :class:`~jsdm_hot.evaluation.details.EvaluationDetails`), writes the
tables of :mod:`~jsdm_hot.evaluation.tables` and the figures of
:mod:`~jsdm_hot.evaluation.plots`. This module imports the plots, never the
other way round. Names that lived here before the package was split
(``evaluate``, ``evaluate_arrays``, ``compare``, ``calibration_curve``,
``EvaluationDetails``, ``DEFINITIONS``) are re-exported for old import paths;
use :mod:`jsdm_hot.evaluation`.
"""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation.calibration import calibration_curve  # noqa: F401 (re-export, see the module notes)
from jsdm_hot.evaluation.compare import compare  # noqa: F401 (re-export)
from jsdm_hot.evaluation.details import EvaluationDetails
from jsdm_hot.evaluation.plots import plot_report
from jsdm_hot.evaluation.scoring import _check_data, _model_info, evaluate, evaluate_arrays
from jsdm_hot.evaluation.tables import DEFINITIONS, markdown_report, report_dict  # noqa: F401 (DEFINITIONS: re-export)

__all__ = ["write_report"]

logger = logging.getLogger(__name__)


def _details_for(table: pd.DataFrame, model, data, n_draws, seed, prob, draws) -> EvaluationDetails:
    det = table.attrs.get("details")
    if isinstance(det, EvaluationDetails):
        return det
    if draws is not None:
        if data is None:
            raise InputDataError("write_report: draws given without data (the observed occurrences)")
        if model is not None:
            data = _check_data(model, data)
        elif data.Y is None:
            raise InputDataError("write_report: data has no occurrences")
        if prob is None:
            if model is None:
                raise InputDataError("write_report: draws given without prob or model")
            prob = model.predict_proba(data)
        draws = np.asarray(draws)
        t = evaluate_arrays(data.Y, prob, draws, n_draws=draws.shape[0],
                            thresholds=getattr(model, "thresholds_", 0.5) if model is not None else 0.5,
                            seed=seed, n_pairs=int(table.attrs.get("settings", {}).get("n_pairs_requested", 300)),
                            species=data.species, site_ids=data.site_ids)
        det = t.attrs["details"]
        det.settings["draws_source"] = "draws passed to write_report"
        if model is not None:
            det.model_info.update(_model_info(model))
        return det
    if model is not None and data is not None:
        logger.warning("write_report: the table carries no evaluation details (attrs lost); drawing again")
        return evaluate(model, data, n_draws=n_draws, seed=seed).attrs["details"]
    raise InputDataError(
        "write_report needs the table returned by evaluate() (its attrs['details'] hold the draws' summaries), "
        "or model and data to evaluate again, or data and draws"
    )


def write_report(
    table: pd.DataFrame,
    report_dir: str | os.PathLike,
    *,
    model: Any = None,
    data: CommunityData | None = None,
    n_draws: int = 100,
    seed: int = 0,
    prob: np.ndarray | None = None,
    draws: np.ndarray | None = None,
    dpi: int = 120,
) -> dict[str, Path]:
    """Write the evaluation report: tables, JSON and PNG plots.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`evaluate` (its ``attrs["details"]`` are used, so
        nothing is drawn again).
    report_dir : path-like
        Folder to write into (created if needed). Existing files of the same
        names are replaced, each atomically.
    model, data, n_draws, seed : optional
        Only used when ``table`` has no details: evaluate again.
    prob : ndarray of shape (n_sites, n_species), optional
    draws : ndarray of shape (n_draws, n_sites, n_species), optional
        Only used when ``table`` has no details: summarise these draws
        (with ``data``'s occurrences) instead of drawing again.
    dpi : int, default=120

    Returns
    -------
    dict of str to pathlib.Path
        ``metrics_csv`` (``metrics.csv``), ``metrics_md`` (``metrics.md``),
        ``report_json`` (``report.json``), ``richness_png``,
        ``auc_prevalence_png``, ``calibration_png``, ``beta_png``.
    """
    from jsdm_hot.io import atomic_write_bytes, atomic_write_text

    det = _details_for(table, model, data, n_draws, seed, prob, draws)
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {
        "metrics_csv": out / "metrics.csv",
        "metrics_md": out / "metrics.md",
        "report_json": out / "report.json",
    }
    base = table[["group", "metric", "value", "better"]]
    atomic_write_text(paths["metrics_csv"], base.to_csv(index=False))
    atomic_write_text(paths["metrics_md"], markdown_report(base, det))
    figs = plot_report(det)
    png_names = {"richness": "richness.png", "auc_prevalence": "auc_prevalence.png",
                 "calibration": "calibration.png", "beta": "beta_sor.png"}
    for key, fig in figs.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        paths[f"{key}_png"] = out / png_names.get(key, f"{key}.png")
        atomic_write_bytes(paths[f"{key}_png"], buf.getvalue())
    files = {k: p.name for k, p in paths.items()}
    payload = report_dict(base, det, files)
    atomic_write_text(paths["report_json"], json.dumps(payload, indent=1, allow_nan=False))
    logger.info("wrote evaluation report to %s", out)
    return paths
