"""Writes are atomic: a failure or a kill in the middle of a write leaves the old file or model, or the new one — never a mix.

Three kinds of interruption, none of which knows how the writers are built inside:

* a failing system call, patched in (``os.replace``, ``os.fsync``);
* a write that fails part-way (the file-size limit ``RLIMIT_FSIZE`` in a forked child:
  the kernel refuses bytes past the limit, like a full disk);
* fault sweeps (:func:`.faults.fault_sweep`): an ``OSError`` or a SIGKILL at each of the
  writer's filesystem mutations in turn, the state left behind checked after each.
"""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from jsdm_hot.errors import ModelFileError
from jsdm_hot.io import (
    atomic_write_bytes,
    atomic_write_text,
    load_model_dir,
    save_model_dir,
)

from .builders import tiny_hotvae
from .faults import HAS_FORK, REMOVALS, fault_sweep, in_child, litter

pytestmark = pytest.mark.skipif(not HAS_FORK, reason="forked children (POSIX only)")

OLD, NEW = b"old contents\n", b"new contents\n" * 5000  # 13 bytes, 65 KB


def _boom(*args, **kwargs):
    raise OSError(errno.EIO, "injected failure")


def _with_file_size_limit(limit: int, write) -> str:
    """Run ``write()`` in a forked child whose files may not grow past ``limit`` bytes (EFBIG, like a full disk)."""
    import resource

    def run():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        write()

    return in_child(run)


# ------------------------------------------------------------------ atomic_write_bytes
def _old_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "a.bin"
    target.write_bytes(OLD)
    return target


@pytest.mark.parametrize("call", ["replace", "fsync"])
def test_failing_system_call_keeps_old_file_and_no_temp(tmp_path, monkeypatch, call):
    target = _old_file(tmp_path)
    monkeypatch.setattr(os, call, _boom)
    with pytest.raises(OSError, match="injected"):
        atomic_write_bytes(target, NEW)
    monkeypatch.undo()
    assert target.read_bytes() == OLD
    assert litter(tmp_path, "a.bin") == []


def test_write_failing_partway_keeps_old_file(tmp_path):
    """The kernel stops the write at 4 KiB: the target must not be the file being written."""
    target = _old_file(tmp_path)
    assert _with_file_size_limit(4096, lambda: atomic_write_bytes(target, NEW)) == "raised"
    assert target.read_bytes() == OLD, f"the old file was overwritten in place ({target.stat().st_size} bytes now)"
    assert litter(tmp_path, "a.bin") == []


def test_atomic_write_fault_sweep_leaves_old_or_new_file(tmp_path):
    def check(target: Path, outcome: str, event: str):
        content = target.read_bytes()
        assert content == (NEW if outcome == "completed" else OLD), f"after a failure at {event or 'no event'}"
        if event not in REMOVALS:  # a failed clean-up may leave its file
            assert litter(target.parent, "a.bin") == [], f"temporary files left after a failure at {event}"

    events = fault_sweep(lambda t: atomic_write_text(t, NEW.decode()), lambda k: _old_file(tmp_path / f"k{k}"),
                          check, "raise")
    assert "os.rename" in events  # the sweep reached the rename


def test_atomic_write_killed_at_any_step_leaves_old_or_new_file(tmp_path):
    def check(target: Path, outcome: str, event: str):
        assert target.read_bytes() in (OLD, NEW), f"killed at {event}: the target holds a partial write"

    fault_sweep(lambda t: atomic_write_bytes(t, NEW), lambda k: _old_file(tmp_path / f"k{k}"), check, "kill")


# ------------------------------------------------------------------ save_model_dir
OLD_ARRAYS = {"w": np.zeros(8, dtype=np.float32)}
NEW_ARRAYS = {"w": np.arange(50_000, dtype=np.float64), "b": np.ones(3, dtype=np.float32)}  # ~400 KB


