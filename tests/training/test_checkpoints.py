"""Checkpoints: what is saved comes back exactly; damaged or foreign checkpoints are refused; resume = uninterrupted."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from jsdm_hot import HotVAE, ModelFileError
from jsdm_hot.training import EarlyStopping, TrainConfig, train_epoch
from jsdm_hot.training.batches import ArrayBatches
from jsdm_hot.training.checkpoints import CHECKPOINT_STATE, CHECKPOINT_WEIGHTS, load_checkpoint, save_checkpoint

from .toy import toy_data, toy_module

CPU = torch.device("cpu")


def _trained_one_epoch():
    x, y = toy_data(n=64)
    module = toy_module()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    train_epoch(module, module, optimizer, ArrayBatches(x, y), 0, TrainConfig(batch_size=16), device=CPU)
    stopper = EarlyStopping(patience=3)
    stopper.update(0.4, 0)
    return module, optimizer, stopper


def test_round_trip_restores_weights_optimizer_stopper_and_rng(tmp_path):
    module, optimizer, stopper = _trained_one_epoch()
    best = {k: v.clone() + 1 for k, v in module.state_dict().items()}
    history = [{"epoch": 0, "loss": 0.7, "val_maf1": 0.4}]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(11)
        save_checkpoint(tmp_path, module, optimizer, stopper, 0, history, best, seed=3)
        expected_next = torch.rand(3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_STATE, CHECKPOINT_WEIGHTS]
    assert json.loads((tmp_path / CHECKPOINT_STATE).read_text())["seed"] == 3

    fresh = toy_module(seed=99)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.5)
    fresh_stop = EarlyStopping()
    with torch.random.fork_rng(devices=[]):
        epoch, hist, best_back = load_checkpoint(tmp_path, fresh, fresh_opt, fresh_stop)
        assert torch.equal(torch.rand(3), expected_next)  # the torch RNG continues where it was
    assert epoch == 0 and hist == history
    for k, v in module.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v)
        assert torch.equal(best_back[k], best[k])
    assert fresh_opt.param_groups[0]["lr"] == 0.01
    for p_old, p_new in zip(module.parameters(), fresh.parameters()):
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(torch.as_tensor(optimizer.state[p_old][name]).reshape(-1),
                               torch.as_tensor(fresh_opt.state[p_new][name]).reshape(-1))
    assert fresh_stop.state_dict() == stopper.state_dict()


def test_checkpoint_without_best_weights(tmp_path):
    module, optimizer, stopper = _trained_one_epoch()
    save_checkpoint(tmp_path, module, optimizer, stopper, 0, [], None, seed=0)
    assert load_checkpoint(tmp_path, toy_module(), torch.optim.Adam(toy_module().parameters()), EarlyStopping())[2] is None


def test_damaged_or_foreign_checkpoints_are_refused(tmp_path):
    module, optimizer, stopper = _trained_one_epoch()
    save_checkpoint(tmp_path, module, optimizer, stopper, 0, [], None, seed=0)
    other = toy_module(p=5)  # another architecture
    with pytest.raises(ModelFileError, match="cannot be resumed"):
        load_checkpoint(tmp_path, other, torch.optim.Adam(other.parameters()), EarlyStopping())
    # the readable JSON copy is never read back: a stale one (a kill between the two writes) changes nothing
    state = json.loads((tmp_path / CHECKPOINT_STATE).read_text())
    state["epoch"] = 1
    (tmp_path / CHECKPOINT_STATE).write_text(json.dumps(state))
    fresh = toy_module()
    assert load_checkpoint(tmp_path, fresh, torch.optim.Adam(fresh.parameters()), EarlyStopping())[0] == 0
    (tmp_path / CHECKPOINT_WEIGHTS).write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match="delete it or fit without resume"):
        load_checkpoint(tmp_path, toy_module(), torch.optim.Adam(toy_module().parameters()), EarlyStopping())


def test_resume_from_checkpoint_matches_uninterrupted_run(small_sim, tiny_params, tmp_path):
    data = small_sim.data
    full = HotVAE(**{**tiny_params, "max_epochs": 4}, random_state=5).fit(data)
    ckpt = tmp_path / "ckpt"
    HotVAE(**{**tiny_params, "max_epochs": 2}, random_state=5, checkpoint_dir=ckpt).fit(data)
    assert (ckpt / CHECKPOINT_STATE).exists()
    resumed = HotVAE(**{**tiny_params, "max_epochs": 4}, random_state=5, checkpoint_dir=ckpt).fit(data, resume=True)
    assert [h["epoch"] for h in resumed.history_] == [0, 1, 2, 3]
    assert resumed.history_ == full.history_
    np.testing.assert_array_equal(resumed.predict_proba(data), full.predict_proba(data))


# --------------------------------------------------------------------------- gaps found by mutation testing
def _trained(averaged: bool = False):
    x, y = toy_data(n=64)
    module = toy_module()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    avg = AveragedModel(module, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=False) if averaged else None
    train_epoch(module, module, optimizer, ArrayBatches(x, y), 0, TrainConfig(batch_size=16), device=CPU,
                averaged=avg)
    stopper = EarlyStopping(patience=3)
    stopper.update(0.4, 0)
    return module, optimizer, stopper, avg


def _fresh():
    m = toy_module(seed=5)
    return m, torch.optim.Adam(m.parameters(), lr=0.5), EarlyStopping()


def test_averaged_weights_round_trip(tmp_path):
    module, optimizer, stopper, avg = _trained(averaged=True)
    save_checkpoint(tmp_path, module, optimizer, stopper, 0, [], None, seed=0, averaged=avg)
    m, opt, stop = _fresh()
    avg_back = AveragedModel(m, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=False)
    load_checkpoint(tmp_path, m, opt, stop, averaged=avg_back)
    want = avg.state_dict()
    assert set(avg_back.state_dict()) == set(want)
    for k, v in want.items():
        assert torch.equal(avg_back.state_dict()[k], v), k
    assert int(avg_back.n_averaged) == int(avg.n_averaged) > 0


def test_averaged_weights_required_when_asked_for(tmp_path):
    module, optimizer, stopper, _ = _trained()
    save_checkpoint(tmp_path, module, optimizer, stopper, 0, [], None, seed=0)
    m, opt, stop = _fresh()
    with pytest.raises(ModelFileError, match="written without ema_decay"):
        load_checkpoint(tmp_path, m, opt, stop, averaged=AveragedModel(m, use_buffers=False))


def test_optimizer_step_comes_back_as_a_scalar(tmp_path):
    module, optimizer, stopper, _ = _trained()
    save_checkpoint(tmp_path, module, optimizer, stopper, 0, [], None, seed=0)
    m, opt, stop = _fresh()
    load_checkpoint(tmp_path, m, opt, stop)
    for p_old, p_new in zip(module.parameters(), m.parameters()):
        old, new = optimizer.state[p_old], opt.state[p_new]
        assert torch.as_tensor(new["step"]).shape == torch.as_tensor(old["step"]).shape == ()
        assert float(new["step"]) == float(old["step"]) == 4.0  # 64 sites / batches of 16
        assert torch.equal(new["exp_avg"], old["exp_avg"])


def test_a_flipped_weight_byte_is_refused(tmp_path):
    module, optimizer, stopper, _ = _trained()
    save_checkpoint(tmp_path, module, optimizer, stopper, 0, [], None, seed=0)
    blob = bytearray((tmp_path / CHECKPOINT_WEIGHTS).read_bytes())
    blob[-1] ^= 0x01  # still a valid safetensors file, one tensor byte differs
    (tmp_path / CHECKPOINT_WEIGHTS).write_bytes(bytes(blob))
    m, opt, stop = _fresh()
    with pytest.raises(ModelFileError, match="do not match the checksum stored with them"):
        load_checkpoint(tmp_path, m, opt, stop)


def test_weights_and_state_from_different_epochs_are_refused(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save as st_save

    module, optimizer, stopper, _ = _trained()
    save_checkpoint(tmp_path, module, optimizer, stopper, 0, [], None, seed=0)
    path = tmp_path / CHECKPOINT_WEIGHTS
    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    state = json.loads(meta["state"])
    state["epoch"] = 7  # the digest covers the tensors only, so this file passes the checksum
    meta["state"] = json.dumps(state)
    path.write_bytes(st_save(tensors, metadata=meta))
    m, opt, stop = _fresh()
    with pytest.raises(ModelFileError, match="weights and state are from different epochs"):
        load_checkpoint(tmp_path, m, opt, stop)


def test_nested_folder_and_numpy_numbers_in_history(tmp_path):
    module, optimizer, stopper, _ = _trained()
    history = [{"epoch": 0, "loss": np.float32(0.25), "val_maf1": np.float64(0.5)}]
    target = tmp_path / "run" / "checkpoints"  # parents created
    save_checkpoint(target, module, optimizer, stopper, 0, history, None, seed=0)
    assert json.loads((target / CHECKPOINT_STATE).read_text())["history"] == [{"epoch": 0, "loss": 0.25, "val_maf1": 0.5}]
    m, opt, stop = _fresh()
    assert load_checkpoint(target, m, opt, stop)[1] == [{"epoch": 0, "loss": 0.25, "val_maf1": 0.5}]
