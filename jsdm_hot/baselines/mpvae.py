"""MPVAE (Bai, Kong & Gomes, IJCAI 2020): a two-branch VAE with a multivariate-probit decoder.

The model, as in the paper and its public code (``JunwenBai/MPVAE``, ``model.py``):

* **Label encoder** ``q(z | x, y)``: MLP on the concatenation ``[x, y]`` → diagonal
  Gaussian ``(μ_y, log σ²_y)``. (The paper's text encodes ``y`` alone; the code
  concatenates ``x`` "since this made the training more stable" — we follow the code.)
* **Feature encoder** ``q(z | x)``: MLP on ``x`` → ``(μ_x, log σ²_x)``.
* **KL alignment**: ``KL(q(z|x,y) ‖ q(z|x))`` (the feature branch is the learnt,
  informative prior), weighted by ``kl_weight`` (1.1 in the code).
* **Shared decoder**: MLP on ``[x, z]`` → the probit mean ``μ ∈ R^L`` of the
  multivariate probit (MP) model. Both branches decode their sample ``z`` (drawn
  with the same standard-normal noise, as in the code) through it. (The code
  shares the hidden layers but gives each branch its own last linear layer,
  ``label_mp_mu`` / ``feat_mp_mu``; we share the whole decoder, as the paper
  describes it.)
* **MP likelihood**: latent ``r = μ + R ε + u`` with ``ε ~ N(0, I_rank)``,
  ``u ~ N(0, I_L)`` and ``y_i = 1[r_i > 0]``, i.e. the residual covariance is
  ``Σ = R Rᵀ + I`` with a learnt ``R ∈ R^{L × rank}`` (full rank ``rank = L`` by
  default, as the code's ``z_dim = label_dim``). Given ``ε``, species are
  independent with ``P(y_i = 1 | ε) = Φ(μ_i + (Rε)_i)``, so the likelihood is
  the Monte-Carlo average over ``n_train_samples`` draws of ``ε``
  (covariance-aware sampling, paper Eq 3), computed with log-sum-exp:

  ``NLL = -mean_b log( 1/S Σ_s Π_i Bern(y_bi | Φ(μ_bi + (R ε_s)_i)) )``.

* **Ranking loss** (code: ``build_multi_classify_loss``):
  ``Σ_{i∈pos, k∈neg} exp(-5 (E_i − E_k)) / (5 |pos| |neg|)`` on the probabilities
  ``E`` of every MC draw, 0 for sites with no presence or no absence, averaged.
  The double sum factorises as ``(Σ_pos e^{-5E_i}) (Σ_neg e^{5E_k})``, so it costs
  ``O(S·B·L)`` instead of the code's ``O(S·B·L²)`` (same value).
* **Objective** (paper Eq 5 / code): ``nll_weight (NLL_y + NLL_x) +
  rank_weight (RL_y + RL_x) + kl_weight KL`` + L2 (Adam ``weight_decay``: the same
  gradient as the code's ``slim.l2_regularizer``, but on all parameters, where the
  code penalises the weight matrices only).

Prediction uses the feature branch only, at ``z = μ_x`` (deviation: the code
draws one ``z`` and averages ``Φ`` over 10 000 ``ε`` draws; we use the exact
marginal ``P(y_i = 1 | x) = Φ(μ_i / sqrt(1 + ‖R_i‖²))`` — deterministic and
free of MC error). :meth:`MPVAE.sample` draws joint occurrences:
``z ~ q(z|x)``, ``ε ~ N(0, I)``, ``y_i ~ Bernoulli(Φ(μ_i(z) + (Rε)_i))`` — one
``(z, ε)`` per draw and site, shared by all species.

Widths are ours and small (``hidden`` = 64: the code uses 256/512), so it trains
in seconds on a CPU; the code's learning-rate decay is left out (early stopping
on validation maF1 instead).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from jsdm_hot.baselines.torch_base import TorchBaseline, check_positive_ints
from jsdm_hot.errors import InputDataError
from jsdm_hot.estimators.base import JsdmEstimator

__all__ = ["MPVAE", "MPVAEModule", "ranking_loss"]

log = logging.getLogger(__name__)

_EPS = 1e-6  # keeps probabilities inside (0, 1), as the code's eps1


def _mlp(sizes: list[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


def ranking_loss(prob: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MPVAE's pairwise ranking loss, vectorised.

    Parameters
    ----------
    prob : Tensor of shape (..., B, L)
        Probabilities (any leading axes, e.g. MC draws).
    y : Tensor of shape (B, L), 0/1

    Returns
    -------
    Tensor, scalar
        Mean over leading axes and sites of
        ``Σ_{i: y_i=1} Σ_{k: y_k=0} exp(-5 (p_i − p_k)) / (5 n_pos n_neg)``,
        with 0 for sites lacking presences or absences.
    """
    pos = y
    neg = 1.0 - y
    a = (torch.exp(-5.0 * prob) * pos).sum(-1)
    b = (torch.exp(5.0 * prob) * neg).sum(-1)
    norm = pos.sum(-1) * neg.sum(-1)
    per_site = torch.where(norm > 0, a * b / (5.0 * norm.clamp_min(1.0)), torch.zeros_like(a))
    return per_site.mean()


