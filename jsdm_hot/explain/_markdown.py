"""Markdown text of the model card (from a computed :class:`~jsdm_hot.explain.card.ModelCard`)."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from jsdm_hot.explain.labels import display


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, (str, bool)):
        return str(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return "NaN"
    if f == int(f) and abs(f) < 1e9:
        return str(int(f))
    return f"{f:.{digits}g}"


def table(rows: Sequence[Sequence[Any]], header: Sequence[str], align: str | None = None) -> list[str]:
    """A Markdown table (``|`` in cells escaped); ``align`` one char per column: l or r."""
    align = align or "l" * len(header)
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |"]
    for r in rows:
        out.append("| " + " | ".join(_fmt(c).replace("|", "\\|") for c in r) + " |")
    return out


def _img(files: Mapping[str, str], name: str, alt: str) -> list[str]:
    key = f"fig_{name}"
    return [f"![{alt}]({files[key]})", ""] if key in files else []


def _data(card, files, covariate_labels) -> list[str]:
    d = card.facts["data"]
    out = ["## 1. Data", ""]
    out.append(f"- Held-out sites: **{d['n_test_sites']}**" + (f" ({d['test_source']})" if d.get("test_source") else "")
               + (f"; training sites: **{d['n_train_sites']}**" if "n_train_sites" in d else "") + ".")
    out.append(f"- Species: **{d['n_species']}**; held-out prevalence from {d['test_prevalence_min']:.3f} "
               f"({d['test_rarest']}) to {d['test_prevalence_max']:.3f} ({d['test_commonest']})"
               + (f"; {d['n_absent_in_test']} species never present in the held-out sites" if d["n_absent_in_test"]
                  else "") + ".")
    if "train_prevalence_min" in d:
        out.append(f"- Training prevalence from {d['train_prevalence_min']:.4f} to {d['train_prevalence_max']:.3f}.")
    tree = d.get("tree")
    if tree:
        out.append(f"- Tree {tree.get('source')}: {tree.get('n_matched')} of {tree.get('n_species')} species matched "
                   f"({len(tree.get('via_synonym', {}))} through synonyms); unmatched: "
                   f"{', '.join(tree.get('unmatched', [])) or 'none'} (policy {tree.get('policy')}).")
    else:
        out.append("- No tree reconciliation is recorded with the model" + (
            f" (label graph: {d['graph_kind']})." if d.get("graph_kind") else " (it has no label graph)."))
    out += ["", f"Covariates ({d['n_features']}), in the units of the data:", ""]
    cov = card.tables["covariates"]
    kinds = card.tables["importance"].drop_duplicates("members")
    kind_of = {m: k for ms, k in zip(kinds["members"], kinds["kind"]) for m in ms.split(",")}
    rows = [(c, display(c, covariate_labels), kind_of.get(c, ""),
             f"{_fmt(r.train_min)} to {_fmt(r.train_max)}" if "train_min" in cov else "unknown",
             f"{_fmt(r.test_min)} to {_fmt(r.test_max)}") for c, r in zip(cov["covariate"], cov.itertuples())]
    out += table(rows, ["covariate", "meaning (units)", "kind", "training range", "held-out range"]) + [""]
    return out


def _training(card) -> list[str]:
    t = card.facts["training"]
    kind = card.facts["data"].get("graph_kind")
    out = ["## 2. Model and training", "", f"- Model: **{t['class']}**" + (f", label graph {kind}." if kind else ".")]
    ep = f"- Epochs run: {t['epochs']}"
    if t.get("best_epoch") is not None:
        ep += f"; best epoch {t['best_epoch']}"
    if t.get("stopped_early"):
        ep += f"; stopped: {t['stopped_early']}"
    if t.get("last_val_maf1") is not None:
        ep += f"; last validation maF1 {t['last_val_maf1']:.3f}"
    out.append(ep + ".")
    secs = t.get("time_seconds") or {}
    fit_s = t.get("fit_seconds")
    parts = ([f"fit {fit_s:.1f} s (wall clock, hold-out split to thresholds)"] if fit_s is not None and fit_s == fit_s
             else []) + [f"{k} {v:.1f} s (sum over epochs)" for k, v in secs.items()]
    out.append("- Training time: " + ("; ".join(parts) if parts else "not recorded") + ".")
    out += ["", "<details><summary>All parameters</summary>", ""]
    out += table(sorted(t["params"].items()), ["parameter", "value"]) + ["", "</details>", ""]
    return out


def _performance(card, files) -> list[str]:
    m = card.tables["metrics"]
    out = ["## 3. Performance on held-out sites", "",
           f"MLC metrics and the 12 measures of Norberg et al. (2019) (`jsdm_hot.evaluation.evaluate`, "
           f"{card.facts['n_draws']} joint draws per site):", ""]
    out += table(m.itertuples(index=False), ["group", "metric", "value", "better"], "llrl") + [""]
    out.append(f"**90 % richness intervals** contain the observed richness at **{card.facts['coverage90']:.1%}** of "
               f"held-out sites (target 90 %; randomised-PIT coverage, unbiased for discrete richness: "
               f"{card.facts['pit_coverage90']:.1%}).")
    out += [""] + [f"- {n}" for n in card.facts.get("eval_notes", [])] + [""]
    out += _img(files, "calibration", "calibration plot") + _img(files, "richness", "observed vs predicted richness")
    return out


def _drivers(card, files, covariate_labels) -> list[str]:
    imp = card.tables["importance"]
    out = ["## 4. What drives the species", "",
           "Permutation importance on the held-out sites: how much discrimination (AUC) is lost when a covariate is "
           "shuffled (mean ± sd over repeats; larger = more important; cyclic pairs and protocol dummies are shuffled "
           "together). Effort covariates describe how a survey was made, not where species live, and are ranked "
           "apart.", ""]
    c = imp[(imp["species"] == "community") & (imp["metric"] == "auc")]
    ll = imp[(imp["species"] == "community") & (imp["metric"] == "log_likelihood")].set_index("covariate")
    rm = imp[(imp["species"] == "community") & (imp["metric"] == "richness_rmse")].set_index("covariate")
    for kind, n in (("environment", 10), ("effort", 6)):
        s = c[c["kind"] == kind].sort_values("importance", ascending=False).head(n)
        if s.empty:
            continue
        out += [f"Community, {kind} covariates (top {len(s)}):", ""]
        rows = [(r.covariate, display(r.covariate, covariate_labels) if "," not in r.members else r.members,
                 f"{r.importance:.4f} ± {r.importance_sd:.4f}", ll.loc[r.covariate, "importance"],
                 rm.loc[r.covariate, "importance"]) for r in s.itertuples()]
        out += table(rows, ["covariate", "meaning", "AUC loss", "log-lik. loss / site", "richness RMSE increase"],
                     "llrrr") + [""]
    sp = imp[(imp["species"] != "community") & (imp["metric"] == "auc")].dropna(subset=["importance"])
    rows = []
    for _name, g in sp.groupby("species", sort=False):
        e, f = g[g["kind"] == "environment"], g[g["kind"] == "effort"]
        top_e = e.loc[e["importance"].idxmax()] if not e.empty else None
        top_f = f.loc[f["importance"].idxmax()] if not f.empty else None
        rows.append((g["label"].iloc[0], *(("—", None) if top_e is None else (top_e["covariate"], top_e["importance"])),
                     *(("—", None) if top_f is None else (top_f["covariate"], top_f["importance"]))))
    if rows:
        out += ["Per species, the covariate whose shuffling costs the most AUC:", ""]
        out += table(rows, ["species", "top environmental covariate", "AUC loss", "top effort covariate", "AUC loss"],
                     "llrlr") + [""]
    out += _img(files, "importance_community", "community permutation importance")
    out += _img(files, "importance_species", "importance per species and covariate")
    curves = card.tables.get("response_curves")
    if curves is not None:
        out += ["### Response curves", "",
                "Partial dependence: each held-out site keeps its other covariates and gets the plotted value; "
                "predictions are averaged over sites. Bands: central 90 % of the joint draws.", ""]
        for cov in card.facts.get("curve_covariates", []):
            r = curves[(curves["covariate"] == cov) & (curves["quantity"] == "richness")]
            if not r.empty:
                out.append(f"- **{display(cov, covariate_labels)}**: expected richness goes from "
                           f"{r['estimate'].iloc[0]:.2f} to {r['estimate'].iloc[-1]:.2f} species across "
                           f"{_fmt(r['value'].iloc[0])} to {_fmt(r['value'].iloc[-1])}.")
        out.append("")
        for cov in card.facts.get("curve_covariates", []):
            out += _img(files, f"response_{cov}", f"response to {cov}")
        out += _img(files, "richness_surface", "richness surface")
    return out


def _associations(card, files, labels) -> list[str]:
    out = ["## 5. Associations", "", f"Source: {card.facts['associations_source']}.", ""]
    pairs = card.tables["strongest_pairs"]
    for direction in ("positive", "negative"):
        s = pairs[pairs["direction"] == direction]
        if s.empty:
            out += [f"No {direction} associations.", ""]
            continue
        out += [f"Strongest {direction} pairs:", ""]
        out += table([(r.label_a, r.label_b, r.value) for r in s.itertuples()], ["species", "species", "value"],
                     "llr") + [""]
    out += _img(files, "associations", "association heatmap")
    return out


def _partition(card, files) -> list[str]:
    vp = card.facts["variance_partition"]
    out = ["## 6. Variance partitioning", ""]
    if not vp["available"]:
        return out + [f"Not available: {vp['reason']}.", ""]
    t = card.tables["variance_partition"]
    out.append("Mean shares over species: environment {:.0%}, associations {:.0%}{}.".format(
        t["share_environment"].mean(), t["share_associations"].mean(),
        "" if t["share_space"].isna().all() else f", space {t['share_space'].mean():.0%}"))
    return out + [""] + _img(files, "variance_partition", "variance partitioning")


def render(card, files: Mapping[str, str], *, title: str, labels=None, covariate_labels=None) -> str:
    """The whole page; ``files`` maps ``fig_<name>`` / ``table_<name>`` to paths relative to the page."""
    from jsdm_hot import __version__

    out = [f"# {title}", "", f"_Generated by jsdm-hot {__version__}. Figures in `figures/`, tables (CSV) in "
           f"`tables/`._", ""]
    out += _data(card, files, covariate_labels) + _training(card) + _performance(card, files)
    out += _drivers(card, files, covariate_labels) + _associations(card, files, labels) + _partition(card, files)
    out += ["## 7. Known limits", ""] + [f"- {n}" for n in card.notes] + [""]
    out += ["## Files", ""] + [f"- `{p}`" for k, p in files.items() if k.startswith("table_")] + [""]
    return "\n".join(out)

