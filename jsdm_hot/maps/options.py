"""What a map computes: :class:`MapOptions`, the small settings object of :func:`jsdm_hot.maps.predict_map`."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Sequence

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps.layers import LAYER_INFO, resolve_layers

__all__ = ["DEFAULT_LAYERS", "MapOptions", "ResolvedLayers"]

DEFAULT_LAYERS = ("richness", "uncertainty", "community", "species", "extrapolation")


@dataclass(frozen=True)
class ResolvedLayers:
    """Layer names and bands of one map, checked against the model's species.

    Attributes
    ----------
    names : tuple of str
        Layer names in :data:`~jsdm_hot.maps.layers.LAYER_INFO` order.
    species : tuple of str or None
        Species whose ``probability`` is mapped (None when it is not).
    species_index : tuple of int or None
        Their columns in the model's ``species_``.
    richness_k : tuple of int
        Sorted thresholds of ``richness_ge``.
    """

    names: tuple[str, ...]
    species: tuple[str, ...] | None
    species_index: tuple[int, ...] | None
    richness_k: tuple[int, ...]


@dataclass(frozen=True)
class MapOptions:
    """Settings of a map: which layers, how many draws, how to chunk the work.

    Every field has a default; ``predict_map(model, grid, n_draws=50)`` is
    ``predict_map(model, grid, MapOptions(n_draws=50))``.

    Attributes
    ----------
    layers : str or tuple of str, default=DEFAULT_LAYERS
        Layers or groups (see :func:`jsdm_hot.maps.layers.resolve_layers`):
        ``richness``, ``uncertainty``, ``interval``, ``exceedance``,
        ``community``, ``species``, ``species:NAME``, ``extrapolation``, or
        layer names; a comma-separated string is accepted.
    n_draws : int, default=100
        Joint posterior draws per cell.
    seed : int, default=0
    richness_k : tuple of int, default=()
        Thresholds of ``P(richness >= k)``; giving any adds the ``richness_ge`` layer.
    reference : tuple of str, optional
        Reference community of ``beta_sor_reference`` (default: the regional
        typical community, see :func:`jsdm_hot.maps.layers.fit_community_basis`).
    n_axes : int, default=2
        Principal axes of composition (``composition_pc``).
    n_basis_cells : int, default=5000
        Valid cells, drawn at random with ``seed``, on which the PCA and the
        default reference community are fitted before mapping.
    chunk_size : int, default=16384
        Cells per chunk (rounded up to a multiple of ``seed_block``); bounds memory.
    seed_block : int, default=64
        Cells per ``model.sample`` call; with the seed, fixes the draws
        independently of ``chunk_size``.
    """

    layers: str | tuple[str, ...] = DEFAULT_LAYERS
    n_draws: int = 100
    seed: int = 0
    richness_k: tuple[int, ...] = ()
    reference: tuple[str, ...] | None = None
    n_axes: int = 2
    n_basis_cells: int = 5_000
    chunk_size: int = 16_384
    seed_block: int = 64

    def __post_init__(self) -> None:
        # normalise sequences given as lists so that the object stays hashable and comparable
        object.__setattr__(self, "richness_k", tuple(sorted({int(k) for k in self.richness_k})))
        if self.reference is not None:
            object.__setattr__(self, "reference", tuple(str(s) for s in self.reference))
        if not isinstance(self.layers, str):
            object.__setattr__(self, "layers", tuple(self.layers))
        for name in ("n_draws", "chunk_size", "seed_block", "n_axes", "n_basis_cells"):
            if int(getattr(self, name)) < 1:
                raise InputDataError(f"{name} must be >= 1, got {getattr(self, name)}")
        if any(k < 0 for k in self.richness_k):
            raise InputDataError(f"richness thresholds k must be >= 0, got {list(self.richness_k)}")

    @classmethod
    def build(cls, options: "MapOptions | None" = None, **overrides: Any) -> "MapOptions":
        """``options`` (default all defaults) with some fields replaced.

        Raises
        ------
        TypeError
            For a keyword that is not a field, listing the fields.
        """
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            hint = ""
            if set(unknown) & {"x", "y", "crs", "resolution", "mask"}:
                hint += "; grid settings (x, y, crs, resolution, mask) go to jsdm_hot.maps.open_grid"
            if "standard_effort" in unknown:
                hint += "; give effort values as a dict: effort={'duration_minutes': 60, ...}"
            raise TypeError(f"unknown map option(s) {unknown}; MapOptions has {known}{hint}")
        return replace(options or cls(), **overrides)

    @property
    def chunk(self) -> int:
        """Cells per chunk: ``chunk_size`` rounded up to a multiple of ``seed_block``."""
        return -(-int(self.chunk_size) // int(self.seed_block)) * int(self.seed_block)

    def resolve(self, species: Sequence[str]) -> ResolvedLayers:
        """Expand and check the layers against the model's species.

        Raises
        ------
        InputDataError
            Unknown layer or species; ``exceedance`` without ``richness_k``.
        """
        names, selected = resolve_layers(self.layers, species)
        ks = self.richness_k
        if ks and "richness_ge" not in names:
            names = [n for n in LAYER_INFO if n in set(names) | {"richness_ge"}]
        if "richness_ge" in names and not ks:
            raise InputDataError("the exceedance layer P(richness >= k) needs thresholds: pass richness_k "
                                 "(CLI: --k 5,10)")
        species = list(species)
        index = None if selected is None else tuple(species.index(s) for s in selected)
        return ResolvedLayers(names=tuple(names), species=None if selected is None else tuple(selected),
                              species_index=index, richness_k=ks)
