"""Permutation importance of covariates on held-out sites, per species and for the community.

Method (Breiman 2001; sklearn's ``permutation_importance``, sjSDM's importance
by the same idea)
------------------------------------------------------------------------------
On held-out sites the model's ``predict_proba`` is scored; then one covariate
group at a time is shuffled across sites (the same permutation for every member
of a group, so e.g. ``time_sin``/``time_cos`` stay a valid pair), the sites are
predicted again and scored again. Importance is the loss caused by the shuffle,
averaged over ``n_repeats`` seeded permutations, with its spread:

* ``auc``: drop in ROC AUC (per species; community = mean over species with
  both classes present in the held-out sites);
* ``log_likelihood``: drop in mean Bernoulli log-likelihood per site
  (per species; community = summed over species);
* ``richness_rmse`` (community only): increase in the RMSE between expected
  richness (sum of the probabilities) and observed richness.

Larger is more important for every metric; a covariate the model ignores scores
about 0 and a negative value means shuffling helped (noise). Effort covariates
(how a checklist was made) are labelled ``kind = "effort"`` and environmental
ones ``"environment"``, and ranked within their kind as well as overall, so
sampling effort never hides in an environmental ranking.

Correlated covariates share importance: shuffling one leaves its partner to
carry the signal, so both can look unimportant (group them with ``groups``).
The AUC is computed for all species at once from ranks (Mann–Whitney, ties
averaged; equal to ``sklearn.metrics.roc_auc_score``), because a run needs
``n_repeats × n_groups`` evaluations.

Cost: ``(1 + n_repeats × n_groups) × n_sites`` rows of ``predict_proba``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain._common import (
    MAX_REPEATS,
    MAX_ROWS,
    as_generator,
    check_count,
    effort_set,
    model_inputs,
    model_occurrences,
    stacked_proba,
    subsample_rows,
)
from jsdm_hot.explain.labels import display

__all__ = ["default_groups", "auc_by_column", "scores", "permutation_importance", "METRICS"]

logger = logging.getLogger(__name__)

#: Metric name → where it is defined ("species and community" or "community").
METRICS = {"auc": "species and community", "log_likelihood": "species and community", "richness_rmse": "community"}
_EPS = 1e-6


def default_groups(features: Sequence[str]) -> dict[str, list[str]]:
    """One group per covariate, except cyclic pairs and protocol dummies, which move together.

    ``<base>_sin`` + ``<base>_cos`` form group ``<base>`` (e.g. ``time``, ``doy``);
    every ``protocol_*`` dummy joins group ``protocol``. Order follows ``features``.

    Returns
    -------
    dict of str to list of str
    """
    feats = [str(f) for f in features]
    groups: dict[str, list[str]] = {}
    for f in feats:
        m = re.fullmatch(r"(.+)_(sin|cos)", f)
        if m and f"{m.group(1)}_{'cos' if m.group(2) == 'sin' else 'sin'}" in feats:
            groups.setdefault(m.group(1), []).append(f)
        elif f.startswith("protocol_"):
            groups.setdefault("protocol", []).append(f)
        else:
            groups.setdefault(f, []).append(f)
    return groups


def auc_by_column(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """ROC AUC of every column at once (Mann–Whitney U from average ranks).

    Parameters
    ----------
    y : ndarray of shape (n_sites, n_species), 0/1
    score : ndarray of shape (n_sites, n_species)

    Returns
    -------
    ndarray of shape (n_species,)
        NaN where a column has one class only.
    """
    y = np.asarray(y, dtype=bool)
    r = rankdata(np.asarray(score, np.float64), axis=0)
    n1 = y.sum(0).astype(np.float64)
    n0 = y.shape[0] - n1
    u = np.where(y, r, 0.0).sum(0) - n1 * (n1 + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n1 > 0) & (n0 > 0), u / (n1 * n0), np.nan)


def scores(y: np.ndarray, prob: np.ndarray) -> dict[str, np.ndarray]:
    """Per-species and community scores of probabilities against observations.

    Parameters
    ----------
    y : ndarray of shape (n_sites, n_species), 0/1
    prob : ndarray of shape (n_sites, n_species)

    Returns
    -------
    dict
        ``auc`` and ``log_likelihood``: ndarray of shape (n_species + 1,), the
        last entry the community value; ``richness_rmse``: ndarray of shape (1,).
    """
    p = np.clip(np.asarray(prob, np.float64), _EPS, 1 - _EPS)
    yf = np.asarray(y, np.float64)
    auc = auc_by_column(y, p)
    ll = (yf * np.log(p) + (1 - yf) * np.log1p(-p)).mean(0)
    rmse = np.sqrt(np.mean((p.sum(1) - yf.sum(1)) ** 2))
    comm_auc = np.nanmean(auc) if np.isfinite(auc).any() else np.nan
    return {"auc": np.append(auc, comm_auc), "log_likelihood": np.append(ll, ll.sum()),
            "richness_rmse": np.array([rmse])}


def permutation_importance(
    model: Any,
    data: Any,
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    effort: Sequence[str] | None = None,
    n_repeats: int = 5,
    max_sites: int | None = None,
    labels: Mapping[str, str] | None = None,
    rng: int | np.random.Generator | None = 0,
    max_rows: int = MAX_ROWS,
) -> pd.DataFrame:
    """Permutation importance per species and for the community (see the module docstring).

    Parameters
    ----------
    model : fitted estimator
    data : CommunityData
        Held-out sites with observed occurrences of the model's species.
    groups : mapping of str to sequence of str, optional
        Covariate groups permuted together (default :func:`default_groups`).
        Every model covariate must be in at most one group.
    effort : sequence of str, optional
        Names of effort covariates (default: every name the package's eBird
        effort covariates can have). A group is ``effort`` when all of its
        members are.
    n_repeats : int, default=5
        Permutations per group (at most 50).
    max_sites : int, optional
        Score a seeded random subset of at most this many sites.
    labels : mapping, optional
        Species name → display label (``label`` column).
    rng : int or numpy.random.Generator, default=0
    max_rows : int, default=65536
        Rows per ``predict_proba`` call.

    Returns
    -------
    pandas.DataFrame
        One row per group × species (and ``"community"``) × metric: ``covariate``
        (group name), ``members`` (comma-joined), ``kind`` (``environment`` /
        ``effort``), ``species``, ``label``, ``metric``, ``baseline`` (score
        without shuffling), ``importance`` (mean loss), ``importance_sd``,
        ``importance_min``, ``importance_max``, ``n_repeats``, ``rank`` (1 = most
        important among all groups, per species and metric) and
        ``rank_in_kind`` (among the groups of the same kind). Species absent or
        present at every held-out site have NaN AUC rows.
    """
    gen = as_generator(rng)
    n_repeats = check_count(n_repeats, "n_repeats", 1, MAX_REPEATS)
    X = model_inputs(model, data)
    Y = model_occurrences(model, data, "permutation_importance")
    features = [str(f) for f in model.feature_names_in_]
    species = [str(s) for s in model.species_]
    groups = {str(k): [str(m) for m in v] for k, v in (groups or default_groups(features)).items()}
    seen: dict[str, str] = {}
    for g, members in groups.items():
        for m in members:
            if m not in features:
                raise InputDataError(f"group {g!r}: {m!r} is not a covariate of the model ({', '.join(features)})")
            if m in seen:
                raise InputDataError(f"covariate {m!r} is in two groups ({seen[m]!r} and {g!r})")
            seen[m] = g
    eff = effort_set(effort, features)
    rows = subsample_rows(X.shape[0], max_sites, gen)
    X, Y = X[rows], Y[rows]
    base = scores(Y, model.predict_proba(X))
    names = list(groups)
    cols = [[features.index(m) for m in groups[g]] for g in names]
    perms = [[gen.permutation(X.shape[0]) for _ in names] for _ in range(n_repeats)]

    def block(k: int) -> np.ndarray:
        r, g = divmod(k, len(names))
        b = X.copy()
        b[:, cols[g]] = X[perms[r][g]][:, cols[g]]
        return b

    loss = {m: np.empty((len(names), n_repeats, v.size)) for m, v in base.items()}
    for k, prob in stacked_proba(model, block, n_repeats * len(names), X.shape[0], max_rows):
        r, g = divmod(k, len(names))
        s = scores(Y, prob)
        for m in loss:
            loss[m][g, r] = (s[m] - base[m]) if m == "richness_rmse" else (base[m] - s[m])
    logger.info("permutation importance: %d groups × %d repeats on %d sites", len(names), n_repeats, X.shape[0])
    kinds = ["effort" if all(m in eff for m in groups[g]) else "environment" for g in names]
    return _table(names, groups, kinds, species, labels, base, loss, n_repeats)


def _table(names, groups, kinds, species, labels, base, loss, n_repeats) -> pd.DataFrame:
    recs = []
    for m, arr in loss.items():
        who = ["community"] if m == "richness_rmse" else species + ["community"]
        mean, sd = arr.mean(1), arr.std(1, ddof=1) if n_repeats > 1 else np.zeros_like(arr[:, 0])
        for g, name in enumerate(names):
            for s, sp in enumerate(who):
                recs.append((name, ",".join(groups[name]), kinds[g], sp,
                             "community" if sp == "community" else display(sp, labels), m, base[m][s], mean[g, s],
                             sd[g, s], arr[g, :, s].min(), arr[g, :, s].max(), n_repeats))
    df = pd.DataFrame(recs, columns=["covariate", "members", "kind", "species", "label", "metric", "baseline",
                                     "importance", "importance_sd", "importance_min", "importance_max", "n_repeats"])
    df["rank"] = df.groupby(["species", "metric"])["importance"].rank(ascending=False, method="min")
    df["rank_in_kind"] = df.groupby(["species", "metric", "kind"])["importance"].rank(ascending=False, method="min")
    return df
