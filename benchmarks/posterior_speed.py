"""Joint posterior sampling speed and memory: both draw modes, streamed or collected.

A HotVAEModule with random weights (sampling cost does not depend on training) of
the eBird-scale shape (100 species, 30 covariates, d_model 200, 2 layers, 4
residual factors) draws ``--draws`` joint samples per site in the two draw modes
of :class:`jsdm_hot.HotVAE` (:mod:`jsdm_hot.estimators.posterior`):

* ``latent`` (the paper's): one ``z ~ q(z|x)`` and one decoder pass per draw and
  site (:func:`~jsdm_hot.estimators.posterior.latent_draws`), in chunks of
  ``DEFAULT_CHUNK`` (64) sites, as ``HotVAE(draws="latent").iter_samples`` does;
* ``residual`` (the default with residual factors): one decoder pass per site, then
  cheap draws of the residual association
  (:func:`~jsdm_hot.estimators.posterior.residual_draws`), in chunks of 1,024 sites
  (``HotVAE``'s chunk for this mode).

Each mode runs two ways, each in a fresh subprocess so peak RSS is its own:
``stream`` reduces every chunk to per-site richness on the fly (what maps and the
evaluation do) and ``collect`` keeps the whole ``(n_draws, n_sites, n_species)``
uint8 array (what ``HotVAE.sample`` returns). Chunks are seeded per chunk as
``JsdmEstimator.iter_samples`` seeds them. One warm-up chunk is drawn before timing.

Printed: site-draws/s (one site, all species, one draw; "cell-draws/s" on a map),
species-draws/s and peak RSS, and the residual mode's speed-up over the latent mode.
The latent mode is slow on a CPU (a decoder pass per draw), so it runs on
``--sites`` sites and the residual mode on ``--residual-sites``; rates are per
site-draw, so they compare directly.

Usage::

    python benchmarks/posterior_speed.py --sites 50 --residual-sites 2000 --draws 100 --threads 1
    python benchmarks/posterior_speed.py --device cuda --sites 20000 --residual-sites 200000
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

#: Sites per chunk of each draw mode (``HotVAE._default_chunk``).
CHUNKS = {"latent": 64, "residual": 1024}


def make_module(species: int = 100, d_model: int = 200, residual_factors: int = 4, n_features: int = 30, device="cpu"):
    """A randomly initialised HotVAEModule of the benchmark's shape (seeded), in eval mode."""
    import torch

    from jsdm_hot.model import HotVAEModule, ModelConfig

    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = HotVAEModule(n_features, species, ModelConfig(d_model=d_model, n_layers=2,
                                                               residual_factors=residual_factors))
    return module.to(device).eval()


def draw_chunks(module, x, n_draws: int, mode: str, *, seed: int = 0, device="cpu"):
    """Joint draws of ``x`` (n_sites, n_features) chunk by chunk in ``mode``; yields (n_draws, n_chunk, n_species)."""
    from jsdm_hot.estimators.inputs import chunk_seed
    from jsdm_hot.estimators.posterior import latent_draws, residual_draws

    fn = residual_draws if mode == "residual" else latent_draws
    chunk = CHUNKS[mode]
    for ci, start in enumerate(range(0, x.shape[0], chunk)):
        yield fn(module, x[start:start + chunk], n_draws, seed=chunk_seed(seed, ci), device=device)[0]


def time_mode(module, x, n_draws: int, mode: str, *, keep: bool, device: str = "cpu") -> tuple[float, float]:
    """Seconds to draw ``x`` in ``mode`` after one warm-up chunk; returns (seconds, mean richness)."""
    import numpy as np
    import torch

    next(draw_chunks(module, x[: min(8, len(x))], 2, mode, device=device))  # warm-up
    t = time.perf_counter()
    if keep:
        d = np.concatenate(list(draw_chunks(module, x, n_draws, mode, device=device)), axis=1)
        check = float(d.sum(-1).mean())
    else:
        check = 0.0
        for d in draw_chunks(module, x, n_draws, mode, device=device):
            check += float(d.sum(-1).mean())  # reduce the chunk, keep nothing
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t, check


def _child(mode: str, how: str, sites: int, draws: int, species: int, device: str, threads: int) -> dict:
    import numpy as np
    import torch

    if threads:
        torch.set_num_threads(threads)
    module = make_module(species, device=device)
    x = np.random.default_rng(0).normal(size=(sites, 30)).astype(np.float32)
    secs, check = time_mode(module, x, draws, mode, keep=how == "collect", device=device)
    return {"mode": mode, "how": how, "sites": sites, "seconds": secs,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "check": check}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=50, help="sites of the latent mode")
    ap.add_argument("--residual-sites", type=int, default=2000, help="sites of the residual mode")
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--species", type=int, default=100)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        mode, how = a.child
        sites = a.residual_sites if mode == "residual" else a.sites
        print(json.dumps(_child(mode, how, sites, a.draws, a.species, a.device, a.threads)))
        return
    rows = []
    for mode in ("latent", "residual"):
        for how in ("collect", "stream"):
            out = subprocess.run([sys.executable, __file__, "--child", mode, how, "--sites", str(a.sites),
                                  "--residual-sites", str(a.residual_sites), "--draws", str(a.draws),
                                  "--species", str(a.species), "--device", a.device, "--threads", str(a.threads)],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for r in rows:
        r["rate"] = r["sites"] * a.draws / r["seconds"]
    base = {r["how"]: r["rate"] for r in rows if r["mode"] == "latent"}
    print(f"# posterior sampling: {a.draws} draws × {a.species} species, d_model 200, 2 layers, 4 residual factors, "
          f"on {a.device} ({platform.processor() or platform.machine()}, torch threads {a.threads or 'default'})\n")
    print("| draw mode | how | sites | chunk | seconds | site-draws/s | species-draws/s | peak RSS MB | vs latent |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['how']} | {r['sites']:,} | {CHUNKS[r['mode']]} | {r['seconds']:.2f} | "
              f"{r['rate']:,.0f} | {r['rate'] * a.species:,.0f} | {r['rss_mb']:.0f} | "
              f"{r['rate'] / base[r['how']]:.0f}× |")


if __name__ == "__main__":
    main()
