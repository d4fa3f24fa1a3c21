"""Phylogenetic label priors: Newick trees, name reconciliation, distances, label graphs.

The decoder's label→label attention (HOT-VAE Eq 12-13) can be restricted to
species pairs that are related on a phylogeny, or softly biased towards close
relatives. This module turns a Newick tree into those priors:

1. :func:`read_tree` reads a Newick file or string with ete3 (with or without
   branch lengths, quoted labels, internal node names, ``[...]`` comments) into a
   :class:`Phylogeny`. Malformed text, an empty tree, unnamed or duplicate tips
   raise :class:`~jsdm_hot.errors.TreeError` naming the file and the problem.
2. :func:`reconcile` matches the species of the data to the tips through
   :func:`normalize_name` (underscores/spaces, case, trailing author strings,
   ``birds(...)``-style wrappers, OpenTree ``_ott123`` suffixes) and an optional
   synonym table (:func:`read_synonyms`, :func:`synonyms_from_ebird_taxonomy`).
   It returns a :class:`ReconciliationReport` (matched, matched through a
   synonym, unmatched species, unused tips). Unmatched species are never dropped
   silently: ``unmatched="error"`` (default) raises with the list and spelling
   suggestions, ``"drop"`` keeps only the matched species, ``"connect"`` keeps
   them all and leaves the unmatched ones fully connected in phylogenetic graphs.
3. :func:`phylo_distances` computes patristic (branch-length) and topological
   (edge-count) distance matrices of the tree pruned to the matched tips, in
   vectorised numpy/scipy (no O(L²) loop of ete3 ``get_distance`` calls).
   :func:`prune_tree` gives the pruned ete3 tree itself.
4. :func:`phylo_graph` (hard mask), :func:`phylo_bias` (soft additive attention
   bias, beyond the paper) and the dispatcher :func:`build_label_graph`
   (``complete``, ``prior``, ``phylo``, ``phylo+prior``, ``phylo&prior``) return
   :class:`~jsdm_hot.graph.LabelGraph` objects.

ete3 is an optional dependency (extra ``phylo``) and is imported inside the
functions that need it.

Distance algorithm
------------------
Let the pruned tree have ``n`` tips and ``E`` edges, each edge identified by the
node below it, with length ``b_e`` (1 for topological distances). The ancestor
incidence matrix ``A`` (``n × E``, sparse) has ``A[i, e] = 1`` when edge ``e``
lies on the path from the root to tip ``i``. Then ``S = A · diag(b) · Aᵀ`` holds
the length of the path the two tips share from the root, i.e. the depth of
their most recent common ancestor, ``depth_i = S[i, i]`` and

    d_ij = depth_i + depth_j - 2 · S[i, j].

Pruning is done implicitly: a node of the full tree survives when it is a kept
tip or has kept tips under two or more of its children, and each surviving edge
gets the summed length of the full-tree branches it replaces (what ete3's
``prune(preserve_branch_length=True)`` does), so patristic distances equal the
full tree's and topological distances count edges of the pruned tree.
"""

from __future__ import annotations

import csv
import difflib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError, TreeError
from jsdm_hot.graph import LabelGraph

__all__ = [
    "GRAPH_KINDS",
    "UNMATCHED_POLICIES",
    "DEFAULT_PHYLO_K",
    "Phylogeny",
    "ReconciliationReport",
    "PhyloDistances",
    "read_tree",
    "normalize_name",
    "read_synonyms",
    "synonyms_from_ebird_taxonomy",
    "reconcile",
    "prune_tree",
    "phylo_distances",
    "phylo_graph",
    "phylo_bias",
    "build_label_graph",
]

logger = logging.getLogger(__name__)

#: Label graph kinds understood by :func:`build_label_graph`.
GRAPH_KINDS = ("complete", "prior", "phylo", "phylo+prior", "phylo&prior")
#: What to do with data species that match no tip.
UNMATCHED_POLICIES = ("error", "drop", "connect")
#: Default number of nearest relatives in :func:`phylo_graph`.
DEFAULT_PHYLO_K = 3

_NO_ETE3 = "reading phylogenies needs ete3: pip install 'jsdm-hot[phylo]' (ete3 and six)"


def _ete3():
    try:
        import ete3  # noqa: PLC0415 (optional dependency)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TreeError(_NO_ETE3) from exc
    return ete3


# ======================================================================
# Reading
# ======================================================================


@dataclass(frozen=True, eq=False)
class Phylogeny:
    """A parsed tree and where it came from.

    Attributes
    ----------
    tree : ete3.Tree
        The rooted tree. Tip names are the raw labels (quotes removed).
    source : str
        File path, or ``"<newick string>"``; used in error messages.
    has_branch_lengths : bool
        False when the Newick text has no ``:length`` at all; patristic
        distances then equal topological ones (every edge counts 1).
    """

    tree: Any
    source: str
    has_branch_lengths: bool

    @property
    def tip_names(self) -> tuple[str, ...]:
        """Raw tip labels in the tree's preorder."""
        return tuple(leaf.name for leaf in self.tree.iter_leaves())

    @property
    def n_tips(self) -> int:
        return len(self.tree)

    def to_newick(self) -> str:
        """Newick text with tip names and (if any) branch lengths."""
        if self.has_branch_lengths:  # full precision; ete3's default "%0.6g" would round
            return self.tree.write(format=5, dist_formatter="%.17g", quoted_node_names=True)
        return self.tree.write(format=9, quoted_node_names=True)


