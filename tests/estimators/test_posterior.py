"""Joint posterior draws: shapes, reproducibility, streaming, and that co-occurrence survives.

Both draw modes of :class:`jsdm_hot.HotVAE` on one fitted model: the paper's latent
draws (``draws="latent"``) and the residual-association draws (the default with
``residual_factors > 0``), and conditional prediction from a partial checklist.
"""

import copy

import numpy as np
import pytest
import torch

from jsdm_hot import HotVAE
from jsdm_hot.errors import InputDataError
from jsdm_hot.estimators.inputs import chunk_seed
from jsdm_hot.estimators.posterior import conditional, latent_draws, residual_draws


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
    assert model.draw_mode() == "residual"  # the default with residual factors
    return model, X[500:], Y[500:]


@pytest.fixture(scope="module")
def latent(cooccurring):
    """The same fitted model drawing as the paper does (one z per draw)."""
    model, X, Y = cooccurring
    paper = copy.copy(model).set_params(draws="latent")
    assert paper.draw_mode() == "latent"
    return paper, X, Y


def test_latent_draws_keep_some_cooccurrence(latent):
    model, X, Y = latent
    draws = model.sample(X, n_draws=200, seed=0)
    marg = draws.mean(0)  # (n_sites, n_species) marginals of the joint draws
    indep = (np.random.default_rng(1).random(draws.shape) < marg).astype(np.uint8)
    var_joint = draws.sum(-1).var(0).mean()
    var_indep = indep.sum(-1).var(0).mean()
    assert var_joint > 1.05 * var_indep, (var_joint, var_indep)
    # observed spread of richness around the predicted mean
    var_obs = ((Y.sum(1) - draws.sum(-1).mean(0)) ** 2).mean()
    assert abs(var_joint - var_obs) < abs(var_indep - var_obs)


def test_streaming_equals_collected_and_is_seeded(latent):
    model, X, _ = latent
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


@pytest.mark.parametrize("mode", ["latent", "residual"])
def test_draw_frequencies_match_draw_probabilities(cooccurring, mode):
    model, X, _ = cooccurring
    model = copy.copy(model).set_params(draws=mode)
    (sites, draws, prob), = list(model.iter_samples(X, 400, seed=0, return_prob=True, chunk_size=len(X)))
    assert sites == slice(0, len(X))
    assert draws.shape == prob.shape == (400, len(X), 8)
    assert draws.dtype == np.uint8 and prob.dtype == np.float32
    # Bernoulli(p) per draw: the frequencies agree with the mean probabilities within sampling error
    diff = np.abs(draws.mean(0) - prob.mean(0))
    assert diff.max() < 5 * np.sqrt(0.25 / 400)


def test_latent_draws_leave_the_module_mode_alone(latent):
    model, X, _ = latent
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


# ------------------------------------------------------- residual association
def _std_x(model, X):
    return ((X - model.x_mean_) / model.x_scale_).astype(np.float32)


def test_residual_draws_carry_cooccurrence(cooccurring, latent):
    model, X, Y = cooccurring
    (_, draws, prob), = list(model.iter_samples(X, 400, seed=0, chunk_size=len(X), return_prob=True))
    assert draws.shape == prob.shape == (400, len(X), 8) and draws.dtype == np.uint8
    pbar = prob.mean(0)
    var_res = draws.sum(-1).var(0).mean()
    var_indep = (pbar * (1 - pbar)).sum(-1).mean()
    # the shared site effect (sd 1.5 on the logit scale) shows as over-dispersed richness
    assert var_res > 1.5 * var_indep, (var_res, var_indep)
    paper = latent[0].sample(X, n_draws=400, seed=0)
    var_obs = ((Y.sum(1) - draws.sum(-1).mean(0)) ** 2).mean()
    assert abs(var_res - var_obs) < abs(paper.sum(-1).var(0).mean() - var_obs)
    # the draws' marginals are the model's predicted probabilities (exact quadrature), within Monte-Carlo error
    marg = model.predict_proba(X)
    with torch.inference_mode():
        gh = model.module_.marginal_proba(torch.as_tensor(_std_x(model, X))).numpy()
    np.testing.assert_allclose(gh, marg, atol=1e-6)
    z = (pbar - gh) / (prob.std(0) / np.sqrt(400))  # Monte-Carlo z-scores of the draws' marginals
    assert np.abs(z).mean() < 1.0 and np.abs(z).max() < 5.0


