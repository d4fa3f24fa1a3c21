"""Evaluation report: MLC metrics and Norberg et al. (2019)'s 12 ecological measures, tables and plots.

Python::

    from jsdm_hot.evaluation import evaluate, write_report, plot_report, compare

    table = evaluate(model, test_data, n_draws=100, seed=0)   # tidy DataFrame, 17 rows
    paths = write_report(table, "report/")                    # CSV, Markdown, JSON, PNGs
    figs = plot_report(table)                                 # dict of matplotlib figures
    wide = compare({"HOT-VAE": hot, "BR-logistic": br}, test_data)

Command line: ``jsdm-hot evaluate MODEL_DIR DATA.csv --draws 100 --report DIR``.
"""

from jsdm_hot.evaluation.plots import plot_report
from jsdm_hot.evaluation.report import (
    DEFINITIONS,
    EvaluationDetails,
    calibration_curve,
    compare,
    evaluate,
    evaluate_arrays,
    write_report,
)

__all__ = [
    "evaluate",
    "evaluate_arrays",
    "write_report",
    "plot_report",
    "compare",
    "calibration_curve",
    "EvaluationDetails",
    "DEFINITIONS",
]
