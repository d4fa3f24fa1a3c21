"""docs/errors.md entries about file formats, triggered on real files from ../shared/data.

The catalogue's own cases (``test_errors_catalogue.py``) mostly use small
synthetic inputs; real files broke two of its promises before (rasters in
different CRSs were reported as "not aligned" instead of E-CRS-02; an empty
grid table raised pandas' ``EmptyDataError``). Here each entry whose catalogue
text has a ``- Real file:`` line naming this module is triggered on a real
input (the auk eBird extract, the roccupy tables and grid, the Georgia
rasters, the Natural Earth GeoPackage, the trees), or on such a file
minimally altered in ``tmp_path``. Entries whose catalogue case already edits
the real auk extract name that case instead.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data

from jsdm_hot.errors import InputDataError, JsdmHotError, TreeError

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "errors.md"
THIS = "tests/robustness/test_errors_real_files.py"
CATALOGUE_CASES = "tests/robustness/test_errors_catalogue.py::test_catalogue_entry"


def _raises(exc_type, fragment: str, fn, *args, **kwargs) -> JsdmHotError:
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"
    return info.value


def _d(name: str) -> Path:
    return require_shared_data(name)


def _head(src: Path, dst: Path, n_lines: int) -> Path:
    """The first ``n_lines`` lines of a real text file."""
    with open(src, encoding="utf-8", newline="") as fh:
        dst.write_text("".join(line for _, line in zip(range(n_lines), fh)), encoding="utf-8")
    return dst


class _Model:
    """The estimator contract, logistic in the covariates (maps only need the contract)."""

    def __init__(self, features, x_min, x_max):
        self.feature_names_in_ = tuple(features)
        self.species_ = ("a", "b")
        self.x_min_, self.x_max_ = np.asarray(x_min, float), np.asarray(x_max, float)

    def predict_proba(self, X):
        z = (np.asarray(X, float) - self.x_min_) / np.maximum(self.x_max_ - self.x_min_, 1e-9)
        return 1 / (1 + np.exp(-(z @ np.ones((z.shape[1], 2)) * [1.0, -1.0])))

    def sample(self, X, n_draws=100, seed=0):
        p = self.predict_proba(X)
        return (np.random.default_rng(seed).random((n_draws, *p.shape)) < p).astype(np.uint8)


def _grid_model(features=("bio1", "bio12")) -> _Model:
    grid = pd.read_csv(_d("ebird_roccupy") / "grid.csv")
    lo = [grid[f].min() if f in grid else 0.0 for f in features]
    hi = [grid[f].max() if f in grid else 100.0 for f in features]
    return _Model(features, lo, hi)


# ----------------------------------------------------------------------------- eBird
def e_ebd_01(tmp_path):
    from jsdm_hot.data.ebird import zero_fill

    auk = _d("ebird_auk")
    _raises(InputDataError, "is missing required column(s) ['SAMPLING EVENT IDENTIFIER'", zero_fill,
            auk / "ebird_taxonomy.csv")  # a real eBird CSV that is not an EBD
    text = (auk / "ebd-sample.txt").read_text(encoding="utf-8")
    (tmp_path / "ebd.txt").write_text(text.replace("SCIENTIFIC NAME", "SCIENTIFIC_NAME", 1), encoding="utf-8")
    _raises(InputDataError, "is missing required column(s) ['SCIENTIFIC NAME']", zero_fill, tmp_path / "ebd.txt")


def e_ebd_02(tmp_path):
    from jsdm_hot.data.ebird import zero_fill

    auk = _d("ebird_auk")
    _raises(InputDataError, "does not exist", zero_fill, tmp_path / "ebd-sample.txt")
    _head(auk / "zerofill-ex_ebd.txt", tmp_path / "ebd.txt", 0)  # the real extract truncated to 0 bytes
    _raises(InputDataError, "is empty (no header line)", zero_fill, tmp_path / "ebd.txt", auk / "zerofill-ex_sampling.txt")


# ----------------------------------------------------------------------------- wide tables
def _occ() -> Path:
    return _d("ebird_roccupy") / "occurrences.csv"


def _read(path, **kw):
    from jsdm_hot.data.tables import read_wide_csv

    return read_wide_csv(path, **{"site_col": "checklist_id", **kw})


def e_csv_01(tmp_path):
    _raises(InputDataError, "file not found", _read, tmp_path / "occurrences.csv")


def e_csv_02(tmp_path):
    _raises(InputDataError, "cannot tell the table format of", _read, _d("trees") / "roccupy32.nwk")


def e_csv_03(tmp_path):
    import gzip

    _raises(InputDataError, "is empty (0 bytes)", _read, _head(_occ(), tmp_path / "empty.csv", 0))
    _raises(InputDataError, "has a header but no data rows", _read, _head(_occ(), tmp_path / "header.csv", 1))
    (tmp_path / "header.csv.gz").write_bytes(gzip.compress((tmp_path / "header.csv").read_bytes()))
    _raises(InputDataError, "has a header but no data rows", _read, tmp_path / "header.csv.gz")
    pd.read_csv(_occ()).iloc[:0].to_parquet(tmp_path / "header.parquet")
    _raises(InputDataError, "has a header but no data rows", _read, tmp_path / "header.parquet")


def e_csv_04(tmp_path):
    lines = _occ().read_text(encoding="utf-8").splitlines()
    lines[5] += ",1"  # one field too many on data row 5
    (tmp_path / "ragged.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _raises(InputDataError, "data row 5 (line 6 of the file)", _read, tmp_path / "ragged.csv")
    shutil.copy(_d("rasters") / "elevation_gmted_1km_us-ga.tif", tmp_path / "elevation.csv")  # binary, not text
    _raises(InputDataError, "cannot parse the header of", _read, tmp_path / "elevation.csv")


def e_csv_05(tmp_path):
    _raises(InputDataError, "species columns ['Raphus cucullatus'] in", _read, _occ(),
            species_cols=["Anas platyrhynchos", "Raphus cucullatus"])
    _raises(InputDataError, "no column starts with species prefix 'sp_'", _read, _occ(), species_prefix="sp_")
    _raises(InputDataError, "found no 0/1 species columns", _read, _d("ebird_roccupy") / "species.csv",
            site_col="scientific_name")


def e_csv_06(tmp_path):
    _raises(InputDataError, "coordinate columns ['lat'] in", _read, _d("ebird_roccupy") / "checklists.csv",
            lon_col="longitude", lat_col="lat")


def e_csv_07(tmp_path):
    lines = _occ().read_text(encoding="utf-8").splitlines()
    (tmp_path / "dup.csv").write_text("\n".join([*lines, lines[3]]) + "\n", encoding="utf-8")
    err = _raises(InputDataError, "site id 'S", _read, tmp_path / "dup.csv")
    assert f"appears twice (rows 3 and {len(lines)})" in str(err)
    lines[2] = "," + lines[2].split(",", 1)[1]  # an empty checklist id
    (tmp_path / "noid.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _raises(InputDataError, "site id column 'checklist_id'", _read, tmp_path / "noid.csv")


def _occ_with_effort(tmp_path) -> tuple[Path, list[str]]:
    """The real occurrences joined with real checklist columns (effort distance has real gaps)."""
    occ = pd.read_csv(_occ())
    chk = pd.read_csv(_d("ebird_roccupy") / "checklists.csv",
                      usecols=["checklist_id", "effort_distance_km", "protocol_type", "duration_minutes"])
    path = tmp_path / "sites.csv"
    occ.merge(chk, on="checklist_id").to_csv(path, index=False)
    return path, list(occ.columns[1:])


def e_data_01(tmp_path):
    path, species = _occ_with_effort(tmp_path)
    df = pd.read_csv(path)
    df.loc[3, "Anas platyrhynchos"] = 2
    df.to_csv(path, index=False)
    err = _raises(InputDataError, "column 'Anas platyrhynchos' in", _read, path, species_cols=species,
                  covariate_cols=["duration_minutes"])
    assert "has value 2 at row 4; occurrence columns must be 0/1" in str(err)


def e_data_02(tmp_path):
    path, species = _occ_with_effort(tmp_path)
    _raises(InputDataError, f"covariate column 'effort_distance_km' from {path} is empty at data row", _read, path,
            species_cols=species, covariate_cols=["duration_minutes", "effort_distance_km"])


def e_data_03(tmp_path):
    path, species = _occ_with_effort(tmp_path)
    _raises(InputDataError, "covariate column 'protocol_type' in", _read, path, species_cols=species,
            covariate_cols=["protocol_type"])
    _raises(InputDataError, "has non-numeric value 'Stationary' at row 1", _read, path, species_cols=species,
            covariate_cols=["protocol_type"])


# ----------------------------------------------------------------------------- trees
def _species32() -> list[str]:
    return pd.read_csv(_d("ebird_roccupy") / "species.csv")["scientific_name"].tolist()


def e_tree_01(tmp_path):
    from jsdm_hot.phylo import reconcile

    err = _raises(TreeError, "1 of 33 species match no tip of", reconcile, [*_species32(), "Alcedo atthis"],
                  _d("trees") / "roccupy32.nwk")
    assert "Alcedo atthis" in str(err)


def e_tree_02(tmp_path):
    from jsdm_hot.phylo import reconcile

    _raises(TreeError, "no overlap between the tree", reconcile, _species32(), _d("trees") / "kingfishers3.nwk",
            unmatched="drop")


def e_tree_03(tmp_path):
    from jsdm_hot.phylo import read_tree

    text = (_d("trees") / "roccupy32.nwk").read_text(encoding="utf-8")
    (tmp_path / "cut.nwk").write_text(text[: len(text) // 2], encoding="utf-8")  # a truncated download
    _raises(TreeError, "malformed Newick in", read_tree, tmp_path / "cut.nwk")
    tips = re.findall(r"[(,]([A-Za-z_]+):", text)
    (tmp_path / "dup.nwk").write_text(text.replace(tips[1] + ":", tips[0] + ":", 1), encoding="utf-8")
    _raises(TreeError, f"duplicate tip names in {tmp_path / 'dup.nwk'}: '{tips[0]}'", read_tree, tmp_path / "dup.nwk")


# ----------------------------------------------------------------------------- rasters and CRSs
def _elevation() -> Path:
    return _d("rasters") / "elevation_gmted_1km_us-ga.tif"


def e_crs_01(tmp_path):
    import rasterio

    from jsdm_hot.data.covariates import extract_at_points
    from jsdm_hot.maps import grid_from_rasters

    with rasterio.open(_elevation()) as src:
        profile, data = src.profile, src.read()
    profile.update(crs=None)
    nocrs = tmp_path / "elevation.tif"
    with rasterio.open(nocrs, "w", **profile) as dst:
        dst.write(data)
    _raises(InputDataError, f"raster {nocrs} has no coordinate reference system (CRS)", extract_at_points, nocrs,
            [-83.5], [33.0])
    _raises(InputDataError, f"raster {nocrs} has no coordinate reference system (CRS)", grid_from_rasters, nocrs)
    assert grid_from_rasters(nocrs, crs="EPSG:4326").crs == "EPSG:4326"


def e_crs_02(tmp_path):
    from jsdm_hot.maps import grid_from_rasters

    r = _d("rasters")
    land = r / "landcover_mcd12q1_umd_us-ga_2014-2022.tif"
    _raises(InputDataError, f"raster {land} has CRS Sinusoidal (lon_0 0) but {_elevation()} has EPSG:4326",
            grid_from_rasters, [_elevation(), land])
    tmpl = r / "prediction-grid_us-ga.tif"
    _raises(InputDataError, f"raster {_elevation()} has CRS EPSG:4326 but {tmpl} has Lambert Azimuthal Equal Area "
                            "(lat_0 33.2, lon_0 -83.7)", grid_from_rasters, [tmpl, _elevation()])


def b_crs_01(tmp_path):
    import rasterio
    from pyproj import Transformer

    from jsdm_hot.data.covariates import extract_at_points

    land = _d("rasters") / "landcover_mcd12q1_umd_us-ga_2014-2022.tif"
    lon, lat = np.array([-83.5, -84.2, -81.3]), np.array([33.0, 31.6, 31.9])
    got = extract_at_points(land, lon, lat).to_numpy()
    with rasterio.open(land) as src:  # independent lookup: reproject, then the cell containing each point
        x, y = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True).transform(lon, lat)
        expected = np.array(list(src.sample(zip(x, y))))
    assert got.shape == (3, 9)
    np.testing.assert_array_equal(got, expected)


# ----------------------------------------------------------------------------- maps
def _grid_csv() -> Path:
    return _d("ebird_roccupy") / "grid.csv"


def e_map_01(tmp_path):
    from jsdm_hot.maps import predict_map

    err = _raises(InputDataError, "the model's covariates ['duration_minutes'] are not in the grid", predict_map,
                  _grid_model(("bio1", "duration_minutes")), _grid_csv(), layers="richness", n_draws=2)
    assert "constants={'duration_minutes': ...}" in str(err)


def b_map_01(tmp_path):
    from jsdm_hot.maps import predict_map

    model = _grid_model()
    full = predict_map(model, _grid_csv(), layers="probability,richness", n_draws=2)
    pd.read_csv(_grid_csv(), usecols=["x", "y", "bio1", "bio12"]).to_csv(tmp_path / "grid.csv", index=False)
    lean = predict_map(model, tmp_path / "grid.csv", layers="probability,richness", n_draws=2)
    for name in full.data_vars:
        np.testing.assert_array_equal(full[name].values, lean[name].values)
    assert full.attrs["n_cells_predicted"] == 3502


def e_map_04(tmp_path):
    from jsdm_hot.maps import open_grid

    _raises(InputDataError, "is empty (0 bytes)", open_grid, _head(_grid_csv(), tmp_path / "empty.csv", 0))
    _raises(InputDataError, "has a header but no rows", open_grid, _head(_grid_csv(), tmp_path / "header.csv", 1))
    lines = _grid_csv().read_text(encoding="utf-8").splitlines()
    lines[2] += ",1"
    (tmp_path / "ragged.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _raises(InputDataError, f"cannot parse grid {tmp_path / 'ragged.csv'}", open_grid, tmp_path / "ragged.csv")


def e_map_05(tmp_path):
    from jsdm_hot.maps import open_grid, predict_map

    _raises(InputDataError, "mask 'study_region' is not a variable of the grid", open_grid,
            _d("rasters") / "prediction-grid_us-ga.tif", mask="study_region")
    grid = pd.read_csv(_grid_csv())
    grid["bio1"] = np.nan
    grid.to_csv(tmp_path / "grid.csv", index=False)
    _raises(InputDataError, "has all covariates ['bio1', 'bio12']", predict_map, _grid_model(),
            tmp_path / "grid.csv", layers="richness")


def e_map_06(tmp_path):
    from jsdm_hot.maps.outlines import read_outlines

    gpkg = _d("rasters") / "gis-data.gpkg"
    _raises(InputDataError, "choose one by name", read_outlines, gpkg)
    _raises(InputDataError, "layer 'states' is not in outline file", read_outlines, gpkg, "states")
    _raises(InputDataError, "cannot read vector file", read_outlines, _elevation())
    _raises(InputDataError, "has no geometries", read_outlines, _d("ebird_roccupy") / "species.csv")
    states = read_outlines(gpkg, "ne_states", crs="EPSG:4326", bounds=(-85.7, 30.2, -80.7, 35.1))
    assert states.label == "ne_states" and len(states.lines) > 5


def b_map_02(tmp_path):
    from jsdm_hot.maps import predict_map

    ds = predict_map(_Model(("effort",), [0.0], [10.0]), _d("rasters") / "prediction-grid_us-ga.tif",
                     constants={"effort": 5.0}, layers="richness", n_draws=2)
    assert ds.attrs["n_cells_predicted"] == int(np.isfinite(ds["richness"].values).sum()) == 16_940


def b_map_03(tmp_path):
    import logging

    from jsdm_hot.data.ebird import load_ebird
    from jsdm_hot.maps import predict_map

    auk = _d("ebird_auk")
    sg = load_ebird(auk / "zerofill-ex_ebd.txt", auk / "zerofill-ex_sampling.txt")  # Singapore checklists
    seen: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    log = logging.getLogger("jsdm_hot.maps")
    handler = Catch(level=logging.WARNING)
    log.addHandler(handler)
    try:
        model = _Model(("bio1", "bio12"), [50.0, 500.0], [150.0, 1500.0])
        predict_map(model, _grid_csv(), layers="richness", n_draws=2, training_sites=sg.coords)
    finally:
        log.removeHandler(handler)
    text = "\n".join(seen)
    assert f"does not overlap the {sg.n_sites} training sites" in text
    assert "mapped cells" in text and "have covariates outside the model's training range" in text


# ----------------------------------------------------------------------------- parquet
def e_scale_02(tmp_path):
    from jsdm_hot.data.streaming import ParquetCommunity

    _raises(InputDataError, "does not exist", ParquetCommunity, tmp_path / "occurrences.parquet")
    _raises(InputDataError, "is not a readable parquet dataset", ParquetCommunity, _occ())


def e_scale_03(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jsdm_hot.data.streaming import ParquetCommunity

    df = pd.read_csv(_occ(), nrows=2000).rename(columns={"checklist_id": "site_id"})
    df.loc[1000 + 10, "Anas platyrhynchos"] = 3  # row 11 of row group 1
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "occ.parquet", row_group_size=1000)
    data = ParquetCommunity(tmp_path / "occ.parquet", species_cols=list(df.columns[1:]))
    _raises(InputDataError, "occ.parquet row group 1 has value 3 at row 11", data.read_unit, 1)


REAL = {
    "E-EBD-01": e_ebd_01, "E-EBD-02": e_ebd_02,
    "E-CSV-01": e_csv_01, "E-CSV-02": e_csv_02, "E-CSV-03": e_csv_03, "E-CSV-04": e_csv_04, "E-CSV-05": e_csv_05,
    "E-CSV-06": e_csv_06, "E-CSV-07": e_csv_07,
    "E-DATA-01": e_data_01, "E-DATA-02": e_data_02, "E-DATA-03": e_data_03,
    "E-TREE-01": e_tree_01, "E-TREE-02": e_tree_02, "E-TREE-03": e_tree_03,
    "E-CRS-01": e_crs_01, "E-CRS-02": e_crs_02, "B-CRS-01": b_crs_01,
    "E-MAP-01": e_map_01, "B-MAP-01": b_map_01, "E-MAP-04": e_map_04, "E-MAP-05": e_map_05, "E-MAP-06": e_map_06,
    "B-MAP-02": b_map_02, "B-MAP-03": b_map_03,
    "E-SCALE-02": e_scale_02, "E-SCALE-03": e_scale_03,
}


@pytest.mark.parametrize("entry", list(REAL))
def test_real_file(entry, tmp_path):
    REAL[entry](tmp_path)


def test_real_file_lines_agree():
    """The catalogue's ``- Real file:`` lines and the cases here are the same set; the others name catalogue cases."""
    text = CATALOGUE.read_text(encoding="utf-8")
    parts = re.split(r"^### ([EB]-[A-Z]+-\d{2}) ", text, flags=re.M)[1:]
    lines = {}
    for eid, body in zip(parts[::2], parts[1::2]):
        m = re.search(r"^- Real file: `([^`]+)`$", body, re.M)
        if m:
            lines[eid] = m.group(1)
    here = {eid for eid, ref in lines.items() if ref.startswith(THIS)}
    assert here == set(REAL), (sorted(here - set(REAL)), sorted(set(REAL) - here))
    for eid, ref in lines.items():
        assert ref == (f"{THIS}::test_real_file[{eid}]" if eid in here else f"{CATALOGUE_CASES}[{eid}]"), (eid, ref)
    # every entry about the files jsdm-hot reads has a real-file test
    file_groups = ("EBD", "CSV", "TREE", "CRS")
    missing = [eid for eid in re.findall(r"^### ([EB]-[A-Z]+-\d{2}) ", text, re.M)
               if eid.split("-")[1] in file_groups and eid not in lines]
    assert not missing, missing
