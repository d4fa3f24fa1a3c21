import pytest

from jsdm_hot import PAPER_GRID, HotVAEConfig, InputDataError


def test_defaults_lie_in_the_paper_grid():
    cfg = HotVAEConfig().validate()
    for name, grid in PAPER_GRID.items():
        assert getattr(cfg, name) in grid, name
    assert cfg.lambda0 == 1.0 and cfg.max_epochs <= 200


@pytest.mark.parametrize("kw,match", [
    ({"d_model": 30, "n_heads": 4}, "divisible"),
    ({"dropout": 1.0}, "dropout"),
    ({"lr": 0.0}, "lr"),
    ({"beta": -1.0}, "beta"),
    ({"n_layers": 0}, "n_layers"),
    ({"threshold_mode": "best"}, "threshold_mode"),
])
def test_invalid_values_name_the_parameter(kw, match):
    with pytest.raises(InputDataError, match=match):
        HotVAEConfig(**kw).validate()


def test_dict_roundtrip_and_unknown_keys():
    cfg = HotVAEConfig(d_model=100, lambda2=100.0)
    assert HotVAEConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(InputDataError, match="unknown hyper-parameters"):
        HotVAEConfig.from_dict({"learning_rate": 1e-3})
