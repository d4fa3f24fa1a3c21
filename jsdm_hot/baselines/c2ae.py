"""C2AE: canonical-correlated autoencoder (Yeh, Wu, Ko & Wang, AAAI 2017).

"Learning Deep Latent Spaces for Multi-Label Classification". Three networks,
as in the paper and its public MATLAB code (``chihkuanyeh/C2AE``,
``DCCAtrain_SGD.m``, ``DCCA_grad.m``, ``CORR_error.m``, ``BR_error.m``):

* **Feature encoder** ``F_x``: MLP ``p → h → h → K`` (code: ``[512 512 K]``).
* **Label encoder** ``F_e``: MLP ``L → h → K`` (code: ``[512 K]``).
* **Label decoder** ``F_d``: MLP ``K → h → L`` (code: ``[K 512 L]``), giving one
  score per species.

Hidden layers use leaky ReLU (the code's ``hiddentype = 'leaky_relu'``). The
latent size ``K`` defaults to ``round(0.8 L)`` (the code's ``reduction_rate = 0.8``).

Objective for a batch of ``B`` sites with codes ``Z_x = F_x(X)``, ``Z_e = F_e(Y)``
(each ``(B, K)``) and decoder scores ``S = F_d(Z_e)`` ``(B, L)``::

    loss = Φ + orth_weight · Ω + alpha · Γ + bce_weight · BCE(sigmoid(S), Y)

* **Latent alignment** ``Φ = (1/B) Σ_b ‖z_x,b − z_e,b‖²`` and the relaxed CCA
  constraint ``Ω = ‖Z_xᵀZ_x / B − I‖²_F + ‖Z_eᵀZ_e / B − I‖²_F`` (the paper's
  ``F_x F_xᵀ = F_e F_eᵀ = I`` as a penalty, weight 0.5 as in ``CORR_error.m``).
* **Output-space (label-correlation-aware) loss** — the paper's pairwise
  ranking loss, on the decoder's scores::

      Γ = mean_i 1/(|y_i⁺| |y_i⁻|) Σ_{p ∈ y_i⁺, q ∈ y_i⁻} exp(S_iq − S_ip)

  0 for a site without presences or without absences. It is computed in the log
  domain (``Σ_p Σ_q e^{S_q − S_p} = exp(logsumexp_q S_q + logsumexp_p(−S_p))``),
  ``O(B·L)`` instead of ``O(B·L²)``: :func:`pairwise_exp_loss`.
* Gradients of the output terms reach ``F_e`` and ``F_d`` only: ``F_x`` is trained
  by the latent terms alone (as in ``DCCA_grad.m``).

Prediction is ``F_d(F_x(x))``: the feature code goes through the decoder that
was trained on label codes.

Deviations (ours), documented:

* **Probabilities**: the decoder's scores are mapped to [0, 1] by a sigmoid
  (the code ends the decoder with a sigmoid too). The ranking loss is invariant
  to adding a constant to all scores of a site, so on its own it leaves the
  scores uncalibrated and not comparable across sites — which per-species AUC,
  thresholds and ecological metrics need. We therefore **add a binary
  cross-entropy term** ``bce_weight · BCE(sigmoid(F_d(F_e(y))), y)`` (default
  ``bce_weight = 1``); ``bce_weight = 0`` gives the paper's objective exactly.
* **Scale of the codes**: the code sums ``Φ`` over the batch and asks
  ``ZᵀZ = I``, which ties the size of a site's code to the batch size (≈ 1/√B);
  we divide by ``B`` (codes of unit second moment). For a fixed batch size the two
  are the same objective up to rescaling the latent space by √B; ours does not
  change with the size of the last batch or at prediction. For the same reason
  the encoders end with a linear layer instead of the code's bounded
  ``sigmoid − 0.5``.
* **Ranking loss on scores** without the code's fixed factor 5, as the paper's
  formula (the code applies ``exp(−5 (p_p − p_q))`` to sigmoid outputs).
* **Optimisation**: Adam with early stopping on validation maF1 (shared with the
  other neural baselines) instead of the code's RMS-normalised momentum SGD with
  learning-rate decay and selection on validation miF1 + maF1; L2 via Adam's
  ``weight_decay`` on all parameters. Widths are small (``hidden = 64``) so it
  trains in seconds on a CPU. ``alpha`` defaults to 1 (the paper's
  ``Φ + αΓ``); the code divides the output gradient by its ``alpha = 2``.
* The code's unused second decoder on ``F_x`` (``F3``, never propagated back to
  ``F_x`` and not used for prediction) is left out.

:meth:`C2AE.sample` is the base class's independent Bernoulli draws: C2AE has
no joint predictive distribution.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from jsdm_hot.baselines.torch_base import TorchBaseline, check_positive_ints
from jsdm_hot.errors import InputDataError
from jsdm_hot.estimators.base import JsdmEstimator

__all__ = ["C2AE", "C2AEModule", "pairwise_exp_loss", "orthogonality_penalty"]

log = logging.getLogger(__name__)


def _mlp(sizes: list[int], dropout: float) -> nn.Sequential:
    """Linear layers with leaky ReLU (+ dropout) between them; the last layer is linear."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.LeakyReLU(0.01), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


