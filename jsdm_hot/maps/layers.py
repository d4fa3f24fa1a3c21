"""Map layers from a fitted model on one block of cells: the pure kernel of :mod:`jsdm_hot.maps`.

:func:`predict_layers` turns covariates of a block of grid cells into per-cell
summaries. It knows nothing about files or grids; :func:`jsdm_hot.maps.predict_map`
feeds it block after block.

Layers (``n`` cells, ``L`` species, ``S`` joint posterior draws)
-----------------------------------------------------------------

``probability`` (n, L)
    ``model.predict_proba`` — for HOT-VAE the probability at the posterior mean of z.
``richness`` (n,)
    Expected richness, the sum of the species probabilities (Norberg et al. 2019:
    richness is the number of species at a site).
``richness_mean`` (n,)
    Posterior predictive mean richness: the mean richness of the S joint
    draws. ``richness`` uses HOT-VAE's point probabilities (z at the posterior
    mean), ``richness_mean`` averages over z ~ q(z|x); the two agree when the
    latent posterior is narrow and can differ for a poorly fitted or very
    uncertain model. The sd and interval below describe the draws, so they go
    with ``richness_mean``.
``richness_sd``, ``richness_q05``, ``richness_q95`` (n,)
    Standard deviation (``ddof=0``) and 5 % / 95 % quantiles (``numpy.quantile``,
    linear interpolation) of the richness of the S joint draws: a 90 % interval.
``richness_ge`` (n, n_k)
    Probability that richness ≥ k, the share of draws with at least k species.
``composition_uncertainty`` (n,)
    Posterior uncertainty of composition: mean Sørensen dissimilarity (βSOR,
    Baselga 2010) between two independent joint draws of the same cell. It is
    estimated from the ``S // 2`` disjoint pairs (draw 0, 1), (2, 3), … — an
    unbiased estimate of the expectation, since draws are i.i.d. — instead of
    all S(S-1)/2 pairs, which would cost S/2 times more. 0 = the model is sure of
    the community, 1 = two draws never share a species.
``beta_sor_reference`` (n,)
    Community layer 1: mean βSOR between the cell's joint draws and a fixed
    reference community. By default the reference is the *regional typical
    community*: the R species with the highest mean predicted probability over
    the region, R = the regional mean expected richness rounded (at least 1).
    A user can pass any reference (e.g. the community of a protected area).
    High values mark cells whose community departs from the regional norm.
``composition_pc`` (n, n_axes)
    Community layer 2: scores on the first principal axes of predicted
    composition (PCA of the per-cell probability vectors). The PCA is fitted
    once on a random sample of cells before mapping (:func:`fit_community_basis`),
    so the axes are the same for every block; each axis' sign is fixed so that
    its largest loading is positive.

``extrapolation`` (n,)
    Share of the model's covariates outside their training range
    ``[model.x_min_, model.x_max_]`` at the cell
    (:func:`jsdm_hot.metrics.extrapolation.extrapolation_share`): 0 inside the
    training "box" of every covariate, 1 when all are outside; like the sign
    of a MESS map (Elith et al. 2010), it marks where the map extrapolates.
    NaN when the model records no training range.

βSOR conventions follow :mod:`jsdm_hot.metrics.beta`: two empty communities
have βSOR 0, one empty community against a non-empty one has βSOR 1.

Reproducibility: draws are made per *seed block* of ``seed_block`` cells, each
with its own seed derived from ``(seed, global block index)``
(:func:`block_seed`). The map loop aligns seed blocks on the running index of
valid cells, so the result does not depend on the I/O chunk size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.metrics.extrapolation import extrapolation_share

logger = logging.getLogger(__name__)

__all__ = [
    "CommunityBasis",
    "LAYER_GROUPS",
    "LAYER_INFO",
    "block_seed",
    "fit_community_basis",
    "predict_layers",
    "resolve_layers",
]

#: Per layer: (CF units, long_name, matplotlib colour map, dims beyond the cell dim).
LAYER_INFO: dict[str, dict[str, Any]] = {
    "probability": dict(units="1", long_name="probability of occurrence", cmap="viridis",
                        extra_dim="species", label="probability of occurrence"),
    "richness": dict(units="1", long_name="expected species richness (sum of occurrence probabilities)",
                     cmap="viridis", extra_dim=None, label="expected richness (number of species)"),
    "richness_mean": dict(units="1", long_name="posterior predictive mean species richness (mean over joint draws)",
                          cmap="viridis", extra_dim=None, label="mean richness of draws (number of species)"),
    "richness_sd": dict(units="1", long_name="posterior standard deviation of species richness",
                        cmap="magma", extra_dim=None, label="richness sd (number of species)"),
    "richness_q05": dict(units="1", long_name="5% quantile of posterior species richness",
                         cmap="viridis", extra_dim=None, label="richness, 5% quantile (number of species)"),
    "richness_q95": dict(units="1", long_name="95% quantile of posterior species richness",
                         cmap="viridis", extra_dim=None, label="richness, 95% quantile (number of species)"),
    "richness_ge": dict(units="1", long_name="posterior probability that species richness >= k",
                        cmap="viridis", extra_dim="k", label="P(richness \u2265 k)"),
    "composition_uncertainty": dict(
        units="1", long_name="mean Sorensen dissimilarity between pairs of joint posterior draws",
        cmap="inferno", extra_dim=None, label="composition uncertainty (mean \u03b2SOR between draws)"),
    "beta_sor_reference": dict(
        units="1", long_name="mean Sorensen dissimilarity of joint posterior draws to the reference community",
        cmap="plasma", extra_dim=None, label="\u03b2SOR to reference community"),
    "composition_pc": dict(units="1", long_name="score on principal axis of predicted species composition",
                           cmap="RdBu_r", extra_dim="axis", label="composition PCA score"),
    "extrapolation": dict(units="1", long_name="share of model covariates outside their training range",
                          cmap="Oranges", extra_dim=None, label="share of covariates outside the training range"),
}

#: Names accepted in ``layers=`` besides the layer names themselves.
LAYER_GROUPS: dict[str, tuple[str, ...]] = {
    "richness": ("richness",),
    "uncertainty": ("richness_mean", "richness_sd", "richness_q05", "richness_q95", "composition_uncertainty"),
    "interval": ("richness_mean", "richness_q05", "richness_q95"),
    "exceedance": ("richness_ge",),
    "community": ("composition_pc", "beta_sor_reference"),
    "species": ("probability",),
    "extrapolation": ("extrapolation",),
}

#: Layers that need joint posterior draws.
DRAW_LAYERS = frozenset({"richness_mean", "richness_sd", "richness_q05", "richness_q95", "richness_ge",
                         "composition_uncertainty", "beta_sor_reference"})


def resolve_layers(layers: Iterable[str] | str, species: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """Expand layer names and groups into layer names and the species to map.

    Parameters
    ----------
    layers : iterable of str or comma-separated str
        Layer names (keys of :data:`LAYER_INFO`), groups (keys of
        :data:`LAYER_GROUPS`), ``"species"`` (every species) or
        ``"species:NAME"`` (one species; repeatable).
    species : sequence of str of length n_species
        The model's species.

    Returns
    -------
    names : list of str
        Layer names, in :data:`LAYER_INFO` order.
    species_selected : list of str or None
        Species whose probability is mapped (None when ``probability`` is not).

    Raises
    ------
    InputDataError
        On an unknown layer or species name.
    """
    if isinstance(layers, str):
        layers = [t for t in (s.strip() for s in layers.split(",")) if t]
    wanted: set[str] = set()
    chosen: list[str] = []
    all_species = False
    known = list(species)
    for item in layers:
        if item.startswith("species:"):
            name = item.split(":", 1)[1].strip()
            if name not in known:
                close = [s for s in known if s.lower() == name.lower() or name.lower() in s.lower()]
                hint = f"; did you mean {close[:5]}" if close else f"; the model's species are {known[:20]}" + (
                    " ..." if len(known) > 20 else "")
                raise InputDataError(f"layer 'species:{name}': {name!r} is not a species of the model{hint}")
            if name not in chosen:
                chosen.append(name)
            wanted.add("probability")
        elif item == "species":
            all_species = True
            wanted.add("probability")
        elif item in LAYER_GROUPS:
            wanted.update(LAYER_GROUPS[item])
        elif item in LAYER_INFO:
            wanted.add(item)
        else:
            raise InputDataError(
                f"unknown map layer {item!r}; use one of {sorted(set(LAYER_GROUPS) | set(LAYER_INFO))} "
                "or 'species:NAME'")
    if not wanted:
        raise InputDataError("no map layer requested")
    names = [n for n in LAYER_INFO if n in wanted]
    if "probability" not in wanted:
        return names, None
    return names, (known if all_species else chosen)


def block_seed(seed: int, block_index: int) -> int:
    """Seed of one seed block, derived from the map seed and the block's global index.

    Returns
    -------
    int in [0, 2**31)
    """
    ss = np.random.SeedSequence([int(seed), int(block_index)])
    return int(ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFF_FFFF)


@dataclass(frozen=True)
class CommunityBasis:
    """Fixed reference for the community layers, fitted once per map.

    Attributes
    ----------
    mean : ndarray of shape (n_species,)
        Mean predicted probability over the sampled cells (PCA centre).
    components : ndarray of shape (n_axes, n_species)
        Principal axes of predicted composition (rows; unit length).
    explained_variance_ratio : ndarray of shape (n_axes,)
    reference : ndarray of shape (n_species,), bool
        The reference community for ``beta_sor_reference``.
    reference_rule : str
        How the reference was chosen (stored in the map's attributes).
    n_cells : int
        Cells the basis was fitted on.
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray
    reference: np.ndarray
    reference_rule: str
    n_cells: int
    species: tuple[str, ...] = field(default=())

    @property
    def reference_species(self) -> list[str]:
        """Names of the species in the reference community."""
        return [s for s, r in zip(self.species, self.reference) if r]

    def scores(self, proba: np.ndarray) -> np.ndarray:
        """PCA scores of probability vectors.

        Parameters
        ----------
        proba : ndarray of shape (n_cells, n_species)

        Returns
        -------
        ndarray of shape (n_cells, n_axes)
        """
        return (np.asarray(proba, dtype=np.float64) - self.mean) @ self.components.T


def fit_community_basis(
    proba: np.ndarray,
    species: Sequence[str],
    *,
    n_axes: int = 2,
    reference: Sequence[str] | np.ndarray | None = None,
) -> CommunityBasis:
    """Fit the principal axes of predicted composition and choose the reference community.

    Parameters
    ----------
    proba : ndarray of shape (n_cells, n_species)
        Predicted probabilities on a sample of the map's cells.
    species : sequence of str of length n_species
    n_axes : int, default=2
        Principal axes kept; reduced to ``min(n_axes, n_species, n_cells - 1)``.
    reference : sequence of str or bool array of shape (n_species,), optional
        The reference community. Default: the regional typical community (the
        ``round(mean expected richness)`` species, at least 1, with the highest
        mean probability).

    Returns
    -------
    CommunityBasis
    """
    from sklearn.decomposition import PCA

    P = np.asarray(proba, dtype=np.float64)
    species = tuple(str(s) for s in species)
    n_cells, n_species = P.shape
    if n_species != len(species):
        raise InputDataError(f"probabilities have {n_species} columns but {len(species)} species names")
    if n_cells < 2:
        raise InputDataError(f"the community layers need at least 2 valid cells, got {n_cells}")
    mean = P.mean(axis=0)
    k = int(min(n_axes, n_species, n_cells - 1))
    if k < 1:
        raise InputDataError(f"n_axes must be >= 1, got {n_axes}")
    if k < n_axes:
        logger.warning("only %d principal axes of composition can be fitted (asked for %d)", k, n_axes)
    if float(P.var(axis=0).sum()) == 0.0:
        # every sampled cell has the same predicted composition (e.g. all covariates constant): no axes of
        # variation; the scores are 0 everywhere (PCA would divide 0 by 0 for the explained variance)
        logger.warning("predicted composition does not vary over the %d sampled cells: composition axes are 0",
                       n_cells)
        comps, evr = np.eye(n_species)[:k], np.zeros(k)
    else:
        pca = PCA(n_components=k, svd_solver="full").fit(P)
        comps, evr = pca.components_.copy(), pca.explained_variance_ratio_.copy()
    # Deterministic sign: the largest |loading| of each axis is positive.
    flip = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps *= np.where(flip == 0, 1.0, flip)[:, None]

    if reference is None:
        r = max(1, int(round(float(mean.sum()))))
        order = np.argsort(-mean, kind="stable")[:r]
        ref = np.zeros(n_species, dtype=bool)
        ref[order] = True
        rule = (f"regional typical community: the {r} species with the highest mean predicted probability "
                f"over {n_cells} sampled cells ({r} = regional mean expected richness, rounded)")
    else:
        ref_arr = np.asarray(reference)
        if ref_arr.dtype == bool:
            if ref_arr.shape != (n_species,):
                raise InputDataError(f"reference mask must have shape ({n_species},), got {ref_arr.shape}")
            ref = ref_arr.copy()
        else:
            names = [str(s) for s in np.atleast_1d(ref_arr)]
            unknown = [s for s in names if s not in species]
            if unknown:
                raise InputDataError(f"reference community species not in the model: {unknown}")
            ref = np.isin(np.asarray(species), names)
        if not ref.any():
            raise InputDataError("the reference community must contain at least one species")
        rule = "user-given reference community"
    return CommunityBasis(mean=mean, components=comps, explained_variance_ratio=evr,
                          reference=ref, reference_rule=rule, n_cells=n_cells, species=species)


def _sor_pairs(a: np.ndarray, b: np.ndarray, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """βSOR of 0/1 uint8 communities ``a`` vs ``b`` (..., L) given their richness ``ra``, ``rb`` (...)."""
    inter = (a & b).sum(axis=-1, dtype=np.int32)
    tot = (ra + rb).astype(np.float64)
    num = tot - 2.0 * inter
    return np.divide(num, tot, out=np.zeros_like(tot), where=tot > 0)


def _draw_summaries(
    draws: np.ndarray, wanted: set[str], richness_k: np.ndarray, reference: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Summaries of joint draws (S, n, L) uint8 for one seed block."""
    S = draws.shape[0]
    out: dict[str, np.ndarray] = {}
    rich = draws.sum(axis=2, dtype=np.int32)  # (S, n)
    if "richness_mean" in wanted:
        out["richness_mean"] = rich.mean(axis=0)
    if "richness_sd" in wanted:
        out["richness_sd"] = rich.std(axis=0)
    if "richness_q05" in wanted or "richness_q95" in wanted:
        q = np.quantile(rich, [0.05, 0.95], axis=0)
        out["richness_q05"], out["richness_q95"] = q[0], q[1]
    if "richness_ge" in wanted:
        out["richness_ge"] = (rich[:, :, None] >= richness_k[None, None, :]).mean(axis=0)
    if "composition_uncertainty" in wanted:
        half = S // 2
        if half == 0:
            out["composition_uncertainty"] = np.full(draws.shape[1], np.nan)
        else:
            a, b = draws[0:2 * half:2], draws[1:2 * half:2]
            out["composition_uncertainty"] = _sor_pairs(a, b, rich[0:2 * half:2], rich[1:2 * half:2]).mean(axis=0)
    if "beta_sor_reference" in wanted:
        inter = draws[:, :, reference].sum(axis=2, dtype=np.int32)  # (S, n)
        tot = (rich + int(reference.sum())).astype(np.float64)
        out["beta_sor_reference"] = ((tot - 2.0 * inter) / tot).mean(axis=0)
    return out


def predict_layers(
    model: Any,
    X: np.ndarray,
    *,
    layers: Iterable[str] | None = None,
    n_draws: int = 100,
    seed: int = 0,
    richness_k: Sequence[int] = (),
    species_index: Sequence[int] | None = None,
    community: CommunityBasis | None = None,
    seed_block: int | None = 64,
    first_block: int = 0,
) -> dict[str, np.ndarray]:
    """Compute map layers for one block of cells.

    Parameters
    ----------
    model : object
        Fitted model with ``predict_proba(X) -> (n, n_species)``,
        ``sample(X, n_draws=, seed=) -> (n_draws, n, n_species)`` uint8 joint
        draws and (for ``extrapolation``) ``x_min_`` / ``x_max_`` (n_features,).
    X : ndarray of shape (n_cells, n_features)
        Raw covariates in the order of ``model.feature_names_in_`` (the model
        standardises internally).
    layers : iterable of str, optional
        Layer names (keys of :data:`LAYER_INFO`). Default: every layer, less
        ``richness_ge`` without ``richness_k`` and the community layers
        without ``community``.
    n_draws : int, default=100
        Joint posterior draws per cell (for the draw-based layers).
    seed : int, default=0
    richness_k : sequence of int, default=()
        Thresholds k of ``richness_ge``.
    species_index : sequence of int, optional
        Columns of ``probability`` to return (default all species).
    community : CommunityBasis, optional
        Needed for ``composition_pc`` and ``beta_sor_reference``.
    seed_block : int or None, default=64
        Cells per call to ``model.sample``; block ``b`` (counted from
        ``first_block``) uses seed :func:`block_seed` ``(seed, b)``. None: one
        call with ``seed`` itself for the whole block.
    first_block : int, default=0
        Global index of the first seed block in ``X``.

    Returns
    -------
    dict of str to ndarray
        ``probability`` (n_cells, n_selected_species) float32; ``richness_ge``
        (n_cells, n_k); ``composition_pc`` (n_cells, n_axes); every other layer
        (n_cells,), ``extrapolation`` included. All float32.
    """
    if layers is None:
        layers = [n for n in LAYER_INFO
                  if not (n == "richness_ge" and not len(richness_k))
                  and not (n in ("composition_pc", "beta_sor_reference") and community is None)]
    wanted = set(layers)
    unknown = wanted - set(LAYER_INFO)
    if unknown:
        raise InputDataError(f"unknown layers {sorted(unknown)}; known: {list(LAYER_INFO)}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputDataError(f"X must be 2-D (n_cells, n_features), got shape {X.shape}")
    n = X.shape[0]
    ks = np.asarray(list(richness_k), dtype=np.int64)
    if "richness_ge" in wanted and ks.size == 0:
        raise InputDataError("layer 'richness_ge' needs at least one richness threshold k")
    if ({"composition_pc", "beta_sor_reference"} & wanted) and community is None:
        raise InputDataError("community layers need a CommunityBasis (see fit_community_basis)")
    out: dict[str, np.ndarray] = {}
    if n == 0:
        return out
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    if proba.ndim != 2 or proba.shape[0] != n:
        raise InputDataError(f"model.predict_proba returned shape {proba.shape}, expected ({n}, n_species)")
    if "probability" in wanted:
        sel = proba if species_index is None else proba[:, np.asarray(species_index, dtype=np.intp)]
        out["probability"] = sel.astype(np.float32)
    if "richness" in wanted:
        out["richness"] = proba.sum(axis=1).astype(np.float32)
    if "composition_pc" in wanted:
        out["composition_pc"] = community.scores(proba).astype(np.float32)
    if "extrapolation" in wanted:
        out["extrapolation"] = extrapolation_share(X, model.x_min_, model.x_max_).astype(np.float32)

    draw_wanted = wanted & DRAW_LAYERS
    if draw_wanted:
        if int(n_draws) < 1:
            raise InputDataError(f"n_draws must be >= 1, got {n_draws}")
        reference = community.reference if community is not None else None
        step = n if seed_block is None else int(seed_block)
        if step < 1:
            raise InputDataError(f"seed_block must be >= 1, got {seed_block}")
        parts: dict[str, list[np.ndarray]] = {}
        for bi, start in enumerate(range(0, n, step)):
            stop = min(start + step, n)
            s = int(seed) if seed_block is None else block_seed(seed, first_block + bi)
            draws = np.asarray(model.sample(X[start:stop], n_draws=int(n_draws), seed=s))
            if draws.shape != (int(n_draws), stop - start, proba.shape[1]):
                raise InputDataError(
                    f"model.sample returned shape {draws.shape}, expected {(int(n_draws), stop - start, proba.shape[1])}")
            for key, val in _draw_summaries(draws.astype(np.uint8, copy=False), draw_wanted, ks, reference).items():
                parts.setdefault(key, []).append(val)
        for key, vals in parts.items():
            out[key] = np.concatenate(vals, axis=0).astype(np.float32)
    return out
