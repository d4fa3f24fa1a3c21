"""Benchmark: phylogenetic distance matrices of the full bird tree pruned to 1,000 species.

Reads ``../shared/data/trees/birds_full.nwk`` (11,167 tips), draws ``--n-species``
random tips (seeded), reconciles them as data species, and times

* reading the Newick file (ete3 parse + checks),
* reconciliation (name normalisation and matching),
* :func:`jsdm_hot.phylo.phylo_distances` (implicit pruning + vectorised patristic,
  topological and MRCA-depth matrices),
* :func:`jsdm_hot.phylo.phylo_graph` (k = 3) and :func:`jsdm_hot.phylo.phylo_bias`,
* for reference, ete3's own ``prune`` and an ete3 ``get_distance`` loop over a
  sample of pairs (extrapolated to all L(L-1)/2 pairs), which also checks that
  the vectorised values agree.

Usage::

    python benchmarks/phylo_distance.py [--n-species 1000] [--repeats 3] [--seed 0] [--out benchmarks/results/phylo_distance.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from jsdm_hot import phylo

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT.parent / "shared" / "data" / "trees" / "birds_full.nwk"


def _best(fn, repeats: int):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", type=Path, default=TREE)
    ap.add_argument("--n-species", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-check-pairs", type=int, default=2000, help="pairs checked against ete3 get_distance")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "phylo_distance.md")
    args = ap.parse_args()

    rows = []
    t_read, t_read_med, phy = _best(lambda: phylo.read_tree(args.tree), args.repeats)
    rows.append(("read Newick (ete3 parse + checks)", t_read, t_read_med))
    rng = np.random.default_rng(args.seed)
    tips = list(phy.tip_names)
    pick = rng.choice(len(tips), size=args.n_species, replace=False)
    species = [tips[i].replace("_", " ") for i in pick]  # as a data set would name them

    t_rec, t_rec_med, report = _best(lambda: phylo.reconcile(species, phy), args.repeats)
    rows.append((f"reconcile {args.n_species} species", t_rec, t_rec_med))
    t_dist, t_dist_med, dist = _best(lambda: phylo.phylo_distances(phy, report=report), args.repeats)
    rows.append(("phylo_distances (prune + patristic + topological + MRCA depth)", t_dist, t_dist_med))
    t_graph, t_graph_med, graph = _best(lambda: phylo.phylo_graph(dist, k=3), args.repeats)
    rows.append(("phylo_graph k=3", t_graph, t_graph_med))
    t_bias, t_bias_med, _ = _best(lambda: phylo.phylo_bias(dist), args.repeats)
    rows.append(("phylo_bias (median scale)", t_bias, t_bias_med))
    t_prune, t_prune_med, pruned = _best(lambda: phylo.prune_tree(phy, list(report.tips.values())), 1)
    rows.append(("reference: ete3 copy + prune(preserve_branch_length)", t_prune, t_prune_med))

    # reference loop of ete3 get_distance on a sample of pairs of the pruned tree; also a correctness check
    leaves = {leaf.name: leaf for leaf in pruned.tree}
    L = len(species)
    ii = rng.integers(0, L, size=args.n_check_pairs)
    jj = rng.integers(0, L, size=args.n_check_pairs)
    t0 = time.perf_counter()
    ref_pat = np.array([pruned.tree.get_distance(leaves[dist.tips[i]], leaves[dist.tips[j]]) for i, j in zip(ii, jj)])
    t_loop = time.perf_counter() - t0
    ref_top = np.array([pruned.tree.get_distance(leaves[dist.tips[i]], leaves[dist.tips[j]], topology_only=True)
                        for i, j in zip(ii, jj)])
    err_pat = float(np.abs(dist.patristic[ii, jj] - ref_pat).max())
    same = ii == jj
    err_top = float(np.abs(dist.topological[ii, jj][~same] - (ref_top[~same] + 1)).max())
    n_pairs = L * (L - 1) // 2
    t_loop_all = t_loop / args.n_check_pairs * n_pairs
    rows.append((f"reference: ete3 get_distance loop, all {n_pairs} pairs (extrapolated from {args.n_check_pairs})",
                 t_loop_all, t_loop_all))

    lines = [
        "# Phylogenetic distance benchmark",
        "",
        f"Tree: `{args.tree.name}` ({phy.n_tips} tips), pruned to {L} random species (seed {args.seed}); "
        f"best and median of {args.repeats} runs.",
        f"Machine: {platform.machine()}, {platform.python_version()}, numpy {np.__version__}; "
        "shared CPU (2 cores, other jobs running).",
        "",
        "| step | best (s) | median (s) |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {best:.3f} | {med:.3f} |" for name, best, med in rows]
    lines += [
        "",
        f"Pruned tree: {pruned.n_tips} tips; phylo graph k=3: {graph.info['n_edges']} edges "
        f"(density {graph.density:.4f}).",
        f"Check against ete3 `get_distance` on {args.n_check_pairs} random pairs of the ete3-pruned tree: "
        f"max |patristic difference| = {err_pat:.2e} Myr; topological distance = ete3 topology_only + 1 "
        f"(max difference {err_top:.0f}).",
        f"Speed-up of `phylo_distances` over the ete3 loop: {t_loop_all / t_dist:.0f}x.",
        "",
        "Reproduce: `python benchmarks/phylo_distance.py`",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
