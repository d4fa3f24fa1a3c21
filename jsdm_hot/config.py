"""Hyper-parameters of HOT-VAE in one dataclass, with the paper's search grid.

Defaults are taken from inside the paper's grid (Zhao et al. 2021, §Experiments):

===========  ===========================  ========
parameter    paper grid                   default
===========  ===========================  ========
lr           {2e-4, 3e-4, 7.5e-4}         7.5e-4
lambda1      {0.1, 0.2, 0.3}              0.1
lambda2      {1, 100, 1000}               1
beta         {1e-5, 1e-4, 0}              1e-4
d_model      {100, 200, 512}              200
n_layers     {2, 3, 4, 5}                 2
dropout      {0, 0.1, 0.2, 0.5}           0.1
max_epochs   <= 200                       200
===========  ===========================  ========

``lambda0`` (weight of the final BCE) is 1 in the paper.

On sparse presence/absence data the ranking loss can hurt: on the eBird roccupy
set (median one species per checklist) ``lambda2=1`` gave test maF1 0.189 and
ebF1 0.263 against 0.213 and 0.388 with ``lambda2=0`` (same split and seed; see
``tests/test_real_data.py``), while on the dense tarentaise communities (median
nine species per site) ``lambda2=1`` was better (maF1 0.316 vs 0.303). The default
stays in the paper's grid; set ``lambda2=0`` (``--lambda2 0``) for checklist data
with few species per site. Values not given by
the paper (latent size, heads, encoder width, batch size, patience) are ours
and documented on each field. :data:`PAPER_GRID` holds the grid for searches.

``residual_factors``, ``residual_mc`` and ``lambda_residual`` configure the residual
association added to the paper's model (a deviation, see
:mod:`jsdm_hot.model.residual`): joint draws from HOT-VAE's latent alone are in effect
independent, so residual co-occurrence needs its own term. ``residual_factors=0``
is the paper's model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from jsdm_hot.errors import InputDataError

__all__ = ["HotVAEConfig", "PAPER_GRID"]

PAPER_GRID: dict[str, tuple] = {
    "lr": (2e-4, 3e-4, 7.5e-4),
    "lambda1": (0.1, 0.2, 0.3),
    "lambda2": (1.0, 100.0, 1000.0),
    "beta": (1e-5, 1e-4, 0.0),
    "d_model": (100, 200, 512),
    "n_layers": (2, 3, 4, 5),
    "dropout": (0.0, 0.1, 0.2, 0.5),
}


@dataclass
class HotVAEConfig:
    """All HOT-VAE hyper-parameters (architecture, loss weights, optimisation).

    Attributes
    ----------
    d_model : int
        Width of species nodes and attention (paper's d).
    n_layers : int
        Decoder layers; n layers model (n+1)-order species interactions.
    n_heads : int
        Attention heads (ours: 4; must divide ``d_model``).
    latent_dim : int
        Size of each Gaussian latent subspace (ours: 64, as MPVAE).
    n_subspaces_x, n_subspaces_y : int
        J and K, the number of latent subspaces of the feature and label branch.
    encoder_hidden : int
        Hidden width of the 3-layer MLP encoders (ours).
    dropout : float
    lambda0, lambda1, lambda2, beta : float
        Loss weights of Eq 17: final BCE, intermediate BCE, ranking loss, KL.
    lr, weight_decay : float
        Adam settings.
    batch_size : int
    max_epochs : int
    patience : int
        Early stopping: epochs without validation maF1 improvement (ours: 20).
    min_delta : float
        Smallest maF1 gain that counts as an improvement.
    grad_clip : float
        Max gradient norm (0 disables; ours: 5, guards against rare spikes).
    threshold_mode : str
        ``"per_label"`` or ``"global"`` threshold chosen on validation data.
    residual_factors : int
        K, the rank of the residual association ``Σ = Λ Λᵀ`` on the logit scale
        (:mod:`jsdm_hot.model.residual`; ours, not in the paper). 0 gives the
        paper's model exactly (same parameters, loss and outputs). Default 4,
        measured on the simulator (``benchmarks/residual_recovery.py --design``,
        1,500 sites × 24 species, 3 seeds; results in
        ``benchmarks/results/residual_recovery.md``): the correlation between the
        estimated and the true residual correlations was 0.67 with K = 2 and 0.69 with
        K = 4 (λ_res = 1; 0.66 and 0.72 with λ_res = 3), K = 1 can only give ±1
        correlations, and K = 4 held up best when training stopped early (0.55 against
        0.33 on the seed whose best validation epoch was 13); the held-out joint
        log-likelihood was the same for K = 2 and 4 (−9.43 / −9.44 per site).
    residual_mc : int
        M, draws of the residual factors per site in the Monte-Carlo likelihood.
        Default 64: with the true fixed effects and K = 2
        (``benchmarks/residual_oracle.py``, 3 seeds), M = 8 shrank the fitted
        residual variance by a third (mean diagonal of Λ Λᵀ 0.35 against 0.51; the
        Jensen bias of the log of an average) and recovered the correlations worse
        (0.65), while M = 64 came within 10 % of M = 512 (0.51 vs 0.55; recovery
        0.72 vs 0.75). The cost, ``M × K × L`` per site, is negligible next to the
        decoder.
    lambda_residual : float
        Weight of the residual likelihood term (per site and species, on the BCE
        scale) added to Eq 17. Default 3: over λ_res ∈ {0.3, 1, 3, 10} (K = 2, 3
        seeds) the held-out joint log-likelihood rose steadily (−9.73, −9.55, −9.43,
        −9.35 per site; the paper's model −10.09) and the 90 % richness-interval
        coverage too (0.90, 0.90, 0.92, 0.93; draws from the true model 0.93), while
        the richness spread overshot more and more (variance 1.73, 1.75, 1.84, 1.87 ×
        independent draws; truth 1.64). 3 is the compromise, and keeps Eq 17's own
        terms weighty.
    """

    d_model: int = 200
    n_layers: int = 2
    n_heads: int = 4
    latent_dim: int = 64
    n_subspaces_x: int = 1
    n_subspaces_y: int = 1
    encoder_hidden: int = 256
    dropout: float = 0.1
    lambda0: float = 1.0
    lambda1: float = 0.1
    lambda2: float = 1.0
    beta: float = 1e-4
    lr: float = 7.5e-4
    weight_decay: float = 0.0
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 20
    min_delta: float = 1e-4
    grad_clip: float = 5.0
    threshold_mode: str = "per_label"
    residual_factors: int = 4
    residual_mc: int = 64
    lambda_residual: float = 3.0

    def validate(self) -> "HotVAEConfig":
        """Check ranges; raise :class:`InputDataError` naming the parameter."""
        positive_int = ["d_model", "n_layers", "n_heads", "latent_dim", "n_subspaces_x", "n_subspaces_y",
                        "encoder_hidden", "batch_size", "max_epochs"]
        for name in positive_int:
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InputDataError(f"hyper-parameter {name} must be a positive integer, got {v!r}")
        if self.d_model % self.n_heads:
            raise InputDataError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputDataError(f"dropout must be in [0, 1), got {self.dropout}")
        for name in ("lambda0", "lambda1", "lambda2", "beta", "weight_decay", "grad_clip", "min_delta"):
            if getattr(self, name) < 0:
                raise InputDataError(f"hyper-parameter {name} must be >= 0, got {getattr(self, name)}")
        if not isinstance(self.residual_factors, int) or self.residual_factors < 0:
            raise InputDataError(f"hyper-parameter residual_factors must be an integer >= 0, got {self.residual_factors!r}")
        if not isinstance(self.residual_mc, int) or self.residual_mc < 1:
            raise InputDataError(f"hyper-parameter residual_mc must be a positive integer, got {self.residual_mc!r}")
        if self.lambda_residual < 0:
            raise InputDataError(f"hyper-parameter lambda_residual must be >= 0, got {self.lambda_residual}")
        if self.lr <= 0:
            raise InputDataError(f"lr must be > 0, got {self.lr}")
        if self.patience < 0:
            raise InputDataError(f"patience must be >= 0, got {self.patience}")
        if self.threshold_mode not in ("per_label", "global"):
            raise InputDataError(f"threshold_mode must be 'per_label' or 'global', got {self.threshold_mode!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "HotVAEConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputDataError(f"unknown hyper-parameters {unknown}; known: {sorted(known)}")
        return cls(**d)
