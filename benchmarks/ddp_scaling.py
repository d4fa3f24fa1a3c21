"""Benchmark: data-parallel training throughput, 1 vs N processes launched by torchrun.

A synthetic community (``--sites`` × ``--species``, ``--features`` covariates,
seed 0) is trained for ``--epochs`` epochs with the same global batch
(``--batch``) by 1, 2, ... processes (``--procs 1,2``). On CPU each process uses
one thread and the gloo backend; with ``--device cuda`` one GPU per process and
NCCL. Each run is a fresh ``python -m torch.distributed.run --standalone``; rank 0
times every epoch (training + gathered validation) with ``time.perf_counter``
after a barrier, and the table reports the median epoch time over the epochs
after the first, sites/s, and the speed-up against the 1-process run of the same
invocation.

On the 2-core sandbox both processes share the two cores with everything else
running there, so the CPU numbers show the overhead of the distributed path
(gloo all-reduce of the gradients every step) rather than a cluster's scaling.

Usage::

    python benchmarks/ddp_scaling.py                       # CPU, 1 vs 2 processes
    python benchmarks/ddp_scaling.py --device cuda --procs 1,2,4,8 --sites 200000 --d-model 512
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def worker(args: argparse.Namespace) -> None:
    """One torchrun process: train and (rank 0) write epoch times to ``args.result``."""
    import numpy as np
    import torch

    from jsdm_hot.model import HotVAEModule, ModelConfig
    from jsdm_hot.training import TrainConfig, distributed, resolve_device, train_module

    torch.set_num_threads(1)
    ctx = distributed.init_from_env(args.device)
    device = resolve_device(args.device)
    if device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.sites, args.features)).astype(np.float32)
    w = rng.normal(size=(args.features, args.species)) / np.sqrt(args.features)
    y = (rng.random((args.sites, args.species)) < 1 / (1 + np.exp(-(x @ w - 1.5)))).astype(np.float32)
    n_val = args.sites // 10
    cfg = ModelConfig(d_model=args.d_model, n_layers=args.layers, n_heads=4, latent_dim=32, encoder_hidden=128)
    tcfg = TrainConfig(batch_size=args.batch, max_epochs=args.epochs, patience=args.epochs)
    torch.manual_seed(0)
    module = HotVAEModule(args.features, args.species, cfg).to(device)
    stamps: list[float] = []

    def tick(epoch: int, record: dict) -> None:
        if ctx.enabled:
            torch.distributed.barrier()
        if device.type == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    stamps.append(time.perf_counter())
    train_module(module, x[n_val:], y[n_val:], x[:n_val], y[:n_val], tcfg, device=device, on_epoch_end=tick)
    if ctx.is_main:
        Path(args.result).write_text(json.dumps({"epoch_s": [b - a for a, b in zip(stamps, stamps[1:])]}))
    distributed.shutdown()


def run(n_procs: int, args: argparse.Namespace) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "r.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n_procs}",
               __file__, "--worker", "--result", str(result), "--device", args.device,
               *[f"--{k.replace('_', '-')}={getattr(args, k)}" for k in ("sites", "species", "features", "d_model",
                                                                       "layers", "batch", "epochs")]]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return json.loads(result.read_text())["epoch_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procs", default="1,2")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sites", type=int, default=20_000)
    ap.add_argument("--species", type=int, default=50)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--d-model", dest="d_model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    rows = []
    for k in [int(p) for p in args.procs.split(",")]:
        times = run(k, args)
        med = statistics.median(times[1:] if len(times) > 1 else times)
        rows.append((k, med, 0.9 * args.sites / med))
    base = rows[0][1]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"# DDP training scaling ({time.strftime('%Y-%m-%d')}, {platform.node()}, {os.cpu_count()} CPUs, "
          f"device {args.device}, commit {commit})\n")
    print(f"{args.sites} sites × {args.species} species, {args.features} covariates, d_model {args.d_model}, "
          f"{args.layers} layers, global batch {args.batch}; median epoch time over epochs 2..{args.epochs}\n")
    print("| processes | epoch (s) | sites/s | speed-up vs 1 |")
    print("| ---: | ---: | ---: | ---: |")
    for k, med, sps in rows:
        print(f"| {k} | {med:.2f} | {sps:,.0f} | {base / med:.2f}× |")


if __name__ == "__main__":
    main()
