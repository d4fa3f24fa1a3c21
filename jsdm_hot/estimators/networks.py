"""HOT-VAE networks for the estimator: build, initialise from the training sites, train members, restore.

:class:`~jsdm_hot.estimators.hotvae.HotVAE` keeps the parameters and the fitted
attributes; this module holds what it does with the networks:

* :func:`build_module` — a :class:`~jsdm_hot.model.HotVAEModule` for a label graph;
* :func:`initialise` — starting values taken from the training sites: readout biases
  at the logit of each species' prevalence, the piecewise-linear embeddings' bin edges
  at the covariates' quantiles, the per-species BCE weights;
* :func:`train_members` — one network, or the members of a deep ensemble (member ``k``
  seeded from ``(seed, k)``; member 0 with ``seed`` itself, so an ensemble's first
  member is the single model of the same seed), each in the one training loop;
* :func:`restore_module` — the network(s) of a saved model directory.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jsdm_hot.errors import ModelFileError
from jsdm_hot.model.config import ModelConfig
from jsdm_hot.model.ensemble import HotVAEEnsemble

__all__ = ["build_module", "initialise", "member_seed", "train_members", "restore_module"]

logger = logging.getLogger(__name__)


def build_module(n_features: int, n_species: int, config: ModelConfig, graph):
    """A fresh :class:`~jsdm_hot.model.HotVAEModule` with the label graph's mask and bias as buffers."""
    from jsdm_hot.model import HotVAEModule

    return HotVAEModule(n_features, n_species, config, mask=torch.as_tensor(graph.mask),
                        bias=None if graph.bias is None else torch.as_tensor(graph.bias))


def _init_readout_bias(module, prevalence: np.ndarray) -> None:
    """Start each species' readout bias (Eq 9) at the logit of its training prevalence.

    Not in the paper (which does not state its initialisation); it removes the
    first epochs spent learning prevalences, which matters on small data sets.
    Prevalences are clipped to [1e-3, 1 - 1e-3] so absent species stay finite.
    """
    prev = np.clip(prevalence, 1e-3, 1 - 1e-3)
    with torch.no_grad():
        module.decoder.readout_bias.copy_(torch.as_tensor(np.log(prev / (1 - prev)), dtype=torch.float32))


def _training_rows(source, max_rows: int) -> np.ndarray:
    """Up to ``max_rows`` standardised training rows of a batch source, the same on every rank."""
    from jsdm_hot.training.distributed import DistContext

    rows, n = [], 0
    for b in source.batches(0, 0, 4096, DistContext(), torch.device("cpu")):
        rows.append(b.x.cpu().numpy())
        n += rows[-1].shape[0]
        if n >= max_rows:
            break
    return np.concatenate(rows, axis=0)


def initialise(module, prevalence: np.ndarray, x_train: np.ndarray | None = None, source=None,
               max_rows: int = 100_000) -> None:
    """Starting values from the training sites (see the module docstring).

    Parameters
    ----------
    module : HotVAEModule
    prevalence : ndarray of shape (n_species,)
    x_train : ndarray of shape (n_train, n_features), standardised, optional
    source : batch source, optional
        Without ``x_train`` (streaming), its first batches (up to ``max_rows`` sites)
        stand in for the training sites for the bin edges.
    """
    from jsdm_hot.model.embeddings import PiecewiseLinearEncoding, quantile_edges
    from jsdm_hot.model.losses import species_weights

    _init_readout_bias(module, prevalence)
    encodings = [m for m in module.modules() if isinstance(m, PiecewiseLinearEncoding)]
    if encodings:
        x = x_train if x_train is not None else _training_rows(source, max_rows)
        edges = quantile_edges(x, encodings[0].n_bins)
        for emb in encodings:
            emb.set_edges(edges)
    if getattr(module, "species_weight", None) is not None:
        module.species_weight.copy_(species_weights(prevalence))


def member_seed(seed: int, k: int) -> int:
    """Seed of ensemble member ``k``: ``seed`` for the first, a SeedSequence child of ``(seed, k)`` after."""
    return int(seed) if k == 0 else int(np.random.SeedSequence([int(seed), int(k)]).generate_state(1)[0])


def train_members(n_members: int, n_features: int, config: ModelConfig, graph, prevalence: np.ndarray, train,
                  y_train, x_val: np.ndarray, y_val: np.ndarray, train_config, *, device: torch.device, seed: int,
                  progress: bool = False, checkpoint_dir=None, resume: bool = False) -> tuple[Any, list]:
    """Train ``n_members`` networks in the one loop; return the module (or ensemble) and the TrainResults.

    ``train`` is an ndarray (n_train, n_features) of standardised covariates with
    ``y_train``, or a batch source with ``y_train=None``. Member ``k > 0`` checkpoints
    to ``checkpoint_dir/member<k>``.
    """
    from jsdm_hot.training.loop import train_module

    members, results = [], []
    for k in range(int(n_members)):
        s = member_seed(seed, k)
        ckpt = checkpoint_dir if (checkpoint_dir is None or k == 0) else Path(checkpoint_dir) / f"member{k}"
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(s)
            module = build_module(n_features, len(graph.species), config, graph)
            initialise(module, prevalence, x_train=train if y_train is not None else None,
                       source=train if y_train is None else None)
            module = module.to(device)
            result = train_module(module, train, y_train, x_val.astype(np.float32), y_val, train_config,
                                  device=device, seed=s, progress=progress, checkpoint_dir=ckpt, resume=resume)
        members.append(module.eval())
        results.append(result)
        if n_members > 1:
            logger.info("HotVAE member %d of %d: best epoch %d, validation maF1 %.4f", k + 1, n_members,
                        result.best_epoch, result.best_val_maf1)
    return (members[0] if len(members) == 1 else HotVAEEnsemble(members).eval()), results


def restore_module(tensors: dict[str, np.ndarray], n_members: int, n_features: int, config: ModelConfig, graph):
    """The network (or ensemble) of a saved model from its ``module.*`` tensors (strict shapes and names)."""
    members = []
    for k in range(int(n_members)):
        prefix = "module." if n_members == 1 else f"module.members.{k}."
        module = build_module(n_features, len(graph.species), config, graph)
        state = {key[len(prefix):]: torch.as_tensor(v) for key, v in tensors.items() if key.startswith(prefix)}
        if "attn_mask" in state:
            state["attn_mask"] = state["attn_mask"].bool()
        module.load_state_dict(state, strict=True)
        members.append(module)
    if n_members > 1 and any(k.startswith(f"module.members.{n_members}.") for k in tensors):
        raise ModelFileError(f"the model file holds more than n_members={n_members} networks")
    return members[0] if len(members) == 1 else HotVAEEnsemble(members)
