"""Matching the species of a data set to the tips of a tree: :func:`reconcile`.

A species matches a tip through :func:`~jsdm_hot.phylo.names.normalize_name`
and an optional synonym table. The :class:`ReconciliationReport` lists matched
species, those matched through a synonym, unmatched species and unused tips.
Unmatched species are never dropped silently: ``unmatched="error"`` (default)
raises with the list and spelling suggestions, ``"drop"`` keeps only the
matched species, ``"connect"`` keeps them all and leaves the unmatched ones
fully connected in phylogenetic graphs.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from jsdm_hot.errors import InputDataError, TreeError
from jsdm_hot.phylo.names import _key, _synonym_lookup, normalize_name, read_synonyms
from jsdm_hot.phylo.newick import Phylogeny, read_tree

__all__ = ["UNMATCHED_POLICIES", "ReconciliationReport", "reconcile"]

logger = logging.getLogger(__name__)

#: What to do with data species that match no tip.
UNMATCHED_POLICIES = ("error", "drop", "connect")


@dataclass(frozen=True, eq=False)
class ReconciliationReport:
    """How the species of a data set were matched to the tips of a tree.

    Attributes
    ----------
    species : tuple of str
        The data's species, in data order.
    tips : dict of str to str
        Matched species → raw tip label (both exact and synonym matches).
    via_synonym : dict of str to str
        Species matched only through the synonym table → the synonym used.
    unmatched : tuple of str
        Species that match no tip (in data order).
    unused_tips : tuple of str
        Tips no species matched (tree order).
    shared_tips : dict of str to tuple of str
        Tips matched by more than one species (e.g. a lumped taxon); those
        species get distance 0 to each other.
    suggestions : dict of str to tuple of str
        For each unmatched species, up to 3 similar tip names (hints only;
        never used for matching).
    policy : str
        ``"error"``, ``"drop"`` or ``"connect"``.
    source : str
        The tree file.
    n_tips : int
        Tips in the tree.
    """

    species: tuple[str, ...]
    tips: dict[str, str]
    via_synonym: dict[str, str]
    unmatched: tuple[str, ...]
    unused_tips: tuple[str, ...]
    shared_tips: dict[str, tuple[str, ...]]
    suggestions: dict[str, tuple[str, ...]]
    policy: str
    source: str
    n_tips: int

    @property
    def matched(self) -> tuple[str, ...]:
        """Matched species, in data order."""
        return tuple(s for s in self.species if s in self.tips)

    @property
    def kept_species(self) -> tuple[str, ...]:
        """Species the label graph covers: the matched ones under ``"drop"``, all otherwise."""
        return self.matched if self.policy == "drop" else self.species

    @property
    def ok(self) -> bool:
        return not self.unmatched

    def to_frame(self):
        """One row per data species: ``species, status, tip, synonym, suggestions``.

        ``status`` is ``exact`` (after normalisation), ``synonym`` or ``unmatched``.
        """
        import pandas as pd

        rows = []
        for s in self.species:
            if s in self.tips:
                status = "synonym" if s in self.via_synonym else "exact"
            else:
                status = "unmatched"
            rows.append({
                "species": s,
                "status": status,
                "tip": self.tips.get(s, ""),
                "synonym": self.via_synonym.get(s, ""),
                "suggestions": "; ".join(self.suggestions.get(s, ())),
            })
        return pd.DataFrame(rows, columns=["species", "status", "tip", "synonym", "suggestions"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (unused tips as a count and the first 20)."""
        return {
            "source": self.source,
            "policy": self.policy,
            "n_species": len(self.species),
            "n_tips": self.n_tips,
            "n_matched": len(self.tips),
            "via_synonym": dict(self.via_synonym),
            "unmatched": list(self.unmatched),
            "n_unused_tips": len(self.unused_tips),
            "unused_tips_head": list(self.unused_tips[:20]),
            "shared_tips": {k: list(v) for k, v in self.shared_tips.items()},
        }

    def summary(self, max_list: int = 50) -> str:
        """Human-readable report (what ``jsdm-hot tree-check`` prints)."""
        n_exact = len(self.tips) - len(self.via_synonym)
        lines = [
            f"tree {self.source}: {self.n_tips} tips; data: {len(self.species)} species",
            f"  matched: {len(self.tips)} ({n_exact} exact after normalisation, {len(self.via_synonym)} through a synonym)",
        ]
        for s, syn in list(self.via_synonym.items())[:max_list]:
            lines.append(f"    {s} -> {syn} (tip {self.tips[s]})")
        lines.append(f"  unmatched species: {len(self.unmatched)}")
        for s in self.unmatched[:max_list]:
            hint = self.suggestions.get(s)
            lines.append(f"    {s}" + (f"   (similar tips: {', '.join(hint)})" if hint else ""))
        if len(self.unmatched) > max_list:
            lines.append(f"    ... and {len(self.unmatched) - max_list} more")
        for tip, sp in self.shared_tips.items():
            lines.append(f"  tip {tip} is matched by {len(sp)} species: {', '.join(sp)} (distance 0 between them)")
        lines.append(f"  unused tips: {len(self.unused_tips)}" + (
            f" (e.g. {', '.join(self.unused_tips[:5])})" if self.unused_tips else ""))
        if self.unmatched:
            action = {
                "error": "error: fix the names (synonym table) or choose --tree-unmatched drop|connect",
                "drop": f"policy drop: the {len(self.unmatched)} unmatched species are removed from the data",
                "connect": f"policy connect: the {len(self.unmatched)} unmatched species are connected to every species",
            }[self.policy]
            lines.append(f"  {action}")
        return "\n".join(lines)


