"""Binary-relevance logistic regression: one independent L2 logistic GLM per species.

The classic stacked-SDM baseline: species are modelled independently on the
standardised covariates with :class:`sklearn.linear_model.LogisticRegression`.
A species with a single class in the training data (never or always present)
cannot be fitted; it gets a constant probability equal to its training
prevalence (0 or 1).

Only the fitted ``coef_`` / ``intercept_`` arrays are kept (and saved, as
safetensors); prediction is ``expit(X @ coef_.T + intercept_)``, which is what
``LogisticRegression.predict_proba`` computes for a binary problem.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from jsdm_hot.errors import InputDataError
from jsdm_hot.estimators.base import JsdmEstimator

__all__ = ["BinaryRelevanceLogistic"]

log = logging.getLogger(__name__)


class BinaryRelevanceLogistic(JsdmEstimator):
    """One L2-penalised logistic regression per species (binary relevance).

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 penalty strength (``LogisticRegression(C=...)``).
    max_iter : int, default=1000
        Iterations of the lbfgs solver.
    class_weight : {None, "balanced"}, default=None
        Passed to ``LogisticRegression``; ``"balanced"`` up-weights presences of rare species.
    val_fraction : float or None, default=0.1
        Share of the training sites held out (at random, seeded by ``random_state``)
        for the thresholds when ``fit`` gets no validation data, as HotVAE does;
        ``None`` trains on all sites and uses thresholds of 0.5.
    threshold_mode : {"per_label", "global"}, default="per_label"
        How :func:`jsdm_hot.training.select_thresholds` picks thresholds on validation data.
    random_state : int or None, default=0
        Unused by lbfgs (deterministic); kept for the common contract.
    device : str, default="auto"
        Unused (CPU only); kept for the common contract.

    Attributes
    ----------
    coef_ : ndarray of shape (n_species, n_features)
        Coefficients on the standardised covariates (0 for constant species).
    intercept_ : ndarray of shape (n_species,)
    constant_ : ndarray of shape (n_species,), bool
        Species with one class in training, predicted at their prevalence.
    prevalence_ : ndarray of shape (n_species,)
        Training prevalence of every species.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000, class_weight: str | None = None,
                 val_fraction: float | None = 0.1, threshold_mode: str = "per_label",
                 random_state: int | None = 0, device: str = "auto") -> None:
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.val_fraction = val_fraction
        self.threshold_mode = threshold_mode
        self.random_state = random_state
        self.device = device

    def _fit_core(self, X, Y, X_val, Y_val, label_graph) -> None:
        if not float(self.C) > 0:
            raise InputDataError(f"C must be positive, got {self.C}")
        if self.class_weight not in (None, "balanced"):
            raise InputDataError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        if label_graph is not None:
            log.info("BinaryRelevanceLogistic ignores label_graph (species are independent)")
        n, p = X.shape
        L = Y.shape[1]
        self.prevalence_ = Y.mean(0).astype(np.float64)
        self.constant_ = (Y.min(0) == Y.max(0))
        self.coef_ = np.zeros((L, p))
        self.intercept_ = np.zeros(L)
        for j in range(L):
            if self.constant_[j]:
                continue
            clf = LogisticRegression(C=float(self.C), max_iter=int(self.max_iter), class_weight=self.class_weight,
                                     random_state=self.random_state)
            clf.fit(X, Y[:, j])
            self.coef_[j] = clf.coef_[0]
            self.intercept_[j] = clf.intercept_[0]
        if self.constant_.any():
            log.info("BinaryRelevanceLogistic: %d species with one class in training get a constant probability",
                     int(self.constant_.sum()))

    def _proba(self, X: np.ndarray) -> np.ndarray:
        """``expit(X @ coef_.T + intercept_)``; prevalence for constant species. Shape (n_sites, n_species)."""
        p = expit(X @ self.coef_.T + self.intercept_[None, :])
        return np.where(self.constant_[None, :], self.prevalence_[None, :], p)

    def _state_tensors(self) -> dict[str, np.ndarray]:
        return {
            "coef": self.coef_,
            "intercept": self.intercept_,
            "constant": self.constant_.astype(np.uint8),
            "prevalence": self.prevalence_,
        }

    def _restore_state(self, tensors: dict[str, np.ndarray], config: dict[str, Any], device: str) -> None:
        self.coef_ = tensors["coef"].astype(np.float64)
        self.intercept_ = tensors["intercept"].astype(np.float64)
        self.constant_ = tensors["constant"].astype(bool)
        self.prevalence_ = tensors["prevalence"].astype(np.float64)