def _scan_newick(text: str, source: str) -> tuple[str, int, int]:
    """Strip ``[...]`` comments and whitespace outside quotes and check structure.

    Returns the cleaned text, the number of ``:`` length separators and the
    number of nodes implied by the commas and parentheses. Raises TreeError on
    unbalanced parentheses or quotes, text after the final ``;`` or empty text.
    """
    out: list[str] = []
    depth = 0
    n_colon = 0
    n_comma = 0
    n_open = 0
    i = 0
    n = len(text)
    line = 1
    end_at: int | None = None
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        if end_at is not None:
            if not c.isspace():
                raise TreeError(
                    f"malformed Newick in {source}: text after the closing ';' (line {line}); "
                    "one tree per file is expected"
                )
            i += 1
            continue
        if c in "'\"":
            j = i + 1
            while True:
                k = text.find(c, j)
                if k < 0:
                    raise TreeError(f"malformed Newick in {source}: unclosed quote starting at character {i + 1}")
                if k + 1 < n and text[k + 1] == c:  # doubled quote = literal quote
                    j = k + 2
                    continue
                break
            out.append(text[i : k + 1])
            i = k + 1
            continue
        if c == "[":
            k = text.find("]", i)
            if k < 0:
                raise TreeError(f"malformed Newick in {source}: unclosed '[' comment at character {i + 1}")
            line += text.count("\n", i, k)
            i = k + 1
            continue
        if c.isspace():
            i += 1
            continue
        if c == "(":
            depth += 1
            n_open += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise TreeError(f"malformed Newick in {source}: unbalanced ')' at character {i + 1} (line {line})")
        elif c == ",":
            if depth == 0:
                raise TreeError(f"malformed Newick in {source}: ',' outside any parentheses at character {i + 1}")
            n_comma += 1
        elif c == ":":
            n_colon += 1
        elif c == ";":
            end_at = i
        out.append(c)
        i += 1
    if depth != 0:
        raise TreeError(f"malformed Newick in {source}: {depth} unclosed '(' (parentheses do not match)")
    cleaned = "".join(out)
    if not cleaned.strip(";"):
        raise TreeError(f"empty tree in {source}: no Newick text")
    if not cleaned.endswith(";"):
        cleaned += ";"
    # tips = commas + 1, internal nodes = one per '('
    n_nodes = (n_comma + 1) + n_open
    # a length after the root (text after the last ')', or the lone tip) is not a branch
    tail = cleaned[cleaned.rfind(")") + 1 :] if ")" in cleaned else cleaned
    n_branch_len = n_colon - (1 if ":" in _unquoted(tail) else 0)
    return cleaned, n_branch_len, n_nodes


def _unquoted(text: str) -> str:
    """``text`` with quoted parts removed."""
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "", text)


def read_tree(tree: str | Path | Phylogeny, *, source: str | None = None) -> Phylogeny:
    """Read a rooted phylogeny from a Newick file or string.

    Parameters
    ----------
    tree : str or Path or Phylogeny
        A path to a Newick file, or Newick text (a string starting with ``(``).
        A :class:`Phylogeny` is returned unchanged.
    source : str, optional
        Name used in error messages (default: the path, or ``"<newick string>"``).

    Returns
    -------
    Phylogeny

    Raises
    ------
    TreeError
        When the file is missing, the Newick is malformed, the tree is empty,
        tips have no name or the same name twice (also after
        :func:`normalize_name`), some branches have a length and others not, or
        a branch length is negative.

    Notes
    -----
    Tip and internal labels may be quoted (``'Anas platyrhynchos'``); internal
    labels (clade names, support values) are kept but ignored. ``[...]``
    comments (BEAST/NHX annotations) are removed before parsing. Without any
    branch length every edge counts 1.
    """
    if isinstance(tree, Phylogeny):
        return tree
    if isinstance(tree, Path) or not str(tree).lstrip().startswith("("):
        path = Path(tree)
        src = source or str(path)
        if not path.is_file():
            raise TreeError(f"tree file {src} does not exist")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TreeError(f"tree file {src} is not UTF-8 text: {exc}") from exc
    else:
        text = str(tree)
        src = source or "<newick string>"
    cleaned, n_colon, n_nodes = _scan_newick(text, src)
    ete3 = _ete3()
    try:
        t = ete3.Tree(cleaned, format=1, quoted_node_names=True)
    except Exception as exc:  # ete3.parser.newick.NewickError and parser ValueErrors
        msg = str(exc).split("\n")[0]
        if "empty leaf" in msg.lower():
            raise TreeError(f"a tip in {src} has no name (empty leaf); every tip needs a species label") from exc
        raise TreeError(f"malformed Newick in {src}: {msg}") from exc
    leaves = t.get_leaves()
    names = [leaf.name for leaf in leaves]
    if not any(names):
        raise TreeError(f"empty tree in {src}: it has no named tips")
    unnamed = sum(1 for nm in names if not nm)
    if unnamed:
        raise TreeError(f"{unnamed} tip(s) in {src} have no name; every tip needs a species label")
    _check_duplicates(names, src)
    has_len = n_colon > 0
    if has_len:
        nonroot = n_nodes - 1
        # a length on the root branch is allowed (ete3 stores it as root.dist)
        if n_colon < nonroot:
            raise TreeError(
                f"{nonroot - n_colon} of {nonroot} branches in {src} have no length while others do; "
                "give every branch a length or none"
            )
        neg = [n for n in t.iter_descendants() if n.dist < 0]
        if neg:
            raise TreeError(
                f"{len(neg)} negative branch length(s) in {src}, e.g. {neg[0].dist} above "
                f"{neg[0].name or 'an internal node'}"
            )
    else:
        for n in t.traverse():
            n.dist = 1.0
        t.dist = 0.0
    logger.debug("read tree %s: %d tips, branch lengths: %s", src, len(names), has_len)
    return Phylogeny(t, src, has_len)


