"""The estimator contract, checked for every model of the registry (as scikit-learn's ``check_estimator``).

Every class in :data:`jsdm_hot.registry.MODELS` — HotVAE and each baseline — is
fitted with tiny settings and must: give predictions and draws of the documented
shapes and dtypes; repeat itself for the same seed; save and load exactly;
refuse tampered model files; expose flat parameters that ``get_params`` /
``set_params`` / :func:`sklearn.base.clone` handle; raise NotFittedError before
``fit``; match named DataFrame columns by name; hold out validation sites with
the one seeded rule; and reject bad input with messages that say what was expected.

A model added to the registry is checked here automatically; give it tiny
settings in :data:`TINY` if its defaults are slow.
"""

from __future__ import annotations

import dataclasses
import inspect
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.data.splits import holdout_split
from jsdm_hot.errors import InputDataError, ModelFileError, NotFittedError
from jsdm_hot.estimators.base import JsdmEstimator
from jsdm_hot.registry import MODEL_NAMES, MODELS, load_model, make_model, model_param_names
from jsdm_hot.training.thresholds import select_thresholds

#: Small settings per model, so each fit takes about a second on one CPU thread.
TINY: dict[str, dict] = {
    "hotvae": {"d_model": 16, "n_heads": 2, "latent_dim": 8, "encoder_hidden": 32, "batch_size": 32},
    "mlknn": {"k": 5},
    "mpvae": {"hidden": 16, "latent_dim": 4, "n_train_samples": 5},
    "lamp": {"d_model": 8, "n_heads": 2, "n_layers": 1},
    "c2ae": {"hidden": 16},
    "rf": {"n_estimators": 20, "min_samples_leaf": (2, 5), "n_jobs": 1},
    "gbm": {"n_estimators": 50, "early_stopping_rounds": 10, "n_jobs": 1},
    "maxent": {"feature_types": "lh"},
}
#: Models that cannot train without validation sites (``val_fraction=None`` raises).
NEEDS_VALIDATION = {"hotvae"}


def tiny(name: str, **overrides) -> dict:
    """Parameters of a tiny ``name``: :data:`TINY`, at most 3 epochs, on the CPU."""
    params = {**TINY.get(name, {}), "device": "cpu"}
    if "max_epochs" in model_param_names(name):
        params["max_epochs"] = 3
    return {**params, **overrides}


@pytest.fixture(scope="module")
def split():
    data = simulate_community(n_sites=160, n_species=6, n_interactions=1, seed=3).data
    idx = np.random.default_rng(0).permutation(data.n_sites)
    return data.subset(idx[:100]), data.subset(idx[100:130]), data.subset(idx[130:])


@pytest.fixture(scope="module", params=MODEL_NAMES)
def fitted(request, split):
    train, val, _ = split
    return request.param, make_model(request.param, tiny(request.param), seed=0).fit(train, X_val=val)


def _joint(est) -> bool:
    """Whether the model draws species jointly (its own ``_sample_chunk``) rather than independently."""
    return type(est)._sample_chunk is not JsdmEstimator._sample_chunk


# ---------------------------------------------------------------------- fit / predict / sample
def test_registry_builds_every_model_with_flat_seeded_params():
    for name, cls in MODELS.items():
        est = make_model(name, tiny(name), seed=4)
        assert type(est) is cls and isinstance(est, JsdmEstimator)
        assert est.get_params() == cls(**tiny(name), random_state=4).get_params()


def test_predictions_and_draws_have_documented_shapes_and_dtypes(fitted, split):
    name, est = fitted
    _, _, test = split
    n, L = test.n_sites, test.n_species
    p = est.predict_proba(test)
    assert p.shape == (n, L) and p.dtype in (np.float32, np.float64), name
    assert np.all((p >= 0) & (p <= 1))
    yhat = est.predict(test)
    assert yhat.shape == (n, L) and yhat.dtype == np.uint8
    np.testing.assert_array_equal(yhat, (p >= est.thresholds_[None, :]).astype(np.uint8))
    draws = est.sample(test, n_draws=5, seed=1)
    assert draws.shape == (5, n, L) and draws.dtype == np.uint8 and set(np.unique(draws)) <= {0, 1}
    assert est.sample(test.X[:0], n_draws=2).shape == (2, 0, L)


