"""Optimisation settings of the training loop (the model's own settings are in :mod:`jsdm_hot.model.config`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from jsdm_hot.errors import InputDataError

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """How :func:`jsdm_hot.training.train_module` optimises a module.

    Attributes
    ----------
    lr, weight_decay : float
        Adam settings (HOT-VAE paper grid for lr: 2e-4, 3e-4, 7.5e-4).
    batch_size : int
    max_epochs : int
    patience : int
        Early stopping: epochs without validation maF1 improvement.
    min_delta : float
        Smallest maF1 gain that counts as an improvement.
    grad_clip : float
        Max gradient norm (0 disables).
    threshold_mode : {"per_label", "global"}
        How validation maF1 thresholds are chosen while monitoring.
    """

    lr: float = 7.5e-4
    weight_decay: float = 0.0
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 20
    min_delta: float = 1e-4
    grad_clip: float = 5.0
    threshold_mode: str = "per_label"

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputDataError(f"{name} must be a positive integer, got {v!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0:
            raise InputDataError(f"patience must be an integer >= 0, got {self.patience!r}")
        if not self.lr > 0:
            raise InputDataError(f"lr must be > 0, got {self.lr}")
        for name in ("weight_decay", "grad_clip", "min_delta"):
            if not getattr(self, name) >= 0:
                raise InputDataError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.threshold_mode not in ("per_label", "global"):
            raise InputDataError(f"threshold_mode must be 'per_label' or 'global', got {self.threshold_mode!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
