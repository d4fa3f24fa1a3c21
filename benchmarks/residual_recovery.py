"""Residual association (issue 17): recovery of Σ, richness spread, conditional prediction, speed.

Simulated communities (:func:`jsdm_hot.data.simulate.simulate_community`, no
higher-order interactions, so the truth is exactly ``logit p = alpha + X beta + eps``,
``eps ~ N(0, Σ)``) are fitted with :class:`jsdm_hot.HotVAE` (small d_model, CPU) and
held-out sites are scored:

* ``pearson_corr`` / ``pearson_cov``: Pearson correlation, over species pairs, of the
  true residual correlation with the estimated ``cov2cor(Λ Λᵀ)`` / ``Λ Λᵀ``;
* ``var_ratio``: mean over held-out sites of the richness variance of 200 draws,
  divided by that of independent Bernoulli draws with the same marginals
  (``Σ_l p̄_l (1 − p̄_l)``), for the residual draws (``res``), the paper's latent
  draws (``lat``, one ``z`` per draw) and the truth (``true``: draws of ``eps``);
* ``cover90``: share of held-out sites whose observed richness lies in the central
  90 % interval (5 %–95 % quantiles, inclusive) of the draws' richness; ``true`` is
  what draws from the generating model get (the target: discreteness makes it > 0.9);
* ``joint_ll``: held-out log-likelihood of each site's species vector per site
  (Monte Carlo, 4,000 draws of ``e``, ``z`` at the posterior mean);
* ``auc_marg`` / ``auc_cond``: macro AUC over the hidden half of the species
  (a seeded random half), predicted from the covariates alone or also from the
  observed other half (``HotVAE.predict_proba(X, given=...)``); with
  ``residual_sd`` 1 (correlation present) and 0 (absent).

The two draw modes are those of one fitted model: ``model.set_params(draws="residual")``
and ``draws="latent"`` (:meth:`jsdm_hot.HotVAE.iter_samples`, one chunk of all
held-out sites).

``--timing`` times both draw modes with the real decoder (random weights; d_model
200, 2 layers, 100 species, 30 covariates, 100 draws) on CPU, with the functions of
``benchmarks/posterior_speed.py`` (which times them streamed and collected).

Usage::

    python benchmarks/residual_recovery.py --out benchmarks/results/residual_recovery.md
    python benchmarks/residual_recovery.py --design --seeds 0 1 2    # the default-choosing sweep
    python benchmarks/residual_recovery.py --quick                    # smoke run, tiny sizes

``--threads`` sets ``torch.set_num_threads`` (default 1: the shared 2-core CPU).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from jsdm_hot import HotVAE
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.model.residual import mc_log_likelihood

N_DRAWS = 200
#: Design sweep points (residual_factors, lambda_residual).
DESIGN = [(0, 1.0), (1, 1.0), (2, 1.0), (4, 1.0), (2, 0.3), (2, 3.0), (2, 10.0), (4, 3.0)]
N_TRUTH = 4000


def _params(args, **kw) -> dict:
    """HotVAE's flat parameters of the benchmark (``kw`` overrides)."""
    return {**dict(d_model=args.d_model, n_heads=2, latent_dim=8, encoder_hidden=64, max_epochs=args.epochs,
                   patience=args.epochs, batch_size=64, device="cpu"), **kw}