def _check_duplicates(names: Sequence[str], src: str) -> None:
    seen: dict[str, str] = {}
    raw_dups: list[str] = []
    norm_dups: list[tuple[str, str]] = []
    raw_seen: set[str] = set()
    for nm in names:
        if nm in raw_seen:
            raw_dups.append(nm)
            continue
        raw_seen.add(nm)
        key = _key(nm)
        if key in seen:
            norm_dups.append((seen[key], nm))
        else:
            seen[key] = nm
    if raw_dups:
        shown = ", ".join(repr(x) for x in sorted(set(raw_dups))[:10])
        raise TreeError(f"duplicate tip names in {src}: {shown}; each tip label must be unique")
    if norm_dups:
        shown = ", ".join(f"{a!r} and {b!r}" for a, b in norm_dups[:10])
        raise TreeError(f"tip names in {src} that become the same species name after normalisation: {shown}")


# ======================================================================
# Names
# ======================================================================

_WRAPPER = re.compile(r"^[A-Za-z][A-Za-z0-9]*\((.*?)\)?$")
_OTT = re.compile(r"(?:[ _]ott\d+|^ott\d+[ _])", re.IGNORECASE)


def normalize_name(name: str) -> str:
    """Canonical form of a species label, for matching tips to data columns.

    Rules, in order: surrounding quotes and whitespace removed; a
    ``word(...)`` wrapper such as ``birds(Anas_platyrhynchos)`` unwrapped;
    underscores become spaces; OpenTree ``_ott12345`` suffixes dropped;
    whitespace collapsed; a trailing author string dropped (from the first
    word after the genus that starts with a capital or ``(`` or holds a
    comma: ``Linnaeus, 1758``, ``(L.)``, ``L.``); the genus capitalised and
    the rest lower-cased. In an all-capital name only ``(`` and commas mark
    the author.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
        For example ``"Anas_platyrhynchos"``, ``"anas platyrhynchos"`` and
        ``"Anas platyrhynchos Linnaeus, 1758"`` all give ``"Anas platyrhynchos"``.
    """
    s = str(name).strip().strip("'\"").strip()
    m = _WRAPPER.match(s)
    if m and m.group(1):
        s = m.group(1)
    s = s.replace("_", " ")
    s = _OTT.sub(" ", s)
    words = s.split()
    if not words:
        return ""
    all_caps = not any(ch.islower() for ch in s)
    kept = [words[0]]
    for w in words[1:]:
        # an author string starts with a capital (Linnaeus, L.), a parenthesis or holds a comma
        if w.startswith("(") or "," in w or (not all_caps and w[:1].isupper()):
            break
        kept.append(w.rstrip(".") or w)
    genus = kept[0]
    return " ".join([genus[:1].upper() + genus[1:].lower()] + [w.lower() for w in kept[1:]])


def _key(name: str) -> str:
    return normalize_name(name).lower()


def read_synonyms(path: str | Path) -> dict[str, str]:
    """Read a synonym table: a CSV mapping old (or alternative) names to new ones.

    Parameters
    ----------
    path : str or Path
        CSV file with a header. The columns used are ``old`` and ``new``
        (also accepted: ``synonym``/``accepted``, ``from``/``to``,
        ``data_name``/``tree_name``); otherwise the first two columns.
        Blank lines and rows starting with ``#`` are skipped.

    Returns
    -------
    dict of str to str
        Normalised old name → normalised new name.

    Raises
    ------
    TreeError
        When the file is missing, has fewer than two columns, a row lacks a
        value, or one old name maps to two different new names (naming the
        file line).
    """
    p = Path(path)
    if not p.is_file():
        raise TreeError(f"synonym table {p} does not exist")
    rows: list[list[str]] = []
    lines: list[int] = []  # file line of each kept row, for messages
    with p.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        for r in reader:
            if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#"):
                rows.append(r)
                lines.append(reader.line_num)
    if not rows:
        raise TreeError(f"synonym table {p} is empty")
    header = [h.strip().lower() for h in rows[0]]
    if len(header) < 2:
        raise TreeError(f"synonym table {p} must have two columns (old,new), found {len(header)}")
    pairs = [("old", "new"), ("synonym", "accepted"), ("from", "to"), ("data_name", "tree_name"), ("dataset_name", "tree_label")]
    io, jn = 0, 1
    for a, b in pairs:
        if a in header and b in header:
            io, jn = header.index(a), header.index(b)
            break
    out: dict[str, str] = {}
    for rownum, r in zip(lines[1:], rows[1:]):
        if len(r) <= max(io, jn) or not r[io].strip() or not r[jn].strip():
            raise TreeError(f"synonym table {p} line {rownum}: expected values in columns '{rows[0][io]}' and '{rows[0][jn]}', got {r}")
        old, new = normalize_name(r[io]), normalize_name(r[jn])
        k = old.lower()
        if k in out and out[k].lower() != new.lower():
            raise TreeError(f"synonym table {p} line {rownum}: {old!r} maps to both {out[k]!r} and {new!r}")
        if k != new.lower():
            out[k] = new
    return out


