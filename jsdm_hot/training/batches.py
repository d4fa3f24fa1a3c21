"""Batch sources of the training loop: in-memory arrays and parquet row groups on disk.

A batch source has ``batches(epoch, seed, batch_size, ctx, device)`` yielding
:class:`Batch` objects (this rank's share of each global batch) and an
``n_sites`` property; :func:`jsdm_hot.training.train_module` accepts any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from jsdm_hot.data.streaming import ParquetCommunity
from jsdm_hot.errors import InputDataError
from jsdm_hot.model.losses import ranked_sites
from jsdm_hot.training.distributed import shard_bounds

__all__ = ["Batch", "ArrayBatches", "ParquetBatches"]


@dataclass
class Batch:
    """One rank's share of one global training batch.

    Attributes
    ----------
    x : Tensor of shape (B, n_features)
    y : Tensor of shape (B, n_species)
    shard : (start, stop, total) or None
        Rows ``start:stop`` of a global batch of ``total`` rows (distributed only).
    global_counts : (n_sites, n_ranked, world_size) or None
        Global batch counts for the loss rescaling of ``HotVAEModule.loss``.
    """

    x: torch.Tensor
    y: torch.Tensor
    shard: tuple[int, int, int] | None = None
    global_counts: tuple[int, int, int] | None = None


class ArrayBatches:
    """In-memory training data served as shuffled mini-batches.

    Epoch ``e`` visits the sites in the order ``default_rng([seed, e]).permutation``,
    cut into global batches of ``batch_size``; under DDP each rank takes a
    contiguous share of every global batch. A last global batch with fewer rows
    than ``max(2, world_size)`` is skipped (a 1-row batch breaks batch statistics
    and a rank must not get an empty share).

    Parameters
    ----------
    x : ndarray of shape (n_sites, n_features), standardised
    y : ndarray of shape (n_sites, n_species), 0/1
    """

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x = np.asarray(x, dtype=np.float32)
        self.y = np.asarray(y, dtype=np.float32)
        self._on: tuple[torch.device, torch.Tensor, torch.Tensor] | None = None

    @property
    def n_sites(self) -> int:
        return self.x.shape[0]

    def _spans(self, batch_size: int, world_size: int) -> list[tuple[int, int]]:
        """``(start, stop)`` positions in the epoch's permutation of the global batches trained on."""
        n = self.n_sites
        bs, floor = min(batch_size, n), max(2, world_size)
        return [(a, min(a + bs, n)) for a in range(0, n, bs) if min(a + bs, n) - a >= floor or n < floor]

    def rows_per_epoch(self, batch_size: int, world_size: int = 1) -> int:
        """Sites an epoch trains on, all ranks together (``n_sites`` minus skipped short batches)."""
        return sum(b - a for a, b in self._spans(batch_size, world_size))

    def batches(self, epoch: int, seed: int, batch_size: int, ctx, device: torch.device):
        """Yield this rank's :class:`Batch` of every global batch of ``epoch``."""
        if self._on is None or self._on[0] != device:
            self._on = (device, torch.as_tensor(self.x, device=device), torch.as_tensor(self.y, device=device))
        _, xt, yt = self._on
        perm = np.random.default_rng([seed, epoch]).permutation(self.n_sites)
        for start, stop in self._spans(batch_size, ctx.world_size):
            idx = perm[start:stop]
            if not ctx.enabled:
                sel = torch.as_tensor(idx, device=device)
                yield Batch(xt[sel], yt[sel])
                continue
            lo, hi = shard_bounds(idx.size, ctx.rank, ctx.world_size)
            sel = torch.as_tensor(idx[lo:hi], device=device)
            counts = (int(idx.size), ranked_sites(self.y[idx]), ctx.world_size)
            yield Batch(xt[sel], yt[sel], (lo, hi, int(idx.size)), counts)



class ParquetBatches:
    """Shuffled mini-batches from units of a :class:`ParquetCommunity` (a batch source for ``train_module``).

    Each epoch permutes the units (``default_rng([seed, epoch])``), deals them to
    the ranks round-robin, and shuffles rows inside a buffer of ``buffer_units``
    consecutive units ("shuffling by shards"). Memory holds at most
    ``buffer_units`` row groups plus one batch. Under DDP every rank runs the same
    number of steps (the minimum over ranks, computed from the row-group sizes in
    the parquet metadata, no communication); the few rows beyond it are skipped
    that epoch. Each rank's batch has ``batch_size // world_size`` rows and its
    loss is its own batch mean: unlike :class:`ArrayBatches` this is ordinary DDP,
    statistically but not bitwise equivalent to single-process training.

    Parameters
    ----------
    data : ParquetCommunity
    units : sequence of int
        The training units.
    x_mean, x_scale : ndarray of shape (n_features,)
        Standardisation applied to every batch.
    buffer_units : int, default=4
        Row groups shuffled together.
    """

    def __init__(self, data: ParquetCommunity, units: Sequence[int], x_mean: np.ndarray, x_scale: np.ndarray,
                 buffer_units: int = 4):
        if buffer_units < 1:
            raise InputDataError(f"buffer_units must be >= 1, got {buffer_units}")
        self.data = data
        self.units = np.asarray(units, dtype=np.int64)
        self.x_mean = np.asarray(x_mean, dtype=np.float64)
        self.x_scale = np.asarray(x_scale, dtype=np.float64)
        self.buffer_units = int(buffer_units)

    @property
    def n_sites(self) -> int:
        return int(self.data.unit_rows[self.units].sum())

    def _plan(self, epoch: int, seed: int, world: int) -> list[np.ndarray]:
        order = self.units[np.random.default_rng([seed, epoch]).permutation(self.units.size)]
        return [order[r::world] for r in range(world)]

    def batches(self, epoch: int, seed: int, batch_size: int, ctx, device) -> Iterator:
        """Yield this rank's batches for ``epoch`` (see the module docstring)."""
        plan = self._plan(epoch, seed, ctx.world_size)
        local_bs = max(2, batch_size // ctx.world_size)
        steps = min(int(self.data.unit_rows[p].sum()) // local_bs for p in plan)
        if steps == 0:
            raise InputDataError(f"{self.data.path}: too few training rows per process for batches of {local_bs}")
        rng = np.random.default_rng([seed, epoch, ctx.rank])
        mine = plan[ctx.rank]
        x_left = np.zeros((0, len(self.x_mean)), dtype=np.float32)
        y_left = np.zeros((0, len(self.data.species)), dtype=np.float32)
        done = 0
        for start in range(0, mine.size, self.buffer_units):
            parts = [self.data.read_unit(int(u)) for u in mine[start:start + self.buffer_units]]
            x = np.concatenate([x_left, *[((d.X - self.x_mean) / self.x_scale).astype(np.float32) for d in parts]])
            y = np.concatenate([y_left, *[d.Y.astype(np.float32) for d in parts]])
            perm = rng.permutation(x.shape[0])
            x, y = x[perm], y[perm]
            n_full = x.shape[0] // local_bs
            for b in range(n_full):
                if done == steps:
                    return
                sl = slice(b * local_bs, (b + 1) * local_bs)
                yield Batch(torch.as_tensor(x[sl], device=device), torch.as_tensor(y[sl], device=device))
                done += 1
            x_left, y_left = x[n_full * local_bs:], y[n_full * local_bs:]
