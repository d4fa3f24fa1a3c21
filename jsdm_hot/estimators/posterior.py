"""Joint posterior predictive draws from a fitted HOT-VAE module, one chunk of sites at a time.

A draw is **joint**: all species of a site come from one shared random state, so
co-occurrence carries into richness and β-diversity (drawing each species
independently from its marginal probability is the mistake this avoids). Two modes:

* :func:`residual_draws` (default with residual factors; ours, see
  :mod:`jsdm_hot.model.residual`): the decoder runs once per site at the posterior
  mean of z (or ``n_latent`` times), then each draw adds its own residual ``Λ e``,
  ``e ~ N(0, I_K)``, and draws Bernoullis. The joint part is the fitted residual
  association, and a draw costs a small matrix product instead of a decoder pass
  (85–88× the latent mode's site-draws/s at d 200, 100 species, idle CPU;
  ``benchmarks/results/posterior_speed.md``).
* :func:`latent_draws` (the paper's): one ``z ~ q(z | x)`` per draw and site, decoded,
  ``y_l ~ Bernoulli(sigmoid(decoder(z))_l)``. A fitted decoder barely reacts to z noise,
  so these draws are in effect independent given x.

:func:`conditional` conditions the residual on a partial checklist (importance
sampling), for predictions given what was recorded.

The estimator (:meth:`jsdm_hot.estimators.base.JsdmEstimator.iter_samples`)
cuts the sites into chunks and calls the draw mode's function per chunk with a seed
derived from ``(seed, chunk index)``, so 100 draws × 10^6 sites × 100 species
never sit in memory at once and results are reproducible for a given ``seed``
and chunk size (on CPU bit for bit).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["latent_draws", "residual_draws", "conditional", "check_given", "given_matrix", "torch_generator"]


def torch_generator(device: torch.device, seed: int) -> torch.Generator:
    """A :class:`torch.Generator` on ``device`` seeded with ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@contextmanager
def _chunk_in_eval(module: torch.nn.Module, x: np.ndarray, device: torch.device | str,
                   seed: int) -> Iterator[tuple[torch.Tensor, torch.Generator, torch.device]]:
    """``module`` in eval mode (its mode restored after) with the chunk's covariates and generator on ``device``.

    Yields ``(xb, generator, device)``, ``xb`` the float32 tensor of shape (n_chunk_sites, n_features).
    """
    device = torch.device(device)
    was_training = module.training
    module.eval()
    try:
        yield torch.as_tensor(np.asarray(x, dtype=np.float32), device=device), torch_generator(device, seed), device
    finally:
        module.train(was_training)


