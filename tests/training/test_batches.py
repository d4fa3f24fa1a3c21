import numpy as np
import torch

from jsdm_hot.training import ArrayBatches
from jsdm_hot.training.distributed import DistContext


def test_array_batches_skip_short_last_batch_and_count_rows():
    """A last global batch smaller than max(2, world_size) is skipped; rows_per_epoch says how many rows train."""
    for n, bs, world, expected in ((101, 50, 1, 100), (102, 50, 1, 102), (52, 50, 3, 50), (53, 50, 3, 53)):
        src = ArrayBatches(np.arange(n, dtype=float)[:, None], np.zeros((n, 1)))
        ctxs = [DistContext(rank=r, world_size=world) for r in range(world)] if world > 1 else [DistContext()]
        rows = np.concatenate([b.x.numpy().ravel() for c in ctxs for b in src.batches(0, 0, bs, c, torch.device("cpu"))])
        assert src.rows_per_epoch(bs, world) == rows.size == expected
        assert np.unique(rows).size == rows.size  # no site twice in an epoch


def test_epoch_order_is_the_seeded_permutation():
    n = 10
    src = ArrayBatches(np.arange(n, dtype=float)[:, None], np.arange(n, dtype=float)[:, None] % 2)
    batches = list(src.batches(4, 9, 4, DistContext(), torch.device("cpu")))
    order = np.concatenate([b.x.numpy().ravel() for b in batches]).astype(int)
    np.testing.assert_array_equal(order, np.random.default_rng([9, 4]).permutation(n))
    assert [b.x.shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b.y.numpy().ravel() for b in batches]), order % 2)
    assert all(b.shard is None and b.global_counts is None for b in batches)
