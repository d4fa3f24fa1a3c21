"""Joint posterior sampling speed and memory: streamed draws vs collecting them all.

A HotVAEModule with random weights (sampling cost does not depend on training)
of the eBird-scale shape (100 species, 30 covariates, d_model 200, 2 layers) draws
``--draws`` joint samples at ``--sites`` sites. Two ways, each in a fresh
subprocess so peak RSS is its own:

* ``stream``: :func:`jsdm_hot.estimators.posterior.latent_draws` chunk by chunk with
  per-chunk seeds (as ``HotVAE.iter_samples``; ``gpu_speed.draw_chunks``), reducing each
  chunk to per-site richness mean/sd on the fly (what maps and evaluation do);
* ``collect``: the same chunks concatenated, holding the whole
  ``(n_draws, n_sites, n_species)`` uint8 array (what ``HotVAE.sample`` returns; the reference).

Printed: site-draws/s, species-draws/s and peak RSS, with ratios against ``collect``.
The issue's full size is ``--sites 200000 --draws 100`` (20 M decoder rows: a GPU
job; on a 2-core CPU use fewer sites and read the rate).

Usage::

    python benchmarks/posterior_speed.py --sites 5000 --draws 100
    python benchmarks/posterior_speed.py --device cuda --sites 200000
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time


def _child(mode: str, sites: int, draws: int, species: int, device: str, threads: int) -> dict:
    from pathlib import Path

    import numpy as np
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gpu_speed import draw_chunks  # sibling benchmark script

    from jsdm_hot.estimators.base import DEFAULT_CHUNK
    from jsdm_hot.model import HotVAEModule, ModelConfig

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    module = HotVAEModule(30, species, ModelConfig(d_model=200, n_layers=2)).to(device).eval()
    x = np.random.default_rng(0).normal(size=(sites, 30)).astype(np.float32)
    t = time.perf_counter()
    if mode == "stream":
        total = 0.0
        for d in draw_chunks(module, x, draws, seed=0, device=torch.device(device), chunk_size=DEFAULT_CHUNK):
            total += float(d.sum(-1).mean())  # reduce the chunk, keep nothing
    else:
        d = np.concatenate(list(draw_chunks(module, x, draws, seed=0, device=torch.device(device),
                                            chunk_size=DEFAULT_CHUNK)), axis=1)
        total = float(d.sum(-1).mean())
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    secs = time.perf_counter() - t
    return {"mode": mode, "seconds": secs, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "check": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--species", type=int, default=100)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(_child(a.child, a.sites, a.draws, a.species, a.device, a.threads)))
        return
    rows = []
    for mode in ("collect", "stream"):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--sites", str(a.sites), "--draws", str(a.draws),
                              "--species", str(a.species), "--device", a.device, "--threads", str(a.threads)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    ref = rows[0]
    print(f"# posterior sampling: {a.sites} sites × {a.draws} draws × {a.species} species on {a.device} "
          f"({platform.processor() or platform.machine()}, torch threads {a.threads or 'default'})\n")
    print("| mode | seconds | site-draws/s | species-draws/s | peak RSS MB | speed vs collect | RSS vs collect |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        rate = a.sites * a.draws / r["seconds"]
        print(f"| {r['mode']} | {r['seconds']:.1f} | {rate:,.0f} | {rate * a.species:,.0f} | {r['rss_mb']:.0f} | "
              f"{ref['seconds'] / r['seconds']:.2f}× | {r['rss_mb'] / ref['rss_mb']:.2f}× |")


if __name__ == "__main__":
    main()
