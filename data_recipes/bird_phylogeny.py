#!/usr/bin/env python
"""Recipe: a bird phylogeny matched to your eBird species -> pruned Newick + a name-matching report.

The tree download is a MANUAL step (see ``bird_phylogeny.md``): the AvesData
dated tree (Clements/eBird names; CC-BY 4.0) or a BirdTree.org sample (Jetz et al.
2012 names; needs synonyms). This script starts from the local file and

1. reads the species of your data (a wide table from ``ebird_extract.py`` /
   ``jsdm-hot prepare``, or a text file with one name per line);
2. reads the tree (Newick or NEXUS, optionally gzipped; a file of several trees,
   as BirdTree ships, with ``--tree-index`` picking one);
3. reconciles names: normalisation (case, ``_`` vs space), then synonyms from the
   eBird taxonomy (subspecies -> species, English names) and from your own CSV
   (``old,new``: e.g. ``Parus caeruleus,Cyanistes caeruleus``) for older names;
4. writes the tree pruned to the matched species and a CSV saying, per species,
   ``exact`` / ``synonym`` / ``unmatched`` with suggestions;
5. exits with status 1 when species are unmatched (unless ``--allow-unmatched``),
   so a pipeline cannot silently lose species.

Example::

    python data_recipes/bird_phylogeny.py --tree summary_dated_clements.nwk \\
        --species-from checklists_ga_june.csv --taxonomy ebird_taxonomy_v2025.csv \\
        --out-tree birds_ga.nwk --out-report birds_ga_names.csv

then ``jsdm-hot fit checklists_ga_june.csv --tree birds_ga.nwk --graph phylo+prior ...``.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

logger = logging.getLogger("bird_phylogeny")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Match a bird tree to your species, prune it, report the names.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--tree", type=Path, required=True,
                   help="Newick file (one or several ';'-terminated trees) or NEXUS file (.nex, e.g. AvesData, BirdTree)")
    p.add_argument("--tree-index", type=int, default=0, help="which tree of a multi-tree file (0-based)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--species-from", type=Path, help="wide table (CSV/TSV/Parquet): its species columns")
    src.add_argument("--species-list", type=Path, help="text file, one species name per line")
    p.add_argument("--species-prefix", help="species columns of --species-from start with this prefix")
    p.add_argument("--taxonomy", type=Path, help="eBird/Clements taxonomy CSV: subspecies and English-name synonyms")
    p.add_argument("--synonyms", type=Path, help="CSV old,new of extra synonyms (older or other-taxonomy names)")
    p.add_argument("--out-tree", type=Path, required=True, help="pruned Newick output")
    p.add_argument("--out-report", type=Path, required=True, help="per-species matching report (CSV)")
    p.add_argument("--allow-unmatched", action="store_true",
                   help="exit 0 even when species are unmatched (they are listed in the report)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def _translate(newick: str, table: dict[str, str]) -> str:
    """Replace NEXUS TRANSLATE tokens (tip numbers) by names: tokens right after '(' or ','."""
    return re.sub(r"(?<=[(,])\s*([^\s:,()\[\];]+)", lambda m: table.get(m.group(1), m.group(1)), newick)


def split_trees(text: str) -> list[str]:
    """The trees of a Newick file (';'-terminated) or of a NEXUS file's TREES block.

    NEXUS (AvesData ``*.nex``, BirdTree downloads): ``[...]`` comments are removed
    and a TRANSLATE table, when present, is applied to the tip labels.
    """
    text = text.lstrip("\ufeff")
    if text.lstrip().upper().startswith("#NEXUS"):
        body = re.sub(r"\[[^\]]*\]", "", text)
        m = re.search(r"begin\s+trees\s*;(.*?)\bend\s*;", body, flags=re.I | re.S)
        if not m:
            raise ValueError("NEXUS file without a TREES block")
        block = m.group(1)
        table: dict[str, str] = {}
        tm = re.search(r"translate\s+(.*?);", block, flags=re.I | re.S)
        if tm:
            for item in tm.group(1).split(","):
                parts = item.split()
                if len(parts) >= 2:
                    table[parts[0]] = parts[1].strip("'\"")
            block = block[tm.end():]
        trees = [_translate(t.strip() + ";", table) for t in re.findall(r"\btree\s+[^=]+=\s*([^;]+);", block, flags=re.I)]
    else:
        trees = [t.strip() + ";" for t in text.split(";") if t.strip()]
    if not trees:
        raise ValueError("no tree found (Newick text ending with ';' or a NEXUS TREES block)")
    return trees


def read_species(args: argparse.Namespace) -> list[str]:
    """Species names from a wide table (via read_wide_csv's species detection) or a list file."""
    if args.species_list is not None:
        names = [ln.strip() for ln in args.species_list.read_text(encoding="utf-8").splitlines()]
        return [n for n in names if n and not n.startswith("#")]
    from jsdm_hot.data.tables import read_wide_csv

    return list(read_wide_csv(args.species_from, species_prefix=args.species_prefix).species)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from jsdm_hot.phylo import prune_tree, read_synonyms, read_tree, reconcile, synonyms_from_ebird_taxonomy

    species = read_species(args)
    raw = args.tree.read_bytes()
    if args.tree.suffix == ".gz":
        import gzip

        raw = gzip.decompress(raw)
    try:
        trees = split_trees(raw.decode("utf-8"))
    except ValueError as exc:
        print(f"error: {args.tree}: {exc}", file=sys.stderr)
        return 2
    if not 0 <= args.tree_index < len(trees):
        print(f"error: {args.tree} holds {len(trees)} trees; --tree-index must be in 0..{len(trees) - 1}",
              file=sys.stderr)
        return 2
    tree = read_tree(trees[args.tree_index], source=f"{args.tree} (tree {args.tree_index})")
    synonyms: dict[str, str] = {}
    if args.taxonomy is not None:
        synonyms.update(synonyms_from_ebird_taxonomy(args.taxonomy))
    if args.synonyms is not None:
        synonyms.update(read_synonyms(args.synonyms))  # the user's own table wins
    report = reconcile(species, tree, synonyms=synonyms or None, unmatched="drop")
    pruned = prune_tree(tree, [report.tips[s] for s in report.matched])
    args.out_tree.parent.mkdir(parents=True, exist_ok=True)
    args.out_tree.write_text(pruned.to_newick() + "\n", encoding="utf-8")
    report.to_frame().to_csv(args.out_report, index=False)
    print(report.summary())
    print(f"pruned tree: {pruned.n_tips} tips -> {args.out_tree}; report -> {args.out_report}")
    if report.unmatched and not args.allow_unmatched:
        print(f"{len(report.unmatched)} species unmatched: add them to a synonyms CSV (old,new) "
              "or pass --allow-unmatched", file=sys.stderr)
        return 1
    return 0


def run(argv: list[str] | None = None) -> int:
    """``main`` with jsdm-hot input errors turned into a one-line message and exit status 2."""
    from jsdm_hot.errors import JsdmHotError

    try:
        return main(argv)
    except JsdmHotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
