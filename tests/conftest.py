"""Shared fixtures: the real data folder beside the repository and small simulated communities."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """One torch thread in the test process and in the subprocesses it starts.

    The suite's models are tiny: with two OpenMP threads on a 2-core CI machine
    (shared with subprocess tests) small ops run many times slower, and results
    would depend on the core count. Benchmarks, not tests, measure speed.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
SHARED_DATA = ROOT.parent / "shared" / "data"


def require_shared_data(*parts: str) -> Path:
    """Path of ``../shared/data/<parts>``; skip outside CI when it is absent, fail in CI.

    The one place that decides how a real-data test reacts to missing fixtures;
    test modules import it (``from conftest import require_shared_data``).
    """
    path = SHARED_DATA.joinpath(*parts)
    if path.exists():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{path} is missing in CI; real-data tests must run there")
    pytest.skip(f"{path} not present (real-data fixtures live beside the repository)")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture(scope="session")
def small_sim():
    """A 300-site, 8-species simulated community (seed 1)."""
    from jsdm_hot.data.simulate import simulate_community

    return simulate_community(n_sites=300, n_species=8, seed=1)


@pytest.fixture(scope="session")
def tiny_params() -> dict:
    """Keyword parameters of a tiny, fast HotVAE: ``HotVAE(**tiny_params, graph=..., random_state=...)``.

    ``lambda2=1.0`` pins the ranking loss on (the ``"auto"`` default switches it
    off on sparse data), so the tests exercise every term of Eq 17.
    """
    return dict(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, n_layers=2, lambda2=1.0,
                max_epochs=4, patience=4, batch_size=64)
