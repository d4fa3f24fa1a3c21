"""Simulated communities with a known tree, known correlation and known interactions.

This is the embedded example of jsdm-hot: it needs no download, is fully
determined by ``seed`` and comes with the truth it was drawn from, so models,
graphs and metrics can be checked against known answers.

The generative model
--------------------
Sites
    ``n_sites`` cells of a regular longitude/latitude grid (cell centres,
    EPSG:4326) in the south-eastern United States (south-west corner at
    84°W 34°N; cell size 0.25° for grids up to 40 cells wide). When the grid
    has more cells than ``n_sites``, the sites are a random subset of cells.
Covariates
    Smooth spatial fields on the whole grid (linear gradients plus random
    Gaussian bumps), each standardised to mean 0 and standard deviation 1 over
    the grid and rounded to 6 decimals. Their names are ecological and they are
    built to correlate the way they do in nature: ``elev`` (a ridge towards the
    west), ``temp`` (falls northwards and with elevation), ``precip`` (rises
    with elevation), ``forest`` (follows precipitation and elevation), then
    ``urban``, ``wetland``, ``grass``, ``water`` and generic ``env_<k>``.
Tree
    A Yule (pure-birth) tree over the species, simulated forward in time with
    unit birth rate and scaled to root-to-tip depth 1, so it is ultrametric.
    The lineages alive when the tree first has ``n_species // 4`` of them are
    the genera; species names are generated Latin binomials ``"Genus
    epithet"`` (underscores in the Newick text, as is usual for trees).
Phylogenetic covariance
    ``C[i, j]`` = shared branch length from the root to the most recent common
    ancestor of species ``i`` and ``j`` (Brownian motion covariance; diagonal 1).
Occurrence model (latent, before interactions)
    ``logit p[i, j] = alpha[j] + X[i] @ beta[:, j] + eps[i, j]`` and
    ``y_latent[i, j] ~ Bernoulli(p[i, j])``, independently given ``eps``, where

    * each row ``beta[k]`` ~ N(mu_k, beta_sd² (λ C + (1 - λ) I)) with
      mu_k ~ N(0, 0.3²) and λ = ``phylo_signal`` (Pagel's λ), so related
      species respond alike to the environment;
    * ``eps[i]`` ~ N(0, Σ), Σ = residual_sd² (λ C + (1 - λ) R), R a random
      non-phylogenetic correlation matrix from a two-factor model; this is the
      residual (biotic or unmeasured) correlation, and its phylogenetic part
      makes close relatives co-occur beyond what the covariates explain;
    * ``alpha[j]`` is solved so that the mean of ``p[:, j]`` over sites equals a
      target prevalence ``q[j]`` with ``logit q`` = −1.2 + 0.7·(BM draw on C)
      + 0.6·N(0, 1), clipped to [max(0.03, 5 / n_sites), 0.75]: mostly rare species, a few
      common ones, all of them present at some sites for the default settings.
Higher-order interactions (not phylogenetic)
    ``n_interactions`` interactions, each among three species taken from
    different genera where possible (greedily, the most distant in the tree),
    applied to the latent occurrences, cycling through three kinds:

    1. ``"conjunction"`` (obligate facilitation): the target is present only
       where both hosts are present: ``y_t = y_t · y_a · y_b``. The hosts are
       the most prevalent species still free (from two genera); the target is
       the species least related to them, and its latent prevalence is raised
       to at least 0.6 so that it does not vanish.
    2. ``"exclusion"`` (joint competitive exclusion): the target is absent
       wherever both competitors are present: ``y_t = y_t · (1 − y_a · y_b)``.
       Neither competitor alone excludes it; only the pair does. Competitors
       and target are chosen as for ``"conjunction"``.
    3. ``"flock"`` (a mixed-species flock conditional on a gradient; a random
       species and the two least related to it): where the
       ``forest`` covariate (or the first covariate) exceeds 0, any member is
       present where the other two are: ``y_m = y_m ∨ (y_o1 ∧ y_o2)``, so no
       such site holds exactly two of the three. Elsewhere nothing changes.

    Every kind is third order: the target's state depends on the joint state
    of the other two, not on either alone. Interactions use disjoint species.
True probabilities
    Given the residuals the species are independent Bernoullis, so after the
    interactions the probability of each observed ``y[i, j]`` is a closed-form
    product (:attr:`SimulationTruth.prob_given_residual`). The probability an
    ideal model of ``x`` alone could reach, ``P(y[i, j] = 1 | x[i])``, averages
    that over ``eps`` by Monte Carlo with ``n_mc`` draws
    (:attr:`SimulationTruth.prob`).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.io import atomic_write_text

__all__ = [
    "SimulatedCommunity",
    "SimulationTruth",
    "simulate_community",
    "write_example",
    "load_example",
    "COVARIATE_NAMES",
    "INTERACTION_KINDS",
]

logger = logging.getLogger(__name__)

#: Names given to the first covariates, in order; later ones are ``env_<k>``.
COVARIATE_NAMES = ("temp", "precip", "forest", "elev", "urban", "wetland", "grass", "water")
#: The kinds of higher-order interaction, used in turn.
INTERACTION_KINDS = ("conjunction", "exclusion", "flock")

_LON0, _LAT0 = -84.0, 34.0
_FORMAT_VERSION = 1


# ---------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """What a simulated community was drawn from.

    Attributes
    ----------
    alpha : ndarray of shape (n_species,)
        Intercepts (logit scale).
    beta : ndarray of shape (n_features, n_species)
        Covariate coefficients (logit scale).
    phylo_cov : ndarray of shape (n_species, n_species)
        Brownian-motion covariance of the tree: shared root-to-MRCA branch length
        (depth scaled to 1, so the diagonal is 1).
    residual_cov : ndarray of shape (n_species, n_species)
        Covariance Σ of the latent residuals ``eps``.
    residual_corr : ndarray of shape (n_species, n_species)
        Σ scaled to a correlation matrix.
    residuals : ndarray of shape (n_sites, n_species)
        The realised residuals ``eps``.
    occurrences_latent : ndarray of shape (n_sites, n_species), uint8
        Occurrences before the higher-order interactions were applied.
    prob : ndarray of shape (n_sites, n_species)
        ``P(y = 1 | x)`` after interactions, Monte Carlo over the residuals.
    prob_given_residual : ndarray of shape (n_sites, n_species)
        ``P(y = 1 | x, eps)`` after interactions, exact; ``Y`` was drawn from it.
    interactions : list of dict
        One dict per interaction: ``kind``, ``target`` (species name; for
        ``"flock"`` None), ``given`` (the other species), ``members`` (all
        three), ``covariate`` and ``threshold`` (``"flock"`` only) and a
        ``description`` in words.
    genus : tuple of str, length n_species
    target_prevalence : ndarray of shape (n_species,)
        Latent prevalence ``alpha`` was calibrated to.
    grid_shape : tuple of int
        ``(n_rows, n_cols)`` of the grid the sites lie on.
    params : dict
        The arguments of :func:`simulate_community`.
    """

    alpha: np.ndarray
    beta: np.ndarray
    phylo_cov: np.ndarray
    residual_cov: np.ndarray
    residual_corr: np.ndarray
    residuals: np.ndarray
    occurrences_latent: np.ndarray
    prob: np.ndarray
    prob_given_residual: np.ndarray
    interactions: list[dict[str, Any]]
    genus: tuple[str, ...]
    target_prevalence: np.ndarray
    grid_shape: tuple[int, int]
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, species: tuple[str, ...], covariates: tuple[str, ...]) -> dict[str, Any]:
        """JSON-serialisable summary (everything except the per-site residuals and latent states)."""

        def r(a: np.ndarray) -> Any:
            return np.round(np.asarray(a, dtype=np.float64), 6).tolist()

        return {
            "format_version": _FORMAT_VERSION,
            "generator": "jsdm_hot.data.simulate.simulate_community",
            "params": dict(self.params),
            "species": list(species),
            "covariates": list(covariates),
            "genus": list(self.genus),
            "grid_shape": list(self.grid_shape),
            "alpha": r(self.alpha),
            "beta": r(self.beta),
            "target_prevalence": r(self.target_prevalence),
            "phylo_cov": r(self.phylo_cov),
            "residual_cov": r(self.residual_cov),
            "residual_corr": r(self.residual_corr),
            "interactions": [dict(i) for i in self.interactions],
            "prob": r(self.prob),
            "prob_given_residual": r(self.prob_given_residual),
        }


@dataclass(frozen=True, eq=False)
class SimulatedCommunity:
    """A simulated community and everything needed to check a model against it.

    Attributes
    ----------
    data : CommunityData
        The survey: ``X`` (n_sites, n_features), ``Y`` (n_sites, n_species),
        site ids, lon/lat coordinates (EPSG:4326), species ``"Genus epithet"``.
    grid : CommunityData
        Every cell of the grid (``n_rows * n_cols`` rows, ``Y`` None), with the
        same covariates, for prediction and maps. Site ids ``cell_<row>_<col>``,
        rows from south to north.
    newick : str
        The ultrametric tree, with branch lengths; tip labels are the species
        names with ``_`` for the space.
    truth : SimulationTruth
    """

    data: CommunityData
    grid: CommunityData
    newick: str
    truth: SimulationTruth

    @property
    def species(self) -> tuple[str, ...]:
        return self.data.species


# ------------------------------------------------------------------ the tree
@dataclass
class _Tree:
    parent: list[int]
    start: list[float]
    end: list[float]
    children: list[list[int]]
    tips: list[int]  # node ids of the tips, in left-to-right (depth-first) order
    genus_root: dict[int, int]  # tip node -> node id of its genus ancestor


def _yule_tree(n_tips: int, n_genera: int, rng: np.random.Generator) -> _Tree:
    """Forward-time Yule tree with ``n_tips`` tips, scaled to depth 1."""
    parent, start, end, children = [-1], [0.0], [0.0], [[]]

    def new(p: int, t: float) -> int:
        parent.append(p)
        start.append(t)
        end.append(math.nan)
        children.append([])
        children[p].append(len(parent) - 1)
        return len(parent) - 1

    t = 0.0
    active = [new(0, 0.0), new(0, 0.0)]
    genus_nodes: list[int] = [0] if n_genera <= 1 else (list(active) if n_genera == 2 else [])
    while len(active) < n_tips:
        t += rng.exponential(1.0 / len(active))
        lineage = active.pop(int(rng.integers(len(active))))
        end[lineage] = t
        active += [new(lineage, t), new(lineage, t)]
        if not genus_nodes and len(active) >= n_genera:
            genus_nodes = list(active)
    t += rng.exponential(1.0 / len(active))
    for lineage in active:
        end[lineage] = t
    start = [s / t for s in start]
    end = [e / t for e in end]

    tips: list[int] = []
    genus_root: dict[int, int] = {}
    genus_set = set(genus_nodes)
    stack: list[tuple[int, int]] = [(0, 0 if 0 in genus_set else -1)]
    while stack:  # depth-first, left to right
        node, g = stack.pop()
        if node in genus_set:
            g = node
        if not children[node]:
            tips.append(node)
            genus_root[node] = g
        for c in reversed(children[node]):
            stack.append((c, g))
    return _Tree(parent, start, end, children, tips, genus_root)


def _newick(tree: _Tree, labels: dict[int, str]) -> str:
    """Newick text with branch lengths (``%.10g``) for ``tree``; ``labels`` maps tip nodes to names."""

    def rec(node: int) -> str:
        if tree.children[node]:
            s = "(" + ",".join(rec(c) for c in tree.children[node]) + ")"
        else:
            s = labels[node]
        if node == 0:
            return s
        return f"{s}:{tree.end[node] - tree.start[node]:.10g}"

    return rec(0) + ";"


def _phylo_cov(tree: _Tree) -> np.ndarray:
    """Shared root-to-MRCA branch length between tips, shape (n_tips, n_tips)."""
    n_nodes = len(tree.parent)
    paths = np.zeros((len(tree.tips), n_nodes))
    for i, tip in enumerate(tree.tips):
        node = tip
        while node != 0:
            paths[i, node] = 1.0
            node = tree.parent[node]
    length = np.array([e - s for s, e in zip(tree.start, tree.end)])
    C = (paths * length) @ paths.T
    return (C + C.T) / 2


# -------------------------------------------------------------------- names
_G_ONSET = ("B", "C", "D", "G", "L", "M", "N", "P", "R", "S", "T", "Th", "Ph", "Chr", "Sp", "St", "Tr", "Z", "X", "Ch")
_G_VOWEL = ("a", "e", "i", "o", "y", "ae", "au", "eu")
_G_MID = ("ri", "lo", "ne", "ta", "mi", "co", "phy", "ge", "lu", "ra", "do", "sce", "ma", "the", "pi")
_G_END = ("ornis", "ops", "a", "us", "ella", "icola", "aria", "ites", "ura", "iza", "ax", "ion")
_E_STEM = (
    "rub", "alb", "nigr", "flav", "virid", "cinere", "macul", "long", "brev", "magn", "minut",
    "orient", "occident", "austral", "boreal", "montan", "palustr", "silvestr", "ripar", "ful",
    "cyan", "glauc", "aur", "melan", "leuc", "chrys", "erythr", "xanth", "grac", "robust",
)
_E_END = ("a", "us", "is", "ensis", "icollis", "ipes", "ata", "escens", "ina", "oides", "icauda", "iceps")


def _latin_names(n_genera: int, genus_of_tip: list[int], rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Unique binomials: one generated genus name per genus, unique epithets within a genus."""
    genera: list[str] = []
    while len(genera) < n_genera:
        mid, end = _G_MID[rng.integers(len(_G_MID))], _G_END[rng.integers(len(_G_END))]
        if mid[-1] in "aeiouy" and end[0] in "aeiouy":
            mid = mid[:-1]
        g = _G_ONSET[rng.integers(len(_G_ONSET))] + _G_VOWEL[rng.integers(len(_G_VOWEL))] + mid + end
        if g not in genera:
            genera.append(g)
    used: set[str] = set()
    names, genus_names = [], []
    for g in genus_of_tip:
        while True:
            ep = _E_STEM[rng.integers(len(_E_STEM))] + _E_END[rng.integers(len(_E_END))]
            if (genera[g], ep) not in used:
                break
            if len(used) > 10 * len(_E_STEM) * len(_E_END):  # pragma: no cover - cannot happen in practice
                ep = f"{ep}{len(used)}"
                break
        used.add((genera[g], ep))
        names.append(f"{genera[g]} {ep}")
        genus_names.append(genera[g])
    return names, genus_names


