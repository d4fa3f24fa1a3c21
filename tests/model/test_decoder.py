"""Tests of jsdm_hot.model.decoder (and its naive loop reference, jsdm_hot.model.reference)."""

import pytest
import torch

from jsdm_hot.model.decoder import HotDecoder, additive_attention_mask
from jsdm_hot.model.reference import NaiveDecoder


def _decoder(L=5, latent=4, d=8, n_layers=2, heads=2, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    return HotDecoder(L, latent, d, n_layers, heads, dropout).eval()


@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("J", [1, 3])
def test_shapes_and_intermediate_count(n_layers, J):
    dec = _decoder(L=6, n_layers=n_layers)
    out = dec(torch.randn(4, J, 4))
    assert out.logits.shape == (4, 6)
    assert len(out.intermediate) == n_layers - 1
    assert all(t.shape == (4, 6) for t in out.intermediate)


def test_additive_mask_values():
    mask = torch.tensor([[True, False], [True, True]])
    bias = torch.tensor([[0.5, 9.0], [-1.0, 2.0]])
    m = additive_attention_mask(mask, bias)
    assert m[0, 0] == 0.5 and m[0, 1] == float("-inf") and m[1, 0] == -1.0 and m[1, 1] == 2.0
    assert torch.equal(additive_attention_mask(mask), torch.tensor([[0.0, float("-inf")], [0.0, 0.0]]))


@pytest.mark.parametrize("n_layers,J", [(1, 1), (2, 3), (3, 2)])
def test_fast_decoder_equals_naive_reference(n_layers, J):
    dec = _decoder(L=6, d=12, heads=3, n_layers=n_layers, seed=n_layers)
    g = torch.Generator().manual_seed(7)
    mask = torch.rand(6, 6, generator=g) > 0.5
    mask.fill_diagonal_(True)
    bias = torch.randn(6, 6, generator=g)
    naive = NaiveDecoder.from_fast(dec).eval()
    z = torch.randn(5, J, 4, generator=g)
    fast_out = dec(z, mask, bias)
    naive_out = naive(z, mask, bias)
    torch.testing.assert_close(fast_out.logits, naive_out.logits, atol=1e-5, rtol=1e-4)
    for a, b in zip(fast_out.intermediate, naive_out.intermediate, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # the reference really uses the mask: without it the outputs differ
    assert not torch.allclose(naive(z, None, None).logits, naive_out.logits, atol=1e-4)


def test_naive_reference_rejects_missing_weights():
    dec = _decoder(L=4, n_layers=2)
    naive = NaiveDecoder(4, 4, 8, 3, 2)  # one layer too many
    with pytest.raises(RuntimeError):
        naive.load_state_dict(dec.state_dict())


def _perturb_species(dec, j, z, mask):
    before = dec(z, mask).logits
    with torch.no_grad():
        dec.label_embedding[j] += 3.0 * torch.randn(dec.d_model, generator=torch.Generator().manual_seed(11))
    return before, dec(z, mask).logits


def test_mask_blocks_label_attention_one_layer():
    # species 0 may attend only to itself and species 1; species 3 is blocked from 0
    L = 4
    mask = torch.eye(L, dtype=torch.bool)
    mask[0, 1] = mask[1, 0] = True
    z = torch.randn(3, 1, 4, generator=torch.Generator().manual_seed(2))
    before, after = _perturb_species(_decoder(L=L, n_layers=1), 3, z, mask)
    torch.testing.assert_close(before[:, 0], after[:, 0])  # 0 cannot see 3
    torch.testing.assert_close(before[:, 1], after[:, 1])
    assert not torch.allclose(before[:, 3], after[:, 3])
    # the complete graph lets the change reach species 0
    before, after = _perturb_species(_decoder(L=L, n_layers=1), 3, z, torch.ones(L, L, dtype=torch.bool))
    assert not torch.allclose(before[:, 0], after[:, 0], atol=1e-5)


def test_two_layers_propagate_along_graph_paths():
    # chain 0 - 1 - 2: with two layers 0 hears from 2 through 1 (third-order interaction)
    L = 3
    mask = torch.eye(L, dtype=torch.bool)
    mask[0, 1] = mask[1, 0] = mask[1, 2] = mask[2, 1] = True
    z = torch.randn(3, 1, 4, generator=torch.Generator().manual_seed(3))
    before, after = _perturb_species(_decoder(L=L, n_layers=1), 2, z, mask)
    torch.testing.assert_close(before[:, 0], after[:, 0])
    before, after = _perturb_species(_decoder(L=L, n_layers=2), 2, z, mask)
    assert not torch.allclose(before[:, 0], after[:, 0], atol=1e-5)


def test_bias_changes_attention_only_where_allowed():
    L = 3
    mask = torch.eye(L, dtype=torch.bool)
    mask[0, 1] = True
    dec = _decoder(L=L, n_layers=1)
    z = torch.randn(2, 1, 4)
    base = dec(z, mask).logits
    bias_blocked = torch.zeros(L, L)
    bias_blocked[0, 2] = 5.0  # on a blocked edge: no effect
    torch.testing.assert_close(dec(z, mask, bias_blocked).logits, base)
    bias_allowed = torch.zeros(L, L)
    bias_allowed[0, 1] = 5.0
    changed = dec(z, mask, bias_allowed).logits
    assert not torch.allclose(changed[:, 0], base[:, 0], atol=1e-5)
    torch.testing.assert_close(changed[:, 1:], base[:, 1:])


def test_readout_is_per_label():
    dec = _decoder(L=3, d=4, heads=2, n_layers=2)
    captured = {}
    dec.layers[-1].register_forward_hook(lambda mod, inp, out: captured.__setitem__("u", out))
    with torch.no_grad():
        dec.readout_weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 0, -1.0]]))
        dec.readout_bias.copy_(torch.tensor([0.5, 0.0, -2.0]))
    out = dec(torch.randn(2, 1, 4))
    u = captured["u"]
    expected = torch.stack([u[:, 0, 0] + 0.5, 2.0 * u[:, 1, 1], -u[:, 2, 3] - 2.0], dim=1)
    torch.testing.assert_close(out.logits, expected)
    # intermediate readouts use the same per-label head on layer 1's nodes
    captured.clear()
    dec.layers[0].register_forward_hook(lambda mod, inp, out: captured.__setitem__("u1", out))
    out = dec(torch.randn(2, 1, 4))
    u1 = captured["u1"]
    torch.testing.assert_close(out.intermediate[0], (u1 * dec.readout_weight).sum(-1) + dec.readout_bias)