class MPVAEModule(nn.Module):
    """The MPVAE network (tensors only).

    Parameters
    ----------
    n_features, n_species : int
    latent_dim : int
        Size of ``z``.
    hidden : int
        Base width ``h``: feature encoder ``p → h → 2h → h``, label encoder
        ``p + L → 2h → h``, decoder ``p + latent → h → 2h → L`` (the code's
        256/512 pattern scaled down).
    cov_rank : int
        Columns of ``R`` (rank of the residual covariance ``R Rᵀ``).
    dropout : float
        Dropout after hidden layers of the encoders (the code's ``keep_prob``).
    n_train_samples : int
        MC draws of the probit noise per training step.
    nll_weight, rank_weight, kl_weight : float
        Loss weights of :meth:`loss`.
    """

    def __init__(self, n_features: int, n_species: int, latent_dim: int, hidden: int, cov_rank: int,
                 dropout: float, n_train_samples: int = 100, nll_weight: float = 0.1, rank_weight: float = 200.0,
                 kl_weight: float = 1.1) -> None:
        super().__init__()
        p, L, h = int(n_features), int(n_species), int(hidden)
        self.n_species = L
        self.n_train_samples = int(n_train_samples)
        self.weights = {"nll_y": float(nll_weight), "nll_x": float(nll_weight), "rank_y": float(rank_weight),
                        "rank_x": float(rank_weight), "kl": float(kl_weight)}
        self.feat_enc = _mlp([p, h, 2 * h, h], dropout)
        self.feat_mu = nn.Linear(h, latent_dim)
        self.feat_logvar = nn.Linear(h, latent_dim)
        self.label_enc = _mlp([p + L, 2 * h, h], dropout)
        self.label_mu = nn.Linear(h, latent_dim)
        self.label_logvar = nn.Linear(h, latent_dim)
        self.decoder = _mlp([p + latent_dim, h, 2 * h], 0.0)
        self.mp_mu = nn.Linear(2 * h, L)
        bound = math.sqrt(6.0 / (L + cov_rank))  # the code's uniform (Glorot) init of r_sqrt_sigma
        self.r_sqrt_sigma = nn.Parameter(torch.empty(L, cov_rank).uniform_(-bound, bound))

    def encode_x(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``q(z|x)``, each (B, latent_dim)."""
        hx = self.feat_enc(x)
        return self.feat_mu(hx), self.feat_logvar(hx)

    def encode_y(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``q(z|x, y)``, each (B, latent_dim)."""
        hy = self.label_enc(torch.cat([x, y], dim=1))
        return self.label_mu(hy), self.label_logvar(hy)

    def decode(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Probit means ``μ`` (B, L) from covariates (B, p) and latent (B, latent_dim)."""
        return self.mp_mu(self.decoder(torch.cat([x, z], dim=1)))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training forward pass: the unweighted terms of :meth:`loss_terms` (global torch RNG)."""
        return self.loss_terms(x, y, self.n_train_samples)

    def loss(self, terms: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, torch.Tensor]:
        """``nll_weight (nll_y + nll_x) + rank_weight (rank_y + rank_x) + kl_weight kl``, with the terms."""
        return {"loss": sum(self.weights[k] * terms[k] for k in self.weights), **terms}

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Marginal occurrence probabilities (B, L), see :meth:`marginal_prob`."""
        return self.marginal_prob(x)

    def marginal_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact ``P(y_i = 1 | x) = Φ(μ_i / sqrt(1 + ‖R_i‖²))`` at ``z = μ_x``, shape (B, L)."""
        mu_x, _ = self.encode_x(x)
        mean = self.decode(x, mu_x)
        scale = torch.sqrt(1.0 + (self.r_sqrt_sigma ** 2).sum(1))
        return torch.special.ndtr(mean / scale[None, :])

    def mc_probs(self, mean: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``E = Φ(μ + ε Rᵀ)``, kept in ``(0, 1)``; noise (S, B, rank) → (S, B, L)."""
        r = torch.tensordot(noise, self.r_sqrt_sigma.T, dims=1) + mean[None]
        return torch.special.ndtr(r) * (1.0 - _EPS) + 0.5 * _EPS

    @staticmethod
    def mc_nll(E: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``-mean_b log mean_s Π_i Bern(y_bi | E_sbi)`` (log-sum-exp over draws), scalar."""
        logp = (y * torch.log(E) + (1.0 - y) * torch.log1p(-E)).sum(-1)  # (S, B)
        S = E.shape[0]
        return -(torch.logsumexp(logp, dim=0) - math.log(S)).mean()

    def loss_terms(self, x: torch.Tensor, y: torch.Tensor, n_samples: int,
                   generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """The MPVAE objective's terms for one batch.

        Returns
        -------
        dict with scalar tensors ``nll_y``, ``nll_x``, ``rank_y``, ``rank_x``, ``kl``.
        """
        mu_x, logvar_x = self.encode_x(x)
        mu_y, logvar_y = self.encode_y(x, y)
        eps = torch.randn(mu_x.shape, generator=generator, device=x.device, dtype=mu_x.dtype)
        z_y = mu_y + eps * torch.exp(0.5 * logvar_y)
        z_x = mu_x + eps * torch.exp(0.5 * logvar_x)
        # KL(q(z|x,y) || q(z|x)) between diagonal Gaussians, summed over z, mean over sites
        kl = 0.5 * ((logvar_x - logvar_y) - 1.0 + torch.exp(logvar_y - logvar_x)
                    + (mu_x - mu_y) ** 2 / (torch.exp(logvar_x) + 1e-6)).sum(1).mean()
        noise = torch.randn((int(n_samples), x.shape[0], self.r_sqrt_sigma.shape[1]), generator=generator,
                            device=x.device, dtype=mu_x.dtype)
        E_y = self.mc_probs(self.decode(x, z_y), noise)
        E_x = self.mc_probs(self.decode(x, z_x), noise)
        return {
            "nll_y": self.mc_nll(E_y, y),
            "nll_x": self.mc_nll(E_x, y),
            "rank_y": ranking_loss(E_y, y),
            "rank_x": ranking_loss(E_x, y),
            "kl": kl,
        }

    def draw_prob(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Occurrence probabilities of one joint draw per site: ``z ~ q(z|x)``, ``ε ~ N(0, I)``,
        ``Φ(μ(z) + Rε)``, shape (B, L); ``y ~ Bernoulli`` of these is the draw."""
        mu_x, logvar_x = self.encode_x(x)
        z = mu_x + torch.randn(mu_x.shape, generator=generator, device=x.device, dtype=mu_x.dtype) * torch.exp(0.5 * logvar_x)
        mean = self.decode(x, z)
        eps = torch.randn((x.shape[0], self.r_sqrt_sigma.shape[1]), generator=generator, device=x.device, dtype=mean.dtype)
        return torch.special.ndtr(mean + eps @ self.r_sqrt_sigma.T)


class MPVAE(TorchBaseline, JsdmEstimator):
    """MPVAE baseline behind the estimator contract (see the module docstring for the model).

    Parameters
    ----------
    latent_dim : int, default=16
        Size of ``z`` (code: 50-64; smaller default for speed).
    hidden : int, default=64
        Base hidden width (code: 256/512).
    cov_rank : int or None, default=None
        Rank of the residual covariance factor ``R``; ``None`` = ``n_species`` (full, as the code).
    dropout : float, default=0.0
        Encoder dropout (code's keep_prob 1.0 for eBird, 0.5 for some datasets).
    n_train_samples : int, default=100
        MC draws of the probit noise per training step (the code's ``n_train_sample``).
    nll_weight, rank_weight, kl_weight : float, default=0.1, 200.0, 1.1
        Loss weights (the code's ``nll_coeff``, ``c_coeff`` and fixed 1.1).
    lr : float, default=1e-3
    weight_decay : float, default=1e-5
        L2 on all weights (the code's ``weight_decay`` with ``l2_coeff = 1``).
    batch_size : int, default=128
    max_epochs : int, default=100
    patience : int, default=20
        Epochs without a better validation maF1 before stopping (only with validation data).
    val_fraction : float or None, default=0.1
        Share of the training sites held out (at random, seeded by ``random_state``)
        for the thresholds and early stopping when ``fit`` gets no validation data, as HotVAE does;
        ``None`` trains on all sites and uses thresholds of 0.5.
    threshold_mode : {"per_label", "global"}, default="per_label"
    device : str, default="auto"
    random_state : int or None, default=0

    Attributes
    ----------
    module_ : MPVAEModule
    best_epoch_ : int
    history_ : list of dict
        ``epoch``, ``loss`` and (with validation) ``val_maf1`` per epoch.
    """

    def __init__(self, latent_dim: int = 16, hidden: int = 64, cov_rank: int | None = None, dropout: float = 0.0,
                 n_train_samples: int = 100, nll_weight: float = 0.1, rank_weight: float = 200.0,
                 kl_weight: float = 1.1, lr: float = 1e-3, weight_decay: float = 1e-5, batch_size: int = 128,
                 max_epochs: int = 100, patience: int = 20, val_fraction: float | None = 0.1,
                 threshold_mode: str = "per_label",
                 device: str = "auto", random_state: int | None = 0) -> None:
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.cov_rank = cov_rank
        self.dropout = dropout
        self.n_train_samples = n_train_samples
        self.nll_weight = nll_weight
        self.rank_weight = rank_weight
        self.kl_weight = kl_weight
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.threshold_mode = threshold_mode
        self.device = device
        self.random_state = random_state

    # ---------------------------------------------------------------- hooks
    def _build_module(self, n_features: int, n_species: int, label_graph: Any) -> MPVAEModule:
        rank = n_species if self.cov_rank is None else int(self.cov_rank)
        return MPVAEModule(n_features, n_species, int(self.latent_dim), int(self.hidden), rank, float(self.dropout),
                           int(self.n_train_samples), float(self.nll_weight), float(self.rank_weight),
                           float(self.kl_weight))

    def _validate_params(self) -> None:
        check_positive_ints("MPVAE", self, ("latent_dim", "hidden", "n_train_samples", "batch_size", "max_epochs",
                                            "patience"))
        if self.cov_rank is not None and int(self.cov_rank) < 1:
            raise InputDataError(f"MPVAE: cov_rank must be a positive integer or None, got {self.cov_rank!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise InputDataError(f"MPVAE: dropout must be in [0, 1), got {self.dropout}")

    def _fit_core(self, X, Y, X_val, Y_val, label_graph) -> None:
        self._train_module(X, Y, X_val, Y_val, None)

    # ---------------------------------------------------------------- extras
    @property
    def residual_covariance_(self) -> np.ndarray:
        """``Σ = R Rᵀ + I`` of the probit residuals, shape (n_species, n_species)."""
        self._check_fitted()
        R = self.module_.r_sqrt_sigma.detach().cpu().double().numpy()
        return R @ R.T + np.eye(R.shape[0])

    def _sample_chunk(self, X: np.ndarray, n_draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Joint draws for one chunk of sites: one ``z`` and one ``ε`` per draw and site.

        Returns
        -------
        draws : ndarray of shape (n_draws, n_chunk_sites, n_species), uint8
        prob : ndarray of shape (n_draws, n_chunk_sites, n_species), float32
            ``Φ(μ(z) + Rε)`` of each draw.
        """
        from jsdm_hot.estimators.posterior import torch_generator

        gen = torch_generator(self.device_, seed)
        self.module_.eval()
        with torch.inference_mode():
            xb = torch.as_tensor(np.asarray(X, np.float32), device=self.device_)
            prob = torch.stack([self.module_.draw_prob(xb, gen) for _ in range(int(n_draws))])
            u = torch.rand(prob.shape, generator=gen, device=prob.device, dtype=prob.dtype)
            draws = (u < prob).to(torch.uint8)
        return draws.cpu().numpy(), prob.float().cpu().numpy()
