"""LabelGraph: which species may attend to which in the decoder's label→label attention.

The decoder's masked attention (HOT-VAE Eq 12-13) lets species node ``i`` receive
messages only from species ``j`` with ``mask[i, j]`` True. Self-loops are always
kept, so every row has at least one allowed entry and the softmax is defined.

Kinds built here:

* ``complete`` — every pair connected (the paper's default).
* ``prior`` — the paper's co-occurrence prior: the edge i–j is removed when i and
  j are never present together at any training site.

Phylogenetic graphs and combinations live in :mod:`jsdm_hot.phylo` and use
:meth:`LabelGraph.union` / :meth:`LabelGraph.intersection`; every kind is
dispatched by :func:`jsdm_hot.phylo.build_label_graph` (:meth:`LabelGraph.build`
is a shortcut to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError

__all__ = ["LabelGraph"]


@dataclass(frozen=True, eq=False)
class LabelGraph:
    """A boolean species × species attention mask, optionally with an additive bias.

    Attributes
    ----------
    mask : ndarray of shape (n_species, n_species), bool
        ``mask[i, j]`` True lets species i attend to species j. Symmetric for the
        kinds built here; the diagonal is always True.
    species : tuple of str, length n_species
    kind : str
        How it was built (``"complete"``, ``"prior"``, ``"phylo"``, ``"phylo+prior"``, ...).
    bias : ndarray of shape (n_species, n_species), float32, or None
        Optional soft prior added to the attention logits before the softmax
        (beyond the paper; see :mod:`jsdm_hot.phylo`). ``None`` means no bias.
    info : dict
        JSON-serialisable description of how it was built (parameters, counts).
    """

    mask: np.ndarray
    species: tuple[str, ...]
    kind: str
    bias: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = np.asarray(self.mask, dtype=bool)
        L = len(self.species)
        if m.shape != (L, L):
            raise InputDataError(f"label graph mask has shape {m.shape}, expected ({L}, {L}) for {L} species")
        m = m.copy()
        np.fill_diagonal(m, True)
        object.__setattr__(self, "mask", m)
        object.__setattr__(self, "species", tuple(self.species))
        if self.bias is not None:
            b = np.asarray(self.bias, dtype=np.float32)
            if b.shape != (L, L) or not np.isfinite(b).all():
                raise InputDataError(f"label graph bias must be a finite ({L}, {L}) array, got shape {b.shape}")
            object.__setattr__(self, "bias", b)

    # ------------------------------------------------------------- builders
    @classmethod
    def complete(cls, species: Sequence[str]) -> "LabelGraph":
        """Every species attends to every species."""
        L = len(species)
        return cls(np.ones((L, L), dtype=bool), tuple(species), "complete", info={"n_edges": L * (L - 1) // 2})

    @classmethod
    def prior(cls, Y: np.ndarray, species: Sequence[str]) -> "LabelGraph":
        """Co-occurrence prior graph (HOT-VAE §"prior graph").

        Parameters
        ----------
        Y : ndarray of shape (n_sites, n_species)
            Training occurrences (0/1).
        species : sequence of str of length n_species

        Returns
        -------
        LabelGraph
            ``mask[i, j]`` True iff i == j or species i and j are both present
            at one or more sites of ``Y``.
        """
        Yb = np.asarray(Y, dtype=np.float32)
        if Yb.ndim != 2 or Yb.shape[1] != len(species):
            raise InputDataError(f"Y has shape {Yb.shape}, expected (n_sites, {len(species)})")
        return cls.prior_from_counts(Yb.T @ Yb, species)

    @classmethod
    def prior_from_counts(cls, cooccurrence: np.ndarray, species: Sequence[str]) -> "LabelGraph":
        """Co-occurrence prior graph from pair counts (e.g. accumulated over a data stream).

        Parameters
        ----------
        cooccurrence : ndarray of shape (n_species, n_species)
            ``Yᵀ Y``: sites where both species are present.
        species : sequence of str of length n_species
        """
        co = np.asarray(cooccurrence) > 0
        L = len(species)
        if co.shape != (L, L):
            raise InputDataError(f"co-occurrence counts have shape {co.shape}, expected ({L}, {L})")
        n_edges = int((co.sum() - np.diag(co).sum()) // 2)
        return cls(co, tuple(species), "prior", info={"n_edges": n_edges, "n_possible": L * (L - 1) // 2})

    # ---------------------------------------------------------- combinators
    def _check_same(self, other: "LabelGraph") -> None:
        if self.species != other.species:
            raise InputDataError("cannot combine label graphs over different species lists")

    def union(self, other: "LabelGraph") -> "LabelGraph":
        """Edges present in either graph; biases (if any) are added."""
        self._check_same(other)
        return LabelGraph(self.mask | other.mask, self.species, f"{self.kind}|{other.kind}", _add_bias(self.bias, other.bias),
                          {"union": [self.info, other.info]})

    def intersection(self, other: "LabelGraph") -> "LabelGraph":
        """Edges present in both graphs; biases (if any) are added."""
        self._check_same(other)
        return LabelGraph(self.mask & other.mask, self.species, f"{self.kind}&{other.kind}", _add_bias(self.bias, other.bias),
                          {"intersection": [self.info, other.info]})

    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def density(self) -> float:
        """Share of off-diagonal pairs connected."""
        L = self.n_species
        return float((self.mask.sum() - L) / max(L * (L - 1), 1))

    # ---------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the mask as a list of index pairs to keep it small)."""
        i, j = np.nonzero(np.triu(self.mask, 1) | np.triu(self.mask.T, 1))
        sym = bool((self.mask == self.mask.T).all())
        edges = np.argwhere(self.mask & ~np.eye(self.n_species, dtype=bool)).tolist() if not sym else np.stack([i, j], 1).tolist()
        return {"kind": self.kind, "species": list(self.species), "symmetric": sym, "edges": edges,
                "has_bias": self.bias is not None, "info": self.info}

    @classmethod
    def from_dict(cls, d: dict[str, Any], bias: np.ndarray | None = None) -> "LabelGraph":
        L = len(d["species"])
        m = np.zeros((L, L), dtype=bool)
        e = np.asarray(d["edges"], dtype=int).reshape(-1, 2)
        m[e[:, 0], e[:, 1]] = True
        if d.get("symmetric", True):
            m |= m.T
        return cls(m, tuple(d["species"]), d["kind"], bias, d.get("info", {}))


def _add_bias(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b
