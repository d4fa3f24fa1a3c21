"""Fault injection for the wiring tests: interrupt a write at each of its filesystem mutations.

In a forked child, an audit hook (:func:`sys.addaudithook`; permanent, hence only in a
child) counts the filesystem mutations (open for writing, mkdir, rename/replace,
remove, rmtree, chmod, ...) and raises ``OSError`` — or sends the child SIGKILL — at
the k-th, for k = 1, 2, ... until a run completes untouched. Nothing here knows how
the code under test writes: any sequence of system calls gets every prefix tested.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path

#: Audit events that change the filesystem (``os.replace`` raises ``os.rename``).
MUTATIONS = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.truncate", "os.link", "os.symlink",
             "shutil.rmtree", "shutil.move", "shutil.copyfile", "tempfile.mkstemp", "tempfile.mkdtemp"}

#: Events of a deletion: a failed clean-up may leave behind what it failed to delete.
REMOVALS = {"os.remove", "os.rmdir", "shutil.rmtree"}

HAS_FORK = hasattr(os, "fork")


def mutates(event: str, args: tuple) -> bool:
    """Whether audit event ``event`` with ``args`` changes the filesystem."""
    if event == "open":
        _, mode, flags = args
        if mode is not None:
            return any(c in str(mode) for c in "wax+")
        return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
    return event in MUTATIONS


def in_child(action: Callable[[], object]) -> str:
    """Run ``action()`` in a forked child.

    Returns
    -------
    str
        ``"completed"`` (returned normally), ``"raised"`` (an OSError escaped) or
        ``"killed"`` (SIGKILL). Any other exception in the child fails the caller's test.
    """
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 4
        try:
            action()
            code = 0
        except OSError:
            code = 3
        except BaseException:  # noqa: BLE001 - any other error: report it and exit, never return into pytest
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL, f"child died of signal {os.WTERMSIG(status)}"
        return "killed"
    code = os.WEXITSTATUS(status)
    assert code in (0, 3), f"the code under test failed with an unexpected error (exit {code}; traceback above)"
    return {0: "completed", 3: "raised"}[code]


def fault_sweep(write: Callable[[Path], object], prepare: Callable[[int], Path],
                check: Callable[[Path, str, str], object], how: str,
                armed: Callable[[Path], bool] | None = None) -> list[str]:
    """Interrupt ``write(target)`` at its 1st, 2nd, ... filesystem mutation until one run completes untouched.

    Parameters
    ----------
    write : runs in a forked child, on the target ``prepare`` returned
    prepare : ``prepare(k) -> target`` lays out the state before run ``k``
    check : ``check(target, outcome, event)`` inspects what run ``k`` left; ``outcome``
        is ``"completed"``, ``"raised"`` or ``"killed"``; ``event`` the interrupted
        audit event ("" for the final, untouched run)
    how : {"raise", "kill"}
        The k-th mutation raises ``OSError`` (later ones pass, so clean-up runs) or
        kills the child with SIGKILL.
    armed : ``armed(target) -> bool``, optional
        Count only mutations made while it holds (e.g. once a first checkpoint exists).

    Returns
    -------
    list of str
        The audit events interrupted, in order.
    """
    events: list[str] = []
    for k in range(1, 500):
        target = prepare(k)
        r, w = os.pipe()
        outcome = in_child(partial(_interrupted, write, target, k, how, armed, r, w))
        os.close(w)
        with os.fdopen(r, "rb") as fh:
            event = fh.read().decode()
        if not event:
            assert outcome == "completed"
            check(target, outcome, "")
            assert events, "the sweep saw no filesystem mutation: nothing was written?"
            return events
        events.append(event)
        check(target, outcome, event)
    raise AssertionError("the write never completed")


def _interrupted(write, target: Path, k: int, how: str, armed, r: int, w: int) -> None:
    """In the child: install the hook that interrupts the ``k``-th mutation (its event name goes to pipe ``w``), then write."""
    os.close(r)
    seen = 0

    def hook(event, args):
        nonlocal seen
        if seen < 0 or not mutates(event, args) or (armed is not None and not armed(target)):
            return
        seen += 1
        if seen == k:
            os.write(w, event.encode())
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            seen = -1
            raise OSError(errno.EIO, f"injected failure at {event} {args}")

    sys.addaudithook(hook)
    write(target)


def litter(folder: Path, keep: str) -> list[str]:
    """Names in ``folder`` other than ``keep`` (temporary files or folders left behind)."""
    return sorted(p.name for p in folder.iterdir() if p.name != keep)
