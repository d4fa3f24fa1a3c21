"""jsdm-hot: joint species distribution modelling with HOT-VAE.

Public API (heavy parts are imported on first use)::

    from jsdm_hot import CommunityData, HotVAE, LabelGraph, ColumnSpec
    from jsdm_hot import read_wide_csv, simulate_community, evaluate, load_ebird, load_model
"""

from __future__ import annotations

import importlib

from jsdm_hot._version import __version__
from jsdm_hot.data.columns import ColumnSpec
from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError, JsdmHotError, ModelFileError, NotFittedError, TreeError
from jsdm_hot.graph import LabelGraph

# name -> module, imported lazily so torch and optional dependencies load only when used
_LAZY = {
    "HotVAE": "jsdm_hot.estimators.hotvae",
    "ModelConfig": "jsdm_hot.model.config",
    "PAPER_GRID": "jsdm_hot.model.config",
    "TrainConfig": "jsdm_hot.training.config",
    "load_model": "jsdm_hot.registry",
    "make_model": "jsdm_hot.registry",
    "zero_fill": "jsdm_hot.data.ebird",
    "EbirdFilters": "jsdm_hot.data.ebird",
    "read_wide_csv": "jsdm_hot.data.tables",
    "write_wide_csv": "jsdm_hot.data.tables",
    "simulate_community": "jsdm_hot.data.simulate",
    "load_ebird": "jsdm_hot.data.ebird",
    "evaluate": "jsdm_hot.evaluation",
    "build_label_graph": "jsdm_hot.phylo",
    "predict_grid": "jsdm_hot.maps",
}

__all__ = [
    "__version__",
    "ColumnSpec", "CommunityData", "LabelGraph",
    "JsdmHotError", "InputDataError", "ModelFileError", "NotFittedError", "TreeError",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'jsdm_hot' has no attribute {name!r}")
