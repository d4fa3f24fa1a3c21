"""The one model registry: model names ↔ estimator classes, and loading any saved model.

``predict``, ``evaluate``, ``map``, ``explain`` and ``benchmark`` (CLI and Python)
all go through it, so a model directory of any class — HotVAE or a baseline —
works everywhere::

    from jsdm_hot.registry import load_model, make_model, MODEL_NAMES
    model = load_model("model_dir")            # class read from config.json
    rf = make_model("rf", {"n_estimators": 300}, seed=0)

It sits above :mod:`jsdm_hot.estimators` and :mod:`jsdm_hot.baselines` (it
imports both; neither imports it).
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

from jsdm_hot.baselines import BASELINES
from jsdm_hot.errors import InputDataError, ModelFileError
from jsdm_hot.estimators.base import JsdmEstimator
from jsdm_hot.estimators.hotvae import HotVAE
from jsdm_hot.io import CONFIG_FILE

__all__ = ["MODELS", "MODEL_NAMES", "check_model_names", "estimator_class", "load_model", "make_model",
           "model_param_names"]

#: Model name → estimator class: ``"hotvae"`` first, then the baselines.
MODELS: dict[str, type[JsdmEstimator]] = {"hotvae": HotVAE, **BASELINES}

#: Valid model names, in :data:`MODELS` order.
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def check_model_names(names) -> list[str]:
    """Validate model names; return them as a list (order kept, duplicates removed).

    Raises
    ------
    InputDataError
        For an unknown name or an empty list; the message lists the valid names.
    """
    out: list[str] = []
    for name in names:
        if name not in MODELS:
            raise InputDataError(f"unknown model {name!r}; valid model names are: {', '.join(MODEL_NAMES)}")
        if name not in out:
            out.append(name)
    if not out:
        raise InputDataError(f"no model given; valid model names are: {', '.join(MODEL_NAMES)}")
    return out


def model_param_names(model_name: str) -> tuple[str, ...]:
    """Keyword parameters of ``model_name``'s estimator except ``random_state`` (sorted)."""
    check_model_names([model_name])
    return tuple(sorted(set(MODELS[model_name]().get_params()) - {"random_state"}))


def make_model(model_name: str, params: Mapping[str, Any] | None = None, seed: int = 0) -> JsdmEstimator:
    """An unfitted estimator ``model_name(**params, random_state=seed)``.

    Raises
    ------
    InputDataError
        Unknown model name or parameter (the message lists the valid ones).
    """
    params = dict(params or {})
    valid = model_param_names(model_name)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise InputDataError(f"unknown parameter(s) {unknown} for model {model_name!r}; valid: {', '.join(valid)}")
    return MODELS[model_name](random_state=int(seed), **params)


def estimator_class(class_name: str) -> type[JsdmEstimator]:
    """The estimator class whose ``__name__`` is ``class_name``.

    Raises
    ------
    ModelFileError
        When no registered class has that name.
    """
    for cls in MODELS.values():
        if cls.__name__ == class_name:
            return cls
    raise ModelFileError(f"model class {class_name!r} is not a jsdm-hot estimator "
                         f"({', '.join(c.__name__ for c in MODELS.values())})")


def load_model(path: str | os.PathLike, device: str = "auto") -> JsdmEstimator:
    """Load a saved model directory with the ``load`` of the class recorded in its ``config.json``.

    Parameters
    ----------
    path : path-like
        Directory written by any estimator's ``save``.
    device : str, default="auto"

    Returns
    -------
    JsdmEstimator

    Raises
    ------
    ModelFileError
        Unknown class; the class's ``load`` raises for missing or damaged
        directories (a directory without a readable ``config.json`` is handed
        to ``HotVAE.load``, whose message says what is wrong).
    """
    class_name = HotVAE.__name__
    try:
        with open(os.path.join(os.fspath(path), CONFIG_FILE), encoding="utf-8") as fh:
            meta = json.load(fh)
        if isinstance(meta, dict) and isinstance(meta.get("class_name"), str):
            class_name = meta["class_name"]
    except (OSError, ValueError):
        pass
    return estimator_class(class_name).load(path, device=device)
