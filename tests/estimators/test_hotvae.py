"""HotVAE, the estimator: fitted attributes, data-aware defaults, the label graph, errors, files.

What every model shares (shapes, seeds, save/load, clone, tampered files) is
checked once for all of them in ``test_contract.py``; this file holds what is
HotVAE's own.
"""

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from jsdm_hot import HotVAE, InputDataError, LabelGraph, ModelFileError, NotFittedError, TreeError
from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.splits import holdout_split
from jsdm_hot.estimators.hotvae import CPU_D_MODEL
from jsdm_hot.model.config import ModelConfig
from jsdm_hot.phylo import build_label_graph
from jsdm_hot.training.config import TrainConfig


@pytest.fixture(scope="module")
def split(small_sim):
    d = small_sim.data
    return d.subset(np.arange(0, 200)), d.subset(np.arange(200, 300))


@pytest.fixture(scope="module")
def fitted(split, tiny_params):
    train, _ = split
    return HotVAE(**tiny_params, graph="prior", random_state=3).fit(train)


def _median_auc(Y, P):
    return np.median([roc_auc_score(Y[:, j], P[:, j]) for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)])


def _newick(species):
    """A caterpillar tree over ``species`` (neighbours in the list are closest relatives); tips quoted."""
    text = f"'{species[0]}'"
    for s in species[1:]:
        text = f"({text}:1,'{s}':1)"
    return text + ";"


def test_fit_sets_fitted_attributes(fitted, split, tiny_params):
    train, _ = split
    assert fitted.species_ == train.species
    assert fitted.feature_names_in_ == train.covariates
    assert fitted.n_features_in_ == train.n_features
    assert fitted.thresholds_.shape == (train.n_species,)
    assert len(fitted.history_) >= 1 and {"loss", "bce", "ranking", "kl", "val_maf1"} <= set(fitted.history_[0])
    assert fitted.label_graph_.kind == "prior"
    # the network and optimisation settings actually used, split in two frozen configs
    assert fitted.model_config_ == ModelConfig(d_model=16, n_heads=2, latent_dim=8, encoder_hidden=32, n_layers=2,
                                               lambda2=1.0)
    assert fitted.train_config_ == TrainConfig(max_epochs=4, patience=4, batch_size=64)
    # standardisation and training range come from the training sites, after the seeded validation hold-out
    _, kept = holdout_split(train.n_sites, 0.1, 3)
    np.testing.assert_allclose(fitted.x_mean_, train.X[kept].mean(0))
    np.testing.assert_array_equal(fitted.x_min_, train.X[kept].min(0))
    np.testing.assert_array_equal(fitted.x_max_, train.X[kept].max(0))
    assert fitted.fit_seconds_ > 0 and fitted.metadata_ == {}
    assert 0 <= fitted.best_epoch_ < len(fitted.history_)


def test_predictions_have_documented_shapes(fitted, split):
    _, test = split
    P = fitted.predict_proba(test)
    assert P.shape == (100, test.n_species) and P.dtype == np.float32
    assert ((P >= 0) & (P <= 1)).all()
    B = fitted.predict(test)
    assert B.dtype == np.uint8 and set(np.unique(B)) <= {0, 1}
    np.testing.assert_array_equal(B, (P >= fitted.thresholds_).astype(np.uint8))
    D = fitted.sample(test, n_draws=7, seed=2)
    assert D.shape == (7, 100, test.n_species) and D.dtype == np.uint8


def test_simulated_median_auc_far_above_chance():
    from sklearn.linear_model import LogisticRegression

    from jsdm_hot.data.simulate import simulate_community

    d = simulate_community(n_sites=600, n_species=12, seed=1).data
    train, test = d.subset(np.arange(420)), d.subset(np.arange(420, 600))
    model = HotVAE(d_model=32, n_heads=2, latent_dim=16, encoder_hidden=64, lambda2=1.0, max_epochs=30, patience=10,
                   batch_size=32, random_state=0)
    auc = _median_auc(test.Y, model.fit(train).predict_proba(test))
    ref = _median_auc(test.Y, np.column_stack([
        LogisticRegression(max_iter=1000).fit(train.X, train.Y[:, j]).predict_proba(test.X)[:, 1]
        for j in range(train.n_species)]))
    # measured: HOT-VAE 0.78, logistic regression (the simulation's own link) 0.81
    assert auc > 0.7, auc
    assert auc > ref - 0.08, (auc, ref)


def test_same_seed_same_model_and_draws(split, tiny_params, fitted):
    train, test = split
    again = HotVAE(**tiny_params, graph="prior", random_state=3).fit(train)
    np.testing.assert_array_equal(again.predict_proba(test), fitted.predict_proba(test))
    np.testing.assert_array_equal(again.sample(test, 5, seed=1), fitted.sample(test, 5, seed=1))
    assert not np.array_equal(fitted.sample(test, 5, seed=1), fitted.sample(test, 5, seed=2))