def _old_model(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return save_model_dir(folder / "model", OLD_ARRAYS, {"which": "old"}, class_name="Demo")


def _which(target: Path) -> str:
    """"old", "new" or "absent"; a directory that exists but does not load fails the test."""
    if not target.exists():
        return "absent"
    try:
        arrays, cfg = load_model_dir(target, expected_class="Demo")
    except ModelFileError as exc:
        raise AssertionError(f"a half-written model directory was left behind: {exc}") from None
    expected = OLD_ARRAYS if cfg["which"] == "old" else NEW_ARRAYS
    assert arrays.keys() == expected.keys() and all(np.array_equal(arrays[k], expected[k]) for k in expected)
    return cfg["which"]


def _save_new(target: Path) -> None:
    save_model_dir(target, NEW_ARRAYS, {"which": "new"}, class_name="Demo", overwrite=True)


def test_failing_first_replace_keeps_old_model(tmp_path, monkeypatch):
    target = _old_model(tmp_path)
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(OSError, match="injected"):
        _save_new(target)
    monkeypatch.undo()
    assert _which(target) == "old"
    assert litter(tmp_path, "model") == []


def test_model_write_failing_partway_keeps_old_model(tmp_path):
    """The weights (~400 KB) outgrow a 64 KiB file-size limit part-way through."""
    target = _old_model(tmp_path)
    assert _with_file_size_limit(65536, lambda: _save_new(target)) == "raised"
    assert _which(target) == "old"
    assert litter(tmp_path, "model") == []


def test_new_model_save_fault_sweep_leaves_new_model_or_nothing(tmp_path):
    def prepare(k):
        (tmp_path / f"k{k}").mkdir()
        return tmp_path / f"k{k}" / "model"

    def check(target: Path, outcome: str, event: str):
        assert _which(target) == ("new" if outcome == "completed" else "absent"), f"after a failure at {event}"
        assert litter(target.parent, "model") == [], f"temporary files left after a failure at {event}"

    fault_sweep(_save_new, prepare, check, "raise")


def test_overwrite_fault_sweep_keeps_old_or_new_model(tmp_path):
    gaps: list[str] = []

    def check(target: Path, outcome: str, event: str):
        state = _which(target)  # raises on a half-written directory
        if outcome == "completed":
            assert state == "new"
        elif state == "absent":
            gaps.append(event)
            return
        if event not in REMOVALS:
            assert litter(target.parent, "model") == [], f"temporary files left after a failure at {event}"

    events = fault_sweep(_save_new, lambda k: _old_model(tmp_path / f"k{k}"), check, "raise")
    if gaps:  # everything else held; this is the one state the writer does not yet avoid
        pytest.xfail(f"known gap in save_model_dir: a failure at {gaps} (of {events}) leaves no model under the "
                     "target name: the old one was moved aside to .<name>.old and the new one never moved in")


def test_overwrite_killed_at_any_step_leaves_a_loadable_model_or_none(tmp_path):
    seen: list[str] = []

    def check(target: Path, outcome: str, event: str):
        seen.append(_which(target))  # raises on a half-written directory
        _save_new(target)  # whatever a kill left behind does not block the next save
        assert _which(target) == "new"

    events = fault_sweep(_save_new, lambda k: _old_model(tmp_path / f"k{k}"), check, "kill")
    assert seen[0] == "old" and seen[-1] == "new", (events, seen)


# ------------------------------------------------------------------ HotVAE.save
@pytest.fixture(scope="module")
def two_models(small_sim):
    """Two different fitted HotVAEs (old, new) and the sites to tell their predictions apart."""
    data = small_sim.data
    old = tiny_hotvae(max_epochs=1, random_state=0).fit(data)
    new = tiny_hotvae(max_epochs=1, random_state=1).fit(data)
    return old, new, data


def test_hotvae_save_killed_at_any_step_leaves_old_new_or_no_model(two_models, tmp_path):
    from jsdm_hot import HotVAE

    old, new, data = two_models
    expected = {"old": old.predict_proba(data), "new": new.predict_proba(data)}
    assert not np.array_equal(expected["old"], expected["new"])
    states: list[str] = []

    def prepare(k):
        return old.save(tmp_path / f"k{k}" / "model")

    def check(target: Path, outcome: str, event: str):
        if not target.exists():
            states.append("absent")
            return
        try:
            loaded = HotVAE.load(target, device="cpu")
        except ModelFileError as exc:
            raise AssertionError(f"killed at {event}: a half-written model directory was left: {exc}") from None
        proba = loaded.predict_proba(data)
        (which,) = [name for name, p in expected.items() if np.array_equal(proba, p)] or ["neither"]
        assert which != "neither", f"killed at {event}: the model loads but is neither the old nor the new one"
        states.append(which)

    events = fault_sweep(lambda t: new.save(t, overwrite=True), prepare, check, "kill")
    assert states[0] == "old" and states[-1] == "new", list(zip(events + ["(completed)"], states))
