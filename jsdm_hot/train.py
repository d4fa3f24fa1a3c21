"""Training loop for HOT-VAE modules: Adam, mini-batches, early stopping on validation maF1.

The loop sees the module only through its contract (``module(x, y)``,
``module.loss(out, y)``, ``module.predict_logits(x)``, see
``docs/architecture.md``), so any module honouring it trains here.

* bf16 autocast on CUDA, fp32 on CPU.
* Model selection and early stopping on validation macro-F1, with per-label
  (or global) thresholds chosen on that same validation set — never on test data.
* Data-parallel training (DDP) when launched by ``torchrun``: see
  :mod:`jsdm_hot.distributed`. Each global batch is split between ranks and the
  result equals single-process training up to float tolerance (with dropout 0;
  with dropout > 0 each rank draws its own dropout masks).
* Training data is an in-memory array pair or any *batch source* with a
  ``batches(epoch, seed, batch_size, ctx, device)`` method (e.g. the parquet
  stream in :mod:`jsdm_hot.data.streaming`), so data larger than RAM can train.
* Checkpoint after every epoch (safetensors + JSON: weights, Adam state, torch
  RNG state, early-stopping state, history); ``resume=True`` continues from it
  and reaches the same result as an uninterrupted run (the epoch's shuffling
  comes from ``numpy.random.default_rng([seed, epoch])``, and the torch RNG state
  is restored).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from jsdm_hot.config import HotVAEConfig
from jsdm_hot.io import atomic_write_bytes, atomic_write_text
from jsdm_hot.metrics.mlc import micro_f1
from jsdm_hot.thresholds import f1_per_label, select_thresholds

__all__ = ["ArrayBatches", "Batch", "EarlyStopping", "TrainResult", "train_epoch", "train_module", "predict_proba_module",
           "resolve_device"]

logger = logging.getLogger(__name__)

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
CHECKPOINT_STATE = "checkpoint.json"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a GPU raises."""
    from jsdm_hot.errors import InputDataError

    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputDataError(f"device {device!r} requested but CUDA is not available; use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise InputDataError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return torch.device(device)


@dataclass
class EarlyStopping:
    """Stop when the monitored score (higher is better) stalls for ``patience`` epochs.

    Attributes
    ----------
    patience : int
    min_delta : float
    best_score : float
    best_epoch : int
    wait : int
        Epochs since the last improvement.
    """

    patience: int = 20
    min_delta: float = 1e-4
    best_score: float = -math.inf
    best_epoch: int = -1
    wait: int = 0

    def update(self, score: float, epoch: int) -> tuple[bool, bool, str]:
        """Record ``score`` for ``epoch``.

        Returns
        -------
        improved : bool
        should_stop : bool
        reason : str
        """
        if score > self.best_score + self.min_delta or self.best_epoch < 0:
            self.best_score, self.best_epoch, self.wait = float(score), int(epoch), 0
            return True, False, ""
        self.wait += 1
        if self.wait >= self.patience:
            return False, True, f"validation maF1 did not improve for {self.patience} epochs (best {self.best_score:.4f} at epoch {self.best_epoch})"
        return False, False, ""

    def state_dict(self) -> dict[str, Any]:
        return {"patience": self.patience, "min_delta": self.min_delta, "best_score": self.best_score,
                "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        for k, v in d.items():
            setattr(self, k, v)


@dataclass
class TrainResult:
    """What :func:`train_module` returns.

    Attributes
    ----------
    history : list of dict
        One record per epoch: ``epoch``, ``loss`` and each named loss term
        (training means), ``val_loss``, ``val_maf1``, ``val_micro_f1``.
    best_epoch : int
    best_val_maf1 : float
    val_prob : ndarray of shape (n_val, n_species)
        Validation probabilities of the selected (best) model.
    thresholds : ndarray of shape (n_species,)
        Chosen on the validation set for the best model.
    stopped_early : str
        Reason, or "" when all epochs ran.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_val_maf1: float = float("nan")
    val_prob: np.ndarray | None = None
    thresholds: np.ndarray | None = None
    stopped_early: str = ""


@dataclass
class Batch:
    """One rank's share of one global training batch.

    Attributes
    ----------
    x : Tensor of shape (B, n_features)
    y : Tensor of shape (B, n_species)
    shard : (start, stop, total) or None
        Rows ``start:stop`` of a global batch of ``total`` rows (distributed only).
    global_counts : (n_sites, n_ranked, world_size) or None
        Global batch counts for the loss rescaling of ``HotVAEModule.loss``.
    """

    x: torch.Tensor
    y: torch.Tensor
    shard: tuple[int, int, int] | None = None
    global_counts: tuple[int, int, int] | None = None


class ArrayBatches:
    """In-memory training data served as shuffled mini-batches.

    Epoch ``e`` visits the sites in the order ``default_rng([seed, e]).permutation``,
    cut into global batches of ``batch_size``; under DDP each rank takes a
    contiguous share of every global batch. A last global batch with fewer rows
    than ``max(2, world_size)`` is skipped (a 1-row batch breaks batch statistics
    and a rank must not get an empty share).

    Parameters
    ----------
    x : ndarray of shape (n_sites, n_features), standardised
    y : ndarray of shape (n_sites, n_species), 0/1
    """

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x = np.asarray(x, dtype=np.float32)
        self.y = np.asarray(y, dtype=np.float32)
        self._on: tuple[torch.device, torch.Tensor, torch.Tensor] | None = None

    @property
    def n_sites(self) -> int:
        return self.x.shape[0]

    def _spans(self, batch_size: int, world_size: int) -> list[tuple[int, int]]:
        """``(start, stop)`` positions in the epoch's permutation of the global batches trained on."""
        n = self.n_sites
        bs, floor = min(batch_size, n), max(2, world_size)
        return [(a, min(a + bs, n)) for a in range(0, n, bs) if min(a + bs, n) - a >= floor or n < floor]

    def rows_per_epoch(self, batch_size: int, world_size: int = 1) -> int:
        """Sites an epoch trains on, all ranks together (``n_sites`` minus skipped short batches)."""
        return sum(b - a for a, b in self._spans(batch_size, world_size))

    def batches(self, epoch: int, seed: int, batch_size: int, ctx, device: torch.device):
        """Yield this rank's :class:`Batch` of every global batch of ``epoch``."""
        from jsdm_hot.distributed import shard_bounds
        from jsdm_hot.model.losses import ranked_sites

        if self._on is None or self._on[0] != device:
            self._on = (device, torch.as_tensor(self.x, device=device), torch.as_tensor(self.y, device=device))
        _, xt, yt = self._on
        perm = np.random.default_rng([seed, epoch]).permutation(self.n_sites)
        for start, stop in self._spans(batch_size, ctx.world_size):
            idx = perm[start:stop]
            if not ctx.enabled:
                sel = torch.as_tensor(idx, device=device)
                yield Batch(xt[sel], yt[sel])
                continue
            lo, hi = shard_bounds(idx.size, ctx.rank, ctx.world_size)
            sel = torch.as_tensor(idx[lo:hi], device=device)
            counts = (int(idx.size), ranked_sites(self.y[idx]), ctx.world_size)
            yield Batch(xt[sel], yt[sel], (lo, hi, int(idx.size)), counts)


def _autocast(device: torch.device, bf16: bool | None = None):
    """bf16 autocast on CUDA (``bf16=None``: the default), none on CPU; ``bf16`` forces either way."""
    on = device.type == "cuda" if bf16 is None else bool(bf16)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=on)


#: Loss terms summed per epoch by :func:`train_epoch` (in this order).
TERM_NAMES = ("loss", "bce", "intermediate_bce", "ranking", "kl", "residual")


def train_epoch(net: torch.nn.Module, module: torch.nn.Module, optimizer: torch.optim.Optimizer, source, epoch: int,
                config: HotVAEConfig, *, device: torch.device, seed: int = 0, bf16: bool | None = None,
                ctx=None) -> torch.Tensor:
    """One pass over ``source``'s batches for ``epoch``: forward, Eq 17 loss, backward, clip, Adam step.

    Parameters
    ----------
    net : the module, or its DistributedDataParallel wrapper (what the forward runs through)
    module : the unwrapped module (its ``loss``)
    source : batch source (``batches(epoch, seed, batch_size, ctx, device)``)
    bf16 : bool, optional
        Autocast to bfloat16; default: on CUDA only.

    Returns
    -------
    Tensor of shape (len(TERM_NAMES) + 1,), float64
        This rank's sums of the loss terms over its batches, then the number of batches.
    """
    from jsdm_hot.distributed import context

    ctx = ctx or context()
    module.train()
    sums = torch.zeros(len(TERM_NAMES) + 1, dtype=torch.float64)
    for b in source.batches(epoch, seed, config.batch_size, ctx, device):
        with _autocast(device, bf16):
            out = net(b.x, b.y, shard=b.shard) if b.shard is not None else net(b.x, b.y)
        terms = module.loss(out, b.y, global_counts=b.global_counts) if b.global_counts is not None else module.loss(out, b.y)
        optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
        optimizer.step()
        sums[:-1] += torch.tensor([float(getattr(terms, k).detach()) for k in TERM_NAMES], dtype=torch.float64)
        sums[-1] += 1
    return sums


@torch.inference_mode()
def predict_proba_module(module: torch.nn.Module, x: np.ndarray, device: torch.device, batch_size: int = 4096) -> np.ndarray:
    """Feature-branch occurrence probabilities (z = posterior mean).

    Parameters
    ----------
    module : HotVAEModule (or any module with ``predict_logits``)
    x : ndarray of shape (n_sites, n_features), already standardised

    Returns
    -------
    ndarray of shape (n_sites, n_species), float32
    """
    was_training = module.training
    module.eval()
    out = []
    for start in range(0, x.shape[0], batch_size):
        xb = torch.as_tensor(x[start:start + batch_size], dtype=torch.float32, device=device)
        with _autocast(device):
            logits = module.predict_logits(xb)
        out.append(torch.sigmoid(logits.float()).cpu().numpy())
    module.train(was_training)
    n_species = module.attn_mask.shape[0]
    return np.concatenate(out, axis=0) if out else np.zeros((0, n_species), dtype=np.float32)


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


def _val_scores(y_val: np.ndarray, prob: np.ndarray, mode: str) -> tuple[float, float, np.ndarray]:
    thr = select_thresholds(y_val, prob, mode=mode)
    pred = prob >= thr[None, :]
    maf1 = float(f1_per_label(y_val, pred).mean())
    return maf1, micro_f1(y_val, pred), thr


def _save_checkpoint(ckpt_dir: Path, module, optimizer, stopper: EarlyStopping, epoch: int,
                     history: list, best_state: dict | None, seed: int) -> None:
    from safetensors.torch import save as st_save

    tensors: dict[str, torch.Tensor] = {f"model.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    if best_state is not None:
        tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in best_state.items()})
    opt = optimizer.state_dict()
    for pid, st in opt["state"].items():
        for name, val in st.items():
            tensors[f"optim.{pid}.{name}"] = torch.as_tensor(val).detach().cpu().contiguous().reshape(-1) if name == "step" else val.detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    state = {"epoch": epoch, "seed": seed, "history": history, "early_stopping": stopper.state_dict(),
             "param_groups": opt["param_groups"], "has_best": best_state is not None,
             "optim_shapes": {pid: {n: list(torch.as_tensor(v).shape) for n, v in st.items()} for pid, st in opt["state"].items()}}
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    # weights first, then the JSON that points at them: a crash between the two
    # leaves the previous JSON, which the loader checks against the epoch stored in the weights.
    tensors["meta.epoch"] = torch.tensor([epoch], dtype=torch.int64)
    atomic_write_bytes(ckpt_dir / CHECKPOINT_WEIGHTS, st_save(tensors))
    atomic_write_text(ckpt_dir / CHECKPOINT_STATE, json.dumps(state, default=float))


