"""Default fit time on CPU by data size: HOT-VAE (its defaults) beside RandomForest, on simulated communities.

For each size (sites × species; ``--sizes``, default 250/1,000/4,000 × 20/50/100) one
community is simulated (:func:`jsdm_hot.data.simulate.simulate_community`, 8 covariates,
seed 0), 20 % of its sites held out as test sites, and each model fitted with its
defaults on the rest (the estimators hold out their own 10 % validation sites):

* ``hotvae``: ``HotVAE()`` — every default, ``"auto"`` rules included (what a user gets);
* ``hotvae-legacy`` (``--legacy``): the defaults before issue 18 (d_model 64 on CPU,
  Adam at 7.5e-4, 200 epochs, patience 20 on validation maF1), for the speed-up and the
  "no worse than today's defaults" check;
* ``rf``: ``RandomForest()`` (300 trees, leaf size tuned on the validation sites, all cores).

Reported per fit: wall time of ``fit`` (everything: hold-out, training, thresholds),
the process CPU time (all threads), epochs run, and test maF1 / median AUC (thresholds
from validation). Torch uses ``--threads`` threads (default: the cores of the machine,
which is what a user gets). The load average at the start of each fit is recorded:
on a shared machine wall time grows with it, CPU time much less.

Usage::

    python benchmarks/fit_time_cpu.py [--sizes 1000x50 ...] [--models hotvae rf] [--legacy]
        [--threads N] [--out benchmarks/results/fit_time_cpu.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = [f"{n}x{L}" for n in (250, 1000, 4000) for L in (20, 50, 100)]

#: HotVAE's defaults before issue 18 (on a CPU "auto" gave d_model 64).
LEGACY = {"d_model": 64, "dropout": 0.1, "lr": 7.5e-4, "batch_size": 128, "max_epochs": 200, "patience": 20,
          "optimizer": "adam", "weight_decay": 0.0, "lr_schedule": "constant", "selection": "maf1",
          "feature_embedding": "none", "n_members": 1, "ema_decay": 0.0, "n_layers": 2}


def one(model_name: str, n_sites: int, n_species: int, threads: int) -> dict:
    import torch

    from jsdm_hot import HotVAE
    from jsdm_hot.baselines import BASELINES
    from jsdm_hot.data.simulate import simulate_community
    from jsdm_hot.data.splits import train_test_split
    from jsdm_hot.metrics.mlc import mlc_report

    torch.set_num_threads(threads)
    sim = simulate_community(n_sites=n_sites, n_species=n_species, n_covariates=8, seed=0)
    train, test = train_test_split(sim.data, 0.2, seed=0)
    if model_name == "hotvae":
        model = HotVAE(random_state=0)
    elif model_name == "hotvae-legacy":
        model = HotVAE(random_state=0, **LEGACY)
    else:
        model = BASELINES[model_name](random_state=0)
    load = os.getloadavg()[0]
    c0, t0 = time.process_time(), time.perf_counter()
    model.fit(train)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    y = test.select_species(list(model.species_)).Y
    m = mlc_report(y, model.predict_proba(test), model.thresholds_)
    return {"model": model_name, "sites": n_sites, "species": n_species, "wall_s": wall, "cpu_s": cpu,
            "epochs": len(getattr(model, "history_", []) or []) or None, "load": load,
            "maF1": m["maF1"], "median_auc": m["median_auc"],
            "config": _config(model)}


def _config(model) -> str:
    cfg = getattr(model, "model_config_", None)
    if cfg is None:
        return f"min_samples_leaf={getattr(model, 'min_samples_leaf_', '?')}"
    t = model.train_config_
    return (f"d={cfg.d_model}, layers={cfg.n_layers}, dropout={cfg.dropout}, emb={cfg.feature_embedding}, "
            f"members={model.n_members}, batch={t.batch_size}, epochs≤{t.max_epochs}, patience={t.patience}, "
            f"{t.optimizer} lr={t.lr:g} {t.lr_schedule}, select={t.selection}")


def render(rows: list[dict], header: str) -> str:
    lines = [header, "", "| sites | species | model | wall (s) | CPU (s) | epochs | load at start | test maF1 | "
             "test median AUC | configuration used |", "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['sites']} | {r['species']} | {r['model']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                     f"{r['epochs'] or '–'} | {r['load']:.1f} | {r['maF1']:.3f} | {r['median_auc']:.3f} | "
                     f"{r['config']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES, help="SITESxSPECIES")
    ap.add_argument("--models", nargs="+", default=["hotvae", "rf"])
    ap.add_argument("--legacy", action="store_true", help="also the pre-issue-18 defaults (hotvae-legacy)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fit_time_cpu.md")
    args = ap.parse_args(argv)
    import torch

    models = list(args.models) + (["hotvae-legacy"] if args.legacy else [])
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    header = (f"# Default fit time on CPU by data size\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
              f"{os.cpu_count()}-core {cpu}, torch {torch.__version__} with {args.threads} thread(s).\n\n"
              f"Command: `python benchmarks/fit_time_cpu.py {' '.join(shlex.quote(a) for a in (argv or sys.argv[1:]))}`")
    rows = []
    for size in args.sizes:
        n, L = (int(v) for v in size.lower().split("x"))
        for m in models:
            rows.append(one(m, n, L, args.threads))
            r = rows[-1]
            print(f"{n}x{L} {m}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, maF1 {r['maF1']:.3f}, "
                  f"AUC {r['median_auc']:.3f} ({r['config']})", flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(render(rows, header), encoding="utf-8")
    print(render(rows, header))


if __name__ == "__main__":
    main()
