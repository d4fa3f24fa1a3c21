"""Real-data fixtures of the phylo tests (skipped when ../shared/data is absent)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import require_shared_data

from jsdm_hot import phylo


@pytest.fixture(scope="module")
def bird_tree() -> phylo.Phylogeny:
    return phylo.read_tree(require_shared_data("trees", "birds_full.nwk"))


@pytest.fixture(scope="module")
def roccupy_species() -> list[str]:
    return pd.read_csv(require_shared_data("ebird_roccupy", "species.csv"))["scientific_name"].tolist()


@pytest.fixture(scope="module")
def tarentaise_species() -> list[str]:
    return pd.read_csv(require_shared_data("tarentaise", "species.csv"))["latin_name"].tolist()
