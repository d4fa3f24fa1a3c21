"""``jsdm-hot tree-check``: reconcile a data set's species with a Newick tree and print the report.

Examples
--------
::

    jsdm-hot tree-check occurrences.csv --tree birds.nwk
    jsdm-hot tree-check species.csv --names-col latin_name --tree birds.nwk --synonyms syn.csv
    jsdm-hot tree-check ebird.csv --tree birds.nwk --ebird-taxonomy ebird_taxonomy.csv --out report.csv

The exit status is 0 when every species matches a tip, or when some do not and
``--tree-unmatched drop|connect`` says what ``fit`` would do with them; it is 1
when species are unmatched under the default policy ``error``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from jsdm_hot.cli import app
from jsdm_hot.data.columns import ColumnSpec
from jsdm_hot.errors import InputDataError
from jsdm_hot.phylo import DEFAULT_PHYLO_K  # light: ete3 is imported only when a tree is read

__all__ = ["tree_check"]

@app.command("tree-check")
def tree_check(
    data: Path = typer.Argument(..., help="Wide CSV of 0/1 species columns, or a species table (with --names-col)."),
    tree: Path = typer.Option(..., "--tree", help="Newick file whose tips are species."),
    synonyms: Optional[Path] = typer.Option(None, "--synonyms", help="CSV synonym table with columns old,new."),
    ebird_taxonomy: Optional[Path] = typer.Option(
        None, "--ebird-taxonomy", help="eBird taxonomy CSV: adds subspecies→species and common→scientific names as synonyms."),
    names_col: Optional[str] = typer.Option(None, "--names-col", help="DATA is a species table: column listing one species name per row."),
    species_cols: Optional[str] = typer.Option(None, "--species-cols", help="Comma-separated species columns (default: all 0/1 columns)."),
    species_prefix: Optional[str] = typer.Option(None, "--species-prefix", help="Columns starting with this prefix are species."),
    covariate_cols: Optional[str] = typer.Option(None, "--covariate-cols", help="Covariate columns (as fit's option)."),
    unmatched: str = typer.Option("error", "--tree-unmatched", help="Unmatched species: error | drop | connect."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the per-species report to this CSV."),
    write_pruned: Optional[Path] = typer.Option(None, "--write-pruned", help="Write the tree pruned to the matched species (Newick)."),
    phylo_k: int = typer.Option(DEFAULT_PHYLO_K, "--phylo-k", help="Also describe the phylo graph with k nearest relatives."),
) -> None:
    """Match the data's species to the tree's tips and print the reconciliation report."""
    from jsdm_hot import phylo

    if unmatched not in phylo.UNMATCHED_POLICIES:
        raise InputDataError(f"--tree-unmatched must be one of {', '.join(phylo.UNMATCHED_POLICIES)}, got {unmatched!r}")
    from jsdm_hot.data.tables import species_in_table

    columns = ColumnSpec.from_options(species_cols=species_cols, species_prefix=species_prefix, covariate_cols=covariate_cols)
    species = species_in_table(data, columns, names_col=names_col)
    syn: dict[str, str] = {}
    if ebird_taxonomy is not None:
        syn.update(phylo.synonyms_from_ebird_taxonomy(ebird_taxonomy))
    if synonyms is not None:
        syn.update(phylo.read_synonyms(synonyms))  # the user's table wins
    phy = phylo.read_tree(tree)
    # reconcile without raising so the full report is printed, then apply the policy
    report = phylo.reconcile(species, phy, synonyms=syn or None, unmatched="connect")
    report = dataclasses.replace(report, policy=unmatched)
    typer.echo(report.summary())
    if not (report.unmatched and unmatched == "error"):  # fit would stop on unmatched species
        dist = phylo.phylo_distances(phy, report=report)
        graph = phylo.phylo_graph(dist, report.kept_species, k=phylo_k)
        unit = "" if phy.has_branch_lengths else " (no branch lengths: edges)"
        off = dist.patristic[~np.eye(len(dist.species), dtype=bool)]
        typer.echo(
            f"phylo graph (k={phylo_k}) over {graph.n_species} species: {graph.info['n_edges']} edges, "
            f"density {graph.density:.3f}; patristic distances{unit}: median {np.median(off) if off.size else 0:.4g}, "
            f"max {off.max() if off.size else 0:.4g}"
        )
    if out is not None:
        report.to_frame().to_csv(out, index=False)
        typer.echo(f"per-species report written to {out}")
    if write_pruned is not None:
        pruned = phylo.prune_tree(phy, list(dict.fromkeys(report.tips.values())))
        write_pruned.write_text(pruned.to_newick() + "\n", encoding="utf-8")
        typer.echo(f"pruned tree ({pruned.n_tips} tips) written to {write_pruned}")
    if report.unmatched and unmatched == "error":
        raise typer.Exit(code=1)