def _load_checkpoint(ckpt_dir: Path, module, optimizer, stopper: EarlyStopping):
    from safetensors.torch import load as st_load

    from jsdm_hot.errors import ModelFileError

    try:
        state = json.loads((ckpt_dir / CHECKPOINT_STATE).read_text())
        tensors = st_load((ckpt_dir / CHECKPOINT_WEIGHTS).read_bytes())
        if int(tensors["meta.epoch"][0]) != state["epoch"]:
            raise ValueError("weights and state are from different epochs")
        module.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")} if state["has_best"] else None
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, pid, name = k.split(".", 2)
                opt_state.setdefault(int(pid), {})[name] = v.reshape(()) if name == "step" else v
        optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
        torch.set_rng_state(tensors["rng.torch"])
        stopper.load_state_dict(state["early_stopping"])
    except (OSError, json.JSONDecodeError, KeyError, RuntimeError, ValueError) as exc:
        raise ModelFileError(
            f"checkpoint in {ckpt_dir} cannot be resumed ({exc}); it was written for another model or data, "
            "or is damaged — delete it or fit without resume"
        ) from None
    return state["epoch"], state["history"], best


def train_module(
    module: torch.nn.Module,
    x_train,
    y_train: np.ndarray | None,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: HotVAEConfig,
    *,
    device: torch.device,
    seed: int = 0,
    progress: bool = False,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> TrainResult:
    """Train ``module`` in place and load the best (validation maF1) weights into it.

    Parameters
    ----------
    module : torch.nn.Module
        A HOT-VAE module already on ``device``.
    x_train : ndarray of shape (n_train, n_features), standardised float, or a batch source
        A batch source (``y_train=None``) has a ``batches(epoch, seed, batch_size,
        ctx, device)`` method yielding :class:`Batch` objects, like
        :class:`ArrayBatches` or :class:`jsdm_hot.data.streaming.ParquetBatches`.
    y_train : ndarray of shape (n_train, n_species), 0/1, or None with a batch source
    x_val : ndarray of shape (n_val, n_features)
    y_val : ndarray of shape (n_val, n_species)
    config : HotVAEConfig
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
    from jsdm_hot.distributed import context, gather_rows, shard_bounds

    ctx = context()
    tqdm = _progress_bar_class(progress and ctx.is_main)
    source = x_train if y_train is None else ArrayBatches(x_train, y_train)
    optimizer = torch.optim.Adam(module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    stopper = EarlyStopping(patience=config.patience, min_delta=config.min_delta)
    history: list[dict[str, float]] = []
    best_state: dict[str, torch.Tensor] | None = None
    start_epoch = 0
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume and ckpt is not None and (ckpt / CHECKPOINT_STATE).exists():
        last, history, best_state = _load_checkpoint(ckpt, module, optimizer, stopper)
        start_epoch = last + 1
        logger.info("resumed from %s at epoch %d", ckpt, start_epoch)

    net = module
    if ctx.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
    yv = np.asarray(y_val, dtype=np.uint8)
    v0, v1 = shard_bounds(len(yv), ctx.rank, ctx.world_size)

    def val_prob() -> np.ndarray:
        return gather_rows(predict_proba_module(module, x_val[v0:v1], device), ctx)

    result = TrainResult(history=history)
    bar = tqdm(range(start_epoch, config.max_epochs), desc="training", unit="epoch", disable=not (progress and ctx.is_main),
               initial=start_epoch, total=config.max_epochs)
    for epoch in bar:
        sums = train_epoch(net, module, optimizer, source, epoch, config, device=device, seed=seed, ctx=ctx)
        if ctx.enabled:  # rescaled terms of the ranks sum to world_size × the global batch's terms
            torch.distributed.all_reduce(sums)
            sums /= ctx.world_size
        n_batches = max(float(sums[-1]), 1.0)
        record = {"epoch": epoch, **{k: float(v) / n_batches for k, v in zip(TERM_NAMES, sums[:-1])}}
        maf1, mif1, _ = _val_scores(yv, val_prob(), config.threshold_mode)
        record.update(val_maf1=maf1, val_micro_f1=mif1)
        history.append(record)
        improved, stop, reason = stopper.update(maf1, epoch)
        if improved:
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        bar.set_postfix(loss=f"{record.get('loss', float('nan')):.4f}", val_maF1=f"{maf1:.4f}", best=f"{stopper.best_score:.4f}")
        if ckpt is not None and ctx.is_main:
            _save_checkpoint(ckpt, module, optimizer, stopper, epoch, history, best_state, seed)
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
    result.best_epoch = stopper.best_epoch
    result.best_val_maf1 = stopper.best_score
    result.val_prob = val_prob()
    _, _, result.thresholds = _val_scores(yv, result.val_prob, config.threshold_mode)
    result.history = history
    return result
