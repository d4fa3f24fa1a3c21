"""Numeric feature embeddings for the feature encoder ψ (Gorishniy et al. 2022).

Gorishniy, Rubachev & Babenko (2022), *On Embeddings for Numerical Features in
Tabular Deep Learning*, NeurIPS: an MLP that sees each covariate through a small
vector instead of one scalar learns threshold-like, non-monotone responses (what
trees and MaxEnt's hinge features find easily) with less data. Two kinds:

* ``"ple"``, piecewise-linear encoding with quantile bins: covariate ``j`` with bin
  edges ``b_0 < … < b_T`` (quantiles of the training sites, :func:`quantile_edges`)
  becomes ``T`` values ``clamp((x − b_{t−1}) / (b_t − b_{t−1}), 0, 1)``; the first bin is
  not clamped below and the last not above, so the encoding stays linear outside
  the training range (extrapolation is a straight line, not a constant).
* ``"periodic"``: ``[sin(2π c x), cos(2π c x)]`` with ``T`` trainable frequencies
  ``c ~ N(0, σ²)`` per covariate, then a per-covariate linear map and ReLU (the
  paper's "PLR" embedding).

:func:`make_feature_encoder` builds ψ from a :class:`~jsdm_hot.model.config.ModelConfig`:
the paper's :class:`~jsdm_hot.model.encoders.MLPEncoder` on the raw covariates for
``feature_embedding="none"`` (the paper's model, same parameters), else the embedding
followed by that MLP. Bin edges are a persistent buffer, saved with the weights.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from jsdm_hot.model.encoders import GaussianSubspaceEncoder, MLPEncoder

__all__ = ["FEATURE_EMBEDDINGS", "PiecewiseLinearEncoding", "PeriodicEmbedding", "EmbeddedMLPEncoder",
           "make_feature_embedding", "make_feature_encoder", "quantile_edges"]

#: ``ModelConfig.feature_embedding`` values.
FEATURE_EMBEDDINGS = ("none", "ple", "periodic")


def quantile_edges(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin edges of each covariate at the quantiles of the training sites.

    Parameters
    ----------
    x : ndarray of shape (n_sites, n_features)
    n_bins : int
        T, bins per covariate.

    Returns
    -------
    ndarray of shape (n_features, n_bins + 1), float32
        Strictly increasing edges. A covariate with fewer than ``n_bins + 1``
        distinct quantiles (binary, categorical, constant) keeps its distinct
        values and fills the remaining edges above its maximum, one unit apart,
        so the extra bins are 0 over the training range.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x must have shape (n_sites >= 1, n_features), got {x.shape}")
    q = np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1), axis=0).T  # (p, T + 1)
    out = np.empty_like(q)
    for j, row in enumerate(q):
        u = np.unique(row)
        if u.size == 1:  # constant: one bin of width 1 around it
            u = np.array([u[0] - 0.5, u[0] + 0.5])
        extra = n_bins + 1 - u.size
        out[j] = np.concatenate([u, u[-1] + np.arange(1, extra + 1)])
    return out.astype(np.float32)


class PiecewiseLinearEncoding(nn.Module):
    """Piecewise-linear encoding of each covariate (no trainable parameters).

    Parameters
    ----------
    n_features : int
    n_bins : int
        T. ``edges`` is a persistent buffer of shape (n_features, T + 1), evenly
        spaced on [-2, 2] until :meth:`set_edges` puts the training quantiles in.
    """

    def __init__(self, n_features: int, n_bins: int) -> None:
        super().__init__()
        self.n_features = int(n_features)
        self.n_bins = int(n_bins)
        edges = torch.linspace(-2.0, 2.0, n_bins + 1).repeat(n_features, 1)
        self.register_buffer("edges", edges, persistent=True)
        self.out_features = self.n_features * self.n_bins

    def set_edges(self, edges) -> None:
        """Use these bin edges, shape (n_features, n_bins + 1), strictly increasing per row."""
        e = torch.as_tensor(np.asarray(edges), dtype=torch.float32)
        if tuple(e.shape) != tuple(self.edges.shape):
            raise ValueError(f"edges must have shape {tuple(self.edges.shape)}, got {tuple(e.shape)}")
        if not bool((e[:, 1:] > e[:, :-1]).all()):
            raise ValueError("bin edges must be strictly increasing for every covariate")
        self.edges.copy_(e.to(self.edges.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_features) → (B, n_features · n_bins)."""
        lo, hi = self.edges[:, :-1], self.edges[:, 1:]  # (p, T)
        v = (x.unsqueeze(-1) - lo) / (hi - lo)  # (B, p, T)
        T = self.n_bins
        if T == 1:
            out = v
        else:
            out = torch.cat([v[..., :1].clamp(max=1.0), v[..., 1:-1].clamp(0.0, 1.0), v[..., -1:].clamp(min=0.0)], dim=-1)
        return out.reshape(x.shape[0], self.out_features)


