"""What the PyTorch baselines (MPVAE, LaMP, C2AE) share: build, train in the one loop, predict, persist.

Training runs through :func:`jsdm_hot.training.train_module`, the loop HOT-VAE
uses (Adam, mini-batches, early stopping on validation maF1, best weights
restored), so the baselines are compared under the same optimisation rules. A
baseline module honours the loop's contract: ``module(x, y)`` (training
forward), ``module.loss(out, y)`` (a mapping with ``"loss"`` and named terms)
and ``module.predict_proba(x)``; it has an ``n_species`` attribute.
Deviation from these baselines' own code: no gradient clipping, and an
improvement must exceed ``min_delta=0`` (any gain) to reset the patience.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from jsdm_hot.errors import InputDataError, ModelFileError
from jsdm_hot.training.config import TrainConfig
from jsdm_hot.training.device import resolve_device
from jsdm_hot.training.loop import predict_proba_module, train_module

__all__ = ["TorchBaseline", "check_positive_ints"]

log = logging.getLogger(__name__)


def check_positive_ints(owner: str, obj: Any, names: tuple[str, ...]) -> None:
    """Raise InputDataError naming the first of ``names`` that is not a positive integer."""
    for name in names:
        v = getattr(obj, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 1:
            raise InputDataError(f"{owner}: {name} must be a positive integer, got {v!r}")


class TorchBaseline:
    """Mixin for :class:`~jsdm_hot.estimators.base.JsdmEstimator` subclasses with a torch module.

    Expects the parameters ``lr``, ``batch_size``, ``max_epochs``, ``patience``,
    ``weight_decay``, ``device`` and ``random_state``, and the hook
    ``_build_module(n_features, n_species, label_graph) -> nn.Module``. Sets
    ``module_``, ``best_epoch_`` and ``device_``.
    """

    def _train_config(self) -> TrainConfig:
        return TrainConfig(lr=float(self.lr), weight_decay=float(self.weight_decay), batch_size=int(self.batch_size),
                           max_epochs=int(self.max_epochs), patience=int(self.patience), min_delta=0.0, grad_clip=0.0,
                           threshold_mode="per_label")

    def _train_module(self, X, Y, X_val, Y_val, label_graph) -> None:
        dev = resolve_device(self.device)
        seed = self._seed()
        # fork_rng: initialisation, dropout and noise use the global torch RNG;
        # seeding it inside fork_rng keeps fits reproducible without leaving global state.
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(seed)
            module = self._build_module(X.shape[1], Y.shape[1], label_graph).to(dev)
            result = train_module(module, np.asarray(X, np.float32), Y, None if X_val is None else np.asarray(X_val, np.float32),
                                  Y_val, self._train_config(), device=dev, seed=seed)
        module.eval()
        self.module_ = module
        self.device_ = dev
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch

    def _proba(self, X: np.ndarray) -> np.ndarray:
        return predict_proba_module(self.module_, np.asarray(X, np.float32), self.device_).astype(np.float64)

    def _state_tensors(self) -> dict[str, np.ndarray]:
        return {f"module.{k}": v.detach().cpu().contiguous().numpy() for k, v in self.module_.state_dict().items()}

    def _torch_state_config(self) -> dict[str, Any]:
        return {"n_features": int(self.n_features_in_), "n_species": len(self.species_), "best_epoch": int(self.best_epoch_)}

    def _state_config(self) -> dict[str, Any]:
        return self._torch_state_config()

    def _restore_state(self, tensors: dict[str, np.ndarray], config: dict[str, Any], device: str) -> None:
        self._restore_module(tensors, config, device)

    def _restore_module(self, tensors: dict[str, np.ndarray], config: dict[str, Any], device: str,
                        label_graph=None) -> None:
        dev = resolve_device(device)
        with torch.random.fork_rng(devices=[]):  # initial values are overwritten; keep the global RNG untouched
            module = self._build_module(int(config["n_features"]), int(config["n_species"]), label_graph)
        own = module.state_dict()
        state = {}
        for k, v in tensors.items():
            if k.startswith("module."):
                name = k[len("module."):]
                t = torch.as_tensor(v)
                state[name] = t.to(own[name].dtype) if name in own else t  # bool buffers are stored as uint8
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelFileError(f"saved {type(self).__name__} weights do not match its architecture: {exc}") from exc
        self.module_ = module.to(dev).eval()
        self.device_ = dev
        self.best_epoch_ = int(config.get("best_epoch", 0))
