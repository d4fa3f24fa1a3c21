"""The estimator contract, checked once for every baseline (as sklearn's test_common).

Each baseline is fitted on the simulated example (jsdm_hot.data.simulate) with a
train / validation / test split and must beat the constant prevalence predictor on
median AUC of the held-out sites; saving and loading must reproduce predictions
bit for bit; misuse raises jsdm_hot errors that say what was expected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.baselines import BASELINES, LaMP, MLkNN
from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.errors import InputDataError, ModelFileError, NotFittedError
from jsdm_hot.metrics.mlc import median_auc
from jsdm_hot.thresholds import select_thresholds

# small settings so each neural fit takes a few seconds on one CPU thread
FAST = {
    "logistic": {},
    "mlknn": {"k": 10},
    "mpvae": {"hidden": 32, "latent_dim": 8, "n_train_samples": 20, "max_epochs": 40, "patience": 40},
    "lamp": {"d_model": 16, "n_heads": 2, "n_layers": 1, "max_epochs": 40, "patience": 40, "lr": 3e-3},
    "c2ae": {"max_epochs": 60, "patience": 60, "lr": 3e-3},
    "rf": {"n_estimators": 40, "min_samples_leaf": (2, 10), "n_jobs": 1},
    "gbm": {"n_estimators": 200, "early_stopping_rounds": 20, "n_jobs": 1},
    "maxent": {},
}


@pytest.fixture(scope="module")
def split():
    data = simulate_community(n_sites=360, n_species=10, n_interactions=2, seed=3).data
    idx = np.random.default_rng(0).permutation(data.n_sites)  # random split (site order is spatial)
    return data.subset(idx[:220]), data.subset(idx[220:290]), data.subset(idx[290:])


#: optional libraries (extra ``baselines``) a baseline needs to fit
REQUIRES = {"gbm": "lightgbm", "maxent": "elapid"}


@pytest.fixture(scope="module", params=sorted(BASELINES))
def fitted(request, split):
    train, val, _ = split
    if request.param in REQUIRES:
        pytest.importorskip(REQUIRES[request.param])
    est = BASELINES[request.param](**FAST[request.param]).fit(train, X_val=val)
    return request.param, est


def test_beats_constant_prevalence_predictor(fitted, split):
    name, est = fitted
    train, _, test = split
    constant = np.tile(train.Y.mean(0), (test.n_sites, 1))
    base = median_auc(test.Y, constant)
    auc = median_auc(test.Y, est.predict_proba(test))
    assert base == pytest.approx(0.5)
    assert auc > base + 0.1, f"{name}: median AUC {auc:.3f} vs constant {base:.3f}"


def test_fitted_attributes_and_validation_thresholds(fitted, split):
    name, est = fitted
    train, val, test = split
    assert est.species_ == train.species
    assert est.feature_names_in_ == train.covariates
    assert est.n_features_in_ == train.n_features
    np.testing.assert_allclose(est.x_mean_, train.X.mean(0))
    np.testing.assert_allclose(est.x_scale_, train.X.std(0))
    # thresholds come from the validation sites only
    np.testing.assert_array_equal(est.thresholds_, select_thresholds(val.Y, est.predict_proba(val)))
    p = est.predict_proba(test)
    assert p.shape == (test.n_sites, test.n_species) and p.dtype == np.float64
    assert np.all((p >= 0) & (p <= 1))
    yhat = est.predict(test)
    assert yhat.dtype == np.uint8
    np.testing.assert_array_equal(yhat, (p >= est.thresholds_[None, :]).astype(np.uint8))


def test_save_load_round_trip_is_exact(fitted, split, tmp_path):
    name, est = fitted
    _, _, test = split
    path = est.save(tmp_path / name)
    assert sorted(f.name for f in path.iterdir()) == ["config.json", "weights.safetensors"]
    back = type(est).load(path, device="cpu")
    np.testing.assert_array_equal(back.predict_proba(test), est.predict_proba(test))
    np.testing.assert_array_equal(back.predict(test), est.predict(test))
    np.testing.assert_array_equal(back.thresholds_, est.thresholds_)
    np.testing.assert_array_equal(back.sample(test, n_draws=3, seed=5), est.sample(test, n_draws=3, seed=5))
    assert back.species_ == est.species_ and back.feature_names_in_ == est.feature_names_in_
    assert back.history_ == est.history_
    params = est.get_params()
    params.pop("device")
    assert back.get_params().pop("device") == "cpu"
    assert {k: v for k, v in back.get_params().items() if k != "device"} == params
    with pytest.raises(ModelFileError, match="already exists"):
        est.save(path)
    est.save(path, overwrite=True)
    other = MLkNN if not isinstance(est, MLkNN) else LaMP
    with pytest.raises(ModelFileError, match=f"holds a {type(est).__name__} model"):
        other.load(path)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_unfitted_estimator_raises_not_fitted(name, split, tmp_path):
    _, _, test = split
    est = BASELINES[name]()
    for call in (lambda: est.predict_proba(test), lambda: est.predict(test.X),
                 lambda: est.sample(test), lambda: est.save(tmp_path / "m")):
        with pytest.raises(NotFittedError, match=f"{type(est).__name__} is not fitted"):
            call()
    assert not (tmp_path / "m").exists()


def test_wrong_number_of_features_names_expected_and_got(fitted, split):
    _, est = fitted
    _, _, test = split
    X = np.hstack([test.X, test.X[:, :1]])
    with pytest.raises(InputDataError, match=rf"X has {test.n_features + 1} features but the model was trained on {test.n_features} "
                                             rf"\({type(est).__name__}: "):
        est.predict_proba(X)
    with pytest.raises(InputDataError, match="1-D"):
        est.predict(test.X[0])


def test_arrays_community_data_and_covariate_order_agree(fitted, split):
    _, est = fitted
    _, _, test = split
    p = est.predict_proba(test)
    np.testing.assert_array_equal(est.predict_proba(test.X), p)
    rev = list(reversed(test.covariates))
    shuffled = test.align_covariates(rev)  # same data, covariates in another order
    np.testing.assert_allclose(est.predict_proba(shuffled), p, rtol=0, atol=1e-12)
    missing = CommunityData.from_arrays(test.X[:, 1:], covariates=test.covariates[1:])
    with pytest.raises(InputDataError, match=f"covariates \\['{test.covariates[0]}'\\] used in training are missing"):
        est.predict_proba(missing)


def test_sample_shape_seed_and_marginals(fitted, split):
    name, est = fitted
    _, _, test = split
    draws = est.sample(test, n_draws=300, seed=1)
    assert draws.shape == (300, test.n_sites, test.n_species) and draws.dtype == np.uint8
    np.testing.assert_array_equal(draws, est.sample(test, n_draws=300, seed=1))
    assert not np.array_equal(draws, est.sample(test, n_draws=300, seed=2))
    # the draws' frequencies match the predicted probabilities (MPVAE also samples z,
    # so its frequencies only approximate the probabilities at z = mu)
    tol = 0.12 if name == "mpvae" else 0.05
    assert np.abs(draws.mean(0) - est.predict_proba(test)).mean() < tol


@pytest.mark.parametrize("name", ["logistic", "mlknn"])
def test_bad_training_input_raises_input_data_error(name, split):
    train, val, _ = split
    est = BASELINES[name]()
    Y = train.Y.astype(int).copy()
    Y[4, 2] = 2
    with pytest.raises(InputDataError, match="row 5"):
        est.fit(train.X, Y)
    with pytest.raises(InputDataError, match="Y has 219 rows but X has 220"):
        est.fit(train.X, train.Y[1:])
    with pytest.raises(InputDataError, match="do not pass them separately"):
        est.fit(train, train.Y)
    with pytest.raises(InputDataError, match="occurrences Y are required"):
        est.fit(train.X)
    with pytest.raises(InputDataError, match="validation data has 3 features / 10 species; training has 4 / 10"):
        est.fit(train.X, train.Y, X_val=val.X[:, :3], Y_val=val.Y)
    with pytest.raises(InputDataError, match="random_state must be an int"):
        BASELINES[name](random_state=np.random.default_rng(0)).fit(train)


@pytest.mark.parametrize("name", ["logistic", "mlknn"])
def test_refit_forgets_previous_fit_and_default_thresholds(name, split):
    train, _, test = split
    est = BASELINES[name](val_fraction=None).fit(train)
    np.testing.assert_array_equal(est.thresholds_, np.full(train.n_species, 0.5))
    est.fit(train.X[:, :2], train.Y[:, :3])
    assert est.n_features_in_ == 2 and est.species_ == ("sp_0", "sp_1", "sp_2")
    assert est.feature_names_in_ == ("x_0", "x_1")
    assert est.predict_proba(test.X[:, :2]).shape == (test.n_sites, 3)


@pytest.mark.parametrize("name", ["logistic", "mlknn"])
def test_without_validation_a_seeded_fraction_is_held_out(name, split):
    train, _, test = split
    est = BASELINES[name](val_fraction=0.25, random_state=7).fit(train.X, train.Y)
    perm = np.random.default_rng(7).permutation(train.n_sites)
    vi, ti = np.sort(perm[:55]), np.sort(perm[55:])
    ref = BASELINES[name](val_fraction=None).fit(train.X[ti], train.Y[ti])
    np.testing.assert_array_equal(est.predict_proba(test.X), ref.predict_proba(test.X))
    np.testing.assert_array_equal(est.thresholds_, select_thresholds(train.Y[vi], ref.predict_proba(train.X[vi])))
    with pytest.raises(InputDataError, match="val_fraction must be in"):
        BASELINES[name](val_fraction=1.5).fit(train)


@pytest.mark.parametrize("name", ["logistic", "rf", "gbm", "maxent"])
def test_only_constant_species_fit_save_and_predict_their_prevalence(name, split, tmp_path):
    if name in REQUIRES:
        pytest.importorskip(REQUIRES[name])
    train, val, test = split
    Y = np.zeros((train.n_sites, 2), np.uint8)
    Y[:, 1] = 1
    est = BASELINES[name](**FAST[name]).fit(train.X, Y, X_val=val.X, Y_val=np.zeros((val.n_sites, 2), np.uint8))
    back = type(est).load(est.save(tmp_path / name), device="cpu")
    np.testing.assert_array_equal(back.predict_proba(test.X), np.tile([0.0, 1.0], (test.n_sites, 1)))


def test_data_frames_and_reordered_validation_species(split):
    train, val, test = split
    X = pd.DataFrame(train.X, columns=list(train.covariates))
    Y = pd.DataFrame(train.Y, columns=list(train.species))
    est = BASELINES["logistic"]().fit(X, Y, X_val=val.select_species(list(reversed(val.species))))
    ref = BASELINES["logistic"]().fit(train, X_val=val)
    assert est.species_ == train.species and est.feature_names_in_ == train.covariates
    np.testing.assert_array_equal(est.thresholds_, ref.thresholds_)
    Xt = pd.DataFrame(test.X, columns=list(test.covariates))[list(reversed(test.covariates))]
    Xt["unused"] = 1.0
    np.testing.assert_allclose(est.predict_proba(Xt), ref.predict_proba(test), rtol=0, atol=1e-12)


def test_load_rejects_inconsistent_directory(split, tmp_path):
    import json

    train, _, _ = split
    path = MLkNN(k=5).fit(train).save(tmp_path / "knn")
    meta = json.loads((path / "config.json").read_text())
    meta["config"]["params"]["k"] = 7  # tables were fitted with k = 5
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="inconsistent MLkNN model directory"):
        MLkNN.load(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        MLkNN.load(tmp_path / "nowhere")


def test_optional_libraries_are_imported_lazily():
    """The core (and every baseline class) imports without LightGBM and elapid; fitting says what to install."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.modules['lightgbm'] = None; sys.modules['elapid'] = None\n"
        "import numpy as np\n"
        "from jsdm_hot.baselines import BASELINES\n"
        "X = np.random.default_rng(0).normal(size=(40, 2)); Y = (X[:, :1] > 0).astype(np.uint8)\n"
        "for name in ('gbm', 'maxent'):\n"
        "    try:\n"
        "        BASELINES[name](val_fraction=None).fit(X, Y)\n"
        "    except ImportError as exc:\n"
        "        print(name, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "gbm GradientBoosting needs LightGBM: pip install 'jsdm-hot[baselines]'" in out
    assert "maxent MaxEnt needs elapid: pip install 'jsdm-hot[baselines]'" in out
