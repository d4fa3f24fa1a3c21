"""Baselines behind the HOT-VAE estimator contract (``fit / predict_proba / predict / sample / save / load``).

* :class:`BinaryRelevanceLogistic` — one logistic regression per species (scikit-learn).
* :class:`MLkNN` — multi-label k-nearest neighbours (Zhang & Zhou 2007).
* :class:`MPVAE` — two-branch VAE with a multivariate-probit decoder (Bai et al. 2020).
* :class:`LaMP` — label message passing with attention, no VAE (Lanchantin et al. 2019).
* :class:`C2AE` — canonical-correlated autoencoder: aligned feature / label latent
  codes and a label decoder with a pairwise ranking loss (Yeh et al. 2017).
* :class:`RandomForest` — one multi-output scikit-learn random forest over all
  species, ``min_samples_leaf`` tuned on the validation sites.
* :class:`GradientBoosting` — LightGBM boosted trees per species, rounds chosen by
  early stopping on the validation sites (needs the ``baselines`` extra).
* :class:`MaxEnt` — elapid's MaxEnt per species, recorded absences used as
  background, cloglog output (needs the ``baselines`` extra).

All share input handling, the validation hold-out, standardisation, thresholds,
draws and safetensors + JSON persistence through
:class:`~jsdm_hot.estimators.base.JsdmEstimator`; the PyTorch ones train in the
loop HOT-VAE uses (:mod:`jsdm_hot.baselines.torch_base`).
"""

from jsdm_hot.baselines.boosting import GradientBoosting
from jsdm_hot.baselines.c2ae import C2AE
from jsdm_hot.baselines.forest import RandomForest
from jsdm_hot.baselines.lamp import LaMP
from jsdm_hot.baselines.logistic import BinaryRelevanceLogistic
from jsdm_hot.baselines.maxent import MaxEnt
from jsdm_hot.baselines.mlknn import MLkNN
from jsdm_hot.baselines.mpvae import MPVAE
from jsdm_hot.estimators.base import JsdmEstimator

__all__ = ["BinaryRelevanceLogistic", "C2AE", "GradientBoosting", "LaMP", "MLkNN", "MPVAE", "MaxEnt", "RandomForest",
           "BASELINES"]

#: name → class, for the CLI and benchmarks
BASELINES: dict[str, type[JsdmEstimator]] = {
    "logistic": BinaryRelevanceLogistic,
    "mlknn": MLkNN,
    "mpvae": MPVAE,
    "lamp": LaMP,
    "c2ae": C2AE,
    "rf": RandomForest,
    "gbm": GradientBoosting,
    "maxent": MaxEnt,
}
