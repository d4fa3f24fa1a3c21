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


def test_residual_draws_alternate_members_and_loadings_average_covariances():
    from jsdm_hot.model import residual as res

    cfg = ModelConfig(**{**CFG.to_dict(), "residual_factors": 2})
    torch.manual_seed(0)
    a, b = HotVAEModule(3, 5, cfg).eval(), HotVAEModule(3, 5, cfg).eval()
    with torch.no_grad():
        for m, bias in ((a, -10.0), (b, 10.0)):
            m.decoder.readout_bias.fill_(bias)
            m.decoder.readout_weight.zero_()
            m.residual.loadings.mul_(0.01)
    ens = HotVAEEnsemble([a, b])
    with torch.no_grad():
        d = ens.residual_draw_logits(torch.randn(4, 3), 6, generator=torch.Generator().manual_seed(1))
    assert d.shape == (6, 4, 5)
    assert (d[0::2] < 0).all() and (d[1::2] > 0).all()  # draw s from member s mod 2
    cov = (res.residual_covariance(a.residual_loadings()) + res.residual_covariance(b.residual_loadings())) / 2
    torch.testing.assert_close(ens.residual_covariance(), cov)
    assert ens.residual_loadings().shape == (5, 4)
