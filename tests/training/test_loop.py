"""The one training loop: epoch sums, model selection on validation maF1, early stopping, the module contract."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from jsdm_hot import HotVAE
from jsdm_hot.training import ArrayBatches, TrainConfig, predict_proba_module, train_epoch, train_module
from jsdm_hot.training.loop import TrainResult, loss_terms

from .toy import toy_data, toy_module

CPU = torch.device("cpu")


def _fit(x, y, xv, yv, config, seed=0, **kwargs):
    module = toy_module(x.shape[1], y.shape[1], seed=seed)
    states = []

    def keep(epoch, record):
        states.append({k: v.clone() for k, v in module.state_dict().items()})

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        result = train_module(module, x, y, xv, yv, config, device=CPU, seed=seed, on_epoch_end=keep, **kwargs)
    return module, result, states


def test_train_epoch_returns_summed_terms_and_the_batch_count():
    x, y = toy_data(n=70)
    module = toy_module()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.0)  # no update: every batch sees the same weights
    sums = train_epoch(module, module, optimizer, ArrayBatches(x, y), 3, TrainConfig(batch_size=32, grad_clip=0.0),
                       device=CPU, seed=5)
    assert set(sums) == {"loss", "bce", "l2", "n_batches"}  # the non-scalar entry is not a term
    perm = np.random.default_rng([5, 3]).permutation(70)
    expected = {"loss": 0.0, "bce": 0.0, "l2": 0.0}
    for idx in (perm[:32], perm[32:64], perm[64:]):  # the last batch of 6 rows is kept (>= 2 rows)
        xb, yb = torch.as_tensor(x[idx]), torch.as_tensor(y[idx], dtype=torch.float32)
        with torch.no_grad():
            for k, v in module.loss(module(xb, yb), yb).items():
                if k in expected:
                    expected[k] += float(v)
    assert sums["n_batches"] == 3.0
    for k, v in expected.items():
        assert sums[k] == pytest.approx(v, rel=1e-6), k


def test_loss_terms_accept_mappings_and_dataclasses():
    @dataclasses.dataclass
    class Terms:
        loss: torch.Tensor
        kl: torch.Tensor
        per_site: torch.Tensor
        note: str = "ignored"

    t = Terms(torch.tensor(2.0), torch.tensor(0.5), torch.ones(3))
    assert list(loss_terms(t)) == ["loss", "kl"]
    assert list(loss_terms({"loss": torch.tensor(1.0), "bce": torch.tensor(0.3)})) == ["loss", "bce"]
    with pytest.raises(TypeError, match="without a 'loss' entry"):
        loss_terms({"bce": torch.tensor(0.3)})


def test_best_validation_epoch_is_selected_and_its_weights_restored():
    x, y = toy_data(n=260)
    config = TrainConfig(lr=0.05, batch_size=32, max_epochs=8, patience=20, min_delta=0.0)
    module, result, states = _fit(x[:200], y[:200], x[200:], y[200:], config)
    assert isinstance(result, TrainResult) and not hasattr(result, "thresholds")
    assert [h["epoch"] for h in result.history] == list(range(8)) and result.stopped_early == ""
    assert set(result.history[0]) == {"epoch", "lr", "loss", "bce", "l2", "val_maf1", "val_micro_f1", "val_loglik"}
    scores = [h["val_maf1"] for h in result.history]
    assert result.best_epoch == int(np.argmax(scores)) and result.best_val_maf1 == max(scores)
    for k, v in module.state_dict().items():
        torch.testing.assert_close(v, states[result.best_epoch][k], rtol=0, atol=0)
    np.testing.assert_array_equal(result.val_prob, predict_proba_module(module, x[200:], CPU))
    # the loss went down: the records are means of the epoch's batch terms
    assert result.history[-1]["bce"] < result.history[0]["bce"]
    assert result.history[0]["loss"] == pytest.approx(result.history[0]["bce"] + 0.01 * result.history[0]["l2"],
                                                      rel=1e-6)


def test_patience_stops_training():
    x, y = toy_data(n=260)
    config = TrainConfig(lr=0.05, batch_size=32, max_epochs=50, patience=2, min_delta=0.5)  # nothing improves by 0.5
    _, result, _ = _fit(x[:200], y[:200], x[200:], y[200:], config)
    assert len(result.history) == 3 and result.best_epoch == 0
    assert result.stopped_early == "validation maF1 did not improve for 2 epochs (best " \
        f"{result.history[0]['val_maf1']:.4f} at epoch 0)"


def test_without_validation_every_epoch_runs_and_the_last_weights_stay():
    x, y = toy_data(n=100)
    config = TrainConfig(lr=0.05, batch_size=32, max_epochs=4, patience=1)
    module, result, states = _fit(x, y, None, None, config)
    assert len(result.history) == 4 and result.best_epoch == 3 and result.val_prob is None
    assert "val_maf1" not in result.history[0]
    for k, v in module.state_dict().items():
        torch.testing.assert_close(v, states[-1][k], rtol=0, atol=0)


def test_same_seed_same_run_and_global_rng_untouched():
    x, y = toy_data(n=260)
    config = TrainConfig(lr=0.05, batch_size=32, max_epochs=3)
    state = torch.get_rng_state()
    _, ra, _ = _fit(x[:200], y[:200], x[200:], y[200:], config, seed=1)
    _, rb, _ = _fit(x[:200], y[:200], x[200:], y[200:], config, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert ra.history == rb.history
    _, rc, _ = _fit(x[:200], y[:200], x[200:], y[200:], config, seed=2)
    assert rc.history != ra.history


def test_a_non_finite_loss_stops_training():
    x, y = toy_data(n=100)
    module = toy_module()
    with torch.no_grad():
        module.lin.weight.fill_(float("nan"))
    result = train_module(module, x, y, None, None, TrainConfig(max_epochs=5), device=CPU)
    assert len(result.history) == 1 and result.stopped_early == "loss became nan at epoch 0"


def test_predict_proba_module_batches_and_keeps_the_mode():
    x, _ = toy_data(n=50)
    module = toy_module()
    module.train()
    p = predict_proba_module(module, x, CPU, batch_size=7)
    assert module.training and p.shape == (50, 4) and p.dtype == np.float32
    with torch.no_grad():
        np.testing.assert_allclose(p, torch.sigmoid(module.lin(torch.as_tensor(x))).numpy(), rtol=1e-6)
    np.testing.assert_allclose(p, predict_proba_module(module, x, CPU, batch_size=4096), rtol=0, atol=1e-6)
    assert predict_proba_module(module, x[:0], CPU).shape == (0, 4)


def test_hotvae_stops_early_and_keeps_best_epoch(small_sim, tiny_params):
    m = HotVAE(**{**tiny_params, "max_epochs": 40, "patience": 2, "lr": 5e-2}, random_state=1).fit(small_sim.data)
    assert m.stopped_early_ and len(m.history_) < 40
    scores = [h["val_maf1"] for h in m.history_]
    assert m.best_epoch_ == int(np.argmax(scores))
