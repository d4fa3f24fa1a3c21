"""Edge cases shared by the tree and MaxEnt baselines: species with one class, optional libraries."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from jsdm_hot.baselines import BASELINES

FAST = {
    "logistic": {},
    "rf": {"n_estimators": 40, "min_samples_leaf": (2, 10), "n_jobs": 1},
    "gbm": {"n_estimators": 200, "early_stopping_rounds": 20, "n_jobs": 1},
    "maxent": {},
}
#: optional libraries (extra ``baselines``) a baseline needs to fit
REQUIRES = {"gbm": "lightgbm", "maxent": "elapid"}


@pytest.mark.parametrize("name", sorted(FAST))
def test_only_constant_species_fit_save_and_predict_their_prevalence(name, split, tmp_path):
    if name in REQUIRES:
        pytest.importorskip(REQUIRES[name])
    train, val, test = split
    Y = np.zeros((train.n_sites, 2), np.uint8)
    Y[:, 1] = 1
    est = BASELINES[name](**FAST[name]).fit(train.X, Y, X_val=val.X, Y_val=np.zeros((val.n_sites, 2), np.uint8))
    back = type(est).load(est.save(tmp_path / name), device="cpu")
    np.testing.assert_array_equal(back.predict_proba(test.X), np.tile([0.0, 1.0], (test.n_sites, 1)))


def test_optional_libraries_are_imported_lazily():
    """The core (and every baseline class) imports without LightGBM and elapid; fitting says what to install."""
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
