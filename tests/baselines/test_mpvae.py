"""MPVAE: the probit likelihood, ranking loss, KL, exact marginals and joint draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jsdm_hot.baselines import MPVAE
from jsdm_hot.baselines.mpvae import MPVAEModule, ranking_loss
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.errors import InputDataError


def naive_ranking(prob, y):
    S, B, L = prob.shape
    tot = 0.0
    for s in range(S):
        for b in range(B):
            pos = [i for i in range(L) if y[b, i] == 1]
            neg = [i for i in range(L) if y[b, i] == 0]
            if pos and neg:
                tot += sum(math.exp(-5 * (prob[s, b, i] - prob[s, b, k])) for i in pos for k in neg) / (5 * len(pos) * len(neg))
    return tot / (S * B)


def test_ranking_loss_matches_pairwise_definition():
    g = torch.Generator().manual_seed(0)
    prob = torch.rand(3, 5, 6, generator=g, dtype=torch.float64)
    y = (torch.rand(5, 6, generator=g) < 0.4).double()
    y[0] = 0.0  # no presences: contributes 0
    y[1] = 1.0  # no absences: contributes 0
    assert float(ranking_loss(prob, y)) == pytest.approx(naive_ranking(prob.numpy(), y.numpy()), rel=1e-12)
    # hand value: one site, p = (0.9, 0.1), y = (1, 0)
    val = ranking_loss(torch.tensor([[0.9, 0.1]], dtype=torch.float64), torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert float(val) == pytest.approx(math.exp(-4.0) / 5)


def test_mc_nll_is_log_mean_of_joint_likelihoods():
    E = torch.tensor([[[0.9, 0.2], [0.5, 0.5]], [[0.6, 0.4], [0.1, 0.7]], [[0.3, 0.3], [0.8, 0.9]]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    lik = np.array([[0.9 * 0.8, 0.5 * 0.5], [0.6 * 0.6, 0.9 * 0.7], [0.3 * 0.7, 0.2 * 0.9]])  # (S, B)
    expected = -np.mean(np.log(lik.mean(0)))
    assert float(MPVAEModule.mc_nll(E, y)) == pytest.approx(expected, rel=1e-12)


def _module(L=3, p=2, rank=2, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return MPVAEModule(p, L, latent_dim=3, hidden=4, cov_rank=rank, dropout=0.0).double().eval()


def test_marginal_probability_is_the_probit_noise_average():
    m = _module()
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        m.r_sqrt_sigma.copy_(torch.tensor([[1.0, 0.5], [-2.0, 0.0], [0.3, 0.3]]))
        mean = m.decode(x, m.encode_x(x)[0])
        noise = torch.randn(100_000, 4, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
        mc = m.mc_probs(mean, noise).mean(0)
        exact = m.marginal_prob(x)
    torch.testing.assert_close(exact, torch.special.ndtr(mean / torch.tensor([1.25 + 1, 4 + 1, 0.18 + 1]).sqrt()))
    torch.testing.assert_close(mc, exact, atol=5e-3, rtol=0)


def test_loss_terms_kl_matches_torch_distributions():
    m = _module()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 2, generator=g, dtype=torch.float64)
    y = (torch.rand(6, 3, generator=g) < 0.5).double()
    with torch.no_grad():
        terms = m.loss_terms(x, y, n_samples=7, generator=g)
        mu_x, lv_x = m.encode_x(x)
        mu_y, lv_y = m.encode_y(x, y)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu_y, (0.5 * lv_y).exp()),
                                            torch.distributions.Normal(mu_x, (0.5 * lv_x).exp())).sum(1).mean()
    assert float(terms["kl"]) == pytest.approx(float(ref), rel=1e-4)
    assert set(terms) == {"nll_y", "nll_x", "rank_y", "rank_x", "kl"}
    assert all(t.ndim == 0 and torch.isfinite(t) for t in terms.values())


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_joint_draws_carry_the_residual_correlation(sign):
    m = _module(L=2, rank=1)
    with torch.no_grad():
        m.mp_mu.weight.zero_()
        m.mp_mu.bias.zero_()
        m.r_sqrt_sigma.copy_(torch.tensor([[3.0], [3.0 * sign]]))
    x = torch.zeros(20_000, 2, dtype=torch.float64)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        p = m.draw_prob(x, g)  # one joint draw's probabilities per site
    y = (torch.rand(p.shape, generator=g, dtype=p.dtype) < p).double().numpy()
    # latent correlation 9/10 → P(both present) = 1/4 + asin(0.9)/(2π)
    both = 0.25 + sign * math.asin(0.9) / (2 * math.pi)
    assert (y[:, 0] * y[:, 1]).mean() == pytest.approx(both, abs=0.015)
    assert y.mean(0) == pytest.approx([0.5, 0.5], abs=0.015)


@pytest.fixture(scope="module")
def sim():
    data = simulate_community(n_sites=200, n_species=6, n_interactions=1, seed=5).data
    return data.subset(np.arange(0, 200, 2)), data.subset(np.arange(1, 200, 2))


def test_fit_is_seeded_and_leaves_global_rng_alone(sim):
    train, val = sim
    kw = dict(hidden=8, latent_dim=4, n_train_samples=5, max_epochs=4, random_state=3, dropout=0.2)
    state = torch.get_rng_state()
    a = MPVAE(**kw).fit(train, X_val=val)
    assert torch.equal(torch.get_rng_state(), state)
    b = MPVAE(**kw).fit(train, X_val=val)
    np.testing.assert_array_equal(a.predict_proba(val), b.predict_proba(val))
    c = MPVAE(**{**kw, "random_state": 4}).fit(train, X_val=val)
    assert not np.array_equal(a.predict_proba(val), c.predict_proba(val))
    assert [h["epoch"] for h in a.history_] == [0, 1, 2, 3] and all("val_maf1" in h for h in a.history_)


def test_training_lowers_the_loss_and_covariance_is_valid(sim):
    train, _ = sim
    est = MPVAE(hidden=16, latent_dim=4, n_train_samples=10, max_epochs=15, cov_rank=2).fit(train)
    losses = [h["loss"] for h in est.history_]
    assert losses[-1] < losses[0]
    cov = est.residual_covariance_
    assert cov.shape == (6, 6)
    np.testing.assert_allclose(cov, cov.T)
    assert np.all(np.diag(cov) >= 1.0) and np.linalg.eigvalsh(cov).min() >= 1.0 - 1e-9  # R Rᵀ + I


def test_parameter_errors(sim):
    train, _ = sim
    with pytest.raises(InputDataError, match="cov_rank must be a positive integer"):
        MPVAE(cov_rank=0, max_epochs=1).fit(train)
    with pytest.raises(InputDataError, match="dropout must be in"):
        MPVAE(dropout=1.0, max_epochs=1).fit(train)
    with pytest.raises(InputDataError, match="n_draws must be at least 1"):
        MPVAE(hidden=4, latent_dim=2, max_epochs=1).fit(train).sample(train, n_draws=0)
