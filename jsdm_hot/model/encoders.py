"""Encoders of HOT-VAE: inputs → J (or K) diagonal Gaussian latent subspaces.

The feature encoder ψ maps covariates ``x`` (B, p) and the label encoder φ maps
occurrences ``y`` (B, L) to ``n_subspaces`` Gaussians ``N(mu_j, diag(exp(logvar_j)))``
of size ``latent_dim`` each (HOT-VAE Eq 6-8 pools them for the KL term; the
un-pooled samples feed the decoder).

Any encoder can be plugged into :class:`~jsdm_hot.model.hotvae.HotVAEModule` if it
subclasses :class:`GaussianSubspaceEncoder`: set ``n_subspaces`` and ``latent_dim``
and return ``(mu, logvar)`` each of shape ``(B, n_subspaces, latent_dim)``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GaussianSubspaceEncoder", "MLPEncoder", "reparameterize"]


class GaussianSubspaceEncoder(nn.Module):
    """Base class of pluggable encoders.

    Parameters
    ----------
    n_inputs : int
        Width of the input (``n_features`` or ``n_species``).
    n_subspaces : int
        Number of Gaussian subspaces (J for ψ, K for φ).
    latent_dim : int
        Size of each subspace.
    """

    def __init__(self, n_inputs: int, n_subspaces: int, latent_dim: int) -> None:
        super().__init__()
        self.n_inputs = int(n_inputs)
        self.n_subspaces = int(n_subspaces)
        self.latent_dim = int(latent_dim)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        """Return ``(mu, logvar)``, each of shape (B, n_subspaces, latent_dim)."""
        raise NotImplementedError


class MLPEncoder(GaussianSubspaceEncoder):
    """Three-layer ReLU MLP with dropout, then linear ``mu`` and ``logvar`` heads.

    ``n_inputs → hidden → hidden → hidden`` (ReLU + dropout after each layer, as the
    MPVAE encoders HOT-VAE builds on), then two linear heads of width
    ``n_subspaces * latent_dim`` reshaped to (B, n_subspaces, latent_dim).

    Parameters
    ----------
    n_inputs, n_subspaces, latent_dim : int
        See :class:`GaussianSubspaceEncoder`.
    hidden : int
        Hidden width (``ModelConfig.encoder_hidden``).
    dropout : float
        Dropout probability after each hidden layer.
    """

    def __init__(self, n_inputs: int, n_subspaces: int, latent_dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__(n_inputs, n_subspaces, latent_dim)
        layers: list[nn.Module] = []
        width = n_inputs
        for _ in range(3):
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.mlp = nn.Sequential(*layers)
        self.mu_head = nn.Linear(hidden, n_subspaces * latent_dim)
        self.logvar_head = nn.Linear(hidden, n_subspaces * latent_dim)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode.

        Parameters
        ----------
        inputs : Tensor of shape (B, n_inputs)

        Returns
        -------
        mu, logvar : Tensor of shape (B, n_subspaces, latent_dim)
        """
        h = self.mlp(inputs)
        shape = (inputs.shape[0], self.n_subspaces, self.latent_dim)
        return self.mu_head(h).reshape(shape), self.logvar_head(h).reshape(shape)


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    generator: torch.Generator | None = None,
    shard: tuple[int, int, int] | None = None,
) -> torch.Tensor:
    """Draw ``z = mu + exp(0.5 * logvar) * eps`` with ``eps ~ N(0, I)``.

    Computed in float32 (the encoders may run under bf16 autocast).

    Parameters
    ----------
    mu, logvar : Tensor of shape (B, S, D)
    generator : torch.Generator, optional
        Source of ``eps``; must live on the same device as ``mu``. ``None`` uses
        torch's default generator.
    shard : (start, stop, total), optional
        Distributed training: these B rows are rows ``start:stop`` of a global batch
        of ``total`` rows. ``eps`` is drawn for the whole global batch and sliced, so
        every rank consumes the same random numbers and the noise a site gets equals
        what a single process would give it.

    Returns
    -------
    z : Tensor of shape (B, S, D), float32
    """
    mu = mu.float()
    std = torch.exp(0.5 * logvar.float())
    if shard is None and generator is None:
        # same draws as randn(shape) from the default generator; unlike randn(..., generator=None)
        # it traces under torch.compile with dynamic batch sizes
        eps = torch.randn_like(mu)
    elif shard is None:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    else:
        start, stop, total = shard
        if stop - start != mu.shape[0] or not 0 <= start <= stop <= total:
            raise ValueError(f"shard {shard} does not describe {mu.shape[0]} rows of a global batch")
        eps = torch.randn((total, *mu.shape[1:]), generator=generator, device=mu.device, dtype=mu.dtype)[start:stop]
    return mu + std * eps
