"""HOT-VAE loss terms (Zhao et al. 2021, Eq 6-8 and 14-17), as pure functions.

Every function casts its inputs to float32 first, so the losses are computed in
full precision even when the forward pass ran under bf16 autocast.

Choices (ours, where the paper is silent):

* BCE (Eq 14) is the mean over all ``B × L`` entries (``torch``'s default reduction).
* The ranking loss (Eq 16) is the BP-MLL pairwise loss on probabilities
  ``p = sigmoid(logits)``: per site ``1/(|Y+||Y-|) Σ_{r∈Y+} Σ_{s∈Y-} exp(-(p_r - p_s))``,
  averaged over the sites that have at least one present and one absent species;
  sites without such a pair contribute nothing (and do not count in the mean). If no
  site in the batch has a pair, the term is 0.
* The residual term (not in the paper, :mod:`jsdm_hot.model.residual`) is the
  negative Monte-Carlo log-likelihood of each site's species vector under the
  residual factors, averaged over sites and divided by ``L``, so that with zero
  loadings it equals the BCE of Eq 14.
* KL (Eq 6) goes from the label branch to the feature branch,
  ``KL(q_φ(z|y) || q_ψ(z|x))``, as in MPVAE's code, after pooling each branch's
  subspaces (Eq 7-8: mean of means, mean of *variances*); it is summed over latent
  dimensions and averaged over the batch.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from jsdm_hot.model.residual import mc_log_likelihood

__all__ = [
    "bce_loss",
    "intermediate_bce_loss",
    "species_weights",
    "kl_alignment",
    "pool_subspaces",
    "ranked_sites",
    "ranking_loss",
    "residual_loss",
    "total_loss",
]


def bce_loss(logits: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy with logits (Eq 14), mean over all entries.

    Parameters
    ----------
    logits : Tensor of shape (B, L)
    y : Tensor of shape (B, L)
        0/1 occurrences (any numeric dtype).
    weight : Tensor of shape (L,), optional
        Per-species weight of the entries (ours, not in the paper; see
        :func:`species_weights`). A species' presences and absences get the same
        weight, so each species' optimum stays its calibrated probability.

    Returns
    -------
    Tensor, scalar float32
    """
    w = None if weight is None else weight.float().expand_as(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), y.float(), weight=w)


def species_weights(prevalence, cap: float = 10.0) -> torch.Tensor:
    """Per-species BCE weights that keep rare species from being drowned: ``1 / sqrt(p (1 − p))``.

    The gradient a species sends through the shared network scales with the
    variance ``p (1 − p)`` of its occurrences, so with equal weights a species seen
    at 1 % of the sites pulls about 25 times less than one seen at half of them.
    These weights halve that gap on the log scale; they are normalised to mean 1
    and capped at ``cap`` × the mean (prevalences clipped to [1e-3, 1 − 1e-3]).

    Parameters
    ----------
    prevalence : array-like of shape (n_species,)

    Returns
    -------
    Tensor of shape (n_species,), float32
    """
    p = torch.as_tensor(prevalence, dtype=torch.float64).clamp(1e-3, 1 - 1e-3)
    w = 1.0 / torch.sqrt(p * (1 - p))
    w = w / w.mean()
    w = w.clamp(max=cap)
    return (w / w.mean()).float()