def test_fitted_attributes_standardisation_and_validation_thresholds(fitted, split):
    _, est = fitted
    train, val, _ = split
    assert est.species_ == train.species and est.feature_names_in_ == train.covariates
    assert est.n_features_in_ == train.n_features
    np.testing.assert_allclose(est.x_mean_, train.X.mean(0))
    np.testing.assert_allclose(est.x_scale_, train.X.std(0))
    np.testing.assert_array_equal(est.x_min_, train.X.min(0))
    np.testing.assert_array_equal(est.x_max_, train.X.max(0))
    # thresholds come from the validation sites only
    np.testing.assert_array_equal(est.thresholds_, select_thresholds(val.Y, est.predict_proba(val)))
    assert est.thresholds_.shape == (train.n_species,) and est.thresholds_.dtype == np.float64
    assert isinstance(est.history_, list) and est.fit_seconds_ >= 0 and est.metadata_ == {}


def test_same_seed_same_predictions_and_draws(fitted, split):
    name, est = fitted
    train, val, test = split
    again = make_model(name, tiny(name), seed=0).fit(train, X_val=val)
    np.testing.assert_array_equal(again.predict_proba(test), est.predict_proba(test))
    np.testing.assert_array_equal(again.thresholds_, est.thresholds_)
    np.testing.assert_array_equal(again.sample(test, n_draws=4, seed=1), est.sample(test, n_draws=4, seed=1))
    assert not np.array_equal(est.sample(test, n_draws=4, seed=1), est.sample(test, n_draws=4, seed=2))


def test_draws_are_chunked_reproducibly_and_follow_their_probabilities(fitted, split):
    _, est = fitted
    _, _, test = split
    chunks = list(est.iter_samples(test, n_draws=3, seed=5, chunk_size=7))
    assert [(s.start, s.stop) for s, _ in chunks] == [(0, 7), (7, 14), (14, 21), (21, 28), (28, 30)]
    np.testing.assert_array_equal(np.concatenate([d for _, d in chunks], axis=1),
                                  est.sample(test, n_draws=3, seed=5, chunk_size=7))
    (_, draws, prob), = est.iter_samples(test, n_draws=400, seed=0, chunk_size=test.n_sites, return_prob=True)
    assert prob.shape == draws.shape == (400, test.n_sites, test.n_species) and prob.dtype == np.float32
    # Bernoulli(p) per draw: frequencies agree with the mean draw probabilities within sampling error
    assert np.abs(draws.mean(0) - prob.mean(0)).max() < 5 * np.sqrt(0.25 / 400)
    if not _joint(est):  # independent draws are made from predict_proba itself
        np.testing.assert_array_equal(prob[0], est.predict_proba(test).astype(np.float32))
    with pytest.raises(InputDataError, match="n_draws must be at least 1"):
        est.sample(test, n_draws=0)
    with pytest.raises(InputDataError, match="chunk_size must be at least 1"):
        est.sample(test, n_draws=1, chunk_size=-1)


