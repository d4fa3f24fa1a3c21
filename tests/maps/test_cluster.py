"""Maps on a dask.distributed cluster (jsdm_hot.maps.cluster): identical to the single-process maps."""

from __future__ import annotations

import contextlib
import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from jsdm_hot.errors import InputDataError, ModelFileError  # noqa: E402
from jsdm_hot.maps import predict_map  # noqa: E402

KW = dict(layers="richness,uncertainty,community,exceedance,species", richness_k=[2], n_draws=12, seed=5,
          chunk_size=96, seed_block=32)  # 600 - 7 valid cells -> 7 chunks of 3 seed blocks


@contextlib.contextmanager
def _torch_threads(n: int):
    """The workers run torch on one thread; so does the single-process reference (bit-identical floats)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, small_sim, tiny_params):
    from jsdm_hot import HotVAE

    model = HotVAE(**tiny_params, device="cpu", random_state=0).fit(small_sim.data)
    return model.save(tmp_path_factory.mktemp("cluster") / "model")


@pytest.fixture(scope="module")
def grid_csv(tmp_path_factory, small_sim):
    """A 30 x 20 lattice of cells with the model's covariates (in the training range), 7 cells incomplete."""
    rng = np.random.default_rng(3)
    xx, yy = np.meshgrid(-84.0 + 0.25 * np.arange(30), 34.0 + 0.25 * np.arange(20))
    df = pd.DataFrame({"x": xx.ravel(), "y": yy.ravel()})
    for name in small_sim.data.covariates:
        df[name] = rng.normal(0, 1, len(df))
    df.loc[[0, 5, 77, 300, 301, 450, 599], "forest"] = np.nan
    path = tmp_path_factory.mktemp("cluster_grid") / "grid.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def reference(model_dir, grid_csv):
    with _torch_threads(1):
        return predict_map(model_dir, grid_csv, device="cpu", **KW)


@pytest.fixture(scope="module")
def client():
    import os

    from jsdm_hot.maps.cluster import dask_client

    before = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    with dask_client("local", n_workers=2) as c:  # LocalCluster: 2 processes, 1 thread each
        yield c
    assert os.environ.get("MALLOC_TRIM_THRESHOLD_") == before  # the driver's environment is restored


def _assert_same_maps(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        va, vb = a[name].values, b[name].values
        np.testing.assert_array_equal(np.isnan(va), np.isnan(vb), err_msg=f"{name}: NaN positions")
        np.testing.assert_array_equal(va, vb, err_msg=name)
    for c in ("species", "k", "axis", "x", "y"):
        if c in a.coords:
            np.testing.assert_array_equal(a[c].values, b[c].values)
    assert a.attrs["n_cells_predicted"] == b.attrs["n_cells_predicted"]
    np.testing.assert_array_equal(a.attrs["pca_explained_variance_ratio"], b.attrs["pca_explained_variance_ratio"])


def test_dask_cluster_maps_identical_to_single_process(model_dir, grid_csv, reference, client):
    ds = predict_map(model_dir, grid_csv, device="cpu", scheduler=client.scheduler.address, **KW)  # tcp://
    _assert_same_maps(reference, ds)
    assert int(np.isfinite(ds["richness"].values).sum()) == 600 - 7
    assert ds.sizes["species"] == 8 and np.nanmax(ds["richness_sd"].values) > 0  # real draws, not constants
    # every worker took chunks and loaded the model once, from the directory (no pickled module)
    loaded = client.run(lambda: sorted(k[0] for k in __import__("jsdm_hot.maps.cluster", fromlist=["x"])
                                       ._MODEL_CACHE))
    assert len(loaded) == 2 and all(v == [str(model_dir)] for v in loaded.values())
    # workers run torch on one thread, without dask's MALLOC_TRIM_THRESHOLD_ (3x slower sampling)
    env = client.run(lambda: (__import__("torch").get_num_threads(),
                              __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_")))
    assert all(v == (1, None) for v in env.values()), env
    # a second map reuses the cached models and still matches; a different seed changes the draws
    again = predict_map(model_dir, grid_csv, device="cpu", scheduler=client, **KW)
    _assert_same_maps(reference, again)
    other = predict_map(model_dir, grid_csv, device="cpu", scheduler=client, **{**KW, "seed": 6})
    assert not np.array_equal(np.nan_to_num(other["richness_sd"].values), np.nan_to_num(ds["richness_sd"].values))


def test_worker_errors_reach_the_driver(model_dir, grid_csv, client, tmp_path):
    from jsdm_hot.maps.chunk import ChunkSpec
    from jsdm_hot.maps.cluster import map_chunks

    spec = ChunkSpec(layers=("richness",), n_draws=2, seed=0, richness_k=(), species_index=None, community=None,
                     seed_block=4)
    chunks = [(0, np.arange(3), np.zeros((3, 4)))]
    with pytest.raises(ModelFileError, match="does not exist .*on dask worker host .*filesystem they share"):
        list(map_chunks(client, str(tmp_path / "nowhere"), chunks, spec, device="cpu"))


def test_bad_scheduler_is_a_clear_input_error_and_fast(model_dir, grid_csv):
    t0 = time.perf_counter()
    with pytest.raises(InputDataError, match=r"could not connect to the dask scheduler at tcp://127\.0\.0\.1:9 "
                                             r"within 1 s"):
        predict_map(model_dir, grid_csv, device="cpu", scheduler="tcp://127.0.0.1:9", connect_timeout=1, **KW)
    assert time.perf_counter() - t0 < 15
    with pytest.raises(InputDataError, match="neither 'local' nor a scheduler address"):
        predict_map(model_dir, grid_csv, device="cpu", scheduler="localhost:8786", **KW)
    with pytest.raises(InputDataError, match="at least 1 worker"):
        predict_map(model_dir, grid_csv, device="cpu", scheduler="local", n_workers=0, **KW)


def test_scheduler_needs_a_model_directory(model_dir, grid_csv):
    from jsdm_hot import HotVAE

    model = HotVAE.load(model_dir, device="cpu")
    with pytest.raises(InputDataError, match="needs the model directory, not a loaded HotVAE"):
        predict_map(model, grid_csv, scheduler="local", **KW)


def test_cli_map_local_scheduler_matches_single_process(model_dir, grid_csv, reference, tmp_path):
    import xarray as xr
    from typer.testing import CliRunner

    from jsdm_hot.cli import app

    out = tmp_path / "maps"
    args = ["map", str(model_dir), str(grid_csv), "--out", str(out), "--layers", KW["layers"], "--k", "2",
            "--draws", "12", "--seed", "5", "--chunk-size", "96", "--seed-block", "32", "--device", "cpu",
            "--format", "nc", "--no-progress"]
    runner = CliRunner()
    res = runner.invoke(app, [*args, "--scheduler", "local", "--workers", "2"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "mapped 593 cells" in res.output
    with xr.open_dataset(out / "maps.nc") as back:
        for name in reference.data_vars:
            np.testing.assert_array_equal(back[name].values, reference[name].values, err_msg=name)
    res = runner.invoke(app, [*args[:4], str(tmp_path / "o2"), *args[5:], "--workers", "2"])
    assert res.exit_code != 0 and "--scheduler local" in str(res.exception)
    assert "--scheduler" in runner.invoke(app, ["map", "--help"]).output
