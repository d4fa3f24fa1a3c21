"""Tests of jsdm_hot.model.encoders: MLP encoders and the reparameterisation."""

import pytest
import torch
from torch import nn

from jsdm_hot.model.encoders import GaussianSubspaceEncoder, MLPEncoder, reparameterize


@pytest.mark.parametrize("n_subspaces", [1, 3])
def test_mlp_encoder_shapes_and_architecture(n_subspaces):
    torch.manual_seed(0)
    enc = MLPEncoder(7, n_subspaces, 5, hidden=11, dropout=0.2)
    assert isinstance(enc, GaussianSubspaceEncoder)
    lins = [m for m in enc.mlp if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in lins] == [(7, 11), (11, 11), (11, 11)]
    assert sum(isinstance(m, nn.ReLU) for m in enc.mlp) == 3
    assert sum(isinstance(m, nn.Dropout) for m in enc.mlp) == 3
    mu, logvar = enc(torch.randn(4, 7))
    assert mu.shape == logvar.shape == (4, n_subspaces, 5)
    assert enc.n_subspaces == n_subspaces and enc.latent_dim == 5


def test_mlp_encoder_subspaces_are_head_slices():
    torch.manual_seed(1)
    enc = MLPEncoder(3, 2, 4, hidden=6).eval()
    x = torch.randn(5, 3)
    mu, logvar = enc(x)
    flat_mu = enc.mu_head(enc.mlp(x))
    torch.testing.assert_close(mu[:, 1], flat_mu[:, 4:8])
    torch.testing.assert_close(logvar[:, 0], enc.logvar_head(enc.mlp(x))[:, :4])


def test_reparameterize_formula_and_generator():
    mu = torch.tensor([[[1.0, -2.0, 0.5]]])
    logvar = torch.tensor([[[0.0, 2.0, -4.0]]])
    g = torch.Generator().manual_seed(3)
    z = reparameterize(mu, logvar, g)
    eps = torch.randn((1, 1, 3), generator=torch.Generator().manual_seed(3))
    expected = mu + torch.tensor([1.0, torch.e, torch.exp(torch.tensor(-2.0))]) * eps
    torch.testing.assert_close(z, expected)
    z_again = reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    z_other = reparameterize(mu, logvar, torch.Generator().manual_seed(4))
    torch.testing.assert_close(z, z_again)
    assert not torch.allclose(z, z_other)


def test_reparameterize_is_float32_and_differentiable():
    mu = torch.zeros(2, 1, 3, dtype=torch.bfloat16, requires_grad=True)
    logvar = torch.zeros(2, 1, 3, dtype=torch.bfloat16, requires_grad=True)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert z.dtype == torch.float32
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    assert torch.all(mu.grad == 1)


def test_reparameterize_tiny_variance_returns_mean():
    mu = torch.randn(3, 2, 4)
    z = reparameterize(mu, torch.full_like(mu, -60.0), torch.Generator().manual_seed(0))
    torch.testing.assert_close(z, mu)
