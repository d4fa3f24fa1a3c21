"""Interrupted work: a training process killed mid-run resumes to the uninterrupted result, and map
writers killed mid-write leave nothing partial under the final file name.

Each test starts a child process (``sys.executable -c``), waits for a point of no
return it can observe (a checkpoint of epoch k on disk, a band written), kills
it with SIGKILL — no cleanup handlers run — and checks what is left on disk.
The child is made to pause at the point to kill by wrapping a method
(``HotVAEModule.loss``, ``rasterio.open``, ``Dataset.to_netcdf``) in the child
only; the computation itself is unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

CONFIG = dict(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, lambda2=1.0, max_epochs=6, patience=10,
              batch_size=64)
DATA = dict(n_sites=200, n_species=6, n_covariates=3, seed=3)
SEED = 7

TRAIN_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    from jsdm_hot import HotVAE
    from jsdm_hot.data.simulate import simulate_community
    from jsdm_hot.model import HotVAEModule

    config, data = eval(sys.argv[1]), eval(sys.argv[2])  # dict literals written by the test
    seed, ckpt, stall_after = int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    original = HotVAEModule.loss
    state = Path(ckpt) / "checkpoint.json"

    def stalling_loss(self, *args, **kwargs):
        # once epoch `stall_after` is checkpointed, stall inside the first batch of the next epoch
        # (mid-epoch: forward done, no optimizer step yet) until the parent kills this process
        if state.exists() and json.loads(state.read_text())["epoch"] >= stall_after:
            print("stalled", flush=True)
            time.sleep(120)
        return original(self, *args, **kwargs)

    HotVAEModule.loss = stalling_loss
    sim = simulate_community(**data)
    HotVAE(**config, random_state=seed, device="cpu", checkpoint_dir=ckpt).fit(sim.data)
    print("finished", flush=True)
    """
)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


