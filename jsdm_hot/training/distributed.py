"""torch.distributed plumbing for data-parallel training (DDP), launched by ``torchrun``.

jsdm-hot does not run its own cluster engine: ``torchrun`` (or Slurm + ``torchrun``)
starts one process per GPU (or per CPU worker with the gloo backend) and sets
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
:func:`init_from_env` joins that process group. :func:`jsdm_hot.training.train_module`
then reads :func:`context` and

* splits every global batch of ``batch_size`` sites into contiguous per-rank
  shards (so the global batch — and the learning dynamics — do not depend on
  the number of processes),
* rescales the loss terms so DDP's gradient averaging reproduces the
  single-process gradient of the global batch (see ``HotVAEModule.loss``),
* gathers validation probabilities from all ranks before thresholds and early
  stopping, so every rank takes the same decisions,
* writes checkpoints, progress bars and logs on rank 0 only.

Why not ``torch.utils.data.DistributedSampler``: it deals each rank its own
mini-batches of ``batch_size`` (the global batch grows with the number of
processes, and the last batch is padded with repeated sites), so a run on N
processes optimises a different objective from a single-process run. Slicing the
single-process global batch keeps runs comparable and testable for equality.
The parquet stream (:mod:`jsdm_hot.data.streaming`) shards by row groups instead.

See ``docs/scaling.md`` for launch recipes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["DistContext", "context", "init_from_env", "shutdown", "shard_bounds", "gather_rows", "launched_by_torchrun"]


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in the process group.

    Attributes
    ----------
    rank : int
    world_size : int
    local_rank : int
        Index of this process on its node (its GPU when training on CUDA).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs, checkpoints and writes outputs."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when the environment names a process group of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def context() -> DistContext:
    """The current process group (a single-process context when none is initialised)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return DistContext()
    return DistContext(
        rank=torch.distributed.get_rank(),
        world_size=torch.distributed.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", torch.distributed.get_rank())),
    )


def init_from_env(device: str = "auto") -> DistContext:
    """Join the process group described by torchrun's environment variables.

    Backend: NCCL when this process will train on CUDA, gloo otherwise (CPU). On
    CUDA each process binds to GPU ``LOCAL_RANK``. A no-op returning a
    single-process context when ``WORLD_SIZE`` is unset or 1, or when the group is
    already initialised.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        The device the estimator will use.
    """
    if not launched_by_torchrun():
        return DistContext()
    if not torch.distributed.is_initialized():
        use_cuda = device != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    return context()


def shutdown() -> None:
    """Leave the process group (no-op when none is initialised).

    All ranks meet at a barrier first: a rank tearing its connections down while
    a peer is still inside a collective makes gloo abort the peer.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """Contiguous share ``[start, stop)`` of ``n`` rows for ``rank``.

    The first ``n % world_size`` ranks get one row more, so shares differ by at
    most one row and cover ``0..n`` in rank order.
    """
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def gather_rows(local: np.ndarray, ctx: DistContext) -> np.ndarray:
    """Concatenate every rank's rows in rank order (all ranks get the result).

    Parameters
    ----------
    local : ndarray of shape (n_local, ...)
        This rank's rows; ``n_local`` may differ between ranks by any amount.

    Returns
    -------
    ndarray of shape (sum of n_local, ...)
    """
    if not ctx.enabled:
        return local
    device = torch.device("cuda", torch.cuda.current_device()) if torch.distributed.get_backend() == "nccl" else torch.device("cpu")
    t = torch.as_tensor(np.ascontiguousarray(local), device=device)
    n = torch.tensor([t.shape[0]], device=device)
    sizes = [torch.zeros_like(n) for _ in range(ctx.world_size)]
    torch.distributed.all_gather(sizes, n)
    sizes_i = [int(s) for s in sizes]
    width = max(sizes_i)
    padded = torch.zeros((width, *t.shape[1:]), dtype=t.dtype, device=device)
    padded[: t.shape[0]] = t
    parts = [torch.zeros_like(padded) for _ in range(ctx.world_size)]
    torch.distributed.all_gather(parts, padded)
    return np.concatenate([p[:k].cpu().numpy() for p, k in zip(parts, sizes_i)], axis=0)
