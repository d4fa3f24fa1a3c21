"""Tests of jsdm_hot.model.losses against hand values and torch / brute-force references."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from jsdm_hot.model.losses import (
    bce_loss,
    intermediate_bce_loss,
    kl_alignment,
    pool_subspaces,
    ranking_loss,
    total_loss,
)


# ----------------------------------------------------------------------------- KL
def test_kl_hand_value_one_dimension():
    # KL(N(1, 1) || N(0, 1)) = 0.5; KL(N(0, 1) || N(0, 4)) = 0.5 (log 4 + 1/4 - 1)
    one = torch.ones(1, 1, 1)
    zero = torch.zeros(1, 1, 1)
    assert kl_alignment(one, zero, zero, zero).item() == pytest.approx(0.5)
    expected = 0.5 * (math.log(4.0) + 0.25 - 1.0)
    assert kl_alignment(zero, zero, zero, torch.full((1, 1, 1), math.log(4.0))).item() == pytest.approx(expected, rel=1e-6)


def test_kl_direction_is_label_to_feature():
    g = torch.Generator().manual_seed(0)
    mu_y, lv_y, mu_x, lv_x = (torch.randn(6, 1, 4, generator=g) for _ in range(4))
    ref = kl_divergence(Normal(mu_y[:, 0], torch.exp(0.5 * lv_y[:, 0])), Normal(mu_x[:, 0], torch.exp(0.5 * lv_x[:, 0])))
    torch.testing.assert_close(kl_alignment(mu_y, lv_y, mu_x, lv_x), ref.sum(-1).mean())
    reverse = kl_divergence(Normal(mu_x[:, 0], torch.exp(0.5 * lv_x[:, 0])), Normal(mu_y[:, 0], torch.exp(0.5 * lv_y[:, 0])))
    assert not torch.allclose(kl_alignment(mu_y, lv_y, mu_x, lv_x), reverse.sum(-1).mean())


@pytest.mark.parametrize("J,K", [(3, 2), (1, 4), (2, 2)])
def test_kl_pooled_subspaces_match_torch_distributions(J, K):
    g = torch.Generator().manual_seed(J * 10 + K)
    B, D = 5, 3
    mu_x, lv_x = torch.randn(B, J, D, generator=g), torch.randn(B, J, D, generator=g)
    mu_y, lv_y = torch.randn(B, K, D, generator=g), torch.randn(B, K, D, generator=g)
    p = Normal(mu_y.mean(1), torch.exp(lv_y).mean(1).sqrt())
    q = Normal(mu_x.mean(1), torch.exp(lv_x).mean(1).sqrt())
    ref = kl_divergence(p, q).sum(-1).mean()
    torch.testing.assert_close(kl_alignment(mu_y, lv_y, mu_x, lv_x), ref)


def test_pooling_averages_variances_not_log_variances():
    mu = torch.tensor([[[1.0], [3.0]]])
    logvar = torch.log(torch.tensor([[[1.0], [3.0]]]))
    m, v = pool_subspaces(mu, logvar)
    assert m.item() == pytest.approx(2.0)
    assert v.item() == pytest.approx(2.0)  # mean(1, 3); pooling log-variances would give sqrt(3)


def test_kl_zero_for_identical_and_bf16_inputs_give_float32():
    mu = torch.randn(4, 2, 3)
    lv = torch.randn(4, 2, 3)
    assert kl_alignment(mu, lv, mu, lv).item() == pytest.approx(0.0, abs=1e-6)
    out = kl_alignment(mu.bfloat16(), lv.bfloat16(), torch.zeros(4, 1, 3).bfloat16(), torch.zeros(4, 1, 3).bfloat16())
    assert out.dtype == torch.float32


def test_kl_finite_when_label_variance_underflows():
    # exp(-120) underflows to 0 in float32; pooling in log space keeps the KL finite
    mu = torch.zeros(2, 2, 3)
    lv_y = torch.full((2, 2, 3), -120.0)
    out = kl_alignment(mu, lv_y, mu, torch.zeros(2, 1, 3))
    assert torch.isfinite(out)
    assert out.item() == pytest.approx(3 * 0.5 * (0.0 + 120.0 - 1.0), rel=1e-5)  # log v_x - log v_y + v_y/v_x - 1


# ---------------------------------------------------------------------------- BCE
def test_bce_matches_torch_and_hand_value():
    assert bce_loss(torch.zeros(2, 3), torch.ones(2, 3)).item() == pytest.approx(math.log(2.0))
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(7, 5, generator=g) * 3
    y = (torch.rand(7, 5, generator=g) > 0.5).to(torch.uint8)
    ref = F.binary_cross_entropy(torch.sigmoid(logits), y.float())
    torch.testing.assert_close(bce_loss(logits, y), ref)


def test_bce_from_bf16_logits_is_float32():
    logits = torch.randn(3, 4)
    y = torch.ones(3, 4)
    out = bce_loss(logits.bfloat16(), y)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, bce_loss(logits.bfloat16().float(), y))


def test_intermediate_bce_is_mean_over_layers_and_zero_when_empty():
    y = torch.tensor([[1.0, 0.0]])
    a, b = torch.tensor([[0.0, 0.0]]), torch.tensor([[2.0, -1.0]])
    expected = 0.5 * (bce_loss(a, y) + bce_loss(b, y))
    torch.testing.assert_close(intermediate_bce_loss([a, b], y), expected)
    assert intermediate_bce_loss([], y).item() == 0.0


# ------------------------------------------------------------------------ ranking
def _ranking_brute_force(logits, y):
    p = torch.sigmoid(logits.double()).tolist()
    rows = []
    for pr, yr in zip(p, y.tolist()):
        pos = [i for i, v in enumerate(yr) if v > 0.5]
        neg = [i for i, v in enumerate(yr) if v <= 0.5]
        if not pos or not neg:
            continue
        s = sum(math.exp(-(pr[r] - pr[q])) for r, q in itertools.product(pos, neg))
        rows.append(s / (len(pos) * len(neg)))
    return sum(rows) / len(rows) if rows else 0.0


def test_ranking_hand_value():
    # p = (0.5, 0.5): one pair, exp(0) = 1
    assert ranking_loss(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])).item() == pytest.approx(1.0)
    # perfect ranking with saturated logits: exp(-(1 - 0)) = e^-1
    assert ranking_loss(torch.tensor([[30.0, -30.0]]), torch.tensor([[1, 0]])).item() == pytest.approx(math.exp(-1), rel=1e-6)


def test_ranking_matches_brute_force():
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(9, 6, generator=g) * 2
    y = (torch.rand(9, 6, generator=g) > 0.6).float()
    y[0] = 1.0  # all present: excluded
    y[1] = 0.0  # all absent: excluded
    assert ranking_loss(logits, y).item() == pytest.approx(_ranking_brute_force(logits, y), rel=1e-5)


def test_ranking_excludes_degenerate_rows_without_nan():
    logits = torch.tensor([[0.3, -0.2, 1.0], [2.0, 1.0, 0.0], [-1.0, 0.0, 1.0]], requires_grad=True)
    y = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    full = ranking_loss(logits, y)
    alone = ranking_loss(logits[:1], y[:1])
    torch.testing.assert_close(full, alone)
    full.backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.all(logits.grad[1:] == 0)


def test_ranking_all_degenerate_is_zero_with_finite_grad():
    logits = torch.randn(4, 3, requires_grad=True)
    y = torch.tensor([[1.0] * 3, [0.0] * 3, [1.0] * 3, [0.0] * 3])
    out = ranking_loss(logits, y)
    assert out.item() == 0.0 and not torch.isnan(out)
    out.backward()
    assert torch.isfinite(logits.grad).all()


def test_ranking_decreases_when_positives_ranked_higher():
    y = torch.tensor([[1.0, 0.0, 0.0]])
    good = ranking_loss(torch.tensor([[3.0, -3.0, -3.0]]), y)
    bad = ranking_loss(torch.tensor([[-3.0, 3.0, 3.0]]), y)
    assert good < 1.0 < bad


# -------------------------------------------------------------------------- total
def test_total_loss_weighted_sum():
    t = [torch.tensor(v) for v in (1.5, 0.25, 2.0, 10.0)]
    out = total_loss(*t, lambda0=1.0, lambda1=0.2, lambda2=100.0, beta=1e-4)
    assert out.item() == pytest.approx(1.5 + 0.05 + 200.0 + 1e-3)
