"""Training speed of HotVAEModule: fast decoder vs the naive loop reference.

An eBird-scale synthetic problem (50,000 sites × 100 species, 30 covariates; d = 512,
3 decoder layers, batch 256, the rest of :class:`~jsdm_hot.model.ModelConfig` and
:class:`~jsdm_hot.training.TrainConfig` at their defaults) is timed for full training steps — forward of both branches, Eq 17 loss,
backward and an Adam update — on a batch drawn from the synthetic data.

Variants (same weights at the start, same batches):

* ``fast``: :class:`~jsdm_hot.model.decoder.HotDecoder` (fused SDPA attention,
  einsum readout), float32 on CPU; on CUDA also ``fast+bf16`` under
  ``torch.autocast(dtype=torch.bfloat16)``.
* ``naive``: the same module with its decoder replaced by
  :class:`~jsdm_hot.model.reference.NaiveDecoder` (python loops over heads and species,
  explicit softmax, float32), run for fewer steps.

Usage::

    python benchmarks/train_speed.py                 # CPU (and CUDA if present)
    python benchmarks/train_speed.py --device cuda --steps 50
    python benchmarks/train_speed.py --quick --out benchmarks/results/train_speed_cpu.md

``--quick`` keeps the problem size and times 1 fast step (after 1 untimed warm-up
step) and 1 naive step on a batch of 32 (``--naive-batch``): the naive reference keeps
thousands of small autograd nodes per step and needs about 2.6 GB per 32 sites, so a
full batch of 256 does not fit a small machine. Compare the variants by samples/s
(the table's speed-up column does); the batch size is in the table.
``--threads N`` calls ``torch.set_num_threads(N)`` first (use 1 on a shared CPU,
where spinning OpenMP threads make small ops very slow).
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass

import torch

from jsdm_hot.model.config import ModelConfig
from jsdm_hot.model.hotvae import HotVAEModule
from jsdm_hot.model.reference import NaiveDecoder
from jsdm_hot.training.config import TrainConfig


@dataclass
class Result:
    variant: str
    device: str
    precision: str
    steps: int
    seconds: float
    batch: int

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds

    @property
    def samples_per_s(self) -> float:
        return self.steps * self.batch / self.seconds


def make_problem(n_sites: int, n_features: int, n_species: int, seed: int = 0):
    """Synthetic community: species respond to covariates through 5 shared latent factors.

    Returns
    -------
    x : Tensor of shape (n_sites, n_features), float32
    y : Tensor of shape (n_sites, n_species), float32 0/1 (about 20 % presences)
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_sites, n_features, generator=g)
    factors = x @ torch.randn(n_features, 5, generator=g) / n_features**0.5
    eta = factors @ torch.randn(5, n_species, generator=g) + 0.5 * torch.randn(n_sites, n_species, generator=g) - 1.4
    y = (torch.rand(n_sites, n_species, generator=g) < torch.sigmoid(eta)).float()
    return x, y


def time_training(module, x, y, *, device, batch, steps, warmup, autocast_bf16, seed=0) -> float:
    """Seconds taken by ``steps`` training steps (after ``warmup`` untimed ones)."""
    module.to(device).train()
    opt = torch.optim.Adam(module.parameters(), lr=TrainConfig().lr)
    g = torch.Generator().manual_seed(seed)
    dev = torch.device(device)

    def step():
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        xb, yb = x[idx].to(dev, non_blocking=True), y[idx].to(dev, non_blocking=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=autocast_bf16):
            out = module(xb, yb)
        loss = module.loss(out, yb).loss  # float32
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def run(device: str, args, x, y) -> list[Result]:
    cfg = ModelConfig(d_model=args.d_model, n_layers=args.n_layers)

    def fresh(naive: bool) -> HotVAEModule:
        torch.manual_seed(0)
        m = HotVAEModule(x.shape[1], y.shape[1], cfg)
        if naive:
            m.decoder = NaiveDecoder.from_fast(m.decoder)
        return m

    results = []
    variants = [("fast", False, False)]
    if device == "cuda":
        variants.append(("fast+bf16", False, True))
    variants.append(("naive", True, False))
    for name, naive, bf16 in variants:
        steps = args.naive_steps if naive else args.steps
        batch = args.naive_batch if naive else args.batch
        warmup = 0 if naive and args.quick else 1
        secs = time_training(fresh(naive), x, y, device=device, batch=batch, steps=steps, warmup=warmup,
                             autocast_bf16=bf16)
        results.append(Result(name, device, "bf16 autocast" if bf16 else "float32", steps, secs, batch))
        print(f"  {name:10s} {device:5s} batch {batch}: {steps} steps in {secs:.2f} s", flush=True)
    return results


def table(results: list[Result]) -> str:
    lines = ["| variant | device | precision | batch | timed steps | s/step | steps/s | samples/s | speed-up vs naive (samples/s) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        naive = next(n for n in results if n.device == r.device and n.variant == "naive")
        lines.append(f"| {r.variant} | {r.device} | {r.precision} | {r.batch} | {r.steps} | {r.seconds / r.steps:.3f} | "
                     f"{r.steps_per_s:.4f} | {r.samples_per_s:.2f} | {r.samples_per_s / naive.samples_per_s:.1f}× |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto (CPU, plus CUDA when available)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps of the fast variants")
    ap.add_argument("--naive-steps", type=int, default=3, help="timed steps of the naive reference")
    ap.add_argument("--quick", action="store_true", help="1 fast step, 1 naive step on a batch of 32")
    ap.add_argument("--naive-batch", type=int, default=None, help="batch of the naive reference (default: --batch)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads before timing")
    ap.add_argument("--n-sites", type=int, default=50_000)
    ap.add_argument("--n-species", type=int, default=100)
    ap.add_argument("--n-features", type=int, default=30)
    ap.add_argument("--d-model", type=int, default=512)
    ap.add_argument("--n-layers", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--out", default=None, help="also write the table (markdown) to this file")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.steps, args.naive_steps = 1, 1
        args.naive_batch = args.naive_batch or 32
    args.naive_batch = args.naive_batch or args.batch
    devices = ["cpu", "cuda"] if args.device == "auto" and torch.cuda.is_available() else (
        ["cpu"] if args.device == "auto" else [args.device])
    x, y = make_problem(args.n_sites, args.n_features, args.n_species)
    header = (f"Problem: {args.n_sites} sites × {args.n_species} species, {args.n_features} features; "
              f"d={args.d_model}, {args.n_layers} decoder layers, batch {args.batch}; torch {torch.__version__}, "
              f"{torch.get_num_threads()} CPU threads, {platform.processor() or platform.machine()}"
              + (f", GPU {torch.cuda.get_device_name()}" if "cuda" in devices else ""))
    print(header, flush=True)
    results = []
    for dev in devices:
        results += run(dev, args, x, y)
    text = header + "\n\n" + table(results) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
