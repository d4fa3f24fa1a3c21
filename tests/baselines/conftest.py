"""Fixtures of the single-species baseline tests (forest, boosting, MaxEnt): data splits and file tampering."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jsdm_hot.errors import ModelFileError


@pytest.fixture(scope="module")
def sim_split():
    """Simulated community (300 sites, 8 species, 4 covariates), random 180 / 60 / 60 split."""
    from jsdm_hot.data.simulate import simulate_community

    data = simulate_community(n_sites=300, n_species=8, n_interactions=2, seed=5).data
    idx = np.random.default_rng(1).permutation(data.n_sites)
    return data.subset(idx[:180]), data.subset(idx[180:240]), data.subset(idx[240:])


@pytest.fixture(scope="module")
def split():
    """Simulated community (360 sites, 10 species), random 220 / 70 / 70 split (site order is spatial)."""
    from jsdm_hot.data.simulate import simulate_community

    data = simulate_community(n_sites=360, n_species=10, n_interactions=2, seed=3).data
    idx = np.random.default_rng(0).permutation(data.n_sites)
    return data.subset(idx[:220]), data.subset(idx[220:290]), data.subset(idx[290:])


@pytest.fixture(scope="session")
def tarentaise_split():
    """The tarentaise birds (376 sites x 98 species), 60/20/20 random split, seed 0."""
    from conftest import require_shared_data

    from jsdm_hot.data.fixtures import load_tarentaise
    from jsdm_hot.data.splits import train_val_test_split

    return train_val_test_split(load_tarentaise(require_shared_data()), (0.6, 0.2, 0.2), seed=0)


@pytest.fixture(scope="module")
def with_constant_species(sim_split):
    """Training and validation occurrences of ``sim_split`` plus a never- and an always-present species.

    Returns (Y, Y_val) of shapes (180, 10) and (60, 10); both extra species are absent from validation.
    """
    train, val, _ = sim_split
    Y = np.hstack([train.Y, np.zeros((train.n_sites, 1), np.uint8), np.ones((train.n_sites, 1), np.uint8)])
    return Y, np.hstack([val.Y, np.zeros((val.n_sites, 2), np.uint8)])


class Tamper:
    """Edits of a saved model directory that loading must refuse."""

    @staticmethod
    def flip_weight_byte(path: Path) -> None:
        """Change one byte of the last stored array (inside the data, past the safetensors header)."""
        f = Path(path) / "weights.safetensors"
        blob = bytearray(f.read_bytes())
        blob[-3] ^= 0x01
        f.write_bytes(bytes(blob))

    @staticmethod
    def edit_config(path: Path, edit) -> None:
        """Apply ``edit(config)`` to the model's JSON config (the weights stay as saved)."""
        f = Path(path) / "config.json"
        meta = json.loads(f.read_text())
        edit(meta["config"])
        f.write_text(json.dumps(meta))

    @staticmethod
    def refused(estimator_class, path: Path, match: str) -> None:
        with pytest.raises(ModelFileError, match=match):
            estimator_class.load(path, device="cpu")

    def edits_refused(self, est, path: Path, edits: dict) -> None:
        """For each ``name: (edit, match)``: save ``est`` afresh, edit its config, expect a ModelFileError."""
        for name, (edit, match) in edits.items():
            est.save(path, overwrite=True)
            self.edit_config(path, edit)
            try:
                self.refused(type(est), path, match)
            except AssertionError as exc:
                raise AssertionError(f"config edit {name!r}: {exc}") from None


@pytest.fixture()
def tamper() -> Tamper:
    return Tamper()