def test_save_load_roundtrip_is_exact(fitted, split, tmp_path):
    _, test = split
    fitted.save(tmp_path / "m")
    back = HotVAE.load(tmp_path / "m", device="cpu")
    np.testing.assert_array_equal(back.predict_proba(test), fitted.predict_proba(test))
    np.testing.assert_array_equal(back.predict(test), fitted.predict(test))
    np.testing.assert_array_equal(back.sample(test, 4, seed=9), fitted.sample(test, 4, seed=9))
    np.testing.assert_array_equal(back.label_graph_.mask, fitted.label_graph_.mask)
    assert back.get_params()["graph"] == "prior"
    assert back.model_config_ == fitted.model_config_ and back.train_config_ == fitted.train_config_
    assert back.best_epoch_ == fitted.best_epoch_ and back.stopped_early_ == fitted.stopped_early_
    np.testing.assert_array_equal(back.x_min_, fitted.x_min_)
    np.testing.assert_array_equal(back.x_max_, fitted.x_max_)
    with pytest.raises(ModelFileError, match="already exists"):
        fitted.save(tmp_path / "m")


def test_load_refuses_a_pickle_beside_the_weights(fitted, tmp_path):
    path = fitted.save(tmp_path / "m")
    (path / "model.pt").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelFileError, match="unexpected files"):
        HotVAE.load(path)


def test_errors_on_bad_use(fitted, split, tiny_params):
    train, test = split
    with pytest.raises(NotFittedError, match="fit"):
        HotVAE().predict_proba(test)
    with pytest.raises(InputDataError, match="features"):
        fitted.predict_proba(np.zeros((3, train.n_features + 1)))
    with pytest.raises(InputDataError, match="missing"):
        fitted.predict_proba(CommunityData.from_arrays(np.zeros((3, 2)), covariates=["temp", "nope"]))
    with pytest.raises(InputDataError, match="occurrences"):
        HotVAE(**tiny_params).fit(np.zeros((10, 2)))
    with pytest.raises(InputDataError, match="0/1"):
        HotVAE(**tiny_params).fit(np.zeros((10, 2)), np.full((10, 3), 2))
    with pytest.raises(InputDataError, match="val_fraction"):
        HotVAE(**tiny_params, val_fraction=1.5).fit(train)
    with pytest.raises(InputDataError, match="n_draws"):
        fitted.sample(test, n_draws=0)


@pytest.mark.parametrize("params,match", [
    ({"graph": "bogus"}, "graph must be one of auto, complete, prior"),
    ({"graph": "phylo"}, r"graph='phylo' needs a phylogeny: pass tree=PATH.nwk"),
    ({"d_model": "big"}, "d_model must be a positive integer or 'auto', got 'big'"),
    ({"d_model": True}, "d_model must be a positive integer or 'auto'"),
    ({"lambda2": "high"}, "lambda2 must be a number >= 0 or 'auto'"),
    ({"lambda2": -1.0}, "lambda2 must be >= 0"),
    ({"lr": 0.0}, "lr must be > 0"),
    ({"max_epochs": 0}, "max_epochs must be a positive integer"),
    ({"d_model": 30, "n_heads": 4}, "d_model=30 must be divisible by n_heads=4"),
    ({"threshold_mode": "best"}, "threshold_mode must be 'per_label' or 'global'"),
])
def test_bad_parameters_raise_at_fit_naming_the_parameter(params, match, split, tiny_params):
    train, _ = split
    with pytest.raises(InputDataError, match=match):
        HotVAE(**{**tiny_params, **params}).fit(train)


def test_covariate_order_and_dataframes_are_matched_by_name(fitted, split):
    _, test = split
    P = fitted.predict_proba(test)
    df = pd.DataFrame(test.X, columns=list(test.covariates))[list(reversed(test.covariates))]
    np.testing.assert_allclose(fitted.predict_proba(df), P)


def test_explicit_validation_data(split, tiny_params):
    train, test = split
    m = HotVAE(**tiny_params, random_state=0).fit(train, X_val=test)
    assert m.thresholds_.shape == (train.n_species,)
    # no hold-out: the whole training set is standardised and trained on
    np.testing.assert_array_equal(m.x_min_, train.X.min(0))
    with pytest.raises(InputDataError, match="label_graph species"):
        HotVAE(**tiny_params).fit(train, label_graph=LabelGraph.complete([f"z{i}" for i in range(train.n_species)]))


# ---------------------------------------------------------------------- data-aware defaults
def _without(params, *names, **overrides):
    """``params`` less ``names`` (so their defaults apply), with ``overrides``."""
    return {**{k: v for k, v in params.items() if k not in names}, **overrides}