# ---------------------------------------------------------------------- files
def test_save_load_round_trip_is_exact(fitted, split, tmp_path):
    name, est = fitted
    _, _, test = split
    path = est.save(tmp_path / name, metadata={"data": "community.csv", "test_site_ids": ["a", "b"]})
    assert sorted(f.name for f in path.iterdir()) == ["config.json", "weights.safetensors"]
    assert est.metadata_ == {"data": "community.csv", "test_site_ids": ["a", "b"]}
    for back in (type(est).load(path, device="cpu"), load_model(path, device="cpu")):
        assert type(back) is type(est)
        np.testing.assert_array_equal(back.predict_proba(test), est.predict_proba(test))
        np.testing.assert_array_equal(back.predict(test), est.predict(test))
        np.testing.assert_array_equal(back.thresholds_, est.thresholds_)
        np.testing.assert_array_equal(back.sample(test, n_draws=3, seed=5), est.sample(test, n_draws=3, seed=5))
        for attr in ("x_mean_", "x_scale_", "x_min_", "x_max_"):
            np.testing.assert_array_equal(getattr(back, attr), getattr(est, attr))
        assert back.species_ == est.species_ and back.feature_names_in_ == est.feature_names_in_
        assert back.history_ == est.history_ and back.fit_seconds_ == est.fit_seconds_
        assert back.metadata_ == est.metadata_
        assert {**back.get_params(), "device": "cpu"} == {**est.get_params(), "device": "cpu"}
    with pytest.raises(ModelFileError, match="already exists"):
        est.save(path)
    est.save(path, overwrite=True)
    other = next(c for c in MODELS.values() if c is not type(est))
    with pytest.raises(ModelFileError, match=f"holds a {type(est).__name__} model, not a {other.__name__}"):
        other.load(path)


def _rewrite_config(path, change) -> None:
    meta = json.loads((path / "config.json").read_text())
    change(meta)
    (path / "config.json").write_text(json.dumps(meta))


def _other_class(meta):
    meta["class_name"] = next(c.__name__ for c in MODELS.values() if c.__name__ != meta["class_name"])


TAMPERED_CONFIGS = {
    "not json": (lambda path: (path / "config.json").write_text("{not json"), "is not valid JSON"),
    "other class": (lambda path: _rewrite_config(path, _other_class), "model, not a"),
    "old layout": (lambda path: _rewrite_config(path, lambda m: m["config"].update(format_version=1)),
                   "estimator layout version 1"),
    "species dropped": (lambda path: _rewrite_config(path, lambda m: m["config"]["species"].pop()),
                        "incomplete or inconsistent"),
    "feature added": (lambda path: _rewrite_config(path, lambda m: m["config"]["feature_names_in"].append("extra")),
                      "incomplete or inconsistent"),
    "unknown param": (lambda path: _rewrite_config(path, lambda m: m["config"]["params"].update(bogus=1)),
                      "incomplete or inconsistent"),
    "tensor shape": (lambda path: _rewrite_config(path, lambda m: m["tensors"].update({"base.thresholds": [99]})),
                     "differ from those recorded"),
    "pickle beside": (lambda path: (path / "model.pkl").write_bytes(b"\x80\x04pickle"), "unexpected files"),
}


@pytest.mark.parametrize("kind", sorted(TAMPERED_CONFIGS))
def test_tampered_config_is_refused(fitted, tmp_path, kind):
    _, est = fitted
    path = est.save(tmp_path / "m")
    tamper, match = TAMPERED_CONFIGS[kind]
    tamper(path)
    with pytest.raises(ModelFileError, match=match):
        type(est).load(path)


