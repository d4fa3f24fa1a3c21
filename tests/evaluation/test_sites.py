"""Which sites are scored: the held-out ones on request, and a warning when training sites are scored."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from jsdm_hot.baselines import BinaryRelevanceLogistic
from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation.sites import scoring_sites


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return CommunityData.from_arrays(rng.normal(size=(10, 2)), rng.integers(0, 2, (10, 3)),
                                     site_ids=[f"s{i}" for i in range(10)], source="sites.csv")


@pytest.fixture
def model(data):
    m = BinaryRelevanceLogistic(val_fraction=None).fit(data.subset(np.arange(6)))
    m.metadata_ = {"train_site_ids": [f"s{i}" for i in range(6)], "test_site_ids": ["s8", "s6", "s9"]}
    return m


def test_held_out_selects_the_recorded_test_sites_in_table_order(model, data):
    out = scoring_sites(model, data, held_out=True)
    assert list(out.site_ids) == ["s6", "s8", "s9"]
    np.testing.assert_array_equal(out.X, data.X[[6, 8, 9]])
    np.testing.assert_array_equal(out.Y, data.Y[[6, 8, 9]])


def test_scoring_training_sites_warns_with_counts(model, data, caplog):
    with caplog.at_level(logging.WARNING, logger="jsdm_hot.evaluation.sites"):
        out = scoring_sites(model, data)
    assert out is data
    assert "6 of the 10 sites scored were used to fit the model" in caplog.text and "--held-out" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="jsdm_hot.evaluation.sites"):
        scoring_sites(model, data.subset([6, 7, 8]))
    assert caplog.text == ""


def test_ids_are_compared_as_text(model, data):
    model.metadata_ = {"test_site_ids": [7, 9]}  # numeric ids recorded (e.g. from JSON)
    numeric = CommunityData.from_arrays(data.X, data.Y, site_ids=list(range(10)))
    assert list(scoring_sites(model, numeric, held_out=True).site_ids) == ["7", "9"]


def test_held_out_errors(model, data):
    with pytest.raises(InputDataError, match=r"none of the 3 held-out sites recorded in the model are in sites\.csv"):
        scoring_sites(model, data.subset([0, 1]), held_out=True)
    model.metadata_ = {}
    with pytest.raises(InputDataError, match=r"this model records no held-out sites \(fit with --test-frac > 0"):
        scoring_sites(model, data, held_out=True)
    assert scoring_sites(model, data) is data  # nothing recorded: scored as given, no error
