"""``jsdm-hot fit | predict | evaluate``: train, apply and score models (argument parsing only)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional

import typer

from jsdm_hot.cli import app
from jsdm_hot.cli import common as c
from jsdm_hot.errors import InputDataError

logger = logging.getLogger(__name__)


def _console():
    from rich.console import Console

    return Console(stderr=False)


def _print_metrics(title: str, metrics: dict) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    _console().print(table)


@app.command()
def fit(
    data: Path = typer.Argument(..., help="Wide site × species table (CSV/TSV/parquet), or a raw EBD file with --sampling."),
    out: Path = typer.Option(Path("jsdm_hot_model"), "--out", "-o", help="Model directory to write."),
    tree: Optional[Path] = typer.Option(None, "--tree", help="Newick phylogeny of the species: the label graph becomes "
                                        "phylogenetic (phylo+prior) unless --graph says otherwise."),
    graph: str = typer.Option("auto", "--graph", help="Label graph: auto (phylo+prior with --tree, else complete) | "
                              "complete | prior | phylo | phylo+prior | phylo&prior."),
    phylo_k: int = typer.Option(3, "--phylo-k", help="phylo graph: connect each species to its k closest relatives."),
    tree_unmatched: str = typer.Option("error", "--tree-unmatched", help="Species missing from the tree: error | drop | connect."),
    synonyms: Optional[Path] = typer.Option(None, "--synonyms", help="CSV of name synonyms (old,new) used to match tree tips."),
    val_frac: float = typer.Option(0.1, "--val-frac", help="Share of training sites for validation (early stopping, thresholds)."),
    test_frac: float = typer.Option(0.2, "--test-frac", help="Share of sites held out for the test report (0 = none)."),
    split: str = typer.Option("random", "--split", help="How to hold out test sites: random | spatial | temporal."),
    block_km: float = typer.Option(50.0, "--block-km", help="Block size of the spatial split, km."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Maximum epochs (default: HotVAE's max_epochs; "
                                         "early stopping on the validation score)."),
    patience: Optional[int] = typer.Option(None, "--patience", help="Epochs without improvement before stopping "
                                           "(default: HotVAE's)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Default: HotVAE's batch_size."),
    d_model: str = typer.Option("auto", "--d-model", help="Decoder width d (paper grid 100, 200, 512); auto: 200 on a "
                                "GPU, smaller on a CPU (HotVAE docstring)."),
    n_layers: Optional[int] = typer.Option(None, "--layers", help="Decoder layers (paper grid 2-5; default HotVAE's)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: HotVAE's)."),
    tune: bool = typer.Option(False, "--tune", help="Search hyper-parameters on the validation sites (optuna, "
                              "jsdm-hot[tune]) within --tune-budget; the best trial's model is saved, the trials "
                              "are printed and recorded in the model's metadata."),
    tune_budget: float = typer.Option(600.0, "--tune-budget", help="Wall-time budget of --tune, seconds."),
    lambda2: str = typer.Option("auto", "--lambda2", help="Weight of the ranking loss (Eq 16); auto: 0 on sparse "
                                "checklist data (< 3 species per site on average), else 1."),
    set_: Optional[List[str]] = c.Set,
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    devices: int = typer.Option(1, "--devices", help="Data-parallel training processes (one per GPU; gloo on CPU). "
                                "N > 1 relaunches this command under torchrun; on a cluster run "
                                "`torchrun --nproc-per-node N -m jsdm_hot.cli fit ...` yourself (docs/scaling.md)."),
    seed: int = typer.Option(0, "--seed"),
    draws: int = typer.Option(100, "--draws", help="Joint posterior draws for the test report."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the test-set evaluation report (tables, plots) here; "
                                          "with a residual association also residual_correlation.csv/.png (ordered by "
                                          "the tree of --tree, else by clustering) and residual_pairs.csv."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing model directory."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Checkpoint directory (written every epoch)."),
    resume: bool = typer.Option(False, "--resume", help="Resume training from --checkpoint."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    stream: bool = typer.Option(False, "--stream", help="Train from a parquet file or directory row group by row group "
                                "(data larger than memory). --val-frac of the row groups validate; no test report "
                                "(score a held-out file with `jsdm-hot evaluate`); --graph complete | prior."),
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
    """Train HOT-VAE on DATA, save it to --out, and score it on held-out sites."""
    from jsdm_hot import HotVAE
    from jsdm_hot.data.splits import train_test_split
    from jsdm_hot.training import distributed

    if out.exists() and not overwrite:
        raise InputDataError(f"{out} already exists; pass --overwrite to replace it")
    if devices < 1:
        raise InputDataError(f"--devices must be >= 1, got {devices}")
    if tune and (stream or devices > 1):
        raise InputDataError("--tune searches in memory in one process: drop --stream and --devices")
    if devices > 1 and not distributed.launched_by_torchrun():
        raise typer.Exit(_relaunch_under_torchrun(devices))
    ctx = distributed.init_from_env(device)
    params = dict(max_epochs=epochs, patience=patience, batch_size=batch_size, d_model=c.parse_value(d_model),
                  n_layers=n_layers, lr=lr, lambda2=c.parse_value(lambda2), graph=graph, tree=tree,
                  synonyms=synonyms, tree_unmatched=tree_unmatched, phylo_k=phylo_k, val_fraction=val_frac,
                  device=device, random_state=seed, progress=progress and not tune, checkpoint_dir=checkpoint)
    params = {k: v for k, v in params.items() if v is not None or k in ("tree", "synonyms", "checkpoint_dir")}
    params.update(c.parse_assignments(set_))
    model = HotVAE(**params)
    columns = c.column_spec(species_cols, species_prefix, covariate_cols, site_col, lon_col, lat_col)
    if stream:
        from jsdm_hot.data.streaming import ParquetCommunity

        model.fit(ParquetCommunity(data, columns), resume=resume)
        _save_on_main(model, out, overwrite, ctx, {"data": str(data)})
        return
    community = c.load_data(data, columns, covariates=covariates, join_on=join_on, sampling=sampling)
    logger.info("loaded %r", community)
    train, test = train_test_split(community, test_frac, kind=split, block_km=block_km, seed=seed)
    meta = {"data": str(data), "split": split, "test_fraction": test_frac, "seed": seed,
            "train_site_ids": list(train.site_ids), "test_site_ids": [] if test is None else list(test.site_ids)}
    if tune:
        model, meta["tuning"] = _tune(train, params, tune_budget, seed)
    else:
        model.fit(train, resume=resume)
    if not _save_on_main(model, out, overwrite, ctx, meta):
        return
    if test is not None:
        _report(model, test, draws=draws, seed=seed, report=report, title=f"held-out test sites ({test.n_sites})",
                progress=progress)


def _tune(train, params: dict, budget: float, seed: int):
    """``fit --tune``: the search, a table of the trials; returns the best model and the trials as records."""
    from rich.table import Table

    from jsdm_hot.estimators.tuning import tune

    fixed = {k: v for k, v in params.items() if k != "random_state"}
    _console().print(f"tuning HOT-VAE on the validation sites for up to {budget:.0f} s ...")
    result = tune(train, budget_seconds=budget, params=fixed, random_state=seed,
                  callback=lambda r: _console().print(f"  trial {r['trial']}: validation log-likelihood "
                                                      f"{r['val_loglik']:.5f}, maF1 {r['val_maf1']:.4f} "
                                                      f"({r['seconds']:.0f} s)"))
    table = Table(title=f"tuning: {len(result.trials)} trials (best: trial "
                        f"{int(result.trials['score'].idxmax())})")
    for col in result.trials.columns:
        table.add_column(str(col), justify="right")
    for row in result.trials.itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    _console().print(table)
    return result.model, result.trials.to_dict(orient="records")


def _save_on_main(model, out: Path, overwrite: bool, ctx, metadata: dict) -> bool:
    """Leave the process group; rank 0 saves the model. Returns whether this is rank 0."""
    from jsdm_hot.training import distributed

    distributed.shutdown()
    if not ctx.is_main:  # every rank holds the same model; rank 0 writes it
        return False
    model.save(out, overwrite=overwrite, metadata=metadata)
    _console().print(f"saved model to [bold]{out}[/bold] (best epoch {model.best_epoch_}, "
                     f"{len(model.species_)} species, {model.n_features_in_} covariates, graph {model.label_graph_.kind})")
    return True


def _relaunch_under_torchrun(n_procs: int) -> int:
    """Run this same ``fit`` command as ``n_procs`` torchrun processes; return the exit code."""
    import subprocess
    import sys

    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a == "--devices":
            skip = True
        elif not a.startswith("--devices="):
            args.append(a)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n_procs}",
           "-m", "jsdm_hot.cli", *args]
    logger.info("launching %d training processes: %s", n_procs, " ".join(cmd))
    return subprocess.run(cmd).returncode


def _report(model, data, *, draws: int, seed: int, report: Optional[Path], title: str, progress: bool = True) -> None:
    from jsdm_hot.metrics.mlc import mlc_report

    prob = model.predict_proba(data)
    data = data.select_species(model.species_)
    metrics = mlc_report(data.Y, prob, model.thresholds_)
    _print_metrics(f"Multi-label metrics on {title}", metrics)
    if report is not None:
        from jsdm_hot.evaluation import evaluate, write_report

        table = evaluate(model, data, n_draws=draws, seed=seed, progress=progress)
        _print_metrics(f"Norberg et al. (2019) metrics, {draws} joint draws",
                       {f"{g} {m} ({b} is better)": float(v) for g, m, v, b in
                        table.loc[table["group"] != "mlc", ["group", "metric", "value", "better"]].itertuples(index=False)})
        write_report(table, report, model=model, data=data, n_draws=draws, seed=seed)
        if model.has_residual_association:
            from jsdm_hot.explain.associations import write_residual_associations

            write_residual_associations(model, report)
        _console().print(f"wrote evaluation report to [bold]{report}[/bold]")


def _prediction_data(model, data: Path, *, site_col, lon_col, lat_col, covariates, join_on, with_species: bool,
                     fixed: dict | None = None):
    """DATA with the model's covariates (and species, for scoring); ``fixed`` covariates are set to constants."""
    from jsdm_hot.data.columns import ColumnSpec

    fixed = fixed or {}
    columns = ColumnSpec(species=tuple(model.species_) if with_species else (),
                         covariates=tuple(n for n in model.feature_names_in_ if n not in fixed),
                         site=site_col, lon=lon_col, lat=lat_col)
    return c.load_data(data, columns, covariates=covariates, join_on=join_on,
                       require_species=with_species).with_covariates(fixed)


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="Model directory written by `jsdm-hot fit` (any model class)."),
    data: Path = typer.Argument(..., help="Sites to predict at (CSV/TSV/parquet with the training covariates)."),
    out: Path = typer.Option(Path("predictions.csv"), "--out", "-o", help="CSV of per-species probabilities."),
    binary: bool = typer.Option(False, "--binary", help="Write 0/1 predictions (validation thresholds) instead of probabilities."),
    given: Optional[Path] = typer.Option(None, "--given", help="Partial checklist table (site id column + species "
                                         "columns of 1 = recorded present, 0 = recorded absent, empty = unknown; "
                                         "species or sites it lacks are unknown): write the probabilities given it. "
                                         "Needs a model with a residual association (HotVAE, residual_factors > 0)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the Monte Carlo draws of --given."),
    standard_effort: bool = c.StandardEffort,
    effort: Optional[List[str]] = c.Effort,
    device: str = typer.Option("auto", "--device"),
    site_col: Optional[str] = c.SiteCol,
    lon_col: Optional[str] = c.LonCol,
    lat_col: Optional[str] = c.LatCol,
    covariates: Optional[List[str]] = c.Covariates,
    join_on: Optional[str] = c.JoinOn,
) -> None:
    """Predict occurrence probabilities of every species at the sites of DATA (given a partial checklist with --given)."""
    import pandas as pd

    from jsdm_hot.io import atomic_write_text
    from jsdm_hot.registry import load_model

    if given is not None and binary:
        raise InputDataError("--given writes probabilities; leave out --binary")
    model = load_model(model_dir, device=device)
    constants = c.effort_constants(model.feature_names_in_, effort, standard_effort) or {}
    data_c = _prediction_data(model, data, site_col=site_col, lon_col=lon_col, lat_col=lat_col,
                              covariates=covariates, join_on=join_on, with_species=False, fixed=constants)
    if given is not None:
        from jsdm_hot.data.checklists import read_partial_checklist

        if not model.has_residual_association:
            raise InputDataError(f"--given needs a model with a residual association between species (HotVAE fitted "
                                 f"with residual_factors > 0); {model_dir} holds a {type(model).__name__} without one")
        checklist = read_partial_checklist(given, data_c.site_ids, model.species_, site_col=site_col)
        values = model.predict_proba(data_c, given=checklist, seed=seed)
    else:
        values = model.predict(data_c) if binary else model.predict_proba(data_c)
    df = pd.DataFrame(values, columns=list(model.species_))
    df.insert(0, "site_id", data_c.site_ids)
    atomic_write_text(out, df.to_csv(index=False))
    _console().print(f"wrote {len(df)} sites × {len(model.species_)} species to [bold]{out}[/bold]")


