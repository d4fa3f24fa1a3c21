"""Data-parallel training with torchrun + gloo on CPU equals single-process training."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from jsdm_hot.training import distributed

HERE = Path(__file__).resolve().parent


def _torchrun(args: list[str], tmp_path: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    # the worker's folder first, then the caller's path (so the workers import the jsdm_hot under test)
    pythonpath = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": pythonpath}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)


def test_shard_bounds_cover_rows_in_order():
    for n in (0, 1, 7, 50, 51):
        for world in (1, 2, 3):
            parts = [distributed.shard_bounds(n, r, world) for r in range(world)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            sizes = [b - a for a, b in parts]
            assert max(sizes) - min(sizes) <= 1


def test_loss_rescaling_reproduces_global_batch_loss():
    """Mean of per-rank rescaled losses == loss of the global batch (what DDP optimises)."""
    from jsdm_hot.model import HotVAEModule, ModelConfig
    from jsdm_hot.model.losses import ranked_sites

    torch.manual_seed(0)
    cfg = ModelConfig(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, n_layers=2, dropout=0.0)
    module = HotVAEModule(5, 6, cfg).eval()
    x = torch.randn(9, 5)
    y = (torch.rand(9, 6) < 0.4).float()
    y[0] = 0.0  # a site the ranking loss must skip
    whole = module.loss(module(x, y), y)
    counts = (9, ranked_sites(y), 2)
    parts = [module.loss(module(x[a:b], y[a:b]), y[a:b], global_counts=counts)
             for a, b in (distributed.shard_bounds(9, r, 2) for r in range(2))]
    for name in ("loss", "bce", "intermediate_bce", "ranking", "kl"):
        mean = (getattr(parts[0], name) + getattr(parts[1], name)) / 2
        torch.testing.assert_close(mean, getattr(whole, name), rtol=1e-5, atol=1e-6)


def test_sharded_noise_equals_global_draw():
    from jsdm_hot.model.encoders import reparameterize

    mu, logvar = torch.zeros(10, 2, 3), torch.zeros(10, 2, 3)
    torch.manual_seed(5)
    whole = reparameterize(mu, logvar)
    torch.manual_seed(5)
    part = reparameterize(mu[4:7], logvar[4:7], shard=(4, 7, 10))
    torch.testing.assert_close(part, whole[4:7])
    with pytest.raises(ValueError, match="shard"):
        reparameterize(mu[:3], logvar[:3], shard=(0, 2, 10))


def test_gather_rows_single_process_is_identity():
    a = np.arange(6).reshape(3, 2)
    assert distributed.gather_rows(a, distributed.DistContext()) is a


def test_two_process_gloo_training_equals_single_process(tmp_path):
    """torchrun, 2 CPU processes, gloo: same weights, history and thresholds as one process."""
    sys.path.insert(0, str(HERE))
    try:
        from ddp_fit_worker import fit_example
    finally:
        sys.path.remove(str(HERE))
    res = _torchrun([str(HERE / "ddp_fit_worker.py"), str(tmp_path / "ddp_model")], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]

    from jsdm_hot import HotVAE

    torch.set_num_threads(1)
    single = fit_example({})
    ddp = HotVAE.load(tmp_path / "ddp_model", device="cpu")
    assert len(ddp.history_) == len(single.history_) == 3
    for a, b in zip(ddp.history_, single.history_):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
        assert a["val_maf1"] == pytest.approx(b["val_maf1"], abs=1e-6)
    # Gradients agree to float rounding (the ranks sum in another order); Adam divides
    # by sqrt(v), so where a gradient is ~0 such rounding moves an update by a fraction
    # of lr (7.5e-4). Weights are compared at that scale, predictions tightly.
    s_single = single.module_.state_dict()
    for k, v in ddp.module_.state_dict().items():
        torch.testing.assert_close(v, s_single[k], rtol=0, atol=3e-4, msg=lambda m, k=k: f"{k}: {m}")
    x = single.x_mean_[None, :] + single.x_scale_[None, :] * np.random.default_rng(0).normal(size=(40, single.n_features_in_))
    np.testing.assert_allclose(ddp.predict_proba(x), single.predict_proba(x), atol=2e-4)
    np.testing.assert_allclose(ddp.thresholds_, single.thresholds_, atol=1e-6)
    # and it did train: the weights moved away from the shared initialisation
    assert single.history_[-1]["loss"] < single.history_[0]["loss"]


def test_cli_devices_two_relaunches_under_torchrun(tmp_path):
    """`jsdm-hot fit --devices 2` trains with 2 gloo processes and rank 0 alone writes the model."""
    from jsdm_hot import HotVAE

    jsdm = Path(sys.executable).with_name("jsdm-hot")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    sim = subprocess.run([str(jsdm), "simulate", str(tmp_path / "ex"), "--sites", "200", "--species", "6", "--seed", "2"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert sim.returncode == 0, sim.stderr
    args = [str(jsdm), "fit", str(tmp_path / "ex" / "community.csv"), "--out", str(tmp_path / "model"),
            "--epochs", "2", "--d-model", "16", "--test-frac", "0", "--device", "cpu", "--no-progress"]
    res = subprocess.run([*args, "--devices", "2"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "launching 2 training processes" in res.stderr
    model = HotVAE.load(tmp_path / "model", device="cpu")
    assert len(model.history_) == 2 and len(model.species_) == 6
    bad = subprocess.run([*args, "--overwrite", "--devices", "0"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--devices must be >= 1" in bad.stderr
