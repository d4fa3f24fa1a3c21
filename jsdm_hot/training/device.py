"""Where tensors live: the one device resolver and the autocast rule of jsdm-hot."""

from __future__ import annotations

import torch

from jsdm_hot.errors import InputDataError

__all__ = ["resolve_device", "autocast"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda[:N]"`` without a GPU raises.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device

    Returns
    -------
    torch.device

    Raises
    ------
    InputDataError
        For an unknown device name, or CUDA asked for where there is none.
    """
    if isinstance(device, torch.device):
        return device
    device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputDataError(f"device {device!r} requested but CUDA is not available; use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise InputDataError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return torch.device(device)


def autocast(device: torch.device, bf16: bool | None = None):
    """bf16 autocast on CUDA (``bf16=None``: the default), none on CPU; ``bf16`` forces either way."""
    on = device.type == "cuda" if bf16 is None else bool(bf16)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=on)
