"""Benchmark scripts run end to end at tiny sizes (``--smoke``), in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _table_rows(text: str, header_start: str) -> dict[str, list[str]]:
    """Rows of the markdown table whose header starts with ``header_start``, keyed by first cell."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(header_start))
    rows = {}
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


def test_gpu_speed_smoke(tmp_path):
    md, js = tmp_path / "gpu_speed.md", tmp_path / "gpu_speed.json"
    proc = _run("gpu_speed.py", "--smoke", "--device", "cpu", "--threads", "1", "--commit", "abc123",
                "--out", str(md), "--json", str(js))
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = md.read_text(encoding="utf-8")
    assert "SMOKE RUN" in text and "≤ 3 s per training epoch on one H100" in text
    assert "- git commit: abc123" in text and "- torch: " in text and "- device: CPU" in text

    train = _table_rows(text, "| variant | precision | torch.compile |")
    assert list(train) == ["fp32 eager", "bf16 eager", "fp32 compile", "bf16 compile", "naive fp32 eager"]
    assert train["fp32 eager"][7] == "1.00×"
    # the compiled variants must compile (dynamic-shape recompilation for the 88-row remainder batch included)
    assert not any("failed" in cells[-1] for cells in train.values()), text

    post = _table_rows(text, "| variant | precision | seconds | site-draws/s |")
    assert list(post) == ["posterior fp32", "posterior bf16"]

    raw = json.loads(js.read_text())
    from jsdm_hot.model.config import ModelConfig
    from jsdm_hot.model.flops import training_flops_per_site

    cfg = ModelConfig(d_model=32, n_layers=2)
    assert raw["training_flops_per_site"] == training_flops_per_site(cfg, 30, 12)["total"]
    fp32 = raw["training"][0]
    assert fp32["samples"] == 600 and len(fp32["epoch_times"]) == 1 and fp32["seconds"] > 0
    for r in raw["training"]:
        # TFLOP/s is analytic FLOPs over the measured time, and the table shows the same numbers
        assert r["flops"] == raw["training_flops_per_site"] * r["samples"]
        assert r["tflops"] == pytest.approx(r["flops"] / r["seconds"] / 1e12)
        assert train[r["label"]][3] == f"{r['seconds']:.3f}"
        assert float(re.sub("[×,]", "", train[r["label"]][7])) == pytest.approx(fp32["seconds"] / r["seconds"], abs=0.006)
    assert [r["samples"] for r in raw["posterior"]] == [64 * 5, 64 * 5]
    assert all(r["rate"] > 0 for r in raw["posterior"])


def test_accuracy_smoke(tmp_path):
    """``benchmarks/accuracy.py --quick`` on scene: one row per model, the search keeps the best validation maF1."""
    import csv

    from conftest import require_shared_data

    require_shared_data("mlc", "scene_train.csv")
    out = tmp_path / "acc.md"
    models = ["hotvae", "logistic", "rf", "lamp"]  # one of each kind (epochs, closed form, trees, attention)
    proc = _run("accuracy.py", "--quick", "--datasets", "scene", "--models", *models, "--seeds", "0", "1",
                "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    md = out.read_text(encoding="utf-8")
    assert "## scene" in md
    assert "Command: `python benchmarks/accuracy.py --quick --datasets scene --models hotvae logistic rf lamp --seeds 0 1" in md
    main = _table_rows(md, "| model | seeds | ebF1 |")
    assert list(main) == models
    assert all(cells[1] == "2" and " ± " in cells[2] for cells in main.values())  # 2 seeds → mean ± sd
    tuned = _table_rows(md, "| model | ebF1 | miF1 | maF1 | Hamming acc. | maF1, per-species test thresholds |")
    assert list(tuned) == ["HOT-VAE paper", *models]
    assert tuned["HOT-VAE paper"][1:5] == ["0.776", "0.757", "0.764", "0.916"]  # paper Table 2 / 3, scene
    summary = _table_rows(md, "| data set | maF1 | median AUC | richness RMSE | βSOR disc. |")
    assert list(summary) == ["scene"] and all(c[0] in "✔✘" for c in summary["scene"][1:])

    with (tmp_path / "acc_runs.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    search = [r for r in rows if r["phase"] == "search"]
    final = [r for r in rows if r["phase"] == "final"]
    assert len(search) == 2 * len(models)  # --quick tries 2 configurations per model
    assert len(final) == 2 * len(models)  # the chosen configuration × 2 seeds
    assert {r["n_test"] for r in rows} == {"1196"}  # the Mulan scene test file
    for m in models:
        best = max((r for r in search if r["model"] == m), key=lambda r: float(r["val_maF1"]))
        chosen = [r for r in final if r["model"] == m]
        assert sorted(r["seed"] for r in chosen) == ["0", "1"]
        assert all(r["params"] == best["params"] for r in chosen), m
        if m in ("hotvae", "mpvae", "lamp", "c2ae"):  # the epoch-trained models
            assert json.loads(best["params"])["max_epochs"] == 2, m  # the --quick epoch cap
    for r in rows:
        for k in ("ebF1", "miF1", "maF1", "hamming_accuracy", "median_auc", "tt_maF1", "tt_ebF1",
                  "tt_maF1_per_label", "richness_cov90"):
            assert 0.0 <= float(r[k]) <= 1.0, (k, r)
        assert float(r["richness_rmse"]) >= 0 and -1 <= float(r["beta_sor_disc"]) <= 1
        # per-species thresholds chosen on the test set itself can only raise test maF1
        assert float(r["tt_maF1_per_label"]) >= float(r["maF1"]) - 1e-9, r
