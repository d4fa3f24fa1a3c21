from jsdm_hot.training import EarlyStopping


def test_early_stopping_counts_patience():
    es = EarlyStopping(patience=2, min_delta=0.01)
    assert es.update(0.5, 0) == (True, False, "")
    assert es.update(0.505, 1)[:2] == (False, False)  # below min_delta: no improvement
    improved, stop, reason = es.update(0.4, 2)
    assert not improved and stop and "did not improve for 2 epochs" in reason
    clone = EarlyStopping()
    clone.load_state_dict(es.state_dict())
    assert clone.best_score == 0.5 and clone.best_epoch == 0 and clone.wait == 2


def test_first_score_always_counts_even_when_not_finite():
    es = EarlyStopping(patience=1)
    assert es.update(float("-inf"), 0)[0]
    assert es.best_epoch == 0


# --------------------------------------------------------------------------- gaps found by mutation testing
def test_equal_score_is_not_an_improvement():
    es = EarlyStopping(patience=3, min_delta=0.0)
    assert es.update(0.5, 0) == (True, False, "")
    assert es.update(0.5, 1) == (False, False, "")  # no reason while still waiting
    assert es.best_epoch == 0 and es.wait == 1
    assert es.update(0.5 + 1e-9, 2)[0]  # any strict gain counts with min_delta = 0


def test_state_round_trip_keeps_every_field():
    es = EarlyStopping(patience=4, min_delta=0.01)
    es.update(0.3, 0)
    es.update(0.2, 1)
    clone = EarlyStopping()
    clone.load_state_dict(es.state_dict())
    assert (clone.patience, clone.min_delta, clone.best_score, clone.best_epoch, clone.wait) == (4, 0.01, 0.3, 0, 1)
    assert clone.state_dict() == es.state_dict()
    # the restored stopper behaves like the original: 0.305 is within min_delta of 0.3
    assert clone.update(0.305, 2) == es.update(0.305, 2) == (False, False, "")
