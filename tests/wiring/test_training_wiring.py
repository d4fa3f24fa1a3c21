"""Training hands over what it selected: the best epoch's weights and validation-chosen thresholds.

Each test recomputes from the public surface — ``predict_proba`` on the explicit
validation sites, :func:`jsdm_hot.training.thresholds.select_thresholds`, scikit-learn's F1 —
what the fit says it kept (``history_``, ``best_epoch_``, ``thresholds_``), instead of
comparing the model with itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from jsdm_hot.training.thresholds import select_thresholds

from .builders import tiny_baseline, tiny_hotvae
from .faults import HAS_FORK, fault_sweep


@pytest.fixture(scope="module")
def split(small_sim):
    """(train, validation) CommunityData: sites 0-199 and 200-299 of small_sim."""
    d = small_sim.data
    return d.subset(np.arange(200)), d.subset(np.arange(200, 300))


@pytest.fixture(scope="module")
def stopped_early(split):
    """A HotVAE whose validation maF1 peaks and then drops until early stopping (a high learning rate)."""
    train, val = split
    return tiny_hotvae(max_epochs=40, patience=3, lr=2e-2, random_state=1).fit(train, X_val=val)


def _best_record(model) -> dict:
    (rec,) = [h for h in model.history_ if h["epoch"] == model.best_epoch_]
    return rec


def _val_maf1(model, val) -> float:
    """Validation macro-F1 of ``model`` with thresholds chosen here (not read from the model)."""
    prob = model.predict_proba(val)
    thr = select_thresholds(val.Y, prob, mode="per_label")
    return float(f1_score(val.Y, (prob >= thr).astype(int), average="macro", zero_division=0))


def test_early_stopping_leaves_the_best_epoch_weights(stopped_early, split):
    _, val = split
    model = stopped_early
    scores = [h["val_maf1"] for h in model.history_]
    best = _best_record(model)["val_maf1"]
    assert model.stopped_early_ and best == max(scores)
    # the check below can only fail if the last epoch's weights score differently from the best's
    assert model.history_[-1]["epoch"] != model.best_epoch_ and scores[-1] < best - 0.01, scores
    assert _val_maf1(model, val) == pytest.approx(best, abs=1e-6), (
        f"the fitted weights score validation maF1 {_val_maf1(model, val):.4f}; the best epoch "
        f"({model.best_epoch_}) scored {best:.4f} and the last {scores[-1]:.4f}")


def test_torch_baseline_keeps_its_best_epoch_weights(split):
    train, val = split
    model = tiny_baseline("mpvae", lr=3e-2, max_epochs=12, patience=12, random_state=1).fit(train, X_val=val)
    scores = [h["val_maf1"] for h in model.history_]
    assert model.history_[-1]["epoch"] != model.best_epoch_ and scores[-1] < max(scores), scores
    assert _val_maf1(model, val) == pytest.approx(_best_record(model)["val_maf1"], abs=1e-6)


@pytest.fixture(scope="module")
def hotvae_global(split):
    train, val = split
    return tiny_hotvae(threshold_mode="global", random_state=2).fit(train, X_val=val)


@pytest.fixture(scope="module")
def logistic(split):
    train, val = split
    return tiny_baseline("logistic", random_state=0).fit(train, X_val=val)


@pytest.fixture(scope="module")
def mpvae(split):
    train, val = split
    return tiny_baseline("mpvae", random_state=0).fit(train, X_val=val)


@pytest.mark.parametrize("name, mode", [("stopped_early", "per_label"), ("hotvae_global", "global"),
                                        ("logistic", "per_label"), ("mpvae", "per_label")])
def test_thresholds_are_chosen_on_the_validation_predictions(name, mode, split, request):
    _, val = split
    model = request.getfixturevalue(name)
    expected = select_thresholds(val.Y, model.predict_proba(val), mode=mode)
    assert not np.all(expected == 0.5), "validation would pick 0.5 anyway: the comparison proves nothing"
    np.testing.assert_allclose(model.thresholds_, expected, err_msg=f"{name}: thresholds_ are not the validation choice")
    np.testing.assert_array_equal(model.predict(val), (model.predict_proba(val) >= expected).astype(np.uint8))


# ------------------------------------------------------------------ checkpoints
@pytest.mark.skipif(not HAS_FORK, reason="forked children (POSIX only)")
def test_training_killed_while_writing_a_checkpoint_resumes_or_refuses(small_sim, tmp_path):
    """A SIGKILL at each filesystem step of the second epoch's checkpoint, then ``fit(resume=True)``.

    Resuming must reproduce the uninterrupted fit, or refuse with a ModelFileError;
    never continue from a mixed or damaged checkpoint.
    """
    from jsdm_hot import ModelFileError

    data = small_sim.data.subset(np.arange(120))
    params = {"max_epochs": 2, "batch_size": 32, "random_state": 4}
    full = tiny_hotvae(**params).fit(data)
    outcomes: dict[str, list[str]] = {"resumed": [], "refused": []}

    def check(ckpt, outcome, event):
        try:
            resumed = tiny_hotvae(checkpoint_dir=ckpt, **params).fit(data, resume=True)
        except ModelFileError as exc:
            assert str(ckpt) in str(exc)
            outcomes["refused"].append(event)
            return
        assert resumed.history_ == full.history_, f"killed at {event}: the resumed run differs"
        np.testing.assert_array_equal(resumed.predict_proba(data), full.predict_proba(data))
        outcomes["resumed"].append(event)

    events = fault_sweep(lambda ckpt: tiny_hotvae(checkpoint_dir=ckpt, **params).fit(data),
                         lambda k: tmp_path / f"k{k}", check, "kill",
                         armed=lambda ckpt: (ckpt / "checkpoint.json").exists())  # the first epoch's is written
    assert outcomes["resumed"], events
    if outcomes["refused"]:
        pytest.xfail(f"known gap: a kill at {outcomes['refused']} (of {events}) of the checkpoint write leaves "
                     "weights and state of different epochs, and resume refuses instead of continuing")
