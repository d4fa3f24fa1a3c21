"""Residual association on real data (issue 17): the paper's model vs residual draws, side by side.

Data sets (:mod:`jsdm_hot.data.fixtures`, read from ``../shared/data``):

* ``tarentaise``: 376 alpine sites × 98 birds, seeded random split 60/20/20;
* ``roccupy``: eBird checklists × 32 species, seeded random split 70/10/20
  (``--roccupy-sites`` first draws a seeded subsample of the 8,000 checklists, for a CPU budget).

Per data set and seed two HOT-VAEs are fitted on the same split (small CPU size:
``d_model`` 64, every other setting the library's ``"auto"`` / default), with the
validation part for early stopping and thresholds:

* ``paper``: ``residual_factors=0`` (the paper's model);
* ``residual``: the defaults (``residual_factors=4``, ``residual_mc=64``, ``lambda_residual=3``).

and scored on the test part with :func:`jsdm_hot.evaluation.evaluate` (100 joint draws)
in three rows:

* (a) ``paper + latent draws`` — today's model and draws (``draws="latent"``);
* (b) ``residual + residual draws`` — the new default (``draws="residual"``);
* (c) ``residual + latent draws`` — the same fitted residual model, drawn the paper's way
  (``set_params(draws="latent")``), separating the fit from the draws.

Reported: median species AUC (``predict_proba``), the central 90 % richness-interval
coverage (inclusive quantile interval of the draws' richness; discreteness biases it
upwards, so the PIT version, exactly 0.9 in expectation for a calibrated model, is given
beside it), the Norberg et al. (2019) richness and community (βSOR) measures of the
evaluation table (calibration = |share of observed values inside the central 50 %
interval − 0.5|, lower is better), the fit time and the draw time.

Acceptance of issue 17 (against row a): 90 % coverage closer to 0.9, Norberg richness
and community calibration no worse, median AUC not lower by more than 0.005.

Usage::

    python benchmarks/residual_real_data.py --out benchmarks/results/residual_real_data.md
    python benchmarks/residual_real_data.py --quick            # smoke run: one seed, 2 epochs

Torch runs single-threaded (``--threads``).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from jsdm_hot import HotVAE  # noqa: E402
from jsdm_hot.data import fixtures  # noqa: E402
from jsdm_hot.data.splits import train_val_test_split  # noqa: E402
from jsdm_hot.evaluation import evaluate  # noqa: E402
from jsdm_hot.metrics.posterior_summary import interval_coverage, pit_coverage  # noqa: E402

#: Per data set: split fractions and training budget (epoch cap, patience, batch size).
SETTINGS = {
    "tarentaise": {"fractions": (0.6, 0.2, 0.2), "max_epochs": 40, "patience": 10, "batch_size": 32},
    "roccupy": {"fractions": (0.7, 0.1, 0.2), "max_epochs": 15, "patience": 5, "batch_size": 128},
}
#: (row label, fitted model key, draw mode).
ROWS = [("a: paper + latent draws", "paper", "latent"),
        ("b: residual + residual draws", "residual", "residual"),
        ("c: residual + latent draws", "residual", "latent")]
N_DRAWS = 100


def load(dataset: str, seed: int, roccupy_sites: int | None):
    """(train, val, test) CommunityData of one seed."""
    if dataset == "tarentaise":
        data = fixtures.load_tarentaise()
    else:
        data = fixtures.load_roccupy()
        if roccupy_sites and roccupy_sites < data.n_sites:
            keep = np.sort(np.random.default_rng(1000 + seed).choice(data.n_sites, roccupy_sites, replace=False))
            data = data.subset(keep)
    return train_val_test_split(data, SETTINGS[dataset]["fractions"], seed=seed)


def score(model: HotVAE, test, mode: str, seed: int) -> dict:
    """Evaluation of one fitted model drawn in ``mode`` on the test sites."""
    model.set_params(draws=mode)
    t0 = time.perf_counter()
    table = evaluate(model, test, n_draws=N_DRAWS, seed=seed)
    secs = time.perf_counter() - t0
    det = table.attrs["details"]
    val = {(g, m): v for g, m, v in table[["group", "metric", "value"]].itertuples(index=False)}
    obs, rich = det.richness_obs, det.richness_draws
    pbar = det.prob  # (n_sites, L) predictive mean of the draws
    indep_var = (pbar * (1 - pbar)).sum(1)
    out = {"median_auc": val[("mlc", "median_auc")], "maF1": val[("mlc", "maF1")],
           "cover90": float(interval_coverage(obs, rich, 0.9).mean()),
           "pit90": float(pit_coverage(obs, rich, 0.9).mean()),
           "var_ratio": float(rich.var(0).mean() / indep_var.mean()),
           "eval_s": secs}
    for g in ("richness", "community"):
        for m in ("accuracy", "discrimination", "calibration", "precision"):
            out[f"{g}_{m}"] = val[(g, m)]
    return out


def run(dataset: str, seed: int, args) -> list[dict]:
    s = SETTINGS[dataset]
    train, val, test = load(dataset, seed, args.roccupy_sites)
    epochs = 2 if args.quick else s["max_epochs"]
    common = dict(d_model=args.d_model, max_epochs=epochs, patience=s["patience"], batch_size=s["batch_size"],
                  device="cpu", random_state=seed)
    models = {"paper": HotVAE(residual_factors=0, **common).fit(train, X_val=val),
              "residual": HotVAE(**common).fit(train, X_val=val)}
    rows = []
    for label, key, mode in ROWS:
        m = models[key]
        r = {"dataset": dataset, "seed": seed, "row": label, "fit_s": m.fit_seconds_, "best_epoch": m.best_epoch_,
             "n_train": train.n_sites, "n_val": val.n_sites, "n_test": test.n_sites, **score(m, test, mode, seed)}
        print(r, flush=True)
        rows.append(r)
    return rows


COLS = ["median_auc", "cover90", "pit90", "var_ratio", "richness_calibration", "community_calibration",
        "richness_accuracy", "richness_discrimination", "richness_precision", "community_accuracy",
        "community_discrimination", "community_precision", "maF1", "fit_s", "eval_s"]


def summary(df: pd.DataFrame) -> str:
    """Mean ± sd over seeds per data set and row, as Markdown."""
    lines = []
    for ds, d in df.groupby("dataset", sort=False):
        first = d.iloc[0]
        lines += [f"## {ds}", "", f"{first.n_train} train / {first.n_val} validation / {first.n_test} test sites; "
                  f"seeds {sorted(d.seed.unique().tolist())}; mean ± sd over seeds.", "",
                  "| row | " + " | ".join(COLS) + " |", "|---|" + "---:|" * len(COLS)]
        for row, g in d.groupby("row", sort=False):
            cells = [f"{g[c].mean():.3f} ± {g[c].std(ddof=1) if len(g) > 1 else 0.0:.3f}" for c in COLS]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        lines += ["", acceptance(d), ""]
    return "\n".join(lines)


def per_run(df: pd.DataFrame) -> str:
    """Every run as a Markdown table."""
    cols = ["dataset", "seed", "row", "best_epoch"] + COLS
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                     + ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in df.to_dict("records")])


def acceptance(d: pd.DataFrame) -> str:
    """The issue's acceptance of row b against row a (means over seeds), in words."""
    m = d.groupby("row", sort=False)[COLS].mean()
    a, b = m.loc[ROWS[0][0]], m.loc[ROWS[1][0]]
    checks = [
        ("90 % coverage closer to 0.9", abs(b.cover90 - 0.9) < abs(a.cover90 - 0.9), f"{a.cover90:.3f} → {b.cover90:.3f}"),
        ("richness calibration no worse", b.richness_calibration <= a.richness_calibration,
         f"{a.richness_calibration:.3f} → {b.richness_calibration:.3f}"),
        ("community calibration no worse", b.community_calibration <= a.community_calibration,
         f"{a.community_calibration:.3f} → {b.community_calibration:.3f}"),
        ("median AUC not lower by > 0.005", b.median_auc >= a.median_auc - 0.005,
         f"{a.median_auc:.3f} → {b.median_auc:.3f}"),
    ]
    return "Acceptance (b vs a, means): " + "; ".join(f"{name}: {'**yes**' if ok else '**no**'} ({txt})"
                                                       for name, ok, txt in checks) + "."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--roccupy-sites", type=int, default=None, help="seeded subsample of the roccupy checklists")
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="smoke run: first seed, 2 epochs")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        args.seeds = args.seeds[:1]
    rows = []
    for ds in args.datasets:
        for seed in args.seeds:
            rows += run(ds, seed, args)
    df = pd.DataFrame(rows)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cmd = "python benchmarks/residual_real_data.py " + " ".join(sys.argv[1:])
    head = ["# Residual association on real data: the two draw modes side by side (`benchmarks/residual_real_data.py`)",
            "", f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}; {platform.machine()} CPU, "
            f"torch {torch.__version__} with {args.threads} thread(s); no GPU.", "", f"Command: `{cmd.strip()}`", "",
            f"HotVAE d_model {args.d_model}, other settings the library's defaults ('auto'); per data set the epoch cap, "
            "patience and batch size of `SETTINGS` in the script: "
            + "; ".join(f"{k}: {v['max_epochs']} epochs, patience {v['patience']}, batch {v['batch_size']}"
                        for k, v in SETTINGS.items() if k in args.datasets)
            + f". {N_DRAWS} joint draws per test site. Columns are defined in the script's docstring; "
            "`var_ratio` is the mean richness variance of the draws over that of independent draws with the same "
            "marginals.", ""]
    text = "\n".join(head) + "\n" + summary(df) + "\nPer run:\n\n" + per_run(df) + "\n"
    print(text)
    if args.out:
        from jsdm_hot.io import atomic_write_text

        atomic_write_text(args.out, text)
        atomic_write_text(args.out.with_suffix(".csv"), df.to_csv(index=False))


if __name__ == "__main__":
    main()