def synonyms_from_ebird_taxonomy(path: str | Path, *, common_names: bool = True) -> dict[str, str]:
    """Build a synonym table from an eBird/Clements taxonomy CSV.

    The eBird taxonomy (``ebird_taxonomy.csv``: ``species_code``,
    ``scientific_name``, ``common_name``, ``category``, ``report_as``) gives:

    * every sub-specific or other non-species taxon with a ``report_as`` code
      (``issf``, ``form``, ``intergrade``, ``domestic``) → the scientific name of
      the species it is reported as (e.g. *Anas platyrhynchos diazi* →
      *Anas platyrhynchos*);
    * with ``common_names=True``, each species' English name → its scientific
      name, so data columns named ``Mallard`` match the tip ``Anas_platyrhynchos``.

    It does not know older scientific names (*Parus caeruleus*); give those in
    a table for :func:`read_synonyms`.

    Parameters
    ----------
    path : str or Path
    common_names : bool, default=True

    Returns
    -------
    dict of str to str
        Normalised lower-case alternative name → species scientific name.

    Raises
    ------
    TreeError
        When the file is missing or lacks the columns above.
    """
    import pandas as pd  # core dependency; local to keep module import light

    p = Path(path)
    if not p.is_file():
        raise TreeError(f"eBird taxonomy {p} does not exist")
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    df.columns = [c.strip().lower() for c in df.columns]
    need = {"species_code", "scientific_name", "common_name", "category", "report_as"}
    missing = need - set(df.columns)
    if missing:
        raise TreeError(f"eBird taxonomy {p} lacks column(s) {sorted(missing)}; found {list(df.columns)}")
    sp = df[df["category"] == "species"]
    code_to_sci = dict(zip(sp["species_code"], sp["scientific_name"]))
    out: dict[str, str] = {}
    sub = df[(df["category"] != "species") & (df["report_as"] != "")]
    for sci, rep in zip(sub["scientific_name"], sub["report_as"]):
        target = code_to_sci.get(rep)
        if target and _key(sci) != _key(target):
            out[sci.strip().lower()] = normalize_name(target)
            out.setdefault(_key(sci), normalize_name(target))
    if common_names:
        for com, sci in zip(sp["common_name"], sp["scientific_name"]):
            out.setdefault(" ".join(com.lower().split()), normalize_name(sci))
    return out


def _synonym_lookup(name: str, synonyms: Mapping[str, str]) -> list[str]:
    """Candidate names for ``name`` through the synonym table (both directions, chains ≤ 5)."""
    cands: list[str] = []
    raw = " ".join(str(name).lower().split())
    k = _key(name)
    cur = synonyms.get(raw, synonyms.get(k))
    steps = 0
    while cur is not None and steps < 5 and cur not in cands:
        cands.append(cur)
        cur = synonyms.get(cur.lower())
        steps += 1
    return cands


# ======================================================================
# Reconciliation
# ======================================================================


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


# ======================================================================
# Pruning and distances
# ======================================================================


def prune_tree(tree: str | Path | Phylogeny, tips: Sequence[str]) -> Phylogeny:
    """The tree induced by ``tips``, keeping summed branch lengths (a copy).

    Parameters
    ----------
    tree : str or Path or Phylogeny
    tips : sequence of str
        Raw tip labels to keep (e.g. ``report.tips.values()``).

    Returns
    -------
    Phylogeny
        Exactly the given tips; unary nodes are removed and their branch
        lengths summed, so patristic distances are unchanged.
    """
    phy = read_tree(tree)
    keep = list(dict.fromkeys(tips))
    names = set(phy.tip_names)
    bad = [t for t in keep if t not in names]
    if bad:
        raise TreeError(f"cannot prune {phy.source}: {len(bad)} tip(s) not in the tree, e.g. {bad[:5]}")
    if not keep:
        raise TreeError(f"cannot prune {phy.source} to zero tips")
    t = phy.tree.copy()  # cpickle copy: copy("newick") would round branch lengths to 6 significant digits
    t.prune(keep, preserve_branch_length=True)  # also when keeping every tip: removes unary nodes
    return Phylogeny(t, phy.source, phy.has_branch_lengths)


