"""Maps on a ``dask.distributed`` cluster: the chunks of :func:`~jsdm_hot.maps.predict_map` run on workers.

>>> ds = predict_map("model/", "grid.tif", scheduler="local", n_workers=8)          # doctest: +SKIP
>>> ds = predict_map("model/", "grid.tif", scheduler="tcp://10.0.0.5:8786")         # doctest: +SKIP

The driver (the process calling ``predict_map``) scans the grid, fits the
community basis, reads each chunk's covariates and submits one task per chunk:
``(model directory path, covariates (n_cells, n_features), chunk start,
ChunkSpec)``. A worker loads the model from the directory with its class's
``load`` the first time it needs it and keeps it (per worker process, keyed by
path, device and the config file's modification time); torch modules are never
pickled. The task runs :func:`jsdm_hot.maps.chunk.predict_chunk`, the same
function as the single-process loop, with the same chunks and seeds, so the
maps are identical (bit for bit on CPU, given the same torch thread count per
process; LocalCluster workers and ``dask worker --nthreads 1`` run torch on one
thread). Only the chunk's layer arrays come back; joint draws never leave the
worker, and at most ``2 × (worker threads)`` chunks are in flight, so the
driver's memory is the output arrays plus a few chunks.

Workers need ``jsdm_hot`` installed (same version) and the model directory at
the same path (a shared filesystem on a cluster). dask and distributed are
imported only here, only when a scheduler is given.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any, Iterable, Iterator

import numpy as np

from jsdm_hot.errors import InputDataError, ModelFileError
from jsdm_hot.maps.chunk import ChunkSpec, predict_chunk
from jsdm_hot.maps.model import load_model

logger = logging.getLogger(__name__)

__all__ = ["dask_client", "map_chunks"]

_MODEL_CACHE: dict[tuple[str, str, int], Any] = {}
_MODEL_LOCK = threading.Lock()


def _worker_model(model_dir: str, device: str) -> Any:
    """The model of ``model_dir``, loaded once per worker process (thread-safe)."""
    from jsdm_hot.io import CONFIG_FILE

    try:
        mtime = os.stat(os.path.join(model_dir, CONFIG_FILE)).st_mtime_ns
    except OSError:
        mtime = -1
    key = (model_dir, device, mtime)
    with _MODEL_LOCK:
        model = _MODEL_CACHE.get(key)
        if model is None:
            try:
                model = load_model(model_dir, device=device)
            except ModelFileError as exc:
                import socket

                raise ModelFileError(f"{exc} (on dask worker host {socket.gethostname()}: workers load the model "
                                     "from this path, so it must be on a filesystem they share with the driver)"
                                     ) from None
            for k in [k for k in _MODEL_CACHE if k[0] == model_dir]:  # an older version of this directory
                del _MODEL_CACHE[k]
            _MODEL_CACHE[key] = model
    return model


def _chunk_task(model_dir: str, device: str, X: np.ndarray, start: int, spec: ChunkSpec) -> dict[str, np.ndarray]:
    """Worker side of one chunk: cached model + :func:`~jsdm_hot.maps.chunk.predict_chunk`."""
    return predict_chunk(_worker_model(model_dir, device), X, start, spec)


def _n_cpus() -> int:
    """CPUs this process may use (Slurm / cgroup affinity aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _malloc_trim_env() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def _check_address(scheduler: str) -> None:
    if "://" not in scheduler:
        raise InputDataError(
            f"scheduler {scheduler!r} is neither 'local' nor a scheduler address such as tcp://host:8786 "
            "(the address `dask scheduler` prints)")


@contextlib.contextmanager
def _no_malloc_trim() -> Iterator[None]:
    """Start worker processes without dask's ``MALLOC_TRIM_THRESHOLD_=65536``.

    dask's nannies set it (``distributed.nanny.pre-spawn-environ``) to give
    memory back to the OS sooner; it also pins glibc's mmap threshold to
    128 kB, so every large temporary of the sampler is a fresh ``mmap`` and
    page faults: HOT-VAE's joint sampling ran ~3x slower in such a worker
    (``benchmarks/map_dask.py``). The driver's own environment is restored
    afterwards (a nanny copies its variables into it when it spawns a worker).
    """
    import dask

    key = "MALLOC_TRIM_THRESHOLD_"
    old = os.environ.pop(key, None)
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{key}": None}):
            yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


@contextlib.contextmanager
def dask_client(scheduler: Any, *, n_workers: int | None = None, timeout: float = 30.0) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler``, closed (with its LocalCluster) on exit.

    Parameters
    ----------
    scheduler : "local", address str or distributed.Client
        ``"local"`` starts a ``LocalCluster(n_workers, threads_per_worker=1,
        processes=True)`` (dashboard on a free port, logged); an address (``tcp://host:port``)
        connects to a running scheduler; a ``Client`` is used as is (and not closed).
    n_workers : int, optional
        Workers of the local cluster (default: the CPUs this process may use); ignored otherwise.
    timeout : float, default=30
        Seconds to wait for the scheduler.

    Raises
    ------
    InputDataError
        Malformed address, unreachable scheduler, ``n_workers < 1``.
    ImportError
        When dask / distributed are not installed (``pip install 'jsdm-hot[dask]'``).
    """
    if hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info"):
        yield scheduler
        return
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise InputDataError(f"scheduler must be 'local', an address such as tcp://host:8786 or a "
                             f"distributed.Client, got {scheduler!r}")
    scheduler = scheduler.strip()
    if scheduler != "local":
        _check_address(scheduler)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("maps on a dask cluster need dask and distributed: pip install 'jsdm-hot[dask]'") from exc
    if scheduler == "local":
        n = _n_cpus() if n_workers is None else int(n_workers)
        if n < 1:
            raise InputDataError(f"the local dask cluster needs at least 1 worker, got n_workers={n_workers}")
        # ":0": a free port for the scheduler's HTTP server / dashboard (8787 may be taken)
        with _no_malloc_trim(), LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address=":0") as cluster, Client(cluster) as client:
            logger.info("started a local dask cluster: %d worker processes (1 thread each) at %s; dashboard %s", n,
                        cluster.scheduler_address, client.dashboard_link)
            yield client
        return
    try:
        client = Client(scheduler, timeout=f"{float(timeout)}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputDataError(
            f"could not connect to the dask scheduler at {scheduler} within {float(timeout):g} s ({exc}); is "
            "`dask scheduler` running there and reachable from this machine? (or use scheduler='local', CLI "
            "--scheduler local)") from None
    try:
        n_threads = sum(w.get("nthreads", 0) for w in client.scheduler_info().get("workers", {}).values())
        logger.info("connected to the dask scheduler at %s (%d worker threads now)", scheduler, n_threads)
        if n_threads == 0:
            logger.warning("the dask scheduler at %s has no workers yet: the map waits until some join", scheduler)
        with contextlib.suppress(Exception):  # advisory only
            trimmed = [w for w, v in client.run(_malloc_trim_env).items() if v is not None]
            if trimmed:
                logger.warning("%d dask worker(s) run with MALLOC_TRIM_THRESHOLD_ set, which makes joint sampling "
                               "~3x slower; see docs/scaling.md ('Workers without MALLOC_TRIM_THRESHOLD_')",
                               len(trimmed))
        yield client
    finally:
        client.close()


def map_chunks(
    client: Any,
    model_dir: str,
    chunks: Iterable[tuple[int, np.ndarray, np.ndarray]],
    spec: ChunkSpec,
    *,
    device: str = "auto",
    max_in_flight: int | None = None,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Run :func:`~jsdm_hot.maps.chunk.predict_chunk` for each chunk on the cluster.

    Parameters
    ----------
    client : distributed.Client
    model_dir : str
        Absolute path of the saved model, readable by every worker.
    chunks : iterable of (start, flat, X)
        ``start`` int, ``flat`` ndarray (n_cells,) of grid cell indices (kept
        on the driver), ``X`` ndarray (n_cells, n_features) sent to the worker.
    spec : ChunkSpec
        Sent to every worker once.
    device : str, default="auto"
        Device the workers load the model on.
    max_in_flight : int, optional
        Chunks submitted and not yet collected (default ``2 ×`` the workers'
        threads, at least 2): the driver holds at most that many results.

    Yields
    ------
    flat : ndarray of shape (n_cells,)
    layers : dict of str to ndarray
        The chunk's layer arrays, in order of completion (not of the chunks).
    """
    from distributed import as_completed

    if max_in_flight is None:
        workers = client.scheduler_info().get("workers", {})
        max_in_flight = max(2, 2 * sum(int(w.get("nthreads", 1)) for w in workers.values()))
    spec_f = client.scatter(spec, broadcast=True)
    it = iter(chunks)
    pending: dict[str, tuple[Any, np.ndarray]] = {}  # key -> (future, flat cell indices)
    done = as_completed()

    def submit_next() -> bool:
        item = next(it, None)
        if item is None:
            return False
        start, flat, X = item
        fut = client.submit(_chunk_task, model_dir, device, X, int(start), spec_f, pure=False,
                            key=f"jsdm-hot-map-chunk-{start}-{os.urandom(4).hex()}")
        pending[fut.key] = (fut, flat)
        done.add(fut)
        return True

    try:
        for _ in range(int(max_in_flight)):
            if not submit_next():
                break
        for fut in done:
            res = fut.result()  # re-raises the worker's exception (e.g. InputDataError) here
            _, flat = pending.pop(fut.key)
            fut.release()
            submit_next()
            yield flat, res
    finally:
        # on an error or an abandoned loop: drop what is still queued or running
        with contextlib.suppress(Exception):
            client.cancel([f for f, _ in pending.values()] + [spec_f])
        pending.clear()
        done.clear()
