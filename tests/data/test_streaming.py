"""Training from a parquet dataset on disk, row group by row group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data.streaming import ParquetCommunity
from jsdm_hot.errors import InputDataError
from jsdm_hot.training.batches import ParquetBatches
from jsdm_hot.training.distributed import DistContext

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def sim():
    from jsdm_hot.data.simulate import simulate_community

    return simulate_community(n_sites=600, n_species=7, seed=4)


def _write(df: pd.DataFrame, path, row_group_size: int):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=row_group_size)
    return path


@pytest.fixture(scope="module")
def parquet_dir(sim, tmp_path_factory):
    """Two files, 60-row row groups: 10 units."""
    root = tmp_path_factory.mktemp("pq")
    df = sim.data.to_frame()
    _write(df.iloc[:300], root / "part-0.parquet", 60)
    _write(df.iloc[300:], root / "part-1.parquet", 60)
    return root


def test_units_roles_and_reading_match_the_table(sim, parquet_dir):
    data = ParquetCommunity(parquet_dir)
    assert data.n_units == 10 and data.n_sites == 600
    assert data.species == sim.data.species and data.covariates == sim.data.covariates
    whole = data.read()
    np.testing.assert_array_equal(whole.Y, sim.data.Y)
    np.testing.assert_allclose(whole.X, sim.data.X)
    assert list(whole.site_ids) == list(sim.data.site_ids)


def test_roles_follow_the_column_rule_without_site_id_or_coordinates(sim, tmp_path):
    """A checklist table: the id is recognised by name; without any id, rows are numbered across units."""
    from jsdm_hot.data.columns import ColumnSpec

    df = sim.data.to_frame().drop(columns=["lon", "lat"]).rename(columns={"site_id": "checklist_id"})
    data = ParquetCommunity(_write(df.iloc[:120], tmp_path / "c.parquet", 40))
    assert data.species == sim.data.species and data.covariates == sim.data.covariates
    part = data.read([0, 2])
    assert list(part.site_ids) == list(df["checklist_id"].iloc[list(range(40)) + list(range(80, 120))])
    assert part.coords is None
    bare = ParquetCommunity(_write(df.iloc[:120].drop(columns="checklist_id"), tmp_path / "b.parquet", 40))
    assert list(bare.read([1, 2]).site_ids) == [f"site_{i}" for i in range(80)]
    named = ParquetCommunity(tmp_path / "c.parquet", ColumnSpec(species=list(sim.data.species[:2])))
    assert named.species == sim.data.species[:2] and sim.data.species[2] in named.covariates
    with pytest.raises(InputDataError, match=r"site id column \['site_id'\] in .*c\.parquet row group 0 not found"):
        ParquetCommunity(tmp_path / "c.parquet", site_col="site_id")


def test_scan_statistics_equal_in_memory_ones(sim, parquet_dir):
    data = ParquetCommunity(parquet_dir)
    units = [0, 3, 4, 9]
    stats = data.scan(units)
    rows = np.concatenate([np.arange(u * 60, u * 60 + 60) for u in units])
    X, Y = sim.data.X[rows], sim.data.Y[rows].astype(np.int64)
    assert stats.n_sites == 240
    np.testing.assert_allclose(stats.x_mean, X.mean(0), rtol=1e-10)
    np.testing.assert_allclose(stats.x_scale, X.std(0), rtol=1e-8)
    np.testing.assert_allclose(stats.prevalence, Y.mean(0))
    np.testing.assert_array_equal(stats.cooccurrence, Y.T @ Y)


def test_batches_cover_training_rows_once_and_shuffle(sim, parquet_dir):
    import torch

    data = ParquetCommunity(parquet_dir)
    units = np.arange(10)
    src = ParquetBatches(data, units, np.zeros(len(data.covariates)), np.ones(len(data.covariates)), buffer_units=3)
    seen = [b.x.numpy() for b in src.batches(0, 1, 50, DistContext(), torch.device("cpu"))]
    got = np.concatenate(seen)
    assert len(seen) == 12 and got.shape == (600, len(data.covariates))
    # every site exactly once, and not in file order
    key = lambda a: np.round(a[:, 0], 4) * 1e4 + np.round(a[:, 1], 4)  # noqa: E731
    np.testing.assert_allclose(np.sort(key(got)), np.sort(key(sim.data.X.astype(np.float32))), rtol=1e-6)
    assert not np.allclose(got[:50], sim.data.X[:50])
    again = np.concatenate([b.x.numpy() for b in src.batches(0, 1, 50, DistContext(), torch.device("cpu"))])
    np.testing.assert_array_equal(got, again)  # same (seed, epoch): same order
    other = np.concatenate([b.x.numpy() for b in src.batches(1, 1, 50, DistContext(), torch.device("cpu"))])
    assert not np.array_equal(got, other)


def test_ranks_get_disjoint_rows_and_equal_step_counts(parquet_dir):
    import torch

    data = ParquetCommunity(parquet_dir)
    src = ParquetBatches(data, np.arange(10), np.zeros(len(data.covariates)), np.ones(len(data.covariates)))
    per_rank = [[b.x.numpy() for b in src.batches(2, 0, 40, DistContext(rank=r, world_size=3), torch.device("cpu"))]
                for r in range(3)]
    assert len({len(p) for p in per_rank}) == 1  # DDP needs the same number of steps on every rank
    assert all(b.shape[0] == 13 for p in per_rank for b in p)
    rows = [np.concatenate(p) for p in per_rank]
    allrows = np.concatenate(rows)
    assert np.unique(allrows, axis=0).shape[0] == allrows.shape[0]


def test_fit_from_parquet_learns_the_simulated_community(sim, parquet_dir):
    from sklearn.metrics import roc_auc_score

    from jsdm_hot import HotVAE
    from jsdm_hot.data.splits import holdout_split

    data = ParquetCommunity(parquet_dir)
    model = HotVAE(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, n_layers=1, lambda2=1.0, max_epochs=15,
                   patience=15, batch_size=64, lr=3e-3, device="cpu", random_state=0, graph="prior").fit(data)
    assert len(model.history_) == 15 and model.label_graph_.kind == "prior"
    prob = model.predict_proba(sim.data)
    aucs = [roc_auc_score(sim.data.Y[:, j], prob[:, j]) for j in range(sim.data.n_species)
            if 0 < sim.data.Y[:, j].sum() < sim.data.n_sites]
    assert np.median(aucs) > 0.7
    # stored standardisation = statistics of the training row groups only, not the whole file's
    _, train_units = holdout_split(data.n_units, 0.1, 0)  # the one seeded hold-out, over row groups
    assert train_units.size == 9
    stats = data.scan(train_units)
    np.testing.assert_allclose(model.x_mean_, stats.x_mean)
    np.testing.assert_allclose(model.x_scale_, stats.x_scale)
    assert not np.allclose(model.x_mean_, sim.data.X.mean(0))


def test_clear_errors(tmp_path, sim):
    with pytest.raises(InputDataError, match="does not exist"):
        ParquetCommunity(tmp_path / "nope.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(InputDataError, match="not a readable parquet"):
        ParquetCommunity(tmp_path / "junk.parquet")
    df = sim.data.to_frame()
    df.loc[70, sim.data.species[0]] = 3
    bad = ParquetCommunity(_write(df, tmp_path / "bad.parquet", 60), species_cols=list(sim.data.species))
    with pytest.raises(InputDataError, match=r"bad\.parquet row group 1 has value 3 at row 11"):
        bad.read_unit(1)
    from jsdm_hot import HotVAE

    one = ParquetCommunity(_write(sim.data.to_frame(), tmp_path / "one.parquet", 10_000))
    with pytest.raises(InputDataError, match=r"one\.parquet: give validation data \(X_val\) or a parquet file with "
                                             "several row groups"):
        HotVAE(device="cpu").fit(one)


def test_cli_fit_stream(parquet_dir, tmp_path):
    from typer.testing import CliRunner

    from jsdm_hot import HotVAE
    from jsdm_hot.cli import app

    args = ["fit", str(parquet_dir), "--stream", "--out", str(tmp_path / "m"), "--epochs", "2", "--d-model", "16",
            "--device", "cpu", "--no-progress", "--graph", "prior"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output + repr(res.exception)
    model = HotVAE.load(tmp_path / "m")
    assert len(model.history_) == 2 and model.label_graph_.kind == "prior" and len(model.species_) == 7
    tree = tmp_path / "t.nwk"
    tree.write_text("(" + ",".join(f"'{s}':1" for s in model.species_) + ");")
    res = CliRunner().invoke(app, [*args[:-1], "phylo", "--tree", str(tree), "--overwrite"])
    assert res.exit_code != 0 and isinstance(res.exception, InputDataError)
    assert "graph 'phylo' needs the in-memory path; streaming supports complete or prior" in str(res.exception)
