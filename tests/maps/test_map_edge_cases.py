"""Map edge cases of issue 15: constants-only maps, masks, extrapolation, metadata, permissions, figures."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data
from scipy.special import expit

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps import (
    MapOptions,
    grid_from_rasters,
    open_grid,
    plot_layer,
    predict_map,
    write_geotiff,
    write_netcdf,
    write_pngs,
)

TEMPLATE = "prediction-grid_us-ga.tif"


class TinyModel:
    """Independent logistic species; the estimator contract incl. the training range."""

    def __init__(self, features=("temp", "effort"), x_min=(10.0, 5.0), x_max=(20.0, 120.0), n_species=4):
        self.feature_names_in_ = tuple(features)
        self.species_ = tuple(f"sp{i}" for i in range(n_species))
        self.x_min_, self.x_max_ = np.asarray(x_min, float), np.asarray(x_max, float)
        self.W = np.linspace(-0.2, 0.2, len(features) * n_species).reshape(len(features), n_species)

    def predict_proba(self, X):
        return expit((np.asarray(X, float) - self.x_min_) @ self.W - 0.5)

    def sample(self, X, n_draws=100, seed=0):
        p = self.predict_proba(X)
        return (np.random.default_rng(seed).random((n_draws, *p.shape)) < p).astype(np.uint8)


def _table(n=6):
    """A 6 x 6 lattice, temperature 8..22 from west to east (so the westmost and eastmost columns leave [10, 20])."""
    xx, yy = np.meshgrid(-84.0 + np.arange(n), 33.0 + np.arange(n))
    return pd.DataFrame({"x": xx.ravel(), "y": yy.ravel(), "temp": 8.0 + 14.0 * (xx.ravel() + 84.0) / (n - 1)})


def _rasters() -> Path:
    return require_shared_data("rasters")


# ----------------------------------------------------------------------------- constants only, masks
def test_every_covariate_a_constant_maps_the_grid_domain():
    """B-MAP-02: no covariate from the grid -> the table's cells (rows) are mapped, all alike."""
    df = _table().drop(index=[0, 7, 20])
    m = TinyModel()
    ds = predict_map(m, df, constants={"temp": 15.0, "effort": 60.0}, n_draws=4, layers="richness,species")
    ok = np.isfinite(ds["richness"].values)
    assert ok.sum() == len(df) == 33
    expected = m.predict_proba(np.array([[15.0, 60.0]]))[0]
    np.testing.assert_allclose(ds["probability"].values[:, ok].T, np.tile(expected, (33, 1)), rtol=1e-6)
    assert ds.attrs["covariates_from_grid"] == "" and ds.attrs["constants"] == "temp=15,effort=60"


def test_constants_only_on_a_template_raster_honours_its_nan_mask(tmp_path):
    """B-MAP-02 on the real Georgia template: only its 16,940 non-NaN cells are mapped, in every layer."""
    import rasterio

    path = _rasters() / TEMPLATE
    with rasterio.open(path) as src:
        inside = np.isfinite(src.read(1))
    assert inside.sum() == 16_940 and inside.size == 25_308
    m = TinyModel()
    ds = predict_map(m, path, constants={"temp": 15.0, "effort": 60.0}, n_draws=3, chunk_size=4096,
                     layers="richness,richness_sd,species,extrapolation")
    assert ds.attrs["n_cells_predicted"] == 16_940
    for name in ds.data_vars:
        vals = ds[name].values
        mapped = np.isfinite(vals) if vals.ndim == 2 else np.isfinite(vals).all(axis=0)
        np.testing.assert_array_equal(mapped, inside, err_msg=name)
    # written to GeoTIFF, the nodata cells are those of the template
    write_geotiff(ds, tmp_path, ["richness"])
    with rasterio.open(tmp_path / "richness.tif") as dst:
        np.testing.assert_array_equal(np.isfinite(dst.read(1)), inside)


