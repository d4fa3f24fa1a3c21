"""Tests of jsdm_hot.maps: grids, the layer kernel, the chunked map loop, writers, PNGs and the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data
from scipy.special import expit

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps import (
    fit_community_basis,
    grid_from_rasters,
    grid_from_table,
    plot_layer,
    predict_layers,
    predict_map,
    write_geotiff,
    write_netcdf,
    write_pngs,
)
from jsdm_hot.maps.layers import block_seed
from jsdm_hot.metrics.beta import beta_sor

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


class LatentLogitModel:
    """Logistic JSDM with one shared latent factor, so joint draws are correlated across species.

    ``predict_proba`` is the probability at z = 0 (as HOT-VAE's is at the posterior mean);
    ``sample`` draws one z per draw and cell and all species from it. Standardises X
    with stored means / scales, like the real estimator.
    """

    def __init__(self, feature_names, n_species=10, seed=0, loading=1.0, x_mean=None, x_scale=None):
        rng = np.random.default_rng(seed)
        p = len(feature_names)
        self.feature_names_in_ = tuple(feature_names)
        self.x_min_, self.x_max_ = np.full(p, -1e6), np.full(p, 1e6)  # training range: everything inside
        self.species_ = tuple(f"Species {chr(65 + i)}" for i in range(n_species))
        self.W = rng.normal(0, 1.0 / np.sqrt(p), (p, n_species))
        self.b = rng.normal(-0.3, 1.0, n_species)
        self.lam = loading * np.abs(rng.normal(1, 0.3, n_species))
        self.x_mean = np.zeros(p) if x_mean is None else np.asarray(x_mean, float)
        self.x_scale = np.ones(p) if x_scale is None else np.asarray(x_scale, float)
        self.sample_calls = 0

    def _eta(self, X):
        return ((np.asarray(X, float) - self.x_mean) / self.x_scale) @ self.W + self.b

    def predict_proba(self, X):
        return expit(self._eta(X))

    def sample(self, X, n_draws=100, seed=0):
        self.sample_calls += 1
        rng = np.random.default_rng(seed)
        eta = self._eta(X)
        z = rng.standard_normal((n_draws, eta.shape[0], 1))
        p = expit(eta[None] + z * self.lam)
        return (rng.random(p.shape) < p).astype(np.uint8)


def _table(nx=9, ny=7, drop=(3, 10, 40), seed=0, res=0.5):
    """Shuffled table of cells on a lattice (x0=-80.25, y0=30.25), some cells absent."""
    rng = np.random.default_rng(seed)
    xx, yy = np.meshgrid(-80.25 + res * np.arange(nx), 30.25 + res * np.arange(ny))
    df = pd.DataFrame({"x": xx.ravel(), "y": yy.ravel()})
    df["temp"] = 20 - (df["y"] - 30) * 2 + rng.normal(0, 0.5, len(df))
    df["forest"] = np.clip((df["x"] + 81) / 5 + rng.normal(0, 0.1, len(df)), 0, 1)
    df["landcover"] = "forest"  # non-numeric column: not a covariate
    df = df.drop(index=list(drop)).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return df


def _model(n_species=10, loading=1.0, features=("temp", "forest", "effort")):
    k = len(features)
    return LatentLogitModel(list(features), n_species=n_species, loading=loading,
                            x_mean=([15, 0.5] + [60] * k)[:k], x_scale=([3, 0.3] + [30] * k)[:k])


# ----------------------------------------------------------------------------- grids
def test_grid_from_table_lattice_is_north_up_and_places_cells():
    df = _table()
    g = grid_from_table(df)
    assert g.shape == (7, 9)
    np.testing.assert_allclose(g.x, -80.25 + 0.5 * np.arange(9))
    np.testing.assert_allclose(g.y, 30.25 + 0.5 * np.arange(7)[::-1])  # north first
    block = g.read_rows(0, 7, ["temp", "forest"])
    assert block.shape == (7, 9, 2)
    for _, row in df.iterrows():
        r = int(round((g.y[0] - row["y"]) / 0.5))
        c = int(round((row["x"] - g.x[0]) / 0.5))
        assert block[r, c, 0] == row["temp"] and block[r, c, 1] == row["forest"]
    assert np.isnan(block[..., 0]).sum() == 3  # the dropped cells
    assert "landcover" not in g.variables and "temp" in g.variables


def test_grid_from_table_read_cells_matches_read_rows():
    g = grid_from_table(_table(nx=30, ny=20, drop=()))
    flat = np.array([0, 5, 31, 200, 599])
    got = g.read_cells(flat, ["temp"], max_cells=60)  # 2-row strips, some skipped
    full = g.read_rows(0, 20, ["temp"]).reshape(-1, 1)
    np.testing.assert_array_equal(got, full[flat])


def test_grid_from_table_errors_name_rows_and_columns():
    df = _table()
    off = df.copy()
    off.loc[4, "x"] += 0.2
    with pytest.raises(InputDataError, match="row 5 .*not on a regular lattice"):
        grid_from_table(off)
    dup = pd.concat([df, df.iloc[[2]]], ignore_index=True)
    with pytest.raises(InputDataError, match=f"rows 3 and {len(df) + 1} are the same cell"):
        grid_from_table(dup)
    with pytest.raises(InputDataError, match="no coordinate column 'easting'"):
        grid_from_table(df, x="easting")
    lonlat = df.rename(columns={"x": "lon", "y": "lat"})
    assert grid_from_table(lonlat).shape == (7, 9)  # lon/lat found by default


# ----------------------------------------------------------------------------- kernel
def test_predict_layers_equals_hand_computation_from_draws():
    rng = np.random.default_rng(3)
    m = _model(n_species=8, loading=1.5)
    X = np.column_stack([rng.normal(15, 3, 50), rng.uniform(0, 1, 50), np.full(50, 60.0)])
    basis = fit_community_basis(m.predict_proba(X), m.species_, n_axes=2)
    out = predict_layers(m, X, n_draws=40, seed=7, richness_k=(0, 3, 5), community=basis, seed_block=None)
    P = m.predict_proba(X)
    np.testing.assert_allclose(out["probability"], P, rtol=1e-6)
    np.testing.assert_allclose(out["richness"], P.sum(axis=1), rtol=1e-6)
    D = m.sample(X, n_draws=40, seed=7)  # seed_block=None: one call with the seed itself
    R = D.sum(axis=2)
    np.testing.assert_allclose(out["richness_mean"], R.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(out["richness_sd"], R.std(axis=0), rtol=1e-6)
    np.testing.assert_allclose(out["richness_q05"], np.quantile(R, 0.05, axis=0), rtol=1e-6)
    np.testing.assert_allclose(out["richness_q95"], np.quantile(R, 0.95, axis=0), rtol=1e-6)
    np.testing.assert_allclose(out["richness_ge"], np.stack([(R >= k).mean(0) for k in (0, 3, 5)], 1))
    np.testing.assert_array_equal(out["richness_ge"][:, 0], 1.0)  # P(richness >= 0) = 1
    pairs = beta_sor(D[0::2], D[1::2])  # (20, 50): disjoint draw pairs
    np.testing.assert_allclose(out["composition_uncertainty"], pairs.mean(axis=0), rtol=1e-6)
    ref = basis.reference.astype(np.uint8)
    np.testing.assert_allclose(out["beta_sor_reference"], beta_sor(D, ref[None, None, :]).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(out["composition_pc"], (P - basis.mean) @ basis.components.T, rtol=1e-5, atol=1e-6)
    assert out["composition_uncertainty"].min() > 0  # a correlated but uncertain model


def test_composition_uncertainty_zero_for_a_certain_model():
    m = _model(n_species=6, loading=0.0)
    m.b = np.array([30, 30, -30, -30, 30, -30.0])
    m.W[:] = 0
    X = np.zeros((5, 3))
    out = predict_layers(m, X, layers=["composition_uncertainty", "richness_sd"], n_draws=10, seed=0)
    np.testing.assert_array_equal(out["composition_uncertainty"], 0.0)
    np.testing.assert_array_equal(out["richness_sd"], 0.0)
    out = predict_layers(m, X, n_draws=10, seed=0)  # default: every layer that needs no k / community basis
    assert sorted(out) == sorted(["probability", "richness", "richness_mean", "richness_sd", "richness_q05",
                                  "richness_q95", "composition_uncertainty", "extrapolation"])
    np.testing.assert_array_equal(out["richness_q05"], 3.0)  # species 0, 1, 4 always present


def test_default_reference_is_regional_typical_community_and_pca_signs_fixed():
    P = np.array([[0.9, 0.8, 0.1, 0.05], [0.7, 0.6, 0.3, 0.0], [0.95, 0.4, 0.2, 0.1]])
    b = fit_community_basis(P, ["a", "b", "c", "d"], n_axes=2)
    # mean expected richness = (1.85 + 1.6 + 1.65) / 3 = 1.7 -> 2 species: the most prevalent, a (0.85), b (0.6)
    assert b.reference_species == ["a", "b"]
    b1 = fit_community_basis(P[:, [0, 2, 3]], ["a", "c", "d"])  # richness 1.1 -> 1 species
    assert b1.reference_species == ["a"]
    assert np.all(b.components[np.arange(2), np.argmax(np.abs(b.components), 1)] > 0)
    b2 = fit_community_basis(P, ["a", "b", "c", "d"], reference=["c", "d"])
    assert b2.reference_species == ["c", "d"]
    with pytest.raises(InputDataError, match="not in the model: \\['zz'\\]"):
        fit_community_basis(P, ["a", "b", "c", "d"], reference=["zz"])


def test_seed_blocks_use_derived_seeds():
    m = _model()
    X = np.column_stack([np.full(10, 15.0), np.full(10, 0.5), np.full(10, 60.0)])
    out = predict_layers(m, X, layers=["richness_sd"], n_draws=20, seed=4, seed_block=4, first_block=2)
    assert m.sample_calls == 3  # blocks of 4, 4, 2 cells
    expected = np.concatenate([m.sample(X[s:s + 4], 20, block_seed(4, 2 + i)).sum(2).std(0)
                               for i, s in enumerate(range(0, 10, 4))])
    np.testing.assert_allclose(out["richness_sd"], expected, rtol=1e-6)


# ----------------------------------------------------------------------------- map loop
def test_predict_map_table_values_and_interval():
    df = _table()
    m = _model(loading=0.5)
    ds = predict_map(m, df, constants={"effort": 60}, richness_k=[0, 4], n_draws=60)
    assert ds["probability"].dims == ("species", "y", "x")
    assert list(ds["species"].values) == list(m.species_)
    assert ds.rio.crs.to_epsg() == 4326
    g = grid_from_table(df)
    for _, row in df.iterrows():
        r = int(round((g.y[0] - row["y"]) / 0.5))
        c = int(round((row["x"] - g.x[0]) / 0.5))
        p = m.predict_proba(np.array([[row["temp"], row["forest"], 60.0]]))[0]
        np.testing.assert_allclose(ds["probability"].values[:, r, c], p, rtol=1e-5)
        np.testing.assert_allclose(ds["richness"].values[r, c], p.sum(), rtol=1e-5)
    assert int(np.isnan(ds["richness"].values).sum()) == 3
    rich = ds["richness"].values
    np.testing.assert_allclose(rich, ds["probability"].sum("species", skipna=False).values, rtol=1e-5)
    ok = np.isfinite(rich)
    lo, hi, mean = (ds[v].values[ok] for v in ("richness_q05", "richness_q95", "richness_mean"))
    assert np.all(lo <= rich[ok]) and np.all(rich[ok] <= hi)  # a well-behaved model: point richness inside
    assert np.all(lo <= mean + 1e-4) and np.all(mean <= hi + 1e-4)
    np.testing.assert_array_equal(ds["richness_ge"].sel(k=0).values[ok], 1.0)
    assert ds.attrs["n_cells_predicted"] == len(df)


def test_predict_map_chunking_gives_identical_maps():
    df = _table(nx=25, ny=20, drop=(0, 7, 99, 250))
    m = _model(loading=1.0)
    kw = dict(constants={"effort": 45}, richness_k=[3], n_draws=30, seed=11,
              layers="richness,uncertainty,community,exceedance,species")
    one = predict_map(m, df, chunk_size=100_000, seed_block=16, **kw)
    many = predict_map(m, df, chunk_size=40, seed_block=16, **kw)  # 3 seed blocks per chunk
    for name in one.data_vars:
        np.testing.assert_array_equal(one[name].values, many[name].values, err_msg=name)
    other = predict_map(m, df, chunk_size=40, seed_block=16, **{**kw, "seed": 12})
    assert not np.array_equal(np.nan_to_num(one["richness_sd"].values), np.nan_to_num(other["richness_sd"].values))


def test_predict_map_missing_covariates_listed():
    m = _model(features=("temp", "forest", "duration_minutes", "number_observers"))
    with pytest.raises(InputDataError) as err:
        predict_map(m, _table(), n_draws=5)
    msg = str(err.value)
    assert "['duration_minutes', 'number_observers']" in msg and "constants" in msg
    with pytest.raises(InputDataError, match="constants \\['durration'\\] are not covariates"):
        predict_map(m, _table(), constants={"durration": 1}, n_draws=5)
    ds = predict_map(m, _table(), constants={"duration_minutes": 60, "number_observers": 1}, n_draws=5,
                     layers="richness")
    assert list(ds.data_vars) == ["richness"]


def test_effort_fills_missing_effort_covariates():
    m = _model(features=("temp", "forest", "duration_h", "time_sin", "n_observers"))
    effort = {"duration_h": 1.0, "time_sin": 1.0, "time_cos": 0.0, "n_observers": 1.0}  # as the caller computes it
    ds = predict_map(m, _table(), effort=effort, constants={"n_observers": 2}, layers="richness")
    # the explicit constant wins for n_observers; time_cos is not a model covariate: ignored
    assert ds.attrs["constants"] == "duration_h=1,time_sin=1,n_observers=2"
    assert ds.attrs["effort"] == "duration_h=1,time_sin=1"
    df = _table()
    P = m.predict_proba(np.column_stack([df["temp"], df["forest"], np.ones(len(df)), np.ones(len(df)),
                                         np.full(len(df), 2.0)]))
    np.testing.assert_allclose(np.sort(ds["richness"].values[np.isfinite(ds["richness"].values)]),
                               np.sort(P.sum(1)), rtol=1e-5)


def test_predict_map_bad_layers_and_species():
    m = _model()
    with pytest.raises(InputDataError, match="unknown map layer 'richnes'"):
        predict_map(m, _table(), constants={"effort": 1}, layers="richnes")
    with pytest.raises(InputDataError, match="'Species Z' is not a species"):
        predict_map(m, _table(), constants={"effort": 1}, layers="species:Species Z")
    with pytest.raises(InputDataError, match="needs thresholds"):
        predict_map(m, _table(), constants={"effort": 1}, layers="exceedance")
    ds = predict_map(m, _table(), constants={"effort": 1}, layers="species:Species B,richness")
    assert list(ds["species"].values) == ["Species B"]


def _write_tif(path, data, transform, crs, nodata=None):
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data.astype(np.float32), 1)


def test_predict_map_raster_stack_directory_skips_nodata(tmp_path):
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    ny, nx = 12, 15
    tr = from_origin(500_000, 4_000_000, 1000, 1000)
    temp = rng.normal(15, 3, (ny, nx))
    forest = rng.uniform(0, 1, (ny, nx))
    temp[0, :] = -9999  # a whole row of nodata (explicit nodata value)
    forest[5, 3] = np.nan
    d = tmp_path / "rasters"
    d.mkdir()
    _write_tif(d / "temp.tif", temp, tr, "EPSG:32617", nodata=-9999)
    _write_tif(d / "forest.tif", forest, tr, "EPSG:32617", nodata=np.nan)
    m = _model()
    ds = predict_map(m, d, constants={"effort": 60}, n_draws=10, layers="richness,species", chunk_size=50)
    assert ds.rio.crs.to_epsg() == 32617
    assert ds["richness"].shape == (ny, nx)
    np.testing.assert_allclose(ds["x"].values, 500_500 + 1000 * np.arange(nx))
    np.testing.assert_allclose(ds["y"].values, 3_999_500 - 1000 * np.arange(ny))
    valid = np.ones((ny, nx), bool)
    valid[0, :] = False
    valid[5, 3] = False
    assert np.array_equal(np.isfinite(ds["richness"].values), valid)
    X = np.column_stack([temp[valid], forest[valid].astype(np.float32), np.full(valid.sum(), 60.0)])
    X[:, 0] = X[:, 0].astype(np.float32)
    np.testing.assert_allclose(ds["probability"].values[:, valid].T, m.predict_proba(X), rtol=1e-5)
    assert ds["x"].attrs["units"] == "m"
    # same stack as a list of paths and as an xarray Dataset
    ds2 = predict_map(m, [d / "temp.tif", d / "forest.tif"], constants={"effort": 60}, layers="richness")
    np.testing.assert_array_equal(ds2["richness"].values, ds["richness"].values)
    g = grid_from_rasters(d)
    assert sorted(g.variables) == ["forest", "temp"]


def test_grid_without_complete_cells_and_unknown_inputs_rejected(tmp_path):
    from jsdm_hot.maps import open_grid

    df = _table()
    df.loc[df.index[::2], "temp"] = np.nan
    df.loc[df.index[1::2], "forest"] = np.nan
    with pytest.raises(InputDataError, match=r"no cell of grid table has all covariates \['temp', 'forest'\]"):
        predict_map(_model(), df, constants={"effort": 1})
    with pytest.raises(InputDataError, match="unsupported grid of type int"):
        open_grid(3)
    with pytest.raises(InputDataError, match="raster path .*nothere does not exist"):
        open_grid(tmp_path / "nothere")


def test_misaligned_rasters_rejected(tmp_path):
    from rasterio.transform import from_origin

    a = np.ones((4, 5))
    _write_tif(tmp_path / "a.tif", a, from_origin(0, 10, 1, 1), "EPSG:32617")
    _write_tif(tmp_path / "b.tif", a, from_origin(0.5, 10, 1, 1), "EPSG:32617")
    with pytest.raises(InputDataError, match="b.tif is not aligned with .*a.tif"):
        grid_from_rasters(tmp_path)


# ----------------------------------------------------------------------------- writers
@pytest.fixture(scope="module")
def small_map():
    m = _model(loading=0.8)
    df = _table()
    ds = predict_map(m, df, constants={"effort": 60}, richness_k=[2, 5], n_draws=30)
    return m, df, ds


def test_geotiff_round_trip(small_map, tmp_path):
    import rioxarray

    m, df, ds = small_map
    files = write_geotiff(ds, tmp_path)
    assert {p.name for p in files} == {f"{n}.tif" for n in ds.data_vars}
    prob = rioxarray.open_rasterio(tmp_path / "probability.tif", masked=True)
    assert prob.rio.crs.to_epsg() == 4326
    assert prob.shape == (len(m.species_), 7, 9)
    np.testing.assert_allclose(prob["x"].values, ds["x"].values)
    np.testing.assert_allclose(prob["y"].values, ds["y"].values)
    np.testing.assert_array_equal(prob.values, ds["probability"].values)  # NaN where NaN
    assert list(prob.attrs["long_name"]) == list(m.species_)
    # values equal predict_proba at the cells
    g = grid_from_table(df)
    r = np.rint((g.y[0] - df["y"].to_numpy()) / 0.5).astype(int)
    c = np.rint((df["x"].to_numpy() - g.x[0]) / 0.5).astype(int)
    P = m.predict_proba(np.column_stack([df["temp"], df["forest"], np.full(len(df), 60.0)]))
    np.testing.assert_allclose(prob.values[:, r, c].T, P, rtol=1e-5)
    rich = rioxarray.open_rasterio(tmp_path / "richness.tif", masked=True)
    assert rich.shape == (1, 7, 9) and np.isnan(rioxarray.open_rasterio(tmp_path / "richness.tif").rio.nodata)
    np.testing.assert_allclose(rich.values[0], ds["richness"].values, rtol=1e-6)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("engine", ["h5netcdf", "scipy"])
def test_netcdf_round_trip_with_cf_attributes(small_map, tmp_path, engine):
    import xarray as xr

    if engine == "h5netcdf":
        pytest.importorskip("h5py")
    m, df, ds = small_map
    path = write_netcdf(ds, tmp_path / "maps.nc", engine=engine)
    back = xr.open_dataset(path, decode_coords="all", engine=engine)
    try:
        assert back.attrs["Conventions"] == "CF-1.8"
        for name in ds.data_vars:
            np.testing.assert_array_equal(back[name].values, ds[name].values)
            assert back[name].attrs["units"] == ds[name].attrs["units"]
            assert back[name].attrs["long_name"] == ds[name].attrs["long_name"]
        assert back["richness"].encoding.get("grid_mapping", back["richness"].attrs.get("grid_mapping")) == "spatial_ref"
        assert back.rio.crs.to_epsg() == 4326
        assert back["x"].attrs["units"] == "degrees_east" and back["y"].attrs["standard_name"] == "latitude"
        assert [str(s) for s in back["species"].values] == list(m.species_)
    finally:
        back.close()


def test_writes_are_atomic(small_map, tmp_path, monkeypatch):
    import xarray as xr

    _, _, ds = small_map
    final = tmp_path / "maps.nc"
    final.write_text("previous complete file")

    def boom(self, path, *a, **k):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        write_netcdf(ds, final)
    assert final.read_text() == "previous complete file"
    assert sorted(os.listdir(tmp_path)) == ["maps.nc"]
    monkeypatch.undo()
    write_geotiff(ds, tmp_path, ["richness"])
    with pytest.raises(InputDataError, match="richness.tif already exists"):
        write_geotiff(ds, tmp_path, ["richness"], overwrite=False)


def test_pngs_have_colorbar_units_and_titles(small_map, tmp_path):
    m, df, ds = small_map
    files = write_pngs(ds, tmp_path, ["richness", "richness_sd", "probability", "richness_ge"],
                       points=df[["x", "y"]].to_numpy()[:10])
    names = {p.name for p in files}
    assert "richness.png" in names and "richness_ge_5.png" in names and "probability_Species_A.png" in names
    for p in files:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
    fig = plot_layer(ds, "richness_sd")
    ax, cax = fig.axes
    assert ax.get_xlabel() == "longitude" and ax.get_ylabel() == "latitude"
    fmt_x, fmt_y = ax.xaxis.get_major_formatter(), ax.yaxis.get_major_formatter()
    assert (fmt_x(-80.5), fmt_x(0.0), fmt_x(12.0)) == ("80.5\u00b0W", "0\u00b0", "12\u00b0E")
    assert (fmt_y(30.0), fmt_y(-5.25)) == ("30\u00b0N", "5.25\u00b0S")
    assert "number of species" in cax.get_ylabel()
    assert "standard deviation" in ax.get_title() and "30 joint posterior draws" in ax.get_title()
    assert ax.images[0].get_cmap().name.startswith("magma")
    fig = plot_layer(ds, "probability", index="Species C")
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0) and "Species C" in fig.axes[0].get_title()
    ax = plot_layer(ds, "richness_ge", index=5).axes[0]
    assert ax.get_title().startswith("posterior probability that species richness \u2265 5")
    evr = ds.attrs["pca_explained_variance_ratio"]
    ax = plot_layer(ds, "composition_pc", index=2).axes[0]
    assert ax.get_title() == f"predicted species composition: principal axis 2 ({100 * evr[1]:.0f}% of variance)"
    assert ax.images[0].get_clim()[0] == -ax.images[0].get_clim()[1]  # diverging map centred on 0
    with pytest.raises(InputDataError, match="'Species Q' is not in the map"):
        plot_layer(ds, "probability", index="Species Q")


# ----------------------------------------------------------------------------- CLI
def test_cli_map_writes_all_formats(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import jsdm_hot.registry
    from jsdm_hot.cli import app

    grid = tmp_path / "grid.csv"
    _table().to_csv(grid, index=False)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    seen = {}

    def fake_load_model(path, device="auto"):
        seen["path"] = Path(path)
        return _model()

    monkeypatch.setattr(jsdm_hot.registry, "load_model", fake_load_model)
    out = tmp_path / "maps"
    runner = CliRunner()
    res = runner.invoke(app, ["map", str(model_dir), str(grid), "--out", str(out), "--layers",
                              "richness,uncertainty,species:Species B", "--k", "2,4", "--draws", "20",
                              "--constant", "effort=60", "--no-progress"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert seen["path"] == model_dir
    for f in ("richness.tif", "richness_sd.tif", "richness_ge.tif", "probability.tif", "maps.nc",
              "richness.png", "richness_ge_4.png", "probability_Species_B.png"):
        assert (out / f).exists(), f
    res = runner.invoke(app, ["map", str(model_dir), str(grid), "--out", str(out), "--constant", "effort=60"])
    assert res.exit_code != 0 and "--overwrite" in str(res.exception)
    res = runner.invoke(app, ["map", str(model_dir), str(grid), "--out", str(tmp_path / "o2"), "--no-progress"])
    assert res.exit_code != 0 and "['effort']" in str(res.exception)


# ----------------------------------------------------------------------------- real HotVAE, real data
def _roccupy_or_skip() -> Path:
    return require_shared_data("ebird_roccupy")


@pytest.mark.slow
def test_hotvae_on_roccupy_grid_round_trip(tmp_path):
    """Issue 8 acceptance: fit on ebird_roccupy, map the 3,502-cell grid, check the files."""
    import rioxarray
    import torch
    import xarray as xr

    from jsdm_hot import HotVAE

    d = _roccupy_or_skip()
    torch.manual_seed(0)
    grid = pd.read_csv(d / "grid.csv")
    chk = pd.read_csv(d / "checklists.csv", usecols=["grid_row", "duration_minutes"])
    occ = pd.read_csv(d / "occurrences.csv").drop(columns="checklist_id")
    env = ["bio1", "bio12", "bio4", "X41", "X42", "X21"]
    X = chk.merge(grid[["grid_row", *env]], on="grid_row", how="left")[[*env, "duration_minutes"]]
    n = 800
    model = HotVAE(max_epochs=1, d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, lambda2=1.0,
                   batch_size=256, patience=1, device="cpu", random_state=0)
    model.fit(X.iloc[:n], occ.iloc[:n])
    ds = predict_map(model, grid, constants={"duration_minutes": 60}, n_draws=20, richness_k=[5],
                     layers="richness,uncertainty,community,exceedance,species", chunk_size=2048)
    assert ds["richness"].count() == len(grid) == 3502
    write_geotiff(ds, tmp_path, ["probability", "richness", "richness_mean", "richness_q05", "richness_q95"])
    write_netcdf(ds, tmp_path / "maps.nc")
    g = grid_from_table(grid)
    r = np.rint((g.y[0] - grid["y"].to_numpy()) / g.resolution[1]).astype(int)
    c = np.rint((grid["x"].to_numpy() - g.x[0]) / g.resolution[0]).astype(int)
    Xg = grid[env].assign(duration_minutes=60.0)
    P = model.predict_proba(Xg.to_numpy())
    prob = rioxarray.open_rasterio(tmp_path / "probability.tif", masked=True)
    assert prob.rio.crs.to_epsg() == 4326 and prob.shape == (32, *g.shape)
    np.testing.assert_allclose(prob.values[:, r, c].T, P, rtol=1e-5, atol=1e-6)
    rich = rioxarray.open_rasterio(tmp_path / "richness.tif", masked=True).values[0]
    np.testing.assert_allclose(rich[r, c], P.sum(axis=1), rtol=1e-5)
    lo, hi, mean = (rioxarray.open_rasterio(tmp_path / f"richness_{s}.tif", masked=True).values[0][r, c]
                    for s in ("q05", "q95", "mean"))
    # The 90% interval of the joint draws contains their mean (with 20 draws and numpy's linear
    # quantiles this holds exactly; 1e-4 absorbs float32 rounding). The point richness (z at the
    # posterior mean) of this 1-epoch model need not lie inside: see jsdm_hot.maps.layers.
    assert np.all(lo <= mean + 1e-4) and np.all(mean <= hi + 1e-4)
    assert np.all(ds["richness_sd"].values[r, c] >= 0) and np.max(ds["richness_sd"].values[r, c]) > 0
    with xr.open_dataset(tmp_path / "maps.nc", decode_coords="all") as back:
        np.testing.assert_array_equal(back["probability"].values, ds["probability"].values)
        assert back.rio.crs.to_epsg() == 4326
