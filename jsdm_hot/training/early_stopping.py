"""Early stopping on a validation score (higher is better), with resumable state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["EarlyStopping"]


@dataclass
class EarlyStopping:
    """Stop when the monitored score (higher is better) stalls for ``patience`` epochs.

    Attributes
    ----------
    patience : int
    min_delta : float
    best_score : float
    best_epoch : int
    wait : int
        Epochs since the last improvement.
    metric : str
        Name of the monitored score, for the stopping message.
    """

    patience: int = 20
    min_delta: float = 1e-4
    best_score: float = -math.inf
    best_epoch: int = -1
    wait: int = 0
    metric: str = "validation maF1"

    def update(self, score: float, epoch: int) -> tuple[bool, bool, str]:
        """Record ``score`` for ``epoch``.

        Returns
        -------
        improved : bool
        should_stop : bool
        reason : str
        """
        if score > self.best_score + self.min_delta or self.best_epoch < 0:
            self.best_score, self.best_epoch, self.wait = float(score), int(epoch), 0
            return True, False, ""
        self.wait += 1
        if self.wait >= self.patience:
            return False, True, (f"{self.metric} did not improve for {self.patience} epochs "
                                 f"(best {self.best_score:.4f} at epoch {self.best_epoch})")
        return False, False, ""

    def state_dict(self) -> dict[str, Any]:
        return {"patience": self.patience, "min_delta": self.min_delta, "best_score": self.best_score,
                "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        for k, v in d.items():
            setattr(self, k, v)
