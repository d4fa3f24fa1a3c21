"""GPU training and posterior-sampling speed of HotVAEModule at eBird scale.

Target: **≤ 3 s per training epoch on one H100** at the default size (50,000 sites ×
100 species, 30 covariates, d_model 512, 3 decoder layers, batch 512; the rest of
:class:`~jsdm_hot.model.ModelConfig` and :class:`~jsdm_hot.training.TrainConfig` at their defaults).

Training variants (same initial weights, same batches; one untimed warm-up epoch,
then ``--epochs`` timed epochs, CUDA synchronised before and after):

* ``fp32 eager``  — float32, no autocast (the reference row of the ratios);
* ``bf16 eager``  — ``torch.autocast(dtype=torch.bfloat16)``, what
  :func:`jsdm_hot.training.train_module` does on CUDA;
* ``fp32 compile`` / ``bf16 compile`` — the same after ``module.compile()``
  (``torch.compile`` of the forward; the loss and optimiser stay eager). A compile
  failure is caught and its error written in the table;
* ``naive fp32 eager`` — the decoder swapped for the loop reference
  :class:`~jsdm_hot.model.reference.NaiveDecoder` (as in
  ``benchmarks/naive_decoder.py``); too slow for a full epoch, so ``--naive-steps``
  steps are timed (after one warm-up step) and the epoch time is extrapolated;
* optional ``tf32 eager`` / ``tf32 compile`` (``--variants``): float32 with TF32
  tensor-core matmuls (``torch.set_float32_matmul_precision("high")``).

A training step is the one of :func:`jsdm_hot.training.train_module`: batches from
:class:`jsdm_hot.training.ArrayBatches` (shuffled per epoch), forward of both branches
under autocast, Eq 17 loss, backward, gradient clipping, Adam step and the loop's
per-step read-back of the five loss terms (one device sync per step). The validation
pass, thresholds and checkpoints of ``train_module`` are not timed.

Achieved TFLOP/s = analytic matmul FLOPs (:mod:`jsdm_hot.model.flops`: forward +
backward = 3 × forward, element-wise ops not counted) × sites / seconds.

Posterior sampling: :func:`jsdm_hot.estimators.posterior.latent_draws` (joint draws) chunk by
chunk with per-chunk seeds, as ``HotVAE.iter_samples`` does, of
``--n-draws`` draws at ``--sample-sites`` sites, float32 and under bf16 autocast,
after one warm-up chunk; reported as site-draws/s.

Imports only torch, numpy, pandas, scipy and scikit-learn (through jsdm_hot's core:
``jsdm_hot.training`` → ``jsdm_hot.metrics``): no tqdm, typer or safetensors is needed, so
the script runs on a bare GPU machine.

At the default size the whole run should take about 4-5 minutes on an H100 (an
estimate: mostly the float32 rows, ~15 s/epoch each, and two compilations); ``--epochs 1``
or fewer ``--variants`` shorten it.

Usage::

    python benchmarks/gpu_speed.py                         # default size, --device auto
    python benchmarks/gpu_speed.py --epochs 1 --variants fp32-eager,bf16-eager,bf16-compile
    python benchmarks/gpu_speed.py --smoke --device cpu    # tiny sizes: tests the script

The tables are printed and written to ``benchmarks/results/gpu_speed_<device>.md``
(``_smoke`` appended with ``--smoke``; ``--out`` overrides).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import gc
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import make_problem  # noqa: E402  (sibling benchmark script)

from jsdm_hot.estimators.base import DEFAULT_CHUNK  # noqa: E402
from jsdm_hot.estimators.inputs import chunk_seed  # noqa: E402
from jsdm_hot.estimators.posterior import latent_draws  # noqa: E402
from jsdm_hot.model.config import ModelConfig  # noqa: E402
from jsdm_hot.model.flops import forward_flops_per_site, training_flops_per_site  # noqa: E402
from jsdm_hot.model.hotvae import HotVAEModule  # noqa: E402
from jsdm_hot.model.reference import NaiveDecoder  # noqa: E402
from jsdm_hot.training import ArrayBatches, TrainConfig, resolve_device, train_epoch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_S_PER_EPOCH = 3.0

#: name -> (precision, compiled, naive decoder)
VARIANTS = {
    "fp32-eager": ("fp32", False, False),
    "bf16-eager": ("bf16", False, False),
    "fp32-compile": ("fp32", True, False),
    "bf16-compile": ("bf16", True, False),
    "naive": ("fp32", False, True),
    "tf32-eager": ("tf32", False, False),
    "tf32-compile": ("tf32", True, False),
}
DEFAULT_VARIANTS = "fp32-eager,bf16-eager,fp32-compile,bf16-compile,naive"
#: --smoke sizes: 600 sites in batches of 256 leave a remainder batch of 88, so the compiled
#: variants also go through torch.compile's dynamic-shape recompilation, as at full size.
SMOKE = dict(n_sites=600, n_species=12, n_features=30, d_model=32, n_layers=2, batch=256, epochs=1,
             naive_steps=1, naive_batch=16, sample_sites=64, n_draws=5)


@dataclass
class Row:
    """One table row; ``seconds`` is per epoch (training) or for all draws (posterior)."""

    label: str
    precision: str
    compiled: str
    seconds: float | None = None
    samples: int = 0
    flops: float = 0.0
    peak_gib: float | None = None
    note: str = ""
    error: str = ""
    epoch_times: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.samples / self.seconds if self.seconds else None

    @property
    def tflops(self) -> float | None:
        return self.flops / self.seconds / 1e12 if self.seconds else None


def _label(name: str) -> str:
    precision, compiled, naive = VARIANTS[name]
    return "naive fp32 eager" if naive else f"{precision} {'compile' if compiled else 'eager'}"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _autocast(device: torch.device, precision: str):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


@contextlib.contextmanager
def _matmul_precision(precision: str):
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if precision == "tf32" else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old)


def _error(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:240]}".replace("|", "\\|")


def run_epoch(module, optimizer, batches: ArrayBatches, tcfg: TrainConfig, *, device, precision: str, epoch: int) -> int:
    """One training epoch of :func:`jsdm_hot.training.train_epoch` (the loop's own step); returns the rows seen."""
    train_epoch(module, module, optimizer, batches, epoch, tcfg, device=device, bf16=precision == "bf16")
    return batches.rows_per_epoch(tcfg.batch_size)


def draw_chunks(module, x: np.ndarray, n_draws: int, *, seed: int, device: torch.device, chunk_size: int):
    """Joint draws of ``x`` chunk by chunk, seeded per chunk as ``JsdmEstimator.iter_samples`` does."""
    for ci, start in enumerate(range(0, x.shape[0], chunk_size)):
        draws, _ = latent_draws(module, x[start:start + chunk_size], n_draws, seed=chunk_seed(seed, ci), device=device)
        yield draws


def time_training(name: str, x: np.ndarray, y: np.ndarray, cfg: ModelConfig, tcfg: TrainConfig, args,
                  device: torch.device) -> Row:
    """Time one variant; never raises (a failure becomes the row's ``error``)."""
    precision, compiled, naive = VARIANTS[name]
    row = Row(_label(name), {"fp32": "float32", "bf16": "bf16 autocast", "tf32": "float32, TF32 matmul"}[precision],
              f"yes ({args.compile_backend}, {args.compile_mode})" if compiled else "no")
    flops_site = training_flops_per_site(cfg, x.shape[1], y.shape[1])["total"]
    _free(device)
    module = optimizer = None
    try:
        with _matmul_precision(precision):
            torch.manual_seed(0)
            module = HotVAEModule(x.shape[1], y.shape[1], cfg)
            if naive:
                module.decoder = NaiveDecoder.from_fast(module.decoder)
            module = module.to(device).train()
            if compiled:
                torch._dynamo.reset()
                module.compile(backend=args.compile_backend, mode=None if args.compile_mode == "default" else args.compile_mode)
            optimizer = torch.optim.Adam(module.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
            if naive:  # warm-up step, then --naive-steps steps on the first rows; extrapolate
                nb = args.naive_batch
                ncfg = TrainConfig(**{**tcfg.to_dict(), "batch_size": nb})
                run_epoch(module, optimizer, ArrayBatches(x[:nb], y[:nb]), ncfg, device=device, precision=precision, epoch=0)
                part = ArrayBatches(x[: nb * args.naive_steps], y[: nb * args.naive_steps])
                _sync(device)
                t0 = time.perf_counter()
                seen = run_epoch(module, optimizer, part, ncfg, device=device, precision=precision, epoch=1)
                _sync(device)
                per_row = (time.perf_counter() - t0) / seen
                row.seconds = per_row * x.shape[0]
                row.samples = x.shape[0]
                row.note = f"extrapolated from {args.naive_steps} step(s) of batch {nb}"
            else:
                batches = ArrayBatches(x, y)
                t0 = time.perf_counter()
                run_epoch(module, optimizer, batches, tcfg, device=device, precision=precision, epoch=0)  # warm-up
                _sync(device)
                warm = time.perf_counter() - t0
                for e in range(args.epochs):
                    _sync(device)
                    t0 = time.perf_counter()
                    seen = run_epoch(module, optimizer, batches, tcfg, device=device, precision=precision, epoch=e + 1)
                    _sync(device)
                    row.epoch_times.append(time.perf_counter() - t0)
                row.seconds = float(np.mean(row.epoch_times))
                row.samples = seen
                row.note = f"mean of {args.epochs} epoch(s); warm-up epoch {warm:.1f} s"
            row.flops = flops_site * row.samples
            if device.type == "cuda":
                row.peak_gib = torch.cuda.max_memory_allocated(device) / 2**30
    except Exception as exc:  # noqa: BLE001 - recorded in the table, the other variants still run
        row.error = _error(exc)
        row.seconds = None
    finally:
        del module, optimizer
        if compiled:
            torch._dynamo.reset()
        _free(device)
    status = f"{row.seconds:.3f} s/epoch" if row.seconds else f"FAILED {row.error}"
    print(f"  {row.label:18s} {status}", flush=True)
    return row


def time_posterior(precision: str, x: np.ndarray, n_species: int, cfg: ModelConfig, args, device: torch.device) -> Row:
    """Joint draws via :func:`draw_chunks`; never raises."""
    row = Row(f"posterior {precision}", "float32" if precision == "fp32" else "bf16 autocast", "no")
    flops_draw = forward_flops_per_site(cfg, x.shape[1], n_species, mode="predict")["total"]
    _free(device)
    module = None
    try:
        torch.manual_seed(0)
        module = HotVAEModule(x.shape[1], n_species, cfg).to(device)
        xs = x[: args.sample_sites]
        with _autocast(device, precision):
            for _ in draw_chunks(module, xs[: args.sample_chunk], args.n_draws, seed=1, device=device,
                                 chunk_size=args.sample_chunk):
                pass  # warm-up chunk
            _sync(device)
            t0 = time.perf_counter()
            total = 0
            for d in draw_chunks(module, xs, args.n_draws, seed=0, device=device, chunk_size=args.sample_chunk):
                total += int(d.shape[0] * d.shape[1])  # draws come back to host memory: synchronised
            row.seconds = time.perf_counter() - t0
        row.samples = total
        row.flops = flops_draw * total
        row.note = f"{xs.shape[0]} sites × {args.n_draws} draws, chunk {args.sample_chunk} sites"
        if device.type == "cuda":
            row.peak_gib = torch.cuda.max_memory_allocated(device) / 2**30
    except Exception as exc:  # noqa: BLE001
        row.error = _error(exc)
        row.seconds = None
    finally:
        del module
        _free(device)
    status = f"{row.rate:,.0f} site-draws/s" if row.seconds else f"FAILED {row.error}"
    print(f"  {row.label:18s} {status}", flush=True)
    return row


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def training_table(rows: list[Row]) -> str:
    ref = next((r for r in rows if r.label == "fp32 eager" and r.seconds), None)
    out = ["| variant | precision | torch.compile | s/epoch | samples/s | TFLOP/s | peak GiB | speed-up vs fp32 eager | notes |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        ratio = f"{ref.seconds / r.seconds:.2f}×" if ref and r.seconds else "—"
        note = f"failed: {r.error}" if r.error else r.note
        out.append(f"| {r.label} | {r.precision} | {r.compiled} | {_fmt(r.seconds, '.3f')} | {_fmt(r.rate, ',.0f')} | "
                   f"{_fmt(r.tflops, '.3f')} | {_fmt(r.peak_gib, '.2f')} | {ratio} | {note} |")
    return "\n".join(out)


def posterior_table(rows: list[Row]) -> str:
    ref = next((r for r in rows if r.label == "posterior fp32" and r.seconds), None)
    out = ["| variant | precision | seconds | site-draws/s | TFLOP/s | peak GiB | speed-up vs posterior fp32 | notes |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        ratio = f"{r.rate / ref.rate:.2f}×" if ref and r.seconds else "—"
        note = f"failed: {r.error}" if r.error else r.note
        out.append(f"| {r.label} | {r.precision} | {_fmt(r.seconds, '.3f')} | {_fmt(r.rate, ',.0f')} | {_fmt(r.tflops, '.3f')} | "
                   f"{_fmt(r.peak_gib, '.2f')} | {ratio} | {note} |")
    return "\n".join(out)


def git_commit() -> str:
    """HEAD commit read from ``.git`` (no git executable needed); "unknown" without one."""
    try:
        gitdir = ROOT / ".git"
        if gitdir.is_file():  # worktree / submodule: "gitdir: <path>"
            gitdir = (ROOT / gitdir.read_text().split(":", 1)[1].strip()).resolve()
        common = gitdir / "commondir"
        common = (gitdir / common.read_text().strip()).resolve() if common.exists() else gitdir
        head = (gitdir / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        for base in (gitdir, common):
            if (base / ref).exists():
                return (base / ref).read_text().strip()
        packed = common / "packed-refs"
        for line in packed.read_text().splitlines() if packed.exists() else []:
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return "unknown"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s)"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto (CUDA when available), cuda[:N] or cpu")
    ap.add_argument("--smoke", action="store_true",
                    help=f"tiny sizes ({', '.join(f'{k}={v}' for k, v in SMOKE.items())}) and the 'eager' compile "
                         "backend (dynamo tracing only, no code generation), to test the script; explicit options still win")
    ap.add_argument("--n-sites", type=int, default=None, help="default 50000")
    ap.add_argument("--n-species", type=int, default=None, help="default 100")
    ap.add_argument("--n-features", type=int, default=None, help="default 30")
    ap.add_argument("--d-model", type=int, default=None, help="default 512")
    ap.add_argument("--n-layers", type=int, default=None, help="default 3")
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--batch", type=int, default=None, help="default 512")
    ap.add_argument("--epochs", type=int, default=None, help="timed epochs after the warm-up epoch (default 2)")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--naive-steps", type=int, default=None, help="timed steps of the naive decoder (default 3)")
    ap.add_argument("--naive-batch", type=int, default=None, help="batch of the naive decoder (default --batch)")
    ap.add_argument("--compile-backend", default=None, help="torch.compile backend (default inductor; eager with --smoke)")
    ap.add_argument("--compile-mode", default="default", help="torch.compile mode: default, reduce-overhead, max-autotune")
    ap.add_argument("--sample-sites", type=int, default=None, help="sites of the posterior benchmark (default 2000)")
    ap.add_argument("--n-draws", type=int, default=None, help="posterior draws per site (default 100)")
    ap.add_argument("--sample-chunk", type=int, default=DEFAULT_CHUNK, help="sites per chunk of draws")
    ap.add_argument("--no-posterior", action="store_true", help="skip the posterior sampling rows")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads before timing")
    ap.add_argument("--commit", default=None, help="git commit to record (default: read from .git)")
    ap.add_argument("--out", default=None, help="markdown output (default benchmarks/results/gpu_speed_<device>[_smoke].md)")
    ap.add_argument("--json", default=None, help="also write the raw rows as JSON here")
    args = ap.parse_args(argv)
    defaults = dict(n_sites=50_000, n_species=100, n_features=30, d_model=512, n_layers=3, batch=512, epochs=2,
                    naive_steps=3, naive_batch=None, sample_sites=2000, n_draws=100)
    if args.smoke:
        defaults.update(SMOKE)
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    for k in ("n_sites", "n_species", "n_features", "batch", "epochs", "naive_steps", "sample_sites", "n_draws"):
        if getattr(args, k) < 1:
            ap.error(f"--{k.replace('_', '-')} must be >= 1, got {getattr(args, k)}")
    args.naive_batch = args.naive_batch or args.batch
    args.compile_backend = args.compile_backend or ("eager" if args.smoke else "inductor")
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    return args


def main(argv=None) -> str:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cfg = ModelConfig(d_model=args.d_model, n_layers=args.n_layers, n_heads=args.n_heads)
    tcfg = TrainConfig(batch_size=args.batch)
    xt, yt = make_problem(args.n_sites, args.n_features, args.n_species)
    x, y = xt.numpy(), yt.numpy()
    train_f = training_flops_per_site(cfg, args.n_features, args.n_species)["total"]
    pred_f = forward_flops_per_site(cfg, args.n_features, args.n_species, mode="predict")["total"]
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cuda = f", CUDA {torch.version.cuda}" if device.type == "cuda" else ""
    title = "# GPU speed of HotVAEModule (`benchmarks/gpu_speed.py`)"
    lines = [title, ""]
    if args.smoke:
        lines += [f"**SMOKE RUN — tiny sizes on `{device}`, only to test the script. These are NOT GPU results "
                  "and say nothing about the target.**", ""]
    lines += [
        f"Target: ≤ {TARGET_S_PER_EPOCH:g} s per training epoch on one H100 at the default size "
        "(50,000 sites × 100 species, 30 features, d_model 512, 3 layers, batch 512).",
        "",
        f"- date: {now}",
        f"- device: {device_name(device)} (`{device}`)",
        f"- torch: {torch.__version__}{cuda}; Python {platform.python_version()}",
        f"- git commit: {args.commit or git_commit()}",
        f"- command: `python benchmarks/gpu_speed.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        f"- problem: {args.n_sites:,} sites × {args.n_species} species, {args.n_features} features; d_model {cfg.d_model}, "
        f"{cfg.n_layers} layers, {cfg.n_heads} heads, latent {cfg.latent_dim}, encoder hidden {cfg.encoder_hidden}, "
        f"dropout {cfg.dropout}, batch {tcfg.batch_size}",
        f"- analytic matmul FLOPs (`jsdm_hot.model.flops`): {train_f / 1e9:.3f} GFLOP per site per training step "
        f"(3 × forward of both branches); {pred_f / 1e9:.3f} GFLOP per posterior site-draw",
        f"- timed epochs: {args.epochs} after one warm-up epoch; compile backend {args.compile_backend}, mode {args.compile_mode}",
        "",
    ]
    print("\n".join(lines), flush=True)

    rows = [time_training(v, x, y, cfg, tcfg, args, device) for v in args.variants]
    post = [] if args.no_posterior else [time_posterior(p, x, args.n_species, cfg, args, device) for p in ("fp32", "bf16")]

    fast = [r for r in rows if r.seconds and not r.label.startswith("naive")]
    verdict = ""
    if fast and not args.smoke:
        best = min(fast, key=lambda r: r.seconds)
        met = "meets" if best.seconds <= TARGET_S_PER_EPOCH else "misses"
        verdict = (f"Fastest: **{best.label}**, {best.seconds:.3f} s/epoch ({best.tflops:.1f} TFLOP/s) on "
                   f"{device_name(device)}: {met} the {TARGET_S_PER_EPOCH:g} s target (stated for an H100"
                   + (")." if device.type == "cuda" else "; this is not a GPU run)."))
    text = "\n".join(lines) + "\n## Training (one epoch)\n\n" + training_table(rows) + "\n"
    if verdict:
        text += "\n" + verdict + "\n"
    if post:
        text += "\n## Posterior sampling (`jsdm_hot.estimators.posterior.latent_draws`, joint draws)\n\n" + posterior_table(post) + "\n"
    text += ("\nRatios: speed-up = fp32-eager seconds / row seconds (posterior: site-draws/s ratio). TFLOP/s counts matmul "
             "FLOPs only (`jsdm_hot.model.flops`), so it slightly understates the work done. A failed variant "
             "(e.g. torch.compile errors or out of memory) shows its error instead of numbers.\n")
    print(text.split("\n", len(lines))[-1], flush=True)

    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"gpu_speed_{device.type}{'_smoke' if args.smoke else ''}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written to {out}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"device": str(device), "smoke": args.smoke, "training_flops_per_site": train_f, "posterior_flops_per_draw": pred_f,
             "training": [{**asdict(r), "rate": r.rate, "tflops": r.tflops} for r in rows],
             "posterior": [{**asdict(r), "rate": r.rate, "tflops": r.tflops} for r in post]}, indent=1), encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
