"""ML-kNN (Zhang & Zhou 2007, *Pattern Recognition* 40:2038-2048), vectorised.

For species ``l`` and a site ``t`` whose ``k`` nearest training sites hold
``C_t,l`` presences of ``l``, the posterior probability of presence is

.. math::

    r_{t,l} = \\frac{P(H^l_1)\\, P(E^l_{C_{t,l}} \\mid H^l_1)}
                    {P(H^l_1)\\, P(E^l_{C_{t,l}} \\mid H^l_1) + P(H^l_0)\\, P(E^l_{C_{t,l}} \\mid H^l_0)}

with Laplace-smoothed (``s``) estimates from the ``m`` training sites:

* prior ``P(H^l_1) = (s + Σ_i y_il) / (2 s + m)``;
* likelihood ``P(E^l_j | H^l_1) = (s + c_l[j]) / (s (k + 1) + Σ_p c_l[p])`` where
  ``c_l[j]`` counts training sites with ``l`` present whose ``k`` neighbours
  (the site itself excluded) hold exactly ``j`` presences of ``l``; ``c'_l[j]``
  and ``P(E^l_j | H^l_0)`` likewise for the sites with ``l`` absent.

The paper predicts presence when ``r > 0.5``; here ``predict`` uses thresholds
chosen on validation data when given (0.5 otherwise), like every other model.

Implementation notes (ours): neighbours are Euclidean on the standardised
covariates (:class:`sklearn.neighbors.NearestNeighbors`); the counting is done
with one ``bincount`` over all species. Saved state: the standardised training
covariates and occurrences (the neighbour index is rebuilt on load) and the
prior / likelihood tables.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from jsdm_hot.errors import InputDataError
from jsdm_hot.estimators.base import JsdmEstimator

__all__ = ["MLkNN", "neighbour_counts"]

log = logging.getLogger(__name__)


def neighbour_counts(Y: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Presences of each species among each site's neighbours.

    Parameters
    ----------
    Y : ndarray of shape (n_train, n_species), 0/1
    neighbours : ndarray of shape (n_sites, k), int
        Row indices into ``Y``.

    Returns
    -------
    ndarray of shape (n_sites, n_species), int64, values in ``0..k``
    """
    C = np.zeros((neighbours.shape[0], Y.shape[1]), dtype=np.int64)
    for j in range(neighbours.shape[1]):  # k passes; memory O(n_sites · n_species)
        C += Y[neighbours[:, j]]
    return C