def test_mask_variable_restricts_a_raster_stack(tmp_path):
    """A covariate raster aligned with the template covers the whole box; mask= keeps the state only."""
    import rasterio

    with rasterio.open(_rasters() / TEMPLATE) as src:
        profile, inside = src.profile, np.isfinite(src.read(1))
    temp = np.linspace(10, 20, inside.size, dtype=np.float32).reshape(inside.shape)
    with rasterio.open(tmp_path / "temp.tif", "w", **profile) as dst:
        dst.write(temp, 1)
    files = [_rasters() / TEMPLATE, tmp_path / "temp.tif"]
    m = TinyModel()
    whole = predict_map(m, files, constants={"effort": 60.0}, n_draws=2, layers="richness")
    assert whole.attrs["n_cells_predicted"] == inside.size
    g = grid_from_rasters(files)
    masked = predict_map(m, open_grid(g, mask="prediction-grid_us-ga"), constants={"effort": 60.0}, n_draws=2,
                         layers="richness")
    np.testing.assert_array_equal(np.isfinite(masked["richness"].values), inside)
    np.testing.assert_array_equal(masked["richness"].values[inside], whole["richness"].values[inside])
    assert masked.attrs["mask"] == "prediction-grid_us-ga"


def test_no_cell_to_map_and_bad_mask_are_clear_errors():
    """E-MAP-05."""
    df = _table()
    df["region"] = np.nan
    with pytest.raises(InputDataError, match="mask 'zone' is not a variable of the grid table"):
        open_grid(df, mask="zone")
    with pytest.raises(InputDataError, match=r"no cell of grid table has all covariates \['temp'\] inside the mask "
                                             "'region'"):
        predict_map(TinyModel(), open_grid(df, mask="region"), constants={"effort": 1.0}, layers="richness")
    with pytest.raises(InputDataError, match="no cell of grid table holds data inside the mask 'region'"):
        predict_map(TinyModel(), open_grid(df, mask="region"), constants={"temp": 1.0, "effort": 1.0},
                    layers="richness")


def test_grid_file_errors(tmp_path):
    """E-MAP-04: empty, header-only and unparsable grid files."""
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputDataError, match="grid .*empty.csv is empty \\(0 bytes\\)"):
        open_grid(tmp_path / "empty.csv")
    (tmp_path / "blank.csv").write_text("\n\n")
    with pytest.raises(InputDataError, match="blank.csv is empty \\(no header row\\)"):
        open_grid(tmp_path / "blank.csv")
    (tmp_path / "header.csv").write_text("x,y,temp\n")
    with pytest.raises(InputDataError, match="header.csv has a header but no rows"):
        open_grid(tmp_path / "header.csv")
    (tmp_path / "ragged.csv").write_text("x,y,temp\n1,2,3\n1,2,3,4\n")
    with pytest.raises(InputDataError, match="cannot parse grid .*ragged.csv: .*Expected 3 fields"):
        open_grid(tmp_path / "ragged.csv")


def test_raster_grid_without_crs_is_refused_unless_given():
    """E-CRS-01 for map grids: jsdm-hot does not guess a CRS."""
    import xarray as xr

    ds = xr.Dataset({"temp": (("y", "x"), np.ones((2, 3)))}, coords={"y": [1.5, 0.5], "x": [0.5, 1.5, 2.5]})
    with pytest.raises(InputDataError, match="raster dataset has no coordinate reference system \\(CRS\\)"):
        open_grid(ds)
    assert open_grid(ds, crs="EPSG:32617").crs == "EPSG:32617"


