"""Tests of jsdm_hot.data.ebird.standard: effort_values from plain units and standard_effort, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.data.ebird import EFFORT_COVARIATES, effort_covariates, effort_values, standard_effort
from jsdm_hot.errors import InputDataError

ALL_EFFORT = ["duration_h", "log_duration", "distance_km", "n_observers", "protocol_traveling", "protocol_area",
              "protocol_other", "time_sin", "time_cos", "time_h", "doy_sin", "doy_cos", "year"]


def test_effort_values_agree_with_effort_covariates_of_the_same_checklist():
    frame = pd.DataFrame({"duration_minutes": [45.0], "effort_distance_km": [2.5], "number_observers": [3.0],
                          "protocol": ["Traveling"], "time_observations_started": ["07:30:00"],
                          "observation_date": ["2019-06-15"]})
    ref = {}
    for de in ("hours", "log"):
        for te in ("cyclic", "hours"):
            ref.update(effort_covariates(frame, time_encoding=te, duration_encoding=de).iloc[0].to_dict())
    assert set(ref) == set(ALL_EFFORT) == set(EFFORT_COVARIATES)
    got = effort_values(["elevation", *ALL_EFFORT], duration_min=45, distance_km=2.5, n_observers=3,
                        protocol="Traveling", time="07:30", date="2019-06-15")
    assert list(got) == ALL_EFFORT  # the model's order; 'elevation' is not an effort covariate
    for k in ALL_EFFORT:
        assert got[k] == pytest.approx(ref[k], abs=1e-12), k
    # hand-computed: 2019-06-15 is day 166; 07:30 is 7.5 h
    assert got["doy_sin"] == pytest.approx(np.sin(2 * np.pi * 166 / 365.25))
    assert got["time_h"] == 7.5 and got["log_duration"] == pytest.approx(np.log(45)) and got["year"] == 2019


def test_effort_values_from_command_line_strings_aliases_and_defaults():
    cov = ["duration_h", "distance_km", "n_observers", "protocol_traveling", "protocol_area", "protocol_other",
           "time_sin", "time_cos", "doy_sin", "doy_cos"]
    got = effort_values(cov, {"duration": "90", "hour": "6.5", "doy": "166"})
    assert got["duration_h"] == 1.5
    assert got["distance_km"] == 1.0 and got["n_observers"] == 1.0 and got["protocol_traveling"] == 1.0  # standard checklist
    assert got["time_sin"] == pytest.approx(np.sin(2 * np.pi * 6.5 / 24))
    by_date = effort_values(["doy_sin", "doy_cos"], date="2019-06-15")
    assert got["doy_sin"] == pytest.approx(by_date["doy_sin"]) and got["doy_cos"] == pytest.approx(by_date["doy_cos"])
    # the standard checklist when nothing is given, and a stationary protocol counts 0 km
    assert effort_values(["duration_h", "distance_km", "time_h"]) == {"duration_h": 1.0, "distance_km": 1.0, "time_h": 7.0}
    assert effort_values(["distance_km", "protocol_traveling"], protocol="Stationary") == \
        {"distance_km": 0.0, "protocol_traveling": 0.0}
    assert effort_values(["protocol_other"], protocol="Incidental") == {"protocol_other": 1.0}
    assert effort_values(["time_h"], time_observations_started="18:45:00") == {"time_h": 18.75}
    assert effort_values(["distance_km"], effort_distance_km=0) == {"distance_km": 0.0}


@pytest.mark.parametrize("covariates, kwargs, match", [
    (["duration_h"], {"minutes": 30}, r"unknown effort input\(s\) \['minutes'\]; accepted inputs are duration_min"),
    (["duration_h"], {"duration": 30, "duration_min": 40}, "given twice"),
    (["elevation", "temp"], {}, r"none of the covariates \['elevation', 'temp'\] is an effort covariate"),
    (["duration_h"], {"date": "2019-06-15"}, r"effort input\(s\) \['date'\] set none of the model's covariates"),
    (["doy_sin", "doy_cos"], {}, r"effort covariates \['doy_sin', 'doy_cos'\] need input\(s\) \['date'\]"),
    (["year"], {"doy": 166}, "year needs a full date"),
    (["time_sin", "time_cos"], {"time": "7h30"}, r"time='7h30' is not a time of day"),
    (["time_h"], {"time": 24}, "not a time of day"),
    (["distance_km"], {"distance_km": -1}, r"distance_km=-1 must be a number in \[0, inf\]"),
    (["n_observers"], {"n_observers": "two"}, "n_observers='two' must be a number"),
    (["doy_sin"], {"date": "2019-13-01"}, "is not a date"),
    (["doy_sin"], {"doy": 400}, r"must be a number in \[1, 366\]"),
])
def test_effort_values_errors_name_the_inputs_and_covariates(covariates, kwargs, match):
    with pytest.raises(InputDataError, match=match):
        effort_values(covariates, **kwargs)


def test_effort_values_without_defaults_needs_every_input():
    with pytest.raises(InputDataError, match=r"\['duration_h', 'n_observers'\] need input\(s\) \['duration_min', 'n_observers'\]"):
        effort_values(["duration_h", "n_observers", "distance_km"], defaults=False, distance_km=2)
    assert effort_values(["duration_h"], defaults=False, duration_min=30) == {"duration_h": 0.5}


def test_effort_values_docstring_example_runs():
    import doctest

    from jsdm_hot.data.ebird import standard as mod

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for t in finder.find(mod.effort_values, "effort_values", globs={"effort_values": mod.effort_values}):
        runner.run(t)
    assert runner.failures == 0 and runner.tries >= 3


def test_standard_effort_with_a_date_matches_effort_covariates():
    std = standard_effort(hour=5.5, duration_h=2.0, distance_km=0.5, date="2020-03-01", duration_encoding="log",
                          time_encoding="hours")
    frame = pd.DataFrame({"duration_minutes": [120.0], "effort_distance_km": [0.5], "number_observers": [1.0],
                          "protocol": ["traveling"], "time_observations_started": ["05:30:00"],
                          "observation_date": ["2020-03-01"]})
    ref = effort_covariates(frame, duration_encoding="log", time_encoding="hours").iloc[0].to_dict()
    assert list(std) == list(ref)
    for k, v in ref.items():
        assert std[k] == pytest.approx(v), k