@dataclass(frozen=True, eq=False)
class PhyloDistances:
    """Distances between species on the pruned tree.

    Attributes
    ----------
    species : tuple of str, length n
        Matched species (rows/columns), in data order.
    tips : tuple of str, length n
        The tip label of each species.
    patristic : ndarray of shape (n, n), float64
        Sum of branch lengths on the path between two tips (units of the tree,
        e.g. Myr; edge counts when the tree has no branch lengths).
    topological : ndarray of shape (n, n), float64
        Number of edges on the path in the pruned tree (ete3's
        ``get_distance(topology_only=True)`` counts nodes between the tips,
        i.e. this minus 1 for distinct tips).
    mrca_depth : ndarray of shape (n, n), float64
        Branch length from the root of the pruned tree (the MRCA of all kept
        tips) to the MRCA of the pair; the diagonal holds tip depths.
    has_branch_lengths : bool
    """

    species: tuple[str, ...]
    tips: tuple[str, ...]
    patristic: np.ndarray
    topological: np.ndarray
    mrca_depth: np.ndarray
    has_branch_lengths: bool = True

    def matrix(self, metric: str = "patristic") -> np.ndarray:
        if metric == "patristic":
            return self.patristic
        if metric == "topological":
            return self.topological
        raise InputDataError(f"unknown phylogenetic distance {metric!r}; expected 'patristic' or 'topological'")


def _tree_arrays(tree) -> tuple[list, np.ndarray, np.ndarray]:
    """Preorder node list, parent index (−1 for the root) and branch lengths."""
    nodes = list(tree.traverse("preorder"))
    index = {id(n): i for i, n in enumerate(nodes)}
    parent = np.fromiter((index[id(n.up)] if n.up is not None and id(n.up) in index else -1 for n in nodes),
                         dtype=np.int64, count=len(nodes))
    parent[0] = -1
    dist = np.fromiter((float(n.dist) for n in nodes), dtype=np.float64, count=len(nodes))
    return nodes, parent, dist


def _pairwise_from_arrays(parent: np.ndarray, dist: np.ndarray, tip_nodes: np.ndarray):
    """Patristic, topological and MRCA-depth matrices between ``tip_nodes``.

    Parameters
    ----------
    parent : ndarray of shape (n_nodes,), int
        Preorder parent indices (``parent[v] < v``; −1 for the root).
    dist : ndarray of shape (n_nodes,), float
        Length of the branch above each node.
    tip_nodes : ndarray of shape (n,), int
        Distinct leaf nodes to keep.

    Returns
    -------
    patristic, topological, mrca_depth : ndarray of shape (n, n)
    """
    import scipy.sparse as sp

    n_nodes = parent.shape[0]
    n = tip_nodes.shape[0]
    if n == 1:
        z = np.zeros((1, 1))
        return z, z.copy(), z.copy()
    # kept tips below each node, and how many children carry kept tips
    cnt = np.zeros(n_nodes, dtype=np.int64)
    cnt[tip_nodes] = 1
    par = parent.tolist()
    cl = cnt.tolist()
    for v in range(n_nodes - 1, 0, -1):
        if cl[v]:
            cl[par[v]] += cl[v]
    cnt = np.asarray(cl, dtype=np.int64)
    marked = np.flatnonzero(cnt > 0)
    nonroot = marked[parent[marked] >= 0]
    nchild = np.bincount(parent[nonroot], minlength=n_nodes)
    is_tip = np.zeros(n_nodes, dtype=bool)
    is_tip[tip_nodes] = True
    retained = (cnt > 0) & ((nchild >= 2) | is_tip)
    # root of the pruned tree: the retained node holding all kept tips (first in preorder)
    full = np.flatnonzero(retained & (cnt == n))
    root = int(full[0])
    # depth from the full root, and nearest retained ancestor of every marked node
    depth = np.zeros(n_nodes)
    rpar = np.full(n_nodes, -1, dtype=np.int64)
    dl = depth.tolist()
    rl = rpar.tolist()
    ret = retained.tolist()
    dd = dist.tolist()
    for v in marked.tolist():
        p = par[v]
        if p < 0:
            continue
        dl[v] = dl[p] + dd[v]
        rl[v] = p if ret[p] else rl[p]
    depth = np.asarray(dl)
    rpar = np.asarray(rl, dtype=np.int64)
    edges = np.flatnonzero(retained)
    edges = edges[edges != root]  # retained nodes below the pruned root; each owns the edge above it
    col = np.full(n_nodes, -1, dtype=np.int64)
    col[edges] = np.arange(edges.size)
    w_pat = depth[edges] - depth[rpar[edges]]
    # ancestor incidence A (n × E): walk every tip up through retained ancestors
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    cur = tip_nodes.copy()
    rid = np.arange(n)
    while cur.size:
        live = cur != root
        cur, rid = cur[live], rid[live]
        if not cur.size:
            break
        rows.append(rid)
        cols.append(col[cur])
        cur = rpar[cur]
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    A = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, edges.size))
    out = []
    for w in (w_pat, None):
        Aw = A if w is None else A @ sp.diags(w)
        S = (Aw @ A.T).toarray()
        d0 = np.diag(S).copy()
        D = d0[:, None] + d0[None, :] - 2.0 * S
        np.maximum(D, 0.0, out=D)
        np.fill_diagonal(D, 0.0)
        out.append((D, S))
    (pat, S_pat), (top, _) = out
    return pat, np.rint(top), S_pat