def test_residual_draws_are_chunked_seeded_and_one_decoder_pass(cooccurring):
    model, X, _ = cooccurring
    full = model.sample(X, 6, seed=3, chunk_size=40)
    parts = list(model.iter_samples(X, 6, seed=3, chunk_size=40))
    assert [s.start for s, _ in parts] == [0, 40, 80] and full.shape == (6, len(X), 8)
    np.testing.assert_array_equal(np.concatenate([d for _, d in parts], axis=1), full)
    x = _std_x(model, X)
    for ci, (sites, draws) in enumerate(parts):
        np.testing.assert_array_equal(residual_draws(model.module_, x[sites], 6, seed=chunk_seed(3, ci))[0], draws)
    assert not np.array_equal(full, model.sample(X, 6, seed=4, chunk_size=40))
    two = copy.copy(model).set_params(n_latent=2).sample(X, 6, seed=3, chunk_size=40)
    assert two.shape == full.shape and not np.array_equal(two, full)
    calls = []
    hook = model.module_.decoder.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    try:
        model.sample(X, 50, seed=0, chunk_size=len(X))
    finally:
        hook.remove()
    assert calls == [len(X)]  # one decoder pass per site, whatever the number of draws
    assert model.module_.training is False


def test_conditional_prediction_uses_the_checklist(cooccurring):
    from sklearn.metrics import roc_auc_score

    model, X, Y = cooccurring
    given = Y.astype(float)
    given[:, 4:] = np.nan
    prob = model.predict_proba(X, given=given, n_mc=2000, seed=0)
    assert prob.shape == (len(X), 8)
    np.testing.assert_array_equal(prob[:, :4], Y[:, :4])
    marg = model.predict_proba(X)
    auc_c = roc_auc_score(Y[:, 4:].ravel(), prob[:, 4:].ravel())
    auc_m = roc_auc_score(Y[:, 4:].ravel(), marg[:, 4:].ravel())
    assert auc_c > auc_m + 0.03, (auc_c, auc_m)
    np.testing.assert_array_equal(prob, model.predict_proba(X, given=given, n_mc=2000, seed=0))
    # a DataFrame is matched by species name; species it lacks are unknown
    import pandas as pd

    frame = pd.DataFrame(Y[:, :4], columns=list(model.species_[:4]))
    np.testing.assert_array_equal(model.predict_proba(X, given=frame, n_mc=2000, seed=0), prob)
    p, ess, draws = conditional(model.module_, _std_x(model, X), given, n_mc=500, seed=1, n_draws=50)
    assert ess.shape == (len(X),) and np.all(ess > 1)
    np.testing.assert_array_equal(draws[:, :, :4], np.broadcast_to(Y[:, :4], (50, len(X), 4)))


def test_conditional_rejects_bad_checklists(cooccurring):
    model, X, _ = cooccurring
    with pytest.raises(InputDataError, match=r"given must have shape \(n_sites, n_species\) = \(100, 8\)"):
        model.predict_proba(X, given=np.zeros((100, 7)))
    bad = np.full((100, 8), np.nan)
    bad[0, 0] = 2.0
    with pytest.raises(InputDataError, match=r"given holds 2.0 for species 'sp_0' at site 1; use 1"):
        model.predict_proba(X, given=bad)
    paper = copy.copy(model)
    paper.model_config_ = type(model.model_config_)(**{**model.model_config_.to_dict(), "residual_factors": 0})
    with pytest.raises(InputDataError, match="needs the residual association"):
        paper.predict_proba(X, given=np.full((100, 8), np.nan))
