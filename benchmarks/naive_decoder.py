"""Check and time the naive loop decoder against the fast HotDecoder.

The naive reference itself lives in :mod:`jsdm_hot.model.reference` (``NaiveDecoder``)
so that the test suite (``tests/model/test_decoder.py``) can import it; this script
loads the fast decoder's weights into it, runs both in eval mode on the same latent
samples with a random label graph and bias, and prints the largest absolute
difference of the logits and intermediate readouts and the forward times.

Usage::

    python benchmarks/naive_decoder.py                       # small sizes
    python benchmarks/naive_decoder.py --n-species 100 --d-model 512 --n-layers 3 --batch 32
"""

from __future__ import annotations

import argparse
import time

import torch

from jsdm_hot.model.decoder import HotDecoder
from jsdm_hot.model.reference import NaiveDecoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-species", type=int, default=20)
    ap.add_argument("--latent-dim", type=int, default=16)
    ap.add_argument("--n-subspaces", type=int, default=2)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--n-layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--edge-prob", type=float, default=0.5, help="probability that an off-diagonal edge is kept")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    L = args.n_species
    fast = HotDecoder(L, args.latent_dim, args.d_model, args.n_layers, args.n_heads, dropout=0.1).eval()
    naive = NaiveDecoder.from_fast(fast).eval()
    g = torch.Generator().manual_seed(args.seed + 1)
    mask = torch.rand(L, L, generator=g) < args.edge_prob
    mask = mask | mask.T | torch.eye(L, dtype=torch.bool)
    bias = 0.5 * torch.randn(L, L, generator=g)
    z = torch.randn(args.batch, args.n_subspaces, args.latent_dim, generator=g)

    with torch.no_grad():
        t0 = time.perf_counter()
        out_fast = fast(z, mask, bias)
        t1 = time.perf_counter()
        out_naive = naive(z, mask, bias)
        t2 = time.perf_counter()
    diffs = [(out_fast.logits - out_naive.logits).abs().max().item()]
    diffs += [(a - b).abs().max().item() for a, b in zip(out_fast.intermediate, out_naive.intermediate, strict=True)]
    print(f"L={L} d={args.d_model} heads={args.n_heads} layers={args.n_layers} batch={args.batch} "
          f"edges kept={mask.float().mean().item():.2f}")
    print(f"max |fast - naive| over logits and {len(diffs) - 1} intermediate readouts: {max(diffs):.2e}")
    print(f"forward: fast {1e3 * (t1 - t0):.1f} ms, naive {1e3 * (t2 - t1):.1f} ms, ratio {(t2 - t1) / (t1 - t0):.1f}×")


if __name__ == "__main__":
    main()
