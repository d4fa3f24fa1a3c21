"""Numeric covariate embeddings of the feature encoder: bin edges, encodings against hand values, wiring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jsdm_hot import InputDataError
from jsdm_hot.model import HotVAEModule, MLPEncoder, ModelConfig
from jsdm_hot.model.embeddings import (
    EmbeddedMLPEncoder,
    PeriodicEmbedding,
    PiecewiseLinearEncoding,
    make_feature_encoder,
    quantile_edges,
)


def test_quantile_edges_of_a_continuous_a_binary_and_a_constant_covariate():
    x = np.column_stack([np.arange(9.0), np.r_[np.zeros(5), np.ones(4)], np.full(9, 3.0)])
    e = quantile_edges(x, 4)
    assert e.shape == (3, 5) and e.dtype == np.float32
    np.testing.assert_allclose(e[0], [0, 2, 4, 6, 8])  # quartiles of 0..8
    np.testing.assert_allclose(e[1], [0, 1, 2, 3, 4])  # two distinct values, then unit steps above the maximum
    np.testing.assert_allclose(e[2], [2.5, 3.5, 4.5, 5.5, 6.5])  # constant: one unit bin around it
    assert (np.diff(e, axis=1) > 0).all()


def test_piecewise_linear_encoding_against_hand_values():
    ple = PiecewiseLinearEncoding(1, 3)
    ple.set_edges([[0.0, 1.0, 2.0, 4.0]])
    x = torch.tensor([[-1.0], [0.5], [1.5], [3.0], [6.0]])
    expected = torch.tensor([
        [-1.0, 0.0, 0.0],  # below the first edge: the first bin extrapolates linearly
        [0.5, 0.0, 0.0],
        [1.0, 0.5, 0.0],
        [1.0, 1.0, 0.5],
        [1.0, 1.0, 2.0],  # above the last edge: the last bin extrapolates linearly
    ])
    torch.testing.assert_close(ple(x), expected)
    with pytest.raises(ValueError, match="strictly increasing"):
        ple.set_edges([[0.0, 1.0, 1.0, 4.0]])
    with pytest.raises(ValueError, match="shape"):
        ple.set_edges([[0.0, 1.0, 2.0]])


def test_periodic_embedding_shape_and_values():
    torch.manual_seed(0)
    emb = PeriodicEmbedding(2, 3, sigma=1.0)
    x = torch.randn(5, 2)
    out = emb(x)
    assert out.shape == (5, 2 * 2 * 3) and (out >= 0).all()
    a = 2 * torch.pi * emb.frequencies[1] * x[:, 1:2]  # covariate 1 by hand
    v = torch.relu(torch.cat([torch.sin(a), torch.cos(a)], 1) @ emb.weight[1] + emb.bias[1])
    torch.testing.assert_close(out[:, 6:], v)
    assert {n for n, _ in emb.named_parameters()} == {"frequencies", "weight", "bias"}


@pytest.mark.parametrize("kind,cls", [("none", MLPEncoder), ("ple", EmbeddedMLPEncoder), ("periodic", EmbeddedMLPEncoder)])
def test_the_config_chooses_the_feature_encoder(kind, cls):
    cfg = ModelConfig(d_model=16, n_heads=2, latent_dim=4, encoder_hidden=8, feature_embedding=kind, embedding_size=5)
    enc = make_feature_encoder(3, cfg)
    assert type(enc) is cls
    mu, logvar = enc(torch.randn(7, 3))
    assert mu.shape == logvar.shape == (7, 1, 4)
    module = HotVAEModule(3, 4, cfg)
    assert type(module.encoder_x) is cls
    if kind == "ple":  # the bin edges travel with the weights
        assert module.state_dict()["encoder_x.embedding.edges"].shape == (3, 6)


def test_paper_model_parameters_are_unchanged_by_the_new_options():
    cfg = ModelConfig(d_model=16, n_heads=2, latent_dim=4, encoder_hidden=8)
    names = set(HotVAEModule(3, 4, cfg).state_dict())
    assert "encoder_x.mlp.0.weight" in names and not any(n.startswith("encoder_x.embedding") for n in names)


def test_bad_embedding_settings_are_refused():
    with pytest.raises(InputDataError, match="feature_embedding must be"):
        ModelConfig(feature_embedding="spline")
    with pytest.raises(InputDataError, match="embedding_size must be a positive integer"):
        ModelConfig(embedding_size=0)
