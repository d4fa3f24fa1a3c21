"""Tests of jsdm_hot.model.residual against quadrature, exact Bayes and known Σ."""

import math

import numpy as np
import pytest
import torch

from jsdm_hot.model import losses
from jsdm_hot.model import residual as R

GH_X, GH_W = np.polynomial.hermite.hermgauss(120)
E1 = GH_X * math.sqrt(2.0)  # nodes for e ~ N(0, 1)
W1 = GH_W / math.sqrt(math.pi)  # weights summing to 1


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _cond_logits(d, lam):
    """Conditional-scale logits c_l d_l (numpy), c_l = sqrt(1 + π/8 |λ_l|²)."""
    return d * np.sqrt(1.0 + math.pi / 8.0 * (lam ** 2).sum(-1))


def _exact_log_lik_k1(d, lam, y):
    """log ∫ Π_{l observed} Bern(y_l | σ(c_l d_l + λ_l e)) φ(e) de by Gauss–Hermite (K = 1)."""
    a = _cond_logits(d, lam)
    p = _sig(a[:, None] + lam[:, :1] * E1[None])  # (L, nodes)
    obs = ~np.isnan(y)
    lik = np.prod(np.where(y[obs, None] == 1, p[obs], 1 - p[obs]), axis=0)
    return math.log((lik * W1).sum())


D3 = np.array([0.3, -1.0, 2.0])
LAM3 = np.array([[1.2], [0.8], [-0.5]])


# ----------------------------------------------------------------- likelihood
@pytest.mark.parametrize("y", [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, np.nan, 0.0]])
def test_mc_log_likelihood_matches_gauss_hermite(y):
    y = np.array(y)
    exact = _exact_log_lik_k1(D3, LAM3, y)
    noise = torch.randn(400_000, 1, 1, generator=torch.Generator().manual_seed(0))
    mc = R.mc_log_likelihood(torch.tensor(D3[None], dtype=torch.float32), torch.tensor(y[None], dtype=torch.float32),
                             torch.tensor(LAM3, dtype=torch.float32), noise)
    assert mc.shape == (1,)
    assert abs(mc.item() - exact) < 3e-3, (mc.item(), exact)
    # the species are dependent: the joint likelihood is not the product of the marginals
    indep = sum(math.log((W1 * (_sig(_cond_logits(D3, LAM3)[l] + LAM3[l, 0] * E1) if y[l] == 1 else
                                1 - _sig(_cond_logits(D3, LAM3)[l] + LAM3[l, 0] * E1))).sum())
                for l in range(3) if not np.isnan(y[l]))
    assert abs(indep - exact) > 0.01


def test_mc_log_likelihood_is_stable_for_huge_logits():
    d = torch.tensor([[3000.0, -5000.0, 800.0]], requires_grad=True)
    lam = torch.tensor(LAM3, dtype=torch.float32, requires_grad=True)
    noise = torch.randn(64, 1, 1, generator=torch.Generator().manual_seed(0))
    agree = R.mc_log_likelihood(d, torch.tensor([[1.0, 0.0, 1.0]]), lam, noise)
    assert torch.isfinite(agree).all() and agree.item() > -1e-3
    clash = R.mc_log_likelihood(d, torch.tensor([[0.0, 1.0, 1.0]]), lam, noise)
    # log σ(-x) ≈ -x: about -(3000 c_0 + 5000 c_1) plus the residual terms, finite, no -inf
    c = np.sqrt(1 + math.pi / 8 * LAM3[:, 0] ** 2)
    assert torch.isfinite(clash).all()
    assert clash.item() == pytest.approx(-(3000 * c[0] + 5000 * c[1]), rel=1e-2)
    clash.sum().backward()
    assert torch.isfinite(d.grad).all() and torch.isfinite(lam.grad).all()


def test_zero_loadings_reduce_to_bce():
    g = torch.Generator().manual_seed(1)
    d = 3 * torch.randn(7, 5, generator=g)
    y = (torch.rand(7, 5, generator=g) > 0.5).float()
    noise = torch.randn(16, 7, 2, generator=g)
    got = losses.residual_loss(d, y, torch.zeros(5, 2), noise)
    torch.testing.assert_close(got, losses.bce_loss(d, y))
    assert R.logit_scale(torch.zeros(5, 2)).eq(1).all()


