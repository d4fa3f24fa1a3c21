"""Typed records returned by the HOT-VAE modules.

Shapes use ``B`` (batch of sites), ``L`` (species), ``J``/``K`` (latent subspaces of
the feature/label branch) and ``D`` (``latent_dim``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["DecoderOutput", "HotVAEOutput", "LossOutput"]


@dataclass
class DecoderOutput:
    """What the shared decoder returns for one batch of latent samples.

    Attributes
    ----------
    logits : Tensor of shape (B, L)
        Readout (Eq 9) of the last decoder layer, before the sigmoid.
    intermediate : list of Tensor of shape (B, L)
        Readouts after layers ``1 .. n_layers - 1`` (Eq 15); empty for one layer.
    """

    logits: torch.Tensor
    intermediate: list[torch.Tensor] = field(default_factory=list)


@dataclass
class HotVAEOutput:
    """Forward pass of :class:`~jsdm_hot.model.hotvae.HotVAEModule`.

    Attributes
    ----------
    logits_x : Tensor of shape (B, L)
        Feature branch (x → ψ → z_x → decoder).
    logits_y : Tensor of shape (B, L) or None
        Label branch (y → φ → z_y → decoder); ``None`` when no labels were given.
    intermediate_x, intermediate_y : list of Tensor of shape (B, L)
        Intermediate readouts of layers ``1 .. n_layers - 1`` (empty for the label
        branch when ``logits_y`` is None).
    mu_x, logvar_x : Tensor of shape (B, J, D)
        Gaussian subspaces of the feature encoder.
    mu_y, logvar_y : Tensor of shape (B, K, D) or None
        Gaussian subspaces of the label encoder.
    residual_noise : Tensor of shape (M, B, n_factors) or None
        Draws of the residual factors ``e ~ N(0, I)`` for the Monte-Carlo
        likelihood (:mod:`jsdm_hot.model.residual`); drawn in ``forward`` when
        labels are given and the module has residual factors, else None.
    """

    logits_x: torch.Tensor
    logits_y: torch.Tensor | None
    intermediate_x: list[torch.Tensor]
    intermediate_y: list[torch.Tensor]
    mu_x: torch.Tensor
    logvar_x: torch.Tensor
    mu_y: torch.Tensor | None = None
    logvar_y: torch.Tensor | None = None
    residual_noise: torch.Tensor | None = None


@dataclass
class LossOutput:
    """The HOT-VAE objective (Eq 17) and its unweighted terms, all float32 scalars.

    ``loss = lambda0 * bce + lambda1 * intermediate_bce + lambda2 * ranking + beta * kl
    + lambda_residual * residual`` (the last term is ours, 0 without residual factors).

    Attributes
    ----------
    loss : Tensor, scalar
        Weighted total to minimise.
    bce : Tensor, scalar
        ``BCE_x + BCE_y`` (Eq 14, both branches; the label term is 0 without it).
    intermediate_bce : Tensor, scalar
        ``inter_x + inter_y`` (Eq 15), each the mean BCE over layers ``1 .. n-1``.
    ranking : Tensor, scalar
        ``rank_x + rank_y`` (Eq 16).
    kl : Tensor, scalar
        KL alignment (Eq 6-8); 0 without the label branch.
    residual : Tensor, scalar
        Negative Monte-Carlo log-likelihood of the feature branch with residual
        factors, per site and species (:func:`jsdm_hot.model.losses.residual_loss`);
        0 when the module has none.
    """

    loss: torch.Tensor
    bce: torch.Tensor
    intermediate_bce: torch.Tensor
    ranking: torch.Tensor
    kl: torch.Tensor
    residual: torch.Tensor = field(default_factory=lambda: torch.zeros(()))

    def as_floats(self) -> dict[str, float]:
        """Python floats of every term, for logging (synchronises with the device)."""
        return {
            "loss": float(self.loss.detach()),
            "bce": float(self.bce.detach()),
            "intermediate_bce": float(self.intermediate_bce.detach()),
            "ranking": float(self.ranking.detach()),
            "kl": float(self.kl.detach()),
            "residual": float(self.residual.detach()),
        }