class PeriodicEmbedding(nn.Module):
    """Periodic embedding with trainable frequencies, a per-covariate linear map and ReLU ("PLR").

    Parameters
    ----------
    n_features : int
    n_frequencies : int
        k frequencies per covariate; each covariate becomes ``2k`` values, then ``2k``
        after the per-covariate linear map.
    sigma : float
        Standard deviation of the initial frequencies (on standardised covariates).
    """

    def __init__(self, n_features: int, n_frequencies: int, sigma: float = 0.5) -> None:
        super().__init__()
        self.n_features = int(n_features)
        k = int(n_frequencies)
        self.frequencies = nn.Parameter(torch.randn(n_features, k) * sigma)
        bound = 1.0 / math.sqrt(2 * k)
        self.weight = nn.Parameter(torch.empty(n_features, 2 * k, 2 * k).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_features, 2 * k).uniform_(-bound, bound))
        self.out_features = self.n_features * 2 * k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_features) → (B, n_features · 2 · n_frequencies)."""
        a = 2 * math.pi * self.frequencies * x.unsqueeze(-1)  # (B, p, k)
        v = torch.cat([torch.sin(a), torch.cos(a)], dim=-1)  # (B, p, 2k)
        v = torch.relu(torch.einsum("bpi,pio->bpo", v, self.weight) + self.bias)
        return v.reshape(x.shape[0], self.out_features)


class EmbeddedMLPEncoder(GaussianSubspaceEncoder):
    """A numeric embedding of every covariate, then the paper's 3-layer MLP encoder.

    Parameters
    ----------
    n_inputs, n_subspaces, latent_dim, hidden, dropout
        As :class:`~jsdm_hot.model.encoders.MLPEncoder`.
    embedding : PiecewiseLinearEncoding or PeriodicEmbedding
    """

    def __init__(self, n_inputs: int, n_subspaces: int, latent_dim: int, hidden: int, dropout: float,
                 embedding: nn.Module) -> None:
        super().__init__(n_inputs, n_subspaces, latent_dim)
        self.embedding = embedding
        self.mlp = MLPEncoder(embedding.out_features, n_subspaces, latent_dim, hidden, dropout)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, n_inputs) → ``(mu, logvar)``, each (B, n_subspaces, latent_dim)."""
        return self.mlp(self.embedding(inputs.float()).to(inputs.dtype))


def make_feature_embedding(n_features: int, config) -> nn.Module | None:
    """The numeric embedding of a :class:`~jsdm_hot.model.config.ModelConfig`, or None for ``"none"``."""
    kind = getattr(config, "feature_embedding", "none")
    if kind == "none":
        return None
    if kind == "ple":
        return PiecewiseLinearEncoding(n_features, config.embedding_size)
    if kind == "periodic":
        return PeriodicEmbedding(n_features, config.embedding_size)
    raise ValueError(f"feature_embedding must be one of {FEATURE_EMBEDDINGS}, got {kind!r}")


def make_feature_encoder(n_features: int, config) -> GaussianSubspaceEncoder:
    """ψ for a :class:`~jsdm_hot.model.config.ModelConfig` (``feature_embedding``, ``embedding_size``)."""
    args = (config.n_subspaces_x, config.latent_dim, config.encoder_hidden, config.dropout)
    emb = make_feature_embedding(n_features, config)
    if emb is None:
        return MLPEncoder(n_features, *args)
    return EmbeddedMLPEncoder(n_features, *args, embedding=emb)
