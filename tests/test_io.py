import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import jsdm_hot
from jsdm_hot import InputDataError, ModelFileError
from jsdm_hot.io import (
    CONFIG_FILE,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    atomic_target,
    atomic_write_text,
    load_model_dir,
    save_model_dir,
)


def _save(tmp_path, **kw):
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "mask": np.eye(2, dtype=bool)}
    return save_model_dir(tmp_path / "m", arrays, {"alpha": 1.5, "names": ["a", "b"]}, class_name="Thing", **kw)


def test_roundtrip(tmp_path):
    path = _save(tmp_path)
    arrays, cfg = load_model_dir(path, expected_class="Thing")
    np.testing.assert_array_equal(arrays["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(arrays["mask"], np.eye(2))
    assert cfg == {"alpha": 1.5, "names": ["a", "b"]}
    assert sorted(p.name for p in path.iterdir()) == sorted([CONFIG_FILE, WEIGHTS_FILE])


def test_refuses_to_overwrite_unless_asked(tmp_path):
    _save(tmp_path)
    with pytest.raises(ModelFileError, match="already exists"):
        _save(tmp_path)
    _save(tmp_path, overwrite=True)
    assert not list(tmp_path.glob(".m*"))  # no temporary folders left behind


def test_refuses_pickle_and_unexpected_files(tmp_path):
    path = _save(tmp_path)
    (path / "evil.pkl").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(ModelFileError, match="unexpected files"):
        load_model_dir(path)


def test_tampered_weights_and_config(tmp_path):
    path = _save(tmp_path)
    blob = bytearray((path / WEIGHTS_FILE).read_bytes())
    blob[-1] ^= 0xFF
    (path / WEIGHTS_FILE).write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="hash"):
        load_model_dir(path)


def test_foreign_version_class_and_garbage(tmp_path):
    path = _save(tmp_path)
    with pytest.raises(ModelFileError, match="holds a Thing model"):
        load_model_dir(path, expected_class="HotVAE")
    meta = json.loads((path / CONFIG_FILE).read_text())
    meta["format_version"] = 99
    (path / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="format 99"):
        load_model_dir(path)
    (path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model_dir(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model_dir(tmp_path / "nowhere")


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")

    class Boom(str):
        def encode(self, *a, **k):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write_text(target, Boom("new"))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_model_dir_and_atomic_files_follow_the_umask(tmp_path, mask):
    """mkdtemp / mkstemp make 0700 / 0600 entries; what is renamed into place has the umask's permissions."""
    import stat

    old = os.umask(mask)
    try:
        d = save_model_dir(tmp_path / "m", {"w": np.zeros(2, np.float32)}, {}, class_name="Thing")
        atomic_write_text(tmp_path / "note.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~mask
    for f in (d / "weights.safetensors", d / "config.json", tmp_path / "note.txt"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask, f


def test_atomic_target_replaces_on_success_only_and_honours_the_umask(tmp_path):
    import os

    target = tmp_path / "sub" / "t.csv"  # the folder is created
    with atomic_target(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("one")
        assert not target.exists()  # nothing under the final name until the block succeeds
    assert target.read_text() == "one"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600
    with pytest.raises(RuntimeError, match="half way"):
        with atomic_target(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("half way")
    assert target.read_text() == "one" and [p.name for p in target.parent.iterdir()] == ["t.csv"]
    with pytest.raises(InputDataError, match="already exists; pass overwrite=True"):
        with atomic_target(target, overwrite=False):
            pass


# --------------------------------------------------------------------------- gaps found by mutation testing
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
    with pytest.raises(InputDataError, match=r"other: the model's settings cannot be saved as JSON \(not JSON serialisable: object\)"):
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


def test_load_restores_a_model_left_aside_by_an_interrupted_save(tmp_path, caplog):
    path = _save(tmp_path)
    aside = tmp_path / ".m.old"
    os.replace(path, aside)  # a save killed between its two renames leaves only the previous model aside
    with caplog.at_level("WARNING", logger="jsdm_hot.io"):
        arrays, cfg = load_model_dir(path)
    assert path.is_dir() and not aside.exists()
    assert cfg == {"alpha": 1.5, "names": ["a", "b"]}
    np.testing.assert_array_equal(arrays["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    [rec] = [r for r in caplog.records if r.name == "jsdm_hot.io"]
    assert rec.getMessage() == (f"model directory {path} is missing but its previous version {aside} is intact "
                                "(an interrupted save); restoring it")


def test_missing_weights_and_foreign_configs_are_refused(tmp_path):
    path = _save(tmp_path)
    (path / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelFileError, match=r"is missing \['weights.safetensors'\]"):
        load_model_dir(path)
    path = _save(tmp_path, overwrite=True)
    meta = json.loads((path / CONFIG_FILE).read_text())
    for drop in ("class_name", "format_version"):
        broken = {k: v for k, v in meta.items() if k != drop}
        (path / CONFIG_FILE).write_text(json.dumps(broken))
        with pytest.raises(ModelFileError, match=r"config.json is not a jsdm-hot model config \(no format_version"):
            load_model_dir(path)
    (path / CONFIG_FILE).write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="is not a jsdm-hot model config"):
        load_model_dir(path)


def test_format_error_names_the_saving_version(tmp_path):
    path = _save(tmp_path)
    meta = json.loads((path / CONFIG_FILE).read_text())
    meta.update(format_version=99, jsdm_hot_version="0.0.1")
    (path / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"saved with model format 99 \(jsdm-hot 0\.0\.1\); this jsdm-hot reads format 1$"):
        load_model_dir(path)
    del meta["jsdm_hot_version"]
    (path / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"format 99 \(jsdm-hot \?\)"):
        load_model_dir(path)


def _rewrite_weights(path, blob: bytes, **meta_changes):
    """Replace the weights with ``blob`` and record its hash (a consistent but wrong directory)."""
    import hashlib

    (path / WEIGHTS_FILE).write_bytes(blob)
    meta = json.loads((path / CONFIG_FILE).read_text())
    meta.update(weights_sha256=hashlib.sha256(blob).hexdigest(), **meta_changes)
    (path / CONFIG_FILE).write_text(json.dumps(meta))


def test_unreadable_or_mismatched_weights_with_a_matching_hash(tmp_path):
    from safetensors.numpy import save as st_save

    path = _save(tmp_path)
    _rewrite_weights(path, b"not safetensors at all")
    with pytest.raises(ModelFileError, match="weights.safetensors is not a valid safetensors file"):
        load_model_dir(path)
    _rewrite_weights(path, st_save({"w": np.zeros((3, 2), np.float32)}))
    with pytest.raises(ModelFileError, match=r"tensors \{'w': \[3, 2\]\} differ from those recorded in config.json"):
        load_model_dir(path)


def test_arrays_of_other_dtypes_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="cannot store array of dtype <U1 in safetensors"):
        save_model_dir(tmp_path / "m", {"names": np.array(["a", "b"])}, {}, class_name="T")


def test_save_creates_missing_parent_folders(tmp_path):
    path = save_model_dir(tmp_path / "a" / "b" / "m", {"w": np.ones(2)}, {}, class_name="T")
    assert load_model_dir(path)[0]["w"].tolist() == [1.0, 1.0]


def test_model_is_assembled_in_a_hidden_sibling_folder(tmp_path, monkeypatch):
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((Path(src), Path(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    path = _save(tmp_path)
    src, dst = renames[-1]
    assert dst == path
    assert src.parent == path.parent and src.name.startswith(".m.")  # same filesystem: the rename is atomic


def test_failed_final_rename_puts_the_old_model_back_at_once(tmp_path, monkeypatch):
    path = _save(tmp_path)
    real_replace = os.replace

    def fail_moving_the_new_model_in(src, dst):
        if Path(dst) == path and Path(src).name != ".m.old":
            raise OSError("injected")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_moving_the_new_model_in)
    with pytest.raises(OSError, match="injected"):
        save_model_dir(path, {"w": np.zeros(1)}, {}, class_name="Thing", overwrite=True)
    assert path.is_dir() and not (tmp_path / ".m.old").exists()  # restored by the save itself, not by a later load
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    monkeypatch.setattr(os, "replace", real_replace)
    assert load_model_dir(path)[1] == {"alpha": 1.5, "names": ["a", "b"]}
