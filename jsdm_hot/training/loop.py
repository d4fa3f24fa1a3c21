"""The one training loop of jsdm-hot: Adam, mini-batches, early stopping on validation maF1.

HOT-VAE and the PyTorch baselines (MPVAE, LaMP, C2AE) all train here. The loop
sees a module only through this contract:

* ``module(x, y)`` — the training forward pass (under DDP also ``shard=``);
* ``module.loss(out, y)`` — a dataclass whose ``loss`` field is the scalar to
  minimise and whose other scalar tensor fields are named terms, logged per epoch
  (under DDP also ``global_counts=``);
* ``module.predict_proba(x)`` — occurrence probabilities ``(B, n_species)`` in eval mode.

What the loop owns:

* bf16 autocast on CUDA, fp32 on CPU.
* The optimiser (Adam or AdamW), a per-epoch learning-rate schedule (constant, or
  warm-up + cosine) and an optional exponential moving average of the weights
  (``TrainConfig.optimizer``, ``lr_schedule``, ``ema_decay``).
* Model selection and early stopping on a validation score
  (``TrainConfig.selection``): macro-F1 with per-label (or global) thresholds
  chosen on that same validation set, or the mean Bernoulli log-likelihood of
  the validation occurrences — never on test data. Both are recorded every epoch.
  The best epoch's weights (the averaged ones with ``ema_decay``) are loaded back
  into the module at the end.
* Data-parallel training (DDP) when launched by ``torchrun``: see
  :mod:`jsdm_hot.training.distributed`. Each global batch is split between ranks and the
  result equals single-process training up to float tolerance (with dropout 0;
  with dropout > 0 each rank draws its own dropout masks).
* Training data is an in-memory array pair or any *batch source* (see
  :mod:`jsdm_hot.training.batches`), so data larger than RAM can train.
* A checkpoint after every epoch (:mod:`jsdm_hot.training.checkpoints`);
  ``resume=True`` continues from it and reaches the same result as an
  uninterrupted run (the epoch's shuffling comes from
  ``numpy.random.default_rng([seed, epoch])``, and the torch RNG state is restored).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch

from jsdm_hot.metrics.mlc import micro_f1
from jsdm_hot.training.batches import ArrayBatches
from jsdm_hot.training.checkpoints import has_checkpoint, load_checkpoint, save_checkpoint
from jsdm_hot.training.config import TrainConfig, lr_factor
from jsdm_hot.training.device import autocast
from jsdm_hot.training.distributed import context, gather_rows, shard_bounds
from jsdm_hot.training.early_stopping import EarlyStopping
from jsdm_hot.training.thresholds import f1_per_label, select_thresholds

__all__ = ["TrainResult", "loss_terms", "train_epoch", "train_module", "predict_proba_module"]

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What :func:`train_module` returns.

    Attributes
    ----------
    history : list of dict
        One record per epoch: ``epoch``, ``lr``, ``loss`` and each named loss term
        (training means), ``val_maf1``, ``val_micro_f1``, ``val_loglik`` (mean
        Bernoulli log-likelihood per site and species).
    best_epoch : int
    best_val_maf1 : float
        Validation maF1 of the selected epoch.
    best_score : float
        The selection score of the selected epoch (``val_maf1`` or ``val_loglik``).
    val_prob : ndarray of shape (n_val, n_species)
        Validation probabilities of the selected (best) model.
    stopped_early : str
        Reason, or "" when all epochs ran.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_val_maf1: float = float("nan")
    best_score: float = float("nan")
    val_prob: np.ndarray | None = None
    stopped_early: str = ""


def loss_terms(terms) -> dict[str, torch.Tensor]:
    """The scalar tensors of what ``module.loss`` returned (a dataclass or a mapping), in order.

    The entry ``"loss"`` is the total to minimise; the others are named terms.
    """
    if isinstance(terms, Mapping):
        out = dict(terms)
    else:
        out = {f.name: getattr(terms, f.name) for f in dataclasses.fields(terms)}
    if "loss" not in out:
        raise TypeError(f"module.loss returned {type(terms).__name__} without a 'loss' entry")
    return {k: v for k, v in out.items() if isinstance(v, torch.Tensor) and v.dim() == 0}


def train_epoch(net: torch.nn.Module, module: torch.nn.Module, optimizer: torch.optim.Optimizer, source, epoch: int,
                config: TrainConfig, *, device: torch.device, seed: int = 0, bf16: bool | None = None,
                ctx=None, averaged=None) -> dict[str, float]:
    """One pass over ``source``'s batches for ``epoch``: forward, loss, backward, clip, optimiser step.

    Parameters
    ----------
    net : the module, or its DistributedDataParallel wrapper (what the forward runs through)
    module : the unwrapped module (its ``loss``)
    source : batch source (``batches(epoch, seed, batch_size, ctx, device)``)
    bf16 : bool, optional
        Autocast to bfloat16; default: on CUDA only.
    averaged : torch.optim.swa_utils.AveragedModel, optional
        Updated with ``module``'s parameters after every step.

    Returns
    -------
    dict of str to float
        This rank's sums of the named loss terms over its batches, and ``"n_batches"``.
    """
    ctx = ctx or context()
    module.train()
    sums: dict[str, float] = {}
    n_batches = 0
    for b in source.batches(epoch, seed, config.batch_size, ctx, device):
        with autocast(device, bf16):
            out = net(b.x, b.y, shard=b.shard) if b.shard is not None else net(b.x, b.y)
        terms = module.loss(out, b.y, global_counts=b.global_counts) if b.global_counts is not None else module.loss(out, b.y)
        named = loss_terms(terms)
        optimizer.zero_grad(set_to_none=True)
        named["loss"].backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
        optimizer.step()
        if averaged is not None:
            averaged.update_parameters(module)
        for k, v in named.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        n_batches += 1
    sums["n_batches"] = float(n_batches)
    return sums


@torch.inference_mode()
def predict_proba_module(module: torch.nn.Module, x: np.ndarray, device: torch.device, batch_size: int = 4096) -> np.ndarray:
    """Occurrence probabilities of a module in eval mode, in batches of sites.

    Parameters
    ----------
    module : any module with ``predict_proba(x) -> (B, n_species)``
    x : ndarray of shape (n_sites, n_features), already standardised

    Returns
    -------
    ndarray of shape (n_sites, n_species), float32
    """
    was_training = module.training
    module.eval()
    out = []
    try:
        for start in range(0, x.shape[0], batch_size):
            xb = torch.as_tensor(np.asarray(x[start:start + batch_size], dtype=np.float32), device=device)
            with autocast(device):
                prob = module.predict_proba(xb)
            out.append(prob.float().cpu().numpy())
    finally:
        module.train(was_training)
    if out:
        return np.concatenate(out, axis=0)
    return np.zeros((0, int(module.n_species)), dtype=np.float32)


class _NoBar:
    """Stand-in for a disabled tqdm bar where tqdm is not installed (a bare GPU node)."""

    def __init__(self, iterable, **kwargs):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def set_postfix(self, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar_class(show: bool):
    """tqdm (notebook-aware when shown); without tqdm installed a silent stand-in."""
    try:
        if show:
            from tqdm.auto import tqdm
        else:  # plain tqdm, disabled: no notebook-widget import or warning
            from tqdm import tqdm
    except ImportError:
        if show:
            logger.warning("tqdm is not installed: training runs without a progress bar")
        return _NoBar
    return tqdm


def validation_loglik(y_val: np.ndarray, prob: np.ndarray, eps: float = 1e-6) -> float:
    """Mean Bernoulli log-likelihood per site and species (higher is better).

    Parameters
    ----------
    y_val : ndarray of shape (n_sites, n_species), 0/1
    prob : ndarray of shape (n_sites, n_species)
        Clipped to ``[eps, 1 - eps]``.
    """
    p = np.clip(np.asarray(prob, dtype=np.float64), eps, 1.0 - eps)
    y = np.asarray(y_val, dtype=bool)
    return float(np.where(y, np.log(p), np.log1p(-p)).mean())


def _val_scores(y_val: np.ndarray, prob: np.ndarray, mode: str) -> dict[str, float]:
    thr = select_thresholds(y_val, prob, mode=mode)
    pred = prob >= thr[None, :]
    return {"val_maf1": float(f1_per_label(y_val, pred).mean()), "val_micro_f1": micro_f1(y_val, pred),
            "val_loglik": validation_loglik(y_val, prob)}


def _optimizer(module: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(module.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _averaged(module: torch.nn.Module, config: TrainConfig):
    """An exponential moving average of ``module``'s parameters (buffers copied, not averaged), or None."""
    if config.ema_decay <= 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(module, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=False)


