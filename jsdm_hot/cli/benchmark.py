"""``jsdm-hot benchmark``: compare HOT-VAE and the baselines on the user's data over a few seeds."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, List, Optional

import typer

from jsdm_hot.cli import app
from jsdm_hot.cli import common as c
from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)

_SPLITS = ("random", "spatial", "temporal")


def parse_model_params(items: Optional[List[str]], models: list[str]) -> dict[str, dict[str, Any]]:
    """``["hotvae.d_model=16", "lamp.lr=0.003"]`` → ``{"hotvae": {"d_model": 16}, "lamp": {"lr": 0.003}}``.

    Values are read as JSON (numbers, ``true``, ``null``, quoted strings) and
    otherwise kept as strings. Every model of ``models`` gets an entry.
    """
    out: dict[str, dict[str, Any]] = {m: {} for m in models}
    for key, value in c.parse_assignments(items, "--param", "MODEL.NAME=VALUE").items():
        model, dot, name = key.partition(".")
        if not dot or not model or not name:
            raise InputDataError(f"--param {key}=...: expected MODEL.NAME=VALUE, e.g. hotvae.d_model=32")
        if model not in out:
            raise InputDataError(f"--param {key}=...: model {model!r} is not in --models ({', '.join(models)})")
        out[model][name] = value
    return out


@app.command()
def benchmark(
    data: Path = typer.Argument(..., help="Wide site × species table (CSV/TSV/parquet), or a raw EBD file with --sampling."),
    models: str = typer.Option("hotvae,logistic,rf,gbm,maxent,mlknn,mpvae,lamp,c2ae", "--models",
                               help="Comma-separated models: hotvae and the baselines logistic, rf (random forest), "
                                    "gbm (LightGBM), maxent (elapid), mlknn, mpvae, lamp, c2ae."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Number of seeds (0, 1, ...); each seed redraws the split and the model initialisation."),
    split: str = typer.Option("random", "--split", help="How to split sites into train / validation / test: random | spatial | temporal."),
    val_frac: float = typer.Option(0.1, "--val-frac", help="Share of sites for validation (early stopping, thresholds)."),
    test_frac: float = typer.Option(0.2, "--test-frac", help="Share of sites for the test scores."),
    block_km: float = typer.Option(50.0, "--block-km", help="Block size of the spatial split, km."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Maximum epochs of every iterative model (default: each model's own)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda, for the neural models."),
    param: Optional[List[str]] = typer.Option(None, "--param", help="Model hyper-parameter MODEL.NAME=VALUE (repeatable), e.g. hotvae.d_model=64, lamp.lr=0.003."),
    out: Path = typer.Option(Path("benchmark.md"), "--out", "-o", help="Markdown table of mean ± sd per model."),
    records_csv: Optional[Path] = typer.Option(None, "--records", help="Also write every model × seed result as CSV."),
    species_cols: Optional[str] = c.SpeciesCols,
    species_prefix: Optional[str] = c.SpeciesPrefix,
    covariate_cols: Optional[str] = c.CovariateCols,
    site_col: Optional[str] = c.SiteCol,
    lon_col: Optional[str] = c.LonCol,
    lat_col: Optional[str] = c.LatCol,
    covariates: Optional[List[str]] = c.Covariates,
    join_on: Optional[str] = c.JoinOn,
    sampling: Optional[Path] = c.Sampling,
) -> None:
    """Fit each model on a train split of DATA for each seed and compare ebF1, miF1, maF1, Hamming accuracy and median AUC on the test split."""
    from rich.console import Console
    from rich.table import Table

    from jsdm_hot.evaluation.benchmark import METRICS, aggregate, run_benchmark, table_rows, to_markdown
    from jsdm_hot.io import atomic_write_text
    from jsdm_hot.registry import check_model_names, make_model, model_param_names

    names = check_model_names(c.split_list(models) or [])
    if split not in _SPLITS:
        raise InputDataError(f"--split must be one of {', '.join(_SPLITS)}, got {split!r}")
    if not (0 < val_frac < 1 and 0 < test_frac < 1 and val_frac + test_frac < 1):
        raise InputDataError(f"--val-frac ({val_frac}) and --test-frac ({test_frac}) must be in (0, 1) with a sum below 1")
    params = parse_model_params(param, names)
    for name in names:
        accepted = model_param_names(name)
        if epochs is not None and "max_epochs" in accepted:
            params[name].setdefault("max_epochs", int(epochs))
        if "device" in accepted:
            params[name].setdefault("device", device)
        make_model(name, params[name])  # bad parameters fail before the data are read
    columns = c.column_spec(species_cols, species_prefix, covariate_cols, site_col, lon_col, lat_col)
    community = c.load_data(data, columns, covariates=covariates, join_on=join_on, sampling=sampling)
    console = Console()
    console.print(f"benchmark on {community.n_sites} sites × {community.n_species} species, {split} split, "
                  f"{seeds} seed(s): {', '.join(names)}", soft_wrap=True)

    def show(rec: dict) -> None:
        console.print(f"  {rec['model']:<8} seed {rec['seed']}: "
                      + "  ".join(f"{m} {rec[m]:.3f}" for m in METRICS) + f"  ({rec['fit_seconds']:.1f} s)")

    fractions = (1.0 - val_frac - test_frac, val_frac, test_frac)
    records = run_benchmark(community, params, list(range(seeds)), split=split, fractions=fractions,
                            block_km=block_km, callback=show)
    table = aggregate(records)
    md = to_markdown(table)

    rt = Table(title=f"test-set metrics, mean ± sd over {seeds} seed(s) ({split} split)")
    header, rows = table_rows(table)
    for i, h in enumerate(header):
        if i == 0:
            rt.add_column(h, justify="left", no_wrap=True, min_width=max(len(r[0]) for r in rows))
        else:
            rt.add_column(h, justify="right")
    for row in rows:
        rt.add_row(*row)
    console.print(rt)

    title = (f"# jsdm-hot benchmark\n\nData: `{data}` ({community.n_sites} sites, {community.n_species} species, "
             f"{community.n_features} covariates). Split: {split}, fractions train/val/test "
             f"{fractions[0]:.2f}/{val_frac:.2f}/{test_frac:.2f}"
             + (f", blocks of {block_km:g} km" if split == "spatial" else "")
             + f". Seeds: {', '.join(map(str, range(seeds)))}. Cells: mean ± sd over seeds (sd with ddof 1).\n\n")
    notes = "".join(f"- {n}: {json.dumps(params[n], sort_keys=True)}\n" for n in names)
    atomic_write_text(out, title + md + "\nParameters:\n\n" + notes)
    console.print(f"wrote [bold]{out}[/bold]")
    if records_csv is not None:
        import pandas as pd

        atomic_write_text(records_csv, pd.DataFrame(records).to_csv(index=False))
        console.print(f"wrote [bold]{records_csv}[/bold]")