def _suggest(name: str, tip_norm: Sequence[str], by_epithet: Mapping[str, list[str]]) -> tuple[str, ...]:
    n = normalize_name(name)
    parts = n.split(" ")
    # spelling variants nearly always keep the first letter of the genus or of the epithet
    first = {p[:1].lower() for p in parts[:2]}
    pool = [t for t in tip_norm if t[:1].lower() in first or t.split(" ")[-1][:1] in first]
    close = difflib.get_close_matches(n, pool, n=3, cutoff=0.85)
    if len(parts) >= 2:
        same = by_epithet.get(parts[1].lower(), [])
        if 0 < len(same) <= 3:
            close += [s for s in same if s not in close]
    return tuple(close[:3])


def reconcile(
    species: Sequence[str],
    tree: str | Path | Phylogeny,
    *,
    synonyms: Mapping[str, str] | str | Path | None = None,
    unmatched: str = "error",
) -> ReconciliationReport:
    """Match data species to tree tips.

    A species matches a tip when their :func:`normalize_name` forms are equal
    ignoring case; failing that, when the synonym table maps the species name
    (or a chain of up to 5 names starting from it) to a tip's name.

    Parameters
    ----------
    species : sequence of str of length n_species
        Species names as in the data (unique).
    tree : str or Path or Phylogeny
        Newick file/string or a parsed tree.
    synonyms : mapping or str or Path, optional
        Old → new names (a dict, e.g. from :func:`synonyms_from_ebird_taxonomy`,
        or a CSV path for :func:`read_synonyms`). Keys are compared after
        normalisation, ignoring case.
    unmatched : {"error", "drop", "connect"}, default="error"
        ``"error"`` raises :class:`TreeError` listing the unmatched species;
        ``"drop"`` and ``"connect"`` return the report (see
        :attr:`ReconciliationReport.kept_species`).

    Returns
    -------
    ReconciliationReport

    Raises
    ------
    TreeError
        No species matches any tip (whatever the policy); unmatched species
        under ``"error"``; a species matching two tips through synonyms.
    InputDataError
        Unknown policy or duplicate species names.
    """
    if unmatched not in UNMATCHED_POLICIES:
        raise InputDataError(f"unmatched={unmatched!r} is not one of {UNMATCHED_POLICIES}")
    phy = read_tree(tree)
    species = tuple(str(s) for s in species)
    if len(set(species)) != len(species):
        dup = sorted({s for s in species if species.count(s) > 1})
        raise InputDataError(f"duplicate species names in the data: {dup}")
    if synonyms is not None and not isinstance(synonyms, Mapping):
        synonyms = read_synonyms(synonyms)
    syn = {" ".join(str(k).lower().split()): normalize_name(v) for k, v in (synonyms or {}).items()}
    tip_names = phy.tip_names
    by_key = {_key(t): t for t in tip_names}
    reverse: dict[str, list[str]] = {}  # new name -> old names, for trees that use the old names
    for old, new in syn.items():
        reverse.setdefault(new.lower(), []).append(old)
    tips: dict[str, str] = {}
    via: dict[str, str] = {}
    missing: list[str] = []
    for s in species:
        t = by_key.get(_key(s))
        if t is not None:
            tips[s] = t
            continue
        hits: list[tuple[str, str]] = []
        for c in _synonym_lookup(s, syn) + reverse.get(_key(s), []):
            tc = by_key.get(_key(c))
            if tc is not None and tc not in [h[1] for h in hits]:
                hits.append((normalize_name(tc), tc))
        if len(hits) > 1:
            raise TreeError(f"species {s!r} matches several tips of {phy.source} through synonyms: {[h[1] for h in hits]}")
        if hits:
            tips[s] = hits[0][1]
            via[s] = hits[0][0]
        else:
            missing.append(s)
    if not tips:
        raise TreeError(
            f"no overlap between the tree {phy.source} and the data: none of the {len(species)} species "
            f"(e.g. {', '.join(species[:3])}) matches any of its {len(tip_names)} tips "
            f"(e.g. {', '.join(tip_names[:3])}); check the names or give a synonym table"
        )
    used = set(tips.values())
    inverse: dict[str, list[str]] = {}
    for s, t in tips.items():
        inverse.setdefault(t, []).append(s)
    shared = {t: tuple(v) for t, v in inverse.items() if len(v) > 1}
    suggestions: dict[str, tuple[str, ...]] = {}
    if missing:
        tip_norm = [normalize_name(t) for t in tip_names if t not in used]
        by_ep: dict[str, list[str]] = {}
        for t in tip_norm:
            parts = t.split(" ")
            if len(parts) >= 2:
                by_ep.setdefault(parts[1].lower(), []).append(t)
        suggestions = {s: h for s in missing if (h := _suggest(s, tip_norm, by_ep))}
    report = ReconciliationReport(
        species=species,
        tips=tips,
        via_synonym=via,
        unmatched=tuple(missing),
        unused_tips=tuple(t for t in tip_names if t not in used),
        shared_tips=shared,
        suggestions=suggestions,
        policy=unmatched,
        source=phy.source,
        n_tips=len(tip_names),
    )
    if missing:
        if unmatched == "error":
            listed = "; ".join(
                s + (f" (similar tips: {', '.join(suggestions[s])})" if s in suggestions else "") for s in missing[:30]
            )
            more = f" ... and {len(missing) - 30} more" if len(missing) > 30 else ""
            raise TreeError(
                f"{len(missing)} of {len(species)} species match no tip of {phy.source}: {listed}{more}. "
                "Give a synonym table (old,new) or choose --tree-unmatched drop|connect"
            )
        logger.warning(
            "%d of %d species match no tip of %s (policy %s): %s",
            len(missing), len(species), phy.source, unmatched, ", ".join(missing[:10]),
        )
    logger.info("reconciled %d/%d species with %s (%d via synonyms)", len(tips), len(species), phy.source, len(via))
    return report