# ----------------------------------------------------------------------------- extrapolation
def test_extrapolation_layer_and_warnings(caplog):
    """B-MAP-03: the layer is the share of covariates outside [x_min_, x_max_]; the warning gives the share."""
    df = _table()
    m = TinyModel()
    with caplog.at_level(logging.WARNING, logger="jsdm_hot.maps"):
        ds = predict_map(m, df, constants={"effort": 200.0}, n_draws=2, layers="richness,extrapolation")
    g = open_grid(df)
    temp = g.read_rows(0, 6, ["temp"])[..., 0]
    out_temp = (temp < 10) | (temp > 20)  # the columns at 8 and 22 degrees
    expected = (out_temp.astype(float) + 1.0) / 2  # effort 200 is outside [5, 120] everywhere
    np.testing.assert_array_equal(ds["extrapolation"].values, expected.astype(np.float32))
    assert ds.attrs["n_cells_outside_training_range"] == 36
    text = caplog.text
    assert "constant effort=200 is outside the model's training range [5, 120]" in text
    assert "36 of 36 mapped cells (100.0%) have covariates outside the model's training range" in text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="jsdm_hot.maps"):
        ds = predict_map(m, df, constants={"effort": 60.0}, n_draws=2, layers="richness")
    assert "extrapolation" not in ds.data_vars  # counted, not stored, when not asked for
    assert "12 of 36 mapped cells (33.3%)" in caplog.text and ds.attrs["n_cells_outside_training_range"] == 12


def test_grid_far_from_the_training_sites_is_warned(caplog):
    df = _table()  # lon -84..-79, lat 33..38
    singapore = np.array([[103.8, 1.35], [104.0, 1.40]])
    with caplog.at_level(logging.WARNING, logger="jsdm_hot.maps"):
        ds = predict_map(TinyModel(), df, constants={"effort": 60.0}, n_draws=2, layers="richness",
                         training_sites=singapore)
    assert "does not overlap the 2 training sites" in caplog.text and "spatial extrapolation" in caplog.text
    assert ds.attrs["training_sites_in_grid"] == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="jsdm_hot.maps"):
        ds = predict_map(TinyModel(), df, constants={"effort": 60.0}, n_draws=2, layers="richness",
                         training_sites=[[-82.0, 35.0], [103.8, 1.35]])
    assert "does not overlap" not in caplog.text and ds.attrs["training_sites_in_grid"] == 1


# ----------------------------------------------------------------------------- options and contract
def test_map_options_object_equals_keywords_and_rejects_unknown_names():
    df, m = _table(), TinyModel()
    a = predict_map(m, df, MapOptions(n_draws=5, seed=3, layers="richness,uncertainty"), constants={"effort": 60.0})
    b = predict_map(m, df, constants={"effort": 60.0}, n_draws=5, seed=3, layers=["richness", "uncertainty"])
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)
    with pytest.raises(TypeError, match="unknown map option\\(s\\) \\['n_draw'\\]"):
        predict_map(m, df, constants={"effort": 60.0}, n_draw=5)
    with pytest.raises(TypeError, match="grid settings .* go to jsdm_hot.maps.open_grid"):
        predict_map(m, df, constants={"effort": 60.0}, crs="EPSG:4326")
    with pytest.raises(InputDataError, match="n_draws must be >= 1"):
        MapOptions(n_draws=0)
    assert MapOptions(chunk_size=100, seed_block=64).chunk == 128


def test_object_without_the_estimator_contract_is_refused():
    """E-MAP-07."""
    m = TinyModel()
    del m.x_min_
    with pytest.raises(InputDataError, match="TinyModel cannot be mapped: .*x_min_"):
        predict_map(m, _table(), constants={"effort": 60.0})


# ----------------------------------------------------------------------------- files: metadata, permissions
@pytest.fixture(scope="module")
def effort_map():
    return predict_map(TinyModel(), _table(), effort={"effort": 60.0, "time_sin": 1.0}, n_draws=6,
                       layers="richness,uncertainty,community,species,extrapolation")


def test_geotiff_tags_and_netcdf_attributes_carry_the_effort(effort_map, tmp_path):
    import rasterio
    import xarray as xr

    write_geotiff(effort_map, tmp_path, ["probability", "beta_sor_reference"])
    with rasterio.open(tmp_path / "probability.tif") as src:
        tags = src.tags()
    assert tags["effort"] == "effort=60" and tags["constants"] == "effort=60"
    assert tags["n_species"] == "4" and tags["n_draws"] == "6" and tags["layer"] == "probability"
    with rasterio.open(tmp_path / "beta_sor_reference.tif") as src:
        assert src.tags()["reference_community"] == effort_map.attrs["reference_community"]
    write_netcdf(effort_map, tmp_path / "maps.nc")
    with xr.open_dataset(tmp_path / "maps.nc") as back:
        assert back.attrs["effort"] == "effort=60" and back.attrs["n_species"] == 4


