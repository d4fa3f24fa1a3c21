"""Loaders of the shared real data sets (../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data

from jsdm_hot.data.fixtures import load_mlc, load_roccupy, load_tarentaise
from jsdm_hot.data.splits import block_ids, train_val_test_split
from jsdm_hot.errors import InputDataError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def _need(name: str) -> Path:
    return require_shared_data(name)


def test_load_roccupy_joins_grid_and_effort():
    d = _need("ebird_roccupy")
    data = load_roccupy(DATA)
    assert data.n_sites == 8000 and data.n_species == 32 and data.crs == "EPSG:4326"
    assert int(data.Y.sum(axis=0)[data.species.index("Quiscalus quiscula")]) == 1815
    assert data.Y.sum(axis=0)[data.species.index("Acanthis flammea")] == 0
    cl = pd.read_csv(d / "checklists.csv", low_memory=False)
    grid = pd.read_csv(d / "grid.csv")
    i = 123
    row = grid.iloc[cl["grid_row"][i]]
    for c in ("bio1", "bio12", "X41"):
        assert data.X[i, data.covariates.index(c)] == row[c]
    # the joined cell contains the checklist (cells are 1/6 degree)
    assert abs(row["x"] - data.coords[i, 0]) <= 1 / 12 + 1e-9 and abs(row["y"] - data.coords[i, 1]) <= 1 / 12 + 1e-9
    np.testing.assert_allclose(data.X[:, data.covariates.index("log_duration")], cl["log_duration"])
    dist = data.X[:, data.covariates.index("distance_km")]
    assert (dist[cl["protocol_type"].ne("Traveling").to_numpy()] == 0).all()
    assert data.X[:, data.covariates.index("protocol_traveling")].sum() == 3781
    h = pd.to_timedelta(cl["time_observations_started"]).dt.total_seconds() / 3600
    np.testing.assert_allclose(data.X[:, data.covariates.index("time_sin")], np.sin(2 * np.pi * h / 24), atol=1e-12)
    assert "fold_id" in data.extra.columns and "year" not in data.covariates


def test_roccupy_spatial_split_keeps_blocks_apart():
    _need("ebird_roccupy")
    data = load_roccupy(DATA)
    parts = train_val_test_split(data, kind="spatial", block_km=100, seed=0)
    blocks = [set(block_ids(p.coords[:, 0], p.coords[:, 1], 100)) for p in parts]
    assert not (blocks[0] & blocks[1] or blocks[0] & blocks[2] or blocks[1] & blocks[2])
    assert sum(p.n_sites for p in parts) == 8000


def test_load_tarentaise():
    d = _need("tarentaise")
    data = load_tarentaise(DATA)
    assert (data.n_sites, data.n_species, data.n_features) == (376, 98, 15)
    assert data.X[0, data.covariates.index("alti")] == 600 and data.X[0, data.covariates.index("phot")] == 5
    assert set(np.unique(data.X[:, data.covariates.index("alti")])) <= set(range(600, 2551, 150))
    assert data.X[:, data.covariates.index("alti_m")].min() == 640
    assert data.Y.sum(axis=1).mean() == pytest.approx(9.16, abs=0.01)
    assert data.coords is None
    latin = load_tarentaise(d, species_names="latin")
    assert latin.species[0] == "Motacilla alba"


def test_load_mlc():
    _need("mlc")
    tr = load_mlc(DATA, "yeast", "train")
    assert tr.X.shape == (1500, 103) and tr.Y.shape == (1500, 14)
    assert tr.Y.sum(axis=1).mean() == pytest.approx(4.2280, abs=1e-4)
    te = load_mlc(DATA, "scene", "test")
    assert te.X.shape == (1196, 294) and te.species[0] == "Beach"
    with pytest.raises(InputDataError, match="name must be"):
        load_mlc(DATA, "emotions")


def test_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputDataError, match="does not exist|missing"):
        load_tarentaise(tmp_path / "nowhere")
