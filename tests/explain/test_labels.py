"""Display names: covariate labels with units from the known naming schemes, species labels from tables."""

import pandas as pd
import pytest
from conftest import require_shared_data

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain import covariate_labels, species_labels
from jsdm_hot.explain._common import ebird_effort_names


def test_covariate_labels_schemes():
    names = ["bio1", "bio12", "X41", "X999", "log_duration", "forest"]
    lab = covariate_labels(names)
    assert lab["log_duration"] == "checklist duration, ln(minutes)"
    assert lab["bio1"] == "bio1" and lab["X41"] == "X41" and lab["forest"] == "forest"  # opt-in schemes only
    lab = covariate_labels(names, ("effort", "bioclim", "nlcd"), overrides={"forest": "forest cover (%)"})
    assert lab["bio1"] == "annual mean temperature (°C×10)" and lab["bio12"] == "annual precipitation (mm)"
    assert lab["X41"] == "Deciduous forest, share of cell (NLCD 41)" and lab["X999"] == "X999"
    assert lab["forest"] == "forest cover (%)"
    with pytest.raises(InputDataError, match="scheme"):
        covariate_labels(names, ("units",))


def test_every_effort_covariate_has_a_label():
    lab = covariate_labels(ebird_effort_names())
    assert all(k != v for k, v in lab.items())


def test_species_labels_from_frames():
    df = pd.DataFrame({"code": ["a", "b"], "name": ["Alpha", "Beta"]})
    assert species_labels(df) == {"a": "Alpha", "b": "Beta"}
    assert species_labels(df, "name", "code") == {"Alpha": "a", "Beta": "b"}
    with pytest.raises(InputDataError, match="missing"):
        species_labels(df, "code", "common")
    with pytest.raises(InputDataError, match="does not exist"):
        species_labels("/nonexistent/species.csv")


def test_species_labels_roccupy():
    lab = species_labels(require_shared_data("ebird_roccupy", "species.csv"))
    assert len(lab) == 32 and lab["Anas platyrhynchos"] == "Mallard"