def _bernoulli(p: torch.Tensor, g: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(y ~ Bernoulli(p) as uint8, p)`` as numpy arrays of ``p``'s shape."""
    return torch.bernoulli(p, generator=g).to(torch.uint8).cpu().numpy(), p.cpu().numpy()


@torch.inference_mode()
def latent_draws(module: torch.nn.Module, x: np.ndarray, n_draws: int, *, seed: int,
                 device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Joint draws for one chunk of sites: one ``z ~ q(z|x)`` per draw and site, then Bernoulli.

    Each chunk runs ``n_draws × n_chunk_sites`` rows through the decoder at once
    (100 × 64 = 6,400 rows; with 100 species and d_model 200 one activation
    tensor is 0.5 GB in float32), so keep chunks small.

    Parameters
    ----------
    module : HotVAEModule
        Must provide ``sample_logits(x, generator)`` (one z per row).
    x : ndarray of shape (n_chunk_sites, n_features)
        Standardised covariates.
    n_draws : int
    seed : int
        Seeds the chunk's generator (latent noise and Bernoulli draws).
    device : torch.device or str

    Returns
    -------
    draws : ndarray of shape (n_draws, n_chunk_sites, n_species), uint8
    prob : ndarray of shape (n_draws, n_chunk_sites, n_species), float32
        ``sigmoid(decoder(z))`` of each draw.
    """
    with _chunk_in_eval(module, x, device, seed) as (xb, g, _):
        c = xb.shape[0]
        # (n_draws * c, n_features): draw-major so reshape gives (n_draws, c, L)
        p = torch.sigmoid(module.sample_logits(xb.repeat(n_draws, 1), generator=g).float())
        return _bernoulli(p.reshape(n_draws, c, p.shape[-1]), g)


@torch.inference_mode()
def residual_draws(module: torch.nn.Module, x: np.ndarray, n_draws: int, *, seed: int,
                   device: torch.device | str = "cpu", n_latent: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Joint draws with residual association for one chunk of sites.

    ``n_latent`` decoder passes per site (``z = mu`` when 1), then for each draw
    ``e ~ N(0, I_K)``, ``p = σ(c · d + Λ e)`` and ``y ~ Bernoulli(p)`` (see
    :meth:`jsdm_hot.model.HotVAEModule.residual_draw_logits`).

    Parameters
    ----------
    module : HotVAEModule
    x : ndarray of shape (n_chunk_sites, n_features)
        Standardised covariates.
    n_draws : int
    seed : int
    device : torch.device or str
    n_latent : int

    Returns
    -------
    draws : ndarray of shape (n_draws, n_chunk_sites, n_species), uint8
    prob : ndarray of shape (n_draws, n_chunk_sites, n_species), float32
    """
    with _chunk_in_eval(module, x, device, seed) as (xb, g, _):
        return _bernoulli(torch.sigmoid(module.residual_draw_logits(xb, int(n_draws), generator=g,
                                                                    n_latent=int(n_latent))), g)


def given_matrix(given, species) -> np.ndarray:
    """A partial checklist as an array in ``species`` order (a DataFrame is matched by name; absent species NaN)."""
    if hasattr(given, "columns"):
        unknown = [c for c in map(str, given.columns) if c not in species]
        if unknown:
            from jsdm_hot.errors import InputDataError

            raise InputDataError(f"given names species the model does not have: {unknown[:5]}")
        return given.reindex(columns=list(species)).to_numpy(dtype=np.float64)
    return np.asarray(given, dtype=np.float64)


def check_given(given, n_sites: int, species) -> np.ndarray:
    """A partial checklist as floats: 1 present, 0 absent, NaN unknown, shape (n_sites, n_species).

    Raises
    ------
    InputDataError
        Wrong shape, or values other than 0, 1 and NaN (naming the species).
    """
    from jsdm_hot.errors import InputDataError

    g = np.asarray(given, dtype=np.float64)
    if g.shape != (n_sites, len(species)):
        raise InputDataError(f"given must have shape (n_sites, n_species) = ({n_sites}, {len(species)}), got {g.shape}")
    bad = ~np.isnan(g) & ~np.isin(g, (0.0, 1.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputDataError(f"given holds {float(g[i, j])!r} for species {species[j]!r} at site {i + 1}; use 1 (recorded "
                             "present), 0 (recorded absent) or NaN (unknown)")
    return g


@torch.inference_mode()
def conditional(module: torch.nn.Module, x: np.ndarray, given: np.ndarray, *, n_mc: int = 2000, seed: int = 0,
                device: torch.device | str = "cpu", n_draws: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Predictions for one chunk of sites given a partial checklist (importance sampling of the residual).

    See :func:`jsdm_hot.model.residual.conditional_probability`: ``n_mc`` prior draws of
    ``e`` per site are weighted by the likelihood of the recorded species.

    Parameters
    ----------
    module : HotVAEModule
    x : ndarray of shape (n_chunk_sites, n_features)
        Standardised covariates.
    given : ndarray of shape (n_chunk_sites, n_species)
        1 (recorded present), 0 (recorded absent), NaN (unknown); see :func:`check_given`.
    n_mc : int
    seed : int
    device : torch.device or str
    n_draws : int
        Also return this many joint draws given the checklist (sampling-importance-resampling).

    Returns
    -------
    prob : ndarray of shape (n_chunk_sites, n_species), float32
        Recorded entries equal ``given``.
    ess : ndarray of shape (n_chunk_sites,), float32
        Effective sample size of the importance weights (small: the checklist is
        surprising for the model and the estimate is noisy).
    draws : ndarray of shape (n_draws, n_chunk_sites, n_species), uint8, or None
    """
    with _chunk_in_eval(module, x, device, seed) as (xb, gen, device):
        gb = torch.as_tensor(np.asarray(given, dtype=np.float32), device=device)
        p, ess = module.conditional_proba(xb, gb, int(n_mc), gen)
        draws = module.conditional_draws(xb, gb, int(n_draws), int(n_mc), gen).cpu().numpy() if n_draws else None
        return p.cpu().numpy(), ess.cpu().numpy(), draws
