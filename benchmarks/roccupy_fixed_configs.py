"""eBird roccupy with fixed configurations (no search): HOT-VAE, BR-logistic, LaMP at 40 epochs, 3 seeds.

Complements ``benchmarks/accuracy.py`` (whose CPU budget capped roccupy at 8 epochs): the HOT-VAE
configuration is the one of ``tests/test_real_data.py`` (d_model 64, lambda2 0, batch 64, 40 epochs,
patience 10), LaMP gets the same epoch budget; random and 50 km spatial-block 70/10/20 splits, one
split per seed; thresholds from validation. Prints one JSON line per fit and a table per split.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/roccupy_fixed_configs.py
"""
import json

import torch

torch.set_num_threads(1)
from jsdm_hot.data.fixtures import load_roccupy  # noqa: E402 (after the thread setting)
from jsdm_hot.evaluation.benchmark import aggregate, run_benchmark, to_markdown  # noqa: E402

data = load_roccupy()
models = {
    "hotvae": {"d_model": 64, "max_epochs": 40, "patience": 10, "batch_size": 64, "lambda2": 0.0},
    "logistic": {},
    "lamp": {"d_model": 64, "lr": 1e-3, "max_epochs": 40, "patience": 10},
}
for split in ("random", "spatial"):
    recs = run_benchmark(data, models, seeds=(0, 1, 2), split=split, fractions=(0.7, 0.1, 0.2), block_km=50.0,
                         callback=lambda r: print(json.dumps({k: r[k] for k in ("model", "seed", "ebF1", "maF1", "median_auc", "fit_seconds")}), flush=True))
    print(f"## roccupy {split}\n", flush=True)
    print(to_markdown(aggregate(recs)), flush=True)
