"""Tests of jsdm_hot.evaluation.compare: several models on the same pairs."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot.evaluation import compare

from .helpers import EXPECTED, FixedModel


def test_compare_same_pairs_and_best(model, sim_split):
    test = sim_split[1]
    const = FixedModel(np.tile(test.Y.mean(axis=0), (test.n_sites, 1)), model.species_)
    wide = compare({"hot": model, "const": const}, test, n_draws=10, seed=0)
    assert list(wide.columns) == ["hot", "const", "better", "best"]
    assert list(wide.index) == [(g, m) for g, m, _ in EXPECTED]
    tables = wide.attrs["tables"]
    np.testing.assert_array_equal(tables["hot"].attrs["details"].pairs, tables["const"].attrs["details"].pairs)
    for (g, m), row in wide.iterrows():
        a, b = row["hot"], row["const"]
        if not (np.isfinite(a) and np.isfinite(b)):
            continue
        win_hot = a > b if row["better"] == "higher" else a < b
        expected = "hot" if win_hot else ("const" if a != b else "hot = const")
        assert row["best"] == expected, (g, m)
    # a constant prediction has AUC 0.5 for every species
    assert wide.loc[("occurrence", "discrimination"), "const"] == pytest.approx(0.5)
