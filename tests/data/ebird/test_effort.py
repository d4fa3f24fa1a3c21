"""Tests of jsdm_hot.data.ebird.effort: effort covariates against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jsdm_hot.data.ebird import effort_covariates


def test_effort_covariates_hand_computed():
    frame = pd.DataFrame({
        "duration_minutes": [90, 30, None], "effort_distance_km": [2.5, None, None],
        "number_observers": [2, 1, 1], "protocol": ["Traveling", "Stationary", "Incidental"],
        "time_observations_started": ["06:00:00", "18:30:00", ""],
        "observation_date": ["2012-01-01", "2012-07-01", "2012-12-31"],
    })
    cov = effort_covariates(frame)
    assert cov["duration_h"].tolist()[:2] == [1.5, 0.5] and np.isnan(cov["duration_h"][2])
    assert cov["distance_km"].tolist()[:2] == [2.5, 0.0] and np.isnan(cov["distance_km"][2])  # stationary -> 0
    assert cov[["protocol_traveling", "protocol_area", "protocol_other"]].to_numpy().tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 1]]
    np.testing.assert_allclose(cov["time_sin"][:2], [1.0, np.sin(2 * np.pi * 18.5 / 24)], atol=1e-12)
    np.testing.assert_allclose(cov["time_cos"][:2], [0.0, np.cos(2 * np.pi * 18.5 / 24)], atol=1e-12)
    np.testing.assert_allclose(cov["doy_sin"], np.sin(2 * np.pi * np.array([1, 183, 366]) / 365.25))
    assert cov["year"].tolist() == [2012.0] * 3
    assert effort_covariates(frame, include=("time",), time_encoding="hours")["time_h"].tolist()[:2] == [6.0, 18.5]


def test_old_and_banded_protocol_names_are_recognised():
    # EBD releases before 2018 name protocols "eBird - Stationary Count"; banded variants and "Travelling" too
    frame = pd.DataFrame({"effort_distance_km": [None, None, None, 3.0, None],
                          "protocol": ["eBird - Stationary Count", "Stationary (2 band, 25m)", "eBird - Exhaustive Area Count",
                                       "Travelling", "Incidental"]})
    cov = effort_covariates(frame, include=("distance", "protocol"))
    assert cov["distance_km"].tolist()[:4] == [0.0, 0.0, 0.0, 3.0] and np.isnan(cov["distance_km"][4])
    assert cov["protocol_area"].tolist() == [0, 0, 1, 0, 0]
    assert cov["protocol_traveling"].tolist() == [0, 0, 0, 1, 0]
    assert cov["protocol_other"].tolist() == [0, 0, 0, 0, 1]
