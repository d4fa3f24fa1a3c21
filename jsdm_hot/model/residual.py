"""Residual species association: a low-rank Gaussian term on the logit scale.

Not in the paper (a deviation, see below for why). For site ``i`` and species ``l``::

    logit_il = c_l · d_il + λ_l · e_i,      e_i ~ N(0, I_K),      Σ = Λ Λᵀ,

where ``d`` (n_sites, n_species) are the HOT-VAE decoder logits, ``Λ`` (n_species, K)
the residual loadings and ``c_l = sqrt(1 + π/8 · |λ_l|²)``. Given ``e_i`` the
species are independent Bernoullis, so ``Σ`` is the residual (biotic or
unmeasured) association on the logit scale: Hmsc's Ω, sjSDM's Σ, and the ``Σ`` of
the simulator (:func:`jsdm_hot.data.simulate.simulate_community`).

Why: a fitted HOT-VAE barely reacts to the noise of its latent ``z`` (on the demo
model, 100 draws with one ``z`` each had a richness variance 1.015× that of
independent Bernoulli draws), so its joint draws are in effect independent, and each
costs a full decoder pass. With this term a draw needs one decoder pass per site and
a cheap draw of ``e``, and the residual co-occurrence is an explicit, readable matrix.

Why ``c_l``: for ``s = |λ_l|`` the logistic-normal integral
``E_e[σ(a + s·e)] ≈ σ(a / sqrt(1 + π s²/8))`` (the probit approximation of the
logistic; error below 0.02 in probability for ``s ≤ 3``), so scaling the decoder
logit by ``c_l`` keeps ``σ(d)`` the *marginal* occurrence probability. The decoder is
still trained by the paper's BCE (Eq 14, independent species given ``z``), which
fits ``σ(d)`` to the marginal frequencies; without ``c_l`` that term and the
likelihood below would pull ``d`` to different scales. Measured on the simulator
(``benchmarks/results/residual_recovery.md``, defaults, 3 seeds), against the plain
``d + λ_l·e`` of the issue: the mean gap between the draws' marginals and
``σ(d)`` (what ``predict_proba`` reports) is 0.006 instead of 0.023, the recovery of
the true residual correlation 0.72 instead of 0.68 (Pearson), the richness variance
1.84 instead of 2.11 × that of independent draws (truth 1.64), at the same held-out
joint log-likelihood (−9.44). With ``Λ = 0``, ``c = 1`` and every function here
reduces to the independent model.

Fitting (as sjSDM fits its probit covariance): the Monte-Carlo likelihood of a
site's whole species vector,
``log p(y_i) ≈ log (1/M) Σ_m Π_l Bernoulli(y_il | σ(c_l d_il + λ_l·e_m))``, computed
in log-sum-exp form from ``log σ`` (stable for any logit). Its negative, divided by
``L``, equals the mean BCE when ``Λ = 0``; it is a lower bound of the log-likelihood
in expectation (Jensen), tight as ``M`` grows.

Not included: a phylogenetic prior on ``Σ`` (issue 17.2). Measured with the true
fixed effects (``benchmarks/results/residual_oracle.md``): pulling ``Λ Λᵀ`` toward
the tree's Brownian correlation helped when the residuals were phylogenetic (Pearson
0.72 → 0.87) and hurt when they were not (0.87 → 0.62–0.69); a prior with a learnt
phylogenetic weight got both right at its MAP weight but collapsed ``Λ`` to 0 at
three times that weight. Neither was robust enough to ship.

Everything here is pure torch on tensors, float32 inside. The sampling functions
take an explicit ``torch.Generator``; the training noise of
:class:`~jsdm_hot.model.hotvae.HotVAEModule`, like its latent noise, comes from
torch's default generator, which the estimator seeds inside ``fork_rng``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ResidualAssociation",
    "conditional_draws",
    "conditional_probability",
    "draw_occurrences",
    "logit_scale",
    "marginal_probability",
    "mc_log_likelihood",
    "residual_correlation",
    "residual_covariance",
    "residual_logits",
]

#: Gauss–Hermite nodes used by :func:`marginal_probability` (exact to ~1e-7 for |λ| ≤ 5).
GH_NODES = 48


def logit_scale(loadings: torch.Tensor) -> torch.Tensor:
    """Per-species scale ``c_l = sqrt(1 + π/8 · |λ_l|²)`` of the decoder logits.

    Parameters
    ----------
    loadings : Tensor of shape (n_species, K)

    Returns
    -------
    Tensor of shape (n_species,), float32
    """
    return torch.sqrt(1.0 + (math.pi / 8.0) * loadings.float().pow(2).sum(-1))


def residual_logits(logits: torch.Tensor, loadings: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Logits given the residual factors: ``c · d + e Λᵀ``.

    Parameters
    ----------
    logits : Tensor of shape (n_sites, n_species)
        Decoder logits ``d`` (marginal scale).
    loadings : Tensor of shape (n_species, K)
    noise : Tensor of shape (n_draws, n_sites, K)
        Draws of ``e ~ N(0, I_K)``.

    Returns
    -------
    Tensor of shape (n_draws, n_sites, n_species), float32
    """
    lam = loadings.float()
    return (logits.float() * logit_scale(lam)).unsqueeze(0) + noise.float() @ lam.T


