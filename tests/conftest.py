"""Shared fixtures: the real data folder beside the repository and small simulated communities."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def require_shared_data() -> Path:
    """Path of ../shared/data; skip outside CI when it is absent, fail in CI."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get("CI"):
        pytest.fail(f"{SHARED_DATA} is missing in CI; real-data tests must run there")
    pytest.skip(f"{SHARED_DATA} not present (real-data fixtures live beside the repository)")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture(scope="session")
def small_sim():
    """A 300-site, 8-species simulated community (seed 1)."""
    from jsdm_hot.data.simulate import simulate_community

    return simulate_community(n_sites=300, n_species=8, seed=1)


@pytest.fixture(scope="session")
def tiny_config():
    from jsdm_hot import HotVAEConfig

    return HotVAEConfig(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, n_layers=2,
                        max_epochs=4, patience=4, batch_size=64)
