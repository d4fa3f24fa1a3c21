"""Optimisation settings of the training loop (the model's own settings are in :mod:`jsdm_hot.model.config`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from jsdm_hot.errors import InputDataError

__all__ = ["TrainConfig", "OPTIMIZERS", "LR_SCHEDULES", "SELECTION_CRITERIA", "lr_factor"]

#: ``TrainConfig.optimizer`` values.
OPTIMIZERS = ("adam", "adamw")
#: ``TrainConfig.lr_schedule`` values.
LR_SCHEDULES = ("constant", "cosine")
#: ``TrainConfig.selection`` values: what early stopping and model selection monitor on validation sites.
SELECTION_CRITERIA = ("maf1", "loglik")


@dataclass(frozen=True)
class TrainConfig:
    """How :func:`jsdm_hot.training.train_module` optimises a module.

    The defaults are the HOT-VAE paper's optimiser (Adam, constant learning rate,
    model selection on validation maF1) and are what the PyTorch baselines use;
    :class:`jsdm_hot.HotVAE` passes its own, measured defaults (see its docstring).

    Attributes
    ----------
    lr, weight_decay : float
        Learning rate (HOT-VAE paper grid: 2e-4, 3e-4, 7.5e-4) and weight decay
        (an L2 penalty added to the gradient with ``"adam"``, decoupled with ``"adamw"``).
    batch_size : int
    max_epochs : int
    patience : int
        Early stopping: epochs without improvement of the ``selection`` score.
    min_delta : float
        Smallest gain of the ``selection`` score that counts as an improvement.
    grad_clip : float
        Max gradient norm (0 disables).
    threshold_mode : {"per_label", "global"}
        How validation maF1 thresholds are chosen while monitoring.
    optimizer : {"adam", "adamw"}
        :class:`torch.optim.Adam` (the paper) or :class:`torch.optim.AdamW`
        (decoupled weight decay, Loshchilov & Hutter 2019).
    lr_schedule : {"constant", "cosine"}
        ``"cosine"``: linear warm-up over ``warmup_epochs``, then cosine decay to
        ``lr / 100`` at ``max_epochs`` (:func:`lr_factor`); set per epoch, so a
        resumed run follows the same schedule.
    warmup_epochs : int
        Linear warm-up epochs of the ``"cosine"`` schedule.
    selection : {"maf1", "loglik"}
        What early stopping and model selection monitor on the validation sites:
        macro-F1 after per-species threshold tuning (the paper), or the mean
        Bernoulli log-likelihood of the occurrences (a proper score, smooth in the
        weights, and not re-using the threshold search).
    ema_decay : float
        Exponential moving average of the weights after every optimiser step
        (0 disables); with it the averaged weights are the ones validated,
        selected and returned.
    """

    lr: float = 7.5e-4
    weight_decay: float = 0.0
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 20
    min_delta: float = 1e-4
    grad_clip: float = 5.0
    threshold_mode: str = "per_label"
    optimizer: str = "adam"
    lr_schedule: str = "constant"
    warmup_epochs: int = 0
    selection: str = "maf1"
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputDataError(f"{name} must be a positive integer, got {v!r}")
        for name in ("patience", "warmup_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputDataError(f"{name} must be an integer >= 0, got {v!r}")
        if not self.lr > 0:
            raise InputDataError(f"lr must be > 0, got {self.lr}")
        for name in ("weight_decay", "grad_clip", "min_delta"):
            if not getattr(self, name) >= 0:
                raise InputDataError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.threshold_mode not in ("per_label", "global"):
            raise InputDataError(f"threshold_mode must be 'per_label' or 'global', got {self.threshold_mode!r}")
        for name, allowed in (("optimizer", OPTIMIZERS), ("lr_schedule", LR_SCHEDULES),
                              ("selection", SELECTION_CRITERIA)):
            if getattr(self, name) not in allowed:
                raise InputDataError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise InputDataError(f"ema_decay must be in [0, 1), got {self.ema_decay}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_factor(config: TrainConfig, epoch: int) -> float:
    """Multiplier of ``config.lr`` during ``epoch`` (0-based).

    ``"constant"``: 1. ``"cosine"``: ``(epoch + 1) / (warmup_epochs + 1)`` during the
    warm-up, then ``0.01 + 0.99 · (1 + cos(π t)) / 2`` with ``t`` going from 0 at the
    end of the warm-up to 1 at the last epoch.
    """
    if config.lr_schedule == "constant":
        return 1.0
    w = config.warmup_epochs
    if epoch < w:
        return (epoch + 1) / (w + 1)
    span = max(config.max_epochs - 1 - w, 1)
    t = min(max((epoch - w) / span, 0.0), 1.0)
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * t))
