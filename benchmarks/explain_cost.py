"""Cost of the explain tools: permutation importance and response curves at planning scale.

32 species × 20 covariates × 1,000 held-out sites (random covariates; occurrences
drawn from a random logistic model, so importances are not all 0). Two models:
BinaryRelevanceLogistic and HotVAE at the CLI's default size (d_model 200, 2
layers, latent 64; trained one epoch: the cost of predicting does not depend on
training). Timed with the explain defaults:

* ``importance``: :func:`jsdm_hot.explain.permutation_importance`, 5 repeats of
  the 20 covariates on all 1,000 sites (100,000 + 1,000 rows of ``predict_proba``);
* ``curves_points``: :func:`~jsdm_hot.explain.response_curves` of all 20
  covariates without bands (20 values × 300 sites each: 120,000 rows);
* ``curves_bands``: the same for 5 covariates (what the model card draws) with
  bands from 20 joint draws at 100 sites (5 × 20 × 20 × 100 = 200,000 sampled rows
  plus 30,000 rows of ``predict_proba``).

Printed and written to ``benchmarks/results/explain_cost.md``: wall and CPU
seconds per step, and rows per second, so other sizes can be read off (time is
linear in rows). The machine this ran on may be shared: CPU seconds are the
steadier number.

Usage::

    python benchmarks/explain_cost.py --threads 2
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--species", type=int, default=32)
    ap.add_argument("--covariates", type=int, default=20)
    ap.add_argument("--models", default="logistic,hotvae")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "explain_cost.md"))
    args = ap.parse_args()

    import numpy as np
    import torch

    from jsdm_hot import HotVAE
    from jsdm_hot.baselines import BinaryRelevanceLogistic
    from jsdm_hot.data.community import CommunityData
    from jsdm_hot.explain import permutation_importance, response_curves

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    p, L, n = args.covariates, args.species, args.sites
    W = rng.normal(scale=0.8, size=(p, L)) * (rng.random((p, L)) < 0.3)

    def community(m: int) -> CommunityData:
        X = rng.normal(size=(m, p))
        Y = (rng.random((m, L)) < 1 / (1 + np.exp(-(X @ W - 1.5)))).astype(np.uint8)
        return CommunityData.from_arrays(X, Y, covariates=[f"x{j}" for j in range(p)],
                                         species=[f"sp{j}" for j in range(L)])

    train, test = community(2000), community(n)
    models = {
        "logistic": lambda: BinaryRelevanceLogistic().fit(train),
        "hotvae": lambda: HotVAE(max_epochs=1, d_model=200, device="cpu").fit(train),
    }
    rows = []
    for name in args.models.split(","):
        model = models[name]()
        cov = list(train.covariates)
        steps = {
            "importance": lambda model=model: permutation_importance(model, test, n_repeats=5, rng=0),
            "curves_points": lambda model=model, cov=cov: response_curves(model, test, cov, n_draws=0, rng=0),
            "curves_bands": lambda model=model, cov=cov: response_curves(model, test, cov[:5], n_draws=20, rng=0),
        }
        n_rows = {"importance": 5 * p * n + n, "curves_points": p * 20 * 300, "curves_bands": 5 * 20 * 20 * 100 + 5 * 20 * 300}
        for step, fn in steps.items():
            _, wall, cpu = _timed(fn)
            rows.append((name, step, n_rows[step], wall, cpu))
            print(f"{name:9s} {step:14s} rows {n_rows[step]:>8d}  wall {wall:8.1f} s  cpu {cpu:8.1f} s  "
                  f"{n_rows[step] / wall:10.0f} rows/s", flush=True)
    lines = [
        "# explain cost", "",
        f"`python benchmarks/explain_cost.py --threads {args.threads}`: {L} species × {p} covariates × {n} held-out "
        f"sites, torch threads {args.threads}, {platform.processor() or platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}. Shared machine: CPU seconds are the steadier number.", "",
        "| model | step | rows | wall s | CPU s | rows / wall s |", "| --- | --- | ---: | ---: | ---: | ---: |",
    ] + [f"| {m} | {s} | {r} | {w:.1f} | {c:.1f} | {r / w:.0f} |" for m, s, r, w, c in rows] + [""]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
