"""HOT-VAE neural network modules (tensors in, tensors out)."""

from jsdm_hot.model.config import PAPER_GRID, ModelConfig
from jsdm_hot.model.decoder import HotDecoder, HotDecoderLayer, MultiHeadAttention
from jsdm_hot.model.encoders import GaussianSubspaceEncoder, MLPEncoder, reparameterize
from jsdm_hot.model.hotvae import HotVAEModule
from jsdm_hot.model.losses import (
    bce_loss,
    intermediate_bce_loss,
    kl_alignment,
    pool_subspaces,
    ranking_loss,
    residual_loss,
    total_loss,
)
from jsdm_hot.model.outputs import DecoderOutput, HotVAEOutput, LossOutput
from jsdm_hot.model.residual import ResidualAssociation

__all__ = [
    "DecoderOutput",
    "GaussianSubspaceEncoder",
    "HotDecoder",
    "HotDecoderLayer",
    "HotVAEModule",
    "HotVAEOutput",
    "LossOutput",
    "MLPEncoder",
    "ModelConfig",
    "PAPER_GRID",
    "MultiHeadAttention",
    "bce_loss",
    "intermediate_bce_loss",
    "kl_alignment",
    "pool_subspaces",
    "ranking_loss",
    "reparameterize",
    "ResidualAssociation",
    "residual_loss",
    "total_loss",
]
