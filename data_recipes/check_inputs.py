#!/usr/bin/env python
"""Recipe: check that prepared inputs fit together before a long ``jsdm-hot fit`` / ``jsdm-hot map``.

Inputs are what the other recipes produce: a wide table of checklists (species 0/1
columns and covariates), optionally a pruned tree, optionally a prediction grid (a
folder of covariate GeoTIFFs or a table of cells). The script reports

* sites, species, covariates; species never or always present (no information);
* covariates that are not finite (the fit would refuse them);
* species without a tip in the tree (the ``phylo`` label graphs need every species,
  or ``--tree-unmatched drop/connect``);
* model covariates missing from the grid, split into eBird effort covariates
  (filled by ``jsdm-hot map --standard-effort``) and others (need ``--constant``);

and prints the ``jsdm-hot fit`` and ``jsdm-hot map`` commands. It exits with status
1 when a problem would make those commands fail. No network, no training.

Example::

    python data_recipes/check_inputs.py checklists_env.csv --tree birds_ga.nwk --grid grid_ga/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Check a wide table, a tree and a grid before fitting and mapping.")
    p.add_argument("table", type=Path, help="wide table of sites (CSV/TSV/Parquet), as `jsdm-hot fit` reads it")
    p.add_argument("--tree", type=Path, help="Newick tree of the species (optional)")
    p.add_argument("--synonyms", type=Path, help="synonym CSV (old,new) for the tree names")
    p.add_argument("--grid", type=Path, help="prediction grid: folder of GeoTIFFs, a raster, or a table of cells")
    p.add_argument("--map-date", default="2020-06-15", help="date whose day-of-year/year values to map at")
    p.add_argument("--species-prefix", help="species columns start with this prefix (default: 0/1 columns)")
    return p.parse_args(argv)


def check(args: argparse.Namespace) -> list[str]:
    """Print a report; return the list of blocking problems."""
    import numpy as np

    from jsdm_hot.data.ebird import standard_effort
    from jsdm_hot.data.tables import read_wide_csv

    problems: list[str] = []
    data = read_wide_csv(args.table, species_prefix=args.species_prefix)   # validates 0/1 and finite covariates
    prev = data.Y.mean(axis=0)
    print(f"{args.table}: {data.n_sites} sites, {data.n_species} species, {data.n_features} covariates")
    print(f"  covariates: {', '.join(data.covariates)}")
    print(f"  prevalence: min {prev.min():.3f}, median {np.median(prev):.3f}, max {prev.max():.3f}")
    flat = [s for s, p in zip(data.species, prev) if p in (0.0, 1.0)]
    if flat:
        print(f"  warning: {len(flat)} species are never or always present (no information): {flat[:10]}")
    if data.n_species < 2:
        problems.append("fewer than 2 species: a joint model needs several")

    if args.tree is not None:
        from jsdm_hot.phylo import reconcile

        report = reconcile(list(data.species), args.tree, synonyms=args.synonyms, unmatched="drop")
        print(report.summary(max_list=20))
        if report.unmatched:
            problems.append(f"{len(report.unmatched)} species have no tip in {args.tree}: add synonyms, or fit "
                            "with --tree-unmatched drop/connect")

    if args.grid is not None:
        from jsdm_hot.maps import open_grid

        grid = open_grid(args.grid)
        have = set(grid.variables)
        missing = [c for c in data.covariates if c not in have]
        effort_names: set[str] = set()   # what `jsdm-hot map --standard-effort` fills (no date)
        dated: set[str] = set()          # day of year / year: need a date, i.e. --constant
        for de in ("hours", "log"):
            for te in ("cyclic", "hours"):
                effort_names |= set(standard_effort(duration_encoding=de, time_encoding=te))
                dated |= set(standard_effort(duration_encoding=de, time_encoding=te, date="2020-06-15"))
        dated -= effort_names
        effort = [c for c in missing if c in effort_names]
        need_date = [c for c in missing if c in dated]
        other = [c for c in missing if c not in effort_names and c not in dated]
        print(f"{args.grid}: grid {grid.shape[0]} x {grid.shape[1]} cells, variables {sorted(have)}")
        if effort:
            print(f"  effort covariates not in the grid (use --standard-effort): {effort}")
        if need_date:
            values = standard_effort(date=args.map_date)
            consts = " ".join(f"--constant {c}={values[c]:.6g}" for c in need_date if c in values)
            print(f"  date covariates not in the grid: map one date ({args.map_date}) with {consts}")
        if other:
            problems.append(f"covariates {other} are neither in the grid nor effort covariates: add rasters for "
                            "them or pass --constant NAME=VALUE")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problems = check(args)
    tree = f" --tree {args.tree} --graph phylo+prior" if args.tree else " --graph prior"
    print("\nnext:")
    print(f"  jsdm-hot fit {args.table}{tree} --out model/ --report report/")
    if args.grid is not None:
        print(f"  jsdm-hot map model/ {args.grid} --standard-effort --out maps/ --layers richness,uncertainty,community")
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    return 1 if problems else 0


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
