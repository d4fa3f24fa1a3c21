"""The direct covariate → species path: zero at start, added to both branches and to draws."""

from __future__ import annotations

import torch

from jsdm_hot.model import HotVAEModule, ModelConfig
from jsdm_hot.model.direct import DirectPath
from jsdm_hot.model.embeddings import PiecewiseLinearEncoding

CFG = dict(d_model=8, n_heads=2, latent_dim=4, encoder_hidden=8, n_layers=2)


def _pair():
    torch.manual_seed(0)
    plain = HotVAEModule(3, 5, ModelConfig(**CFG))
    torch.manual_seed(0)
    direct = HotVAEModule(3, 5, ModelConfig(**CFG, direct_path=True))
    direct.load_state_dict({**plain.state_dict(), **{f"direct.{k}": v for k, v in direct.direct.state_dict().items()}})
    return plain.eval(), direct.eval()


def test_an_untrained_direct_path_leaves_the_paper_model_unchanged():
    plain, direct = _pair()
    x = torch.randn(6, 3)
    with torch.no_grad():
        torch.testing.assert_close(direct.predict_logits(x), plain.predict_logits(x))
    assert plain.direct is None and isinstance(direct.direct, DirectPath)


def test_the_offsets_reach_both_branches_every_readout_and_the_draws():
    plain, direct = _pair()
    with torch.no_grad():
        direct.direct.out.bias.copy_(torch.arange(5.0))
    x, y = torch.randn(4, 3), (torch.rand(4, 5) < 0.5).float()
    off = torch.arange(5.0)
    with torch.no_grad():
        a, b = plain(x, y), direct(x, y)
        torch.testing.assert_close(b.logits_x, a.logits_x + off)
        torch.testing.assert_close(b.logits_y, a.logits_y + off)
        torch.testing.assert_close(b.intermediate_x[0], a.intermediate_x[0] + off)
        torch.testing.assert_close(b.intermediate_y[0], a.intermediate_y[0] + off)
        torch.testing.assert_close(direct(x).logits_x, plain(x).logits_x + off)
        g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        torch.testing.assert_close(direct.sample_logits(x, g1), plain.sample_logits(x, g2) + off)


def test_the_direct_path_shares_the_covariate_embedding_kind():
    m = HotVAEModule(3, 5, ModelConfig(**CFG, direct_path=True, feature_embedding="ple", embedding_size=4))
    assert isinstance(m.direct.embedding, PiecewiseLinearEncoding) and m.direct.hidden[0].in_features == 12