def test_tampered_or_missing_weights_are_refused(fitted, tmp_path):
    _, est = fitted
    path = est.save(tmp_path / "m")
    weights = path / "weights.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="does not match the hash"):
        type(est).load(path)
    weights.unlink()
    with pytest.raises(ModelFileError, match=r"is missing \['weights.safetensors'\]"):
        type(est).load(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        type(est).load(tmp_path / "nowhere")


# ---------------------------------------------------------------------- parameters
def test_params_are_flat_and_settable(fitted):
    name, est = fitted
    params = est.get_params()
    assert params == est.get_params(deep=False)
    assert set(params) == set(inspect.signature(type(est).__init__).parameters) - {"self"}
    assert {"val_fraction", "threshold_mode", "random_state", "device"} <= set(params)
    for k, v in params.items():
        assert not isinstance(v, (dict, list, BaseEstimator)) and not dataclasses.is_dataclass(v), (name, k)
    fresh = make_model(name, tiny(name))
    assert fresh.set_params(random_state=11, val_fraction=0.2) is fresh
    assert fresh.get_params()["random_state"] == 11 and fresh.get_params()["val_fraction"] == 0.2
    with pytest.raises(ValueError, match="bogus"):
        fresh.set_params(bogus=1)


def test_clone_is_unfitted_and_refits_to_the_same_predictions(fitted, split):
    _, est = fitted
    train, val, test = split
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "thresholds_")
    with pytest.raises(NotFittedError):
        twin.predict_proba(test)
    twin.fit(train, X_val=val)
    np.testing.assert_array_equal(twin.predict_proba(test), est.predict_proba(test))
    np.testing.assert_array_equal(twin.thresholds_, est.thresholds_)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_unfitted_model_raises_not_fitted(name, split, tmp_path):
    _, _, test = split
    est = make_model(name, tiny(name))
    for call in (lambda: est.predict_proba(test), lambda: est.predict(test.X),
                 lambda: est.sample(test), lambda: est.save(tmp_path / "m")):
        with pytest.raises(NotFittedError, match=f"{type(est).__name__} is not fitted"):
            call()
    assert not (tmp_path / "m").exists()


def test_residual_association_capability(fitted, split):
    """``has_residual_association`` is a bool of the contract; models without one refuse ``given``."""
    name, est = fitted
    _, _, test = split
    expected = name == "hotvae"  # the tiny HotVAE keeps the default residual_factors=4
    assert est.has_residual_association is expected
    assert make_model(name, tiny(name)).has_residual_association is False  # unfitted
    given = np.full((test.n_sites, len(est.species_)), np.nan)
    if expected:
        assert est.residual_correlation_.shape == (len(est.species_),) * 2
        assert est.predict_proba(test, given=given).shape == (test.n_sites, len(est.species_))
    else:
        with pytest.raises(InputDataError, match=f"{type(est).__name__} cannot predict given a partial checklist"):
            est.predict_proba(test, given=given)


def test_paper_hotvae_has_no_residual_association(split):
    train, val, test = split
    est = make_model("hotvae", tiny("hotvae", residual_factors=0, max_epochs=1)).fit(train, X_val=val)
    assert est.has_residual_association is False
    with pytest.raises(InputDataError, match="needs the residual association"):
        est.predict_proba(test, given=np.full((test.n_sites, len(est.species_)), np.nan))


# ---------------------------------------------------------------------- inputs
def test_named_dataframes_are_matched_by_column_name(fitted, split):
    name, est = fitted
    train, val, test = split
    X = pd.DataFrame(train.X, columns=list(train.covariates))
    Y = pd.DataFrame(train.Y, columns=list(train.species))
    # validation species in another order are matched by name too
    by_name = make_model(name, tiny(name), seed=0).fit(X, Y, X_val=val.select_species(list(reversed(val.species))))
    assert by_name.species_ == train.species and by_name.feature_names_in_ == train.covariates
    np.testing.assert_array_equal(by_name.predict_proba(test), est.predict_proba(test))
    np.testing.assert_array_equal(by_name.thresholds_, est.thresholds_)
    p = est.predict_proba(test)
    Xt = pd.DataFrame(test.X, columns=list(test.covariates))[list(reversed(test.covariates))]
    Xt["unused"] = 1.0
    np.testing.assert_array_equal(est.predict_proba(Xt), p)
    np.testing.assert_array_equal(est.predict_proba(test.X), p)  # an array: by position
    np.testing.assert_array_equal(est.predict_proba(pd.DataFrame(test.X)), p)  # unnamed columns: by position
    np.testing.assert_array_equal(est.predict_proba(test.align_covariates(list(reversed(test.covariates)))), p)
    renamed = pd.DataFrame(test.X, columns=[*test.covariates[:-1], "other"])
    with pytest.raises(InputDataError, match=rf"covariates \['{test.covariates[-1]}'\] used in training are missing"):
        est.predict_proba(renamed)
    missing = CommunityData.from_arrays(test.X[:, 1:], covariates=test.covariates[1:])
    with pytest.raises(InputDataError, match=rf"covariates \['{test.covariates[0]}'\] used in training are missing"):
        est.predict_proba(missing)