def test_written_files_follow_the_umask(effort_map, tmp_path):
    import os

    old = os.umask(0o022)
    try:
        files = write_geotiff(effort_map, tmp_path / "out", ["richness"])
        files.append(write_netcdf(effort_map, tmp_path / "out" / "maps.nc"))
        files += write_pngs(effort_map, tmp_path / "out", ["richness"])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


# ----------------------------------------------------------------------------- figures
def _texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.texts)


def test_figure_caption_states_effort_species_draws_and_reference(effort_map):
    fig = plot_layer(effort_map, "probability", index="sp1", points=[[-82.0, 35.0], [-81.0, 36.0]])
    ax = fig.axes[0]
    cap = _texts(fig)
    assert "TinyModel, 4 modelled species." in cap
    assert "Values are for detection on a standard checklist: effort = 60." in cap
    assert "CRS EPSG:4326" in cap
    assert ax.get_title() == "probability of detection on a standard checklist: sp1"
    assert fig.axes[1].get_ylabel() == "probability of detection"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["training sites (n = 2)"]
    dots = ax.collections[-1]
    assert dots.get_alpha() < 0.5 and dots.get_sizes()[0] < 2  # small, semi-transparent
    fig = plot_layer(effort_map, "beta_sor_reference")
    cap = _texts(fig)
    ref = effort_map.attrs["reference_community"].split(",")
    assert f"Reference: regional typical community of {len(ref)} species: {', '.join(ref)}." in cap
    assert "6 joint posterior draws (seed 0)" in cap
    assert f"reference community ({len(ref)} species)" in fig.axes[0].get_title()
    assert not plot_layer(effort_map, "richness", caption=False).texts


def test_projected_map_axes_in_km_with_outlines(tmp_path):
    """Projected CRS: x/y ticks in km; outlines from the real Natural Earth GeoPackage, reprojected."""
    gpkg = _rasters() / "gis-data.gpkg"
    m = TinyModel()
    ds = predict_map(m, _rasters() / TEMPLATE, constants={"temp": 15.0, "effort": 60.0}, n_draws=2,
                     layers="richness")
    fig = plot_layer(ds, "richness", outlines=(gpkg, "ne_states"), points=[[-83.5, 33.0]])
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (km)", "y (km)")
    assert ax.xaxis.get_major_formatter()(150_000.0) == "150"
    lines = [c for c in ax.collections if c.get_label() == "outlines: ne_states"]
    assert len(lines) == 1 and len(lines[0].get_segments()) > 5
    # the Georgia outline, in metres of the LAEA grid, lies around the map
    verts = np.concatenate(lines[0].get_segments())
    x0, y0, x1, y1 = ds.rio.bounds()
    assert x0 - 1 <= verts[:, 0].min() and verts[:, 0].max() <= x1 + 1 and verts[:, 1].max() <= y1 + 1
    assert "Lambert Azimuthal Equal Area (lat_0 33.2, lon_0 -83.7)" in _texts(fig)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["outlines: ne_states", "training sites (n = 1)"]
    written = write_pngs(ds, tmp_path, ["richness"], outlines=(gpkg, "ne_states"))
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_outline_errors(tmp_path):
    """E-MAP-06: missing file, several layers and none chosen, unknown layer."""
    from jsdm_hot.maps.outlines import read_outlines

    with pytest.raises(InputDataError, match="outline file .*nothere.gpkg does not exist"):
        read_outlines(tmp_path / "nothere.gpkg")
    gpkg = _rasters() / "gis-data.gpkg"
    with pytest.raises(InputDataError, match="has 5 layers .*choose one by name"):
        read_outlines(gpkg)
    with pytest.raises(InputDataError, match="layer 'states' is not in outline file .*'ne_states'"):
        read_outlines(gpkg, "states")
    (tmp_path / "junk.gpkg").write_text("not a geopackage")
    with pytest.raises(InputDataError, match="cannot read vector file .*junk.gpkg"):
        read_outlines(tmp_path / "junk.gpkg")


