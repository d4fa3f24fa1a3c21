"""Associations: pairs table, tree and clustering order, draws-based association with its noise level, heatmap."""

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain import association_order, draw_associations, plot_associations, strongest_pairs
from jsdm_hot.explain.associations import DIVERGING_CMAP, check_matrix

NAMES = ["Anas a", "Anas b", "Buteo c", "Buteo d"]
M = pd.DataFrame([[1.0, 0.8, -0.1, 0.0], [0.8, 1.0, 0.05, -0.6], [-0.1, 0.05, 1.0, 0.3], [0.0, -0.6, 0.3, 1.0]],
                 index=NAMES, columns=NAMES)


def test_strongest_pairs():
    t = strongest_pairs(M, n=2, labels={"Anas a": "Duck A"})
    assert t[["species_a", "species_b", "direction", "rank"]].values.tolist() == [
        ["Anas a", "Anas b", "positive", 1], ["Buteo c", "Buteo d", "positive", 2],
        ["Anas b", "Buteo d", "negative", 1], ["Anas a", "Buteo c", "negative", 2]]
    assert t["label_a"].iloc[0] == "Duck A"
    assert len(strongest_pairs(M, n=10)) == 5  # the zero pair is neither positive nor negative
    kept = strongest_pairs(M, n=10, min_abs=0.2)
    assert set(kept["value"]) == {0.8, 0.3, -0.6}
    per_pair = np.full((4, 4), 0.9)
    assert strongest_pairs(M, min_abs=per_pair).empty


def test_check_matrix_errors():
    with pytest.raises(InputDataError, match="DataFrame"):
        check_matrix(M.to_numpy())
    with pytest.raises(InputDataError, match="same species"):
        check_matrix(M.rename(columns={"Anas a": "x"}))
    bad = M.copy()
    bad.iloc[0, 1] = 0.1
    with pytest.raises(InputDataError, match="symmetric"):
        check_matrix(bad)


def test_order_by_tree_and_by_clustering():
    tree = "((Buteo_d:1,Buteo_c:1):1,(Anas_b:1,(Anas_a:0.5,Zz_q:0.5):0.5):1);"
    order, how = association_order(M, tree)
    assert how == "tree" and order == ["Buteo d", "Buteo c", "Anas b", "Anas a"]
    partial = "((Buteo_d:1,Anas_a:1):1,Buteo_c:2);"  # Anas b missing: appended after the tree's species
    order, _ = association_order(M, partial)
    assert order == ["Buteo d", "Anas a", "Buteo c", "Anas b"]
    order, how = association_order(M)
    assert how == "clustering" and sorted(order) == sorted(NAMES)
    pos = {s: i for i, s in enumerate(order)}
    assert abs(pos["Anas a"] - pos["Anas b"]) == 1 and abs(pos["Buteo c"] - pos["Buteo d"]) == 1


def test_draw_associations_recovers_dependence_and_noise():
    rng = np.random.default_rng(0)
    S, n = 200, 150
    p = rng.uniform(0.2, 0.8, size=(1, n, 1))
    a = (rng.random((S, n, 1)) < p).astype(np.uint8)
    b = a.copy()                                    # always together
    c = 1 - a                                       # never together
    d = (rng.random((S, n, 1)) < 0.5).astype(np.uint8)  # independent
    z = np.zeros((S, n, 1), dtype=np.uint8)         # never present
    r = draw_associations(np.concatenate([a, b, c, d, z], axis=2), list("abcdz"))
    assert r.loc["a", "b"] == pytest.approx(1.0) and r.loc["a", "c"] == pytest.approx(-1.0)
    se = r.attrs["se"]
    assert abs(r.loc["a", "d"]) < 4 * se[0, 3] and 0 < se[0, 3] < 0.02
    assert r.loc["a", "z"] == 0.0 and r.loc["z", "z"] == 1.0
    # environment alone (sites differ, species independent within a site) gives no association
    e = (rng.random((S, n, 2)) < np.repeat(p, 2, axis=2)).astype(np.uint8)
    assert abs(draw_associations(e, ["e1", "e2"]).iloc[0, 1]) < 0.03
    with pytest.raises(InputDataError):
        draw_associations(e[:1], ["e1", "e2"])


def test_heatmap_marks_strongest_and_greys_noise():
    from matplotlib.patches import Rectangle

    fig = plot_associations(M, n_mark=1, labels={"Anas a": "Duck A"}, min_abs=0.2)
    ax = fig.axes[0]
    assert sum(isinstance(p, Rectangle) for p in ax.patches) == 4  # one positive + one negative pair, both cells
    im = ax.images[0]
    assert im.get_cmap().name.startswith(DIVERGING_CMAP)
    assert im.get_clim() == (-0.8, 0.8)  # symmetric around 0
    assert np.isnan(im.get_array().filled(np.nan)).sum() == 4 + 6  # diagonal + the three pairs within noise
    assert "Duck A" in [t.get_text() for t in ax.get_xticklabels()]
    assert "clustering" in ax.get_title() and "3 pairs within noise" in ax.get_title()


def test_fitted_tree_and_residual_association_files_of_a_hotvae(residual_hot, sim_split, tmp_path):
    from jsdm_hot.explain import fitted_tree, write_residual_associations
    from jsdm_hot.phylo import read_tree

    sim = sim_split[0]
    assert fitted_tree(residual_hot) == sim.newick  # the model's tree parameter
    paths = write_residual_associations(residual_hot, tmp_path / "rep")
    corr = pd.read_csv(paths["residual_correlation_csv"], index_col=0)
    # ordered by the tree the model was fitted with: the tips' order, as names of the data
    tips = [t.replace("_", " ") for t in read_tree(sim.newick).tip_names]
    assert list(corr.index) == list(corr.columns) == [t for t in tips if t in set(residual_hot.species_)]
    np.testing.assert_allclose(corr.to_numpy(), residual_hot.residual_correlation_.loc[corr.index, corr.columns], atol=1e-12)
    pairs = pd.read_csv(paths["residual_pairs_csv"])
    top = pairs[pairs["direction"] == "positive"].iloc[0]
    iu = np.triu_indices(len(corr), 1)
    assert top["value"] == pytest.approx(corr.to_numpy()[iu].max())
    assert paths["residual_correlation_png"].read_bytes()[:4] == b"\x89PNG"
    # a tree file that is gone: clustering; a model without a residual association: a clear error
    gone = residual_hot.set_params(tree=str(tmp_path / "gone.nwk"))
    try:
        assert fitted_tree(gone) is None
    finally:
        residual_hot.set_params(tree=sim.newick)
    with pytest.raises(InputDataError, match="has no residual association"):
        write_residual_associations(type("M", (), {"has_residual_association": False})(), tmp_path)
