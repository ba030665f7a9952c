"""Work off the request path: independent reads at once, and values kept fresh in the background.

A remote SQL warehouse answers each round trip in a few hundred milliseconds, so what a page
waits for is the length of its longest chain of reads, not their number:

* ``together(*reads)`` runs reads that do not depend on each other on threads of their own
  and returns their results in order (``services.parallel.together``); the page waits for the
  slowest, not for their sum. Each thread also carries the script run's context, so Streamlit's
  caches and session state work there.
* ``Kept`` holds one value per key and serves it at once. When it is older than ``max_age_s``,
  the next request starts one refresh on a background thread (``background-<name>``) and is
  served what is held (stale while revalidating): nobody waits for the check, and what changed
  is seen a request later. A failed refresh keeps the value and tries again after ``max_age_s``.

A leaf of components/, like ``request.py``: it imports no other component.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from services import parallel

T = TypeVar("T")


def together(*reads: Callable[[], Any]) -> list[Any]:
    """Run ``reads`` at once (the first on this thread); their results in order, or the first error."""
    script = get_script_run_ctx()

    def attach() -> None:
        if script is not None:  # Streamlit's caches and session state need the script run's context
            add_script_run_ctx(threading.current_thread(), script)

    return parallel.together(*reads, before=attach)


@dataclass
class _Slot(Generic[T]):
    value: T
    fetched: float
    refreshing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class Kept(Generic[T]):
    """Values per key, served from memory and refreshed in the background once older than ``max_age_s``."""

    def __init__(self, name: str, *, max_age_s: float, max_entries: int = 64):
        self.name = name
        self.max_age_s = max_age_s
        self.max_entries = max_entries
        self._slots: OrderedDict[Hashable, _Slot[T]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, load: Callable[[], T], *, refresh: Callable[[T], T] | None = None) -> T:
        """The value of ``key``: ``load()`` the first time (the caller waits); then what is held.

        ``refresh(held)`` gives the newer value when the held one is older than ``max_age_s`` (by
        default ``load()`` again); it runs on a background thread, so it must not need the script
        run (bind the warehouse before, not inside it).
        """
        slot = self._slot(key)
        if slot is None:
            with self._loading_lock(key):
                slot = self._slot(key)
                if slot is None:
                    slot = _Slot(load(), time.monotonic())
                    self._store(key, slot)
            return slot.value
        if time.monotonic() - slot.fetched > self.max_age_s:
            self._refresh_in_background(slot, refresh or (lambda _held: load()))
        return slot.value

    def forget(self, key: Hashable | None = None) -> None:
        """Drop ``key`` (every key when None): the next request loads it again."""
        with self._lock:
            if key is None:
                self._slots.clear()
            else:
                self._slots.pop(key, None)

    def _slot(self, key: Hashable) -> _Slot[T] | None:
        with self._lock:
            slot = self._slots.get(key)
            if slot is not None:
                self._slots.move_to_end(key)
            return slot

    def _store(self, key: Hashable, slot: _Slot[T]) -> None:
        with self._lock:
            self._slots[key] = slot
            self._slots.move_to_end(key)
            while len(self._slots) > self.max_entries:
                self._slots.popitem(last=False)

    def _loading_lock(self, key: Hashable) -> threading.Lock:
        with self._lock:
            return self._loading.setdefault(key, threading.Lock())

    def _refresh_in_background(self, slot: _Slot[T], refresh: Callable[[T], T]) -> None:
        with slot.lock:
            if slot.refreshing:
                return
            slot.refreshing = True

        def work() -> None:
            try:
                value = refresh(slot.value)
            except Exception:  # noqa: BLE001 - keep what is held; the next request after max_age_s tries again
                value = slot.value
            with slot.lock:
                slot.value, slot.fetched, slot.refreshing = value, time.monotonic(), False

        threading.Thread(target=work, name=f"background-{self.name}", daemon=True).start()
