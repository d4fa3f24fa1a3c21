"""Joint posterior draws: shapes, reproducibility, streaming, and that co-occurrence survives."""

import numpy as np
import pytest

from jsdm_hot import HotVAE
from jsdm_hot.estimators.inputs import chunk_seed
from jsdm_hot.estimators.posterior import latent_draws


@pytest.fixture(scope="module")
def cooccurring():
    """Eight species driven by one shared site effect that the covariates do not explain."""
    rng = np.random.default_rng(0)
    n, L = 600, 8
    X = rng.normal(size=(n, 2))
    u = 1.5 * rng.normal(size=n)
    Y = (0.8 * X[:, [0]] + u[:, None] + 0.5 * rng.normal(size=(n, L)) - 0.3 > 0).astype(int)
    model = HotVAE(d_model=32, n_heads=2, latent_dim=8, encoder_hidden=64, lambda2=1.0, max_epochs=40, patience=40,
                   batch_size=64, random_state=0).fit(X[:500], Y[:500])
    return model, X[500:], Y[500:]


def test_joint_draws_keep_cooccurrence(cooccurring):
    model, X, Y = cooccurring
    draws = model.sample(X, n_draws=200, seed=0)
    marg = draws.mean(0)  # (n_sites, n_species) marginals of the joint draws
    indep = (np.random.default_rng(1).random(draws.shape) < marg).astype(np.uint8)
    var_joint = draws.sum(-1).var(0).mean()
    var_indep = indep.sum(-1).var(0).mean()
    assert var_joint > 1.05 * var_indep, (var_joint, var_indep)
    # observed spread of richness around the predicted mean
    var_obs = ((Y.sum(1) - draws.sum(-1).mean(0)) ** 2).mean()
    assert abs(var_joint - var_obs) < abs(var_indep - var_obs)


def test_streaming_equals_collected_and_is_seeded(cooccurring):
    model, X, _ = cooccurring
    full = model.sample(X, 6, seed=3, chunk_size=40)
    parts = list(model.iter_samples(X, 6, seed=3, chunk_size=40))
    assert [(s.start, s.stop) for s, _ in parts] == [(0, 40), (40, 80), (80, 100)]
    np.testing.assert_array_equal(np.concatenate([d for _, d in parts], axis=1), full)
    assert not np.array_equal(full, model.sample(X, 6, seed=4, chunk_size=40))
    # each chunk is latent_draws of its sites with the chunk's own seed derived from (seed, chunk index)
    x = ((X - model.x_mean_) / model.x_scale_).astype(np.float32)
    for ci, (sites, draws) in enumerate(parts):
        alone, _ = latent_draws(model.module_, x[sites], 6, seed=chunk_seed(3, ci), device="cpu")
        np.testing.assert_array_equal(alone, draws)
    assert len({chunk_seed(3, ci) for ci in range(3)} | {chunk_seed(4, 0)}) == 4


def test_draw_frequencies_match_draw_probabilities(cooccurring):
    model, X, _ = cooccurring
    (sites, draws, prob), = list(model.iter_samples(X, 400, seed=0, return_prob=True, chunk_size=len(X)))
    assert sites == slice(0, len(X))
    assert draws.shape == prob.shape == (400, len(X), 8)
    assert draws.dtype == np.uint8 and prob.dtype == np.float32
    # Bernoulli(p) per draw: the frequencies agree with the mean probabilities within sampling error
    diff = np.abs(draws.mean(0) - prob.mean(0))
    assert diff.max() < 5 * np.sqrt(0.25 / 400)


def test_latent_draws_leave_the_module_mode_alone(cooccurring):
    model, X, _ = cooccurring
    x = ((X[:5] - model.x_mean_) / model.x_scale_).astype(np.float32)
    model.module_.train()
    try:
        a, pa = latent_draws(model.module_, x, 3, seed=1)
        assert model.module_.training  # restored
    finally:
        model.module_.eval()
    b, pb = latent_draws(model.module_, x, 3, seed=1)  # eval inside: dropout off, same draws
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pa, pb)
