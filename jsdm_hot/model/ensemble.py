"""A deep ensemble of HOT-VAE networks: probabilities averaged, posterior draws pooled over members.

Lakshminarayanan, Pritzel & Blundell (2017), *Simple and scalable predictive
uncertainty estimation using deep ensembles*: M networks trained from different
initialisations (and data orders) on the same data; their average predicts
better and is better calibrated than any one of them. Here each member is a full
:class:`~jsdm_hot.model.hotvae.HotVAEModule` trained on its own by the training
loop (the estimator does that); this module only combines trained members:

* ``predict_proba(x)``: the mean of the members' occurrence probabilities;
* ``sample_logits(x, generator)``: each row (one draw at one site) picks a member
  uniformly at random and draws ``z ~ q(z|x)`` from it, so the draws are the
  equal-weight mixture of the members' joint posteriors ("pooled draws"), and all
  species of a draw still come from one member and one ``z`` (joint draws);
* ``residual_draw_logits(x, n_draws, ...)``: draw ``s`` comes from member ``s mod M``
  (members with residual factors, :mod:`jsdm_hot.model.residual`);
* ``residual_loadings()``: the members' loadings side by side, each scaled by
  ``1/sqrt(M)``, so ``Λ Λᵀ`` is the mean of the members' residual covariances.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["HotVAEEnsemble"]


class HotVAEEnsemble(nn.Module):
    """Equal-weight ensemble of trained HOT-VAE modules (inference only).

    Parameters
    ----------
    members : sequence of HotVAEModule
        Same numbers of features and species.

    Attributes
    ----------
    members : nn.ModuleList
    n_species, n_features : int
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(members) < 1:
            raise ValueError("an ensemble needs at least one member")
        shapes = {(int(m.n_features), int(m.n_species)) for m in members}
        if len(shapes) != 1:
            raise ValueError(f"ensemble members differ in (n_features, n_species): {sorted(shapes)}")
        self.members = nn.ModuleList(members)
        self.n_features, self.n_species = shapes.pop()

    def __len__(self) -> int:
        return len(self.members)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of the members' probabilities, float32 of shape (B, n_species)."""
        return torch.stack([m.predict_proba(x) for m in self.members]).mean(0)

    def predict_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``logit`` of :meth:`predict_proba`, shape (B, n_species)."""
        return torch.logit(self.predict_proba(x), eps=1e-7)

    def sample_logits(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits of one joint draw per row from a member chosen uniformly at random per row.

        Parameters
        ----------
        x : Tensor of shape (B, n_features)
        generator : torch.Generator, optional
            Chooses the members and draws the latents; the same seeded generator
            gives the same draws.

        Returns
        -------
        Tensor of shape (B, n_species), float32
        """
        which = torch.randint(len(self.members), (x.shape[0],), generator=generator, device=x.device)
        out = torch.empty(x.shape[0], self.n_species, device=x.device, dtype=torch.float32)
        for k, m in enumerate(self.members):
            rows = (which == k).nonzero(as_tuple=True)[0]
            if rows.numel():
                out[rows] = m.sample_logits(x[rows], generator=generator).float()
        return out

    def residual_draw_logits(self, x: torch.Tensor, n_draws: int, generator: torch.Generator | None = None,
                             n_latent: int = 1) -> torch.Tensor:
        """Logits of ``n_draws`` joint residual draws per site, draw ``s`` from member ``s mod M``.

        Returns
        -------
        Tensor of shape (n_draws, B, n_species), float32
        """
        out = torch.empty(n_draws, x.shape[0], self.n_species, device=x.device, dtype=torch.float32)
        M = len(self.members)
        for k, m in enumerate(self.members):
            idx = torch.arange(k, n_draws, M, device=x.device)
            if idx.numel():
                out[idx] = m.residual_draw_logits(x, int(idx.numel()), generator=generator, n_latent=n_latent).float()
        return out

    def residual_loadings(self) -> torch.Tensor:
        """``[Λ_1, …, Λ_M] / sqrt(M)``, shape (n_species, Σ K_m): ``Λ Λᵀ`` is the members' mean covariance."""
        lam = [m.residual_loadings() for m in self.members]
        return torch.cat(lam, dim=1) / len(lam) ** 0.5

    def residual_covariance(self) -> torch.Tensor:
        """Mean of the members' residual covariances, shape (n_species, n_species)."""
        from jsdm_hot.model import residual as res

        return res.residual_covariance(self.residual_loadings())

    def residual_correlation(self) -> torch.Tensor:
        """``cov2cor`` of :meth:`residual_covariance`, shape (n_species, n_species)."""
        from jsdm_hot.model import residual as res

        return res.residual_correlation(self.residual_loadings())
