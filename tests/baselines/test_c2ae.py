"""C2AE: the ranking loss, the relaxed CCA constraint, the gradient routing and the fitted model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jsdm_hot.baselines import BASELINES, C2AE
from jsdm_hot.baselines.c2ae import C2AEModule, orthogonality_penalty, pairwise_exp_loss
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.errors import InputDataError


def naive_pairwise(scores, y):
    B, L = scores.shape
    tot = 0.0
    for b in range(B):
        pos = [i for i in range(L) if y[b, i] == 1]
        neg = [i for i in range(L) if y[b, i] == 0]
        if pos and neg:
            tot += sum(math.exp(scores[b, q] - scores[b, p]) for p in pos for q in neg) / (len(pos) * len(neg))
    return tot / B


def test_registered_as_c2ae():
    assert BASELINES["c2ae"] is C2AE


def test_pairwise_exp_loss_matches_the_papers_double_sum():
    g = torch.Generator().manual_seed(0)
    s = (torch.randn(7, 6, generator=g, dtype=torch.float64) * 3).requires_grad_(True)
    y = (torch.rand(7, 6, generator=g) < 0.4).double()
    y[0] = 0.0  # no presences: contributes 0
    y[1] = 1.0  # no absences: contributes 0
    loss = pairwise_exp_loss(s, y)
    assert float(loss.detach()) == pytest.approx(naive_pairwise(s.detach().numpy(), y.numpy()), rel=1e-12)
    loss.backward()
    assert torch.isfinite(s.grad).all()
    np.testing.assert_array_equal(s.grad[:2].numpy(), 0.0)
    # hand value: one site, scores (2, -1, 0.5), y = (1, 0, 0): (e^{-3} + e^{-1.5}) / 2
    val = pairwise_exp_loss(torch.tensor([[2.0, -1.0, 0.5]], dtype=torch.float64),
                            torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
    assert float(val) == pytest.approx((math.exp(-3.0) + math.exp(-1.5)) / 2)
    # large scores do not overflow (log-domain computation)
    big = pairwise_exp_loss(torch.tensor([[200.0, -200.0]]), torch.tensor([[1.0, 0.0]]))
    assert float(big) == 0.0


def test_orthogonality_penalty_is_zero_for_orthonormal_codes():
    q, _ = torch.linalg.qr(torch.randn(20, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    z = q * math.sqrt(20)  # Zᵀ Z / B = I
    assert float(orthogonality_penalty(z)) == pytest.approx(0.0, abs=1e-20)
    # Z = all-ones column twice: Zᵀ Z / B = [[1, 1], [1, 1]] → off-diagonal errors 1 + 1
    assert float(orthogonality_penalty(torch.ones(5, 2))) == pytest.approx(2.0)


def _module(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return C2AEModule(3, 5, latent_dim=4, hidden=8, dropout=0.0).double()


def test_output_loss_trains_label_branch_only_and_latent_loss_both_encoders():
    m = _module()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(16, 3, generator=g, dtype=torch.float64)
    y = (torch.rand(16, 5, generator=g) < 0.5).double()
    t = m.loss_terms(x, y)
    assert set(t) == {"align", "orth", "rank", "bce"}
    (t["rank"] + t["bce"]).backward()
    assert all(p.grad is None for p in m.f_x.parameters())  # F_x gets no gradient from the output space
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.f_e.parameters() if p.ndim == 2)
    m.zero_grad(set_to_none=True)
    t = m.loss_terms(x, y)
    (t["align"] + t["orth"]).backward()
    assert all(p.grad is None for p in m.f_d.parameters())  # the decoder is not in Φ or Ω
    assert all(p.grad is not None for p in m.f_x.parameters())
    # align is the mean over sites of the squared distance between the two codes
    with torch.no_grad():
        ref = ((m.f_x(x) - m.f_e(y)) ** 2).sum(1).mean()
    assert float(t["align"].detach()) == pytest.approx(float(ref), rel=1e-12)


@pytest.fixture(scope="module")
def sim():
    data = simulate_community(n_sites=200, n_species=6, n_interactions=1, seed=5).data
    return data.subset(np.arange(0, 200, 2)), data.subset(np.arange(1, 200, 2))


def test_prediction_is_decoder_of_feature_code(sim):
    train, val = sim
    est = C2AE(hidden=8, max_epochs=3, random_state=1).fit(train, X_val=val)
    assert est.module_.f_x[-1].out_features == round(0.8 * 6)  # default K = round(0.8 L)
    xs = torch.as_tensor((val.X - est.x_mean_) / est.x_scale_, dtype=torch.float32)
    with torch.no_grad():
        ref = torch.sigmoid(est.module_.f_d(est.module_.f_x(xs))).double().numpy()
    np.testing.assert_allclose(est.predict_proba(val), ref, rtol=0, atol=1e-7)


def test_fit_is_seeded_and_leaves_global_rng_alone(sim):
    train, val = sim
    kw = dict(hidden=8, latent_dim=3, max_epochs=4, random_state=3, dropout=0.2)
    state = torch.get_rng_state()
    a = C2AE(**kw).fit(train, X_val=val)
    assert torch.equal(torch.get_rng_state(), state)
    b = C2AE(**kw).fit(train, X_val=val)
    np.testing.assert_array_equal(a.predict_proba(val), b.predict_proba(val))
    c = C2AE(**{**kw, "random_state": 4}).fit(train, X_val=val)
    assert not np.array_equal(a.predict_proba(val), c.predict_proba(val))
    assert [h["epoch"] for h in a.history_] == [0, 1, 2, 3] and all("val_maf1" in h for h in a.history_)


@pytest.mark.parametrize("bce_weight", [1.0, 0.0])
def test_training_lowers_the_loss(sim, bce_weight):
    train, _ = sim
    est = C2AE(hidden=16, max_epochs=15, bce_weight=bce_weight, lr=3e-3, batch_size=25, val_fraction=None).fit(train)
    losses = [h["loss"] for h in est.history_]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.85 * losses[0]
    p = est.predict_proba(train)
    assert np.all((p > 0) & (p < 1))


@pytest.mark.parametrize("kw, msg", [
    ({"latent_dim": 0}, "latent_dim must be a positive integer or None"),
    ({"hidden": 0}, "hidden must be a positive integer"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"alpha": -1.0}, "alpha must be >= 0"),
    ({"bce_weight": -0.1}, "bce_weight must be >= 0"),
    ({"lr": 0.0}, "lr must be > 0"),
    ({"threshold_mode": "best"}, "threshold_mode must be 'per_label' or 'global'"),
])
def test_parameter_errors(sim, kw, msg):
    train, _ = sim
    with pytest.raises(InputDataError, match=msg):
        C2AE(max_epochs=1, **kw).fit(train)
