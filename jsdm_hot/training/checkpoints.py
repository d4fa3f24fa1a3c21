"""Training checkpoints: weights, optimiser state, averaged weights, RNG state and early-stopping state, resumable.

A checkpoint is ONE safetensors file rewritten atomically after every epoch: the
tensors, and the JSON state (epoch, history, early stopping, optimiser groups) in
the file's own metadata, so weights and state always come from the same epoch —
a process killed at any moment of the write leaves the previous epoch's complete
checkpoint or the new one, never a mix. ``checkpoint.json`` beside it is a
readable copy of the state written afterwards (never read back). Never pickle.
``resume=True`` continues from it and reaches the same result as an
uninterrupted run.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from jsdm_hot.errors import ModelFileError
from jsdm_hot.io import atomic_write_bytes, atomic_write_text
from jsdm_hot.training.early_stopping import EarlyStopping

__all__ = ["CHECKPOINT_WEIGHTS", "CHECKPOINT_STATE", "has_checkpoint", "save_checkpoint", "load_checkpoint"]

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
CHECKPOINT_STATE = "checkpoint.json"


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of every tensor's name, shape, dtype and bytes (a checkpoint's integrity check)."""
    import hashlib

    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(f"{k}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def has_checkpoint(ckpt_dir: Path) -> bool:
    """Whether ``ckpt_dir`` holds a checkpoint to resume from."""
    return (Path(ckpt_dir) / CHECKPOINT_WEIGHTS).exists()


def save_checkpoint(ckpt_dir: Path, module, optimizer, stopper: EarlyStopping, epoch: int,
                    history: list, best_state: dict | None, seed: int, averaged=None) -> None:
    """Write the state after ``epoch``: one atomic safetensors file (state in its metadata), then a readable JSON copy.

    ``averaged`` (a :class:`torch.optim.swa_utils.AveragedModel`, optional) is saved with its count.
    """
    from safetensors.torch import save as st_save

    tensors: dict[str, torch.Tensor] = {f"model.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    if best_state is not None:
        tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in best_state.items()})
    opt = optimizer.state_dict()
    for pid, st in opt["state"].items():
        for name, val in st.items():
            tensors[f"optim.{pid}.{name}"] = torch.as_tensor(val).detach().cpu().contiguous().reshape(-1) if name == "step" else val.detach().cpu().contiguous()
    if averaged is not None:
        tensors.update({f"avg.{k}": v.detach().cpu().contiguous().reshape(v.shape) for k, v in averaged.state_dict().items()})
    tensors["rng.torch"] = torch.get_rng_state()
    state = {"epoch": epoch, "seed": seed, "history": history, "early_stopping": stopper.state_dict(),
             "param_groups": opt["param_groups"], "has_best": best_state is not None,
             "optim_shapes": {pid: {n: list(torch.as_tensor(v).shape) for n, v in st.items()} for pid, st in opt["state"].items()}}
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    tensors["meta.epoch"] = torch.tensor([epoch], dtype=torch.int64)
    text = json.dumps(state, default=float)
    meta = {"state": text, "sha256": _digest(tensors)}
    atomic_write_bytes(ckpt_dir / CHECKPOINT_WEIGHTS, st_save(tensors, metadata=meta))
    atomic_write_text(ckpt_dir / CHECKPOINT_STATE, text)  # for people; resume reads the metadata


def load_checkpoint(ckpt_dir: Path, module, optimizer, stopper: EarlyStopping, averaged=None):
    """Restore ``module``, ``optimizer``, ``stopper``, ``averaged`` (if given) and the torch RNG in place.

    Returns
    -------
    epoch : int
        The last completed epoch.
    history : list of dict
    best_state : dict of str to Tensor or None
        The best weights so far.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(ckpt_dir / CHECKPOINT_WEIGHTS), framework="pt") as fh:
            meta = fh.metadata() or {}
            state = json.loads(meta["state"])
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        if _digest(tensors) != meta.get("sha256"):
            raise ValueError("its tensors do not match the checksum stored with them (a damaged file)")
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
        if averaged is not None:
            avg = {k[4:]: v for k, v in tensors.items() if k.startswith("avg.")}
            if not avg:
                raise KeyError("averaged weights (the checkpoint was written without ema_decay)")
            averaged.load_state_dict(avg)
        torch.set_rng_state(tensors["rng.torch"])
        stopper.load_state_dict(state["early_stopping"])
    except (OSError, json.JSONDecodeError, KeyError, RuntimeError, ValueError, SafetensorError) as exc:
        raise ModelFileError(
            f"checkpoint in {ckpt_dir} cannot be resumed ({exc}); it was written for another model or data, "
            "or is damaged — delete it or fit without resume"
        ) from None
    return state["epoch"], state["history"], best
