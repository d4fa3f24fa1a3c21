"""Model directories: torch tensors, dtypes, empty models, JSON conversion of numpy values and paths, recorded
metadata (gaps found by mutation testing)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import jsdm_hot
from jsdm_hot.io import CONFIG_FILE, FORMAT_VERSION, load_model_dir, save_model_dir


def test_torch_tensors_are_stored_with_their_dtype(tmp_path):
    tensors = {
        "param": torch.nn.Parameter(torch.tensor([[1.5, -2.0]])),  # requires grad: detached before numpy
        "index": torch.tensor([3, 1, 2], dtype=torch.int64),
        "half": torch.tensor([0.5, 0.25], dtype=torch.bfloat16),  # numpy has no bfloat16: stored as float32
    }
    arrays, _ = load_model_dir(save_model_dir(tmp_path / "m", tensors, {}, class_name="T"))
    assert arrays["param"].dtype == np.float32
    np.testing.assert_array_equal(arrays["param"], [[1.5, -2.0]])
    assert arrays["index"].dtype == np.int64
    np.testing.assert_array_equal(arrays["index"], [3, 1, 2])
    assert arrays["half"].dtype == np.float32
    np.testing.assert_array_equal(arrays["half"], [0.5, 0.25])


def test_bool_arrays_are_stored_as_uint8(tmp_path):
    arrays, _ = load_model_dir(save_model_dir(tmp_path / "m", {"mask": np.array([True, False])}, {}, class_name="T"))
    assert arrays["mask"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["mask"], [1, 0])


def test_a_model_without_arrays_round_trips(tmp_path):
    arrays, config = load_model_dir(save_model_dir(tmp_path / "m", {}, {"k": 1}, class_name="T"))
    assert arrays == {} and config == {"k": 1}


def test_config_numpy_values_and_paths_become_json(tmp_path):
    config = {"alpha": np.float32(0.5), "n": np.int64(3), "w": np.arange(3), "data": Path("data") / "x.csv"}
    _, back = load_model_dir(save_model_dir(tmp_path / "m", {}, config, class_name="T"))
    assert back == {"alpha": 0.5, "n": 3, "w": [0, 1, 2], "data": str(Path("data") / "x.csv")}
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        save_model_dir(tmp_path / "other", {}, {"bad": object()}, class_name="T")
    assert not (tmp_path / "other").exists()


def test_config_file_records_versions_class_and_shapes(tmp_path):
    path = save_model_dir(tmp_path / "m", {"w": np.zeros((2, 3), np.float32)}, {"a": 1}, class_name="Thing")
    meta = json.loads((path / CONFIG_FILE).read_text())
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["jsdm_hot_version"] == jsdm_hot.__version__
    assert meta["class_name"] == "Thing"
    assert meta["tensors"] == {"w": [2, 3]}
    assert meta["config"] == {"a": 1}
    assert len(meta["weights_sha256"]) == 64
