import dataclasses

import pytest

from jsdm_hot import InputDataError, TrainConfig
from jsdm_hot.model.config import PAPER_GRID


def test_defaults():
    cfg = TrainConfig()
    assert cfg.lr in PAPER_GRID["lr"] and cfg.max_epochs == 200 and cfg.threshold_mode == "per_label"
    assert TrainConfig(**cfg.to_dict()) == cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0


@pytest.mark.parametrize("kw,match", [
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ({"max_epochs": True}, "max_epochs must be a positive integer, got True"),
    ({"max_epochs": 2.0}, "max_epochs must be a positive integer"),
    ({"patience": -1}, "patience must be an integer >= 0, got -1"),
    ({"lr": 0.0}, "lr must be > 0, got 0.0"),
    ({"lr": float("nan")}, "lr must be > 0"),
    ({"weight_decay": -1e-3}, "weight_decay must be >= 0"),
    ({"grad_clip": -1.0}, "grad_clip must be >= 0"),
    ({"min_delta": -0.1}, "min_delta must be >= 0"),
    ({"threshold_mode": "best"}, "threshold_mode must be 'per_label' or 'global', got 'best'"),
])
def test_invalid_values_name_the_parameter(kw, match):
    with pytest.raises(InputDataError, match=match):
        TrainConfig(**kw)


def test_zero_patience_and_no_clipping_are_allowed():
    cfg = TrainConfig(patience=0, grad_clip=0.0, min_delta=0.0)
    assert cfg.patience == 0 and cfg.grad_clip == 0.0
