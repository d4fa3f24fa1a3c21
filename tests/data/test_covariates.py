"""Raster extraction (values at points, buffers, class fractions). Table joins: test_joins.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared_data

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.covariates import add_raster_covariates, extract_at_points
from jsdm_hot.errors import InputDataError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def _rasters() -> Path:
    return require_shared_data("rasters")


def _write_tif(path: Path, values: np.ndarray, x0: float, y0: float, res: float, crs) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    values = np.atleast_3d(values) if values.ndim == 2 else values
    if values.ndim == 3 and values.shape[0] > values.shape[2]:
        values = np.moveaxis(values, 2, 0)
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[1], width=values.shape[2],
                       count=values.shape[0], dtype="float64", crs=crs,
                       transform=from_origin(x0, y0, res, res)) as dst:
        dst.write(values)
    return path


def test_points_reprojected_to_web_mercator(tmp_path):
    # a Web-Mercator raster whose value is the x coordinate (m) of each cell centre
    res, x0, y0 = 1000.0, -9_600_000.0, 4_200_000.0
    xs = x0 + res * (np.arange(400) + 0.5)
    vals = np.tile(xs, (400, 1))
    f = _write_tif(tmp_path / "merc.tif", vals[None], x0, y0, res, "EPSG:3857")
    lon = np.array([-85.0, -84.2, -83.51])
    lat = np.array([33.0, 34.1, 32.5])
    got = extract_at_points(f, lon, lat)["merc"].to_numpy()
    x_expected = 6378137.0 * np.radians(lon)  # spherical Mercator x, by hand
    assert np.all(np.abs(got - x_expected) <= res / 2 + 1e-6)
    # outside the raster -> NaN
    assert np.isnan(extract_at_points(f, [10.0], [10.0])["merc"][0])


def test_buffer_mean_hand_computed(tmp_path):
    rng = np.random.default_rng(1)
    vals = rng.normal(size=(7, 7))
    vals[3, 4] = np.nan  # nodata inside the buffer is ignored
    f = _write_tif(tmp_path / "b.tif", vals[None], 0.0, 70.0, 10.0, "EPSG:32617")
    # point at the centre of cell (row 3, col 3): x = 35, y = 70 - 35
    got = extract_at_points(f, [35.0], [35.0], crs_points="EPSG:32617", buffer_m=10.0)["b"][0]
    expected = np.nanmean([vals[3, 3], vals[2, 3], vals[4, 3], vals[3, 2], vals[3, 4]])
    assert got == pytest.approx(expected)
    got = extract_at_points(f, [35.0], [35.0], crs_points="EPSG:32617", buffer_m=15.0)["b"][0]
    assert got == pytest.approx(np.nanmean(vals[2:5, 2:5]))  # diagonal centres at 14.1 m
    point = extract_at_points(f, [35.0], [35.0], crs_points="EPSG:32617")["b"][0]
    assert point == vals[3, 3]
    assert extract_at_points(f, [35.0], [35.0], crs_points="EPSG:32617", buffer_m=1.0)["b"][0] == vals[3, 3]


def test_raster_without_crs_is_an_error(tmp_path):
    f = _write_tif(tmp_path / "nocrs.tif", np.ones((1, 3, 3)), 0.0, 3.0, 1.0, None)
    with pytest.raises(InputDataError, match=r"nocrs.tif has no coordinate reference system"):
        extract_at_points(f, [1.0], [1.0])
    with pytest.raises(InputDataError, match="does not exist"):
        extract_at_points(tmp_path / "absent.tif", [1.0], [1.0])


def test_netcdf_and_dataarray(tmp_path):
    import rioxarray  # noqa: F401  (registers .rio)
    import xarray as xr

    y = np.array([2.5, 1.5, 0.5])
    x = np.array([0.5, 1.5, 2.5, 3.5])
    v = np.arange(12.0).reshape(3, 4)
    da = xr.DataArray(v, dims=("y", "x"), coords={"y": y, "x": x}, name="temp").rio.write_crs("EPSG:4326")
    got = extract_at_points(da, [1.2, 3.9], [0.1, 2.9])
    assert got.columns.tolist() == ["temp"] and got["temp"].tolist() == [9.0, 3.0]
    path = tmp_path / "t.nc"
    da.to_dataset().to_netcdf(path, engine="h5netcdf")
    assert extract_at_points(path, [1.2, 3.9], [0.1, 2.9])["t"].tolist() == [9.0, 3.0]
    with pytest.raises(InputDataError, match="no coordinate reference system"):
        extract_at_points(xr.DataArray(v, dims=("y", "x"), coords={"y": y, "x": x}), [1.0], [1.0])
    # a time dimension becomes one column per time step
    cube = xr.DataArray(np.stack([v, v + 100]), dims=("time", "y", "x"),
                        coords={"time": ["2020", "2021"], "y": y, "x": x}, name="t").rio.write_crs("EPSG:4326")
    got = extract_at_points(cube, [1.2], [0.1])
    assert got.columns.tolist() == ["t_2020", "t_2021"] and got.iloc[0].tolist() == [9.0, 109.0]


def test_real_rasters_with_different_crs_match_gdal():
    import rasterio
    from rasterio.warp import transform as gdal_transform

    d = _rasters()
    rng = np.random.default_rng(0)
    lon = rng.uniform(-85.0, -81.5, 25)
    lat = rng.uniform(31.0, 34.5, 25)
    for name in ("elevation_gmted_1km_us-ga.tif", "landcover_mcd12q1_umd_us-ga_2014-2022.tif"):
        got = extract_at_points(d / name, lon, lat).to_numpy()
        with rasterio.open(d / name) as src:
            xs, ys = gdal_transform("EPSG:4326", src.crs, lon, lat)
            ref = np.array([v for v in src.sample(zip(xs, ys))], dtype=float)
        np.testing.assert_array_equal(got, ref, err_msg=name)
    lc = extract_at_points(d / "landcover_mcd12q1_umd_us-ga_2014-2022.tif", lon[:2], lat[:2])
    assert lc.columns[0].endswith("_2014") and lc.shape == (2, 9)


def test_add_raster_covariates_to_community(tmp_path):
    vals = np.arange(16.0).reshape(4, 4)
    f = _write_tif(tmp_path / "r.tif", vals[None], 0.0, 4.0, 1.0, "EPSG:4326")
    data = CommunityData.from_arrays(np.ones((3, 1)), np.eye(3, dtype=int)[:, :2], covariates=["a"],
                                     coords=[[0.5, 3.5], [3.5, 0.5], [9.0, 9.0]])
    with pytest.raises(InputDataError, match="site 'site_2'"):
        add_raster_covariates(data, {"elev": f})
    out = add_raster_covariates(data, {"elev": f}, missing="drop")
    assert out.covariates == ("a", "elev") and out.X[:, 1].tolist() == [0.0, 15.0] and out.n_sites == 2


def test_class_fractions_in_buffer(tmp_path):
    vals = np.array([[1, 1, 2], [2, 3, 1], [np.nan, 1, 1]], dtype=float)
    f = _write_tif(tmp_path / "lc.tif", vals[None], 0.0, 3.0, 1.0, "EPSG:32617")
    # centre cell (1, 1) at x=1.5, y=1.5; 1 m buffer: the centre and its 4 neighbours
    got = extract_at_points(f, [1.5], [1.5], crs_points="EPSG:32617", buffer_m=1.0, stat="fractions")
    assert got.columns.tolist() == ["lc_c1", "lc_c2", "lc_c3"]
    np.testing.assert_allclose(got.iloc[0], [3 / 5, 1 / 5, 1 / 5])  # centre 3; neighbours 1, 1, 2, 1
    big = extract_at_points(f, [1.5], [1.5], crs_points="EPSG:32617", buffer_m=5.0, stat="fractions", classes=[1, 2, 9])
    np.testing.assert_allclose(big.iloc[0], [5 / 8, 2 / 8, 0.0])  # nodata cell ignored
    point = extract_at_points(f, [0.5, 0.5], [2.5, 0.5], crs_points="EPSG:32617", stat="fractions")
    assert point.iloc[0].tolist() == [1.0, 0.0, 0.0] and point.iloc[1].isna().all()
