"""The analytic FLOP counter against torch's FlopCounterMode on small modules."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from jsdm_hot.errors import InputDataError
from jsdm_hot.model.config import ModelConfig
from jsdm_hot.model.flops import DECODER_TERMS, forward_flops_per_site, training_flops_per_site
from jsdm_hot.model.hotvae import HotVAEModule

# (config, n_features, n_species): J == K (one concatenated decoder pass), J != K
# (two passes), several heads / layers.
CONFIGS = [
    (ModelConfig(d_model=32, n_heads=4, latent_dim=8, encoder_hidden=16, n_layers=2), 5, 7),
    (ModelConfig(d_model=48, n_heads=3, latent_dim=6, encoder_hidden=24, n_layers=3, n_subspaces_x=2, n_subspaces_y=3), 4, 11),
    (ModelConfig(d_model=64, n_heads=4, latent_dim=16, encoder_hidden=32, n_layers=1, n_subspaces_x=3, n_subspaces_y=3), 9, 13),
]
BATCH = 5


def _module(cfg, p, L):
    torch.manual_seed(0)
    mask = torch.rand(L, L) < 0.5  # a sparse graph: the counted attention is still dense
    return HotVAEModule(p, L, cfg, mask=mask)


def _inputs(p, L):
    g = torch.Generator().manual_seed(1)
    return torch.randn(BATCH, p, generator=g), (torch.rand(BATCH, L, generator=g) < 0.5).float()


def _count(fn) -> int:
    # The math SDPA backend spells attention as bmm, which FlopCounterMode counts; the
    # fused CPU flash kernel (chosen in eval mode) is not in its registry (see below).
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("cfg,p,L", CONFIGS)
def test_training_forward_matches_flop_counter(cfg, p, L):
    module = _module(cfg, p, L).train()
    x, y = _inputs(p, L)
    measured = _count(lambda: module(x, y))
    analytic = BATCH * forward_flops_per_site(cfg, p, L)["total"]
    # every matmul is counted: exact, not just within a few %
    assert measured == analytic


@pytest.mark.parametrize("cfg,p,L", CONFIGS)
def test_predict_logits_matches_flop_counter(cfg, p, L):
    module = _module(cfg, p, L).eval()
    x, _ = _inputs(p, L)
    analytic = forward_flops_per_site(cfg, p, L, mode="predict")
    assert _count(lambda: module.predict_logits(x)) == BATCH * analytic["total"]
    # a posterior draw costs the same as a point prediction
    assert _count(lambda: module.sample_logits(x)) == BATCH * analytic["total"]


@pytest.mark.parametrize("cfg,p,L", CONFIGS)
def test_training_step_is_three_forwards(cfg, p, L):
    module = _module(cfg, p, L).train()
    x, y = _inputs(p, L)

    def step():
        out = module(x, y)
        module.loss(out, y).loss.backward()

    measured = _count(step)
    analytic = BATCH * training_flops_per_site(cfg, p, L)["total"]
    # the convention over-counts only the input-gradient matmuls of the first encoder
    # layers (x and y need no gradient): 2·B·(p + L)·H FLOPs
    assert analytic - measured == 2 * BATCH * (p + L) * cfg.encoder_hidden
    assert measured == pytest.approx(analytic, rel=0.01)


def test_cpu_fused_attention_is_not_counted_by_torch():
    """Documented difference: in eval mode on CPU, SDPA picks the fused flash kernel,
    which FlopCounterMode does not register, so torch's count lacks exactly the
    attention-score terms (Q Kᵀ and softmax·V)."""
    cfg, p, L = CONFIGS[0]
    module = _module(cfg, p, L).eval()
    x, _ = _inputs(p, L)
    counter = FlopCounterMode(display=False)
    with counter:
        module.predict_logits(x)
    a = forward_flops_per_site(cfg, p, L, mode="predict")
    assert counter.get_total_flops() == BATCH * (a["total"] - a["cross_attn_scores"] - a["self_attn_scores"])


def test_terms_and_formula_at_ebird_size():
    cfg = ModelConfig(d_model=512, n_layers=3)
    p, L, d, n = 30, 100, 512, 3
    fwd = forward_flops_per_site(cfg, p, L)
    assert set(fwd) == {"encoder_x", "encoder_y", *DECODER_TERMS, "total"}
    assert fwd["total"] == sum(v for k, v in fwd.items() if k != "total")
    # the decoder closed form of the module docstring for S = 1: in training (dropout 0.1) the out
    # projection of the one-key attention runs over the L species nodes, in prediction once
    def one_pass(out_rows):
        return 2 * 64 * d + n * (24 * L * d * d + 2 * d * d + 2 * out_rows * d * d + 4 * L * L * d) + 2 * n * L * d

    assert sum(fwd[k] for k in DECODER_TERMS) == 2 * one_pass(L)
    assert fwd["self_attn_scores"] == 2 * n * 4 * L * L * d and fwd["cross_attn_scores"] == 0
    pred = forward_flops_per_site(cfg, p, L, mode="predict")
    assert pred["encoder_y"] == 0 and sum(pred[k] for k in DECODER_TERMS) == one_pass(1)
    train = training_flops_per_site(cfg, p, L)
    res = 2 * (2 * cfg.residual_mc * cfg.residual_factors * L)  # the residual likelihood's e Λᵀ and its gradient
    assert res > 0 and train == {**{k: 3 * v for k, v in fwd.items()}, "residual": res, "total": 3 * fwd["total"] + res}
    assert 12e9 < train["total"] < 13e9  # ≈ 12.8 GFLOP per site and step (13.7 before the one-key shortcut)


def test_bad_mode_raises():
    with pytest.raises(InputDataError, match="mode"):
        forward_flops_per_site(ModelConfig(), 3, 4, mode="eval")