def phylo_distances(
    tree: str | Path | Phylogeny,
    species: Sequence[str] | None = None,
    *,
    report: ReconciliationReport | None = None,
    synonyms: Mapping[str, str] | str | Path | None = None,
) -> PhyloDistances:
    """Patristic and topological distances between species on the pruned tree.

    Parameters
    ----------
    tree : str or Path or Phylogeny
    species : sequence of str, optional
        Species to compare. They are reconciled with ``unmatched="drop"``
        semantics (a warning lists any species left out). Ignored when
        ``report`` is given; when both are None, all tips are used.
    report : ReconciliationReport, optional
        A reconciliation of the data with this tree; its matched species are used.
    synonyms : mapping or path, optional
        Passed to :func:`reconcile` when ``species`` is given.

    Returns
    -------
    PhyloDistances
        Over the matched species in data order. Memory is O(n²): about 8 MB
        per matrix for 1,000 species.
    """
    phy = read_tree(tree)
    if report is None:
        if species is None:
            names = phy.tip_names
            report = ReconciliationReport(names, {t: t for t in names}, {}, (), (), {}, {}, "drop", phy.source, len(names))
        else:
            report = reconcile(species, phy, synonyms=synonyms, unmatched="drop")
    matched = report.matched
    nodes, parent, dist = _tree_arrays(phy.tree)
    leaf_index = {n.name: i for i, n in enumerate(nodes) if n.is_leaf()}
    tip_of = [report.tips[s] for s in matched]
    missing = [t for t in tip_of if t not in leaf_index]
    if missing:
        raise TreeError(f"tips {missing[:5]} of the reconciliation report are not in {phy.source}")
    uniq = list(dict.fromkeys(tip_of))
    pos = {t: i for i, t in enumerate(uniq)}
    pat, top, S = _pairwise_from_arrays(parent, dist, np.asarray([leaf_index[t] for t in uniq], dtype=np.int64))
    idx = np.asarray([pos[t] for t in tip_of], dtype=np.int64)
    if len(uniq) != len(tip_of):  # species sharing a tip
        pat, top, S = pat[np.ix_(idx, idx)], top[np.ix_(idx, idx)], S[np.ix_(idx, idx)]
    return PhyloDistances(tuple(matched), tuple(tip_of), pat, top, S, phy.has_branch_lengths)


# ======================================================================
# Graphs
# ======================================================================


