"""Checkpoints: what is saved comes back exactly; damaged or foreign checkpoints are refused; resume = uninterrupted."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

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