def test_wrong_number_of_features_names_expected_and_got(fitted, split):
    _, est = fitted
    _, _, test = split
    X = np.hstack([test.X, test.X[:, :1]])
    with pytest.raises(InputDataError, match=rf"X has {test.n_features + 1} features but the model was trained on "
                                             rf"{test.n_features} \({type(est).__name__}: "):
        est.predict_proba(X)
    with pytest.raises(InputDataError, match="1-D"):
        est.predict(test.X[0])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bad_training_input_raises_input_data_error(name, split):
    train, val, _ = split
    est = make_model(name, tiny(name))
    Y = train.Y.astype(int).copy()
    Y[4, 2] = 2
    with pytest.raises(InputDataError, match="row 5"):
        est.fit(train.X, Y)
    with pytest.raises(InputDataError, match=f"Y has {train.n_sites - 1} rows but X has {train.n_sites}"):
        est.fit(train.X, train.Y[1:])
    with pytest.raises(InputDataError, match="do not pass them separately"):
        est.fit(train, train.Y)
    with pytest.raises(InputDataError, match="occurrences Y are required"):
        est.fit(train.X)
    with pytest.raises(InputDataError, match=f"validation data has 3 features / {train.n_species} species; "
                                             f"training has {train.n_features} / {train.n_species}"):
        est.fit(train.X, train.Y, X_val=val.X[:, :3], Y_val=val.Y)
    with pytest.raises(InputDataError, match="Y_val given without X_val"):
        est.fit(train.X, train.Y, Y_val=val.Y)
    with pytest.raises(InputDataError, match="random_state must be an int"):
        make_model(name, tiny(name)).set_params(random_state=np.random.default_rng(0)).fit(train)
    with pytest.raises(InputDataError, match="val_fraction must be in"):
        make_model(name, tiny(name, val_fraction=1.5)).fit(train)
    with pytest.raises(InputDataError, match="threshold_mode must be 'per_label' or 'global'"):
        make_model(name, tiny(name, threshold_mode="best")).fit(train)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_without_validation_a_seeded_fraction_is_held_out(name, split):
    train, _, test = split
    est = make_model(name, tiny(name, val_fraction=0.25), seed=7).fit(train.X, train.Y)
    held, kept = holdout_split(train.n_sites, 0.25, 7)
    assert held.size == 25
    ref = make_model(name, tiny(name), seed=7).fit(train.X[kept], train.Y[kept], X_val=train.X[held],
                                                    Y_val=train.Y[held])
    np.testing.assert_array_equal(est.predict_proba(test.X), ref.predict_proba(test.X))
    np.testing.assert_array_equal(est.thresholds_, ref.thresholds_)
    np.testing.assert_array_equal(est.x_mean_, train.X[kept].mean(0))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_refit_forgets_the_previous_fit(name, split):
    train, _, test = split
    est = make_model(name, tiny(name)).fit(train)
    est.fit(train.X[:, :2], train.Y[:, :3])
    assert est.n_features_in_ == 2 and est.species_ == ("sp_0", "sp_1", "sp_2")
    assert est.feature_names_in_ == ("x_0", "x_1") and est.x_mean_.shape == (2,)
    assert est.predict_proba(test.X[:, :2]).shape == (test.n_sites, 3)
    if name in NEEDS_VALIDATION:
        with pytest.raises(InputDataError, match="needs validation sites"):
            make_model(name, tiny(name, val_fraction=None)).fit(train)
    else:
        plain = make_model(name, tiny(name, val_fraction=None)).fit(train)
        np.testing.assert_array_equal(plain.thresholds_, np.full(train.n_species, 0.5))
