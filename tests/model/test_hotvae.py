"""Tests of jsdm_hot.model.hotvae.HotVAEModule (wiring, modes, loss, training)."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from jsdm_hot.errors import InputDataError
from jsdm_hot.model import losses
from jsdm_hot.model.config import ModelConfig
from jsdm_hot.model.encoders import GaussianSubspaceEncoder
from jsdm_hot.model.hotvae import HotVAEModule

P, L = 6, 5


def _cfg(**kw):
    base = dict(d_model=8, n_heads=2, latent_dim=4, encoder_hidden=12, n_layers=2, dropout=0.0)
    base.update(kw)
    return ModelConfig(**base)


def _module(seed=0, mask=None, bias=None, **kw):
    torch.manual_seed(seed)
    return HotVAEModule(P, L, _cfg(**kw), mask=mask, bias=bias)


def _data(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, P, generator=g)
    y = (torch.rand(n, L, generator=g) > 0.5).float()
    y[0, 0], y[0, 1] = 1.0, 0.0  # at least one ranking pair
    return x, y


# ------------------------------------------------------------------ buffers
def test_graph_buffers_saved_and_diagonal_forced():
    mask = np.zeros((L, L), dtype=bool)
    mask[0, 1] = True
    bias = np.full((L, L), 0.25, dtype=np.float32)
    m = _module(mask=mask, bias=bias)
    sd = m.state_dict()
    assert sd["attn_mask"].dtype == torch.bool and sd["attn_bias"].dtype == torch.float32
    assert torch.all(torch.diagonal(sd["attn_mask"])) and sd["attn_mask"][0, 1] and not sd["attn_mask"][1, 0]
    assert torch.all(sd["attn_bias"] == 0.25)
    plain = _module()
    assert torch.all(plain.attn_mask) and torch.all(plain.attn_bias == 0)
    # loading restores the graph, so the loaded module predicts like the saved one
    plain.load_state_dict(sd)
    x, _ = _data()
    m.eval(), plain.eval()
    torch.testing.assert_close(plain.predict_logits(x), m.predict_logits(x))


def test_bad_graph_and_inputs_raise_input_data_error():
    with pytest.raises(InputDataError, match=r"mask has shape \(4, 4\), expected \(5, 5\)"):
        _module(mask=np.ones((4, 4), dtype=bool))
    with pytest.raises(InputDataError, match="bias"):
        _module(bias=np.full((L, L), np.nan))
    m = _module()
    with pytest.raises(InputDataError, match=r"x must have shape \(n_sites, 6\)"):
        m(torch.randn(3, P + 1))
    with pytest.raises(InputDataError, match=r"y must have shape \(n_sites, 5\)"):
        m(torch.randn(3, P), torch.ones(3, L + 2))
    with pytest.raises(InputDataError, match="divisible"):
        HotVAEModule(P, L, ModelConfig(d_model=10, n_heads=3))


def test_training_loop_contract():
    """What jsdm_hot.training.train_module uses: ``n_species``, ``predict_proba``, ``loss`` with a ``loss`` field."""
    m = _module().eval()
    x, y = _data(n=6)
    assert m.n_species == L and m.n_features == P and m.config == _cfg()
    p = m.predict_proba(x)
    assert p.shape == (6, L) and p.dtype == torch.float32
    # with residual factors the marginal over the residual; the paper's model: sigmoid of the logits
    torch.testing.assert_close(p, m.marginal_proba(x))
    paper = _module(residual_factors=0).eval()
    torch.testing.assert_close(paper.predict_proba(x), torch.sigmoid(paper.predict_logits(x)))
    terms = m.loss(m(x, y), y)
    assert terms.loss.dim() == 0 and torch.isfinite(terms.loss)


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("J,K", [(1, 1), (3, 2)])
def test_output_shapes(n_layers, J, K):
    m = _module(n_layers=n_layers, n_subspaces_x=J, n_subspaces_y=K).train()
    x, y = _data(n=7)
    out = m(x, y)
    assert out.logits_x.shape == out.logits_y.shape == (7, L)
    assert len(out.intermediate_x) == len(out.intermediate_y) == n_layers - 1
    assert out.mu_x.shape == out.logvar_x.shape == (7, J, 4)
    assert out.mu_y.shape == out.logvar_y.shape == (7, K, 4)
    out_x = m(x)
    assert out_x.logits_y is None and out_x.intermediate_y == [] and out_x.mu_y is None
    assert m.encode_x(x)[0].shape == (7, J, 4) and m.encode_y(y)[1].shape == (7, K, 4)
    assert m.decode(torch.randn(7, K, 4)).logits.shape == (7, L)


@pytest.mark.parametrize("J,K", [(1, 1), (2, 3)])
def test_both_branches_use_the_shared_decoder(J, K):
    m = _module(n_subspaces_x=J, n_subspaces_y=K).eval()
    x, y = _data(n=5)
    out = m(x, y)
    mu_x, _ = m.encode_x(x)
    mu_y, _ = m.encode_y(y)
    torch.testing.assert_close(out.logits_x, m.decode(mu_x).logits)
    torch.testing.assert_close(out.logits_y, m.decode(mu_y).logits)
    torch.testing.assert_close(out.intermediate_y[0], m.decode(mu_y).intermediate[0])


def test_uint8_labels_accepted():
    m = _module().eval()
    x, y = _data()
    torch.testing.assert_close(m(x, y.to(torch.uint8)).logits_y, m(x, y).logits_y)


# ------------------------------------------------------------------- modes
def test_eval_is_deterministic_and_equals_predict_logits():
    m = _module(dropout=0.3).eval()
    x, _ = _data(n=6)
    a, b = m(x).logits_x, m(x).logits_x
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, m.predict_logits(x))


def test_train_mode_samples_latents():
    m = _module(dropout=0.0).train()
    x, _ = _data(n=6)
    torch.manual_seed(1)
    a = m(x).logits_x
    b = m(x).logits_x
    assert not torch.allclose(a, b)  # reparameterised z differs between calls


def test_sample_logits_reproducible_and_joint():
    m = _module().eval()
    x, _ = _data(n=6)
    s1 = m.sample_logits(x, torch.Generator().manual_seed(42))
    s2 = m.sample_logits(x, torch.Generator().manual_seed(42))
    s3 = m.sample_logits(x, torch.Generator().manual_seed(43))
    torch.testing.assert_close(s1, s2)
    assert not torch.allclose(s1, s3)
    assert not torch.allclose(s1, m.predict_logits(x))
    # one z per site: equal to decoding the explicit draw
    mu, logvar = m.encode_x(x)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(42))
    torch.testing.assert_close(s1, m.decode(mu + torch.exp(0.5 * logvar) * eps).logits)


# -------------------------------------------------------------------- loss
@pytest.mark.parametrize("K", [0, 2])
def test_loss_is_weighted_sum_of_terms(K):
    m = HotVAEModule(P, L, _cfg(lambda0=0.7, lambda1=0.3, lambda2=100.0, beta=1e-2, n_layers=3, residual_factors=K,
                                lambda_residual=0.4))
    x, y = _data(n=8)
    m.eval()
    out = m(x, y)
    lo = m.loss(out, y)
    bce = losses.bce_loss(out.logits_x, y) + losses.bce_loss(out.logits_y, y)
    inter = losses.intermediate_bce_loss(out.intermediate_x, y) + losses.intermediate_bce_loss(out.intermediate_y, y)
    rank = losses.ranking_loss(out.logits_x, y) + losses.ranking_loss(out.logits_y, y)
    kl = losses.kl_alignment(out.mu_y, out.logvar_y, out.mu_x, out.logvar_x)
    torch.testing.assert_close(lo.bce, bce)
    torch.testing.assert_close(lo.intermediate_bce, inter)
    torch.testing.assert_close(lo.ranking, rank)
    torch.testing.assert_close(lo.kl, kl)
    paper = 0.7 * bce + 0.3 * inter + 100.0 * rank + 1e-2 * kl
    if K == 0:  # the paper's Eq 17 exactly
        assert out.residual_noise is None and lo.residual.item() == 0.0
        torch.testing.assert_close(lo.loss, paper)
    else:
        assert out.residual_noise.shape == (m.config.residual_mc, 8, K)
        resid = losses.residual_loss(out.logits_x, y, m.residual.loadings, out.residual_noise)
        torch.testing.assert_close(lo.residual, resid)
        torch.testing.assert_close(lo.loss, paper + 0.4 * resid)
        assert 0.1 < resid.item() < 5.0
    assert lo.kl > 0 and lo.intermediate_bce > 0
    assert set(lo.as_floats()) == {"loss", "bce", "intermediate_bce", "ranking", "kl", "residual"}


def test_loss_without_label_branch_has_zero_label_terms():
    m = _module(n_layers=1).eval()
    x, y = _data(n=8)
    out = m(x)
    lo = m.loss(out, y)
    torch.testing.assert_close(lo.bce, losses.bce_loss(out.logits_x, y))
    torch.testing.assert_close(lo.ranking, losses.ranking_loss(out.logits_x, y))
    assert lo.kl.item() == 0.0 and lo.intermediate_bce.item() == 0.0


def test_gradients_reach_both_encoders_and_label_embeddings():
    m = _module(beta=1.0).train()
    x, y = _data(n=8)
    m.loss(m(x, y), y).loss.backward()
    for name in ("encoder_x.mlp.0.weight", "encoder_y.mlp.0.weight", "encoder_x.logvar_head.weight",
                 "encoder_y.mu_head.weight", "decoder.label_embedding", "decoder.readout_weight"):
        grad = dict(m.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_pluggable_encoder():
    class Linear2(GaussianSubspaceEncoder):
        def __init__(self):
            super().__init__(P, 2, 4)
            self.lin = torch.nn.Linear(P, 16)

        def forward(self, x):
            h = self.lin(x).view(x.shape[0], 2, 8)
            return h[..., :4], h[..., 4:]

    torch.manual_seed(0)
    m = HotVAEModule(P, L, _cfg(), feature_encoder=Linear2()).train()
    x, y = _data()
    out = m(x, y)
    assert out.mu_x.shape == (4, 2, 4) and out.mu_y.shape == (4, 1, 4)
    m.loss(out, y).loss.backward()
    assert m.encoder_x.lin.weight.grad is not None

    class WrongDim(Linear2):
        def __init__(self):
            super().__init__()
            self.latent_dim = 3

    with pytest.raises(InputDataError, match="latent_dim"):
        HotVAEModule(P, L, _cfg(), feature_encoder=WrongDim())


def test_bf16_autocast_cpu_loss_is_float32_and_finite():
    m = _module().train()
    x, y = _data(n=8)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        out = m(x, y)
        lo = m.loss(out, y)
    assert lo.loss.dtype == torch.float32 and torch.isfinite(lo.loss)
    lo.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


# ------------------------------------------------------ residual association
def test_zero_residual_factors_is_the_paper_module():
    """K = 0 adds nothing; K > 0 adds only the loadings and leaves every other tensor and output alone."""
    paper, extra = _module(seed=3, residual_factors=0), _module(seed=3, residual_factors=2)
    sd0, sd2 = paper.state_dict(), extra.state_dict()
    assert paper.residual is None and not any(k.startswith("residual") for k in sd0)
    assert set(sd2) - set(sd0) == {"residual.weight", "residual.gain"}
    for k, v in sd0.items():
        torch.testing.assert_close(sd2[k], v, rtol=0, atol=0)
    x, y = _data(n=6)
    for mode in ("eval", "train"):
        getattr(paper, mode)(), getattr(extra, mode)()
        torch.manual_seed(5)
        out0 = paper(x, y)
        torch.manual_seed(5)
        out2 = extra(x, y)  # the residual noise is drawn after both latents
        torch.testing.assert_close(out2.logits_x, out0.logits_x, rtol=0, atol=0)
        torch.testing.assert_close(out2.logits_y, out0.logits_y, rtol=0, atol=0)
        l0, l2 = paper.loss(out0, y), extra.loss(out2, y)
        torch.testing.assert_close(l2.loss - extra.config.lambda_residual * l2.residual, l0.loss)
    # without factors the residual queries describe independence
    paper.eval()
    torch.testing.assert_close(paper.residual_correlation(), torch.eye(L))
    assert paper.residual_covariance().abs().sum() == 0
    torch.testing.assert_close(paper.marginal_proba(x), torch.sigmoid(paper.predict_logits(x)))


def test_residual_gradients_and_shard_noise():
    m = _module(residual_factors=3).train()
    x, y = _data(n=8)
    m.loss(m(x, y), y).loss.backward()
    assert m.residual.weight.grad is not None and m.residual.weight.grad.abs().sum() > 0
    # distributed: the noise of rows 2:5 of an 8-row global batch is the slice of the global draw
    torch.manual_seed(11)
    full = m._residual_noise(8, x.device, None)
    torch.manual_seed(11)
    part = m._residual_noise(3, x.device, (2, 5, 8))
    torch.testing.assert_close(part, full[:, 2:5])
    # eval mode: one fixed set of draws shared by all sites, whatever the batching
    m.eval()
    whole = m._residual_noise(8, x.device, None)
    torch.testing.assert_close(m._residual_noise(3, x.device, (2, 5, 8)), whole[:, :3])
    torch.testing.assert_close(whole[:, 0], whole[:, 7])
    m.train()
    # global_counts rescale the residual term like the other batch means
    m.eval()
    out = m(x, y)
    plain = m.loss(out, y)
    scaled = m.loss(out, y, global_counts=(32, losses.ranked_sites(y) * 4, 4))
    torch.testing.assert_close(scaled.residual, plain.residual)  # B · world / n_sites = 1
    half = m.loss(out, y, global_counts=(64, losses.ranked_sites(y) * 4, 4))
    torch.testing.assert_close(half.residual, plain.residual / 2)


def test_residual_draw_logits_and_queries():
    m = _module(residual_factors=2).eval()
    x, _ = _data(n=5)
    a = m.residual_draw_logits(x, 7, torch.Generator().manual_seed(1))
    b = m.residual_draw_logits(x, 7, torch.Generator().manual_seed(1))
    assert a.shape == (7, 5, L)
    torch.testing.assert_close(a, b)
    # z at the posterior mean: every draw is c · d + Λ e with the same d
    from jsdm_hot.model.residual import logit_scale

    lam = m.residual.loadings.detach()
    base = m.predict_logits(x) * logit_scale(lam)
    noise = torch.randn((7, 5, 2), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, base + noise @ lam.T)
    # several latent draws: draw s uses latent s mod n_latent
    lat = m.latent_logits(x, 3, torch.Generator().manual_seed(2))
    assert lat.shape == (3, 5, L) and not torch.allclose(lat[0], lat[1])
    c = m.residual_draw_logits(x, 7, torch.Generator().manual_seed(2), n_latent=3)
    assert c.shape == (7, 5, L)
    with pytest.raises(InputDataError, match="n_latent"):
        m.latent_logits(x, 0)
    given = torch.full((5, L), float("nan"))
    given[:, 0] = 1.0
    prob, ess = m.conditional_proba(x, given, n_mc=50, generator=torch.Generator().manual_seed(0))
    assert prob.shape == (5, L) and ess.shape == (5,) and torch.all(prob[:, 0] == 1)
    assert m.conditional_draws(x, given, 4, n_mc=50, generator=torch.Generator().manual_seed(0)).shape == (4, 5, L)
    with pytest.raises(InputDataError, match="given"):
        m.conditional_proba(x, given[:, :2])
    cov = m.residual_covariance()
    torch.testing.assert_close(cov, lam @ lam.T)
    torch.testing.assert_close(m.residual_correlation().diagonal(), torch.ones(L))


# ----------------------------------------------------------------- training
@pytest.fixture
def one_thread():
    """Run tiny-op training on one intra-op thread (restored afterwards).

    On a loaded 2-core CI machine two spinning OpenMP threads make this test ~7x slower.
    """
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def test_tiny_overfit_reaches_high_training_auc(one_thread):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    n = 64
    x = torch.randn(n, P, generator=g)
    w = torch.randn(P, L, generator=g)
    y = ((x @ w + 0.3 * torch.randn(n, L, generator=g)) > 0).float()
    cfg = _cfg(d_model=16, latent_dim=8, encoder_hidden=32, lambda2=1.0, beta=1e-4)
    m = HotVAEModule(P, L, cfg)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    m.train()
    first = None
    for _step in range(200):
        lo = m.loss(m(x, y), y)
        opt.zero_grad()
        lo.loss.backward()
        opt.step()
        first = first if first is not None else lo.loss.item()
    m.eval()
    with torch.no_grad():
        p = torch.sigmoid(m.predict_logits(x)).numpy()
    auc = roc_auc_score(y.numpy(), p, average="macro")
    assert lo.loss.item() < 0.5 * first
    assert auc > 0.97, auc
