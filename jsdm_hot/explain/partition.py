"""Variance partitioning in the style of Hmsc: environment vs associations vs space.

Available only for models with a residual association component. The model is
read as a latent-variable JSDM, ``y*_il = η_il + λ_l·e_i + ε_il``, ``e_i ~ N(0, I_K)``,
``y_il = 1[y*_il > 0]`` with ``ε`` standard normal (probit link) or standard
logistic (logit link), and per species ``l`` the latent variance is split into

* **environment**: the variance over the given sites of the fitted latent
  predictor ``η_il = c_l · g(p̂_il)``, with ``p̂ = predict_proba`` (the marginal
  over the residual), ``g`` the link and ``c_l`` the scale that undoes the
  marginalisation: ``√(1 + |λ_l|²)`` for the probit (exact, ``p = Φ(η/c)``) and
  ``√(1 + π/8 · |λ_l|²)`` for the logit (the logistic-normal approximation
  ``E σ(η + s·e) ≈ σ(η / √(1 + π s²/8))``; it is exactly the scale HotVAE's
  residual term applies, :func:`jsdm_hot.model.residual.logit_scale`, so there
  ``η`` is the model's own logit given ``e = 0``). With a covariance ``Σ`` instead
  of loadings, ``c_l = √Σ_ll``;
* **associations**: the part of the residual variance shared with the other
  species: with factor loadings ``Λ``, ``(ΛΛᵀ)_ll`` (exactly Hmsc's share of a
  latent-factor random level); with a covariance ``Σ``, ``Σ_ll − 1/(Σ⁻¹)_ll``
  (residual variance minus the conditional variance given every other species'
  residual);
* **space**: the per-species variance of a spatial random effect, when the
  model has one.

Shares are each part over their sum; the independent residual (``1/(Σ⁻¹)_ll``,
or with loadings the variance of ``ε``: 1 for the probit, π²/3 for the logit)
is reported as ``unshared`` but, as in Hmsc, not counted in the shares.

A model that declares the capability
:attr:`~jsdm_hot.estimators.base.JsdmEstimator.has_residual_association` is
read through it (HotVAE: its ``residual_loadings_``, logit link; a HotVAE fitted
with ``residual_factors=0`` is unavailable). Other objects (stand-ins, models
outside the contract) are searched for the attributes below, in order:

========================  ===================================================
attribute                 read as
========================  ===================================================
``residual_loadings_``,   ``Λ`` of shape (n_species, n_factors)
``loadings_``
``residual_covariance_``  ``Σ`` of shape (n_species, n_species)
``residual_correlation_`` ``Σ`` (a correlation: unit residual variances)
``spatial_variance_``     space, ndarray of shape (n_species,)
``spatial_loadings_``     space = row sums of squares
========================  ===================================================

A model with none of the residual attributes (HOT-VAE before residual
components, the independent baselines) gets an empty table whose
``attrs["reason"]`` says so; nothing is made up.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy.special import logit, ndtri

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain._common import model_inputs
from jsdm_hot.explain.labels import display

__all__ = ["ASSOCIATION_ATTRIBUTES", "SPATIAL_ATTRIBUTES", "association_component", "partition_kernel",
           "variance_partition"]

logger = logging.getLogger(__name__)

#: Attributes searched, in order, for the residual association component.
ASSOCIATION_ATTRIBUTES = ("residual_loadings_", "loadings_", "residual_covariance_", "residual_correlation_")
#: Attributes searched, in order, for a spatial component.
SPATIAL_ATTRIBUTES = ("spatial_variance_", "spatial_loadings_")
COLUMNS = ["species", "label", "environment", "associations", "space", "unshared", "share_environment",
           "share_associations", "share_space"]


def _get(model: Any, name: str) -> np.ndarray | None:
    try:
        v = getattr(model, name, None)
    except Exception as exc:  # a property of an unfitted model may raise
        logger.info("%s.%s is not available: %s", type(model).__name__, name, exc)
        return None
    return None if v is None else np.asarray(v, dtype=np.float64)


def association_component(model: Any) -> tuple[str, np.ndarray] | None:
    """``(attribute, array)`` of the model's residual association, else None.

    A model declaring ``has_residual_association`` (the estimator contract) gives its
    ``residual_loadings_`` when True and None when False; other objects give the first
    of :data:`ASSOCIATION_ATTRIBUTES` they have.
    """
    declared = getattr(model, "has_residual_association", None)
    if declared is not None:
        return ("residual_loadings_", _get(model, "residual_loadings_")) if declared else None
    for name in ASSOCIATION_ATTRIBUTES:
        v = _get(model, name)
        if v is not None:
            return name, v
    return None


def partition_kernel(
    eta_var: np.ndarray,
    *,
    loadings: np.ndarray | None = None,
    covariance: np.ndarray | None = None,
    space: np.ndarray | None = None,
    unshared: float = 1.0,
) -> dict[str, np.ndarray]:
    """Variance parts from arrays (the method of the module docstring).

    Parameters
    ----------
    eta_var : ndarray of shape (n_species,)
        Variance over sites of the latent environmental predictor.
    loadings : ndarray of shape (n_species, n_factors), optional
    covariance : ndarray of shape (n_species, n_species), optional
        Exactly one of ``loadings`` / ``covariance``.
    space : ndarray of shape (n_species,), optional
    unshared : float, default=1.0
        With loadings: the variance of the independent residual (1 probit, π²/3 logit).

    Returns
    -------
    dict of str to ndarray of shape (n_species,)
        ``environment``, ``associations``, ``space`` (NaN without one),
        ``unshared``, ``share_environment``, ``share_associations``, ``share_space``.
    """
    env = np.asarray(eta_var, np.float64)
    L = env.size
    if (loadings is None) == (covariance is None):
        raise InputDataError("partition_kernel needs exactly one of loadings or covariance")
    if loadings is not None:
        lam = np.asarray(loadings, np.float64)
        if lam.ndim != 2 or lam.shape[0] != L:
            raise InputDataError(f"loadings must have shape ({L}, n_factors), got {lam.shape}")
        assoc, unshared = (lam ** 2).sum(1), np.full(L, float(unshared))
    else:
        S = np.asarray(covariance, np.float64)
        if S.shape != (L, L) or not np.allclose(S, S.T, atol=1e-8):
            raise InputDataError(f"residual covariance must be a symmetric ({L}, {L}) matrix, got shape {S.shape}")
        unshared = 1.0 / np.diag(np.linalg.pinv(S, hermitian=True))
        assoc = np.clip(np.diag(S) - unshared, 0.0, None)
    sp = np.full(L, np.nan) if space is None else np.asarray(space, np.float64).reshape(L)
    total = env + assoc + np.nan_to_num(sp)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"environment": env, "associations": assoc, "space": sp, "unshared": unshared,
                "share_environment": env / total, "share_associations": assoc / total,
                "share_space": sp / total}


def variance_partition(
    model: Any,
    data: Any,
    *,
    link: str = "logit",
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per-species variance partition (environment / associations / space) on ``data``'s sites.

    Parameters
    ----------
    model : fitted estimator
        With one of :data:`ASSOCIATION_ATTRIBUTES` (see the module docstring).
    data : CommunityData, DataFrame or ndarray of shape (n_sites, n_features)
        Sites over which the environmental predictor varies (e.g. training or
        held-out sites).
    link : {"logit", "probit"}, default="logit"
        Link turning ``predict_proba`` into the latent predictor.
    labels : mapping, optional
        Species name → display label.

    Returns
    -------
    pandas.DataFrame
        One row per species, columns :data:`COLUMNS`. ``attrs``: ``available``
        (bool), ``reason`` (why not, when unavailable), ``source`` (attribute
        used), ``link``. Empty when the model has no association component.
    """
    if link not in ("logit", "probit"):
        raise InputDataError(f"link must be 'logit' or 'probit', got {link!r}")
    comp = association_component(model)
    if comp is None:
        reason = (f"{type(model).__name__} has no residual association component (none of "
                  f"{', '.join(ASSOCIATION_ATTRIBUTES)}), so its variance cannot be split into environment and "
                  "associations; fit a model with a residual component to get this summary")
        if getattr(model, "has_residual_association", None) is False:
            reason = (f"{type(model).__name__} has no residual association component (has_residual_association is "
                      "False; a HotVAE fitted with residual_factors=0 is the paper's model, without one), so its variance "
                      "cannot be split into environment and associations; fit a HotVAE with residual_factors > 0 to get "
                      "this summary")
        out = pd.DataFrame(columns=COLUMNS)
        out.attrs.update(available=False, reason=reason, source=None, link=link)
        logger.info("%s", reason)
        return out
    source, arr = comp
    species = [str(s) for s in model.species_]
    p = np.clip(np.asarray(model.predict_proba(model_inputs(model, data)), np.float64), 1e-6, 1 - 1e-6)
    g = logit(p) if link == "logit" else ndtri(p)
    if source in ("residual_loadings_", "loadings_"):
        kw = {"loadings": arr, "unshared": 1.0 if link == "probit" else np.pi ** 2 / 3}
        scale = np.sqrt(1.0 + (1.0 if link == "probit" else np.pi / 8) * (arr ** 2).sum(1))
    else:
        kw, scale = {"covariance": arr}, np.sqrt(np.diag(arr))
    eta_var = (g * scale[None, :]).var(0)
    space = None
    for name in SPATIAL_ATTRIBUTES:
        v = _get(model, name)
        if v is not None:
            space = (v ** 2).sum(1) if v.ndim == 2 else v
            break
    parts = partition_kernel(eta_var, space=space, **kw)
    out = pd.DataFrame({"species": species, "label": [display(s, labels) for s in species], **parts})[COLUMNS]
    out.attrs.update(available=True, reason="", source=source, link=link)
    return out
