"""Fixtures of the explain tests: a simulated community with known coefficients, models fitted to it,
and a stand-in model whose probabilities are a known function of the covariates."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.special import expit


class LinearStandIn:
    """A 'fitted model' with ``predict_proba = expit(X @ W + b)`` and independent Bernoulli ``sample``."""

    def __init__(self, W, b, species, features):
        self.W, self.b = np.asarray(W, float), np.asarray(b, float)
        self.species_, self.feature_names_in_ = tuple(species), tuple(features)
        self.n_features_in_ = len(features)
        self.thresholds_ = np.full(len(species), 0.5)
        self.x_min_ = self.x_max_ = np.full(len(features), np.nan)  # the contract's training range: unknown here
        self.history_, self.fit_seconds_, self.metadata_ = [], 0.0, {}

    def get_params(self):
        return {}

    def predict_proba(self, X):
        X = X.align_covariates(self.feature_names_in_).X if hasattr(X, "align_covariates") else np.asarray(X, float)
        return expit(X @ self.W + self.b)

    def sample(self, X, n_draws=10, seed=0):
        p = self.predict_proba(X)
        return (np.random.default_rng(seed).random((n_draws, *p.shape)) < p).astype(np.uint8)


@pytest.fixture
def stand_in():
    """Factory: ``stand_in(W, b, species, features)``."""
    return LinearStandIn


#: Simulations used by the recovery tests: (seed, n_species, beta_sd). Seed 3 has two species driven by
#: forest; seed 9 (stronger coefficients) one by elevation and one by forest.
SIMULATIONS = {"seed3": (3, 12, 1.0), "seed9": (9, 16, 1.5)}


@functools.cache
def simulated_split(name: str):
    """(simulation, train 1,000 sites, test 500 sites) of a 1,500-site community with known coefficients."""
    from jsdm_hot.data.simulate import simulate_community

    seed, n_species, beta_sd = SIMULATIONS[name]
    sim = simulate_community(n_sites=1500, n_species=n_species, n_covariates=4, residual_sd=0.5, beta_sd=beta_sd,
                             seed=seed)
    perm = np.random.default_rng(0).permutation(sim.data.n_sites)
    return sim, sim.data.subset(np.sort(perm[:1000])), sim.data.subset(np.sort(perm[1000:]))


@pytest.fixture(scope="session")
def sim_split():
    """The seed-3 simulation (temp, precip, forest, elev; 12 species), split 1,000 / 500 at random."""
    return simulated_split("seed3")


def interacting(sim, targets_only: bool = False) -> set[str]:
    """Species in a higher-order interaction (their occurrence is not their coefficients' alone); with
    ``targets_only`` just the targets of conjunctions and exclusions, which other species switch off."""
    if targets_only:
        return {i["target"] for i in sim.truth.interactions if i.get("target")}
    return {m for i in sim.truth.interactions for m in i["members"]}


def strongly_driven(sim, min_beta: float = 1.5, ratio: float = 2.0) -> list[tuple[int, int]]:
    """(species index, covariate index) of species one covariate dominates: |β| >= min_beta and >= ratio × the
    next largest, leaving out species in a higher-order interaction (their occurrence is not β's alone)."""
    B = np.abs(sim.truth.beta)
    inter = interacting(sim)
    out = []
    for l, sp in enumerate(sim.species):
        order = np.argsort(-B[:, l])
        if sp not in inter and B[order[0], l] >= min_beta and B[order[0], l] >= ratio * B[order[1], l]:
            out.append((l, int(order[0])))
    return out


@pytest.fixture(scope="session")
def br_model(sim_split):
    from jsdm_hot.baselines import BinaryRelevanceLogistic

    return BinaryRelevanceLogistic().fit(sim_split[1])


@pytest.fixture(scope="session")
def hot_model(sim_split):
    """A small HOT-VAE that learns the simulated responses (20 epochs, CPU)."""
    from jsdm_hot import HotVAE

    return HotVAE(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, max_epochs=20, patience=20,
                  batch_size=64, lambda2=0.0, device="cpu", random_state=0).fit(sim_split[1])


@pytest.fixture(scope="session")
def residual_hot(sim_split):
    """A tiny HOT-VAE with two residual factors, fitted with the simulation's tree (3 epochs, CPU)."""
    from jsdm_hot import HotVAE

    sim, train, _ = sim_split
    model = HotVAE(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, max_epochs=3, patience=3, batch_size=64,
                   lambda2=0.0, residual_factors=2, tree=sim.newick, device="cpu", random_state=0).fit(train)
    assert model.has_residual_association
    return model