@pytest.fixture
def one_thread():
    """torch on one thread for the test (restored after), as in the child processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _checkpoint_epoch(ckpt: Path) -> int | None:
    try:
        return int(json.loads((ckpt / "checkpoint.json").read_text())["epoch"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def test_training_killed_mid_run_resumes_to_the_uninterrupted_result(tmp_path, one_thread, caplog):
    from jsdm_hot import HotVAE
    from jsdm_hot.data.simulate import simulate_community

    ckpt = tmp_path / "ckpt"
    kill_after = 1  # epochs 0 and 1 are checkpointed when the child dies in epoch 2
    proc = subprocess.Popen(
        [sys.executable, "-c", TRAIN_CHILD, repr(CONFIG), repr(DATA), str(SEED), str(ckpt), str(kill_after)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env())
    watchdog = threading.Timer(180, proc.kill)  # a hung child fails the test instead of hanging it
    watchdog.start()
    try:
        line = proc.stdout.readline()  # blocks until the child stalls mid-epoch (or ends)
        assert line.strip() == "stalled", f"child did not reach epoch {kill_after + 1}: {line!r} {proc.communicate()}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the child was not killed (it finished first?)"
    killed_at = _checkpoint_epoch(ckpt)
    assert killed_at == kill_after  # killed during epoch kill_after + 1 of 0..max_epochs - 1
    killed_history = json.loads((ckpt / "checkpoint.json").read_text())["history"]
    assert [h["epoch"] for h in killed_history] == list(range(killed_at + 1))

    data = simulate_community(**DATA).data  # the same data as the child's (seeded simulation)
    with caplog.at_level(logging.INFO, logger="jsdm_hot.training.loop"):
        resumed = HotVAE(**CONFIG, random_state=SEED, device="cpu", checkpoint_dir=ckpt).fit(data, resume=True)
    full = HotVAE(**CONFIG, random_state=SEED, device="cpu").fit(data)

    assert [h["epoch"] for h in resumed.history_] == list(range(CONFIG["max_epochs"]))
    assert resumed.history_ == full.history_  # every epoch's losses and validation scores, bit for bit
    assert resumed.best_epoch_ == full.best_epoch_
    np.testing.assert_array_equal(resumed.predict_proba(data), full.predict_proba(data))
    np.testing.assert_array_equal(resumed.thresholds_, full.thresholds_)
    np.testing.assert_array_equal(resumed.sample(data, n_draws=5, seed=1), full.sample(data, n_draws=5, seed=1))
    # the resumed run really started from the killed child's checkpoint (a fresh run gives the same numbers)
    assert f"resumed from {ckpt} at epoch {killed_at + 1}" in caplog.text
    assert resumed.history_[: killed_at + 1] == killed_history


MAP_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import numpy as np
    import xarray as xr
    import rioxarray  # noqa: F401
    import rasterio
    from jsdm_hot.maps import write_geotiff, write_netcdf

    out, kind = Path(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(0)
    ny, nx, L = 64, 80, 6
    ds = xr.Dataset(
        {"probability": (("species", "y", "x"), rng.random((L, ny, nx)).astype("float32"))},
        coords={"species": [f"sp{i}" for i in range(L)], "y": 10.0 - 0.1 * np.arange(ny) - 0.05,
                "x": 0.1 * np.arange(nx) + 0.05},
    ).rio.write_crs("EPSG:4326")

    if kind == "tif":
        original_open = rasterio.open

        class Slow:
            def __init__(self, dst):
                self.dst = dst
            def __enter__(self):
                self.dst.__enter__()
                return self
            def __exit__(self, *exc):
                return self.dst.__exit__(*exc)
            def write(self, arr, band):
                self.dst.write(arr, band)
                print(f"band {band}", flush=True)
                time.sleep(0.3)
            def __getattr__(self, name):
                return getattr(self.dst, name)

        def slow_open(path, mode="r", **kwargs):
            dst = original_open(path, mode, **kwargs)
            return Slow(dst) if mode == "w" else dst

        rasterio.open = slow_open
        write_geotiff(ds, out, ["probability"])
    else:
        original = xr.Dataset.to_netcdf

        def slow_to_netcdf(self, path, *args, **kwargs):  # the whole file is written, then a pause before the rename
            original(self, path, *args, **kwargs)
            print("written to temporary file", flush=True)
            time.sleep(60)

        xr.Dataset.to_netcdf = slow_to_netcdf
        write_netcdf(ds, out / "maps.nc")
    print("finished", flush=True)
    """
)


def _run_and_kill(out: Path, kind: str, signal_line: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", MAP_CHILD, str(out), kind], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_child_env())
    watchdog = threading.Timer(180, proc.kill)
    watchdog.start()
    try:
        seen = []
        while True:
            line = proc.stdout.readline()
            assert line, f"child ended early: {seen} {proc.communicate()[1][-2000:]}"
            seen.append(line.strip())
            if line.strip() == signal_line:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert "finished" not in seen


def test_geotiff_writer_killed_mid_write_leaves_no_partial_file(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    _run_and_kill(out, "tif", "band 3")  # 3 of 6 bands written
    assert not (out / "probability.tif").exists()
    leftovers = [p.name for p in out.iterdir()]
    assert leftovers and all(n.startswith(".probability.tif.") and n.endswith(".tmp") for n in leftovers), leftovers

    # an earlier complete map under the final name survives an interrupted overwrite
    (out / "probability.tif").write_bytes(b"earlier complete map")
    _run_and_kill(out, "tif", "band 2")
    assert (out / "probability.tif").read_bytes() == b"earlier complete map"


def test_netcdf_writer_killed_before_rename_leaves_no_partial_file(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    _run_and_kill(out, "nc", "written to temporary file")
    assert not (out / "maps.nc").exists()
    assert all(n.name.startswith(".maps.nc.") for n in out.iterdir())

    (out / "maps.nc").write_bytes(b"earlier complete map")
    _run_and_kill(out, "nc", "written to temporary file")
    assert (out / "maps.nc").read_bytes() == b"earlier complete map"
