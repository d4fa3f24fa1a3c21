"""Per-species BCE weights ("balanced"): values by hand, the weighted BCE, and the module wiring."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jsdm_hot import InputDataError
from jsdm_hot.model import HotVAEModule, ModelConfig
from jsdm_hot.model.losses import bce_loss, species_weights


def test_species_weights_by_hand():
    w = species_weights([0.5, 0.1, 0.0])
    raw = np.array([1 / math.sqrt(0.25), 1 / math.sqrt(0.09), 1 / math.sqrt(1e-3 * (1 - 1e-3))])
    raw = raw / raw.mean()
    raw = np.minimum(raw, 10.0)
    np.testing.assert_allclose(w.numpy(), raw / raw.mean(), rtol=1e-6)
    assert w.mean().item() == pytest.approx(1.0) and w[2] > w[1] > w[0]


def test_weighted_bce_is_the_weighted_mean_of_entries():
    logits = torch.tensor([[0.3, -1.0], [2.0, 0.5]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    w = torch.tensor([2.0, 0.5])
    per = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    assert bce_loss(logits, y, w).item() == pytest.approx((per * w).mean().item())
    assert bce_loss(logits, y).item() == pytest.approx(per.mean().item())


def test_module_uses_the_weights_only_when_asked():
    cfg = ModelConfig(d_model=8, n_heads=2, latent_dim=4, encoder_hidden=8, n_layers=1)
    plain = HotVAEModule(3, 2, cfg)
    assert plain.species_weight is None and "species_weight" not in plain.state_dict()
    torch.manual_seed(0)
    m = HotVAEModule(3, 2, ModelConfig(**{**cfg.to_dict(), "species_weighting": "balanced"})).eval()
    m.species_weight.copy_(torch.tensor([3.0, 0.0]))  # only the first species counts
    x, y = torch.randn(4, 3), torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    out = m(x, y)
    expected = 3.0 * (F.binary_cross_entropy_with_logits(out.logits_x[:, 0], y[:, 0])
                      + F.binary_cross_entropy_with_logits(out.logits_y[:, 0], y[:, 0])) / 2
    assert m.loss(out, y).bce.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(InputDataError, match="species_weighting"):
        ModelConfig(species_weighting="inverse")
