"""Named steps a test can stop a real process at, to kill it there.

A process killed half-way must leave the old state or the new one, never a
mix. The kill tests (``tests/faults/``) prove it on a real subprocess: they
arm one step (``SEGMENT_STUDIO_PAUSE_AT``, read by ``Settings.from_env`` and
armed by the entry point, since services never read the environment), wait
for the process to say it stopped there, and kill it with SIGKILL.

``reached(name)`` marks a step between two writes. ``during(name)`` names the
writes of a block: an engine calls ``midway()`` between the statements of a
transaction, which stops there when the block's name is armed, so a test can
kill a process inside a transaction that has not committed yet.

Unarmed (always, outside those tests), each call is one comparison.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_armed: dict[str, int] = {}
_seen: dict[str, int] = {}
_lock = threading.Lock()
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("checkpoint_block", default=None)


def arm(spec: str | None) -> None:
    """Stop at ``spec``: a step name, or ``name#n`` for its n-th occurrence (the first by default)."""
    _armed.clear()
    _seen.clear()
    if spec:
        name, _, nth = spec.partition("#")
        _armed[name] = int(nth or 1)


def reached(name: str) -> None:
    """The process is at step ``name``; when armed there, say so on stderr and wait to be killed."""
    if not _armed or name not in _armed:
        return
    with _lock:
        _seen[name] = _seen.get(name, 0) + 1
        stop = _seen[name] == _armed[name]
    if stop:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        while True:  # the test kills the process here
            time.sleep(60)


@contextmanager
def during(name: str) -> Iterator[None]:
    """Name the writes of a block, so that ``midway`` inside its transactions can stop at ``name``."""
    token = _current.set(name)
    try:
        yield
    finally:
        _current.reset(token)


def midway() -> None:
    """Called by an engine between two statements of one transaction."""
    block = _current.get()
    if block is not None:
        reached(block)
