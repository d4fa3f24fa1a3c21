"""Tests of jsdm_hot.evaluation.plots: the report figures, also on skewed and degenerate evaluations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation import evaluate_arrays, plot_report, write_report
from jsdm_hot.evaluation.plots import plot_beta, plot_richness

pytest.importorskip("matplotlib")


def test_plot_report_figures(table):
    from matplotlib.figure import Figure

    figs = plot_report(table)
    assert set(figs) == {"richness", "auc_prevalence", "calibration", "beta"}
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), name
    with pytest.raises(InputDataError, match="evaluate"):
        plot_report(pd.DataFrame())


def _skewed_beta_table():
    """Two sites with the same single species; in 96 of 100 draws the second site matches (βSOR 0),
    in 4 it holds the other species (βSOR 1): posterior mean 0.04, 5-95 % interval [0, 0]."""
    y = np.array([[1, 0], [1, 0]], dtype=np.uint8)
    draws = np.zeros((100, 2, 2), dtype=np.uint8)
    draws[:, :, 0] = 1
    draws[96:, 1, 0], draws[96:, 1, 1] = 0, 1
    return evaluate_arrays(y, np.full(y.shape, 0.5), draws, n_draws=100, n_pairs=10, seed=0)


def _skewed_richness_table():
    """Site 0 is empty in 96 draws and holds both species in 4: mean richness 0.08, 5-95 % interval [0, 0]."""
    y = np.array([[1, 1], [0, 1], [1, 0]], dtype=np.uint8)
    draws = np.zeros((100, 3, 2), dtype=np.uint8)
    draws[96:, 0, :] = 1
    return evaluate_arrays(y, np.full(y.shape, 0.5), draws, n_draws=100, n_pairs=10, seed=0)


def test_skewed_beta_draws_plot_the_mean_outside_its_interval():
    # issue 15 item 2: matplotlib's yerr raised "'yerr' must not contain negative values" here
    table = _skewed_beta_table()
    det = table.attrs["details"]
    mean = det.beta_draws["sor"].mean(axis=0)
    assert mean == pytest.approx([0.04]) and np.quantile(det.beta_draws["sor"], 0.95) == 0.0
    ax = plot_beta(table).axes[0]
    (segments,) = [c.get_segments() for c in ax.collections]  # the 90 % interval: drawn from its ends
    assert [tuple(map(tuple, s)) for s in segments] == [((0.0, 0.0), (0.0, 0.0))]
    points = ax.lines[0]
    assert points.get_ydata().tolist() == pytest.approx([0.04])  # the posterior mean, not clipped to the interval
    assert "0 % of pairs inside" in ax.get_title()


def test_skewed_richness_draws_plot_the_mean_outside_its_interval():
    table = _skewed_richness_table()
    ax = plot_richness(table).axes[0]
    (segments,) = [c.get_segments() for c in ax.collections]
    # sites in order; every site's 5-95 % interval is [0, 0], site 0's mean richness is 8 / 100
    assert [(s[0][1], s[1][1]) for s in segments] == [(0.0, 0.0)] * 3
    assert ax.lines[0].get_ydata().tolist() == pytest.approx([0.08, 0.0, 0.0])


DEGENERATE = {
    # every species absent at every site and in every draw: no AUC (NaN), βSOR 0, zero richness
    "all_absent": (np.zeros((5, 3)), np.zeros((10, 5, 3))),
    # every species everywhere: NaN AUC, constant draws
    "all_present": (np.ones((5, 3)), np.ones((10, 5, 3))),
    # one site: no site pairs, community measures NaN
    "single_site": (np.array([[1, 0, 1]]), np.ones((10, 1, 3))),
    # one species, one draw
    "single_species_one_draw": (np.array([[1], [0], [1]]), np.ones((1, 3, 1))),
}


@pytest.mark.parametrize("case", sorted(DEGENERATE) + ["skewed_beta", "skewed_richness"])
def test_report_figures_of_degenerate_evaluations(case, tmp_path):
    if case == "skewed_beta":
        table = _skewed_beta_table()
    elif case == "skewed_richness":
        table = _skewed_richness_table()
    else:
        y, draws = DEGENERATE[case]
        table = evaluate_arrays(np.asarray(y, np.uint8), np.full(np.shape(y), 0.5), np.asarray(draws, np.uint8),
                                n_draws=len(draws), n_pairs=20, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (empty means, all-NaN slices) either
        figs = plot_report(table)
        paths = write_report(table, tmp_path / case)
    assert set(figs) == {"richness", "auc_prevalence", "calibration", "beta"}
    for key in ("richness_png", "auc_prevalence_png", "calibration_png", "beta_png"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", key
    md = paths["metrics_md"].read_text(encoding="utf-8")
    values = table.set_index(["group", "metric"])["value"]
    if case in ("all_absent", "all_present"):
        assert np.isnan(values[("occurrence", "discrimination")]) and "| NaN |" in md
    if case == "single_site":
        assert values[["community"]].isna().all() and "fewer than 2 sites" in figs["beta"].axes[0].get_title()
