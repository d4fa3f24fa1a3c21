"""A tiny module honouring the training loop's contract, for tests of :mod:`jsdm_hot.training`."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class ToyLogistic(nn.Module):
    """Multi-label logistic regression: ``module(x, y)`` logits, ``loss`` a mapping, ``predict_proba``.

    ``loss = bce + l2_weight · ‖W‖²`` with the terms ``bce`` and ``l2`` reported.
    """

    def __init__(self, n_features: int, n_species: int, l2_weight: float = 0.01):
        super().__init__()
        self.lin = nn.Linear(n_features, n_species)
        self.n_species = n_species
        self.l2_weight = l2_weight

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.lin(x)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        bce = F.binary_cross_entropy_with_logits(out, y)
        l2 = (self.lin.weight ** 2).sum()
        return {"loss": bce + self.l2_weight * l2, "bce": bce, "l2": l2, "not_a_scalar": out}

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.lin(x))


def toy_data(n: int = 200, p: int = 3, L: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Covariates ``(n, p)`` float32 and occurrences ``(n, L)`` from a logistic model."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)).astype(np.float32)
    w = rng.normal(size=(p, L)) * 2
    y = (rng.random((n, L)) < 1 / (1 + np.exp(-(x @ w)))).astype(np.uint8)
    return x, y


def toy_module(p: int = 3, L: int = 4, seed: int = 0) -> ToyLogistic:
    """A ToyLogistic initialised from ``seed`` without touching the global torch RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ToyLogistic(p, L)