def _observed_log_lik(eta: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Σ over observed species of ``log Bernoulli(y | σ(eta))``; NaN in ``y`` = unobserved.

    ``eta`` (M, n, L), ``y`` (n, L) → (M, n). ``log σ(±eta)`` via ``logsigmoid`` never
    overflows, whatever the logit.
    """
    y = y.float()
    obs = ~torch.isnan(y)
    sign = torch.where(obs, 2.0 * torch.nan_to_num(y) - 1.0, torch.zeros_like(y))
    ll = F.logsigmoid(eta * sign.unsqueeze(0))
    return (ll * obs.unsqueeze(0)).sum(-1)


def mc_log_likelihood(logits: torch.Tensor, y: torch.Tensor, loadings: torch.Tensor,
                      noise: torch.Tensor) -> torch.Tensor:
    """Monte-Carlo log-likelihood of each site's species vector.

    ``log p̂(y_i) = logsumexp_m Σ_l log Bernoulli(y_il | σ(c_l d_il + λ_l·e_m)) − log M``.

    Parameters
    ----------
    logits : Tensor of shape (n_sites, n_species)
        Decoder logits ``d``.
    y : Tensor of shape (n_sites, n_species)
        0/1 occurrences; NaN marks a species not observed at the site (left out of
        the product).
    loadings : Tensor of shape (n_species, K)
    noise : Tensor of shape (M, n_sites, K)
        ``e ~ N(0, I_K)``, M draws per site.

    Returns
    -------
    Tensor of shape (n_sites,), float32
    """
    ll = _observed_log_lik(residual_logits(logits, loadings, noise), y)
    return torch.logsumexp(ll, dim=0) - math.log(noise.shape[0])


def marginal_probability(logits: torch.Tensor, loadings: torch.Tensor, n_nodes: int = GH_NODES) -> torch.Tensor:
    """Marginal occurrence probability ``E_e[σ(c_l d_il + λ_l·e)]``, by Gauss–Hermite quadrature.

    ``λ_l·e`` is a scalar ``N(0, |λ_l|²)``, so the K-dimensional expectation is a
    one-dimensional integral per entry, done with ``n_nodes`` Gauss–Hermite nodes
    (deterministic; no Monte-Carlo error). Equals ``σ(d)`` within the probit
    approximation's error (see the module docstring).

    Parameters
    ----------
    logits : Tensor of shape (n_sites, n_species)
    loadings : Tensor of shape (n_species, K)
    n_nodes : int

    Returns
    -------
    Tensor of shape (n_sites, n_species), float32
    """
    x, w = np.polynomial.hermite.hermgauss(int(n_nodes))
    dev = logits.device
    nodes = torch.as_tensor(x * math.sqrt(2.0), dtype=torch.float32, device=dev)
    weights = torch.as_tensor(w / math.sqrt(math.pi), dtype=torch.float32, device=dev)
    lam = loadings.float()
    s = lam.pow(2).sum(-1).sqrt()
    a = logits.float() * logit_scale(lam)
    p = torch.sigmoid(a.unsqueeze(-1) + s.unsqueeze(-1) * nodes)  # (n, L, nodes)
    return p @ weights


def draw_occurrences(logits: torch.Tensor, loadings: torch.Tensor, n_draws: int,
                     generator: torch.Generator | None = None, *, return_prob: bool = False):
    """Joint draws: ``e ~ N(0, I_K)`` per draw and site, then independent Bernoullis.

    One decoder pass per site gives ``logits``; each draw then costs a (K × L)
    matrix product and a Bernoulli draw.

    Parameters
    ----------
    logits : Tensor of shape (n_sites, n_species) or (n_draws, n_sites, n_species)
        Decoder logits; the 3-d form gives each draw its own decoder output (a few
        latent ``z`` draws cycled over the draws).
    loadings : Tensor of shape (n_species, K)
    n_draws : int
    generator : torch.Generator, optional
        On the device of ``logits``.
    return_prob : bool
        Also return the per-draw probabilities.

    Returns
    -------
    draws : Tensor of shape (n_draws, n_sites, n_species), uint8
    prob : Tensor of shape (n_draws, n_sites, n_species), float32
        Only when ``return_prob``.
    """
    n, K = logits.shape[-2], loadings.shape[1]
    noise = torch.randn((n_draws, n, K), generator=generator, device=logits.device)
    if logits.dim() == 2:
        eta = residual_logits(logits, loadings, noise)
    else:  # one decoder output per draw: flatten (draw, site) into rows
        eta = residual_logits(logits.reshape(n_draws * n, -1), loadings, noise.reshape(1, n_draws * n, K))
    p = torch.sigmoid(eta.reshape(n_draws, n, -1))
    y = torch.bernoulli(p, generator=generator).to(torch.uint8)
    return (y, p) if return_prob else y


def _importance(logits, loadings, given, n_mc, generator):
    """Prior draws of ``e`` and their normalised weights ∝ likelihood of the observed species."""
    n, K = logits.shape[0], loadings.shape[1]
    noise = torch.randn((n_mc, n, K), generator=generator, device=logits.device)
    eta = residual_logits(logits, loadings, noise)
    w = torch.softmax(_observed_log_lik(eta, given), dim=0)  # (M, n)
    return eta, w


def conditional_probability(logits: torch.Tensor, loadings: torch.Tensor, given: torch.Tensor, n_mc: int = 2000,
                            generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Occurrence probabilities given a partial checklist, by importance sampling of ``e``.

    ``n_mc`` draws ``e_m ~ N(0, I_K)`` (the prior) are weighted by the likelihood of
    the observed species, ``w_m ∝ Π_{l observed} Bernoulli(y_l | σ(c_l d_l + λ_l·e_m))``;
    ``P(y_l = 1 | observed) = Σ_m w_m σ(c_l d_l + λ_l·e_m)``. The decoder logits
    ``d`` (from the covariates) are held fixed: only the residual is conditioned.
    With nothing observed this is the Monte-Carlo marginal.

    Parameters
    ----------
    logits : Tensor of shape (n_sites, n_species)
    loadings : Tensor of shape (n_species, K)
    given : Tensor of shape (n_sites, n_species)
        1 (seen), 0 (looked for, not seen) or NaN (unknown).
    n_mc : int
    generator : torch.Generator, optional

    Returns
    -------
    prob : Tensor of shape (n_sites, n_species), float32
        Conditional probabilities; observed entries equal ``given``.
    ess : Tensor of shape (n_sites,), float32
        Effective sample size ``1 / Σ_m w_m²`` of the weights (small values mean the
        observed species are unlikely under the prior and the estimate is noisy).
    """
    given = given.float()
    eta, w = _importance(logits, loadings, given, int(n_mc), generator)
    prob = (w.unsqueeze(-1) * torch.sigmoid(eta)).sum(0)
    prob = torch.where(torch.isnan(given), prob, given)
    return prob, 1.0 / w.pow(2).sum(0)


def conditional_draws(logits: torch.Tensor, loadings: torch.Tensor, given: torch.Tensor, n_draws: int,
                      n_mc: int = 2000, generator: torch.Generator | None = None) -> torch.Tensor:
    """Joint draws given a partial checklist (sampling-importance-resampling of ``e``).

    ``e`` is resampled ``n_draws`` times from the weighted prior draws of
    :func:`conditional_probability`; unknown species are then Bernoulli draws, the
    observed ones keep their ``given`` values.

    Parameters
    ----------
    logits : Tensor of shape (n_sites, n_species)
    loadings : Tensor of shape (n_species, K)
    given : Tensor of shape (n_sites, n_species), 0/1/NaN
    n_draws, n_mc : int
    generator : torch.Generator, optional

    Returns
    -------
    Tensor of shape (n_draws, n_sites, n_species), uint8
    """
    given = given.float()
    eta, w = _importance(logits, loadings, given, int(n_mc), generator)
    n = logits.shape[0]
    idx = torch.multinomial(w.T, int(n_draws), replacement=True, generator=generator).T  # (S, n)
    p = torch.sigmoid(eta[idx, torch.arange(n, device=logits.device).unsqueeze(0)])
    y = torch.bernoulli(p, generator=generator)
    return torch.where(torch.isnan(given), y, given.nan_to_num()).to(torch.uint8)


def residual_covariance(loadings: torch.Tensor) -> torch.Tensor:
    """``Σ = Λ Λᵀ``, shape (n_species, n_species): residual covariance on the logit scale."""
    lam = loadings.float()
    return lam @ lam.T


def residual_correlation(loadings: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``cov2cor(Λ Λᵀ)`` (what Hmsc reports for Ω), shape (n_species, n_species).

    This, not ``Λ Λᵀ`` itself, is what to compare with a residual *correlation*
    such as the simulator's ``truth.residual_corr``: with K ≪ L the diagonal of
    ``Λ Λᵀ`` holds only the share of each species' residual variance the K factors
    capture, which varies between species, and ``cov2cor`` removes that per-species
    scale. Measured (``benchmarks/residual_recovery.py --design``, 3 seeds): Pearson
    correlation with the truth over species pairs 0.66–0.72 for ``cov2cor`` against
    0.61–0.68 for ``Λ Λᵀ`` (mean over seeds), higher in every configuration with K ≥ 2. The price is that with
    small K correlations are pushed towards ±1 (exactly ±1 when K = 1).

    A species with a zero loading row gets 0 correlations and a unit diagonal.
    """
    cov = residual_covariance(loadings)
    sd = cov.diagonal().clamp(min=0).sqrt()
    corr = cov / (sd.unsqueeze(0) * sd.unsqueeze(1)).clamp(min=eps)
    return corr.fill_diagonal_(1.0)


class ResidualAssociation(nn.Module):
    """The residual loadings ``Λ`` (n_species, K) of a HOT-VAE module.

    ``Λ = gain · weight``: the trained parameter is ``weight`` and ``gain`` a fixed
    scalar (a persistent buffer, so a saved file is self-describing). Adam moves each
    parameter by about ``lr`` per step whatever its gradient's scale, so with the
    paper's ``lr`` (≤ 7.5e-4) a plain ``Λ`` could move by at most ~0.4 in the ~500
    steps of a 1,000-site, 60-epoch fit, while residual loadings of 0.5–1 are
    typical (the simulator's Σ has unit diagonal). The gain multiplies the
    loadings' effective learning rate without touching the optimiser (the training
    loop is model-agnostic); the same device as equalised learning rates.

    Parameters
    ----------
    n_species : int
    n_factors : int
        K, the rank of ``Σ = Λ Λᵀ``.
    init_sd : float
        ``Λ`` starts at ``N(0, init_sd²)``; ``Λ = 0`` is a stationary point of the
        likelihood (the gradient averages to 0 over symmetric ``e``), so it must not
        start at 0.
    gain : float

    Attributes
    ----------
    weight : Parameter of shape (n_species, K)
    gain : float32 buffer, scalar
    """

    def __init__(self, n_species: int, n_factors: int, init_sd: float = 0.3, gain: float = 30.0):
        super().__init__()
        self.n_factors = int(n_factors)
        self.weight = nn.Parameter((init_sd / gain) * torch.randn(int(n_species), self.n_factors))
        self.register_buffer("gain", torch.tensor(float(gain)), persistent=True)

    @property
    def loadings(self) -> torch.Tensor:
        """``Λ = gain · weight``, shape (n_species, K)."""
        return self.gain * self.weight

    def covariance(self) -> torch.Tensor:
        """``Λ Λᵀ``, shape (n_species, n_species)."""
        return residual_covariance(self.loadings)

    def correlation(self) -> torch.Tensor:
        """``cov2cor(Λ Λᵀ)``, shape (n_species, n_species)."""
        return residual_correlation(self.loadings)
