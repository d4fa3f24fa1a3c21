import dataclasses

import pytest

from jsdm_hot import PAPER_GRID, InputDataError, ModelConfig


def test_defaults_lie_in_the_paper_grid():
    cfg = ModelConfig()
    for name, grid in PAPER_GRID.items():
        if name in ModelConfig.field_names():
            assert getattr(cfg, name) in grid, name
    assert cfg.lambda0 == 1.0
    # every grid entry is a network setting except the optimiser's learning rate
    assert set(PAPER_GRID) - set(ModelConfig.field_names()) == {"lr"}


@pytest.mark.parametrize("kw,match", [
    ({"d_model": 30, "n_heads": 4}, "d_model=30 must be divisible by n_heads=4"),
    ({"dropout": 1.0}, "dropout must be in"),
    ({"beta": -1.0}, "beta must be >= 0"),
    ({"lambda2": float("nan")}, "lambda2 must be >= 0"),
    ({"n_layers": 0}, "n_layers must be a positive integer"),
    ({"d_model": True}, "d_model must be a positive integer, got True"),
    ({"latent_dim": 8.0}, "latent_dim must be a positive integer"),
])
def test_invalid_values_name_the_parameter(kw, match):
    with pytest.raises(InputDataError, match=match):
        ModelConfig(**kw)


def test_frozen_dict_roundtrip_and_field_names():
    cfg = ModelConfig(d_model=100, lambda2=100.0)
    assert ModelConfig(**cfg.to_dict()) == cfg
    assert ModelConfig.field_names() == tuple(cfg.to_dict())
    assert "lr" not in ModelConfig.field_names() and "max_epochs" not in ModelConfig.field_names()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.d_model = 200
    with pytest.raises(TypeError):
        ModelConfig(learning_rate=1e-3)
