"""``jsdm-hot explain``: the model card (importance, response curves, associations, limits) of a saved model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional

import typer

from jsdm_hot.cli import app
from jsdm_hot.cli import common as c

logger = logging.getLogger(__name__)


def _read_pairs(path: Optional[Path]) -> dict[str, str]:
    """Two-column CSV (name, label) → dict."""
    from jsdm_hot.explain.labels import species_labels

    return {} if path is None else species_labels(path)


@app.command("explain")
def explain(
    model_dir: Path = typer.Argument(..., help="Model directory written by `jsdm-hot fit` (or a baseline's save)."),
    data: Path = typer.Argument(..., help="Sites with observed occurrences (CSV/TSV/parquet), e.g. the table given "
                                         "to `jsdm-hot fit`."),
    out: Path = typer.Option(Path("explain"), "--out", "-o", help="Folder for model_card.md, figures/ and tables/."),
    test_frac: float = typer.Option(0.2, "--test-frac", help="When the model records no held-out sites: hold out this "
                                    "share of DATA as `jsdm-hot fit` did (same --split/--seed/--block-km); 0: all of "
                                    "DATA is held out. Models saved by `jsdm-hot fit` record their held-out sites."),
    split: str = typer.Option("random", "--split", help="How fit held out test sites: random | spatial | temporal."),
    block_km: float = typer.Option(50.0, "--block-km", help="Block size of the spatial split, km."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split (as given to fit), the draws and the permutations."),
    train: Optional[Path] = typer.Option(None, "--train", help="Training table (covariate ranges, prevalences) when "
                                         "--test-frac is 0 and the model records no ranges."),
    grid: Optional[Path] = typer.Option(None, "--grid", help="Table of map cells (CSV/parquet with covariate columns): "
                                        "share of cells outside the training range."),
    tree: Optional[Path] = typer.Option(None, "--tree", help="Newick tree ordering the association heatmap (default: the tree the model was fitted with, when it records one)."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="CSV of species display names (scientific_name, "
                                          "common_name columns, or the first two columns)."),
    covariate_labels: Optional[Path] = typer.Option(None, "--covariate-labels", help="CSV of covariate axis labels "
                                                    "with units (covariate, label)."),
    label_schemes: str = typer.Option("effort", "--label-schemes", help="Covariate naming schemes to label: any of "
                                      "effort, bioclim (WorldClim bio1-19, v1.4 units), nlcd (X<code> land-cover shares)."),
    effort: Optional[str] = typer.Option(None, "--effort", help="Comma-separated effort covariates, ranked apart "
                                         "(default: the eBird effort covariates)."),
    draws: int = typer.Option(50, "--draws", help="Joint draws per site for the evaluation and associations "
                              "(response bands use at most 20)."),
    repeats: int = typer.Option(5, "--repeats", help="Permutations per covariate for the importance."),
    grid_points: int = typer.Option(20, "--grid-points", help="Values per response curve."),
    curves: int = typer.Option(4, "--curves", help="Environmental covariates with response curves (+ the top effort one)."),
    max_sites: int = typer.Option(1000, "--max-sites", help="Held-out sites scored for the importance (bounds time)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    site_col: Optional[str] = c.SiteCol,
    lon_col: Optional[str] = c.LonCol,
    lat_col: Optional[str] = c.LatCol,
    covariates: Optional[List[str]] = c.Covariates,
    join_on: Optional[str] = c.JoinOn,
) -> None:
    """Explain a fitted model: which covariates drive each species, response curves, associations, known limits."""
    from jsdm_hot.data.columns import ColumnSpec
    from jsdm_hot.explain import covariate_labels as make_covariate_labels
    from jsdm_hot.explain import write_model_card
    from jsdm_hot.explain.sites import explain_sites
    from jsdm_hot.registry import load_model

    model = load_model(model_dir, device=device)
    feats = list(model.feature_names_in_)
    columns = ColumnSpec(species=tuple(model.species_), covariates=tuple(feats), site=site_col, lon=lon_col, lat=lat_col)
    community = c.load_data(data, columns, covariates=covariates, join_on=join_on)
    train_data, test = explain_sites(model, community, test_fraction=test_frac, split=split, seed=seed,
                                     block_km=block_km)
    if train is not None:
        train_data = c.load_data(train, columns, covariates=covariates, join_on=join_on)
    grid_table = None
    if grid is not None:
        from jsdm_hot.data.tables import read_table

        grid_table = read_table(grid)
    schemes = tuple(c.split_list(label_schemes) or ())
    cov_labels = make_covariate_labels(feats, schemes, overrides=_read_pairs(covariate_labels))
    sp_labels = _read_pairs(labels) or None
    logger.info("explaining %s on %d held-out sites (%s)", type(model).__name__, test.n_sites, data)
    paths = write_model_card(
        model, test, out, train=train_data, grid=grid_table, labels=sp_labels, covariate_labels=cov_labels,
        effort=c.split_list(effort), tree=tree, n_draws=draws, n_repeats=repeats, n_points=grid_points,
        n_curves=curves, max_sites=max_sites, seed=seed,
    )
    from rich.console import Console

    n_fig = sum(k.startswith("fig_") for k in paths)
    n_tab = sum(k.startswith("table_") for k in paths)
    Console().print(f"wrote [bold]{paths['card']}[/bold] with {n_fig} figures and {n_tab} tables")