def train_module(
    module: torch.nn.Module,
    x_train,
    y_train: np.ndarray | None,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainConfig,
    *,
    device: torch.device,
    seed: int = 0,
    progress: bool = False,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> TrainResult:
    """Train ``module`` in place and load the best weights (by ``config.selection``) into it.

    Parameters
    ----------
    module : torch.nn.Module
        Honouring the contract of this module's docstring, already on ``device``.
    x_train : ndarray of shape (n_train, n_features), standardised float, or a batch source
        A batch source (``y_train=None``) has a ``batches(epoch, seed, batch_size,
        ctx, device)`` method yielding :class:`~jsdm_hot.training.batches.Batch`
        objects, like :class:`~jsdm_hot.training.batches.ArrayBatches` or
        :class:`~jsdm_hot.training.batches.ParquetBatches`.
    y_train : ndarray of shape (n_train, n_species), 0/1, or None with a batch source
    x_val : ndarray of shape (n_val, n_features), or None
        Without validation sites every epoch runs and the last weights are kept.
    y_val : ndarray of shape (n_val, n_species), or None
    config : TrainConfig
    device : torch.device
    seed : int
        Seeds the per-epoch shuffling (``default_rng([seed, epoch])``). The
        caller seeds torch (dropout, reparameterisation noise, init) inside a
        ``torch.random.fork_rng`` block so no global state leaks; under DDP every
        rank must use the same seed.
    progress : bool
        Show a tqdm bar over epochs with loss and validation maF1 (rank 0 only).
    checkpoint_dir : path, optional
        Where to write a checkpoint after each epoch (rank 0 only).
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` if there is one.
    on_epoch_end : callable, optional
        ``f(epoch, record)`` after each epoch (used by tests to interrupt runs).

    Returns
    -------
    TrainResult
    """
    ctx = context()
    tqdm = _progress_bar_class(progress and ctx.is_main)
    source = x_train if y_train is None else ArrayBatches(x_train, y_train)
    optimizer = _optimizer(module, config)
    averaged = _averaged(module, config)
    key = "val_maf1" if config.selection == "maf1" else "val_loglik"
    stopper = EarlyStopping(patience=config.patience, min_delta=config.min_delta,
                            metric="validation maF1" if config.selection == "maf1" else "validation log-likelihood")
    history: list[dict[str, float]] = []
    best_state: dict[str, torch.Tensor] | None = None
    start_epoch = 0
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume and ckpt is not None and has_checkpoint(ckpt):
        last, history, best_state = load_checkpoint(ckpt, module, optimizer, stopper, averaged)
        start_epoch = last + 1
        logger.info("resumed from %s at epoch %d", ckpt, start_epoch)

    net = module
    if ctx.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
    has_val = x_val is not None
    yv = np.asarray(y_val, dtype=np.uint8) if has_val else None
    v0, v1 = shard_bounds(len(yv), ctx.rank, ctx.world_size) if has_val else (0, 0)
    # the weights that are validated, selected and returned: the average when there is one
    evaluated = module if averaged is None else averaged.module

    def val_prob() -> np.ndarray | None:
        return gather_rows(predict_proba_module(evaluated, x_val[v0:v1], device), ctx) if has_val else None

    result = TrainResult(history=history)
    bar = tqdm(range(start_epoch, config.max_epochs), desc="training", unit="epoch", disable=not (progress and ctx.is_main),
               initial=start_epoch, total=config.max_epochs)
    for epoch in bar:
        lr = config.lr * lr_factor(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        sums = train_epoch(net, module, optimizer, source, epoch, config, device=device, seed=seed, ctx=ctx,
                           averaged=averaged)
        if ctx.enabled:  # rescaled terms of the ranks sum to world_size × the global batch's terms
            names = list(sums)
            t = torch.tensor([sums[k] for k in names], dtype=torch.float64)
            torch.distributed.all_reduce(t)
            sums = {k: float(v) / ctx.world_size for k, v in zip(names, t)}
        n_batches = max(sums.pop("n_batches", 0.0), 1.0)
        record = {"epoch": epoch, "lr": lr, **{k: v / n_batches for k, v in sums.items()}}
        stop, reason = False, ""
        if has_val:
            record.update(_val_scores(yv, val_prob(), config.threshold_mode))
            improved, stop, reason = stopper.update(record[key], epoch)
            if improved:
                best_state = {k: v.detach().clone() for k, v in evaluated.state_dict().items()}
            bar.set_postfix(loss=f"{record.get('loss', float('nan')):.4f}", val_maF1=f"{record['val_maf1']:.4f}",
                            best=f"{stopper.best_score:.4f}")
        history.append(record)
        if ckpt is not None and ctx.is_main:
            save_checkpoint(ckpt, module, optimizer, stopper, epoch, history, best_state, seed, averaged)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
        if stop:
            result.stopped_early = reason
            if ctx.is_main:
                logger.info("early stopping at epoch %d: %s", epoch, reason)
            break
        if not math.isfinite(record.get("loss", 0.0)):
            result.stopped_early = f"loss became {record['loss']} at epoch {epoch}"
            logger.warning(result.stopped_early)
            break
    bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    elif averaged is not None:  # no validation: keep the averaged weights of the last epoch
        module.load_state_dict(averaged.module.state_dict())
    result.best_epoch = stopper.best_epoch if has_val else len(history) - 1
    result.best_score = stopper.best_score
    if has_val and 0 <= result.best_epoch and history:
        best_rec = next((h for h in history if h["epoch"] == result.best_epoch), None)
        result.best_val_maf1 = float(best_rec["val_maf1"]) if best_rec is not None else float("nan")
    evaluated = module
    result.val_prob = val_prob()
    result.history = history
    return result
