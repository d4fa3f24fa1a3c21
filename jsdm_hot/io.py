"""Model directories: safetensors weights + JSON config, written atomically, loaded without executing code.

A model directory holds exactly two files:

* ``weights.safetensors`` — every array (torch tensors and numpy arrays alike);
* ``config.json`` — ``format_version``, package version, class name, the
  SHA-256 of the weights file, the tensor names with shapes, and the model's
  JSON-serialisable configuration.

Loading checks the class name, the format version, the hash and the shapes, and
refuses directories with any other file (a pickle dropped beside the weights is
never opened). Nothing is unpickled, ever.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from jsdm_hot.errors import InputDataError, ModelFileError

__all__ = [
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "CONFIG_FILE",
    "save_model_dir",
    "load_model_dir",
    "atomic_target",
    "atomic_write_text",
    "atomic_write_bytes",
    "umask_mode",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"
_ALLOWED_FILES = {WEIGHTS_FILE, CONFIG_FILE}


def _package_version() -> str:
    from jsdm_hot._version import __version__

    return __version__


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def umask_mode(directory: bool = False) -> int:
    """Permissions a new file (``0o666``) or folder (``0o777``) gets under the process umask.

    ``0o644`` / ``0o755`` under the usual umask 022. ``tempfile.mkstemp`` and
    ``mkdtemp`` create ``0o600`` / ``0o700`` entries; atomic writes chmod them
    to this before renaming them into place.
    """
    return (0o777 if directory else 0o666) & ~_umask()


@contextlib.contextmanager
def atomic_target(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path`` atomically.

    The one atomic-write mechanism of jsdm-hot (tables, maps, model files,
    checkpoints). On an exception the temporary file is removed and ``path`` is
    untouched. The file gets the usual permissions (``0666`` minus the umask),
    not ``mkstemp``'s 0600, so colleagues on a shared server can read it.

    Parameters
    ----------
    path : path-like
        Destination file; its folder is created if needed.
    overwrite : bool, default=True
        If False and ``path`` exists, raise :class:`~jsdm_hot.errors.InputDataError` before writing.

    Yields
    ------
    Path
        The temporary file to write.
    """
    final = Path(path)
    if not overwrite and final.exists():
        raise InputDataError(f"{final} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, umask_mode())
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder (fsynced) and ``os.replace``."""
    with atomic_target(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _to_numpy(v) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu()
        if str(v.dtype) == "torch.bfloat16":
            v = v.float()
        v = v.numpy()
    arr = np.ascontiguousarray(np.asarray(v))
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "biuf":
        raise ModelFileError(f"cannot store array of dtype {arr.dtype} in safetensors")
    return arr


def save_model_dir(
    path: str | os.PathLike,
    tensors: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    class_name: str,
    overwrite: bool = False,
) -> Path:
    """Save arrays and a JSON config as a model directory, atomically.

    Parameters
    ----------
    path : path-like
        Target directory. It must not exist unless ``overwrite``.
    tensors : mapping of str to ndarray or torch.Tensor
        Arrays to store (bool arrays are stored as uint8; the config records
        nothing about dtypes beyond safetensors' own header).
    config : mapping
        JSON-serialisable model description.
    class_name : str
        Name of the estimator class; checked by :func:`load_model_dir`.
    overwrite : bool, default=False

    Returns
    -------
    pathlib.Path
        The directory written. It is assembled in a temporary sibling folder
        and renamed into place, so an interrupted save leaves nothing under
        the final name.
    """
    from safetensors.numpy import save as st_save

    path = Path(path)
    if path.exists() and not overwrite:
        raise ModelFileError(f"{path} already exists; pass overwrite=True (--overwrite) to replace it")
    arrays = {k: _to_numpy(v) for k, v in tensors.items()}
    blob = st_save(arrays) if arrays else st_save({"_empty": np.zeros(1, dtype=np.uint8)})
    meta = {
        "format_version": FORMAT_VERSION,
        "jsdm_hot_version": _package_version(),
        "class_name": class_name,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
        "tensors": {k: list(a.shape) for k, a in arrays.items()},
        "config": dict(config),
    }
    try:
        text = json.dumps(meta, indent=2, sort_keys=False, default=_json_default)
    except (TypeError, ValueError) as exc:  # before anything is written: nothing half-written
        raise InputDataError(f"{path}: the model's settings cannot be saved as JSON ({exc}); keep parameters to "
                             "numbers, strings, booleans, lists, paths or None") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        os.chmod(tmp_dir, umask_mode(directory=True))  # mkdtemp makes 0700; colleagues may need to read the model
        atomic_write_bytes(tmp_dir / WEIGHTS_FILE, blob)
        atomic_write_text(tmp_dir / CONFIG_FILE, text)
        if path.exists():
            # a directory cannot be replaced atomically: move the old one aside, move the new one in,
            # and put the old one back if that fails (load_model_dir also restores it after a kill)
            old = _aside(path)
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            try:
                os.replace(tmp_dir, path)
            except BaseException:
                if not path.exists():
                    os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_dir, path)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return path


def _aside(path: Path) -> Path:
    """Where :func:`save_model_dir` keeps the previous model while it moves a new one in."""
    return path.with_name(f".{path.name}.old")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def load_model_dir(path: str | os.PathLike, expected_class: str | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a model directory written by :func:`save_model_dir`.

    Parameters
    ----------
    path : path-like
    expected_class : str, optional
        Refuse a directory saved by another class.

    Returns
    -------
    tensors : dict of str to ndarray
    config : dict
        The ``config`` mapping given to :func:`save_model_dir`.

    Raises
    ------
    ModelFileError
        Missing directory or files, unexpected files (e.g. a pickle), foreign
        or newer format, class mismatch, weights whose hash or shapes differ
        from the config (tampered or truncated).
    """
    from safetensors.numpy import load as st_load

    path = Path(path)
    if not path.exists() and _aside(path).is_dir():
        # a save that overwrote this model was killed between its two renames: the previous model is intact
        logger.warning("model directory %s is missing but its previous version %s is intact (an interrupted "
                       "save); restoring it", path, _aside(path))
        os.replace(_aside(path), path)
    if not path.is_dir():
        raise ModelFileError(f"model directory {path} does not exist")
    present = {p.name for p in path.iterdir()}
    unexpected = sorted(present - _ALLOWED_FILES)
    if unexpected:
        raise ModelFileError(
            f"model directory {path} holds unexpected files {unexpected}; only {sorted(_ALLOWED_FILES)} "
            "are allowed (jsdm-hot never loads pickles or other code)"
        )
    missing = sorted(_ALLOWED_FILES - present)
    if missing:
        raise ModelFileError(f"model directory {path} is missing {missing}")
    try:
        meta = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path / CONFIG_FILE} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or "format_version" not in meta or "class_name" not in meta:
        raise ModelFileError(f"{path / CONFIG_FILE} is not a jsdm-hot model config (no format_version/class_name)")
    if meta["format_version"] != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was saved with model format {meta['format_version']} "
            f"(jsdm-hot {meta.get('jsdm_hot_version', '?')}); this jsdm-hot reads format {FORMAT_VERSION}"
        )
    if expected_class is not None and meta["class_name"] != expected_class:
        raise ModelFileError(f"{path} holds a {meta['class_name']} model, not a {expected_class}")
    blob = (path / WEIGHTS_FILE).read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
        raise ModelFileError(f"{path / WEIGHTS_FILE} does not match the hash in {CONFIG_FILE}: the file was modified or truncated")
    try:
        arrays = st_load(blob)
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{path / WEIGHTS_FILE} is not a valid safetensors file: {exc}") from None
    arrays.pop("_empty", None)
    shapes = {k: list(v.shape) for k, v in arrays.items()}
    if shapes != meta.get("tensors", {}):
        raise ModelFileError(f"{path / WEIGHTS_FILE} tensors {shapes} differ from those recorded in {CONFIG_FILE}")
    return arrays, meta["config"]
