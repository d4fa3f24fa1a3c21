"""Reading and validating Newick trees: :class:`Phylogeny`, :func:`read_tree`, :func:`prune_tree`.

:func:`read_tree` reads a Newick file or string with ete3 (with or without
branch lengths, quoted labels, internal node names, ``[...]`` comments) into a
:class:`Phylogeny`. Malformed text, an empty tree, unnamed or duplicate tips
(also after :func:`~jsdm_hot.phylo.names.normalize_name`) raise
:class:`~jsdm_hot.errors.TreeError` naming the file and the problem.
:func:`prune_tree` gives the tree induced by some tips.

ete3 is an optional dependency (extra ``phylo``) and is imported inside the
functions that need it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from jsdm_hot.errors import TreeError
from jsdm_hot.phylo.names import _key

__all__ = ["Phylogeny", "read_tree", "prune_tree"]

logger = logging.getLogger(__name__)

_NO_ETE3 = "reading phylogenies needs ete3: pip install 'jsdm-hot[phylo]' (ete3 and six)"


def _ete3():
    try:
        import ete3  # noqa: PLC0415 (optional dependency)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TreeError(_NO_ETE3) from exc
    return ete3



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
