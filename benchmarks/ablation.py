"""Ablation of HOT-VAE training and architecture options: each variant against a reference, paired by seed.

Every variant is a set of :class:`jsdm_hot.HotVAE` keyword parameters laid over the
reference ``base`` (or a baseline model, for scale). Each (data set, seed) gives one
split (:func:`accuracy.load_split`: the splits of ``benchmarks/accuracy.py``, plus
``roccupy-small``, a seeded random 2,500-checklist subsample of roccupy split 70/10/20,
for cheap screens); every variant is fitted on it with ``random_state = seed``,
thresholds per species from the validation sites, and scored on the test sites:
maF1, median AUC, ebF1, richness RMSE, richness discrimination, βSOR discrimination
(100 posterior draws, :func:`jsdm_hot.evaluation.benchmark.community_scores`), the
validation log-likelihood and the fit time.

Runs are appended to a CSV as they finish (``--csv``; a run already in it is skipped,
so an interrupted screen resumes); ``--render`` rewrites the Markdown table from the CSV:
per data set and variant, the mean over seeds of the paired difference to ``base``
(same split, same seed) of each metric.

Usage::

    python benchmarks/ablation.py --datasets tarentaise roccupy-small yeast --seeds 0 \\
        --variants base ple loglik --csv benchmarks/results/ablation_runs.csv
    python benchmarks/ablation.py --render --csv benchmarks/results/ablation_runs.csv \\
        --out benchmarks/results/ablation.md

Torch runs with one thread (``OMP_NUM_THREADS=1``) unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

#: The reference: HotVAE as it was before issue 18 on a CPU (d_model "auto" = 64), all defaults.
BASE: dict[str, Any] = {}

#: name → (model, parameters over BASE for hotvae, what it tests). A variant "a+b+c" lays the
#: parameters of its HOT-VAE components over each other, left to right.
VARIANTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "base": ("hotvae", {}, "reference: the defaults before issue 18 (d_model 64 on CPU, Adam, maF1 selection)"),
    "d32": ("hotvae", {"d_model": 32}, "decoder width 32"),
    "nodrop": ("hotvae", {"dropout": 0.0}, "no dropout"),
    "loglik": ("hotvae", {"selection": "loglik"}, "early stopping / selection on validation log-likelihood"),
    "adamw": ("hotvae", {"optimizer": "adamw", "weight_decay": 1e-2}, "AdamW, weight decay 0.01"),
    "cosine": ("hotvae", {"lr_schedule": "cosine", "warmup_epochs": 5}, "warm-up + cosine schedule"),
    "ema": ("hotvae", {"ema_decay": 0.99}, "EMA of the weights (decay 0.99 per step)"),
    "ple": ("hotvae", {"feature_embedding": "ple"}, "piecewise-linear covariate encoding, 16 quantile bins"),
    "periodic": ("hotvae", {"feature_embedding": "periodic"}, "periodic covariate embedding, 16 frequencies"),
    "fast": ("hotvae", {"d_model": 32, "lr": 2e-3, "lr_schedule": "cosine", "warmup_epochs": 3, "max_epochs": 60,
                        "patience": 60, "selection": "loglik"},
             "d_model 32, lr 2e-3, warm-up + cosine over 60 epochs, selection on validation log-likelihood"),
    "e100": ("hotvae", {"max_epochs": 100, "patience": 100}, "100 epochs"),
    "e30": ("hotvae", {"max_epochs": 30, "patience": 30}, "30 epochs"),
    "lr1e-3": ("hotvae", {"lr": 1e-3}, "lr 1e-3"),
    "lr5e-3": ("hotvae", {"lr": 5e-3}, "lr 5e-3"),
    "d64": ("hotvae", {"d_model": 64}, "decoder width 64"),
    "drop2": ("hotvae", {"dropout": 0.2}, "dropout 0.2"),
    "wd": ("hotvae", {"optimizer": "adamw", "weight_decay": 1e-2}, "AdamW, weight decay 0.01"),
    "wd1": ("hotvae", {"optimizer": "adamw", "weight_decay": 0.1}, "AdamW, weight decay 0.1"),
    "maf1sel": ("hotvae", {"selection": "maf1"}, "selection on validation maF1"),
    "constlr": ("hotvae", {"lr_schedule": "constant"}, "constant learning rate"),
    "ens3": ("hotvae", {"n_members": 3}, "deep ensemble of 3"),
    "ens5": ("hotvae", {"n_members": 5}, "deep ensemble of 5"),
    "l1": ("hotvae", {"n_layers": 1}, "one decoder layer"),
    "l3": ("hotvae", {"n_layers": 3}, "three decoder layers"),
    "lat16": ("hotvae", {"latent_dim": 16}, "latent size 16"),
    "b64": ("hotvae", {"batch_size": 64}, "batch 64"),
    "b256": ("hotvae", {"batch_size": 256}, "batch 256"),
    "rank0": ("hotvae", {"lambda2": 0.0}, "no ranking loss"),
    "rank1": ("hotvae", {"lambda2": 1.0}, "ranking loss weight 1"),
    "beta0": ("hotvae", {"beta": 0.0}, "no KL alignment"),
    "balanced": ("hotvae", {"species_weighting": "balanced"}, "per-species BCE weights 1/sqrt(p(1-p))"),
    "direct": ("hotvae", {"direct_path": True}, "direct covariate → species path beside the latent"),
    "rf": ("rf", {}, "RandomForest (peer)"),
    "gbm": ("gbm", {}, "LightGBM (peer)"),
    "logistic": ("logistic", {}, "BR-logistic (peer)"),
}


def with_xy(data):
    """``data`` with its coordinates (lon, lat) appended as two covariates (variants ending in ``@xy``)."""
    from jsdm_hot.data.community import CommunityData

    return CommunityData.from_arrays(np.hstack([data.X, data.coords.astype(float)]), data.Y, site_ids=data.site_ids,
                                     species=data.species, covariates=[*data.covariates, "coord_lon", "coord_lat"],
                                     coords=data.coords, crs=data.crs)


def resolve(variant: str) -> tuple[str, dict[str, Any]]:
    """(model name, parameters over BASE) of a variant name, a "+" composition, or a JSON object."""
    variant = variant.split("@")[0]
    if variant.startswith("{"):
        return "hotvae", json.loads(variant)
    parts = variant.split("+")
    if len(parts) == 1:
        model, params, _ = VARIANTS[variant]
        return model, dict(params)
    params: dict[str, Any] = {}
    for p in parts:
        model, extra, _ = VARIANTS[p]
        if model != "hotvae":
            raise ValueError(f"only HOT-VAE variants compose, not {p!r}")
        params.update(extra)
    return "hotvae", params


DATASETS = ("yeast", "scene", "tarentaise", "roccupy-random", "roccupy-spatial", "roccupy-small")
SCORES = ("maF1", "median_auc", "ebF1", "richness_rmse", "richness_disc", "beta_sor_disc", "val_loglik",
          "fit_seconds", "best_epoch")
CSV_FIELDS = ["dataset", "variant", "model", "seed", "params", *SCORES, "n_epochs", "finished_utc"]


def load(dataset: str, seed: int):
    """(train, val, test) of ``dataset`` for ``seed``."""
    from accuracy import load_split

    if dataset == "roccupy-small":
        from jsdm_hot.data import fixtures
        from jsdm_hot.data.splits import train_val_test_split

        data = fixtures.load_roccupy()
        idx = np.sort(np.random.default_rng([seed, 2500]).choice(data.n_sites, 2500, replace=False))
        return train_val_test_split(data.subset(idx), (0.7, 0.1, 0.2), seed=seed)
    return load_split(dataset, seed)


def run(dataset: str, variant: str, seed: int, split, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fit and score one variant on one split."""
    from jsdm_hot.evaluation.benchmark import run_one
    from jsdm_hot.training.loop import validation_loglik

    model_name, params = resolve(variant)
    params = {**(BASE if model_name == "hotvae" else {}), **params, **(extra or {})}
    if model_name == "maxent" and dataset.startswith("roccupy"):
        params.setdefault("feature_types", "lh")
    train, val, test = split
    if variant.endswith("@xy"):
        train, val, test = with_xy(train), with_xy(val), with_xy(test)
    rec, model, _ = run_one(model_name, params, train, val, test, seed, return_fitted=True, ecology=True)
    yv = val.select_species(list(model.species_)).Y
    rec["val_loglik"] = validation_loglik(yv, model.predict_proba(val))
    rec.update(dataset=dataset, variant=variant, params=json.dumps(params, sort_keys=True, default=str),
               n_epochs=len(getattr(model, "history_", []) or []),
               finished_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return rec


def done_keys(csv_path: Path) -> set[tuple[str, str, int]]:
    if not csv_path.exists():
        return set()
    with csv_path.open(encoding="utf-8") as fh:
        return {(r["dataset"], r["variant"], int(r["seed"])) for r in csv.DictReader(fh)}


def render(csv_path: Path, reference: str = "base", metrics=("maF1", "median_auc", "richness_rmse",
                                                                "beta_sor_disc", "val_loglik", "fit_seconds")) -> str:
    """Markdown: per data set, each variant's mean paired difference to ``reference`` (and the reference's means)."""
    import pandas as pd

    df = pd.read_csv(csv_path)
    lines = []
    for ds, g in df.groupby("dataset", sort=False):
        ref = g[g.variant == reference].set_index("seed")
        if ref.empty:
            continue
        lines += [f"### {ds}", "", f"`{reference}` (mean over seeds {sorted(ref.index.tolist())}): "
                  + ", ".join(f"{m} {ref[m].mean():.4f}" for m in metrics if m in ref), "",
                  "| variant | seeds | " + " | ".join(f"Δ {m}" for m in metrics) + " |",
                  "|---|---:|" + "---:|" * len(metrics)]
        for v, gv in g.groupby("variant", sort=False):
            if v == reference:
                continue
            gv = gv.set_index("seed")
            seeds = sorted(set(gv.index) & set(ref.index))
            if not seeds:
                continue
            cells = []
            for m in metrics:
                d = (gv.loc[seeds, m].astype(float) - ref.loc[seeds, m].astype(float)).to_numpy()
                d = d[np.isfinite(d)]
                cells.append("–" if d.size == 0 else f"{d.mean():+.4f}" + (f" ± {d.std(ddof=1):.4f}" if d.size > 1 else ""))
            lines.append(f"| {v} | {len(seeds)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    from accuracy import append_csv  # the one CSV appender of the benchmark scripts

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["tarentaise", "roccupy-small", "yeast"], choices=DATASETS)
    ap.add_argument("--variants", nargs="+", default=["base"],
                    help="names of VARIANTS, or a JSON object of HotVAE parameters (its text is the variant name)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--csv", type=Path, default=ROOT / "benchmarks" / "results" / "ablation_runs.csv")
    ap.add_argument("--set", nargs="*", default=[], help="extra KEY=JSON parameters for every hotvae variant")
    ap.add_argument("--render", action="store_true", help="only rewrite the Markdown from the CSV")
    ap.add_argument("--reference", default="base")
    ap.add_argument("--out", type=Path, default=None, help="Markdown output (with --render)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.render:
        text = render(args.csv, args.reference)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        print(text)
        return
    import torch

    torch.set_num_threads(args.threads)
    extra = {k: json.loads(v) for k, v in (a.split("=", 1) for a in args.set)}
    done = done_keys(args.csv)
    for ds in args.datasets:
        for seed in args.seeds:
            split = None
            for v in args.variants:
                if (ds, v, seed) in done:
                    continue
                split = split or load(ds, seed)
                is_hot = resolve(v)[0] == "hotvae"
                rec = run(ds, v, seed, split, extra if is_hot else None)
                append_csv(args.csv, rec, CSV_FIELDS)
                print(f"[{ds} s{seed}] {v}: maF1 {rec['maF1']:.4f} AUC {rec['median_auc']:.4f} "
                      f"rRMSE {rec['richness_rmse']:.3f} bSOR {rec['beta_sor_disc']:.3f} "
                      f"vLL {rec['val_loglik']:.4f} ({rec['fit_seconds']:.0f} s, {rec['n_epochs']} ep)", flush=True)


if __name__ == "__main__":
    main()