# --------------------------------------------------------------- covariates
def _grid_shape(n_sites: int, grid_shape: tuple[int, int] | None) -> tuple[int, int]:
    if grid_shape is None:
        n_rows = max(1, round(math.sqrt(n_sites / 1.5)))
        return n_rows, math.ceil(n_sites / n_rows)
    try:
        n_rows, n_cols = (int(v) for v in grid_shape)
    except (TypeError, ValueError):
        raise InputDataError(f"grid_shape must be two integers (n_rows, n_cols), got {grid_shape!r}") from None
    if n_rows < 1 or n_cols < 1 or n_rows * n_cols < n_sites:
        raise InputDataError(
            f"grid_shape {grid_shape!r} has {n_rows * n_cols} cells, fewer than n_sites={n_sites} (or a side < 1)"
        )
    return n_rows, n_cols


def _bumps(u: np.ndarray, v: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros_like(u)
    for _ in range(n):
        cu, cv = rng.uniform(-0.1, 1.1, size=2)
        s = rng.uniform(0.08, 0.3)
        a = rng.uniform(0.4, 1.2) * rng.choice([-1.0, 1.0])
        out += a * np.exp(-((u - cu) ** 2 + (v - cv) ** 2) / (2 * s * s))
    return out


def _z(a: np.ndarray) -> np.ndarray:
    sd = a.std()
    return (a - a.mean()) / (sd if sd > 0 else 1.0)


def _covariate_fields(u: np.ndarray, v: np.ndarray, n_covariates: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Standardised smooth fields on grid coordinates ``u, v`` in (0, 1); shape (n_cells, n_covariates)."""
    elev = _z(0.8 * (1 - u) + np.abs(_bumps(u, v, 4, rng)))
    temp = _z(-1.0 * v - 0.6 * elev + 0.5 * _z(_bumps(u, v, 4, rng)))
    precip = _z(0.4 * elev + 0.4 * u + _z(_bumps(u, v, 5, rng)))
    forest = _z(0.4 * precip + 0.3 * elev + _z(_bumps(u, v, 6, rng)))
    urban = _z(-0.4 * elev - 0.3 * forest + _z(np.abs(_bumps(u, v, 3, rng))))
    wetland = _z(-0.4 * elev + 0.3 * precip + _z(_bumps(u, v, 5, rng)))
    grass = _z(-0.5 * forest + _z(_bumps(u, v, 5, rng)))
    water = _z(-0.3 * elev + _z(_bumps(u, v, 6, rng)))
    named = {"temp": temp, "precip": precip, "forest": forest, "elev": elev, "urban": urban,
             "wetland": wetland, "grass": grass, "water": water}
    names, cols = [], []
    for k in range(n_covariates):
        if k < len(COVARIATE_NAMES):
            name = COVARIATE_NAMES[k]
            col = named[name]
        else:
            name = f"env_{k + 1}"
            d = rng.normal(size=2)
            col = _z(d[0] * u + d[1] * v + _bumps(u, v, 5, rng))
        names.append(name)
        cols.append(np.round(col, 6))
    return names, np.stack(cols, axis=1) if cols else np.zeros((u.size, 0))


# -------------------------------------------------------------- interactions
def _apply_interactions(Y: np.ndarray, X: np.ndarray, interactions: list[dict[str, Any]], prob: bool) -> np.ndarray:
    """Apply the interactions to latent occurrences (``prob=False``, 0/1) or to
    independent latent probabilities (``prob=True``, exact marginal probabilities).

    ``Y`` has shape (..., n_sites, n_species); ``X`` (n_sites, n_features).
    """
    out = Y.astype(np.float64 if prob else bool, copy=True)
    for it in interactions:
        a, b, c = it["_idx"]
        if it["kind"] == "conjunction":  # target c needs both a and b
            out[..., c] = Y[..., c] * Y[..., a] * Y[..., b] if prob else Y[..., c] & Y[..., a] & Y[..., b]
        elif it["kind"] == "exclusion":  # target c excluded by the pair a, b
            out[..., c] = Y[..., c] * (1 - Y[..., a] * Y[..., b]) if prob else Y[..., c] & ~(Y[..., a] & Y[..., b])
        else:  # flock: where the gradient is high, two members bring the third
            cond = X[:, it["_cov"]] > it["threshold"]
            for m, o1, o2 in ((a, b, c), (b, a, c), (c, a, b)):
                if prob:
                    out[..., m] = Y[..., m] + (1 - Y[..., m]) * cond * Y[..., o1] * Y[..., o2]
                else:
                    out[..., m] = Y[..., m] | (cond & Y[..., o1] & Y[..., o2])
    return out


def _pick_interactions(
    n_interactions: int, C: np.ndarray, q: np.ndarray, genus_idx: np.ndarray, covariates: list[str],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    free = list(rng.permutation(len(q)))
    out = []
    for k in range(n_interactions):
        kind = INTERACTION_KINDS[k % len(INTERACTION_KINDS)]
        if kind == "flock":
            chosen = [free.pop(0)]
        else:  # the pair (hosts / competitors) is common, so the interaction shows in the data
            chosen = [free.pop(int(np.argmax([q[f] for f in free])))]
            others = [pos for pos, f in enumerate(free) if genus_idx[f] != genus_idx[chosen[0]]] or list(range(len(free)))
            chosen.append(free.pop(max(others, key=lambda pos: q[free[pos]])))
        while len(chosen) < 3:  # greedily the species least related to those chosen, other genera first
            score = [
                (any(genus_idx[f] == genus_idx[c] for c in chosen), max(C[f, c] for c in chosen), pos)
                for pos, f in enumerate(free)
            ]
            chosen.append(free.pop(min(score)[2]))
        if kind == "flock":
            chosen.sort(key=lambda j: -q[j])
        it: dict[str, Any] = {"kind": kind, "_idx": tuple(int(j) for j in chosen)}
        if kind == "flock":
            cov = covariates.index("forest") if "forest" in covariates else 0
            it.update(_cov=cov, covariate=covariates[cov], threshold=0.0)
        out.append(it)
    return out


def _describe(it: dict[str, Any], species: list[str]) -> dict[str, Any]:
    a, b, c = (species[j] for j in it["_idx"])
    pub = {k: v for k, v in it.items() if not k.startswith("_")}
    if it["kind"] == "conjunction":
        pub.update(target=c, given=[a, b], members=[a, b, c],
                   description=f"{c} is present only where both {a} and {b} are present")
    elif it["kind"] == "exclusion":
        pub.update(target=c, given=[a, b], members=[a, b, c],
                   description=f"{c} is absent wherever {a} and {b} are both present")
    else:
        pub.update(target=None, given=[a, b, c], members=[a, b, c],
                   description=(f"where {it['covariate']} > {it['threshold']:g}, any of {a}, {b}, {c} is present "
                                "where the other two are (a mixed-species flock)"))
    return pub


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _calibrate_intercepts(eta: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``alpha`` of shape (n_species,) with ``mean_i sigmoid(alpha + eta[i])`` = ``q`` (bisection)."""
    lo = np.full(q.shape, -30.0)
    hi = np.full(q.shape, 30.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        too_high = _sigmoid(mid + eta).mean(axis=0) > q
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return (lo + hi) / 2


# --------------------------------------------------------------------- main
def simulate_community(
    n_sites: int = 600,
    n_species: int = 24,
    n_covariates: int = 4,
    grid_shape: tuple[int, int] | None = None,
    n_interactions: int | None = None,
    phylo_signal: float = 0.8,
    beta_sd: float = 1.0,
    residual_sd: float = 1.0,
    n_mc: int = 256,
    seed: int = 0,
) -> SimulatedCommunity:
    """Simulate a community with a known tree, residual correlation and interactions.

    See the module docstring for the model.

    Parameters
    ----------
    n_sites : int, default=600
        Number of surveyed sites (grid cells).
    n_species : int, default=24
        Number of species (tips of the tree), at least 2.
    n_covariates : int, default=4
        Number of covariates, at least 1: ``temp, precip, forest, elev``, then
        ``urban, wetland, grass, water``, then ``env_9, ...``.
    grid_shape : tuple (n_rows, n_cols), optional
        Grid the sites are drawn from; must have at least ``n_sites`` cells.
        Default: about 2:3, just large enough (20 × 30 for 600 sites).
    n_interactions : int, optional
        Higher-order interactions (three species each, disjoint); needs
        ``3 * n_interactions <= n_species``. Default: 3, or ``n_species // 3``
        when there are fewer than 9 species.
    phylo_signal : float in [0, 1], default=0.8
        Pagel's λ: weight of the tree in the covariance of the coefficients
        ``beta`` and of the residuals (the rest is independent / a random
        non-phylogenetic correlation, respectively).
    beta_sd : float, default=1.0
        Standard deviation of the coefficients around their per-covariate mean.
    residual_sd : float, default=1.0
        Standard deviation of the latent residuals.
    n_mc : int, default=256
        Monte Carlo draws of the residuals for :attr:`SimulationTruth.prob`.
    seed : int, default=0
        Everything is determined by it.

    Returns
    -------
    SimulatedCommunity

    Raises
    ------
    InputDataError
        On an impossible setting (too few species for the interactions, a grid
        too small, λ outside [0, 1], ...).

    Examples
    --------
    >>> sim = simulate_community(n_sites=100, n_species=9, seed=1)
    >>> sim.data.Y.shape, sim.truth.beta.shape
    ((100, 9), (4, 9))
    """
    if n_interactions is None:
        n_interactions = min(3, int(n_species) // 3)
    n_sites, n_species, n_covariates, n_interactions, n_mc = (
        int(n_sites), int(n_species), int(n_covariates), int(n_interactions), int(n_mc))
    if n_sites < 1:
        raise InputDataError(f"n_sites must be at least 1, got {n_sites}")
    if n_species < 2:
        raise InputDataError(f"n_species must be at least 2 (a tree needs two tips), got {n_species}")
    if n_covariates < 1:
        raise InputDataError(f"n_covariates must be at least 1, got {n_covariates}")
    if n_interactions < 0 or 3 * n_interactions > n_species:
        raise InputDataError(
            f"n_interactions={n_interactions} needs {3 * n_interactions} distinct species but n_species={n_species}; "
            "use at most n_species // 3 interactions"
        )
    if not 0.0 <= float(phylo_signal) <= 1.0:
        raise InputDataError(f"phylo_signal must be in [0, 1], got {phylo_signal}")
    if beta_sd < 0 or residual_sd < 0:
        raise InputDataError(f"beta_sd and residual_sd must be >= 0, got {beta_sd} and {residual_sd}")
    if n_mc < 1:
        raise InputDataError(f"n_mc must be at least 1, got {n_mc}")
    lam = float(phylo_signal)
    n_rows, n_cols = _grid_shape(n_sites, grid_shape)
    params = dict(n_sites=n_sites, n_species=n_species, n_covariates=n_covariates,
                  grid_shape=[n_rows, n_cols], n_interactions=n_interactions, phylo_signal=lam,
                  beta_sd=float(beta_sd), residual_sd=float(residual_sd), n_mc=n_mc, seed=int(seed))
    r_tree, r_env, r_sites, r_par, r_res, r_occ, r_mc = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(7))

    # grid and covariates (rows south -> north, columns west -> east)
    res = min(0.25, 10.0 / max(n_rows, n_cols))
    rr, cc = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    lon = np.round(_LON0 + (cc + 0.5) * res, 6)
    lat = np.round(_LAT0 + (rr + 0.5) * res, 6)
    covariates, G = _covariate_fields((cc + 0.5) / n_cols, (rr + 0.5) / n_rows, n_covariates, r_env)
    cells = np.arange(n_rows * n_cols)
    if cells.size > n_sites:
        cells = np.sort(r_sites.choice(cells.size, size=n_sites, replace=False))
    X = G[cells]

    # tree and names
    n_genera = max(1, n_species // 4)
    tree = _yule_tree(n_species, n_genera, r_tree)
    genus_nodes = sorted(set(tree.genus_root.values()), key=[tree.genus_root[t] for t in tree.tips].index)
    genus_idx = np.array([genus_nodes.index(tree.genus_root[t]) for t in tree.tips])
    species, genus = _latin_names(len(genus_nodes), list(genus_idx), r_tree)
    newick = _newick(tree, {t: s.replace(" ", "_") for t, s in zip(tree.tips, species)})
    C = _phylo_cov(tree)

    # coefficients, residual covariance, target prevalence
    I = np.eye(n_species)
    jitter = 1e-9 * I
    mu = r_par.normal(0.0, 0.3, size=(n_covariates, 1))
    beta = mu + float(beta_sd) * r_par.normal(size=(n_covariates, n_species)) @ np.linalg.cholesky(lam * C + (1 - lam) * I + jitter).T
    loadings = r_par.normal(size=(n_species, 2))
    R = loadings @ loadings.T + I
    d = np.sqrt(np.diag(R))
    R = R / np.outer(d, d)
    Sigma = float(residual_sd) ** 2 * (lam * C + (1 - lam) * R)
    Sigma = (Sigma + Sigma.T) / 2
    sd = np.sqrt(np.diag(Sigma))
    corr = Sigma / np.outer(sd, sd) if np.all(sd > 0) else I.copy()
    L_sigma = np.linalg.cholesky(Sigma + jitter)
    floor = min(0.5, max(0.03, 5.0 / n_sites))
    logit_q = -1.2 + 0.7 * (np.linalg.cholesky(C + jitter) @ r_par.normal(size=n_species)) + 0.6 * r_par.normal(size=n_species)
    q = _sigmoid(np.clip(logit_q, np.log(floor / (1 - floor)), np.log(0.75 / 0.25)))
    interactions = _pick_interactions(n_interactions, C, q, genus_idx, covariates, r_par)
    for it in interactions:
        if it["kind"] == "conjunction":
            q[it["_idx"][2]] = max(q[it["_idx"][2]], 0.6)

    # latent occurrences and interactions
    eps = r_res.normal(size=(n_sites, n_species)) @ L_sigma.T
    lin = X @ beta
    alpha = _calibrate_intercepts(lin + eps, q)
    p_latent = _sigmoid(alpha + lin + eps)
    Y_latent = r_occ.random(p_latent.shape) < p_latent
    Y = _apply_interactions(Y_latent, X, interactions, prob=False).astype(np.uint8)
    p_given = _apply_interactions(p_latent, X, interactions, prob=True)
    prob = np.zeros_like(p_given)
    for _ in range(n_mc):
        e = r_mc.normal(size=(n_sites, n_species)) @ L_sigma.T
        prob += _apply_interactions(_sigmoid(alpha + lin + e), X, interactions, prob=True)
    prob /= n_mc

    data = CommunityData.from_arrays(
        X, Y, site_ids=[f"site_{k:0{len(str(n_sites - 1))}d}" for k in range(n_sites)], species=species,
        covariates=covariates, coords=np.column_stack([lon[cells], lat[cells]]), crs="EPSG:4326",
        source=f"simulate_community(seed={int(seed)})",
    )
    grid = CommunityData.from_arrays(
        G, None, site_ids=[f"cell_{r}_{c}" for r, c in zip(rr, cc)], covariates=covariates,
        coords=np.column_stack([lon, lat]), crs="EPSG:4326", source=f"simulate_community(seed={int(seed)}) grid",
    )
    truth = SimulationTruth(
        alpha=alpha, beta=beta, phylo_cov=C, residual_cov=Sigma, residual_corr=corr, residuals=eps,
        occurrences_latent=Y_latent.astype(np.uint8), prob=prob, prob_given_residual=p_given,
        interactions=[_describe(it, species) for it in interactions], genus=tuple(genus),
        target_prevalence=q, grid_shape=(n_rows, n_cols), params=params,
    )
    prev = Y.mean(axis=0)
    logger.info("simulated %d sites x %d species (prevalence %.3f-%.3f, %d absent everywhere)",
                n_sites, n_species, prev.min(), prev.max(), int((prev == 0).sum()))
    return SimulatedCommunity(data=data, grid=grid, newick=newick, truth=truth)


def load_example(**kwargs: Any) -> SimulatedCommunity:
    """The embedded example for notebooks: :func:`simulate_community` with its defaults.

    Nothing is cached; the result is determined by the arguments (``seed``).
    """
    return simulate_community(**kwargs)


def write_example(outdir: str | os.PathLike, **kwargs: Any) -> dict[str, Path]:
    """Simulate (see :func:`simulate_community`) and write the example files.

    Files (each written atomically: a temporary file, then ``os.replace``;
    existing files of these names are replaced):

    * ``community.csv`` — site_id, lon, lat, covariates, one 0/1 column per species;
    * ``grid.csv`` — every grid cell: site_id (``cell_<row>_<col>``), lon, lat, covariates;
    * ``tree.nwk`` — the ultrametric tree (tip labels ``Genus_epithet``);
    * ``truth.json`` — :meth:`SimulationTruth.to_dict`.

    Parameters
    ----------
    outdir : path
        Created if missing.
    **kwargs
        Passed to :func:`simulate_community`.

    Returns
    -------
    dict of str to Path
        Keys ``"community"``, ``"grid"``, ``"tree"``, ``"truth"``.
    """
    from jsdm_hot.data.tables import write_wide_csv

    sim = simulate_community(**kwargs)
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise InputDataError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"community": out / "community.csv", "grid": out / "grid.csv",
             "tree": out / "tree.nwk", "truth": out / "truth.json"}
    write_wide_csv(sim.data, paths["community"])
    write_wide_csv(sim.grid, paths["grid"])
    atomic_write_text(paths["tree"], sim.newick + "\n")
    atomic_write_text(paths["truth"], json.dumps(sim.truth.to_dict(sim.data.species, sim.data.covariates), indent=1) + "\n")
    logger.info("wrote the simulated example to %s", out)
    return paths
