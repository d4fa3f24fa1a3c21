"""Tests of the embedded simulator (jsdm_hot.data.simulate)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from jsdm_hot.data import load_example, read_wide_csv, simulate_community, write_example
from jsdm_hot.errors import InputDataError

ete3 = pytest.importorskip("ete3")


@pytest.fixture(scope="module")
def default_sim():
    return simulate_community(seed=0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_same_seed_same_files_different_seed_differs(tmp_path):
    kw = dict(n_sites=120, n_species=9, n_mc=16)
    a = write_example(tmp_path / "a", seed=5, **kw)
    b = write_example(tmp_path / "b", seed=5, **kw)
    c = write_example(tmp_path / "c", seed=6, **kw)
    assert set(a) == {"community", "grid", "tree", "truth"}
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    assert a["community"].read_bytes() != c["community"].read_bytes()
    assert a["tree"].read_bytes() != c["tree"].read_bytes()
    # no temporary files left behind
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["community.csv", "grid.csv", "tree.nwk", "truth.json"]


def test_written_example_reads_back_identically(tmp_path):
    sim = simulate_community(n_sites=80, n_species=6, n_interactions=2, n_mc=8, seed=2)
    paths = write_example(tmp_path, n_sites=80, n_species=6, n_interactions=2, n_mc=8, seed=2)
    data = read_wide_csv(paths["community"])
    header = paths["community"].read_text().splitlines()[0].split(",")
    assert header[:7] == ["site_id", "lon", "lat", "temp", "precip", "forest", "elev"]
    assert data.species == sim.data.species and data.covariates == sim.data.covariates
    np.testing.assert_array_equal(data.X, sim.data.X)
    np.testing.assert_array_equal(data.Y, sim.data.Y)
    np.testing.assert_array_equal(data.coords, sim.data.coords)
    assert list(data.site_ids) == list(sim.data.site_ids)
    grid = read_wide_csv(paths["grid"], require_species=False)
    assert grid.Y is None and grid.n_sites == np.prod(sim.truth.grid_shape)
    truth = json.loads(paths["truth"].read_text())
    assert truth["species"] == list(sim.data.species)
    np.testing.assert_allclose(truth["beta"], sim.truth.beta, atol=1e-6)
    assert [i["kind"] for i in truth["interactions"]] == ["conjunction", "exclusion"]
    assert paths["tree"].read_text().strip() == sim.newick


def test_load_example_is_simulate_community():
    a, b = load_example(n_sites=50, n_species=6, n_mc=4, seed=3), simulate_community(n_sites=50, n_species=6, n_mc=4, seed=3)
    np.testing.assert_array_equal(a.data.Y, b.data.Y)
    assert a.newick == b.newick


def test_shapes_names_and_grid():
    sim = simulate_community(n_sites=150, n_species=12, n_covariates=10, n_interactions=4, n_mc=8, seed=1)
    d, t = sim.data, sim.truth
    n_rows, n_cols = t.grid_shape
    assert n_rows * n_cols >= 150
    assert d.X.shape == (150, 10) and d.Y.shape == (150, 12) and d.coords.shape == (150, 2)
    assert d.Y.dtype == np.uint8 and set(np.unique(d.Y)) <= {0, 1}
    assert d.covariates == ("temp", "precip", "forest", "elev", "urban", "wetland", "grass", "water", "env_9", "env_10")
    assert d.crs == "EPSG:4326"
    assert t.beta.shape == (10, 12) and t.alpha.shape == (12,)
    for m in (t.phylo_cov, t.residual_cov, t.residual_corr):
        assert m.shape == (12, 12)
    for m in (t.prob, t.prob_given_residual, t.residuals, t.occurrences_latent):
        assert m.shape == (150, 12)
    assert len(set(d.species)) == 12
    assert all(re.fullmatch(r"[A-Z][a-z]+ [a-z]+", s) for s in d.species), d.species
    assert [s.split()[0] for s in d.species] == list(t.genus)
    # covariates are standardised over the grid; the sites are grid cells
    g = sim.grid
    assert g.n_sites == n_rows * n_cols and g.Y is None
    np.testing.assert_allclose(g.X.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(g.X.std(axis=0), 1, atol=1e-5)
    cells = {tuple(r) for r in np.column_stack([g.coords, g.X])}
    assert all(tuple(r) in cells for r in np.column_stack([d.coords, d.X]))
    # plausible region, regular spacing
    assert (-84 < g.coords[:, 0]).all() and (g.coords[:, 0] < -70).all() and (34 < g.coords[:, 1]).all() and (g.coords[:, 1] < 50).all()
    assert np.unique(np.round(np.diff(np.unique(g.coords[:, 0])), 9)).size == 1
    # the smooth fields are spatially autocorrelated: neighbours are similar
    temp = g.X[:, 0].reshape(n_rows, n_cols)
    assert np.corrcoef(temp[:, :-1].ravel(), temp[:, 1:].ravel())[0, 1] > 0.8


def test_explicit_grid_shape_subsamples_cells():
    sim = simulate_community(n_sites=40, n_species=4, n_interactions=1, grid_shape=(10, 12), n_mc=4, seed=0)
    assert sim.truth.grid_shape == (10, 12) and sim.grid.n_sites == 120 and sim.data.n_sites == 40
    assert len({tuple(c) for c in sim.data.coords}) == 40
    with pytest.raises(InputDataError, match="fewer than n_sites=40"):
        simulate_community(n_sites=40, grid_shape=(5, 5))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_species=5, n_interactions=2), "needs 6 distinct species"),
        (dict(n_species=1), "at least 2"),
        (dict(phylo_signal=1.5), r"phylo_signal must be in \[0, 1\]"),
        (dict(n_sites=0), "n_sites must be at least 1"),
        (dict(n_covariates=0), "n_covariates must be at least 1"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(InputDataError, match=match):
        simulate_community(**kwargs)


def test_tree_is_ultrametric_with_species_tips_and_matches_phylo_cov(default_sim):
    sim = default_sim
    tree = ete3.Tree(sim.newick)
    tips = tree.get_leaves()
    assert len(tips) == 24
    assert sorted(leaf.name.replace("_", " ") for leaf in tips) == sorted(sim.data.species)
    depths = [tree.get_distance(leaf) for leaf in tips]
    np.testing.assert_allclose(depths, 1.0, atol=1e-8)
    # Brownian covariance = shared root-to-MRCA length = 1 - patristic distance / 2 (depth 1)
    names = [s.replace(" ", "_") for s in sim.data.species]
    C = sim.truth.phylo_cov
    for i in range(0, 24, 5):
        for j in range(24):
            dist = 0.0 if i == j else tree.get_distance(names[i], names[j])
            np.testing.assert_allclose(C[i, j], 1.0 - dist / 2, atol=1e-8)
    # genera are clades
    for genus in set(sim.truth.genus):
        members = [n for n in names if n.startswith(genus + "_")]
        clade = tree.get_common_ancestor(members) if len(members) > 1 else tree & members[0]
        assert sorted(clade.get_leaf_names()) == sorted(members)
    assert len(set(sim.truth.genus)) == 6


def test_residual_correlation_follows_the_tree(default_sim):
    t = default_sim.truth
    iu = np.triu_indices(24, 1)
    c, r = t.phylo_cov[iu], t.residual_corr[iu]
    close = c > np.median(c)
    assert r[close].mean() > r[~close].mean() + 0.2
    assert spearmanr(c, r).statistic > 0.5
    # the realised residuals were drawn from that covariance
    emp = np.corrcoef(t.residuals.T)
    assert np.abs(emp - t.residual_corr)[iu].mean() < 0.05
    # with lambda = 1 the residual correlation is exactly the tree's covariance
    sim1 = simulate_community(n_sites=30, n_species=8, n_interactions=0, phylo_signal=1.0, n_mc=2, seed=4)
    np.testing.assert_allclose(sim1.truth.residual_corr, sim1.truth.phylo_cov, atol=1e-12)


def test_coefficients_have_phylogenetic_signal():
    sim = simulate_community(n_sites=30, n_species=16, n_covariates=40, n_interactions=0, n_mc=2, seed=7)
    b, C = sim.truth.beta, sim.truth.phylo_cov
    iu = np.triu_indices(16, 1)
    msd = ((b[:, :, None] - b[:, None, :]) ** 2).mean(axis=0)[iu]
    expected = 2 * (0.8 * (1 - C[iu]) + 0.2)  # E (b_i - b_j)^2 under the BM + white-noise model
    assert spearmanr(msd, expected).statistic > 0.5
    assert 0.5 < msd.mean() / expected.mean() < 2.0


def test_close_relatives_co_occur_more_in_the_data():
    diffs = []
    for seed in range(5):
        sim = simulate_community(seed=seed, n_mc=4)
        iu = np.triu_indices(sim.data.n_species, 1)
        phi = np.corrcoef(sim.data.Y.T.astype(float))[iu]
        c = sim.truth.phylo_cov[iu]
        close = c > np.median(c)
        diffs.append(phi[close].mean() - phi[~close].mean())
    assert min(diffs) > 0, diffs
    assert np.mean(diffs) > 0.05, diffs


def test_probabilities_follow_the_stated_equations(default_sim):
    d, t = default_sim.data, default_sim.truth
    p = _sigmoid(t.alpha + d.X @ t.beta + t.residuals)
    # alpha is calibrated: the mean latent probability is the target prevalence
    np.testing.assert_allclose(p.mean(axis=0), t.target_prevalence, atol=1e-6)
    idx = {s: j for j, s in enumerate(d.species)}
    touched = set()
    for it in t.interactions:
        a, b, c = (idx[s] for s in it["members"])
        touched |= {a, b, c}
        if it["kind"] == "conjunction":
            np.testing.assert_allclose(t.prob_given_residual[:, c], p[:, c] * p[:, a] * p[:, b])
        elif it["kind"] == "exclusion":
            np.testing.assert_allclose(t.prob_given_residual[:, c], p[:, c] * (1 - p[:, a] * p[:, b]))
        else:
            cond = d.X[:, d.covariates.index(it["covariate"])] > it["threshold"]
            np.testing.assert_allclose(t.prob_given_residual[:, a], p[:, a] + (1 - p[:, a]) * cond * p[:, b] * p[:, c])
    free = sorted(set(range(d.n_species)) - touched)
    np.testing.assert_allclose(t.prob_given_residual[:, free], p[:, free])
    np.testing.assert_array_equal(d.Y[:, free], t.occurrences_latent[:, free])
    # Y was drawn from prob_given_residual: per-species counts within 4 binomial sd
    expected = t.prob_given_residual.sum(axis=0)
    sd = np.sqrt((t.prob_given_residual * (1 - t.prob_given_residual)).sum(axis=0))
    assert (np.abs(d.Y.sum(axis=0) - expected) < 4 * sd + 1).all()
    # the x-only probability averages over the residuals: same site means, flatter per site
    np.testing.assert_allclose(t.prob.mean(axis=0)[free], t.target_prevalence[free], atol=0.03)
    assert t.prob.std() < t.prob_given_residual.std()


def test_higher_order_interactions_are_in_the_data(default_sim):
    d, t = default_sim.data, default_sim.truth
    Y, Yl = d.Y.astype(bool), t.occurrences_latent.astype(bool)
    idx = {s: j for j, s in enumerate(d.species)}
    kinds = [it["kind"] for it in t.interactions]
    assert kinds == ["conjunction", "exclusion", "flock"]
    members = [m for it in t.interactions for m in it["members"]]
    assert len(set(members)) == 9  # disjoint
    for it in t.interactions:
        a, b, c = (idx[s] for s in it["members"])
        assert len({t.genus[a], t.genus[b], t.genus[c]}) == 3, it  # not a phylogenetic effect
        if it["kind"] == "conjunction":
            assert it["target"] == d.species[c] and it["given"] == [d.species[a], d.species[b]]
            assert not (Y[:, c] & ~(Y[:, a] & Y[:, b])).any()  # never without both hosts
            assert Y[:, c].sum() >= 20
            assert (Yl[:, c] & ~(Yl[:, a] & Yl[:, b])).sum() >= 20  # it did remove presences
            # third order: one host is not enough
            assert (Y[:, a] & ~Y[:, b]).any() and not (Y[:, c] & Y[:, a] & ~Y[:, b]).any()
        elif it["kind"] == "exclusion":
            assert not (Y[:, c] & Y[:, a] & Y[:, b]).any()
            assert (Y[:, c] & Y[:, a]).sum() >= 5 and (Y[:, c] & Y[:, b]).sum() >= 5  # pairs do co-occur
            assert (Yl[:, c] & Yl[:, a] & Yl[:, b]).sum() >= 5
        else:
            cond = d.X[:, d.covariates.index("forest")] > 0
            n_present = Y[:, [a, b, c]].sum(axis=1)
            assert not (cond & (n_present == 2)).any()
            assert (~cond & (n_present == 2)).sum() >= 3  # the rule depends on the gradient
            assert (cond & (n_present == 3)).sum() >= 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prevalences_are_realistic(seed):
    sim = simulate_community(seed=seed, n_mc=4)
    prev = sim.data.Y.mean(axis=0)
    assert prev.min() >= 0.02 and prev.max() <= 0.8, prev
    assert prev.min() < 0.12 and prev.max() > 0.4, prev  # rare and common species
    assert (sim.data.Y.sum(axis=1) > 0).mean() > 0.7  # most sites hold some species


def test_covariate_signal_is_strong_enough_to_learn(default_sim):
    d, t = default_sim.data, default_sim.truth
    oracle = [roc_auc_score(d.Y[:, j], t.prob[:, j]) for j in range(d.n_species)]
    assert np.median(oracle) > 0.8
    train, test = np.arange(0, d.n_sites, 2), np.arange(1, d.n_sites, 2)
    aucs = [
        roc_auc_score(d.Y[test, j], LogisticRegression().fit(d.X[train], d.Y[train, j]).predict_proba(d.X[test])[:, 1])
        for j in range(d.n_species)
    ]
    assert np.median(aucs) > 0.75, np.median(aucs)


def test_cli_simulate_writes_the_example(tmp_path):
    from typer.testing import CliRunner

    from jsdm_hot.cli import app

    out = tmp_path / "example"
    res = CliRunner().invoke(app, ["simulate", str(out), "--sites", "90", "--species", "7", "--seed", "4"])
    assert res.exit_code == 0, res.output
    for name in ("community.csv", "grid.csv", "tree.nwk", "truth.json"):
        assert name in res.output and (out / name).is_file()
    data = read_wide_csv(out / "community.csv")
    sim = simulate_community(n_sites=90, n_species=7, seed=4)
    assert data.Y.shape == (90, 7) and data.species == sim.data.species
    np.testing.assert_array_equal(data.Y, sim.data.Y)
    assert json.loads((out / "truth.json").read_text())["params"]["seed"] == 4
    bad = CliRunner().invoke(app, ["simulate", str(out), "--species", "1"])
    assert bad.exit_code != 0 and "--species" in bad.output
