"""Fixtures of the evaluation tests: a small simulated split, a 2-epoch HOT-VAE and its evaluation table."""

from __future__ import annotations

import numpy as np
import pytest

from jsdm_hot import HotVAE
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.evaluation import evaluate

from .helpers import N_DRAWS


@pytest.fixture(scope="package")
def sim_split():
    sim = simulate_community(n_sites=150, n_species=9, seed=3)
    d = sim.data
    return d.subset(np.arange(110)), d.subset(np.arange(110, 150))


@pytest.fixture(scope="package")
def model(sim_split):
    train, _ = sim_split
    return HotVAE(max_epochs=2, d_model=32, encoder_hidden=32, latent_dim=8, batch_size=64, n_heads=2, lambda2=1.0,
                  device="cpu", random_state=0).fit(train)


@pytest.fixture(scope="package")
def table(model, sim_split):
    return evaluate(model, sim_split[1], n_draws=N_DRAWS, seed=0)