def _draws(model: HotVAE, X: np.ndarray, mode: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``N_DRAWS`` joint draws and their probabilities (n_draws, n_sites, L) of ``X`` in draw mode ``mode``."""
    model.set_params(draws=mode)
    try:
        (_, draws, prob), = list(model.iter_samples(X, N_DRAWS, seed=seed, chunk_size=len(X), return_prob=True))
    finally:
        model.set_params(draws="auto")
    return draws, prob


def _interval_cover(rich_draws: np.ndarray, observed: np.ndarray) -> float:
    """rich_draws (n_draws, n_sites), observed (n_sites,) → share inside the central 90 % interval."""
    lo, hi = np.quantile(rich_draws, [0.05, 0.95], axis=0, method="inverted_cdf")
    return float(((observed >= lo) & (observed <= hi)).mean())


def _var_ratio(draws: np.ndarray, prob: np.ndarray) -> float:
    """draws, prob (n_draws, n_sites, L) → mean richness variance / independent-Bernoulli variance."""
    pbar = prob.mean(0)
    return float(draws.sum(-1).var(0).mean() / (pbar * (1 - pbar)).sum(-1).mean())


def _truth_draws(sim, sites: np.ndarray, n_draws: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = sim.truth
    chol = np.linalg.cholesky(t.residual_cov + 1e-9 * np.eye(len(t.alpha)))
    lin = t.alpha + sim.data.X[sites] @ t.beta
    eps = rng.normal(size=(n_draws, len(sites), len(t.alpha))) @ chol.T
    p = 1.0 / (1.0 + np.exp(-(lin + eps)))
    return (rng.random(p.shape) < p).astype(np.uint8), p


def _macro_auc(y: np.ndarray, p: np.ndarray) -> float:
    keep = [j for j in range(y.shape[1]) if 0 < y[:, j].sum() < y.shape[0]]
    return float(np.mean([roc_auc_score(y[:, j], p[:, j]) for j in keep]))


def evaluate(model: HotVAE, sim, train: np.ndarray, test: np.ndarray, seed: int, *, latent: bool = True) -> dict:
    """Every held-out metric of the module docstring for one fitted model."""
    module = model.module_
    L = len(sim.species)
    iu = np.triu_indices(L, 1)
    out: dict[str, float] = {"best_epoch": model.best_epoch_,
                             "val_maf1": max(h["val_maf1"] for h in model.history_)}
    cov = model.residual_covariance_.to_numpy()
    cor = model.residual_correlation_.to_numpy()
    true = sim.truth.residual_corr[iu]
    if sim.truth.params["residual_sd"] > 0 and cov.any():
        out["pearson_corr"] = float(np.corrcoef(true, cor[iu])[0, 1])
        out["pearson_cov"] = float(np.corrcoef(true, cov[iu])[0, 1])
    out["diag_mean"] = float(np.diag(cov).mean())
    Xt = sim.data.X[test]
    x = model._features_for_predict(Xt)  # standardised, for the module's joint likelihood below
    Y = sim.data.Y[test]
    rich = Y.sum(1)
    draws, prob = _draws(model, Xt, "residual", seed)
    marg = model.predict_proba(Xt)
    out["marg_gap"] = float(np.abs(prob.mean(0) - marg).mean())
    out["var_ratio_res"] = _var_ratio(draws, prob)
    out["cover90_res"] = _interval_cover(draws.sum(-1), rich)
    if latent:
        ld, lp = _draws(model, Xt, "latent", seed)
        out["var_ratio_lat"] = _var_ratio(ld, lp)
        out["marg_gap_lat"] = float(np.abs(lp.mean(0) - marg).mean())
        out["cover90_lat"] = _interval_cover(ld.sum(-1), rich)
    td, tp = _truth_draws(sim, test, N_TRUTH, np.random.default_rng(seed))
    out["var_ratio_true"] = _var_ratio(td, tp)
    out["cover90_true"] = _interval_cover(td[:N_DRAWS].sum(-1), rich)
    with torch.inference_mode():
        module.eval()
        xt = torch.as_tensor(x)
        noise = torch.randn((4000, len(x), module.residual_loadings().shape[1]), generator=torch.Generator().manual_seed(seed))
        ll = mc_log_likelihood(module.predict_logits(xt), torch.as_tensor(Y, dtype=torch.float32),
                               module.residual_loadings(), noise)
    out["joint_ll"] = float(ll.mean())
    hidden = np.random.default_rng(seed).permutation(L)[: L // 2]
    given = Y.astype(np.float64)
    given[:, hidden] = np.nan
    cond = model.predict_proba(Xt, given=given, n_mc=4000, seed=seed) if model.has_residual_association else marg
    out["auc_marg"] = _macro_auc(Y[:, hidden], marg[:, hidden])
    out["auc_cond"] = _macro_auc(Y[:, hidden], cond[:, hidden])
    # the generating model's own marginal and conditional predictions (the ceiling)
    seen = np.setdiff1d(np.arange(L), hidden)
    w = np.prod(np.where(Y[None][..., seen] == 1, tp[..., seen], 1 - tp[..., seen]), axis=-1)  # (draws, sites)
    out["auc_marg_true"] = _macro_auc(Y[:, hidden], tp.mean(0)[:, hidden])
    out["auc_cond_true"] = _macro_auc(Y[:, hidden], ((w[..., None] * tp).sum(0) / w.sum(0)[:, None])[:, hidden])
    return out


def run_one(args, seed: int, residual_sd: float = 1.0, latent: bool = True, **cfg) -> dict:
    n = args.sites + args.test_sites
    sim = simulate_community(n_sites=n, n_species=args.species, seed=seed, n_interactions=0, residual_sd=residual_sd, n_mc=1)
    perm = np.random.default_rng(seed).permutation(n)
    train, test = np.sort(perm[: args.sites]), np.sort(perm[args.sites:])
    t0 = time.perf_counter()
    model = HotVAE(**_params(args, **cfg), random_state=seed).fit(sim.data.subset(train))
    fit_s = time.perf_counter() - t0
    res = evaluate(model, sim, train, test, seed, latent=latent)
    res.update(seed=seed, residual_sd=residual_sd, fit_s=fit_s, **cfg)
    return res


def _experiments(args) -> list[str]:
    """Apply the experiment switches (patches of library internals, for design measurements only)."""
    notes = []
    if args.no_marginal_scale:
        import jsdm_hot.model.residual as residual

        residual.logit_scale = lambda lam: torch.ones(lam.shape[0], device=lam.device)
        notes += ["**Experiment: no c_l scale** (logit = d + Λe; `--no-marginal-scale`).", ""]
    if args.select_last_epoch:
        from jsdm_hot.training import early_stopping as train

        def update(self, score, epoch):
            self.best_score, self.best_epoch = float(score), int(epoch)
            return True, False, ""

        train.EarlyStopping.update = update
        notes += ["**Experiment: last epoch kept** instead of the best validation-maF1 one (`--select-last-epoch`).", ""]
    return notes


def timing(threads: int, n_sites: int = 50, n_draws: int = 100) -> list[dict]:
    """Site-draws/s of the latent (paper) and residual draw modes, real decoder, random weights."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from posterior_speed import make_module, time_mode  # sibling benchmark script

    module = make_module(100)
    x = np.random.default_rng(0).normal(size=(n_sites, 30)).astype(np.float32)
    rows = []
    for mode, label in (("latent", "latent (paper: one decoder pass per draw)"),
                        ("residual", "residual (one decoder pass per site)")):
        s, _ = time_mode(module, x, n_draws, mode, keep=True)
        rows.append({"mode": label, "seconds": s, "site_draws_s": n_sites * n_draws / s})
    return rows


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _table(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _mean_rows(rows: list[dict], keys: list[str], group: list[str]) -> list[dict]:
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault(tuple(r.get(g) for g in group), []).append(r)
    res = []
    for k, rs in out.items():
        m = dict(zip(group, k))
        m["seeds"] = len(rs)
        for c in keys:
            vals = [r[c] for r in rs if c in r]
            if vals:
                m[c] = float(np.mean(vals))
        res.append(m)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sites", type=int, default=1500, help="training sites (10 %% of them validate)")
    ap.add_argument("--test-sites", type=int, default=500)
    ap.add_argument("--species", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--d-model", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--design", action="store_true", help="sweep residual_factors and lambda_residual")
    ap.add_argument("--configs", nargs="+", default=DESIGN, type=lambda s: (int(s.split(":")[0]), float(s.split(":")[1])),
                    help="design sweep points residual_factors:lambda_residual (default: %(default)s)")
    ap.add_argument("--timing", action="store_true", help="only time the draw modes")
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    ap.add_argument("--no-marginal-scale", action="store_true",
                    help="experiment: logit = d + Λe without the c_l scale (patches jsdm_hot.model.residual.logit_scale)")
    ap.add_argument("--select-last-epoch", action="store_true",
                    help="experiment: keep the last epoch's weights instead of the best validation-maF1 epoch "
                         "(patches jsdm_hot.training.early_stopping.EarlyStopping.update)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    notes = _experiments(args)
    if args.quick:
        args.sites, args.test_sites, args.species, args.epochs, args.seeds = 200, 100, 8, 2, args.seeds[:1]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    head = ["# Residual association: recovery, draws, conditional prediction (`benchmarks/residual_recovery.py`)", "",
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}; {platform.machine()} CPU, "
            f"torch {torch.__version__} with {args.threads} thread(s); no GPU.", "",
            f"Simulator: {args.sites} training + {args.test_sites} held-out sites × {args.species} species, "
            f"no higher-order interactions; HotVAE d_model {args.d_model}, latent 8, encoder 64, batch 64, "
            f"{args.epochs} epochs (no early stop; best validation-maF1 epoch kept); seeds {args.seeds}.", "", *notes]
    body: list[str] = []
    metric_cols = ["pearson_corr", "pearson_cov", "diag_mean", "var_ratio_res", "var_ratio_lat", "var_ratio_true",
                   "cover90_res", "cover90_lat", "cover90_true", "joint_ll", "auc_marg", "auc_cond", "auc_marg_true",
                   "auc_cond_true", "marg_gap", "marg_gap_lat", "val_maf1", "best_epoch", "fit_s"]
    if args.design:
        rows = []
        for seed in args.seeds:
            for K, lam in args.configs:
                r = run_one(args, seed, latent=False, residual_factors=K, lambda_residual=lam)
                print(r, flush=True)
                rows.append(r)
        cols = ["residual_factors", "lambda_residual", "seeds"] + [c for c in metric_cols if "lat" not in c]
        body += ["## Design sweep (mean over seeds)", "", _table(_mean_rows(rows, metric_cols, cols[:2]), cols), "",
                 "Per run:", "", _table(rows, ["seed"] + cols[:2] + cols[3:]), ""]
    elif not args.timing:
        rows = []
        for seed in args.seeds:
            for sd in (1.0, 0.0):
                r = run_one(args, seed, residual_sd=sd)
                print(r, flush=True)
                rows.append(r)
        cols = ["residual_sd", "seeds"] + metric_cols
        body += ["## Default configuration (mean over seeds)", "", _table(_mean_rows(rows, metric_cols, ["residual_sd"]), cols),
                 "", "Per run:", "", _table(rows, ["seed"] + [c for c in cols if c != "seeds"]), ""]
    if args.timing or not (args.design or args.quick):
        t = timing(args.threads)
        ratio = t[1]["site_draws_s"] / t[0]["site_draws_s"]
        body += ["## Draw speed (d_model 200, 2 layers, 100 species, 30 covariates, 50 sites × 100 draws, random weights)", "",
                 _table(t, ["mode", "seconds", "site_draws_s"]), "", f"Residual mode: {ratio:.0f}× the latent mode's site-draws/s.", ""]
    text = "\n".join(head + body)
    print(text)
    if args.out:
        from jsdm_hot.io import atomic_write_text

        atomic_write_text(args.out, text + "\n")


if __name__ == "__main__":
    main()