def intermediate_bce_loss(intermediate: Sequence[torch.Tensor], y: torch.Tensor,
                          weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean BCE of the intermediate readouts of layers ``1 .. n-1`` (Eq 15).

    Parameters
    ----------
    intermediate : sequence of Tensor of shape (B, L)
        May be empty (one decoder layer); the result is then 0.
    y : Tensor of shape (B, L)

    Returns
    -------
    Tensor, scalar float32
    """
    if len(intermediate) == 0:
        return torch.zeros((), device=y.device, dtype=torch.float32)
    return torch.stack([bce_loss(lg, y, weight) for lg in intermediate]).mean()


def ranked_sites(y: torch.Tensor) -> int:
    """Number of sites with at least one present and one absent species.

    These are the sites :func:`ranking_loss` averages over.

    Parameters
    ----------
    y : Tensor or ndarray of shape (B, L), 0/1
    """
    k = (y > 0.5).sum(1)
    return int(((k > 0) & (k < y.shape[1])).sum())


def ranking_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """BP-MLL pairwise ranking loss (Eq 16) on ``p = sigmoid(logits)``, vectorised.

    For each site with present set ``Y+`` and absent set ``Y-`` (``y > 0.5``):
    ``1/(|Y+||Y-|) Σ_{r∈Y+} Σ_{s∈Y-} exp(-(p_r - p_s))``. Sites with no present or
    no absent species are excluded from the batch mean; with none left the loss is 0.
    Memory is O(B·L²).

    Parameters
    ----------
    logits : Tensor of shape (B, L)
    y : Tensor of shape (B, L)

    Returns
    -------
    Tensor, scalar float32
    """
    p = torch.sigmoid(logits.float())
    pos = (y > 0.5).float()
    neg = 1.0 - pos
    # pair_term[b, r, s] = exp(-(p_r - p_s)), kept only for r present and s absent
    pair_term = torch.exp(p.unsqueeze(2).neg() + p.unsqueeze(1))
    pair_mask = pos.unsqueeze(2) * neg.unsqueeze(1)
    per_site = (pair_term * pair_mask).sum(dim=(1, 2))
    n_pairs = pos.sum(1) * neg.sum(1)
    valid = n_pairs > 0
    per_site = per_site / n_pairs.clamp(min=1.0)
    n_valid = valid.sum().clamp(min=1).float()
    return (per_site * valid.float()).sum() / n_valid


def pool_subspaces(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean-pool Gaussian subspaces (Eq 7-8).

    Parameters
    ----------
    mu, logvar : Tensor of shape (B, J, D)

    Returns
    -------
    mu_pool : Tensor of shape (B, D), float32
        ``mean_j mu_j``.
    var_pool : Tensor of shape (B, D), float32
        ``mean_j exp(logvar_j)`` (variances are averaged, not log-variances).
    """
    return mu.float().mean(dim=1), torch.exp(logvar.float()).mean(dim=1)


def _pool_log(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Like :func:`pool_subspaces` but returns ``log(mean_j exp(logvar_j))`` via logsumexp."""
    n = logvar.shape[1]
    return mu.float().mean(dim=1), torch.logsumexp(logvar.float(), dim=1) - math.log(n)


def kl_alignment(mu_y: torch.Tensor, logvar_y: torch.Tensor, mu_x: torch.Tensor, logvar_x: torch.Tensor) -> torch.Tensor:
    """KL divergence of the pooled label posterior from the pooled feature posterior (Eq 6).

    ``KL(N(mu_y, var_y) || N(mu_x, var_x))`` for diagonal Gaussians after
    :func:`pool_subspaces`, summed over latent dimensions, averaged over the batch.
    J and K may differ.

    Parameters
    ----------
    mu_y, logvar_y : Tensor of shape (B, K, D)
        Label encoder φ.
    mu_x, logvar_x : Tensor of shape (B, J, D)
        Feature encoder ψ.

    Returns
    -------
    Tensor, scalar float32
    """
    m_y, lv_y = _pool_log(mu_y, logvar_y)
    m_x, lv_x = _pool_log(mu_x, logvar_x)
    # 0.5 * (log v_x - log v_y + (v_y + (m_y - m_x)^2) / v_x - 1), in log space so tiny
    # variances do not underflow to log(0)
    kl = 0.5 * (lv_x - lv_y + torch.exp(lv_y - lv_x) + (m_y - m_x) ** 2 * torch.exp(-lv_x) - 1.0)
    return kl.sum(dim=1).mean()


def residual_loss(logits: torch.Tensor, y: torch.Tensor, loadings: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Negative Monte-Carlo log-likelihood with residual factors, per site and species.

    ``-mean_i log p̂(y_i) / L`` with ``p̂`` from
    :func:`jsdm_hot.model.residual.mc_log_likelihood`; equals :func:`bce_loss` when
    ``loadings`` is 0.

    Parameters
    ----------
    logits : Tensor of shape (B, L)
        Decoder logits of the feature branch.
    y : Tensor of shape (B, L)
    loadings : Tensor of shape (L, n_factors)
    noise : Tensor of shape (M, B, n_factors)

    Returns
    -------
    Tensor, scalar float32
    """
    return -mc_log_likelihood(logits, y, loadings, noise).mean() / logits.shape[-1]


def total_loss(
    bce: torch.Tensor,
    intermediate_bce: torch.Tensor,
    ranking: torch.Tensor,
    kl: torch.Tensor,
    *,
    lambda0: float,
    lambda1: float,
    lambda2: float,
    beta: float,
    residual: torch.Tensor | None = None,
    lambda_residual: float = 0.0,
) -> torch.Tensor:
    """Eq 17: ``lambda0·bce + lambda1·intermediate_bce + lambda2·ranking + beta·kl``,
    plus ``lambda_residual·residual`` when a residual term is given (ours)."""
    total = lambda0 * bce + lambda1 * intermediate_bce + lambda2 * ranking + beta * kl
    return total if residual is None else total + lambda_residual * residual
