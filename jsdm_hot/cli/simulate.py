"""``jsdm-hot simulate``: write the embedded simulated example to a folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from jsdm_hot.cli import app

logger = logging.getLogger(__name__)


@app.command()
def simulate(
    outdir: Path = typer.Argument(..., help="Folder to write community.csv, grid.csv, tree.nwk and truth.json into."),
    sites: int = typer.Option(600, "--sites", min=1, help="Number of surveyed sites (grid cells)."),
    species: int = typer.Option(24, "--species", min=2, help="Number of species (tips of the tree)."),
    covariates: int = typer.Option(4, "--covariates", min=1, help="Number of covariates (temp, precip, forest, elev, ...)."),
    interactions: Optional[int] = typer.Option(
        None, "--interactions", min=0, help="Higher-order (three-species) interactions [default: 3, fewer if < 9 species]."
    ),
    phylo_signal: float = typer.Option(0.8, "--phylo-signal", min=0.0, max=1.0, help="Pagel's lambda of coefficients and residuals."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed writes identical files."),
) -> None:
    """Simulate a community with a known tree, residual correlation and interactions, and write it.

    The files are replaced if they exist. See ``jsdm_hot.data.simulate`` for the model.
    """
    from rich.console import Console
    from rich.table import Table

    from jsdm_hot.data.simulate import write_example
    from jsdm_hot.data.tables import read_wide_csv

    paths = write_example(
        outdir, n_sites=sites, n_species=species, n_covariates=covariates,
        n_interactions=interactions, phylo_signal=phylo_signal, seed=seed,
    )
    data = read_wide_csv(paths["community"])
    prev = data.Y.mean(axis=0)
    table = Table(title="simulated example")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    table.add_column("contents")
    contents = {
        "community": f"{data.n_sites} sites, covariates {', '.join(data.covariates)}, {data.n_species} species",
        "grid": "every grid cell with its covariates (for maps)",
        "tree": "ultrametric Newick tree of the species",
        "truth": "true coefficients, residual correlation, interactions, probabilities",
    }
    for key, path in paths.items():
        table.add_row(path.name, f"{path.stat().st_size:,}", contents[key])
    console = Console()
    console.print(table)
    console.print(f"written to {outdir}", soft_wrap=True)
    console.print(f"prevalence {prev.min():.3f} - {prev.max():.3f} (median {float(sorted(prev)[len(prev) // 2]):.3f}); seed {seed}")
