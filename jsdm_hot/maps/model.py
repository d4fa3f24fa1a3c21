"""The estimator contract as the maps use it, and their one import site of the model registry.

Maps rely on the contract of every jsdm-hot estimator and nothing else:
``predict_proba(X) -> (n_sites, n_species)``, ``sample(X, n_draws=, seed=)
-> (n_draws, n_sites, n_species)``, ``species_``, ``feature_names_in_`` and
the training range ``x_min_`` / ``x_max_`` (n_features,). A saved model
directory is loaded with :func:`load_model` (the class named in its
``config.json``); this module is the only place the maps import it from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jsdm_hot import registry
from jsdm_hot.errors import InputDataError

__all__ = ["ModelInfo", "load_model", "model_info"]


def load_model(path, device: str = "auto") -> Any:
    """A saved model directory of any estimator class (:func:`jsdm_hot.registry.load_model`)."""
    return registry.load_model(path, device=device)


@dataclass(frozen=True)
class ModelInfo:
    """What a map needs to know about a fitted model.

    Attributes
    ----------
    name : str
        Class name.
    features : tuple of str, length n_features
    species : tuple of str, length n_species
    x_min, x_max : ndarray of shape (n_features,)
        Training range of each covariate (NaN: unknown).
    """

    name: str
    features: tuple[str, ...]
    species: tuple[str, ...]
    x_min: np.ndarray
    x_max: np.ndarray


def model_info(model: Any) -> ModelInfo:
    """Read the contract's attributes of a fitted model.

    Raises
    ------
    InputDataError
        When an attribute of the contract is missing (an unfitted model, or an
        object that is not a jsdm-hot estimator), or the training range does
        not have one value per covariate.
    """
    name = type(model).__name__
    try:
        features = tuple(str(f) for f in model.feature_names_in_)
        species = tuple(str(s) for s in model.species_)
        x_min = np.asarray(model.x_min_, dtype=np.float64).reshape(-1)
        x_max = np.asarray(model.x_max_, dtype=np.float64).reshape(-1)
        model.predict_proba, model.sample  # noqa: B018 - part of the contract, checked here rather than mid-map
    except AttributeError as exc:
        raise InputDataError(
            f"{name} cannot be mapped: {exc} (a fitted jsdm-hot estimator is needed: predict_proba, sample, "
            "species_, feature_names_in_ and the training range x_min_ / x_max_)") from None
    if x_min.shape != (len(features),) or x_max.shape != (len(features),):
        raise InputDataError(f"{name}: x_min_ / x_max_ have shapes {x_min.shape} / {x_max.shape}; expected "
                             f"({len(features)},), one value per covariate {list(features)}")
    return ModelInfo(name=name, features=features, species=species, x_min=x_min, x_max=x_max)
