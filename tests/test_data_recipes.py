"""The data recipes' scripts: they import and answer --help without network, and do what they say on small real data."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "data_recipes"
SHARED_DATA = ROOT.parent / "shared" / "data"
SCRIPTS = ["ebird_extract", "bird_phylogeny", "environmental_rasters", "check_inputs"]


def _shared() -> Path:
    return require_shared_data()


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up in sys.modules
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a data recipe tried to use the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_recipe_has_markdown_script_licence_and_citation():
    readme = (RECIPES / "README.md").read_text(encoding="utf-8")
    for name in SCRIPTS:
        md = (RECIPES / f"{name}.md").read_text(encoding="utf-8")
        assert f"{name}.py" in md and f"{name}.md" in readme, name
        if name != "check_inputs":  # the recipes about external sources state licence and citation
            low = md.lower()
            assert "licen" in low and "cit" in low, f"{name}.md must state the licence and citation of its source"


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help_without_network(name, no_network, capsys):
    mod = _load(name)
    with pytest.raises(SystemExit) as exc:
        mod.run(["--help"])
    assert exc.value.code == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_environmental_subcommand_help(no_network, capsys):
    mod = _load("environmental_rasters")
    for sub in ("extract", "grid"):
        with pytest.raises(SystemExit) as exc:
            mod.run([sub, "--help"])
        assert exc.value.code == 0
        assert "--buffer-m" in capsys.readouterr().out


def test_ebird_extract_applies_best_practice_filters(tmp_path, no_network):
    data = _shared() / "ebird_auk"
    from jsdm_hot.data.ebird import EbirdFilters, load_ebird
    from jsdm_hot.data.tables import read_wide_csv

    out = tmp_path / "checklists.csv"
    rc = _load("ebird_extract").run([str(data / "zerofill-ex_ebd.txt"), "--sampling", str(data / "zerofill-ex_sampling.txt"),
                                     "--out", str(out), "--min-detections", "1"])
    assert rc == 0
    got = read_wide_csv(out)
    ref = load_ebird(data / "zerofill-ex_ebd.txt", data / "zerofill-ex_sampling.txt",
                     filters=EbirdFilters.best_practice())
    assert got.n_sites == ref.n_sites < 235  # 235 checklists have effort before the best-practice limits
    assert got.species == ref.species
    np.testing.assert_array_equal(got.Y, ref.Y)
    assert got.covariates == ref.covariates   # numeric checklist fields are not read back as covariates
    raw = pd.read_csv(out)
    assert set(raw["protocol"]) <= {"Stationary", "Traveling"}


def test_ebird_extract_reports_a_non_ebd_file(tmp_path, capsys):
    bad = tmp_path / "not_ebd.txt"
    bad.write_text("a\tb\n1\t2\n", encoding="utf-8")
    rc = _load("ebird_extract").run([str(bad), "--sampling", str(bad), "--out", str(tmp_path / "o.csv")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "not_ebd.txt" in err and "SAMPLING EVENT IDENTIFIER" in err


def test_bird_phylogeny_matches_prunes_and_flags_unmatched(tmp_path, no_network):
    data = _shared()
    tree = (data / "trees" / "roccupy32.nwk").read_text(encoding="utf-8").strip()
    multi = tmp_path / "two_trees.nwk"
    multi.write_text("(A_b:1,C_d:1);\n" + tree + "\n", encoding="utf-8")  # BirdTree-style multi-tree file
    species = tmp_path / "species.txt"
    species.write_text("Selasphorus rufus\nlimosa_fedoa\nMallard\nAnas rufa\nAvis imaginaria\n", encoding="utf-8")
    syn = tmp_path / "syn.csv"
    syn.write_text("old,new\nAnas rufa,Anas platyrhynchos\n", encoding="utf-8")
    args = ["--tree", str(multi), "--tree-index", "1", "--species-list", str(species),
            "--taxonomy", str(data / "ebird_auk" / "ebird_taxonomy.csv"), "--synonyms", str(syn),
            "--out-tree", str(tmp_path / "pruned.nwk"), "--out-report", str(tmp_path / "names.csv")]
    mod = _load("bird_phylogeny")
    assert mod.run(args) == 1                       # one species unmatched: a non-zero exit
    report = pd.read_csv(tmp_path / "names.csv").set_index("species")
    assert report.loc["Selasphorus rufus", "status"] == "exact"
    assert report.loc["limosa_fedoa", "status"] == "exact"
    assert report.loc["Mallard", "status"] == "synonym"          # English name, from the eBird taxonomy
    assert report.loc["Anas rufa", "status"] == "synonym"        # the user's table
    assert report.loc["Avis imaginaria", "status"] == "unmatched"
    from jsdm_hot.phylo import read_tree

    pruned = read_tree(tmp_path / "pruned.nwk")
    assert sorted(pruned.tip_names) == ["Anas_platyrhynchos", "Limosa_fedoa", "Selasphorus_rufus"]
    assert mod.run(args + ["--allow-unmatched"]) == 0
    assert mod.run([*args[:2], "--tree-index", "5", *args[4:]]) == 2  # only 2 trees in the file


def test_environmental_extract_and_grid_agree(tmp_path, no_network):
    rasters = _shared() / "rasters"
    rio = pytest.importorskip("rioxarray")
    import rasterio

    elev = rasters / "elevation_gmted_1km_us-ga.tif"
    lc = rasters / "landcover_mcd12q1_umd_us-ga_2014-2022.tif"
    spec = ["--continuous", f"elevation={elev}", "--categorical", f"landcover={lc}", "--band", "landcover=2022"]
    mod = _load("environmental_rasters")

    # grid: 40 cells of the 3 km LAEA template
    tpl = rasters / "prediction-grid_us-ga.tif"
    assert mod.run(["grid", str(tpl), "--out-dir", str(tmp_path / "grid"), "--max-cells", "40", "--buffer-m", "1500",
                    *spec]) == 0
    with rasterio.open(tpl) as t, rasterio.open(tmp_path / "grid" / "elevation.tif") as g:
        assert g.crs == t.crs and g.shape == t.shape
        assert g.transform.almost_equals(t.transform, precision=1e-6)
        band = g.read(1)
    assert np.isfinite(band).sum() == 40
    frac = sum(rio.open_rasterio(p).values[0] for p in (tmp_path / "grid").glob("landcover_c*.tif"))
    ok = np.isfinite(frac)
    np.testing.assert_allclose(frac[ok], 1.0, atol=1e-5)  # class fractions of a cell sum to one

    # extract at the lon/lat of two grid cells + one point outside Georgia: same values as the grid
    from pyproj import Transformer

    r, c = np.argwhere(np.isfinite(band))[[0, -1]].T
    with rasterio.open(tpl) as t:
        xs, ys = rasterio.transform.xy(t.transform, r, c)
        lon, lat = Transformer.from_crs(t.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    table = pd.DataFrame({"site_id": ["a", "b", "far"], "lon": [*lon, -70.0], "lat": [*lat, 31.0], "Sp x": [1, 0, 1]})
    table.to_csv(tmp_path / "pts.csv", index=False)
    assert mod.run(["extract", str(tmp_path / "pts.csv"), "--out", str(tmp_path / "env.csv"), "--buffer-m", "1500",
                    *spec]) == 0
    env = pd.read_csv(tmp_path / "env.csv")
    assert list(env["site_id"]) == ["a", "b"]                       # the point outside the rasters is dropped
    np.testing.assert_allclose(env["elevation"], band[r, c], rtol=1e-5)
    from jsdm_hot.data.tables import read_wide_csv

    data = read_wide_csv(tmp_path / "env.csv")
    assert data.species == ("Sp x",) and data.covariates[0] == "elevation"

    # a 1 m buffer gives the value of the cell holding the point (checked with rasterio)
    assert mod.run(["extract", str(tmp_path / "pts.csv"), "--out", str(tmp_path / "pt.csv"), "--buffer-m", "1",
                    "--continuous", f"elevation={elev}"]) == 0
    with rasterio.open(elev) as src:
        direct = [v[0] for v in src.sample(list(zip(lon, lat)))]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "pt.csv")["elevation"], direct, rtol=1e-6)


def test_check_inputs_flags_covariates_missing_from_grid(tmp_path, no_network, capsys):
    pytest.importorskip("rioxarray")
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    n = 40
    table = pd.DataFrame({"site_id": [f"s{i}" for i in range(n)], "lon": rng.uniform(0, 1, n),
                          "lat": rng.uniform(0, 1, n), "elev": rng.normal(size=n), "duration_h": rng.uniform(0, 2, n),
                          "Aus bus": rng.integers(0, 2, n), "Cus dus": rng.integers(0, 2, n)})
    table.to_csv(tmp_path / "t.csv", index=False)
    grid = tmp_path / "grid"
    grid.mkdir()
    with rasterio.open(grid / "elev.tif", "w", driver="GTiff", width=4, height=3, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(0, 1, 0.25, 1 / 3)) as dst:
        dst.write(np.ones((1, 3, 4), dtype="float32"))
    mod = _load("check_inputs")
    assert mod.run([str(tmp_path / "t.csv"), "--grid", str(grid)]) == 0
    assert "duration_h" in capsys.readouterr().out                  # effort: filled by --standard-effort
    (grid / "elev.tif").rename(grid / "elevation.tif")
    assert mod.run([str(tmp_path / "t.csv"), "--grid", str(grid)]) == 1
    assert "['elev']" in capsys.readouterr().err
