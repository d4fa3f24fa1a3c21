"""The shared HOT-VAE decoder (Zhao et al. 2021, Eq 9-13).

Both branches (features and labels) decode their latent samples through this one
module. Species nodes start as learnable label embeddings ``W_y`` (L, d). Each of the
``n_layers`` layers does

1. feature→label attention (Eq 10-11): species nodes (queries) attend to the J (or K)
   "feature nodes", the latent samples projected to ``d`` by one linear map; residual +
   LayerNorm; position-wise MLP; residual + LayerNorm;
2. masked label→label self-attention (Eq 12-13): species node ``i`` attends to species
   ``j`` only where ``mask[i, j]`` is True (the :class:`~jsdm_hot.graph.LabelGraph`;
   self-loops are always allowed), with an optional additive bias on the attention
   logits; residual + LayerNorm; MLP; residual + LayerNorm.

``n`` layers give (n+1)-order label interactions. The readout (Eq 9) is per label:
``logit_i = <W_o[i], u_i> + b_i`` with ``W_o`` of shape (L, d), i.e. every species has
its own projection vector, computed for all species at once with ``einsum``.

Choices the paper leaves open (ours):

* Post-LayerNorm sublayers (``u = LN(u + Dropout(sublayer(u)))``), as the Transformer
  and LaMP decoders HOT-VAE derives from.
* Position-wise MLP ``d → 2d → d`` with ReLU, and dropout on its output.
* Attention dropout (on the attention weights, training only) with the same rate as
  every other dropout.
* Intermediate readouts (Eq 15, layers ``1 .. n-1``) reuse the final per-label readout
  ``W_o, b``, so that the deep-supervision terms train the same read-out head and every
  layer's species nodes live in a space that head can read.

Attention runs through :func:`torch.nn.functional.scaled_dot_product_attention`,
which picks a fused kernel and works under bf16 autocast on CUDA. A deliberately
naive loop implementation with the same parameters lives in
:mod:`jsdm_hot.model.reference` and is the test oracle for this one.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from jsdm_hot.model.outputs import DecoderOutput

__all__ = ["FeedForward", "HotDecoder", "HotDecoderLayer", "MultiHeadAttention", "additive_attention_mask"]


def additive_attention_mask(mask: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Turn a boolean attention mask and optional bias into additive attention logits.

    Parameters
    ----------
    mask : bool Tensor of shape (L, L)
        ``mask[i, j]`` True lets query ``i`` attend to key ``j``.
    bias : float Tensor of shape (L, L), optional
        Added to the allowed logits.

    Returns
    -------
    Tensor of shape (L, L), float32
        ``bias[i, j]`` (or 0) where allowed, ``-inf`` where blocked.
    """
    base = bias.float() if bias is not None else torch.zeros(mask.shape, device=mask.device)
    return base.masked_fill(~mask, float("-inf"))


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention with separate q/k/v/out projections.

    Parameters
    ----------
    d_model : int
    n_heads : int
        Must divide ``d_model``.
    dropout : float
        Dropout on the attention weights (training only).
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.d_model = d_model
        self.n_heads = n_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.view(b, n, self.n_heads, self.d_model // self.n_heads).transpose(1, 2)

    def forward(self, query: torch.Tensor, key_value: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attend.

        With a single key (HOT-VAE's feature→label attention with J = 1 latent
        subspace) every attention weight is softmax over one logit, i.e. exactly 1:
        the output is the projected value of that key for every query, so the query
        and key projections are skipped (and in eval mode the output projection runs
        once per site, not once per species). Attention dropout then drops whole
        (query, head) outputs, as it would drop the single weight.

        Parameters
        ----------
        query : Tensor of shape (B, Lq, d)
        key_value : Tensor of shape (B, Lk, d)
        attn_mask : float Tensor of shape (Lq, Lk), optional
            Additive logits (``-inf`` blocks), see :func:`additive_attention_mask`.

        Returns
        -------
        Tensor of shape (B, Lq, d)
        """
        if key_value.shape[1] == 1 and attn_mask is None:
            return self._single_key(query, key_value)
        q = self._split(self.q_proj(query))
        k = self._split(self.k_proj(key_value))
        v = self._split(self.v_proj(key_value))
        if attn_mask is not None:
            attn_mask = attn_mask.to(q.dtype)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        b, _, lq, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, lq, self.d_model))

    def _single_key(self, query: torch.Tensor, key_value: torch.Tensor) -> torch.Tensor:
        """Attention over one key: ``out_proj(v_proj(key))`` for every query (see :meth:`forward`)."""
        b, lq, _ = query.shape
        v = self.v_proj(key_value)  # (B, 1, d)
        if not (self.training and self.dropout > 0):
            return self.out_proj(v).expand(b, lq, self.d_model)
        keep = F.dropout(torch.ones(b, self.n_heads, lq, 1, device=v.device, dtype=v.dtype), self.dropout)
        out = keep * self._split(v)  # (B, H, Lq, d / H)
        return self.out_proj(out.transpose(1, 2).reshape(b, lq, self.d_model))


class FeedForward(nn.Module):
    """Position-wise MLP ``d → 2d → d`` with ReLU (ours; the paper gives no width)."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(d_model, 2 * d_model)
        self.lin2 = nn.Linear(2 * d_model, d_model)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """(B, L, d) → (B, L, d)."""
        return self.lin2(F.relu(self.lin1(u)))


class HotDecoderLayer(nn.Module):
    """One decoder layer: feature→label attention + MLP, then masked label→label attention + MLP.

    Parameters
    ----------
    d_model, n_heads : int
    dropout : float
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_norm = nn.LayerNorm(d_model)
        self.cross_ffn = FeedForward(d_model)
        self.cross_ffn_norm = nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.self_norm = nn.LayerNorm(d_model)
        self.self_ffn = FeedForward(d_model)
        self.self_ffn_norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, u: torch.Tensor, latent_nodes: torch.Tensor, label_mask: torch.Tensor | None) -> torch.Tensor:
        """Update species nodes.

        Parameters
        ----------
        u : Tensor of shape (B, L, d)
            Species nodes.
        latent_nodes : Tensor of shape (B, J, d)
            Projected latent samples (keys and values of Eq 10).
        label_mask : float Tensor of shape (L, L) or None
            Additive mask of the label→label attention (Eq 12).

        Returns
        -------
        Tensor of shape (B, L, d)
        """
        u = self.cross_norm(u + self.drop(self.cross_attn(u, latent_nodes)))  # Eq 10
        u = self.cross_ffn_norm(u + self.drop(self.cross_ffn(u)))  # Eq 11
        u = self.self_norm(u + self.drop(self.self_attn(u, u, label_mask)))  # Eq 12
        u = self.self_ffn_norm(u + self.drop(self.self_ffn(u)))  # Eq 13
        return u


class HotDecoder(nn.Module):
    """Shared decoder: latent samples (B, J, latent_dim) → species logits (B, L).

    Parameters
    ----------
    n_species : int
        L.
    latent_dim : int
        Size of each latent sample.
    d_model : int
        Width ``d`` of species nodes.
    n_layers : int
        Number of :class:`HotDecoderLayer`.
    n_heads : int
    dropout : float

    Attributes
    ----------
    label_embedding : Parameter of shape (L, d)
        ``W_y``, the initial species nodes ``u_i^0`` (N(0, 1) init, as ``nn.Embedding``).
    latent_proj : nn.Linear
        ``latent_dim → d``, makes the "feature nodes".
    readout_weight : Parameter of shape (L, d)
        ``W_o`` of Eq 9, one row per species.
    readout_bias : Parameter of shape (L,)
    """

    def __init__(self, n_species: int, latent_dim: int, d_model: int, n_layers: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_species = n_species
        self.d_model = d_model
        self.label_embedding = nn.Parameter(torch.randn(n_species, d_model))
        self.latent_proj = nn.Linear(latent_dim, d_model)
        self.layers = nn.ModuleList(HotDecoderLayer(d_model, n_heads, dropout) for _ in range(n_layers))
        bound = 1.0 / math.sqrt(d_model)
        self.readout_weight = nn.Parameter(torch.empty(n_species, d_model).uniform_(-bound, bound))
        self.readout_bias = nn.Parameter(torch.zeros(n_species))

    def readout(self, u: torch.Tensor) -> torch.Tensor:
        """Per-label readout (Eq 9): ``logit[b, i] = <W_o[i], u[b, i]> + b_i``.

        Parameters
        ----------
        u : Tensor of shape (B, L, d)

        Returns
        -------
        Tensor of shape (B, L)
        """
        return torch.einsum("bld,ld->bl", u, self.readout_weight.to(u.dtype)) + self.readout_bias.to(u.dtype)

    def forward(self, z: torch.Tensor, attn_mask: torch.Tensor | None = None, attn_bias: torch.Tensor | None = None) -> DecoderOutput:
        """Decode latent samples.

        Parameters
        ----------
        z : Tensor of shape (B, J, latent_dim)
        attn_mask : bool Tensor of shape (L, L), optional
            Label graph (``None``: complete graph).
        attn_bias : float Tensor of shape (L, L), optional
            Additive bias on the label→label attention logits.

        Returns
        -------
        DecoderOutput
            ``logits`` (B, L) and ``intermediate`` (n_layers - 1 tensors of shape (B, L)).
        """
        if z.dim() != 3:
            raise ValueError(f"decoder input must have shape (batch, subspaces, latent_dim), got {tuple(z.shape)}")
        label_mask = None
        if attn_mask is not None:
            label_mask = additive_attention_mask(attn_mask, attn_bias)
        elif attn_bias is not None:
            label_mask = attn_bias.float()
        latent_nodes = self.latent_proj(z)
        u = self.label_embedding.unsqueeze(0).expand(z.shape[0], -1, -1)
        intermediate: list[torch.Tensor] = []
        n = len(self.layers)
        for t, layer in enumerate(self.layers):
            u = layer(u, latent_nodes, label_mask)
            if t < n - 1:
                intermediate.append(self.readout(u))
        return DecoderOutput(logits=self.readout(u), intermediate=intermediate)
