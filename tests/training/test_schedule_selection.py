"""The loop's optimiser options: AdamW, the cosine schedule, log-likelihood selection, weight averaging."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from jsdm_hot import InputDataError
from jsdm_hot.training import TrainConfig, train_module
from jsdm_hot.training.batches import ArrayBatches
from jsdm_hot.training.config import lr_factor
from jsdm_hot.training.loop import train_epoch, validation_loglik

from .toy import toy_data, toy_module

CPU = torch.device("cpu")


def _run(config, n=260, seed=0, **kw):
    x, y = toy_data(n=n)
    module = toy_module(x.shape[1], y.shape[1], seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        result = train_module(module, x[:200], y[:200], x[200:], y[200:], config, device=CPU, seed=seed, **kw)
    return module, result, (x, y)


def test_cosine_schedule_values():
    cfg = TrainConfig(lr_schedule="cosine", warmup_epochs=2, max_epochs=12)
    assert [lr_factor(cfg, e) for e in (0, 1)] == [pytest.approx(1 / 3), pytest.approx(2 / 3)]
    assert lr_factor(cfg, 2) == pytest.approx(1.0)  # end of warm-up: the full rate
    assert lr_factor(cfg, 11) == pytest.approx(0.01)  # last epoch: lr / 100
    mid = 2 + (11 - 2) / 2  # half-way through the decay: (1 + cos(pi/2)) / 2 = 0.5
    assert lr_factor(cfg, mid) == pytest.approx(0.01 + 0.99 * 0.5)
    assert lr_factor(TrainConfig(), 7) == 1.0


def test_the_schedule_sets_each_epochs_learning_rate():
    cfg = TrainConfig(lr=0.05, batch_size=32, max_epochs=5, patience=10, lr_schedule="cosine", warmup_epochs=1)
    _, result, _ = _run(cfg)
    assert [h["lr"] for h in result.history] == pytest.approx([0.05 * lr_factor(cfg, e) for e in range(5)])


def test_validation_loglik_against_a_hand_computed_value():
    y = np.array([[1, 0], [0, 1]])
    p = np.array([[0.8, 0.1], [0.5, 0.0]])  # the 0 is clipped to 1e-6
    expected = (math.log(0.8) + math.log(0.9) + math.log(0.5) + math.log(1e-6)) / 4
    assert validation_loglik(y, p) == pytest.approx(expected)


def test_loglik_selection_keeps_the_epoch_of_best_validation_loglik():
    cfg = TrainConfig(lr=0.05, batch_size=32, max_epochs=8, patience=20, min_delta=0.0, selection="loglik")
    module, result, (x, y) = _run(cfg)
    ll = [h["val_loglik"] for h in result.history]
    assert result.best_epoch == int(np.argmax(ll)) and result.best_score == max(ll)
    assert result.best_val_maf1 == result.history[result.best_epoch]["val_maf1"]
    from jsdm_hot.training import predict_proba_module

    assert validation_loglik(y[200:], predict_proba_module(module, x[200:], CPU)) == pytest.approx(max(ll), abs=1e-6)


def test_patience_on_loglik_names_the_score():
    cfg = TrainConfig(lr=0.05, batch_size=32, max_epochs=50, patience=2, min_delta=10.0, selection="loglik")
    _, result, _ = _run(cfg)
    assert len(result.history) == 3 and result.stopped_early.startswith("validation log-likelihood did not improve")


def test_adamw_decouples_weight_decay():
    x, y = toy_data(n=64)
    cfgs = {o: TrainConfig(lr=0.01, weight_decay=0.5, batch_size=64, grad_clip=0.0, optimizer=o)
            for o in ("adam", "adamw")}
    weights = {}
    for name, cfg in cfgs.items():
        from jsdm_hot.training.loop import _optimizer

        m = toy_module()
        opt = _optimizer(m, cfg)
        assert type(opt) is (torch.optim.AdamW if name == "adamw" else torch.optim.Adam)
        w0 = m.lin.weight.detach().clone()
        train_epoch(m, m, opt, ArrayBatches(x, y), 0, cfg, device=CPU)
        weights[name] = (w0, m.lin.weight.detach().clone())
    # one AdamW step: w1 = w0 (1 - lr wd) - lr · adam_step, with |adam_step| = 1 on the first step
    w0, w1 = weights["adamw"]
    step = (w0 * (1 - 0.01 * 0.5) - w1) / 0.01
    np.testing.assert_allclose(step.abs().numpy(), 1.0, rtol=1e-3)
    assert not torch.allclose(weights["adam"][1], w1)


def test_ema_weights_are_the_ones_selected_and_returned():
    cfg = TrainConfig(lr=0.05, batch_size=32, max_epochs=3, patience=20, min_delta=0.0, ema_decay=0.9)
    x, y = toy_data(n=260)
    # replay the same run by hand: same seeds, same batches, an AveragedModel updated every step
    raw = toy_module(seed=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        opt = torch.optim.Adam(raw.parameters(), lr=0.05)
        avg = AveragedModel(raw, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=False)
        states = []
        for epoch in range(3):
            train_epoch(raw, raw, opt, ArrayBatches(x[:200], y[:200]), epoch, cfg, device=CPU, averaged=avg)
            states.append({k: v.clone() for k, v in avg.module.state_dict().items()})
    module, result, _ = _run(cfg)
    for k, v in module.state_dict().items():
        torch.testing.assert_close(v, states[result.best_epoch][k])
    assert not torch.allclose(states[-1]["lin.weight"], raw.lin.weight)  # the average is not the raw weights


@pytest.mark.parametrize("kw,match", [
    ({"optimizer": "sgd"}, "optimizer must be one of adam, adamw"),
    ({"lr_schedule": "step"}, "lr_schedule must be one of constant, cosine"),
    ({"selection": "auc"}, "selection must be one of maf1, loglik"),
    ({"ema_decay": 1.0}, r"ema_decay must be in \[0, 1\)"),
    ({"warmup_epochs": -1}, "warmup_epochs must be an integer >= 0"),
])
def test_invalid_options_name_the_parameter(kw, match):
    with pytest.raises(InputDataError, match=match):
        TrainConfig(**kw)
