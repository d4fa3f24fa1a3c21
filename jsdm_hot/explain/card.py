"""The model card: one Markdown page, with its figures and tables, that a planner can defend.

:func:`build_card` computes everything (no files); :func:`write_model_card` writes
``model_card.md`` with ``figures/*.png`` and ``tables/*.csv`` beside it. Every
file is written atomically (temporary file + rename) and the page last, so a
page on disk never refers to a figure that is not there.

Sections: data (sites, species, prevalence range, covariates and their
ranges, tree reconciliation when ``model.label_graph_.info`` records one);
model and training (class, parameters, epochs, time when the history records
it); held-out performance (:func:`jsdm_hot.evaluation.evaluate`: MLC and
Norberg et al. 2019 metrics, calibration plot, 90 % richness-interval
coverage); what drives the species (permutation importance, environment and
effort apart; response curves of the top covariates; a richness surface);
associations; variance partitioning (when the model has a residual
component); known limits, including extrapolation: the share of held-out sites
and of map cells (``grid``) outside the training covariate range.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.explain._common import as_generator, model_inputs, subsample_rows
from jsdm_hot.explain._range import cells_matrix, extrapolation_table, training_range

__all__ = ["ModelCard", "build_card", "write_model_card"]

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class ModelCard:
    """Everything on the card: tables, figures and facts (see :func:`build_card`).

    Attributes
    ----------
    facts : dict
        Scalars and short lists for the text (JSON-serialisable).
    tables : dict of str to pandas.DataFrame
        Written as ``tables/<name>.csv``.
    figures : dict of str to matplotlib.figure.Figure
        Written as ``figures/<name>.png``.
    notes : list of str
        Known limits, in words.
    """

    facts: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _training_facts(model: Any) -> dict[str, Any]:
    hist = list(model.history_)
    params = model.get_params()
    resolved = getattr(model, "model_config_", None)  # HotVAE: "auto" settings as chosen in fit
    if resolved is not None:
        params = {**params, **resolved.to_dict()}
    time_keys = sorted({k for r in hist for k in r if "time" in k or k.endswith("_s") or "seconds" in k})
    seconds = {k: float(sum(r.get(k, 0.0) for r in hist)) for k in time_keys}
    last_val = next((r["val_maf1"] for r in reversed(hist) if "val_maf1" in r), None)
    return {"class": type(model).__name__, "params": {k: (v if isinstance(v, (int, float, str, bool, type(None)))
                                                           else str(v)) for k, v in params.items()},
            "epochs": len(hist), "best_epoch": getattr(model, "best_epoch_", None),
            "stopped_early": getattr(model, "stopped_early_", None), "time_seconds": seconds,
            "fit_seconds": float(model.fit_seconds_),
            "last_val_maf1": last_val}


def _data_facts(model: Any, test: CommunityData, train: CommunityData | None, rng_info,
                labels: Mapping[str, str] | None) -> tuple[dict, pd.DataFrame]:
    from jsdm_hot.explain.labels import display

    species = list(model.species_)
    Yt = test.select_species(species).Y
    prev = Yt.mean(0)
    facts = {"n_test_sites": test.n_sites, "n_species": len(species), "n_features": len(model.feature_names_in_),
             "test_prevalence_min": float(prev.min()), "test_prevalence_max": float(prev.max()),
             "test_rarest": display(species[int(prev.argmin())], labels),
             "test_commonest": display(species[int(prev.argmax())], labels),
             "n_absent_in_test": int((prev == 0).sum()), "test_source": test.source}
    if train is not None and train.has_occurrences:
        pt = train.select_species(species).Y.mean(0)
        facts.update(n_train_sites=train.n_sites, train_prevalence_min=float(pt.min()),
                     train_prevalence_max=float(pt.max()))
    X = model_inputs(model, test)
    cov = pd.DataFrame({"covariate": list(model.feature_names_in_), "test_min": X.min(0), "test_max": X.max(0)})
    if rng_info is not None:
        cov["train_min"], cov["train_max"] = rng_info[0], rng_info[1]
    graph = getattr(model, "label_graph_", None)
    info = dict(getattr(graph, "info", {}) or {})
    facts["graph_kind"] = getattr(graph, "kind", None)
    facts["tree"] = info.get("tree")
    return facts, cov


def _correlated_pairs(X: np.ndarray, names: Sequence[str], threshold: float = 0.8) -> list[tuple[str, str, float]]:
    sd = X.std(0)
    ok = np.flatnonzero(sd > 0)
    if ok.size < 2:
        return []
    r = np.corrcoef(X[:, ok], rowvar=False)
    iu, ju = np.triu_indices(ok.size, 1)
    keep = np.abs(r[iu, ju]) >= threshold
    pairs = [(names[ok[i]], names[ok[j]], float(r[i, j])) for i, j in zip(iu[keep], ju[keep])]
    return sorted(pairs, key=lambda t: -abs(t[2]))


def _associations(model: Any, test: CommunityData, n_draws: int, max_sites: int, gen) -> tuple[pd.DataFrame, str, Any]:
    """(matrix, description, min_abs): a model's residual correlation, else the joint draws' association."""
    from jsdm_hot.explain.associations import draw_associations
    from jsdm_hot.explain.partition import association_component

    species = [str(s) for s in model.species_]
    if getattr(model, "has_residual_association", False):  # the estimator contract's capability
        corr = model.residual_correlation_
        return (pd.DataFrame(np.asarray(corr, np.float64), index=species, columns=species),
                "residual correlation (model.residual_correlation_: fitted residual association, logit scale)", 0.0)
    comp = association_component(model)
    if comp is not None:
        name, a = comp
        cov = a @ a.T + np.eye(a.shape[0]) if name in ("residual_loadings_", "loadings_") else a
        sd = np.sqrt(np.diag(cov))
        return (pd.DataFrame(cov / np.outer(sd, sd), index=species, columns=species),
                f"residual correlation (model.{name})", 0.0)
    rows = subsample_rows(test.n_sites, max_sites, gen)
    draws = model.sample(test.subset(rows), n_draws=max(2, n_draws), seed=int(gen.integers(2**31 - 1)))
    assoc = draw_associations(draws, species)
    return assoc, (f"within-site correlation of {max(2, n_draws)} joint draws at {rows.size} held-out sites; pairs "
                   "within 4 Monte Carlo standard errors of 0 are treated as noise"), 4.0 * assoc.attrs["se"]


def _curve_covariates(imp: pd.DataFrame, n_env: int) -> list[str]:
    """Top single-covariate groups by community AUC loss: ``n_env`` environmental and the top effort one."""
    c = imp[(imp["species"] == "community") & (imp["metric"] == "auc") & ~imp["members"].str.contains(",")]
    c = c.sort_values("importance", ascending=False)
    env = list(c.loc[c["kind"] == "environment", "covariate"].head(n_env))
    eff = list(c.loc[c["kind"] == "effort", "covariate"].head(1))
    return env + eff


def build_card(
    model: Any,
    test: CommunityData,
    *,
    train: CommunityData | None = None,
    grid: Any = None,
    labels: Mapping[str, str] | None = None,
    covariate_labels: Mapping[str, str] | None = None,
    effort: Sequence[str] | None = None,
    tree: Any = None,
    traits: Any = None,
    n_draws: int = 50,
    n_repeats: int = 5,
    n_points: int = 20,
    n_curves: int = 4,
    max_sites: int | None = 1000,
    max_curve_sites: int = 300,
    max_draw_sites: int = 100,
    seed: int = 0,
) -> ModelCard:
    """Compute the model card's tables, figures and facts.

    Parameters
    ----------
    model : fitted estimator
    test : CommunityData
        Held-out sites with observed occurrences.
    train : CommunityData, optional
        Training sites: training covariate ranges (unless the model records
        ``x_min_``/``x_max_``) and prevalences.
    grid : CommunityData, DataFrame or ndarray, optional
        Map cells; their covariates (those the model has) are checked against
        the training range.
    labels, covariate_labels : mapping, optional
        Species and covariate display names (see :mod:`jsdm_hot.explain.labels`).
    effort : sequence of str, optional
        Effort covariate names (default: the eBird effort covariates).
    tree : path, Newick string or Phylogeny, optional
        Orders the association heatmap (default: the tree the model was fitted
        with when it records one, :func:`jsdm_hot.explain.associations.fitted_tree`).
    traits : DataFrame, optional
        Species × numeric traits for community-weighted means.
    n_draws : int, default=50
        Joint draws for the evaluation and the associations; the response
        bands use at most 20.
    n_repeats : int, default=5
        Permutation repeats.
    n_points : int, default=20
        Grid values per response curve.
    n_curves : int, default=4
        Environmental covariates with response curves (plus the top effort one).
    max_sites : int or None, default=1000
        Held-out sites for permutation importance.
    max_curve_sites, max_draw_sites : int
        Sites averaged over / drawn for the response curves.
    seed : int, default=0

    Returns
    -------
    ModelCard
    """
    from jsdm_hot.evaluation import evaluate
    from jsdm_hot.evaluation.plots import plot_calibration, plot_richness
    from jsdm_hot.explain.associations import plot_associations, strongest_pairs
    from jsdm_hot.explain.importance import permutation_importance
    from jsdm_hot.explain.partition import variance_partition
    from jsdm_hot.explain.plots import (
        plot_importance,
        plot_importance_matrix,
        plot_response,
        plot_surface,
        plot_variance_partition,
    )
    from jsdm_hot.explain.response import response_curves, richness_surface
    from jsdm_hot.metrics.posterior_summary import interval_coverage, pit_coverage

    if not isinstance(test, CommunityData) or not test.has_occurrences:
        raise InputDataError("the model card needs held-out sites with observed occurrences (a CommunityData with Y)")
    gen = as_generator(seed)
    card = ModelCard()
    rng_info = training_range(model, train)
    card.facts["data"], card.tables["covariates"] = _data_facts(model, test, train, rng_info, labels)
    card.facts["training"] = _training_facts(model)

    metrics = evaluate(model, test, n_draws=n_draws, seed=seed)
    det = metrics.attrs["details"]
    card.tables["metrics"] = metrics[["group", "metric", "value", "better"]]
    card.facts["coverage90"] = float(interval_coverage(det.richness_obs, det.richness_draws, 0.9).mean())
    card.facts["pit_coverage90"] = float(pit_coverage(det.richness_obs, det.richness_draws, 0.9).mean())
    card.facts["n_draws"] = int(n_draws)
    card.facts["eval_notes"] = list(metrics.attrs.get("notes", []))
    card.figures["calibration"], card.figures["richness"] = plot_calibration(metrics), plot_richness(metrics, seed=seed)

    imp = permutation_importance(model, test, effort=effort, n_repeats=n_repeats, max_sites=max_sites, labels=labels,
                                 rng=gen)
    card.tables["importance"] = imp
    card.figures["importance_community"] = plot_importance(imp, covariate_labels=covariate_labels)
    card.figures["importance_species"] = plot_importance_matrix(imp, covariate_labels=covariate_labels)
    top = _curve_covariates(imp, n_curves)
    card.facts["curve_covariates"] = top
    if top:
        curves = response_curves(model, test, top, labels=labels, n_points=n_points, n_draws=min(20, n_draws),
                                 max_sites=max_curve_sites, max_draw_sites=max_draw_sites, traits=traits, rng=gen)
        card.tables["response_curves"] = curves
        per_sp = imp[(imp["metric"] == "auc") & (imp["species"] != "community")]
        for cov in top:
            sp = per_sp[per_sp["covariate"] == cov].sort_values("importance", ascending=False)["species"].head(5)
            card.figures[f"response_{cov}"] = plot_response(curves, cov, species=list(sp),
                                                            covariate_labels=covariate_labels)
        env = [c for c in top if c in set(imp.loc[imp["kind"] == "environment", "covariate"])]
        if len(env) >= 2:
            surf = richness_surface(model, test, env[0], env[1], max_sites=max_curve_sites, rng=gen)
            card.tables["richness_surface"] = surf
            card.figures["richness_surface"] = plot_surface(surf, covariate_labels=covariate_labels)

    assoc, how, min_abs = _associations(model, test, n_draws, max_curve_sites, gen)
    if tree is None:
        from jsdm_hot.explain.associations import fitted_tree

        tree = fitted_tree(model)
    card.facts["associations_source"] = how
    card.tables["associations"] = assoc
    card.tables["strongest_pairs"] = strongest_pairs(assoc, 10, labels, min_abs=min_abs)
    card.figures["associations"] = plot_associations(assoc, tree=tree, labels=labels, min_abs=min_abs,
                                                     title="Species associations: " + how.split(";")[0])

    vp = variance_partition(model, test, labels=labels)
    card.facts["variance_partition"] = {"available": bool(vp.attrs["available"]), "reason": vp.attrs["reason"]}
    if vp.attrs["available"]:
        card.tables["variance_partition"] = vp
        card.figures["variance_partition"] = plot_variance_partition(vp)

    _limits(card, model, test, grid, rng_info, det, labels)
    return card


def _limits(card: ModelCard, model: Any, test: CommunityData, grid: Any, rng_info, det,
            labels: Mapping[str, str] | None) -> None:
    """Extrapolation and other known limits, into ``card``."""
    from jsdm_hot.explain.labels import display

    feats = [str(f) for f in model.feature_names_in_]
    extrap = {}
    if rng_info is None:
        card.notes.append("Training covariate ranges are unknown (the model records no x_min_/x_max_ and no training "
                          "data were given), so extrapolation was not checked.")
    else:
        lo, hi, src = rng_info
        card.facts["range_source"] = src
        for what, cells in (("held-out sites", test), ("map cells", grid)):
            if cells is None:
                continue
            X, pos = cells_matrix(model, cells)
            table, outside = extrapolation_table(X, pos, lo, hi, feats)
            key = "test" if what == "held-out sites" else "grid"
            card.tables[f"extrapolation_{key}"] = table
            extrap[key] = {"what": what, "n": int(outside.size), "share": float(outside.mean()) if outside.size else 0.0,
                           "n_checked": len(pos)}
            worst = table.assign(s=table["share_below"] + table["share_above"]).sort_values("s", ascending=False)
            worst = worst[worst["s"] > 0].head(5)
            detail = ", ".join(f"{r.covariate} {r.s:.1%}" for r in worst.itertuples()) or "none"
            card.notes.append(f"Extrapolation: {outside.mean():.1%} of {outside.size} {what} have at least one of "
                              f"{len(pos)} covariates outside the training range ({src}); most often {detail}. "
                              "Predictions there are extrapolations.")
    card.facts["extrapolation"] = extrap
    X = model_inputs(model, test)
    pairs = _correlated_pairs(X, feats)
    if pairs:
        shown = "; ".join(f"{a} & {b} (r = {r:.2f})" for a, b, r in pairs[:8])
        card.notes.append(f"Correlated covariates share permutation importance and their response curves are not "
                          f"separable: {shown}" + (f" and {len(pairs) - 8} more pairs" if len(pairs) > 8 else "") + ".")
    rare = [display(s, labels) for s, n in zip(det.species, det.y_true.sum(0)) if n < 10]
    if rare:
        card.notes.append(f"{len(rare)} species have fewer than 10 presences among the held-out sites; their AUC and "
                          f"importances are unreliable: {', '.join(rare[:10])}" + (" ..." if len(rare) > 10 else "") + ".")
    cov = card.facts["coverage90"]
    if cov < 0.8:
        card.notes.append(f"Richness intervals are too narrow: 90 % intervals hold the observed richness at only "
                          f"{cov:.0%} of held-out sites (over-confident draws).")
    elif cov > 0.97:
        card.notes.append(f"Richness intervals are wide: 90 % intervals hold the observed richness at {cov:.0%} of "
                          "held-out sites (discrete richness biases this upwards; see the PIT coverage).")
    card.notes.append("Response curves are partial dependences: averages over the observed mix of the other "
                      "covariates, not causal effects; bands are predictive uncertainty of a site average, not "
                      "parameter uncertainty.")
    card.notes.append("Associations describe residual co-occurrence after the covariates; they can come from "
                      "missing covariates or shared habitat as well as from interactions between species.")


def write_model_card(
    model: Any,
    test: CommunityData,
    out_dir: str | Path,
    *,
    title: str | None = None,
    dpi: int = 110,
    **kwargs,
) -> dict[str, Path]:
    """Build the card (:func:`build_card`, keyword arguments passed on) and write it.

    Parameters
    ----------
    model : fitted estimator
    test : CommunityData
    out_dir : path-like
        Folder for ``model_card.md``, ``figures/`` and ``tables/`` (created;
        files of the same names are replaced, each atomically).
    title : str, optional
    dpi : int, default=110

    Returns
    -------
    dict of str to pathlib.Path
        ``card`` (the page), ``fig_<name>`` and ``table_<name>`` for each file.
    """
    from jsdm_hot.explain._markdown import render
    from jsdm_hot.io import atomic_write_bytes, atomic_write_text

    card = build_card(model, test, **kwargs)
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    for name, fig in card.figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        paths[f"fig_{name}"] = out / "figures" / f"{name}.png"
        atomic_write_bytes(paths[f"fig_{name}"], buf.getvalue())
    for name, table in card.tables.items():
        paths[f"table_{name}"] = out / "tables" / f"{name}.csv"
        atomic_write_text(paths[f"table_{name}"], table.to_csv(index=name == "associations"))
    paths["card"] = out / "model_card.md"
    text = render(card, {k: p.relative_to(out).as_posix() for k, p in paths.items()},
                  title=title or f"Model card: {type(model).__name__}",
                  labels=kwargs.get("labels"), covariate_labels=kwargs.get("covariate_labels"))
    atomic_write_text(paths["card"], text)
    logger.info("wrote the model card to %s (%d figures, %d tables)", paths["card"], len(card.figures),
                len(card.tables))
    return paths
