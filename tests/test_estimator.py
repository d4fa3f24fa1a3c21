import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from jsdm_hot import HotVAE, HotVAEConfig, InputDataError, ModelFileError, NotFittedError
from jsdm_hot.data.community import CommunityData


@pytest.fixture(scope="module")
def split(small_sim):
    d = small_sim.data
    return d.subset(np.arange(0, 200)), d.subset(np.arange(200, 300))


@pytest.fixture(scope="module")
def fitted(split, tiny_config):
    train, _ = split
    return HotVAE(tiny_config, graph="prior", random_state=3).fit(train)


def _median_auc(Y, P):
    return np.median([roc_auc_score(Y[:, j], P[:, j]) for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)])


def test_fit_sets_fitted_attributes(fitted, split):
    train, _ = split
    assert fitted.species_ == train.species
    assert fitted.feature_names_in_ == train.covariates
    assert fitted.n_features_in_ == train.n_features
    assert fitted.thresholds_.shape == (train.n_species,)
    assert len(fitted.history_) >= 1 and {"loss", "bce", "ranking", "kl", "val_maf1"} <= set(fitted.history_[0])
    assert fitted.label_graph_.kind == "prior"


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
    cfg = HotVAEConfig(d_model=32, n_heads=2, latent_dim=16, encoder_hidden=64, max_epochs=30, patience=10, batch_size=32)
    auc = _median_auc(test.Y, HotVAE(cfg, random_state=0).fit(train).predict_proba(test))
    ref = _median_auc(test.Y, np.column_stack([
        LogisticRegression(max_iter=1000).fit(train.X, train.Y[:, j]).predict_proba(test.X)[:, 1]
        for j in range(train.n_species)]))
    # measured: HOT-VAE 0.78, logistic regression (the simulation's own link) 0.81
    assert auc > 0.7, auc
    assert auc > ref - 0.08, (auc, ref)


def test_same_seed_same_model_and_draws(split, tiny_config, fitted):
    train, test = split
    again = HotVAE(tiny_config, graph="prior", random_state=3).fit(train)
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
    with pytest.raises(ModelFileError, match="already exists"):
        fitted.save(tmp_path / "m")


def test_models_saved_before_residual_factors_load_as_the_paper_model(split, tiny_config, tmp_path):
    import json
    from dataclasses import replace

    train, test = split
    paper = HotVAE(replace(tiny_config, residual_factors=0, max_epochs=1), random_state=0).fit(train)
    path = paper.save(tmp_path / "old")
    meta = json.loads((path / "config.json").read_text())
    for key in ("residual_factors", "residual_mc", "lambda_residual"):  # what an older jsdm-hot wrote
        del meta["config"]["params"]["config"][key]
    (path / "config.json").write_text(json.dumps(meta))
    back = HotVAE.load(path, device="cpu")
    assert back.config_.residual_factors == 0 and back.module_.residual is None
    np.testing.assert_array_equal(back.predict_proba(test), paper.predict_proba(test))


def test_load_refuses_tampered_and_foreign_dirs(fitted, tmp_path):
    path = fitted.save(tmp_path / "m")
    (path / "model.pt").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelFileError, match="unexpected files"):
        HotVAE.load(path)
    (path / "model.pt").unlink()
    w = path / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-8])
    with pytest.raises(ModelFileError, match="hash"):
        HotVAE.load(path)


def test_errors_on_bad_use(fitted, split, tiny_config):
    train, test = split
    with pytest.raises(NotFittedError, match="fit"):
        HotVAE().predict_proba(test)
    with pytest.raises(InputDataError, match="features"):
        fitted.predict_proba(np.zeros((3, train.n_features + 1)))
    with pytest.raises(InputDataError, match="missing"):
        fitted.predict_proba(CommunityData.from_arrays(np.zeros((3, 2)), covariates=["temp", "nope"]))
    with pytest.raises(InputDataError, match="occurrences"):
        HotVAE(tiny_config).fit(np.zeros((10, 2)))
    with pytest.raises(InputDataError, match="0/1"):
        HotVAE(tiny_config).fit(np.zeros((10, 2)), np.full((10, 3), 2))
    with pytest.raises(InputDataError, match="val_fraction"):
        HotVAE(tiny_config, val_fraction=1.5).fit(train)
    with pytest.raises(InputDataError, match="n_draws"):
        fitted.sample(test, n_draws=0)


def test_covariate_order_and_dataframes_are_matched_by_name(fitted, split):
    _, test = split
    P = fitted.predict_proba(test)
    df = pd.DataFrame(test.X, columns=list(test.covariates))[list(reversed(test.covariates))]
    np.testing.assert_allclose(fitted.predict_proba(df), P)


def test_explicit_validation_data(split, tiny_config):
    train, test = split
    m = HotVAE(tiny_config, random_state=0).fit(train, X_val=test)
    assert m.thresholds_.shape == (train.n_species,)
    with pytest.raises(InputDataError, match="label_graph species"):
        from jsdm_hot import LabelGraph
        HotVAE(tiny_config).fit(train, label_graph=LabelGraph.complete(["a"] * 0 + [f"z{i}" for i in range(train.n_species)]))