# ------------------------------------------------------------------ marginal
def test_marginal_probability_is_the_logistic_normal_integral():
    d = np.array([[-4.0, -1.0, 0.0, 0.5, 3.0]])
    lam = np.array([[0.5, 0.0], [1.0, 1.0], [2.0, -1.0], [0.0, 0.0], [3.0, 0.0]])
    got = R.marginal_probability(torch.tensor(d, dtype=torch.float32), torch.tensor(lam, dtype=torch.float32)).numpy()
    s = np.sqrt((lam ** 2).sum(-1))
    a = _cond_logits(d[0], lam)
    exact = np.array([(W1 * _sig(a[l] + s[l] * E1)).sum() for l in range(5)])
    np.testing.assert_allclose(got[0], exact, atol=1e-6)
    # the c_l scale keeps σ(d) the marginal within the probit approximation's error
    np.testing.assert_allclose(got[0], _sig(d[0]), atol=0.02)
    assert got[0, 3] == pytest.approx(_sig(0.5), abs=1e-7)  # no loading: exactly σ(d)


# --------------------------------------------------------------------- draws
LAM_K2 = np.array([[1.0, 0.5], [0.9, 0.3], [-1.0, 0.2]])
D_K2 = np.array([-0.5, 0.4, -1.0])


def test_draws_reproduce_sigma_and_cooccurrence():
    S = 200_000
    g = torch.Generator().manual_seed(0)
    lam = torch.tensor(LAM_K2, dtype=torch.float32)
    y, p = R.draw_occurrences(torch.tensor(D_K2[None], dtype=torch.float32), lam, S, g, return_prob=True)
    assert y.shape == p.shape == (S, 1, 3) and y.dtype == torch.uint8
    # latent scale: logit(p) − c·d = Λ e, whose covariance is Σ = Λ Λᵀ
    resid = (torch.logit(p[:, 0].double()) - torch.tensor(_cond_logits(D_K2, LAM_K2))).numpy()
    np.testing.assert_allclose(np.cov(resid.T), LAM_K2 @ LAM_K2.T, atol=0.03)
    # occurrence scale: Cov(y_i, y_j) = E[σ_i σ_j] − p_i p_j, by 2-d Gauss–Hermite over e
    e1, e2 = np.meshgrid(E1, E1, indexing="ij")
    w = np.outer(W1, W1)
    a = _cond_logits(D_K2, LAM_K2)
    sig = np.stack([_sig(a[l] + LAM_K2[l, 0] * e1 + LAM_K2[l, 1] * e2) for l in range(3)])
    pm = (sig * w).sum((1, 2))
    cov = np.array([[(sig[i] * sig[j] * w).sum() - pm[i] * pm[j] for j in range(3)] for i in range(3)])
    np.fill_diagonal(cov, pm * (1 - pm))
    emp = np.cov(y[:, 0].numpy().T.astype(float))
    np.testing.assert_allclose(emp, cov, atol=4e-3)
    assert cov[0, 1] > 0.02 and cov[0, 2] < -0.02  # the test has signal of both signs


def test_draws_seeded_and_shapes():
    lam = torch.tensor(LAM_K2, dtype=torch.float32)
    d = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    a = R.draw_occurrences(d, lam, 5, torch.Generator().manual_seed(7))
    b = R.draw_occurrences(d, lam, 5, torch.Generator().manual_seed(7))
    c = R.draw_occurrences(d, lam, 5, torch.Generator().manual_seed(8))
    assert a.shape == (5, 4, 3)
    assert torch.equal(a, b) and not torch.equal(a, c)
    # per-draw decoder logits (a few z's): draw s uses its own logits
    big = torch.stack([torch.full((4, 3), -50.0), torch.full((4, 3), 50.0)])
    y = R.draw_occurrences(big, lam, 2, torch.Generator().manual_seed(0))
    assert y[0].sum() == 0 and y[1].sum() == 12
    # no residual factors: independent Bernoulli(σ(d)) draws
    y0, p0 = R.draw_occurrences(d, torch.zeros(3, 0), 3, torch.Generator().manual_seed(0), return_prob=True)
    torch.testing.assert_close(p0, torch.sigmoid(d).expand(3, 4, 3))