def _expand(distances: PhyloDistances, species: Sequence[str] | None) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Positions of the distance rows within ``species`` and a mask of matched species."""
    sp_all = tuple(species) if species is not None else distances.species
    pos = {s: i for i, s in enumerate(sp_all)}
    missing = [s for s in distances.species if s not in pos]
    if missing:
        raise InputDataError(f"species {missing[:5]} of the distance matrix are not in the species list")
    idx = np.asarray([pos[s] for s in distances.species], dtype=np.int64)
    has = np.zeros(len(sp_all), dtype=bool)
    has[idx] = True
    return sp_all, idx, has


def phylo_graph(
    distances: PhyloDistances,
    species: Sequence[str] | None = None,
    *,
    k: int | None = None,
    quantile: float | None = None,
    clade_depth: float | None = None,
    metric: str = "patristic",
) -> LabelGraph:
    """Phylogenetic label graph: connect close relatives.

    Exactly one rule applies (default: ``k=3``):

    * ``k`` — each species is connected to its ``k`` nearest relatives;
      species tied with the k-th nearest are connected too (frequent on
      ultrametric trees, where all members of a sister clade are equally
      far). The graph is symmetrised (edge when either end chose the other).
    * ``quantile`` in (0, 1] — connect pairs whose distance is at most this
      quantile of all off-diagonal distances (``quantile=0.1`` keeps roughly
      the closest 10 % of pairs; the threshold is an observed distance,
      numpy's ``method="lower"``).
    * ``clade_depth`` — connect pairs in the same clade when the pruned tree is
      cut at this distance from its root: the depth of their most recent
      common ancestor is ≥ ``clade_depth`` (branch-length units, e.g. Myr
      after the root of the kept species; edges if the tree has none). Uses
      ``mrca_depth`` and ignores ``metric``.

    Parameters
    ----------
    distances : PhyloDistances
    species : sequence of str, optional
        The data's full species list (a superset of ``distances.species``).
        Species without a tip are connected to every species (the
        ``unmatched="connect"`` policy). Default: ``distances.species``.
    k : int, optional
    quantile : float, optional
    clade_depth : float, optional
    metric : {"patristic", "topological"}, default="patristic"

    Returns
    -------
    LabelGraph
        Kind ``"phylo"``; symmetric mask of shape (n_species, n_species) with
        self-loops; ``info`` records the rule and counts.
    """
    given = [name for name, v in (("k", k), ("quantile", quantile), ("clade_depth", clade_depth)) if v is not None]
    if len(given) > 1:
        raise InputDataError(f"give only one of k, quantile, clade_depth to phylo_graph (got {given})")
    if not given:
        k = DEFAULT_PHYLO_K
    sp_all, idx, has = _expand(distances, species)
    n = len(distances.species)
    D = distances.matrix(metric)
    tol = 1e-9 * max(float(D.max()), 1.0)
    if clade_depth is not None:
        if not np.isfinite(clade_depth):
            raise InputDataError(f"clade_depth must be finite, got {clade_depth}")
        sub = distances.mrca_depth >= clade_depth - tol
        rule: dict[str, Any] = {"rule": "clade_depth", "clade_depth": float(clade_depth)}
    elif quantile is not None:
        if not 0.0 < quantile <= 1.0:
            raise InputDataError(f"phylo quantile must be in (0, 1], got {quantile}")
        off = D[~np.eye(n, dtype=bool)]
        thr = float(np.quantile(off, quantile, method="lower")) if off.size else 0.0
        sub = D <= thr + tol
        rule = {"rule": "quantile", "quantile": float(quantile), "threshold": thr, "metric": metric}
    else:
        if int(k) != k or k < 1:
            raise InputDataError(f"phylo k (number of nearest relatives) must be a positive integer, got {k}")
        k = int(k)
        if n - 1 <= k:
            sub = np.ones((n, n), dtype=bool)
        else:
            Dm = D.copy()
            np.fill_diagonal(Dm, np.inf)
            kth = np.partition(Dm, k - 1, axis=1)[:, k - 1]
            sub = Dm <= kth[:, None] + tol
            sub |= sub.T
        rule = {"rule": "k", "k": k, "metric": metric}
    L = len(sp_all)
    mask = np.ones((L, L), dtype=bool)
    mask[np.ix_(idx, idx)] = sub
    off_n = int((sub.sum() - np.trace(sub)) // 2) if sub.shape[0] else 0
    info = {**rule, "n_edges_phylo": off_n, "n_matched": n,
            "n_connected_unmatched": int((~has).sum()),
            "connected_unmatched": [s for s, h in zip(sp_all, has) if not h]}
    g = LabelGraph(mask, sp_all, "phylo", info=info)
    info["n_edges"] = int((g.mask.sum() - L) // 2)
    return g


def phylo_bias(
    distances: PhyloDistances,
    species: Sequence[str] | None = None,
    *,
    scale: float | None = None,
    metric: str = "patristic",
) -> np.ndarray:
    """Soft phylogenetic prior: an additive attention bias (beyond the paper).

    ``bias[i, j] = -d_ij / scale``, added to the label→label attention logits
    before the softmax, multiplies the unnormalised attention of species i on
    species j by ``exp(-d_ij / scale)``: close relatives are favoured, distant
    ones damped but not cut off (the hard graphs of :func:`phylo_graph` cut
    them). The diagonal is 0.

    Parameters
    ----------
    distances : PhyloDistances
    species : sequence of str, optional
        Full species list; species without a tip get the bias of a pair at
        distance ``scale`` (−1) to and from every other species: neither
        favoured nor damped relative to a typical pair.
    scale : float, optional
        Distance at which attention is damped by e. Default: the median of
        the off-diagonal distances (bias ≈ −1 for a typical pair).
    metric : {"patristic", "topological"}, default="patristic"

    Returns
    -------
    ndarray of shape (n_species, n_species), float32
    """
    sp_all, idx, _ = _expand(distances, species)
    D = distances.matrix(metric)
    n = D.shape[0]
    if scale is None:
        off = D[~np.eye(n, dtype=bool)]
        scale = float(np.median(off)) if off.size else 1.0
        if scale <= 0:
            scale = float(off.max()) if off.size and off.max() > 0 else 1.0
    if not np.isfinite(scale) or scale <= 0:
        raise InputDataError(f"phylogenetic bias scale must be a positive number, got {scale}")
    L = len(sp_all)
    bias = np.full((L, L), -1.0)
    bias[np.ix_(idx, idx)] = -D / scale
    np.fill_diagonal(bias, 0.0)
    return bias.astype(np.float32)


def build_label_graph(
    kind: str,
    Y: np.ndarray | None,
    species: Sequence[str],
    *,
    tree: str | Path | Phylogeny | None = None,
    synonyms: Mapping[str, str] | str | Path | None = None,
    unmatched: str = "error",
    phylo_k: int | None = DEFAULT_PHYLO_K,
    phylo_quantile: float | None = None,
    phylo_clade_depth: float | None = None,
    phylo_metric: str = "patristic",
    phylo_bias_scale: float | str | None = None,
) -> tuple[LabelGraph, ReconciliationReport | None]:
    """Build the decoder's label graph by name (what ``jsdm-hot fit --graph`` calls).

    Parameters
    ----------
    kind : {"complete", "prior", "phylo", "phylo+prior", "phylo&prior"}
        ``complete``: all pairs; ``prior``: co-occurrence in ``Y`` (paper);
        ``phylo``: :func:`phylo_graph`; ``phylo+prior``: union of the two
        (an edge when related *or* co-occurring); ``phylo&prior``:
        intersection (related *and* co-occurring).
    Y : ndarray of shape (n_sites, n_species) or None
        Training occurrences, columns in ``species`` order; needed by the
        ``prior`` kinds only.
    species : sequence of str of length n_species
    tree : str or Path or Phylogeny, optional
        Needed by the ``phylo`` kinds and by ``phylo_bias_scale``; otherwise
        ignored (with a log message).
    synonyms : mapping or str or Path, optional
        Synonym table for :func:`reconcile`.
    unmatched : {"error", "drop", "connect"}, default="error"
        Species without a tip: ``error`` raises :class:`TreeError` listing
        them; ``connect`` keeps every species, the unmatched ones connected
        to all species in the phylogenetic graph; ``drop`` returns a graph
        over the matched species only — **the caller must then drop the other
        species from its data**, e.g.
        ``data = data.select_species(graph.species)``; they are listed in
        ``report.unmatched``.
    phylo_k, phylo_quantile, phylo_clade_depth : optional
        The rule of :func:`phylo_graph`. ``phylo_quantile`` or
        ``phylo_clade_depth``, when given, take precedence over ``phylo_k``
        (default 3 nearest relatives).
    phylo_metric : {"patristic", "topological"}, default="patristic"
    phylo_bias_scale : float or "auto" or None, default=None
        When set, the graph also carries the soft :func:`phylo_bias` (with
        this scale, or the median distance for ``"auto"``), for any kind
        (e.g. ``complete`` + bias is a purely soft phylogenetic prior).

    Returns
    -------
    graph : LabelGraph
        Over ``report.kept_species`` (all ``species`` unless ``drop``), in
        data order; ``graph.kind`` is ``kind``.
    report : ReconciliationReport or None
        None when no tree was used.

    Raises
    ------
    InputDataError
        Unknown kind or policy, a phylo kind without a tree, a prior kind
        without ``Y`` or ``Y`` of the wrong shape.
    TreeError
        Tree problems and unmatched species under ``unmatched="error"``.
    """
    if kind not in GRAPH_KINDS:
        raise InputDataError(f"unknown label graph kind {kind!r}; expected one of {', '.join(GRAPH_KINDS)}")
    if unmatched not in UNMATCHED_POLICIES:
        raise InputDataError(f"tree-unmatched policy {unmatched!r} is not one of {', '.join(UNMATCHED_POLICIES)}")
    species = tuple(str(s) for s in species)
    wants_tree = kind.startswith("phylo") or phylo_bias_scale is not None
    needs_prior = kind in ("prior", "phylo+prior", "phylo&prior")
    if needs_prior:
        if Y is None:
            raise InputDataError(f"label graph kind {kind!r} needs the training occurrences Y")
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != len(species):
            raise InputDataError(f"Y has shape {Y.shape}, expected (n_sites, {len(species)}) for the {len(species)} species")
    if not wants_tree:
        if tree is not None:
            logger.info("label graph kind %r does not use the tree (no bias requested); tree ignored", kind)
        g = LabelGraph.complete(species) if kind == "complete" else LabelGraph.prior(Y, species)
        return g, None
    if tree is None:
        what = f"label graph kind {kind!r}" if kind.startswith("phylo") else "a phylogenetic attention bias"
        raise InputDataError(f"{what} needs a phylogeny (--tree FILE.nwk)")
    phy = read_tree(tree)
    report = reconcile(species, phy, synonyms=synonyms, unmatched=unmatched)
    kept = report.kept_species
    if needs_prior and len(kept) != len(species):
        pos = {s: i for i, s in enumerate(species)}
        Y = Y[:, [pos[s] for s in kept]]
    dist = phylo_distances(phy, report=report)
    if kind.startswith("phylo"):
        if phylo_clade_depth is not None:
            rule = {"clade_depth": phylo_clade_depth}
        elif phylo_quantile is not None:
            rule = {"quantile": phylo_quantile}
        else:
            rule = {"k": phylo_k if phylo_k is not None else DEFAULT_PHYLO_K}
        g = phylo_graph(dist, kept, metric=phylo_metric, **rule)
        if kind != "phylo":
            pr = LabelGraph.prior(Y, kept)
            comb = g.union(pr) if kind == "phylo+prior" else g.intersection(pr)
            g = LabelGraph(comb.mask, kept, kind, None, {**comb.info, "n_edges": int((comb.mask.sum() - len(kept)) // 2)})
    else:
        g = LabelGraph.complete(kept) if kind == "complete" else LabelGraph.prior(Y, kept)
    info = dict(g.info)
    info["tree"] = report.to_dict()
    bias = None
    if phylo_bias_scale is not None:
        scale = None if phylo_bias_scale == "auto" else float(phylo_bias_scale)
        bias = phylo_bias(dist, kept, scale=scale, metric=phylo_metric)
        info["bias"] = {"kind": "phylo", "metric": phylo_metric, "scale": "auto(median)" if scale is None else scale}
    return LabelGraph(g.mask, kept, kind, bias, info), report
