import numpy as np
import pytest
import torch

from jsdm_hot import HotVAE
from jsdm_hot.train import EarlyStopping, resolve_device


def test_early_stopping_counts_patience():
    es = EarlyStopping(patience=2, min_delta=0.01)
    assert es.update(0.5, 0) == (True, False, "")
    assert es.update(0.505, 1)[:2] == (False, False)  # below min_delta: no improvement
    improved, stop, reason = es.update(0.4, 2)
    assert not improved and stop and "did not improve for 2 epochs" in reason
    clone = EarlyStopping()
    clone.load_state_dict(es.state_dict())
    assert clone.best_score == 0.5 and clone.best_epoch == 0 and clone.wait == 2


def test_training_stops_early_and_keeps_best_epoch(small_sim, tiny_config):
    from dataclasses import replace

    cfg = replace(tiny_config, max_epochs=40, patience=2, lr=5e-2)
    m = HotVAE(cfg, random_state=1).fit(small_sim.data)
    assert m.stopped_early_ and len(m.history_) < 40
    scores = [h["val_maf1"] for h in m.history_]
    assert m.best_epoch_ == int(np.argmax(scores))


def test_resume_from_checkpoint_matches_uninterrupted_run(small_sim, tiny_config, tmp_path):
    from dataclasses import replace

    data = small_sim.data
    full = HotVAE(replace(tiny_config, max_epochs=4), random_state=5).fit(data)
    ckpt = tmp_path / "ckpt"
    HotVAE(replace(tiny_config, max_epochs=2), random_state=5, checkpoint_dir=ckpt).fit(data)
    assert (ckpt / "checkpoint.json").exists()
    resumed = HotVAE(replace(tiny_config, max_epochs=4), random_state=5, checkpoint_dir=ckpt).fit(data, resume=True)
    assert [h["epoch"] for h in resumed.history_] == [0, 1, 2, 3]
    assert resumed.history_ == full.history_
    np.testing.assert_array_equal(resumed.predict_proba(data), full.predict_proba(data))


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    from jsdm_hot import InputDataError

    with pytest.raises(InputDataError):
        resolve_device("tpu")


def test_array_batches_skip_short_last_batch_and_count_rows():
    """A last global batch smaller than max(2, world_size) is skipped; rows_per_epoch says how many rows train."""
    from jsdm_hot.distributed import DistContext
    from jsdm_hot.train import ArrayBatches

    for n, bs, world, expected in ((101, 50, 1, 100), (102, 50, 1, 102), (52, 50, 3, 50), (53, 50, 3, 53)):
        src = ArrayBatches(np.arange(n, dtype=float)[:, None], np.zeros((n, 1)))
        ctxs = [DistContext(rank=r, world_size=world) for r in range(world)] if world > 1 else [DistContext()]
        rows = np.concatenate([b.x.numpy().ravel() for c in ctxs for b in src.batches(0, 0, bs, c, torch.device("cpu"))])
        assert src.rows_per_epoch(bs, world) == rows.size == expected
        assert np.unique(rows).size == rows.size  # no site twice in an epoch