# ----------------------------------------------------------------------------- the training range on real estimators
def test_estimators_record_their_training_range_through_save_and_load(small_sim, tiny_params, tmp_path):
    """x_min_ / x_max_ (n_features,): the range of the training sites (HotVAE: the part not held out)."""
    from jsdm_hot import HotVAE
    from jsdm_hot.baselines import BinaryRelevanceLogistic
    from jsdm_hot.data.splits import holdout_split

    data = small_sim.data
    hot = HotVAE(**{**tiny_params, "max_epochs": 1}, device="cpu", random_state=0).fit(data)
    _, train = holdout_split(data.n_sites, hot.val_fraction, 0)
    np.testing.assert_array_equal(hot.x_min_, data.X[train].min(0))
    np.testing.assert_array_equal(hot.x_max_, data.X[train].max(0))
    base = BinaryRelevanceLogistic(val_fraction=0.2, random_state=0).fit(data)
    assert base.x_min_.shape == (data.X.shape[1],) and np.all(base.x_min_ <= base.x_max_)
    assert np.all(base.x_min_ >= data.X.min(0)) and np.all(base.x_max_ <= data.X.max(0))
    for est in (hot, base):
        back = type(est).load(est.save(tmp_path / type(est).__name__), device="cpu")
        np.testing.assert_array_equal(back.x_min_, est.x_min_)
        np.testing.assert_array_equal(back.x_max_, est.x_max_)


def test_cli_map_standard_effort_points_outlines_and_mask(tmp_path, monkeypatch):
    """CLI: --standard-effort fills effort covariates (recorded in the GeoTIFF tags), --points/--outlines on PNGs."""
    import rasterio
    from typer.testing import CliRunner

    import jsdm_hot.registry
    from jsdm_hot.cli import app

    model = TinyModel(features=("temp", "duration_h", "time_sin"), x_min=(10.0, 0.1, -1.0), x_max=(20.0, 5.0, 1.0))
    monkeypatch.setattr(jsdm_hot.registry, "load_model", lambda path, device="auto": model)
    df = _table()
    df["region"] = np.where(df["x"] < -81.5, 1.0, 0.0)  # the three western columns
    df.to_csv(tmp_path / "grid.csv", index=False)
    pd.DataFrame({"lon": [-83.0, -82.0], "lat": [34.0, 35.0]}).to_csv(tmp_path / "sites.csv", index=False)
    (tmp_path / "model").mkdir()
    out = tmp_path / "maps"
    args = ["map", str(tmp_path / "model"), str(tmp_path / "grid.csv"), "--out", str(out), "--layers",
            "richness,extrapolation", "--draws", "3", "--standard-effort", "--mask", "region", "--points",
            str(tmp_path / "sites.csv"), "--format", "tif,png", "--no-progress"]
    gpkg = _rasters() / "gis-data.gpkg"
    res = CliRunner().invoke(app, [*args, "--outlines", str(gpkg), "--outlines-layer", "ne_states"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "mapped 18 cells" in res.output  # the mask keeps 3 of 6 columns
    with rasterio.open(out / "richness.tif") as src:
        tags = src.tags()
    assert tags["effort"] == "duration_h=1,time_sin=0.965926"  # a 1 h checklist starting at 07:00
    assert (out / "extrapolation.png").stat().st_size > 10_000
    args[args.index(str(out))] = str(tmp_path / "maps2")
    res = CliRunner().invoke(app, [*args, "--outlines", str(gpkg), "--outlines-layer", "states"])
    assert res.exit_code != 0 and "layer 'states' is not in outline file" in str(res.exception)
    assert not (tmp_path / "maps2").exists()  # checked before mapping: nothing computed or written