# --------------------------------------------------------------- conditional
def test_conditional_probability_matches_exact_bayes():
    lam = np.array([[1.5], [-1.2]])
    d = np.array([-0.3, 0.2])
    a = _cond_logits(d, lam)
    s0, s1 = _sig(a[0] + lam[0, 0] * E1), _sig(a[1] + lam[1, 0] * E1)
    exact = {1.0: (W1 * s0 * s1).sum() / (W1 * s0).sum(), 0.0: (W1 * (1 - s0) * s1).sum() / (W1 * (1 - s0)).sum()}
    given = torch.tensor([[1.0, np.nan], [0.0, np.nan], [np.nan, np.nan]])
    logits = torch.tensor(np.tile(d, (3, 1)), dtype=torch.float32)
    lam_t = torch.tensor(lam, dtype=torch.float32)
    prob, ess = R.conditional_probability(logits, lam_t, given, n_mc=200_000, generator=torch.Generator().manual_seed(0))
    assert prob.shape == (3, 2) and ess.shape == (3,)
    assert prob[0, 1].item() == pytest.approx(exact[1.0], abs=3e-3)
    assert prob[1, 1].item() == pytest.approx(exact[0.0], abs=3e-3)
    assert exact[1.0] < exact[0.0] - 0.1  # negative association: seeing species 0 lowers species 1
    # nothing observed: the marginal; observed entries are returned as given
    marginal = (W1 * s1).sum()
    assert prob[2, 1].item() == pytest.approx(marginal, abs=3e-3)
    assert prob[0, 0].item() == 1.0 and prob[1, 0].item() == 0.0
    assert ess[2].item() == pytest.approx(200_000, rel=1e-3) and ess[0] < ess[2]
    # sampling-importance-resampling draws agree with the exact conditional
    draws = R.conditional_draws(logits, lam_t, given, 40_000, n_mc=20_000, generator=torch.Generator().manual_seed(1))
    assert draws.shape == (40_000, 3, 2) and draws.dtype == torch.uint8
    assert torch.all(draws[:, 0, 0] == 1) and torch.all(draws[:, 1, 0] == 0)
    assert draws[:, 0, 1].float().mean().item() == pytest.approx(exact[1.0], abs=0.01)
    assert draws[:, 1, 1].float().mean().item() == pytest.approx(exact[0.0], abs=0.01)


def test_conditional_without_factors_is_the_marginal():
    d = torch.tensor([[0.3, -1.0, 2.0]])
    prob, _ = R.conditional_probability(d, torch.zeros(3, 0), torch.tensor([[1.0, np.nan, np.nan]]), n_mc=10)
    torch.testing.assert_close(prob[0, 1:], torch.sigmoid(d[0, 1:]))


# ------------------------------------------------------------- Σ and module
def test_covariance_correlation_and_module():
    lam = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 0.0]])
    torch.testing.assert_close(R.residual_covariance(lam), lam @ lam.T)
    corr = R.residual_correlation(lam)
    expected = torch.tensor([[1.0, 0.6, 0.0], [0.6, 1.0, 0.0], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(corr, expected)
    torch.manual_seed(0)
    m = R.ResidualAssociation(5, 3)
    assert m.loadings.shape == (5, 3) and set(m.state_dict()) == {"weight", "gain"}
    torch.testing.assert_close(m.loadings, m.gain * m.weight)
    assert 0.1 < m.loadings.std().item() < 0.6  # starts away from the Λ = 0 stationary point
    torch.testing.assert_close(m.covariance(), R.residual_covariance(m.loadings))


def test_config_validates_residual_fields():
    from jsdm_hot.errors import InputDataError
    from jsdm_hot.model import ModelConfig

    assert ModelConfig(residual_factors=0).residual_factors == 0
    for kw, name in (({"residual_factors": -1}, "residual_factors"), ({"residual_factors": 1.5}, "residual_factors"),
                     ({"residual_mc": 0}, "residual_mc"), ({"lambda_residual": -0.1}, "lambda_residual")):
        with pytest.raises(InputDataError, match=name):
            ModelConfig(**kw)
    # the fields survive the JSON round trip of saved models
    cfg = ModelConfig(residual_factors=3, residual_mc=16, lambda_residual=0.5)
    assert ModelConfig(**cfg.to_dict()) == cfg
