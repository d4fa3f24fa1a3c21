"""``jsdm-hot fit | predict | evaluate``: train, apply and score HOT-VAE models."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

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
    tree: Optional[Path] = typer.Option(None, "--tree", help="Newick phylogeny of the species (for --graph phylo, phylo+prior)."),
    graph: str = typer.Option("complete", "--graph", help="Label graph: complete | prior | phylo | phylo+prior | phylo&prior."),
    phylo_k: int = typer.Option(3, "--phylo-k", help="phylo graph: connect each species to its k closest relatives."),
    tree_unmatched: str = typer.Option("error", "--tree-unmatched", help="Species missing from the tree: error | drop | connect."),
    synonyms: Optional[Path] = typer.Option(None, "--synonyms", help="CSV of name synonyms (old,new) used to match tree tips."),
    val_frac: float = typer.Option(0.1, "--val-frac", help="Share of training sites for validation (early stopping, thresholds)."),
    test_frac: float = typer.Option(0.2, "--test-frac", help="Share of sites held out for the test report (0 = none)."),
    split: str = typer.Option("random", "--split", help="How to hold out test sites: random | spatial | temporal."),
    block_km: float = typer.Option(50.0, "--block-km", help="Block size of the spatial split, km."),
    epochs: int = typer.Option(200, "--epochs", help="Maximum epochs (early stopping on validation maF1)."),
    patience: int = typer.Option(20, "--patience", help="Epochs without improvement before stopping."),
    batch_size: int = typer.Option(128, "--batch-size"),
    d_model: int = typer.Option(200, "--d-model", help="Decoder width d (paper grid 100, 200, 512)."),
    n_layers: int = typer.Option(2, "--layers", help="Decoder layers (paper grid 2-5)."),
    lr: float = typer.Option(7.5e-4, "--lr"),
    lambda2: float = typer.Option(1.0, "--lambda2", help="Weight of the ranking loss (Eq 16; paper grid 1, 100, 1000). "
                                  "0 worked better on sparse checklist data (about one species per checklist)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    devices: int = typer.Option(1, "--devices", help="Data-parallel training processes (one per GPU; gloo on CPU). "
                                "N > 1 relaunches this command under torchrun; on a cluster run "
                                "`torchrun --nproc-per-node N -m jsdm_hot.cli fit ...` yourself (docs/scaling.md)."),
    seed: int = typer.Option(0, "--seed"),
    draws: int = typer.Option(100, "--draws", help="Joint posterior draws for the test report."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the test-set evaluation report (tables, plots) here."),
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
    site_col: str = c.SiteCol,
    lon_col: str = c.LonCol,
    lat_col: str = c.LatCol,
    covariates: Optional[Path] = c.Covariates,
    join_on: Optional[str] = c.JoinOn,
    sampling: Optional[Path] = c.Sampling,
) -> None:
    """Train HOT-VAE on DATA, save it to --out, and score it on held-out sites."""
    from jsdm_hot import HotVAE, HotVAEConfig, distributed

    if out.exists() and not overwrite:
        raise InputDataError(f"{out} already exists; pass --overwrite to replace it")
    if devices < 1:
        raise InputDataError(f"--devices must be >= 1, got {devices}")
    if devices > 1 and not distributed.launched_by_torchrun():
        raise typer.Exit(_relaunch_under_torchrun(devices))
    ctx = distributed.init_from_env(device)
    cfg = HotVAEConfig(max_epochs=epochs, patience=patience, batch_size=batch_size, d_model=d_model,
                       n_layers=n_layers, lr=lr, lambda2=lambda2)
    if stream:
        _fit_stream(data, out, cfg, ctx, graph=graph, tree=tree, val_frac=val_frac, device=device, seed=seed,
                    progress=progress, checkpoint=checkpoint, resume=resume, overwrite=overwrite,
                    species_cols=species_cols, species_prefix=species_prefix, covariate_cols=covariate_cols,
                    site_col=site_col, lon_col=lon_col, lat_col=lat_col)
        return
    community = c.load_data(data, species_cols=species_cols, species_prefix=species_prefix,
                            covariate_cols=covariate_cols, site_col=site_col, lon_col=lon_col, lat_col=lat_col,
                            covariates=covariates, join_on=join_on, sampling=sampling)
    logger.info("loaded %r", community)
    label_graph = None
    if tree is not None or graph.startswith("phylo"):
        from jsdm_hot.phylo import build_label_graph

        if tree is None:
            raise InputDataError(f"--graph {graph} needs --tree FILE.nwk")
        label_graph, recon = build_label_graph(graph, community.Y, community.species, tree=tree, phylo_k=phylo_k,
                                               unmatched=tree_unmatched, synonyms=synonyms)
        logger.info("tree reconciliation: %s", recon.summary() if hasattr(recon, "summary") else recon)
        if tuple(label_graph.species) != tuple(community.species):
            community = community.select_species(label_graph.species)
    train, test = c.holdout_split(community, test_frac, split, seed, block_km)
    if label_graph is not None and graph in ("phylo+prior", "phylo&prior", "prior"):
        # rebuild on the training part only so the co-occurrence prior never sees test sites
        label_graph, _ = build_label_graph(graph, train.Y, train.species, tree=tree, phylo_k=phylo_k,
                                           unmatched=tree_unmatched, synonyms=synonyms)
    model = HotVAE(cfg, graph=graph if label_graph is None else "complete", val_fraction=val_frac, device=device,
                   random_state=seed, progress=progress, checkpoint_dir=checkpoint)
    model.fit(train, label_graph=label_graph, resume=resume)
    if not _save_on_main(model, out, overwrite, ctx):
        return
    if test is not None:
        _report(model, test, draws=draws, seed=seed, report=report, title=f"held-out test sites ({test.n_sites})")


def _save_on_main(model, out: Path, overwrite: bool, ctx) -> bool:
    """Leave the process group; rank 0 saves the model. Returns whether this is rank 0."""
    from jsdm_hot import distributed

    distributed.shutdown()
    if not ctx.is_main:  # every rank holds the same model; rank 0 writes it
        return False
    model.save(out, overwrite=overwrite)
    _console().print(f"saved model to [bold]{out}[/bold] (best epoch {model.best_epoch_}, "
                     f"{len(model.species_)} species, {model.n_features_in_} covariates, graph {model.label_graph_.kind})")
    return True


def _fit_stream(data: Path, out: Path, cfg, ctx, *, graph: str, tree, val_frac: float, device: str, seed: int,
                progress: bool, checkpoint, resume: bool, overwrite: bool, species_cols, species_prefix,
                covariate_cols, site_col: str, lon_col: str, lat_col: str) -> None:
    """``fit --stream``: train from a parquet dataset on disk."""
    from jsdm_hot import HotVAE
    from jsdm_hot.data.streaming import ParquetCommunity

    if graph not in ("complete", "prior") or tree is not None:
        raise InputDataError(f"--stream supports --graph complete or prior (got {graph!r}{' with --tree' if tree else ''}); "
                             "phylogenetic graphs need the in-memory path")
    source = ParquetCommunity(data, species_cols=c.split_list(species_cols), species_prefix=species_prefix,
                              covariate_cols=c.split_list(covariate_cols), site_col=site_col, lon_col=lon_col,
                              lat_col=lat_col)
    logger.info("streaming %r", source)
    model = HotVAE(cfg, graph=graph, val_fraction=val_frac, device=device, random_state=seed, progress=progress,
                   checkpoint_dir=checkpoint)
    model.fit(source, resume=resume)
    _save_on_main(model, out, overwrite, ctx)


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


def _report(model, data, *, draws: int, seed: int, report: Optional[Path], title: str) -> None:
    from jsdm_hot.metrics.mlc import mlc_report

    prob = model.predict_proba(data)
    data = data.select_species(model.species_)
    metrics = mlc_report(data.Y, prob, model.thresholds_)
    _print_metrics(f"Multi-label metrics on {title}", metrics)
    if report is not None:
        from jsdm_hot.evaluation import evaluate, write_report

        table = evaluate(model, data, n_draws=draws, seed=seed, progress=True)
        _print_metrics(f"Norberg et al. (2019) metrics, {draws} joint draws",
                       {f"{g} {m} ({b} is better)": float(v) for g, m, v, b in
                        table.loc[table["group"] != "mlc", ["group", "metric", "value", "better"]].itertuples(index=False)})
        write_report(table, report, model=model, data=data, n_draws=draws, seed=seed)
        _console().print(f"wrote evaluation report to [bold]{report}[/bold]")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="Model directory written by `jsdm-hot fit`."),
    data: Path = typer.Argument(..., help="Sites to predict at (CSV/TSV/parquet with the training covariates)."),
    out: Path = typer.Option(Path("predictions.csv"), "--out", "-o", help="CSV of per-species probabilities."),
    binary: bool = typer.Option(False, "--binary", help="Write 0/1 predictions (validation thresholds) instead of probabilities."),
    device: str = typer.Option("auto", "--device"),
    site_col: str = c.SiteCol,
    lon_col: str = c.LonCol,
    lat_col: str = c.LatCol,
    covariates: Optional[Path] = c.Covariates,
    join_on: Optional[str] = c.JoinOn,
) -> None:
    """Predict occurrence probabilities of every species at the sites of DATA."""
    import pandas as pd

    from jsdm_hot import HotVAE
    from jsdm_hot.io import atomic_write_text

    model = HotVAE.load(model_dir, device=device)
    data_c = c.load_data(data, covariate_cols=",".join(model.feature_names_in_), species_cols="",
                         site_col=site_col, lon_col=lon_col, lat_col=lat_col, covariates=covariates,
                         join_on=join_on, require_species=False)
    values = model.predict(data_c) if binary else model.predict_proba(data_c)
    df = pd.DataFrame(values, columns=list(model.species_))
    df.insert(0, "site_id", data_c.site_ids)
    atomic_write_text(out, df.to_csv(index=False))
    _console().print(f"wrote {len(df)} sites × {len(model.species_)} species to [bold]{out}[/bold]")


@app.command()
def evaluate(
    model_dir: Path = typer.Argument(..., help="Model directory written by `jsdm-hot fit`."),
    data: Path = typer.Argument(..., help="Sites with observed occurrences (the model's species columns)."),
    draws: int = typer.Option(100, "--draws", help="Joint posterior draws for richness and community metrics."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write tables (CSV, Markdown, JSON) and plots here."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device"),
    site_col: str = c.SiteCol,
    lon_col: str = c.LonCol,
    lat_col: str = c.LatCol,
    covariates: Optional[Path] = c.Covariates,
    join_on: Optional[str] = c.JoinOn,
) -> None:
    """Score a fitted model on DATA: ebF1, miF1, maF1, Hamming accuracy, median AUC (+ Norberg 2019 with --report)."""
    from jsdm_hot import HotVAE

    model = HotVAE.load(model_dir, device=device)
    community = c.load_data(data, species_cols=",".join(model.species_),
                            covariate_cols=",".join(model.feature_names_in_), site_col=site_col,
                            lon_col=lon_col, lat_col=lat_col, covariates=covariates, join_on=join_on)
    _report(model, community, draws=draws, seed=seed, report=report, title=str(data))
