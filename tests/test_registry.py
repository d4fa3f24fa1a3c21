"""The model registry: names, parameters, and loading a saved model of any class."""

import pytest

from jsdm_hot import HotVAE
from jsdm_hot.baselines import BASELINES, MLkNN
from jsdm_hot.errors import InputDataError, ModelFileError
from jsdm_hot.registry import (
    MODEL_NAMES,
    MODELS,
    check_model_names,
    estimator_class,
    load_model,
    make_model,
    model_param_names,
)


def test_names_are_hotvae_then_the_baselines():
    assert MODEL_NAMES == tuple(MODELS) and MODEL_NAMES[0] == "hotvae" and MODELS["hotvae"] is HotVAE
    assert {k: MODELS[k] for k in BASELINES} == BASELINES


def test_check_model_names_keeps_order_and_drops_duplicates():
    assert check_model_names(["mlknn", "hotvae", "mlknn"]) == ["mlknn", "hotvae"]
    with pytest.raises(InputDataError, match="unknown model 'hotvea'; valid model names are: hotvae, "):
        check_model_names(["hotvae", "hotvea"])
    with pytest.raises(InputDataError, match="no model given"):
        check_model_names([])


def test_make_model_and_param_names():
    assert "random_state" not in model_param_names("mlknn") and "k" in model_param_names("mlknn")
    assert model_param_names("mlknn") == tuple(sorted(model_param_names("mlknn")))
    m = make_model("mlknn", {"k": 3}, seed=9)
    assert isinstance(m, MLkNN) and m.k == 3 and m.random_state == 9
    with pytest.raises(InputDataError, match=r"unknown parameter\(s\) \['kk'\] for model 'mlknn'; valid: .*k"):
        make_model("mlknn", {"kk": 3})


def test_estimator_class_and_load_errors(tmp_path):
    assert estimator_class("MLkNN") is MLkNN
    with pytest.raises(ModelFileError, match="model class 'Pickle' is not a jsdm-hot estimator"):
        estimator_class("Pickle")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="is missing"):
        load_model(tmp_path / "empty")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nowhere")
