"""Run by ``torchrun`` from tests/distributed/test_ddp.py: fit HotVAE on the simulated example.

Every rank fits the same estimator on the same data (the process group shards the
batches); rank 0 saves the model to ``argv[1]``.
"""

import sys

import torch

from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.training import distributed


def fit_example(overrides: dict):
    from jsdm_hot import HotVAE

    sim = simulate_community(n_sites=260, n_species=8, seed=3)
    params = dict(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, n_layers=2, dropout=0.0, lambda2=1.0,
                  max_epochs=3, patience=10, batch_size=50)
    return HotVAE(**{**params, **overrides}, device="cpu", random_state=7).fit(sim.data)


if __name__ == "__main__":
    torch.set_num_threads(1)
    ctx = distributed.init_from_env("cpu")
    assert ctx.world_size == 2, ctx
    model = fit_example({})
    if ctx.is_main:
        model.save(sys.argv[1])
    distributed.shutdown()
