"""HOT-VAE network settings (architecture and loss weights), with the paper's search grid.

Optimisation settings (lr, batch size, epochs, patience) are not here: they
belong to the training loop, :class:`jsdm_hot.training.TrainConfig`. The
estimator :class:`jsdm_hot.HotVAE` takes both as flat keyword parameters.

Defaults are taken from inside the paper's grid (Zhao et al. 2021, §Experiments):

===========  ===========================  ========
parameter    paper grid                   default
===========  ===========================  ========
lambda1      {0.1, 0.2, 0.3}              0.1
lambda2      {1, 100, 1000}               1
beta         {1e-5, 1e-4, 0}              1e-4
d_model      {100, 200, 512}              200
n_layers     {2, 3, 4, 5}                 2
dropout      {0, 0.1, 0.2, 0.5}           0.1
===========  ===========================  ========

``lambda0`` (weight of the final BCE) is 1 in the paper.

``residual_factors``, ``residual_mc`` and ``lambda_residual`` configure the residual
association added to the paper's model (a deviation, see
:mod:`jsdm_hot.model.residual`): joint draws from HOT-VAE's latent alone are in effect
independent (the fitted decoder barely reacts to z noise: richness variance 1.015× that of
independent draws on the embedded example), so residual co-occurrence needs its own
term. ``residual_factors=0`` is the paper's model exactly. Values the paper does
not give (latent size, heads, encoder width) are ours and documented on each
field. The estimator chooses some of these from the data (``"auto"``, see
:mod:`jsdm_hot.estimators.hotvae`); this dataclass always holds resolved numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from jsdm_hot.errors import InputDataError

__all__ = ["ModelConfig", "PAPER_GRID"]

#: The paper's hyper-parameter grid (network and optimiser), for searches.
PAPER_GRID: dict[str, tuple] = {
    "lr": (2e-4, 3e-4, 7.5e-4),
    "lambda1": (0.1, 0.2, 0.3),
    "lambda2": (1.0, 100.0, 1000.0),
    "beta": (1e-5, 1e-4, 0.0),
    "d_model": (100, 200, 512),
    "n_layers": (2, 3, 4, 5),
    "dropout": (0.0, 0.1, 0.2, 0.5),
}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and loss weights of :class:`~jsdm_hot.model.HotVAEModule`.

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
    feature_embedding : {"none", "ple", "periodic"}
        How ψ sees each covariate (:mod:`jsdm_hot.model.embeddings`; not in the
        paper): ``"none"`` the raw standardised value (the paper), ``"ple"``
        piecewise-linear quantile bins, ``"periodic"`` trainable sin/cos features.
    embedding_size : int
        Bins (``"ple"``) or frequencies (``"periodic"``) per covariate.
    direct_path : bool
        Add a deterministic covariate → per-species logit path beside the latent
        bottleneck (:mod:`jsdm_hot.model.direct`; not in the paper).
    species_weighting : {"none", "balanced"}
        Per-species weights of the BCE terms (not in the paper): ``"balanced"``
        weighs species by ``1 / sqrt(p (1 − p))`` of their training prevalence
        (:func:`~jsdm_hot.model.losses.species_weights`) so rare species are not
        drowned by common ones; ``"none"`` is the paper's plain mean.
    residual_factors : int
        K, the rank of the residual association ``Σ = Λ Λᵀ`` on the logit scale
        (ours, not in the paper). 0 gives the paper's model exactly (same parameters,
        loss and outputs). Default 4, measured on the simulator
        (``benchmarks/residual_recovery.py``, 1,500 sites × 24 species, 3 seeds;
        ``benchmarks/results/residual_recovery.md``): correlation between estimated and
        true residual correlations 0.66 with K = 2 and 0.72 with K = 4 (λ_res = 3); K = 1
        can only give ±1 correlations; K = 4 held up best when training stopped early;
        the held-out joint log-likelihood was the same for K = 2 and 4.
    residual_mc : int
        M, draws of the residual factors per site in the Monte-Carlo likelihood.
        Default 64: M = 8 shrank the fitted residual variance by a third (the Jensen
        bias of the log of an average), M = 64 came within 10 % of M = 512
        (``benchmarks/results/residual_oracle.md``).
    lambda_residual : float
        Weight of the residual likelihood term (per site and species, on the BCE
        scale) added to Eq 17. Default 3: over {0.3, 1, 3, 10} the held-out joint
        log-likelihood and the 90 % richness-interval coverage rose while the richness
        spread overshot more and more; 3 is the compromise.
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
    feature_embedding: str = "none"
    embedding_size: int = 16
    species_weighting: str = "none"
    direct_path: bool = False
    residual_factors: int = 4
    residual_mc: int = 64
    lambda_residual: float = 3.0

    def __post_init__(self) -> None:
        if not isinstance(self.direct_path, bool):
            raise InputDataError(f"direct_path must be True or False, got {self.direct_path!r}")
        if self.species_weighting not in ("none", "balanced"):
            raise InputDataError(f"species_weighting must be 'none' or 'balanced', got {self.species_weighting!r}")
        if self.feature_embedding not in ("none", "ple", "periodic"):
            raise InputDataError(f"feature_embedding must be 'none', 'ple' or 'periodic', got {self.feature_embedding!r}")
        for name in ("d_model", "n_layers", "n_heads", "latent_dim", "n_subspaces_x", "n_subspaces_y", "encoder_hidden",
                     "embedding_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputDataError(f"hyper-parameter {name} must be a positive integer, got {v!r}")
        if self.d_model % self.n_heads:
            raise InputDataError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputDataError(f"dropout must be in [0, 1), got {self.dropout}")
        for name in ("lambda0", "lambda1", "lambda2", "beta", "lambda_residual"):
            if not getattr(self, name) >= 0:
                raise InputDataError(f"hyper-parameter {name} must be >= 0, got {getattr(self, name)}")
        if isinstance(self.residual_factors, bool) or not isinstance(self.residual_factors, int) or self.residual_factors < 0:
            raise InputDataError(f"hyper-parameter residual_factors must be an integer >= 0, got {self.residual_factors!r}")
        if isinstance(self.residual_mc, bool) or not isinstance(self.residual_mc, int) or self.residual_mc < 1:
            raise InputDataError(f"hyper-parameter residual_mc must be a positive integer, got {self.residual_mc!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
