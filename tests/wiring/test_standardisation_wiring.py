"""Predictions standardise their inputs with the training statistics.

Two models, same seed: one fitted on already-standardised covariates (for which the
fit's own standardisation is the identity up to rounding), one on the same covariates
shifted and scaled far from 0/1. Training sees the same numbers, so every prediction —
``predict_proba``, ``predict``, ``sample`` — must agree when each model is given its
own kind of covariates. A ``predict`` that forgot to standardise would feed the second
model values in the thousands.
"""

from __future__ import annotations

import numpy as np
import pytest

from .builders import tiny_baseline, tiny_hotvae


@pytest.fixture(scope="module")
def covariates(small_sim):
    """(Z, raw, Y): standardised covariates (n_sites, n_features), the same shifted and scaled, occurrences."""
    X = small_sim.data.X
    Z = (X - X.mean(0)) / X.std(0)
    p = Z.shape[1]
    scale = np.geomspace(0.01, 1000.0, p)
    shift = np.linspace(-5000.0, 20000.0, p)
    return Z, Z * scale + shift, small_sim.data.Y


BUILDERS = {
    "HotVAE": lambda: tiny_hotvae(lr=1e-2, max_epochs=10, random_state=0),  # enough to beat all-present
    "BinaryRelevanceLogistic": lambda: tiny_baseline("logistic", random_state=0),
}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def pair(request, covariates):
    """The model fitted on standardised covariates and the one fitted on the raw ones."""
    Z, raw, Y = covariates
    build = BUILDERS[request.param]
    return build().fit(Z, Y), build().fit(raw, Y)


def test_predict_proba_standardises(pair, covariates):
    Z, raw, _ = covariates
    on_z, on_raw = pair
    np.testing.assert_allclose(on_raw.predict_proba(raw), on_z.predict_proba(Z), atol=1e-5)


def test_predict_standardises(pair, covariates):
    Z, raw, _ = covariates
    on_z, on_raw = pair
    np.testing.assert_allclose(on_raw.thresholds_, on_z.thresholds_)
    rates = on_z.predict(Z).mean(0)
    informative = (rates > 0.02) & (rates < 0.9)  # neither all-absent nor all-present
    assert informative.sum() >= rates.size // 2, f"predicted occurrence rates {rates} would hide a wrong input"
    agree = np.mean(on_raw.predict(raw) == on_z.predict(Z))
    assert agree > 0.995, f"only {agree:.1%} of the 0/1 predictions agree"


def test_sample_standardises(pair, covariates):
    Z, raw, _ = covariates
    on_z, on_raw = pair
    a, b = on_raw.sample(raw, n_draws=20, seed=3), on_z.sample(Z, n_draws=20, seed=3)
    assert a.shape == b.shape == (20, *Z.shape[:1], on_z.thresholds_.size)
    agree = np.mean(a == b)
    assert agree > 0.995, f"only {agree:.1%} of the posterior draws agree"
