"""Joint posterior draws: shapes, reproducibility, streaming, and that co-occurrence survives."""

import numpy as np
import pytest
import torch

from jsdm_hot import HotVAE, HotVAEConfig
from jsdm_hot.errors import InputDataError
from jsdm_hot.posterior import (
    conditional_proba,
    iter_draws,
    iter_residual_draws,
    sample_conditional_draws,
    sample_draws,
    sample_residual_draws,
)


@pytest.fixture(scope="module")
def cooccurring():
    """Eight species driven by one shared site effect that the covariates do not explain."""
    rng = np.random.default_rng(0)
    n, L = 600, 8
    X = rng.normal(size=(n, 2))
    u = 1.5 * rng.normal(size=n)
    Y = (0.8 * X[:, [0]] + u[:, None] + 0.5 * rng.normal(size=(n, L)) - 0.3 > 0).astype(int)
    cfg = HotVAEConfig(d_model=32, n_heads=2, latent_dim=8, encoder_hidden=64, max_epochs=40, patience=40, batch_size=64)
    model = HotVAE(cfg, random_state=0).fit(X[:500], Y[:500])
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
    x = ((X - model.x_mean_) / model.x_scale_).astype(np.float32)
    full = sample_draws(model.module_, x, 6, seed=3, chunk_size=40)
    parts = list(iter_draws(model.module_, x, 6, seed=3, chunk_size=40))
    assert [s.start for s, _ in parts] == [0, 40, 80]
    np.testing.assert_array_equal(np.concatenate([d for _, d in parts], axis=1), full)
    np.testing.assert_array_equal(full, model.sample(X, 6, seed=3, chunk_size=40))
    assert not np.array_equal(full, sample_draws(model.module_, x, 6, seed=4, chunk_size=40))


def test_draw_frequencies_match_draw_probabilities(cooccurring):
    model, X, _ = cooccurring
    x = ((X - model.x_mean_) / model.x_scale_).astype(np.float32)
    (_, draws, prob), = list(iter_draws(model.module_, x, 400, seed=0, return_prob=True, chunk_size=len(x)))
    assert draws.shape == prob.shape == (400, len(X), 8)
    # Bernoulli(p) per draw: the frequencies agree with the mean probabilities within sampling error
    diff = np.abs(draws.mean(0) - prob.mean(0))
    assert diff.max() < 5 * np.sqrt(0.25 / 400)


# ------------------------------------------------------- residual association
def _std_x(model, X):
    return ((X - model.x_mean_) / model.x_scale_).astype(np.float32)


def test_residual_draws_carry_cooccurrence(cooccurring):
    model, X, Y = cooccurring
    x = _std_x(model, X)
    draws, prob = next(iter_residual_draws(model.module_, x, 400, seed=0, chunk_size=len(x), return_prob=True))[1:]
    assert draws.shape == prob.shape == (400, len(X), 8) and draws.dtype == np.uint8
    pbar = prob.mean(0)
    var_res = draws.sum(-1).var(0).mean()
    var_indep = (pbar * (1 - pbar)).sum(-1).mean()
    # the shared site effect (sd 1.5 on the logit scale) shows as over-dispersed richness
    assert var_res > 1.5 * var_indep, (var_res, var_indep)
    latent = model.sample(X, n_draws=400, seed=0)
    var_obs = ((Y.sum(1) - draws.sum(-1).mean(0)) ** 2).mean()
    assert abs(var_res - var_obs) < abs(latent.sum(-1).var(0).mean() - var_obs)
    # the draws' marginals are the model's predicted probabilities (the c_l scale keeps σ(d) marginal):
    # exactly by quadrature up to the probit approximation, and within Monte-Carlo error for the draws
    marg = model.predict_proba(X)
    with torch.inference_mode():
        gh = model.module_.marginal_proba(torch.as_tensor(x)).numpy()
    assert np.abs(gh - marg).max() < 0.02
    z = (pbar - gh) / (prob.std(0) / np.sqrt(400))  # Monte-Carlo z-scores of the draws' marginals
    assert np.abs(z).mean() < 1.0 and np.abs(z).max() < 5.0


def test_residual_draws_streaming_equals_collected_and_is_seeded(cooccurring):
    model, X, _ = cooccurring
    x = _std_x(model, X)
    full = sample_residual_draws(model.module_, x, 6, seed=3, chunk_size=40)
    parts = list(iter_residual_draws(model.module_, x, 6, seed=3, chunk_size=40))
    assert [s.start for s, _ in parts] == [0, 40, 80] and full.shape == (6, len(X), 8)
    np.testing.assert_array_equal(np.concatenate([d for _, d in parts], axis=1), full)
    assert not np.array_equal(full, sample_residual_draws(model.module_, x, 6, seed=4, chunk_size=40))
    lat = sample_residual_draws(model.module_, x, 6, seed=3, chunk_size=40, n_latent=2)
    assert lat.shape == full.shape and not np.array_equal(lat, full)
    assert model.module_.training is False


def test_conditional_prediction_uses_the_checklist(cooccurring):
    from sklearn.metrics import roc_auc_score

    model, X, Y = cooccurring
    x = _std_x(model, X)
    given = Y.astype(float)
    given[:, 4:] = np.nan
    prob, ess = conditional_proba(model.module_, x, given, n_mc=2000, seed=0, chunk_size=32)
    assert prob.shape == (len(X), 8) and ess.shape == (len(X),) and np.all(ess > 1)
    np.testing.assert_array_equal(prob[:, :4], Y[:, :4])
    marg = model.predict_proba(X)
    auc_c = roc_auc_score(Y[:, 4:].ravel(), prob[:, 4:].ravel())
    auc_m = roc_auc_score(Y[:, 4:].ravel(), marg[:, 4:].ravel())
    assert auc_c > auc_m + 0.03, (auc_c, auc_m)
    draws = sample_conditional_draws(model.module_, x, given, 50, n_mc=500, seed=1)
    assert draws.shape == (50, len(X), 8)
    np.testing.assert_array_equal(draws[:, :, :4], np.broadcast_to(Y[:, :4], (50, len(X), 4)))
    np.testing.assert_array_equal(draws, sample_conditional_draws(model.module_, x, given, 50, n_mc=500, seed=1))


def test_conditional_rejects_bad_checklists(cooccurring):
    model, X, _ = cooccurring
    x = _std_x(model, X)
    with pytest.raises(InputDataError, match=r"given must have shape \(n_sites, n_species\) = \(100, 8\)"):
        conditional_proba(model.module_, x, np.zeros((100, 7)))
    bad = np.full((100, 8), np.nan)
    bad[0, 0] = 2.0
    with pytest.raises(InputDataError, match="0 .absent., 1 .present. or NaN"):
        conditional_proba(model.module_, x, bad)
