"""Every entry of docs/errors.md is triggered here (parametrised by its id), with its type and message.

``test_catalogue_and_tests_agree`` parses the catalogue and checks that its ids
and the ids tested (here, or in the test it names elsewhere) are the same set.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data

from jsdm_hot.errors import InputDataError, JsdmHotError, ModelFileError, NotFittedError, TreeError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CATALOGUE = ROOT / "docs" / "errors.md"
THIS = "tests/robustness/test_errors_catalogue.py"


# ----------------------------------------------------------------------------- helpers
def _auk() -> Path:
    return require_shared_data("ebird_auk")


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as fh:
        r = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return r[0], r[1:]


def _write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return path


def _ebd_pair(tmp_path: Path, *, ebd_edit=None, sampling_edit=None) -> tuple[Path, Path]:
    """Copies of the auk zero-fill example EBD + sampling file, optionally edited in place."""
    d = _auk()
    eh, er = _rows(d / "zerofill-ex_ebd.txt")
    sh, sr = _rows(d / "zerofill-ex_sampling.txt")
    if ebd_edit:
        eh, er = ebd_edit(eh, er) or (eh, er)
    if sampling_edit:
        sh, sr = sampling_edit(sh, sr) or (sh, sr)
    return _write_tsv(tmp_path / "ebd.txt", eh, er), _write_tsv(tmp_path / "sampling.txt", sh, sr)


def _raises(exc_type, fragment: str, fn, *args, **kwargs) -> JsdmHotError:
    """Call ``fn``; assert it raises ``exc_type`` (a JsdmHotError) whose message contains ``fragment``."""
    assert issubclass(exc_type, JsdmHotError)
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"
    return info.value


_WIDE = "site_id,lon,lat,temp,sp_a,sp_b\ns1,1.0,2.0,3.5,0,1\ns2,1.5,2.5,4.0,1,0\ns3,1.2,2.1,5.0,1,1\n"


def _wide(tmp_path: Path, text: str, name: str = "sites.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture(scope="module")
def fitted_ckpt(tmp_path_factory):
    """A tiny HotVAE (2 epochs) fitted with a checkpoint folder; (model, data, checkpoint dir)."""
    from jsdm_hot import HotVAE
    from jsdm_hot.data.simulate import simulate_community

    sim = simulate_community(n_sites=120, n_species=5, n_covariates=3, seed=2)
    ckpt = tmp_path_factory.mktemp("ckpt")
    model = HotVAE(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, lambda2=1.0, max_epochs=2, batch_size=64,
                   random_state=0, device="cpu", checkpoint_dir=ckpt).fit(sim.data)
    return model, sim.data, ckpt


# ----------------------------------------------------------------------------- EBD
def e_ebd_01(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    def rename(h, r):
        return [("SCI NAME" if c == "SCIENTIFIC NAME" else c) for c in h], r

    ebd, samp = _ebd_pair(tmp_path, ebd_edit=rename)
    err = _raises(InputDataError, "is missing required column(s) ['SCIENTIFIC NAME']", zero_fill, ebd, samp)
    assert "ebd.txt" in str(err)

    def drop_date(h, r):
        j = h.index("OBSERVATION DATE")
        return h[:j] + h[j + 1:], [x[:j] + x[j + 1:] for x in r]

    ebd, samp = _ebd_pair(tmp_path, sampling_edit=drop_date)
    _raises(InputDataError, "sampling file", zero_fill, ebd, samp)
    _raises(InputDataError, "['OBSERVATION DATE']", zero_fill, ebd, samp)


def e_ebd_02(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    _raises(InputDataError, "does not exist", zero_fill, tmp_path / "nowhere.txt")
    (tmp_path / "empty.txt").write_text("")
    _raises(InputDataError, "is empty (no header line)", zero_fill, tmp_path / "empty.txt")


def e_ebd_03(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    def bad_date(h, r):
        r[2][h.index("OBSERVATION DATE")] = "2012-02-30"

    ebd, samp = _ebd_pair(tmp_path, ebd_edit=bad_date)
    _raises(InputDataError, "ebd.txt, line 4: column 'OBSERVATION DATE' has value '2012-02-30'; expected a date YYYY-MM-DD",
            zero_fill, ebd, samp)


def e_ebd_04(tmp_path, request):
    from jsdm_hot.data.ebird import EbirdFilters, load_ebird

    f = EbirdFilters(protocol=("Stationary", "Traveling"))
    state = {}

    def bad_time(h, r):
        j = h.index("TIME OBSERVATIONS STARTED")
        k = next(i for i, x in enumerate(r) if x[h.index("PROTOCOL NAME")] in ("Stationary", "Traveling")
                 and x[h.index("ALL SPECIES REPORTED")] == "1" and not x[h.index("GROUP IDENTIFIER")])
        r[k][j] = "7h30"
        state["sei"] = r[k][h.index("SAMPLING EVENT IDENTIFIER")]

    ebd, samp = _ebd_pair(tmp_path, sampling_edit=bad_time)
    err = _raises(InputDataError, "1 of 235 checklists", load_ebird, ebd, samp, filters=f, missing_effort="error")
    assert f"checklist {state['sei']!r}: ['time_sin', 'time_cos']" in str(err)
    assert "lack effort values" in str(err)
    dropped = load_ebird(ebd, samp, filters=f)  # default: dropped
    assert dropped.n_sites == 234 and state["sei"] not in set(dropped.site_ids)


def e_ebd_05(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    for value in ("many", "-1", ""):
        def bad_count(h, r, value=value):
            r[2][h.index("OBSERVATION COUNT")] = value

        ebd, samp = _ebd_pair(tmp_path, ebd_edit=bad_count)
        _raises(InputDataError, f"ebd.txt, line 4: column 'OBSERVATION COUNT' has value {value!r}; "
                "expected a whole number or 'X' (present, not counted)", zero_fill, ebd, samp)


def e_ebd_06(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    def bad_lat(h, r):
        r[2][h.index("LATITUDE")] = "abc"

    ebd, samp = _ebd_pair(tmp_path, sampling_edit=bad_lat)
    _raises(InputDataError, "sampling.txt, line 4: column 'LATITUDE' has value 'abc'; expected a number",
            zero_fill, ebd, samp)


def e_ebd_07(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    state = {}

    def dup(h, r):
        single = next(x for x in r if not x[h.index("GROUP IDENTIFIER")])
        state["sei"] = single[h.index("SAMPLING EVENT IDENTIFIER")]
        r.append(list(single))

    ebd, samp = _ebd_pair(tmp_path, sampling_edit=dup)
    _raises(InputDataError, f"lists sampling event {state['sei']!r} more than once", zero_fill, ebd, samp)


def e_ebd_08(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    d = _auk()
    eh, er = _rows(d / "zerofill-ex_ebd.txt")
    target = er[5][eh.index("SAMPLING EVENT IDENTIFIER")]

    def drop(h, r):
        return h, [x for x in r if x[h.index("SAMPLING EVENT IDENTIFIER")] != target]

    ebd, samp = _ebd_pair(tmp_path, sampling_edit=drop)
    err = _raises(InputDataError, "belong to checklists that are not in sampling-event file", zero_fill, ebd, samp)
    assert repr(target) in str(err) and "line 7" in str(err)


def b_ebd_01(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    d = _auk()
    eh, er = _rows(d / "zerofill-ex_ebd.txt")
    sh, sr = _rows(d / "zerofill-ex_sampling.txt")
    cid = lambda h, x: x[h.index("GROUP IDENTIFIER")] or x[h.index("SAMPLING EVENT IDENTIFIER")]  # noqa: E731
    complete = {cid(sh, x) for x in sr if x[sh.index("ALL SPECIES REPORTED")] == "1"}
    in_ebd = {cid(eh, x) for x in er}
    only_sampling = complete - in_ebd
    assert only_sampling  # the example has checklists with none of the 3 species
    wide = zero_fill(d / "zerofill-ex_ebd.txt", d / "zerofill-ex_sampling.txt").set_index("checklist_id")
    sp = wide.attrs["species"]
    assert set(wide.index) == complete
    assert (wide.loc[sorted(only_sampling), sp].to_numpy() == 0).all()
    assert (wide.loc[sorted(complete & in_ebd), sp].to_numpy().sum(axis=1) >= 1).all()  # detections kept


def e_ebd_09(tmp_path, request):
    from jsdm_hot.data.ebird import zero_fill

    def truncate(h, r):
        r[140] = r[140][:2]

    ebd, samp = _ebd_pair(tmp_path, ebd_edit=truncate)
    err = _raises(InputDataError, "as tab-separated eBird data", zero_fill, ebd, samp)
    assert "ebd.txt" in str(err) and "142" in str(err)

    def inject_tab(h, r):
        j = h.index("COMMON NAME")
        r[4][j] = r[4][j] + "\tstray"

    ebd, samp = _ebd_pair(tmp_path, ebd_edit=inject_tab)
    _raises(InputDataError, "ebd.txt", zero_fill, ebd, samp)


# ----------------------------------------------------------------------------- wide tables
def e_csv_01(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv

    _raises(InputDataError, "file not found", read_wide_csv, tmp_path / "missing.csv")


def e_csv_02(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv

    p = _wide(tmp_path, _WIDE, "sites.xlsx")
    _raises(InputDataError, "cannot tell the table format of", read_wide_csv, p)


def e_csv_03(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv

    _raises(InputDataError, "is empty (0 bytes)", read_wide_csv, _wide(tmp_path, ""))
    _raises(InputDataError, "has a header but no data rows", read_wide_csv, _wide(tmp_path, "site_id,temp,sp_a\n"))


def e_csv_04(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv

    p = _wide(tmp_path, _WIDE.replace("1,0\n", "1,0,9\n"))
    _raises(InputDataError, "data row 2 (line 3 of the file)", read_wide_csv, p)
    p = _wide(tmp_path, _WIDE.replace("s2", '"s2'))
    _raises(InputDataError, "cannot parse", read_wide_csv, p)
    p = tmp_path / "latin.csv"
    p.write_bytes(b"\xff\xfe" + _WIDE.encode())
    _raises(InputDataError, "cannot parse the header of", read_wide_csv, p)


def e_csv_05(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv

    p = _wide(tmp_path, _WIDE)
    _raises(InputDataError, "species columns ['sp_z']", read_wide_csv, p, species_cols=["sp_a", "sp_z"])
    _raises(InputDataError, "no column starts with species prefix 'bird_'", read_wide_csv, p, species_prefix="bird_")
    p = _wide(tmp_path, "site_id,temp\ns1,3.5\ns2,4.0\n", "nosp.csv")
    _raises(InputDataError, "found no 0/1 species columns", read_wide_csv, p)


def e_csv_06(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv

    p = _wide(tmp_path, _WIDE.replace(",lat,", ",latitude,"))
    _raises(InputDataError, "coordinate column 'lon' in", read_wide_csv, p)
    _raises(InputDataError, "is present but 'lat' is not", read_wide_csv, p)


def e_csv_07(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv

    _raises(InputDataError, "site id column 'site_id'", read_wide_csv, _wide(tmp_path, _WIDE.replace("s2", "")))
    err = _raises(InputDataError, "site id 's1'", read_wide_csv, _wide(tmp_path, _WIDE.replace("s2", "s1")))
    assert "appears twice (rows 1 and 2)" in str(err)


# ----------------------------------------------------------------------------- CommunityData
def e_data_01(tmp_path, request):
    from jsdm_hot.data.community import CommunityData
    from jsdm_hot.data.tables import read_wide_csv

    p = _wide(tmp_path, _WIDE.replace("1,0\n", "2,0\n"))
    err = _raises(InputDataError, "column 'sp_a' in", read_wide_csv, p, species_prefix="sp_")
    assert "has value 2 at row 2; occurrence columns must be 0/1" in str(err)
    p = _wide(tmp_path, _WIDE.replace("1,0\n", "x,0\n"))
    _raises(InputDataError, "has value 'x' at row 2", read_wide_csv, p, species_prefix="sp_")
    _raises(InputDataError, "has value 0.5 at row 1", CommunityData.from_arrays, [[1.0], [2.0]], [[0.5], [1]])


def e_data_02(tmp_path, request):
    from jsdm_hot.data.community import CommunityData
    from jsdm_hot.data.tables import read_wide_csv

    p = _wide(tmp_path, _WIDE.replace("4.0", ""))
    err = _raises(InputDataError, f"covariate column 'temp' from {p} is empty at data row 2 (site 's2')", read_wide_csv, p,
                  covariate_cols=["temp"])
    assert "covariates must be numbers — impute or drop them first" in str(err)
    for cell in ("inf", "-inf"):
        p = _wide(tmp_path, _WIDE.replace("4.0", cell))
        err = _raises(InputDataError, f"covariate column 'temp' in {p} has value {cell} at row 2", read_wide_csv, p)
        assert "covariates must be finite numbers" in str(err)
    _raises(InputDataError, "covariates must be finite", CommunityData.from_arrays, [[1.0], [np.nan]], [[0], [1]])


def e_data_03(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv

    p = _wide(tmp_path, _WIDE.replace("4.0", "warm"))
    _raises(InputDataError, "covariate column 'temp' in", read_wide_csv, p, species_prefix="sp_", covariate_cols=["temp"])
    _raises(InputDataError, "has non-numeric value 'warm' at row 2", read_wide_csv, p, covariate_cols=["temp"])
    # without covariate_cols, a text column is not a covariate (documented default rule)
    assert "temp" not in read_wide_csv(p, species_prefix="sp_").covariates


def e_data_04(tmp_path, request):
    from jsdm_hot.data.community import CommunityData

    _raises(InputDataError, "species name 'a' appears twice", CommunityData.from_arrays,
            [[1.0], [2.0]], [[0, 1], [1, 0]], species=["a", "a"])
    _raises(InputDataError, "covariate name 't' appears twice", CommunityData.from_arrays,
            [[1.0, 2.0], [2.0, 3.0]], [[0], [1]], covariates=["t", "t"])


def b_data_01(tmp_path, request):
    from jsdm_hot.data.tables import read_wide_csv
    from jsdm_hot.metrics import eb_f1, macro_f1, mlc_report, norberg_metrics, per_species_auc

    text = "site_id,temp,sp_a,sp_b,sp_c\ns1,1.0,0,1,0\ns2,2.0,0,0,0\ns3,3.0,0,1,1\ns4,4.0,0,0,1\n"
    data = read_wide_csv(_wide(tmp_path, text), species_prefix="sp_")
    assert data.species == ("sp_a", "sp_b", "sp_c") and data.n_sites == 4  # all-zero species and site kept
    y = data.Y
    prob = np.array([[0.1, 0.8, 0.2], [0.2, 0.1, 0.3], [0.0, 0.7, 0.9], [0.3, 0.2, 0.6]])
    rng = np.random.default_rng(0)
    draws = (rng.random((20, 4, 3)) < prob).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # any 0/0 would warn
        rep = mlc_report(y, prob, thresholds=0.5)
        auc = per_species_auc(y, prob)
        table = norberg_metrics(y, prob, draws, n_pairs=6, rng=0)
        empty_site_f1 = eb_f1(np.zeros((1, 3), np.uint8), np.zeros((1, 3), np.uint8))
        all_zero = mlc_report(np.zeros((4, 3), np.uint8), prob)
    # sp_a has no presence: its AUC is undefined (NaN) and left out of the median
    assert np.isnan(auc[0]) and rep["n_species_auc"] == 2
    assert rep["median_auc"] == pytest.approx(np.median(auc[1:]))
    # hand-computed F1 per species at 0.5: sp_a 0 predicted, 0 true -> zero_division 0; sp_b 1.0; sp_c 1.0
    assert rep["maF1"] == pytest.approx((0.0 + 1.0 + 1.0) / 3)
    assert macro_f1(y, prob >= 0.5, zero_division=1.0) == pytest.approx(1.0)
    assert empty_site_f1 == 1.0  # empty truth and prediction: the "one" convention
    assert all_zero["n_species_auc"] == 0 and np.isnan(all_zero["median_auc"])
    assert np.isfinite(table.loc[table["aspect"] == "richness", "value"]).all()


def e_data_05(tmp_path, request):
    model, data, _ = request.getfixturevalue("fitted_ckpt")
    from jsdm_hot.data.community import CommunityData

    fewer = CommunityData.from_arrays(data.X[:, :2], covariates=data.covariates[:2], source="new_sites.csv")
    err = _raises(InputDataError, f"covariates [{data.covariates[2]!r}] used in training are missing in new_sites.csv",
                  model.predict_proba, fewer)
    assert "present:" in str(err)
    _raises(InputDataError, "X has 2 features but the model was trained on 3", model.predict_proba, data.X[:, :2])
    frame = pd.DataFrame(data.X[:, :2], columns=list(data.covariates[:2]))  # a named table: matched by name
    _raises(InputDataError, f"covariates [{data.covariates[2]!r}] used in training are missing from the DataFrame",
            model.sample, frame, n_draws=2)


# ----------------------------------------------------------------------------- trees
def e_tree_01(tmp_path, request):
    from jsdm_hot.phylo import reconcile

    tree = "((Aa_bb:1,Cc_dd:1):1,(Gg_hh:1,Ee_fg:1):1);"
    err = _raises(TreeError, "1 of 3 species match no tip of", reconcile, ["Aa bb", "Cc dd", "Ee ff"], tree)
    assert "Ee ff" in str(err) and "--tree-unmatched drop|connect" in str(err)
    report = reconcile(["Aa bb", "Cc dd", "Ee ff"], tree, unmatched="drop")
    assert report.unmatched == ("Ee ff",)


def e_tree_02(tmp_path, request):
    from jsdm_hot.phylo import reconcile

    _raises(TreeError, "no overlap between the tree", reconcile, ["Aa bb"], "((Xx_yy:1,Zz_ww:1):1);", unmatched="drop")


def e_tree_03(tmp_path, request):
    from jsdm_hot.phylo import read_tree

    _raises(TreeError, "malformed Newick in", read_tree, "((A_b:1,C_d:1);")
    _raises(TreeError, "duplicate tip names in", read_tree, "((A_b:1,A_b:1):1,C_d:2);")


# ----------------------------------------------------------------------------- CRS
def _raster(crs: str | None):
    import rioxarray  # noqa: F401
    import xarray as xr

    da = xr.DataArray(np.arange(12.0).reshape(3, 4), dims=("y", "x"),
                      coords={"y": [2.5, 1.5, 0.5], "x": [0.5, 1.5, 2.5, 3.5]}, name="t")
    return da.rio.write_crs(crs) if crs else da


def e_crs_01(tmp_path, request):
    from jsdm_hot.data.covariates import extract_at_points

    _raises(InputDataError, "has no coordinate reference system (CRS)", extract_at_points, _raster(None), [1.0], [1.0])
    _raster(None).rio.to_raster(tmp_path / "nocrs.tif")
    _raises(InputDataError, f"raster {tmp_path / 'nocrs.tif'} has no coordinate reference system",
            extract_at_points, tmp_path / "nocrs.tif", [1.0], [1.0])


def e_crs_02(tmp_path, request):
    from jsdm_hot.maps import grid_from_rasters

    _raster("EPSG:4326").rio.to_raster(tmp_path / "a.tif")
    _raster("EPSG:3857").rio.to_raster(tmp_path / "b.tif")
    _raster(None).rio.to_raster(tmp_path / "c.tif")
    _raises(InputDataError, f"raster {tmp_path / 'b.tif'} has CRS EPSG:3857 but {tmp_path / 'a.tif'} has EPSG:4326",
            grid_from_rasters, [tmp_path / "a.tif", tmp_path / "b.tif"])
    _raises(InputDataError, "has CRS None", grid_from_rasters, [tmp_path / "a.tif", tmp_path / "c.tif"])


def b_crs_01(tmp_path, request):
    from pyproj import Transformer

    from jsdm_hot.data.covariates import extract_at_points

    lon, lat = np.array([0.7, 3.2, 1.9]), np.array([2.2, 0.4, 1.1])
    ref = extract_at_points(_raster("EPSG:4326"), lon, lat, prefix="t")
    # cells: column floor(lon), row from the top floor(3 - lat) -> value 4 * row + col
    np.testing.assert_array_equal(ref.iloc[:, 0].to_numpy(), [0.0, 11.0, 5.0])
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
    moved = extract_at_points(_raster("EPSG:4326"), x, y, crs_points="EPSG:3857", prefix="t")
    np.testing.assert_array_equal(moved.to_numpy(), ref.to_numpy())


# ----------------------------------------------------------------------------- maps
class _LinearModel:
    """Duck-typed fitted model for maps: logistic in the covariates, independent species."""

    def __init__(self, features=("temp", "forest")):
        self.feature_names_in_ = tuple(features)
        self.species_ = ("A", "B")
        self.x_min_, self.x_max_ = np.full(len(features), -10.0), np.full(len(features), 10.0)
        self.W = np.linspace(-1, 1, 2 * len(features)).reshape(len(features), 2)

    def predict_proba(self, X):
        return 1 / (1 + np.exp(-(np.asarray(X, float) @ self.W)))

    def sample(self, X, n_draws=100, seed=0):
        p = self.predict_proba(X)
        return (np.random.default_rng(seed).random((n_draws, *p.shape)) < p).astype(np.uint8)


def _grid(extra: bool = False) -> pd.DataFrame:
    xx, yy = np.meshgrid(np.arange(4) + 0.5, np.arange(3) + 0.5)
    df = pd.DataFrame({"x": xx.ravel(), "y": yy.ravel()})
    df["temp"] = np.linspace(-1, 1, len(df))
    df["forest"] = np.linspace(0, 1, len(df)) ** 2
    if extra:
        df["elevation"] = np.arange(len(df), dtype=float) * 100
    return df


def e_map_01(tmp_path, request):
    from jsdm_hot.maps import predict_map

    model = _LinearModel(("temp", "forest", "effort"))
    err = _raises(InputDataError, "the model's covariates ['effort'] are not in the grid", predict_map, model, _grid(),
                  n_draws=3, layers="richness")
    assert "constants={'effort': ...}" in str(err)


def e_map_02(tmp_path, request):
    from jsdm_hot.maps import predict_map

    _raises(InputDataError, "constants ['durration'] are not covariates of the model", predict_map, _LinearModel(),
            _grid(), constants={"durration": 1.0}, n_draws=3, layers="richness")


def b_map_01(tmp_path, request):
    from jsdm_hot.maps import predict_map

    model = _LinearModel()
    with_extra = predict_map(model, _grid(extra=True), n_draws=5, layers=["probability", "richness"], seed=1)
    plain = predict_map(model, _grid(), n_draws=5, layers=["probability", "richness"], seed=1)
    for name in plain.data_vars:
        np.testing.assert_array_equal(with_extra[name].values, plain[name].values)


def e_map_03(tmp_path, request):
    import xarray as xr

    from jsdm_hot.maps import write_netcdf

    ds = xr.Dataset({"richness": (("y", "x"), np.ones((2, 3), np.float32))},
                    coords={"y": [1.5, 0.5], "x": [0.5, 1.5, 2.5]})
    target = tmp_path / "maps.nc"
    target.write_text("earlier map")
    _raises(InputDataError, f"{target} already exists; pass overwrite=True", write_netcdf, ds, target, overwrite=False)
    assert target.read_text() == "earlier map"


# ----------------------------------------------------------------------------- model files
def _saved(tmp_path):
    from jsdm_hot.io import save_model_dir

    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    return save_model_dir(tmp_path / "m", arrays, {"alpha": 1.0}, class_name="Thing")


def e_model_02(tmp_path, request):
    from jsdm_hot.io import WEIGHTS_FILE, load_model_dir

    path = _saved(tmp_path)
    blob = bytearray((path / WEIGHTS_FILE).read_bytes())
    blob[-1] ^= 0x01
    (path / WEIGHTS_FILE).write_bytes(bytes(blob))
    _raises(ModelFileError, "does not match the hash in config.json", load_model_dir, path)


def e_model_03(tmp_path, request):
    from jsdm_hot import HotVAE
    from jsdm_hot.io import CONFIG_FILE, load_model_dir

    path = _saved(tmp_path)
    meta = json.loads((path / CONFIG_FILE).read_text())
    meta["tensors"]["w"] = [3, 2]
    (path / CONFIG_FILE).write_text(json.dumps(meta))
    _raises(ModelFileError, "differ from those recorded in config.json", load_model_dir, path)
    # a HotVAE config describing one species more than the weights hold (hash still valid)
    model, _, _ = request.getfixturevalue("fitted_ckpt")
    saved = model.save(tmp_path / "hot")
    meta = json.loads((saved / CONFIG_FILE).read_text())
    meta["config"]["species"].append("Extra species")
    (saved / CONFIG_FILE).write_text(json.dumps(meta))
    _raises(ModelFileError, "incomplete or inconsistent HotVAE model directory", HotVAE.load, saved, device="cpu")


def e_model_04(tmp_path, request):
    from jsdm_hot import HotVAE
    from jsdm_hot.io import CONFIG_FILE, load_model_dir

    path = _saved(tmp_path)
    _raises(ModelFileError, "holds a Thing model, not a HotVAE", HotVAE.load, path)
    meta = json.loads((path / CONFIG_FILE).read_text())
    meta["format_version"] = 99
    (path / CONFIG_FILE).write_text(json.dumps(meta))
    _raises(ModelFileError, "was saved with model format 99", load_model_dir, path)
    # the estimator layout inside the directory (HotVAE of jsdm-hot 0.1 wrote layout 1)
    model, _, _ = request.getfixturevalue("fitted_ckpt")
    saved = model.save(tmp_path / "hot")
    meta = json.loads((saved / CONFIG_FILE).read_text())
    meta["config"]["format_version"] = 1
    (saved / CONFIG_FILE).write_text(json.dumps(meta))
    _raises(ModelFileError, "estimator layout version 1, this jsdm-hot reads 2; the model was saved by an older "
            "jsdm-hot — refit it", HotVAE.load, saved, device="cpu")


def e_model_05(tmp_path, request):
    from jsdm_hot.io import CONFIG_FILE, WEIGHTS_FILE, load_model_dir

    _raises(ModelFileError, "does not exist", load_model_dir, tmp_path / "nowhere")
    path = _saved(tmp_path)
    (path / CONFIG_FILE).write_text("{not json")
    _raises(ModelFileError, "is not valid JSON", load_model_dir, path)
    (path / WEIGHTS_FILE).unlink()
    _raises(ModelFileError, "is missing ['weights.safetensors']", load_model_dir, path)


def e_model_06(tmp_path, request):
    import shutil

    from jsdm_hot import HotVAE

    model, data, ckpt = request.getfixturevalue("fitted_ckpt")
    copy = tmp_path / "ckpt"
    shutil.copytree(ckpt, copy)
    blob = bytearray((copy / "checkpoint.safetensors").read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # a damaged checkpoint file (e.g. a disk error)
    (copy / "checkpoint.safetensors").write_bytes(bytes(blob))
    est = HotVAE(**{**model.get_params(), "checkpoint_dir": copy})
    err = _raises(ModelFileError, f"checkpoint in {copy} cannot be resumed", est.fit, data, resume=True)
    assert "delete it or fit without resume" in str(err)
    other = HotVAE(**{**model.get_params(), "d_model": 2 * model.model_config_.d_model, "checkpoint_dir": ckpt})
    _raises(ModelFileError, f"checkpoint in {ckpt} cannot be resumed", other.fit, data, resume=True)


def e_model_07(tmp_path, request):
    from jsdm_hot import HotVAE

    _raises(NotFittedError, "this HotVAE is not fitted yet; call fit(X, Y) (or load a saved model) first", HotVAE().save,
            tmp_path / "m")
    assert not (tmp_path / "m").exists()


# ----------------------------------------------------------------------------- metrics
def e_met_01(tmp_path, request):
    from jsdm_hot.metrics import macro_f1, norberg_metrics

    y = np.array([[0, 2, 1], [1, 0, 0]])
    _raises(InputDataError, "y_true has value 2 at site (row) 0, species (column) 1; expected 0/1", macro_f1, y, y)
    ok = np.array([[0, 1, 1], [1, 0, 0]])
    _raises(InputDataError, "draws", norberg_metrics, ok, np.full((2, 3), 0.5), np.full((4, 2, 3), 3))


def e_met_02(tmp_path, request):
    from jsdm_hot.metrics import mlc_report, occurrence_metrics

    y = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1]])
    p = np.full((4, 3), 0.5)
    p[0, 0] = 1.5
    _raises(InputDataError, "prob has value 1.5 at site (row) 0, species (column) 0; probabilities must be in [0, 1]",
            occurrence_metrics, y, p)
    p[0, 0] = np.nan
    _raises(InputDataError, "y_score has non-finite value nan", mlc_report, y, p)
    _raises(InputDataError, "y_true has shape (4, 3) but y_score has shape (4, 2); they must match",
            mlc_report, y, np.full((4, 2), 0.5))


ENTRIES = {
    "E-EBD-01": e_ebd_01, "E-EBD-02": e_ebd_02, "E-EBD-03": e_ebd_03, "E-EBD-04": e_ebd_04,
    "E-EBD-05": e_ebd_05, "E-EBD-06": e_ebd_06, "E-EBD-07": e_ebd_07, "E-EBD-08": e_ebd_08,
    "B-EBD-01": b_ebd_01, "E-EBD-09": e_ebd_09,
    "E-CSV-01": e_csv_01, "E-CSV-02": e_csv_02, "E-CSV-03": e_csv_03, "E-CSV-04": e_csv_04,
    "E-CSV-05": e_csv_05, "E-CSV-06": e_csv_06, "E-CSV-07": e_csv_07,
    "E-DATA-01": e_data_01, "E-DATA-02": e_data_02, "E-DATA-03": e_data_03, "E-DATA-04": e_data_04,
    "B-DATA-01": b_data_01, "E-DATA-05": e_data_05,
    "E-TREE-01": e_tree_01, "E-TREE-02": e_tree_02, "E-TREE-03": e_tree_03,
    "E-CRS-01": e_crs_01, "E-CRS-02": e_crs_02, "B-CRS-01": b_crs_01,
    "E-MAP-01": e_map_01, "E-MAP-02": e_map_02, "B-MAP-01": b_map_01, "E-MAP-03": e_map_03,
    "E-MODEL-02": e_model_02, "E-MODEL-03": e_model_03, "E-MODEL-04": e_model_04, "E-MODEL-05": e_model_05,
    "E-MODEL-06": e_model_06, "E-MODEL-07": e_model_07,
    "E-MET-01": e_met_01, "E-MET-02": e_met_02,
}


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_catalogue_entry(entry, tmp_path, request):
    ENTRIES[entry](tmp_path, request)


# ----------------------------------------------------------------------------- catalogue <-> tests
_ENTRY_RE = re.compile(r"^### ([EB]-[A-Z]+-\d{2}) ", re.M)


def _catalogue() -> dict[str, list[str]]:
    """Catalogue id -> the test references of its ``- Test:`` line."""
    text = CATALOGUE.read_text(encoding="utf-8")
    parts = _ENTRY_RE.split(text)[1:]
    out: dict[str, list[str]] = {}
    for eid, body in zip(parts[::2], parts[1::2]):
        assert eid not in out, f"catalogue id {eid} appears twice"
        m = re.search(r"^- Test: (.+)$", body, re.M)
        assert m, f"catalogue entry {eid} names no test"
        out[eid] = re.findall(r"`([^`]+)`", m.group(1))
        assert out[eid], f"catalogue entry {eid} names no test"
    return out


def _test_functions(relpath: str) -> set[str]:
    tree = ast.parse((ROOT / relpath).read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_catalogue_and_tests_agree():
    cat = _catalogue()
    here = {eid for eid, refs in cat.items() if any(r.startswith(THIS) for r in refs)}
    for eid in here:  # an entry tested here names its own parametrised case
        assert cat[eid] == [f"{THIS}::test_catalogue_entry[{eid}]"], (eid, cat[eid])
    assert here == set(ENTRIES), (
        f"in the catalogue but not tested here: {sorted(here - set(ENTRIES))}; "
        f"tested here but not in the catalogue: {sorted(set(ENTRIES) - here)}")
    for eid in set(cat) - here:  # entries tested elsewhere: the named tests must exist
        for ref in cat[eid]:
            path, _, func = ref.partition("::")
            assert (ROOT / path).is_file(), f"{eid}: {path} does not exist"
            assert func in _test_functions(path), f"{eid}: {path} has no test {func}"
    # every catalogue id has the E-/B- form and ids are numbered without gaps within each group
    groups: dict[tuple[str, str], list[int]] = {}
    for eid in cat:
        kind, group, num = eid.split("-")
        groups.setdefault((kind, group), []).append(int(num))
    for key, nums in groups.items():
        assert sorted(nums) == list(range(1, len(nums) + 1)), (key, sorted(nums))


# Former gaps found by these tests, now fixed in the library.
def test_decimal_count_is_rejected(tmp_path):
    from jsdm_hot.data.ebird import zero_fill

    def bad_count(h, r):
        r[2][h.index("OBSERVATION COUNT")] = "2.5"

    ebd, samp = _ebd_pair(tmp_path, ebd_edit=bad_count)
    _raises(InputDataError, "column 'OBSERVATION COUNT' has value '2.5'", zero_fill, ebd, samp)


try:
    from pyproj.exceptions import CRSError
except ImportError:  # pragma: no cover - pyproj comes with the raster extras
    CRSError = Exception


def test_unknown_point_crs_is_a_clean_error():
    from jsdm_hot.data.covariates import extract_at_points

    _raises(InputDataError, "EPSG:999999", extract_at_points, _raster("EPSG:4326"), [1.0], [1.0],
            crs_points="EPSG:999999")


@pytest.mark.parametrize("method", ["predict_proba", "predict", "sample"])
def test_unfitted_predictions_raise_not_fitted(method):
    from jsdm_hot import HotVAE

    _raises(NotFittedError, "not fitted yet", getattr(HotVAE(), method), np.zeros((2, 3)))


@pytest.mark.parametrize("case", ["truncated_file", "other_config", "other_species"])
def test_foreign_or_corrupt_checkpoint_is_a_clean_error(case, tmp_path, fitted_ckpt):
    import shutil

    from jsdm_hot import HotVAE
    from jsdm_hot.data.simulate import simulate_community

    model, data, ckpt = fitted_ckpt
    copy = tmp_path / "ckpt"
    shutil.copytree(ckpt, copy)
    params = {**model.get_params(), "checkpoint_dir": copy}
    if case == "truncated_file":
        blob = (copy / "checkpoint.safetensors").read_bytes()
        (copy / "checkpoint.safetensors").write_bytes(blob[: len(blob) // 2])
    elif case == "other_config":
        params["d_model"] = 32
    else:
        data = simulate_community(n_sites=120, n_species=6, n_covariates=3, seed=2).data
    est = HotVAE(**params)
    _raises(ModelFileError, str(copy), est.fit, data, resume=True)
