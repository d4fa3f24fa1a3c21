"""The direct path: covariates → per-species logits beside the latent bottleneck (not in the paper).

In the paper every species' logit is read from the decoder of one latent sample
``z`` (Eq 9-13): all the covariate information a species gets passes through the
noisy, low-dimensional latent shared by all species. On small or sparse data
that bottleneck costs precision in each species' environmental response: on
tarentaise, HOT-VAE fed a random forest's out-of-bag predictions as covariates
still ranked test sites worse than the forest itself (median AUC 0.882 vs 0.915).

With the direct path each logit is

    logit_j(x, z) = direct_j(x) + decoder_j(z),

where ``direct`` is a small deterministic MLP of the covariates (optionally behind
the same numeric embedding as ψ) with one output per species, added to both
branches' final and intermediate readouts. This is the structure of the latent-
factor JSDMs (GLLVM, Hmsc): an environmental mean plus latent residual factors.
The decoder of ``z`` then models what the covariates leave out — the co-occurrence
HOT-VAE is about — and joint draws (``z ~ q(z|x)``) stay joint. The last layer
starts at zero, so an untrained direct path leaves the paper's model unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DirectPath", "make_direct_path"]


class DirectPath(nn.Module):
    """x (B, n_features) → logit offsets (B, n_species): [embedding →] Linear → ReLU → Dropout → Linear.

    Parameters
    ----------
    n_features, n_species : int
    hidden : int
        Width of the hidden layer.
    dropout : float
    embedding : nn.Module, optional
        Numeric covariate embedding with ``out_features`` (see :mod:`jsdm_hot.model.embeddings`).
    """

    def __init__(self, n_features: int, n_species: int, hidden: int, dropout: float = 0.0,
                 embedding: nn.Module | None = None) -> None:
        super().__init__()
        self.embedding = embedding
        width = embedding.out_features if embedding is not None else n_features
        self.hidden = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.out = nn.Linear(hidden, n_species)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logit offsets of shape (B, n_species)."""
        h = self.embedding(x.float()).to(x.dtype) if self.embedding is not None else x
        return self.out(self.hidden(h))


def make_direct_path(n_features: int, n_species: int, config) -> DirectPath | None:
    """The direct path of a :class:`~jsdm_hot.model.config.ModelConfig` (``direct_path``), or None."""
    if not getattr(config, "direct_path", False):
        return None
    from jsdm_hot.model.embeddings import make_feature_embedding

    return DirectPath(n_features, n_species, config.encoder_hidden, config.dropout,
                      make_feature_embedding(n_features, config))
