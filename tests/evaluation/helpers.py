"""Shared values of the evaluation tests (not a test module)."""

from __future__ import annotations

import numpy as np

N_DRAWS = 30

EXPECTED = [
    ("mlc", "ebF1", "higher"),
    ("mlc", "miF1", "higher"),
    ("mlc", "maF1", "higher"),
    ("mlc", "hamming_accuracy", "higher"),
    ("mlc", "median_auc", "higher"),
    *[(g, m, b) for g in ("occurrence", "richness", "community")
      for m, b in (("accuracy", "lower"), ("discrimination", "higher"), ("calibration", "lower"), ("precision", "lower"))],
]


class FixedModel:
    """A fitted-model stand-in with fixed probabilities; ``sample`` only if ``draws`` is given."""

    def __init__(self, prob, species, draws=None, thresholds=None):
        self.prob = np.asarray(prob, dtype=np.float64)
        self.species_ = tuple(species)
        if thresholds is not None:
            self.thresholds_ = np.asarray(thresholds, dtype=np.float64)
        if draws is not None:
            self._draws = draws
            self.sample = lambda X, n_draws=100, seed=0: self._draws[:n_draws]

    def predict_proba(self, X):
        return self.prob.copy()
