"""Species names: normalisation for matching tips to data columns, and synonym tables.

:func:`normalize_name` removes underscores/spaces, case differences, trailing
author strings, ``birds(...)``-style wrappers and OpenTree ``_ott123``
suffixes; :func:`read_synonyms` reads an old→new CSV table and
:func:`synonyms_from_ebird_taxonomy` derives one from the eBird/Clements
taxonomy. :func:`~jsdm_hot.phylo.reconcile.reconcile` uses both.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Mapping

from jsdm_hot.errors import TreeError

__all__ = ["normalize_name", "read_synonyms", "synonyms_from_ebird_taxonomy"]

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
