"""Residual loadings fitted with the true fixed effects: phylogenetic prior (issue 17.2) and M.

Two questions, each isolated from the decoder's fit: does a phylogenetic prior on the
residual association help recover it, and how many Monte-Carlo draws M the
likelihood needs. The residual loadings Λ
(24 species × K = 2) are fitted alone, with the simulator's *true* linear predictor
``alpha + X beta`` as the fixed logits, by the same Monte-Carlo likelihood as
:class:`jsdm_hot.model.HotVAEModule` (:func:`jsdm_hot.model.residual.mc_log_likelihood`,
M = 64, batch 64, Adam with the module's effective step ``lr × gain`` = 7.5e-4 × 30,
840 steps = 40 epochs of 1,350 sites), with and without a prior built from the tree's
Brownian correlation ``C`` (:attr:`SimulationTruth.phylo_cov`, the same matrix
:func:`jsdm_hot.phylo.phylo_distances` gives as ``mrca_depth`` for the simulated
Newick tree). Scored: Pearson correlation of ``cov2cor(Λ Λᵀ)`` with the true residual
correlation over species pairs, with phylogenetic signal 0.8 (the simulator's default:
``Σ = 0.8 C + 0.2 R``) and 0.2 (mostly non-phylogenetic).

Priors tried:

* ``fixed w``: ``w · min_s mean_{i≠j} (Σ_ij − s C_ij)²`` (the best non-negative
  multiple of ``C``), added to the per-site-and-species loss;
* ``adaptive m``: a Gaussian prior on each column of Λ, ``N(0, τ² (ρ C + (1 − ρ) I))``,
  with τ and ρ ∈ [0, 0.99] learnt jointly (a Pagel's λ for the residual), its
  negative log density weighted by ``m / (n_sites · L)`` (``m = 1`` is the MAP scale).

The M sweep (no prior, phylogenetic signal 0.8) fits the same way with M ∈ {8, 64,
512} draws and reports the recovery and the mean diagonal of ``Λ Λᵀ`` (the fitted
residual variance; the true Σ has unit diagonal, of which a rank-2 fit can hold about
half).

Usage::

    python benchmarks/residual_oracle.py --out benchmarks/results/residual_oracle.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.model import residual as R

K, N_SITES, L = 2, 1350, 24


def fixed_penalty(lam: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    cov = lam @ lam.T
    off = ~torch.eye(L, dtype=torch.bool)
    c, t = cov[off], C[off]
    s = ((c * t).sum() / (t * t).sum()).clamp(min=0)
    return ((c - s * t) ** 2).mean()


def gaussian_prior_nll(lam: torch.Tensor, C: torch.Tensor, log_tau: torch.Tensor, logit_rho: torch.Tensor) -> torch.Tensor:
    rho = 0.99 * torch.sigmoid(logit_rho)
    chol = torch.linalg.cholesky(rho * C + (1 - rho) * torch.eye(L))
    quad = (lam * torch.cholesky_solve(lam, chol)).sum() * torch.exp(-2 * log_tau)
    return 0.5 * quad + 0.5 * K * (2 * L * log_tau + 2 * torch.log(torch.diagonal(chol)).sum())


def fit(sim, kind: str, weight: float, seed: int, n_mc: int = 64) -> tuple[float, float, float]:
    t = sim.truth
    C = torch.tensor(t.phylo_cov, dtype=torch.float32)
    eta = torch.tensor(t.alpha + sim.data.X @ t.beta, dtype=torch.float32)
    y = torch.tensor(sim.data.Y, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    lam = torch.nn.Parameter(0.3 * torch.randn(L, K, generator=g))
    log_tau, logit_rho = torch.nn.Parameter(torch.zeros(())), torch.nn.Parameter(torch.zeros(()))
    opt = torch.optim.Adam([lam, log_tau, logit_rho], lr=7.5e-4 * 30)
    for _ in range(840):
        idx = torch.randint(0, N_SITES, (64,), generator=g)
        noise = torch.randn(n_mc, 64, K, generator=g)
        loss = -R.mc_log_likelihood(eta[idx] / R.logit_scale(lam), y[idx], lam, noise).mean() / L
        if kind == "fixed":
            loss = loss + weight * fixed_penalty(lam, C)
        elif kind == "adaptive":
            loss = loss + weight / (N_SITES * L) * gaussian_prior_nll(lam, C, log_tau, logit_rho)
        opt.zero_grad()
        loss.backward()
        opt.step()
    iu = np.triu_indices(L, 1)
    lam = lam.detach()
    corr = R.residual_correlation(lam).numpy()
    r = float(np.corrcoef(t.residual_corr[iu], corr[iu])[0, 1])
    return r, 0.99 * float(torch.sigmoid(logit_rho.detach())), float(R.residual_covariance(lam).diagonal().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    variants = [("none", 0.0), ("fixed", 0.3), ("fixed", 1.0), ("adaptive", 0.3), ("adaptive", 1.0), ("adaptive", 3.0)]
    lines = ["# Residual loadings with the true fixed effects (`benchmarks/residual_oracle.py`)", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; command: `python benchmarks/residual_oracle.py"
             f" --seeds {' '.join(map(str, args.seeds))}`. Setup in the script's docstring.", "",
             "## Phylogenetic prior", "",
             "Pearson r of cov2cor(ΛΛᵀ) with the true residual correlation (per seed; mean); ρ: learnt phylogenetic weight.", "",
             "| phylo_signal | prior | weight | r per seed | mean r | ρ per seed |", "|---|---|---|---|---|---|"]
    for ps in (0.8, 0.2):
        sims = {s: simulate_community(n_sites=N_SITES, n_species=L, seed=s, n_interactions=0, n_mc=1, phylo_signal=ps)
                for s in args.seeds}
        for kind, w in variants:
            got = [fit(sims[s], kind, w, s) for s in args.seeds]
            r = [v[0] for v in got]
            rho = " ".join(f"{v[1]:.2f}" for v in got) if kind == "adaptive" else ""
            lines.append(f"| {ps} | {kind} | {w:g} | {' '.join(f'{v:.3f}' for v in r)} | {np.mean(r):.3f} | {rho} |")
            print(lines[-1], flush=True)
    lines += ["", "## Monte-Carlo draws M (no prior, phylo_signal 0.8)", "",
              "| M | r per seed | mean r | mean diag(ΛΛᵀ) per seed |", "|---|---|---|---|"]
    sims = {s: simulate_community(n_sites=N_SITES, n_species=L, seed=s, n_interactions=0, n_mc=1) for s in args.seeds}
    for m in (8, 64, 512):
        got = [fit(sims[s], "none", 0.0, s, n_mc=m) for s in args.seeds]
        lines.append(f"| {m} | {' '.join(f'{v[0]:.3f}' for v in got)} | {np.mean([v[0] for v in got]):.3f} | "
                     f"{' '.join(f'{v[2]:.2f}' for v in got)} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    if args.out:
        from jsdm_hot.io import atomic_write_text

        atomic_write_text(args.out, text + "\n")


if __name__ == "__main__":
    main()
