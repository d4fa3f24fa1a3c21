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
