"""Benchmark: peak memory and speed of :func:`jsdm_hot.maps.predict_map` on a synthetic raster stack.

A stack of ``--bands`` aligned float32 GeoTIFFs of ``--size × --size`` cells
(EPSG:32617, 1 km cells; a disc of nodata covering ~5 % of the cells) is
written strip by strip to a temporary directory. A fresh child process then
maps it with ``--species`` species and ``--draws`` joint draws per cell
(layers: richness, uncertainty, community, exceedance k=10, and every species'
probability) and reports its peak RSS (``ru_maxrss``) and cells/s; with
``--write`` it also writes the GeoTIFFs and the NetCDF.

The model is a fake one with the estimator's interface: logistic occurrence
with a shared latent factor (draws are joint and correlated), so the time is
the map machinery plus cheap numpy sampling, not HOT-VAE's decoder. Use
``--model-dir`` to map with a saved :class:`jsdm_hot.HotVAE` (its covariate
names must be ``band_1``, ``band_2``, ...), or ``--fit-hotvae`` to fit one first: a
HOT-VAE with the library's defaults (residual association on, residual draws; ``d_model``
``--d-model``, default "auto" = 64 on a CPU) trained for 3 epochs on a simulated
community of 2,000 sites whose covariates are named like the bands: the map's cost does
not depend on how well the weights fit.

The issue's target is the full size: ``--size 2000 --species 100 --draws 100``
(4 M cells). On a 2-core shared machine run a reduced size and extrapolate
(the time is linear in cells × draws × species; the memory is the output
arrays, ``n_cells × (n_species + n_layers) × 4`` bytes, plus a per-chunk
working set independent of the grid size).

Usage::

    python benchmarks/map_memory.py --size 500 --draws 100 --species 100   # reduced
    python benchmarks/map_memory.py --full                                 # 2000 × 2000
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


class FakeJointModel:
    """Logistic JSDM with one shared latent factor (float32 numpy), the estimator's interface."""

    def __init__(self, n_features: int, n_species: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.feature_names_in_ = tuple(f"band_{j + 1}" for j in range(n_features))
        self.species_ = tuple(f"species_{i:03d}" for i in range(n_species))
        self.x_min_ = self.x_max_ = np.full(n_features, np.nan)  # no training range: extrapolation not checked
        self.W = rng.normal(0, 1 / np.sqrt(n_features), (n_features, n_species)).astype(np.float32)
        self.b = rng.normal(-1.0, 1.0, n_species).astype(np.float32)
        self.lam = np.abs(rng.normal(1, 0.3, n_species)).astype(np.float32)

    def _eta(self, X):
        return np.asarray(X, dtype=np.float32) @ self.W + self.b

    def predict_proba(self, X):
        return 1.0 / (1.0 + np.exp(-self._eta(X)))

    def sample(self, X, n_draws=100, seed=0):
        rng = np.random.default_rng(seed)
        eta = self._eta(X)
        z = rng.standard_normal((n_draws, eta.shape[0], 1), dtype=np.float32)
        logit = eta[None] + z * self.lam
        # y = 1 iff u < sigmoid(logit)  <=>  log(u / (1 - u)) < logit
        u = rng.random(logit.shape, dtype=np.float32)
        return (np.log(u) - np.log1p(-u) < logit).astype(np.uint8)


def make_stack(directory: Path, size: int, bands: int, seed: int = 0) -> list[Path]:
    """Write ``bands`` aligned GeoTIFFs (size × size, float32, NaN nodata) strip by strip."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    tr = from_origin(200_000, 4_500_000, 1000, 1000)
    paths = []
    coef = rng.normal(0, 1, (bands, 4))
    for j in range(bands):
        path = directory / f"band_{j + 1}.tif"
        with rasterio.open(path, "w", driver="GTiff", height=size, width=size, count=1, dtype="float32",
                           crs="EPSG:32617", transform=tr, nodata=np.nan, tiled=True, blockxsize=256,
                           blockysize=256, compress="deflate") as dst:
            step = 256
            for r0 in range(0, size, step):
                r1 = min(r0 + step, size)
                yy, xx = np.meshgrid(np.arange(r0, r1) / size, np.arange(size) / size, indexing="ij")
                a, b, c, d = coef[j]
                v = a * xx + b * yy + c * np.sin(6 * xx + d) * np.cos(4 * yy)
                v += rng.normal(0, 0.1, v.shape)
                v[(xx - 0.8) ** 2 + (yy - 0.2) ** 2 < 0.016] = np.nan  # ~5 % nodata
                dst.write(v.astype(np.float32), 1, window=Window(0, r0, size, r1 - r0))
        paths.append(path)
    return paths


def fit_hotvae(directory: Path, bands: int, species: int, d_model) -> Path:
    """Fit and save a default HOT-VAE whose covariates are ``band_1 .. band_<bands>`` (see the module doc)."""
    import dataclasses

    import jsdm_hot
    from jsdm_hot.data.simulate import simulate_community

    sim = simulate_community(n_sites=2000, n_species=species, n_covariates=bands, seed=0)
    data = dataclasses.replace(sim.data, covariates=tuple(f"band_{j + 1}" for j in range(bands)))
    model = jsdm_hot.HotVAE(d_model=d_model, max_epochs=3, patience=3, random_state=0, progress=False).fit(data)
    out = directory / "hotvae"
    model.save(out)
    return out


def run_child(args: argparse.Namespace) -> dict:
    """Map the stack in this (fresh) process; return timings and peak RSS."""
    from jsdm_hot.maps import predict_map, write_geotiff, write_netcdf

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.model_dir:
        import jsdm_hot

        model = jsdm_hot.HotVAE.load(args.model_dir)
    else:
        model = FakeJointModel(args.bands, args.species, seed=args.seed)
    t0 = time.perf_counter()
    ds = predict_map(model, Path(args.stack), layers="richness,uncertainty,community,exceedance,species",
                     richness_k=[10], n_draws=args.draws, seed=args.seed, chunk_size=args.chunk_size,
                     seed_block=args.seed_block, progress=False)
    t_map = time.perf_counter() - t0
    rss_map = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_write = None
    if args.write:
        t1 = time.perf_counter()
        out = Path(args.stack) / "out"
        write_geotiff(ds, out)
        write_netcdf(ds, out / "maps.nc")
        t_write = time.perf_counter() - t1
    n_cells = int(ds.attrs["n_cells_predicted"])
    out_bytes = int(sum(v.nbytes for v in ds.data_vars.values()))
    return {
        "n_cells_grid": int(ds.sizes["y"] * ds.sizes["x"]),
        "n_cells_predicted": n_cells,
        "map_seconds": t_map,
        "cells_per_second": n_cells / t_map,
        "write_seconds": t_write,
        "rss_start_mb": rss0 / 1024,
        "peak_rss_map_mb": rss_map / 1024,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "output_arrays_mb": out_bytes / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=500, help="cells per side (issue target: 2000)")
    ap.add_argument("--full", action="store_true", help="the issue's full size: 2000 x 2000 cells")
    ap.add_argument("--species", type=int, default=100)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--bands", type=int, default=8, help="covariate rasters")
    ap.add_argument("--chunk-size", type=int, default=16_384)
    ap.add_argument("--seed-block", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="also write GeoTIFFs and NetCDF")
    ap.add_argument("--model-dir", default=None, help="map with a saved HotVAE instead of the fake model")
    ap.add_argument("--fit-hotvae", action="store_true", help="fit a default HotVAE (3 epochs) and map with it")
    ap.add_argument("--d-model", default="auto", help="d_model of --fit-hotvae ('auto' or an integer)")
    ap.add_argument("--out", type=Path, default=None, help="append a Markdown row to this file")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stack", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.full:
        args.size = 2000
    if args._child:
        print(json.dumps(run_child(args)))
        return
    with tempfile.TemporaryDirectory(prefix="map_memory_") as tmp:
        t0 = time.perf_counter()
        make_stack(Path(tmp), args.size, args.bands, seed=args.seed)
        t_make = time.perf_counter() - t0
        if args.fit_hotvae:
            d_model = args.d_model if args.d_model == "auto" else int(args.d_model)
            args.model_dir = str(fit_hotvae(Path(tmp), args.bands, args.species, d_model))
        cmd = [sys.executable, __file__, "--_child", "--stack", tmp, "--size", str(args.size),
               "--species", str(args.species), "--draws", str(args.draws), "--bands", str(args.bands),
               "--chunk-size", str(args.chunk_size), "--seed-block", str(args.seed_block), "--seed", str(args.seed)]
        if args.write:
            cmd.append("--write")
        if args.model_dir:
            cmd += ["--model-dir", args.model_dir]
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
    r.update(size=args.size, species=args.species, draws=args.draws, bands=args.bands, chunk_size=args.chunk_size,
             seed_block=args.seed_block, make_seconds=t_make)
    print(json.dumps(r, indent=2))
    if args.out:
        model = "fake" if not args.model_dir else f"HotVAE d_model {args.d_model}"
        row = (f"| {model} | {args.size} x {args.size} | {r['n_cells_predicted']:,} | {args.species} | {args.draws} | "
               f"{args.chunk_size} | {r['map_seconds']:.1f} | {r['cells_per_second']:,.0f} | "
               f"{r['output_arrays_mb']:,.0f} | {r['peak_rss_map_mb']:,.0f} | "
               f"{'-' if r['write_seconds'] is None else format(r['write_seconds'], '.1f')} | {r['peak_rss_mb']:,.0f} |")
        with open(args.out, "a") as fh:
            fh.write(row + "\n")
        print(row)


if __name__ == "__main__":
    print(f"# {platform.machine()}, python {platform.python_version()}, numpy {np.__version__}", file=sys.stderr)
    main()
