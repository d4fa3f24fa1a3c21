"""Estimators: the contract every model honours (:class:`JsdmEstimator`), HOT-VAE, and its posterior draws.

Baselines live in :mod:`jsdm_hot.baselines` and derive from :class:`JsdmEstimator`;
:mod:`jsdm_hot.registry` maps names to classes and loads saved models.
"""

from jsdm_hot.estimators.base import DEFAULT_CHUNK, FORMAT_VERSION, JsdmEstimator
from jsdm_hot.estimators.hotvae import HotVAE

__all__ = ["DEFAULT_CHUNK", "FORMAT_VERSION", "HotVAE", "JsdmEstimator"]