def test_gradients_reach_label_embeddings_and_readout():
    dec = _decoder(L=4, n_layers=2)
    dec.train()
    z = torch.randn(3, 2, 4, requires_grad=True)
    out = dec(z, torch.ones(4, 4, dtype=torch.bool))
    (out.logits.sum() + sum(t.sum() for t in out.intermediate)).backward()
    for p in (dec.label_embedding, dec.readout_weight, dec.latent_proj.weight, z):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_bf16_autocast_cpu_close_to_float32():
    dec = _decoder(L=5, d=16, heads=2, n_layers=2)
    mask = torch.ones(5, 5, dtype=torch.bool)
    mask[0, 4] = False
    z = torch.randn(4, 1, 4)
    ref = dec(z, mask, torch.zeros(5, 5)).logits
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        low = dec(z, mask, torch.zeros(5, 5)).logits
    assert torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), ref, atol=0.15, rtol=0.05)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_autocast_cuda_matches_naive():
    dec = _decoder(L=7, d=16, heads=2, n_layers=2).cuda()
    naive = NaiveDecoder.from_fast(dec).eval()
    mask = torch.rand(7, 7, device="cuda") > 0.4
    mask.fill_diagonal_(True)
    z = torch.randn(8, 2, 4, device="cuda")
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
        low = dec(z, mask, torch.zeros(7, 7, device="cuda")).logits
    ref = naive(z, mask, None).logits
    torch.testing.assert_close(low.float(), ref, atol=0.15, rtol=0.05)