@app.command()
def evaluate(
    model_dir: Path = typer.Argument(..., help="Model directory written by `jsdm-hot fit` (any model class)."),
    data: Path = typer.Argument(..., help="Sites with observed occurrences (the model's species columns)."),
    draws: int = typer.Option(100, "--draws", help="Joint posterior draws for richness and community metrics."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write tables (CSV, Markdown, JSON) and plots "
                                          "here; for a model with a residual association also residual_correlation.csv/"
                                          ".png (ordered by the tree it was fitted with, else by clustering) and "
                                          "residual_pairs.csv."),
    held_out: bool = typer.Option(False, "--held-out", help="Score only the test sites `jsdm-hot fit` held out (recorded in the model)."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    site_col: Optional[str] = c.SiteCol,
    lon_col: Optional[str] = c.LonCol,
    lat_col: Optional[str] = c.LatCol,
    covariates: Optional[List[str]] = c.Covariates,
    join_on: Optional[str] = c.JoinOn,
) -> None:
    """Score a fitted model on DATA: ebF1, miF1, maF1, Hamming accuracy, median AUC (+ Norberg 2019 with --report)."""
    from jsdm_hot.evaluation.sites import scoring_sites
    from jsdm_hot.registry import load_model

    model = load_model(model_dir, device=device)
    community = _prediction_data(model, data, site_col=site_col, lon_col=lon_col, lat_col=lat_col,
                                 covariates=covariates, join_on=join_on, with_species=True)
    community = scoring_sites(model, community, held_out=held_out)
    _report(model, community, draws=draws, seed=seed, report=report, title=str(data), progress=progress)