def test_auto_defaults_on_sparse_data_on_cpu(small_sim, tiny_params, caplog):
    """Sparse data (1.9 species per site): lambda2 'auto' is 0 (with a warning); d_model 'auto' is 64 on a CPU."""
    data = small_sim.data
    assert data.Y.sum(1).mean() < 3
    with caplog.at_level(logging.INFO, logger="jsdm_hot.estimators.hotvae"):
        m = HotVAE(**_without(tiny_params, "d_model", "lambda2", max_epochs=1), device="cpu").fit(data)
    assert m.get_params()["d_model"] == "auto" and m.get_params()["lambda2"] == "auto"
    assert m.model_config_.d_model == CPU_D_MODEL == 64
    assert m.model_config_.lambda2 == 0.0
    assert m.label_graph_.kind == "complete"  # graph 'auto' without a tree
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("lambda2='auto': 0" in w for w in warnings), warnings


def test_auto_lambda2_is_one_on_dense_communities(tiny_params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    Y = (rng.random((80, 8)) < 0.6).astype(np.uint8)  # about five species per site
    m = HotVAE(**_without(tiny_params, "lambda2", max_epochs=1), device="cpu").fit(X, Y)
    assert m.model_config_.lambda2 == 1.0


def test_auto_graph_with_a_tree_is_phylo_plus_prior_from_the_training_sites(split, tiny_params):
    train, _ = split
    held, kept = holdout_split(train.n_sites, 0.1, 4)
    Y = train.Y.copy()
    Y[:, 7] *= 1 - Y[:, 0]  # species 0 and 7 (far apart in the tree) never occur together...
    Y[held[0], [0, 7]] = 1  # ...except at one validation site, which the graph must not see
    data = CommunityData.from_arrays(train.X, Y, species=train.species, covariates=train.covariates)
    tree = _newick(list(train.species))
    m = HotVAE(**_without(tiny_params, max_epochs=1), tree=tree, random_state=4).fit(data)
    assert m.graph_kind() == "phylo+prior" and m.label_graph_.kind == "phylo+prior"
    expected, _ = build_label_graph("phylo+prior", Y[kept], train.species, tree=tree, phylo_k=3)
    np.testing.assert_array_equal(m.label_graph_.mask, expected.mask)
    assert not m.label_graph_.mask[0, 7]
    assert build_label_graph("phylo+prior", Y, train.species, tree=tree, phylo_k=3)[0].mask[0, 7]
    # a tree with graph="prior" is not used
    assert HotVAE(graph="prior", tree=tree).graph_kind() == "prior"


def test_species_missing_from_the_tree_are_dropped_when_asked(split, tiny_params):
    train, test = split
    tree = _newick(list(train.species[:-1]))  # the last species has no tip
    with pytest.raises(TreeError, match=train.species[-1]):
        HotVAE(**_without(tiny_params, max_epochs=1), tree=tree, graph="phylo").fit(train)
    m = HotVAE(**_without(tiny_params, max_epochs=1), tree=tree, graph="phylo", tree_unmatched="drop").fit(train)
    assert m.species_ == train.species[:-1]
    assert m.predict_proba(test).shape == (test.n_sites, train.n_species - 1)


# ---------------------------------------------------------------------- issue 18 options
def test_ensemble_members_embeddings_and_averaging_round_trip(split, tiny_params, tmp_path):
    """Two members with a PLE feature embedding and EMA weights: pooled draws, exact save/load."""
    from jsdm_hot.model.embeddings import quantile_edges
    from jsdm_hot.model.ensemble import HotVAEEnsemble

    train, test = split
    m = HotVAE(**tiny_params, n_members=2, feature_embedding="ple", embedding_size=4, ema_decay=0.5,
               selection="loglik", optimizer="adamw", weight_decay=1e-3, random_state=2).fit(train)
    assert isinstance(m.module_, HotVAEEnsemble) and len(m.module_) == 2 and len(m.members_best_epoch_) == 2
    single = HotVAE(**tiny_params, feature_embedding="ple", embedding_size=4, ema_decay=0.5, selection="loglik",
                    optimizer="adamw", weight_decay=1e-3, random_state=2).fit(train)
    # member 0 is the single model with the same seed: the ensemble adds members, it does not change the first
    np.testing.assert_array_equal(m.module_.members[0].decoder.readout_bias.detach().numpy(),
                                  single.module_.decoder.readout_bias.detach().numpy())
    # the bin edges are the quantiles of the standardised training sites (after the validation hold-out)
    _, ti = holdout_split(train.n_sites, 0.1, 2)
    edges = m.module_.members[1].encoder_x.embedding.edges.numpy()
    np.testing.assert_allclose(edges, quantile_edges(m._standardise(train.X[ti]), 4), rtol=1e-6)
    assert m.train_config_.selection == "loglik" and m.train_config_.optimizer == "adamw"
    m.save(tmp_path / "ens")
    back = HotVAE.load(tmp_path / "ens", device="cpu")
    np.testing.assert_array_equal(back.predict_proba(test), m.predict_proba(test))
    np.testing.assert_array_equal(back.sample(test, 6, seed=3), m.sample(test, 6, seed=3))
    assert back.members_best_epoch_ == m.members_best_epoch_
    with pytest.raises(InputDataError, match="n_members must be a positive integer"):
        HotVAE(**tiny_params, n_members=0).fit(train)
