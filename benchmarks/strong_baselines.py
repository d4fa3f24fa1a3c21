"""Strong single-species baselines (random forest, LightGBM, MaxEnt) against BR-logistic on real data.

Models (``jsdm_hot.baselines.BASELINES``), all with their default hyper-parameters:

* ``rf`` — :class:`~jsdm_hot.baselines.RandomForest`: one multi-output forest of 300 trees,
  ``min_samples_leaf`` chosen among (1, 2, 5, 10, 20) by validation log-loss;
* ``gbm`` — :class:`~jsdm_hot.baselines.GradientBoosting`: LightGBM per species, rounds by
  early stopping on the validation sites;
* ``maxent`` — :class:`~jsdm_hot.baselines.MaxEnt`: elapid per species, cloglog output;
  on roccupy with ``feature_types="lh"`` (no product features, see below);
* ``logistic`` — :class:`~jsdm_hot.baselines.BinaryRelevanceLogistic`, for reference.

Data sets and splits (:func:`jsdm_hot.data.splits.train_val_test_split`, random):

* ``tarentaise``: 376 sites x 98 birds, 60/20/20, seeds 0 1 2 (``--seeds``);
* ``roccupy``: 8,000 eBird checklists x 32 species, 70/10/20, seed 0 (``--roccupy-seeds``).
  MaxEnt's default product features give 903 extra columns for roccupy's 43 covariates and
  took ~26 s per species (~14 min for 32 species on one core), beyond this benchmark's
  ~15-minute CPU budget; linear + hinge took ~6.5 s per species.

Decision thresholds are chosen per species on the validation sites (what the estimators
do); reported are TEST maF1, median AUC (over species with both classes in the test
sites) and ebF1 (``jsdm_hot.metrics.mlc.mlc_report``), and the wall-clock fit time
(``fit`` including the validation-side tuning), mean ± sd over seeds.

Usage::

    python benchmarks/strong_baselines.py [--datasets tarentaise roccupy] [--seeds 0 1 2]
        [--roccupy-seeds 0] [--models rf gbm maxent logistic] [--out benchmarks/results/strong_baselines.md]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("rf", "gbm", "maxent", "logistic")
#: per data set, parameters that differ from a model's defaults (see the module docstring)
OVERRIDES = {"roccupy": {"maxent": {"feature_types": "lh"}}}
FRACTIONS = {"tarentaise": (0.6, 0.2, 0.2), "roccupy": (0.7, 0.1, 0.2)}


def load(dataset: str):
    from jsdm_hot.data import fixtures

    return fixtures.load_tarentaise() if dataset == "tarentaise" else fixtures.load_roccupy()


def chosen(est) -> str:
    """Short text of what a model tuned on the validation sites."""
    name = type(est).__name__
    if name == "RandomForest":
        return f"min_samples_leaf={est.min_samples_leaf_}"
    if name == "GradientBoosting":
        r = est.n_rounds_[~est.constant_]
        return f"rounds median {int(np.median(r))} (range {r.min()}-{r.max()})" if r.size else "-"
    return "-"


def run(dataset: str, models: list[str], seeds: list[int]) -> tuple[list[dict], str]:
    from jsdm_hot.baselines import BASELINES
    from jsdm_hot.data.splits import train_val_test_split
    from jsdm_hot.metrics.mlc import mlc_report

    data = load(dataset)
    rows = []
    shape = ""
    for seed in seeds:
        train, val, test = train_val_test_split(data, FRACTIONS[dataset], seed=seed)
        shape = shape or f"{train.n_sites} / {val.n_sites} / {test.n_sites} sites, {data.n_species} species, {data.n_features} covariates"
        for name in models:
            params = OVERRIDES.get(dataset, {}).get(name, {})
            est = BASELINES[name](random_state=seed, **params)
            t0 = time.perf_counter()
            est.fit(train, X_val=val)
            fit_s = time.perf_counter() - t0
            rep = mlc_report(test.Y, est.predict_proba(test), est.thresholds_)
            row = {"dataset": dataset, "seed": seed, "model": name, "params": params, "fit_s": fit_s,
                   "chosen": chosen(est), **rep}
            rows.append(row)
            print(f"{dataset} seed {seed} {name}: maF1 {rep['maF1']:.3f} median AUC {rep['median_auc']:.3f} "
                  f"ebF1 {rep['ebF1']:.3f} fit {fit_s:.1f}s {row['chosen']}", file=sys.stderr, flush=True)
    return rows, shape


def table(rows: list[dict], models: list[str]) -> str:
    def cell(vals, fmt):
        vals = np.asarray(vals, dtype=float)
        return f"{vals.mean():{fmt}} ± {vals.std(ddof=1):{fmt}}" if vals.size > 1 else f"{vals[0]:{fmt}}"

    out = ["| model | seeds | maF1 | median AUC | ebF1 | fit (s) | tuned on validation |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for m in models:
        r = [x for x in rows if x["model"] == m]
        params = ", ".join(f"{k}={v}" for k, v in r[0]["params"].items())
        label = f"{m} ({params})" if params else m
        out.append(f"| {label} | {len(r)} | {cell([x['maF1'] for x in r], '.3f')} | "
                   f"{cell([x['median_auc'] for x in r], '.3f')} | {cell([x['ebF1'] for x in r], '.3f')} | "
                   f"{cell([x['fit_s'] for x in r], '.1f')} | {'; '.join(x['chosen'] for x in r if x['chosen'] != '-') or '-'} |")
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["tarentaise", "roccupy"], choices=list(FRACTIONS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--roccupy-seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    args = ap.parse_args(argv)
    from jsdm_hot.io import atomic_write_text

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    t_start = time.time()
    cpu_start = time.process_time()
    parts = [
        "# Strong single-species baselines vs BR-logistic (`benchmarks/strong_baselines.py`)",
        "",
        f"Command: `python {' '.join(shlex.quote(a) for a in ['benchmarks/strong_baselines.py', *sys.argv[1:]])}`",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}; {os.cpu_count()}-core "
        f"{platform.machine()}, load average {os.getloadavg()[0]:.1f} at start (machine shared with other jobs: "
        "fit times are indicative). RandomForest and GradientBoosting use all cores (n_jobs=-1), the others one.",
        "",
        "Test-set metrics, mean ± sd over seeds; thresholds per species chosen on the validation sites; "
        "median AUC over species with both classes among the test sites. Protocol in the script's docstring.",
    ]
    for ds in args.datasets:
        seeds = args.seeds if ds == "tarentaise" else args.roccupy_seeds
        rows, shape = run(ds, args.models, seeds)
        parts += ["", f"## {ds} (random split {'/'.join(str(int(f * 100)) for f in FRACTIONS[ds])}, "
                  f"seeds {' '.join(map(str, seeds))})", "", f"First seed: {shape}.", "", table(rows, args.models)]
    parts += ["", f"Total: {time.time() - t_start:.0f} s wall, {time.process_time() - cpu_start:.0f} s CPU "
              "(this process, all threads)."]
    text = "\n".join(parts) + "\n"
    print(text)
    if args.out is not None:
        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