class MLkNN(JsdmEstimator):
    """Multi-label k-nearest neighbours (Zhang & Zhou 2007).

    Parameters
    ----------
    k : int, default=10
        Number of neighbours (the paper's default).
    s : float, default=1.0
        Laplace smoothing (the paper's ``s = 1``).
    val_fraction : float or None, default=0.1
        Share of the training sites held out (at random, seeded by ``random_state``)
        for the thresholds when ``fit`` gets no validation data, as HotVAE does;
        ``None`` trains on all sites and uses thresholds of 0.5.
    threshold_mode : {"per_label", "global"}, default="per_label"
    random_state : int or None, default=0
        Unused (deterministic); kept for the common contract.
    device : str, default="auto"
        Unused (CPU only).

    Attributes
    ----------
    X_train_ : ndarray of shape (n_train, n_features)
        Standardised training covariates.
    Y_train_ : ndarray of shape (n_train, n_species), uint8
    prior_ : ndarray of shape (n_species,)
        ``P(H_1)``.
    cond_true_ : ndarray of shape (n_species, k + 1)
        ``P(E_j | H_1)`` for ``j = 0..k``.
    cond_false_ : ndarray of shape (n_species, k + 1)
        ``P(E_j | H_0)``.
    """

    def __init__(self, k: int = 10, s: float = 1.0, val_fraction: float | None = 0.1, threshold_mode: str = "per_label",
                 random_state: int | None = 0, device: str = "auto") -> None:
        self.k = k
        self.s = s
        self.val_fraction = val_fraction
        self.threshold_mode = threshold_mode
        self.random_state = random_state
        self.device = device

    def _fit_core(self, X, Y, X_val, Y_val, label_graph) -> None:
        k, s = int(self.k), float(self.s)
        if k < 1:
            raise InputDataError(f"MLkNN: k must be at least 1, got {self.k}")
        if not s > 0:
            raise InputDataError(f"MLkNN: smoothing s must be positive, got {self.s}")
        m = X.shape[0]
        if m <= k:
            raise InputDataError(f"MLkNN: k={k} needs more than k training sites, got {m}")
        if label_graph is not None:
            log.info("MLkNN ignores label_graph")
        self.X_train_ = np.ascontiguousarray(X, dtype=np.float64)
        self.Y_train_ = np.ascontiguousarray(Y, dtype=np.uint8)
        self.nn_ = NearestNeighbors(n_neighbors=k).fit(self.X_train_)
        idx = self.nn_.kneighbors(self.X_train_, n_neighbors=k + 1, return_distance=False)
        # Leave the site itself out. With duplicated sites the query may not
        # return itself; then the farthest of the k + 1 is dropped instead.
        is_self = idx == np.arange(m)[:, None]
        first = is_self.argmax(1)
        has_self = is_self.any(1)
        drop = np.where(has_self, first, k)
        keep = np.ones_like(idx, dtype=bool)
        keep[np.arange(m), drop] = False
        neigh = idx[keep].reshape(m, k)
        C = neighbour_counts(self.Y_train_, neigh)  # (m, L)
        L = Y.shape[1]
        flat = (np.arange(L)[None, :] * (k + 1) + C).ravel()
        yf = self.Y_train_.ravel().astype(np.float64)
        c_true = np.bincount(flat, weights=yf, minlength=L * (k + 1)).reshape(L, k + 1)
        c_false = np.bincount(flat, weights=1.0 - yf, minlength=L * (k + 1)).reshape(L, k + 1)
        self.prior_ = (s + self.Y_train_.sum(0)) / (2.0 * s + m)
        self.cond_true_ = (s + c_true) / (s * (k + 1) + c_true.sum(1, keepdims=True))
        self.cond_false_ = (s + c_false) / (s * (k + 1) + c_false.sum(1, keepdims=True))

    def _proba(self, X: np.ndarray) -> np.ndarray:
        """Posterior ``r`` of presence, shape (n_sites, n_species)."""
        if X.shape[0] == 0:
            return np.zeros((0, self.Y_train_.shape[1]))
        neigh = self.nn_.kneighbors(X, n_neighbors=int(self.k), return_distance=False)
        C = neighbour_counts(self.Y_train_, neigh)
        cols = np.arange(C.shape[1])[None, :]
        p1 = self.prior_[None, :] * self.cond_true_[cols, C]
        p0 = (1.0 - self.prior_[None, :]) * self.cond_false_[cols, C]
        return p1 / (p1 + p0)

    def _state_tensors(self) -> dict[str, np.ndarray]:
        return {
            "X_train": self.X_train_,
            "Y_train": self.Y_train_,
            "prior": self.prior_,
            "cond_true": self.cond_true_,
            "cond_false": self.cond_false_,
        }

    def _restore_state(self, tensors: dict[str, np.ndarray], config: dict[str, Any], device: str) -> None:
        self.X_train_ = np.ascontiguousarray(tensors["X_train"], dtype=np.float64)
        self.Y_train_ = np.ascontiguousarray(tensors["Y_train"], dtype=np.uint8)
        self.prior_ = tensors["prior"].astype(np.float64)
        self.cond_true_ = tensors["cond_true"].astype(np.float64)
        self.cond_false_ = tensors["cond_false"].astype(np.float64)
        k = int(self.k)
        if self.cond_true_.shape != (self.Y_train_.shape[1], k + 1) or self.X_train_.shape[0] <= k:
            raise ValueError("MLkNN tables do not match k and the training data")
        self.nn_ = NearestNeighbors(n_neighbors=k).fit(self.X_train_)
