"""Training: batch sources, the one training loop, checkpoints, devices, thresholds, DDP.

Knows modules only through their contract (see :mod:`jsdm_hot.training.loop`);
knows nothing of files, estimators or the command line.
"""

from jsdm_hot.training.batches import ArrayBatches, Batch, ParquetBatches
from jsdm_hot.training.config import TrainConfig
from jsdm_hot.training.device import autocast, resolve_device
from jsdm_hot.training.early_stopping import EarlyStopping
from jsdm_hot.training.loop import TrainResult, predict_proba_module, train_epoch, train_module
from jsdm_hot.training.thresholds import THRESHOLD_GRID, apply_thresholds, f1_per_label, select_thresholds

__all__ = [
    "ArrayBatches", "Batch", "EarlyStopping", "ParquetBatches", "THRESHOLD_GRID", "TrainConfig", "TrainResult",
    "apply_thresholds", "autocast", "f1_per_label", "predict_proba_module", "resolve_device", "select_thresholds",
    "train_epoch", "train_module",
]