def pairwise_exp_loss(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """C2AE's output-space ranking loss (paper Eq for ``E``), in the log domain.

    Parameters
    ----------
    scores : Tensor of shape (B, L)
        Decoder scores (unbounded).
    y : Tensor of shape (B, L), 0/1

    Returns
    -------
    Tensor, scalar
        Mean over sites of ``1/(n_pos n_neg) Σ_{p: y_p=1} Σ_{q: y_q=0} exp(s_q − s_p)``;
        sites with no presence or no absence contribute 0.
    """
    pos = y > 0.5
    neg = ~pos
    # a finite fill (not -inf) keeps the gradient finite for sites lacking presences or absences
    ninf = torch.full_like(scores, torch.finfo(scores.dtype).min)
    lse_neg = torch.logsumexp(torch.where(neg, scores, ninf), dim=-1)  # log Σ_q e^{s_q}
    lse_pos = torch.logsumexp(torch.where(pos, -scores, ninf), dim=-1)  # log Σ_p e^{-s_p}
    n_pos = pos.sum(-1)
    n_neg = neg.sum(-1)
    ok = (n_pos > 0) & (n_neg > 0)
    log_norm = torch.log(n_pos.clamp_min(1).to(scores.dtype)) + torch.log(n_neg.clamp_min(1).to(scores.dtype))
    log_e = torch.where(ok, lse_neg + lse_pos - log_norm, torch.zeros_like(lse_neg))
    return torch.where(ok, torch.exp(log_e), torch.zeros_like(log_e)).mean()


def orthogonality_penalty(z: torch.Tensor) -> torch.Tensor:
    """``‖Zᵀ Z / B − I‖²_F`` for codes ``z`` of shape (B, K): the relaxed CCA constraint. Scalar."""
    B, K = z.shape
    gram = z.T @ z / B
    return ((gram - torch.eye(K, dtype=z.dtype, device=z.device)) ** 2).sum()


class C2AEModule(nn.Module):
    """The C2AE networks ``F_x``, ``F_e``, ``F_d`` (tensors only).

    Parameters
    ----------
    n_features, n_species : int
    latent_dim : int
        ``K``, size of the shared latent space.
    hidden : int
        Hidden width of the three MLPs.
    dropout : float
        Dropout after each hidden layer.
    alpha, orth_weight, bce_weight : float
        Weights of the ranking loss Γ, the orthogonality penalty Ω and the BCE in :meth:`loss`.
    """

    def __init__(self, n_features: int, n_species: int, latent_dim: int, hidden: int, dropout: float,
                 alpha: float = 1.0, orth_weight: float = 0.5, bce_weight: float = 1.0) -> None:
        super().__init__()
        p, L, K, h = int(n_features), int(n_species), int(latent_dim), int(hidden)
        self.n_species = L
        self.weights = {"align": 1.0, "orth": float(orth_weight), "rank": float(alpha), "bce": float(bce_weight)}
        self.f_x = _mlp([p, h, h, K], dropout)
        self.f_e = _mlp([L, h, K], dropout)
        self.f_d = _mlp([K, h, L], dropout)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction scores ``F_d(F_x(x))`` (B, L) from standardised covariates (B, p)."""
        return self.f_d(self.f_x(x))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training forward pass: the unweighted terms of :meth:`loss_terms`."""
        return self.loss_terms(x, y)

    def loss(self, terms: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, torch.Tensor]:
        """``Φ + orth_weight Ω + α Γ + bce_weight BCE``, with the terms."""
        return {"loss": sum(self.weights[k] * terms[k] for k in self.weights), **terms}

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """``sigmoid(F_d(F_x(x)))``, shape (B, L)."""
        return torch.sigmoid(self.scores(x))

    def loss_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The C2AE objective's terms for one batch.

        Parameters
        ----------
        x : Tensor of shape (B, n_features)
        y : Tensor of shape (B, n_species), 0/1 float

        Returns
        -------
        dict with scalar tensors ``align`` (Φ), ``orth`` (Ω), ``rank`` (Γ) and
        ``bce`` (BCE of ``sigmoid(F_d(F_e(y)))``).
        """
        z_x = self.f_x(x)
        z_e = self.f_e(y)
        s = self.f_d(z_e)
        return {
            "align": ((z_x - z_e) ** 2).sum(1).mean(),
            "orth": orthogonality_penalty(z_x) + orthogonality_penalty(z_e),
            "rank": pairwise_exp_loss(s, y),
            "bce": nn.functional.binary_cross_entropy_with_logits(s, y),
        }


class C2AE(TorchBaseline, JsdmEstimator):
    """C2AE baseline behind the estimator contract (see the module docstring for the model).

    Parameters
    ----------
    latent_dim : int or None, default=None
        Latent size ``K``; ``None`` = ``max(1, round(0.8 n_species))`` (the code's rule).
    hidden : int, default=64
        Hidden width of ``F_x``, ``F_e``, ``F_d`` (code: 512).
    dropout : float, default=0.0
    alpha : float, default=1.0
        Weight of the ranking loss Γ (paper's α).
    orth_weight : float, default=0.5
        Weight of the relaxed orthogonality constraint Ω (the code's ``lambda = 0.5``).
    bce_weight : float, default=1.0
        Weight of the added calibration BCE (ours; 0 = the paper's objective).
    lr : float, default=1e-3
    weight_decay : float, default=1e-5
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
    module_ : C2AEModule
    best_epoch_ : int
    history_ : list of dict
        ``epoch``, ``loss`` and (with validation) ``val_maf1`` per epoch.
    """

    def __init__(self, latent_dim: int | None = None, hidden: int = 64, dropout: float = 0.0, alpha: float = 1.0,
                 orth_weight: float = 0.5, bce_weight: float = 1.0, lr: float = 1e-3, weight_decay: float = 1e-5,
                 batch_size: int = 128, max_epochs: int = 100, patience: int = 20,
                 val_fraction: float | None = 0.1, threshold_mode: str = "per_label", device: str = "auto",
                 random_state: int | None = 0) -> None:
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.dropout = dropout
        self.alpha = alpha
        self.orth_weight = orth_weight
        self.bce_weight = bce_weight
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
    def _latent_size(self, n_species: int) -> int:
        return max(1, round(0.8 * n_species)) if self.latent_dim is None else int(self.latent_dim)

    def _build_module(self, n_features: int, n_species: int, label_graph: Any) -> C2AEModule:
        return C2AEModule(n_features, n_species, self._latent_size(n_species), int(self.hidden), float(self.dropout),
                          float(self.alpha), float(self.orth_weight), float(self.bce_weight))

    def _validate_params(self) -> None:
        check_positive_ints("C2AE", self, ("hidden", "batch_size", "max_epochs", "patience"))
        if self.latent_dim is not None and int(self.latent_dim) < 1:
            raise InputDataError(f"C2AE: latent_dim must be a positive integer or None, got {self.latent_dim!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise InputDataError(f"C2AE: dropout must be in [0, 1), got {self.dropout}")
        for name in ("alpha", "orth_weight", "bce_weight", "weight_decay"):
            if float(getattr(self, name)) < 0:
                raise InputDataError(f"C2AE: {name} must be >= 0, got {getattr(self, name)}")
        if float(self.lr) <= 0:
            raise InputDataError(f"C2AE: lr must be > 0, got {self.lr}")

    def _fit_core(self, X, Y, X_val, Y_val, label_graph) -> None:
        self._train_module(X, Y, X_val, Y_val, None)
