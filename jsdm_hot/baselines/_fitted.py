"""Fitted-state helpers shared by the single-species baselines (random forest, boosting, MaxEnt).

* :func:`constant_species` — species with one class in training, which no
  classifier can fit; they are predicted at their training prevalence (0 or 1),
  as :class:`~jsdm_hot.baselines.BinaryRelevanceLogistic` does.
* :func:`params_tensor` / :func:`check_params_tensor` — the hyper-parameters a
  model was fitted with, stored as JSON bytes *inside the weights file* (whose
  SHA-256 is checked on load). ``config.json`` also holds the parameters (the
  base class rebuilds the estimator from them); comparing the two refuses a
  ``config.json`` whose parameters were edited after fitting, so a load can
  never silently give a model that differs from the one saved.
* :func:`text_tensor` / :func:`tensor_text` — UTF-8 text as a ``uint8`` array.
* :func:`n_workers` — threads for per-species fits from an sklearn-style ``n_jobs``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from jsdm_hot.errors import ModelFileError

__all__ = ["constant_species", "params_tensor", "check_params_tensor", "text_tensor", "tensor_text", "n_workers"]

#: Parameters that only say how to run (threads, device), not what was fitted;
#: a loaded model may change them.
RUNTIME_PARAMS = frozenset({"device", "n_jobs"})


def constant_species(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training prevalence and the single-class mask.

    Parameters
    ----------
    Y : ndarray of shape (n_sites, n_species), 0/1

    Returns
    -------
    prevalence : ndarray of shape (n_species,), float64
    constant : ndarray of shape (n_species,), bool
        True for species never or always present in ``Y``.
    """
    Y = np.asarray(Y)
    return Y.mean(0).astype(np.float64), Y.min(0) == Y.max(0)


def n_workers(n_jobs: int | None) -> int:
    """Worker count for ``n_jobs`` as scikit-learn reads it: None -> 1, -1 -> all cores, -2 -> all but one."""
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    return max(1, (os.cpu_count() or 1) + 1 + n_jobs) if n_jobs < 0 else n_jobs


def text_tensor(text: str) -> np.ndarray:
    """UTF-8 bytes of ``text`` as an array of shape (n_bytes,), uint8."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def tensor_text(arr: np.ndarray) -> str:
    """Inverse of :func:`text_tensor`."""
    return np.ascontiguousarray(arr, dtype=np.uint8).tobytes().decode("utf-8")


def _fitted_params(est) -> dict[str, Any]:
    params = {k: v for k, v in est.get_params(deep=False).items() if k not in RUNTIME_PARAMS}
    return json.loads(json.dumps(params))  # tuples -> lists, as they come back from config.json


def params_tensor(est) -> np.ndarray:
    """The estimator's fitted hyper-parameters (without :data:`RUNTIME_PARAMS`) as JSON bytes, uint8."""
    return text_tensor(json.dumps(_fitted_params(est), sort_keys=True))


def check_params_tensor(est, arr: np.ndarray) -> None:
    """Refuse a loaded estimator whose parameters differ from those stored in its weights.

    Raises
    ------
    ModelFileError
        Naming the parameters that differ, with both values.
    """
    try:
        saved = json.loads(tensor_text(arr))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{type(est).__name__}: the parameters stored with the weights are unreadable ({exc})") from None
    now = _fitted_params(est)
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k, "<absent>") != now.get(k, "<absent>"))
    if diff:
        detail = "; ".join(f"{k}: config.json {now.get(k, '<absent>')!r}, fitted {saved.get(k, '<absent>')!r}"
                           for k in diff)
        raise ModelFileError(
            f"{type(est).__name__}: parameters in config.json differ from those the weights were fitted with ({detail}); "
            "the file was edited after saving"
        )
