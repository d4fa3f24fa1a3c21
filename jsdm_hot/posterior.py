"""Joint posterior predictive draws from a fitted HOT-VAE module.

A draw is **joint**: for each draw and site one latent ``z ~ q(z | x)`` is
sampled and *all* species are drawn from that same ``z``
(``y_l ~ Bernoulli(sigmoid(decoder(z))_l)``), so the species co-occurrence the
decoder learned carries into richness and β-diversity. Drawing each species
independently from its marginal probability is the mistake this avoids.

Draws are produced site-chunk by site-chunk (:func:`iter_draws`), so 100 draws
× 10^6 sites × 100 species never sit in memory at once; :func:`sample_draws`
collects them for data that fits. Results are reproducible for a given
``seed`` and ``chunk_size`` (the generator is re-seeded per chunk from
``(seed, chunk index)``), on CPU bit for bit.

Residual draws (:func:`iter_residual_draws`, :func:`sample_residual_draws`; ours,
for modules with residual factors, see :mod:`jsdm_hot.model.residual`): the
decoder runs once per site at the posterior mean of ``z`` (or ``n_latent`` times),
then each draw adds its own residual ``Λ e`` and draws Bernoullis. The joint part
is the fitted residual association, and a draw costs a small matrix product
instead of a decoder pass. :func:`conditional_proba` and
:func:`sample_conditional_draws` condition the residual on a partial checklist.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

__all__ = [
    "iter_draws",
    "sample_draws",
    "iter_residual_draws",
    "sample_residual_draws",
    "conditional_proba",
    "sample_conditional_draws",
    "DEFAULT_CHUNK",
    "DEFAULT_RESIDUAL_CHUNK",
    "DEFAULT_CONDITIONAL_CHUNK",
]

#: Sites per chunk. Each chunk runs n_draws × chunk rows through the decoder at
#: once (100 × 64 = 6,400 rows; with 100 species and d_model 200 one activation
#: tensor is 0.5 GB in float32), so memory stays bounded whatever the grid size.
DEFAULT_CHUNK = 64
#: Sites per chunk of residual draws: the decoder sees only ``n_latent`` rows per
#: site, the draws are (n_draws, chunk, n_species) (100 × 1,024 × 100 float32 = 41 MB).
DEFAULT_RESIDUAL_CHUNK = 1024
#: Sites per chunk of conditional predictions: (n_mc, chunk, n_species) logits
#: (2,000 × 64 × 100 float32 = 51 MB).
DEFAULT_CONDITIONAL_CHUNK = 64


def _chunk_generator(device: torch.device, seed: int, chunk_index: int) -> torch.Generator:
    g = torch.Generator(device=device)
    ss = np.random.SeedSequence([int(seed), int(chunk_index)])
    g.manual_seed(int(ss.generate_state(1, dtype=np.uint64)[0] & 0x7FFF_FFFF_FFFF_FFFF))
    return g


def _chunks(module: torch.nn.Module, arrays: tuple[np.ndarray, ...], chunk_size: int, seed: int,
            device: torch.device) -> Iterator[tuple[slice, tuple[torch.Tensor, ...], torch.Generator]]:
    """Eval-mode chunks of rows: ``(sites, float32 tensors on device, seeded generator)``.

    The module's train/eval mode is restored when the iteration ends.
    """
    was_training = module.training
    module.eval()
    try:
        n = arrays[0].shape[0]
        for ci, start in enumerate(range(0, n, chunk_size)):
            stop = min(start + chunk_size, n)
            ts = tuple(torch.as_tensor(np.asarray(a[start:stop], dtype=np.float32), device=device) for a in arrays)
            yield slice(start, stop), ts, _chunk_generator(device, seed, ci)
    finally:
        module.train(was_training)


@torch.inference_mode()
def iter_draws(
    module: torch.nn.Module,
    x: np.ndarray,
    n_draws: int = 100,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    chunk_size: int = DEFAULT_CHUNK,
    return_prob: bool = False,
) -> Iterator[tuple[slice, np.ndarray] | tuple[slice, np.ndarray, np.ndarray]]:
    """Yield joint posterior draws chunk by chunk of sites.

    Parameters
    ----------
    module : HotVAEModule
        Must provide ``sample_logits(x, generator)`` (one z per row).
    x : ndarray of shape (n_sites, n_features)
        Standardised covariates.
    n_draws : int
    seed : int
    device : torch.device or str
    chunk_size : int
        Sites per chunk.
    return_prob : bool
        Also yield the per-draw probabilities.

    Yields
    ------
    sites : slice
        Rows of ``x`` covered by the chunk.
    draws : ndarray of shape (n_draws, n_chunk_sites, n_species), uint8
    prob : ndarray of shape (n_draws, n_chunk_sites, n_species), float32
        Only when ``return_prob``: ``sigmoid(decoder(z))`` of each draw.
    """
    device = torch.device(device)
    for sites, (xb,), g in _chunks(module, (x,), chunk_size, seed, device):
        c = xb.shape[0]
        # (n_draws * c, n_features): draw-major so reshape gives (n_draws, c, L)
        xr = xb.repeat(n_draws, 1)
        logits = module.sample_logits(xr, generator=g).float()
        p = torch.sigmoid(logits)
        y = torch.bernoulli(p, generator=g).to(torch.uint8)
        L = y.shape[-1]
        out = y.reshape(n_draws, c, L).cpu().numpy()
        if return_prob:
            yield sites, out, p.reshape(n_draws, c, L).cpu().numpy()
        else:
            yield sites, out


def sample_draws(
    module: torch.nn.Module,
    x: np.ndarray,
    n_draws: int = 100,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    chunk_size: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """All joint draws at once.

    Returns
    -------
    ndarray of shape (n_draws, n_sites, n_species), uint8
    """
    parts = [d for _, d in iter_draws(module, x, n_draws, seed=seed, device=device, chunk_size=chunk_size)]
    return _collect(parts, n_draws, module.attn_mask.shape[0])


def _collect(parts: list[np.ndarray], n_draws: int, n_species: int) -> np.ndarray:
    if not parts:
        return np.zeros((n_draws, 0, n_species), dtype=np.uint8)
    return np.concatenate(parts, axis=1)


@torch.inference_mode()
def iter_residual_draws(
    module: torch.nn.Module,
    x: np.ndarray,
    n_draws: int = 100,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    chunk_size: int = DEFAULT_RESIDUAL_CHUNK,
    n_latent: int = 1,
    return_prob: bool = False,
) -> Iterator[tuple[slice, np.ndarray] | tuple[slice, np.ndarray, np.ndarray]]:
    """Yield joint draws with residual association, chunk by chunk of sites.

    Per chunk: ``n_latent`` decoder passes per site (``z = mu`` when 1, else draws
    of ``z ~ q(z|x)`` cycled over the draws), then for each draw ``e ~ N(0, I_K)``,
    ``p = σ(c · d + Λ e)`` and ``y ~ Bernoulli(p)`` (see
    :meth:`jsdm_hot.model.HotVAEModule.residual_draw_logits`). A module without
    residual factors gives draws that are independent given ``z``.

    Parameters
    ----------
    module : HotVAEModule
    x : ndarray of shape (n_sites, n_features)
        Standardised covariates.
    n_draws : int
    seed : int
        With ``chunk_size`` determines the draws (generator per chunk from
        ``(seed, chunk index)``).
    device : torch.device or str
    chunk_size : int
    n_latent : int
    return_prob : bool
        Also yield each draw's probabilities.

    Yields
    ------
    sites : slice
    draws : ndarray of shape (n_draws, n_chunk_sites, n_species), uint8
    prob : ndarray of shape (n_draws, n_chunk_sites, n_species), float32
        Only when ``return_prob``.
    """
    device = torch.device(device)
    for sites, (xb,), g in _chunks(module, (x,), chunk_size, seed, device):
        p = torch.sigmoid(module.residual_draw_logits(xb, int(n_draws), generator=g, n_latent=int(n_latent)))
        y = torch.bernoulli(p, generator=g).to(torch.uint8).cpu().numpy()
        yield (sites, y, p.cpu().numpy()) if return_prob else (sites, y)


def sample_residual_draws(
    module: torch.nn.Module,
    x: np.ndarray,
    n_draws: int = 100,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    chunk_size: int = DEFAULT_RESIDUAL_CHUNK,
    n_latent: int = 1,
) -> np.ndarray:
    """All residual draws at once (:func:`iter_residual_draws`).

    Returns
    -------
    ndarray of shape (n_draws, n_sites, n_species), uint8
    """
    parts = [d for _, d in iter_residual_draws(module, x, n_draws, seed=seed, device=device,
                                               chunk_size=chunk_size, n_latent=n_latent)]
    return _collect(parts, n_draws, module.attn_mask.shape[0])


def _check_given(given: np.ndarray, x: np.ndarray, n_species: int) -> np.ndarray:
    from jsdm_hot.errors import InputDataError

    g = np.asarray(given, dtype=np.float64)
    if g.shape != (x.shape[0], n_species):
        raise InputDataError(f"given must have shape (n_sites, n_species) = ({x.shape[0]}, {n_species}), got {g.shape}")
    known = g[~np.isnan(g)]
    if not np.isin(known, (0.0, 1.0)).all():
        raise InputDataError("given must hold 0 (absent), 1 (present) or NaN (unknown); found other values")
    return g


@torch.inference_mode()
def conditional_proba(
    module: torch.nn.Module,
    x: np.ndarray,
    given: np.ndarray,
    *,
    n_mc: int = 2000,
    seed: int = 0,
    device: torch.device | str = "cpu",
    chunk_size: int = DEFAULT_CONDITIONAL_CHUNK,
) -> tuple[np.ndarray, np.ndarray]:
    """Occurrence probabilities given a partial checklist (importance sampling of the residual).

    See :func:`jsdm_hot.model.residual.conditional_probability`.

    Parameters
    ----------
    module : HotVAEModule
    x : ndarray of shape (n_sites, n_features)
        Standardised covariates.
    given : ndarray of shape (n_sites, n_species)
        1 (recorded present), 0 (recorded absent), NaN (unknown).
    n_mc : int
        Prior draws of the residual per site.
    seed : int
    device : torch.device or str
    chunk_size : int

    Returns
    -------
    prob : ndarray of shape (n_sites, n_species), float32
        Observed entries equal ``given``.
    ess : ndarray of shape (n_sites,), float32
        Effective sample size of the importance weights.
    """
    g = _check_given(given, x, module.attn_mask.shape[0])
    probs, ess = [], []
    for _, (xb, gb), gen in _chunks(module, (x, g), chunk_size, seed, torch.device(device)):
        p, e = module.conditional_proba(xb, gb, int(n_mc), gen)
        probs.append(p.cpu().numpy())
        ess.append(e.cpu().numpy())
    if not probs:
        return np.zeros_like(g, dtype=np.float32), np.zeros(0, dtype=np.float32)
    return np.concatenate(probs), np.concatenate(ess)


@torch.inference_mode()
def sample_conditional_draws(
    module: torch.nn.Module,
    x: np.ndarray,
    given: np.ndarray,
    n_draws: int = 100,
    *,
    n_mc: int = 2000,
    seed: int = 0,
    device: torch.device | str = "cpu",
    chunk_size: int = DEFAULT_CONDITIONAL_CHUNK,
) -> np.ndarray:
    """Joint draws given a partial checklist; observed species keep their values.

    Sampling-importance-resampling of the residual (see
    :func:`jsdm_hot.model.residual.conditional_draws`); parameters as
    :func:`conditional_proba`, plus ``n_draws``.

    Returns
    -------
    ndarray of shape (n_draws, n_sites, n_species), uint8
    """
    g = _check_given(given, x, module.attn_mask.shape[0])
    parts = [module.conditional_draws(xb, gb, int(n_draws), int(n_mc), gen).cpu().numpy()
             for _, (xb, gb), gen in _chunks(module, (x, g), chunk_size, seed, torch.device(device))]
    return _collect(parts, n_draws, module.attn_mask.shape[0])
