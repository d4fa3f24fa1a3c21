"""A deliberately naive, loop-based reference of :class:`~jsdm_hot.model.decoder.HotDecoder`.

Used as the test oracle of the fast decoder and as the baseline of
``benchmarks/train_speed.py``; not meant for training real models. It lives in the
package (rather than in ``benchmarks/``) so tests can import it without path tricks.

Everything is spelled out in float32 eager code: linear maps as ``x @ W.T + b``,
LayerNorm from its mean and biased variance, attention with python loops over heads
and over query species, an explicit ``-inf`` mask and an explicit softmax
(``exp(s - max) / sum``), and the per-label readout as a loop over species. Its
parameters have the same names and shapes as ``HotDecoder``'s, so
``NaiveDecoder.from_fast(decoder)`` (or ``load_state_dict``) gives the same function.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from jsdm_hot.model.decoder import HotDecoder
from jsdm_hot.model.outputs import DecoderOutput

__all__ = ["NaiveDecoder"]


def _linear(x: torch.Tensor, lin: nn.Linear) -> torch.Tensor:
    return x.float() @ lin.weight.float().T + lin.bias.float()


def _layer_norm(x: torch.Tensor, ln: nn.LayerNorm) -> torch.Tensor:
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + ln.eps) * ln.weight.float() + ln.bias.float()


class _Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, query: torch.Tensor, key_value: torch.Tensor, allowed: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
        q, k, v = _linear(query, self.q_proj), _linear(key_value, self.k_proj), _linear(key_value, self.v_proj)
        n_q = q.shape[1]
        d_head = q.shape[2] // self.n_heads
        rows = []
        for i in range(n_q):  # every query node
            heads = []
            for h in range(self.n_heads):  # every head
                sl = slice(h * d_head, (h + 1) * d_head)
                scores = torch.einsum("bd,bkd->bk", q[:, i, sl], k[:, :, sl]) / math.sqrt(d_head)  # (B, Lk)
                if bias is not None:
                    scores = scores + bias[i].float()
                if allowed is not None:
                    scores = scores.masked_fill(~allowed[i], float("-inf"))
                e = torch.exp(scores - scores.max(dim=1, keepdim=True).values)
                w = e / e.sum(dim=1, keepdim=True)
                if self.training and self.dropout > 0:
                    w = F.dropout(w, self.dropout)
                heads.append(torch.einsum("bk,bkd->bd", w, v[:, :, sl]))  # (B, d_head)
            rows.append(torch.cat(heads, dim=-1))
        return _linear(torch.stack(rows, dim=1), self.out_proj)


class _FeedForward(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(d_model, 2 * d_model)
        self.lin2 = nn.Linear(2 * d_model, d_model)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return _linear(torch.clamp(_linear(u, self.lin1), min=0.0), self.lin2)


class _Layer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.cross_attn = _Attention(d_model, n_heads, dropout)
        self.cross_norm = nn.LayerNorm(d_model)
        self.cross_ffn = _FeedForward(d_model)
        self.cross_ffn_norm = nn.LayerNorm(d_model)
        self.self_attn = _Attention(d_model, n_heads, dropout)
        self.self_norm = nn.LayerNorm(d_model)
        self.self_ffn = _FeedForward(d_model)
        self.self_ffn_norm = nn.LayerNorm(d_model)
        self.dropout = dropout

    def _drop(self, t: torch.Tensor) -> torch.Tensor:
        return F.dropout(t, self.dropout) if self.training and self.dropout > 0 else t

    def forward(self, u, latent_nodes, allowed, bias):
        u = _layer_norm(u + self._drop(self.cross_attn(u, latent_nodes, None, None)), self.cross_norm)
        u = _layer_norm(u + self._drop(self.cross_ffn(u)), self.cross_ffn_norm)
        u = _layer_norm(u + self._drop(self.self_attn(u, u, allowed, bias)), self.self_norm)
        u = _layer_norm(u + self._drop(self.self_ffn(u)), self.self_ffn_norm)
        return u


class NaiveDecoder(nn.Module):
    """Loop-based float32 twin of :class:`~jsdm_hot.model.decoder.HotDecoder` (same parameters).

    Parameters
    ----------
    n_species, latent_dim, d_model, n_layers, n_heads : int
    dropout : float
    """

    def __init__(self, n_species: int, latent_dim: int, d_model: int, n_layers: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.label_embedding = nn.Parameter(torch.randn(n_species, d_model))
        self.latent_proj = nn.Linear(latent_dim, d_model)
        self.layers = nn.ModuleList(_Layer(d_model, n_heads, dropout) for _ in range(n_layers))
        self.readout_weight = nn.Parameter(torch.zeros(n_species, d_model))
        self.readout_bias = nn.Parameter(torch.zeros(n_species))

    @classmethod
    def from_fast(cls, decoder: HotDecoder) -> "NaiveDecoder":
        """Build a naive decoder holding a copy of ``decoder``'s weights."""
        first = decoder.layers[0]
        naive = cls(
            decoder.n_species,
            decoder.latent_proj.in_features,
            decoder.d_model,
            len(decoder.layers),
            first.self_attn.n_heads,
            first.self_attn.dropout,
        )
        naive.load_state_dict(decoder.state_dict())
        return naive.to(decoder.readout_weight.device)

    def _readout(self, u: torch.Tensor) -> torch.Tensor:
        cols = [u[:, i, :] @ self.readout_weight[i].float() + self.readout_bias[i].float() for i in range(u.shape[1])]
        return torch.stack(cols, dim=1)

    def forward(self, z: torch.Tensor, attn_mask: torch.Tensor | None = None, attn_bias: torch.Tensor | None = None) -> DecoderOutput:
        """Same contract as :meth:`HotDecoder.forward`: z (B, J, latent_dim) → DecoderOutput."""
        latent_nodes = _linear(z, self.latent_proj)
        u = self.label_embedding.float().unsqueeze(0).expand(z.shape[0], -1, -1)
        inter = []
        for t, layer in enumerate(self.layers):
            u = layer(u, latent_nodes, attn_mask, attn_bias)
            if t < len(self.layers) - 1:
                inter.append(self._readout(u))
        return DecoderOutput(logits=self._readout(u), intermediate=inter)
