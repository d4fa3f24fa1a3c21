"""Benchmark: :func:`jsdm_hot.maps.predict_map` in one process vs on a dask LocalCluster.

A small :class:`jsdm_hot.HotVAE` (d_model 32, 2 layers) is fitted for a few
epochs on a simulated community (``--species`` species, 4 covariates) and saved;
a synthetic ``--size × --size`` table grid of smooth covariate fields (~2 % of
cells incomplete) is then mapped twice with the same chunks and seeds:

* **single**: the driver loop in this process, torch on one thread;
* **dask**: on the cluster ``scheduler="local"`` starts
  (``LocalCluster(--workers, threads_per_worker=1, processes=True)``, through
  :func:`jsdm_hot.maps.cluster.dask_client`), started beforehand so that its
  start-up time is reported apart; the workers load the model from the saved
  directory once each.

Layers: richness, uncertainty (sd, 90 % interval, composition uncertainty),
community (PCA axes, βSOR to the reference) and every species' probability.
The script checks that both maps are identical and prints a Markdown table of
wall seconds, the single / dask ratio (ideal: the number of workers, on
that many free cores) and the CPU seconds of the driver and the workers (which
show whether the cluster adds work or only waits for shared cores).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/map_dask.py --size 200 --workers 2
    OMP_NUM_THREADS=1 python benchmarks/map_dask.py --size 200 --workers 2 --out benchmarks/results/map_dask.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_grid(size: int, covariates: list[str], seed: int = 0):
    """Table of ``size × size`` cells (0.01° lattice) with smooth standardised covariate fields."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    u, v = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size))
    df = pd.DataFrame({"x": (-84.0 + 0.01 * np.arange(size))[None, :].repeat(size, 0).ravel(),
                       "y": (34.0 + 0.01 * np.arange(size))[:, None].repeat(size, 1).ravel()})
    for j, name in enumerate(covariates):
        a, b, c = rng.normal(0, 1, 3)
        f = a * (u - 0.5) * 2 + b * (v - 0.5) * 2 + c * np.sin(6 * u + j) * np.cos(4 * v)
        df[name] = (f + rng.normal(0, 0.1, f.shape)).ravel()
    df.loc[rng.random(len(df)) < 0.02, covariates[0]] = np.nan
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=200, help="cells per side")
    ap.add_argument("--species", type=int, default=24)
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=4096)
    ap.add_argument("--seed-block", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the table (Markdown) to this file")
    args = ap.parse_args()

    import torch

    from jsdm_hot import HotVAE
    from jsdm_hot.data.simulate import simulate_community
    from jsdm_hot.maps import predict_map
    from jsdm_hot.maps.cluster import dask_client

    torch.set_num_threads(1)  # the workers run torch on one thread each; so does the single-process run
    with tempfile.TemporaryDirectory(prefix="map_dask_") as tmp:
        t0 = time.perf_counter()
        sim = simulate_community(n_sites=1000, n_species=args.species, seed=0)
        model = HotVAE(d_model=32, n_heads=2, latent_dim=16, encoder_hidden=64, n_layers=2, lambda2=1.0,
                       max_epochs=args.epochs, patience=args.epochs, batch_size=128, device="cpu", random_state=0)
        model_dir = model.fit(sim.data).save(Path(tmp) / "model")
        t_fit = time.perf_counter() - t0
        grid = make_grid(args.size, list(sim.data.covariates))
        kw = dict(layers="richness,uncertainty,community,species", n_draws=args.draws, seed=0,
                  chunk_size=args.chunk_size, seed_block=args.seed_block, device="cpu")

        t0, c0 = time.perf_counter(), time.process_time()
        single = predict_map(model_dir, grid, **kw)
        t_single, cpu_single = time.perf_counter() - t0, time.process_time() - c0

        t0 = time.perf_counter()
        with dask_client("local", n_workers=args.workers) as client:  # what --scheduler local starts
            t_start = time.perf_counter() - t0
            w0 = sum(client.run(time.process_time).values())
            t0, c0 = time.perf_counter(), time.process_time()
            dist = predict_map(model_dir, grid, scheduler=client, **kw)
            t_dask, cpu_driver = time.perf_counter() - t0, time.process_time() - c0
            cpu_workers = sum(client.run(time.process_time).values()) - w0
        identical = all(np.array_equal(single[n].values, dist[n].values, equal_nan=True) for n in single.data_vars)
        n_cells = int(single.attrs["n_cells_predicted"])

    rows = [
        ("single process (1 torch thread)", t_single, "1.00", f"{cpu_single:.1f}"),
        (f"LocalCluster, {args.workers} workers x 1 thread (map)", t_dask, f"{t_single / t_dask:.2f}",
         f"{cpu_driver:.1f} + {cpu_workers:.1f}"),
        (f"LocalCluster start-up ({args.workers} worker processes)", t_start, "-", "-"),
        ("LocalCluster start-up + map", t_start + t_dask, f"{t_single / (t_start + t_dask):.2f}", "-"),
    ]
    lines = [
        f"grid {args.size} x {args.size} ({n_cells:,} cells mapped), {args.species} species, {args.draws} draws, "
        f"chunk {args.chunk_size}, seed block {args.seed_block}; model fitted in {t_fit:.1f} s; "
        f"maps identical: {identical}",
        "",
        "| run | wall (s) | speed-up vs single | CPU (s): driver + workers |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {name} | {secs:.1f} | {ratio} | {cpu} |" for name, secs, ratio, cpu in rows],
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        header = (f"# Maps on dask (`benchmarks/map_dask.py`)\n\n"
                  f"Run {time.strftime('%Y-%m-%d')}: `OMP_NUM_THREADS=1 python benchmarks/map_dask.py "
                  f"--size {args.size} --workers {args.workers}`.\n"
                  f"Machine: 2-core CPU sandbox ({platform.machine()}, Python {platform.python_version()}, "
                  f"{os.cpu_count()} CPUs visible); **the 2 cores are shared with other jobs**, so the times "
                  f"are noisy and the speed-up is a lower bound.\n\n")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(header + text + "\n")
    if not identical:
        sys.exit("the dask maps differ from the single-process maps")


if __name__ == "__main__":
    main()
