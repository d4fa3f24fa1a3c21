"""The deep ensemble: averaged probabilities, pooled joint draws from one member per row."""

from __future__ import annotations

import pytest
import torch

from jsdm_hot.model import HotVAEModule, ModelConfig
from jsdm_hot.model.ensemble import HotVAEEnsemble

CFG = ModelConfig(d_model=8, n_heads=2, latent_dim=4, encoder_hidden=8, n_layers=1)


def _member(bias: float, seed: int) -> HotVAEModule:
    torch.manual_seed(seed)
    m = HotVAEModule(3, 5, CFG).eval()
    with torch.no_grad():
        m.decoder.readout_bias.fill_(bias)
        m.decoder.readout_weight.zero_()  # logits = bias exactly
    return m


def test_probabilities_are_the_members_mean():
    a, b = HotVAEModule(3, 5, CFG).eval(), HotVAEModule(3, 5, CFG).eval()
    ens = HotVAEEnsemble([a, b])
    x = torch.randn(6, 3)
    with torch.no_grad():
        torch.testing.assert_close(ens.predict_proba(x), (a.predict_proba(x) + b.predict_proba(x)) / 2)
        torch.testing.assert_close(torch.sigmoid(ens.predict_logits(x)), ens.predict_proba(x))
    assert len(ens) == 2 and ens.n_species == 5 and ens.n_features == 3


def test_each_draw_comes_whole_from_one_member():
    ens = HotVAEEnsemble([_member(-10.0, 0), _member(10.0, 1)])
    x = torch.randn(400, 3)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        logits = ens.sample_logits(x, generator=g)
    assert set(logits.unique().tolist()) == {-10.0, 10.0}
    assert (logits == logits[:, :1]).all()  # all species of a row from the same member
    share = float((logits[:, 0] > 0).float().mean())
    assert 0.4 < share < 0.6  # members picked uniformly
    again = ens.sample_logits(x, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(again, logits)


def test_members_must_agree_on_shapes():
    with pytest.raises(ValueError, match="differ"):
        HotVAEEnsemble([HotVAEModule(3, 5, CFG), HotVAEModule(4, 5, CFG)])
    with pytest.raises(ValueError, match="at least one"):
        HotVAEEnsemble([])
