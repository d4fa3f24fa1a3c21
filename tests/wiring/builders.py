"""The one place the wiring tests (and tests/test_real_data.py) construct models.

Every wiring test builds its models here, so a change of signature is a change of
this file only.
"""

from __future__ import annotations

import torch

from jsdm_hot import HotVAE

#: Tiny architecture and short training: seconds per fit on one CPU thread.
TINY = {"d_model": 16, "n_heads": 2, "latent_dim": 8, "encoder_hidden": 32, "n_layers": 2,
        "max_epochs": 4, "patience": 4, "batch_size": 64}


def make_hotvae(**params) -> HotVAE:
    """An unfitted :class:`jsdm_hot.HotVAE`: the one constructor call of the tests that use this module.

    Parameters
    ----------
    **params
        Hyper-parameters (``d_model``, ``max_epochs``, ``lr``, ``dropout``, ...) and
        estimator arguments (``graph``, ``random_state``, ...), all as keywords. The
        data-aware defaults are pinned (``lambda2=1``, ``graph="complete"``) unless given,
        so the tests see every loss term and the graph they ask for.
    """
    return HotVAE(**{"lambda2": 1.0, "graph": "complete", **params})


def tiny_hotvae(**params) -> HotVAE:
    """:func:`make_hotvae` with :data:`TINY` defaults (``params`` override them)."""
    return make_hotvae(**{**TINY, **params})


def tiny_module(n_features: int, n_species: int, *, mask=None, bias=None, seed: int = 0, **arch):
    """A :class:`jsdm_hot.model.HotVAEModule` in eval mode, dropout 0, weights fixed by ``seed``.

    The label graph (``mask``, ``bias``) does not touch the random stream, so two
    modules with the same ``seed`` share every parameter whatever their graphs.

    Parameters
    ----------
    mask : bool array of shape (n_species, n_species), optional
    bias : float array of shape (n_species, n_species), optional
    **arch
        Architecture overrides (``n_layers``, ``d_model``, ...).
    """
    from jsdm_hot.model import HotVAEModule, ModelConfig

    keys = ("d_model", "n_heads", "latent_dim", "encoder_hidden", "n_layers")
    cfg = ModelConfig(**{**{k: TINY[k] for k in keys}, "dropout": 0.0, **arch})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = HotVAEModule(n_features, n_species, cfg, mask=mask, bias=bias)
    return module.eval()


#: Small settings of the baselines the wiring tests fit.
TINY_BASELINES = {
    "logistic": {"max_iter": 200},
    "mpvae": {"latent_dim": 8, "hidden": 16, "n_train_samples": 10, "max_epochs": 6, "patience": 6, "batch_size": 64},
}


def tiny_baseline(name: str, **params):
    """A small unfitted baseline from :data:`jsdm_hot.baselines.BASELINES` (``params`` override :data:`TINY_BASELINES`)."""
    from jsdm_hot.baselines import BASELINES

    return BASELINES[name](**{**TINY_BASELINES.get(name, {}), **params})
