"""Evaluation report: MLC metrics and Norberg et al. (2019)'s 12 ecological measures, tables and plots.

Python::

    from jsdm_hot.evaluation import evaluate, write_report, plot_report, compare

    table = evaluate(model, test_data, n_draws=100, seed=0)   # tidy DataFrame, 17 rows
    paths = write_report(table, "report/")                    # CSV, Markdown, JSON, PNGs
    figs = plot_report(table)                                 # dict of matplotlib figures
    wide = compare({"HOT-VAE": hot, "BR-logistic": br}, test_data)

Command line: ``jsdm-hot evaluate MODEL_DIR DATA.csv --draws 100 --report DIR``.

Modules: :mod:`~jsdm_hot.evaluation.scoring` (:func:`evaluate`, the tidy
table), :mod:`~jsdm_hot.evaluation.details` (:class:`EvaluationDetails`, the
arrays behind a table), :mod:`~jsdm_hot.evaluation.calibration`,
:mod:`~jsdm_hot.evaluation.compare`, :mod:`~jsdm_hot.evaluation.tables`
(Markdown / JSON, :data:`DEFINITIONS`), :mod:`~jsdm_hot.evaluation.plots`
(figures from the details) and :mod:`~jsdm_hot.evaluation.report`
(:func:`write_report`, which uses tables and plots). Imports go one way:
report → tables, plots → details, calibration.
"""

from jsdm_hot.evaluation.calibration import calibration_curve
from jsdm_hot.evaluation.compare import compare
from jsdm_hot.evaluation.details import EvaluationDetails
from jsdm_hot.evaluation.plots import plot_report
from jsdm_hot.evaluation.report import write_report
from jsdm_hot.evaluation.scoring import evaluate, evaluate_arrays
from jsdm_hot.evaluation.tables import DEFINITIONS, PROBABILITIES

__all__ = [
    "evaluate",
    "evaluate_arrays",
    "write_report",
    "plot_report",
    "compare",
    "calibration_curve",
    "EvaluationDetails",
    "DEFINITIONS",
    "PROBABILITIES",
]
