"""A warehouse that counts its round trips, and can make each one as slow as a remote one.

A Databricks SQL warehouse answers even a tiny query in a few hundred milliseconds, so what
a user waits for is mostly how many round trips an interaction makes, one after another.
``CountingWarehouse`` wraps any ``Warehouse`` by composition (like ``LoggedWarehouse``): each
protocol call is delegated to the engine and recorded as one ``Call`` (a transaction counts
one round trip per statement, as the Databricks engine sends them one by one). Tests read
``calls`` to hold each interaction to its budget::

    counted = CountingWarehouse(DuckDBWarehouse(path))
    mark = counted.total
    ...                                   # the interaction
    assert len(request_path(counted.calls_since(mark))) <= 6

Two options are for tests and the benchmark only (``bench/remote.py``), set through the
settings ``SEGMENT_STUDIO_LATENCY_MS`` and ``SEGMENT_STUDIO_ROUND_TRIP_TRACE``:

* ``latency_s``: every round trip first sleeps this long, so the embedded engine answers
  like a remote warehouse (calls on different threads sleep at the same time, as parallel
  statements on a warehouse do);
* ``trace``: every call is appended to this file as one tab-separated line (epoch seconds
  when it started, thread name, method, milliseconds, the query's first line), so a process
  driving a served app can count what each of its interactions cost.

Work nobody waits for runs on threads named ``background-...`` (the query log's flusher,
refreshes of cached values) or ``export-...`` (export jobs): ``request_path`` leaves their
calls out.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from services.warehouse import Query, Rows, Step, Warehouse, first_line

#: thread-name prefixes of work that is off the request path
BACKGROUND_THREADS = ("background-", "export-")
#: calls kept in memory (the trace file keeps every one)
KEEP = 10_000


@dataclass(frozen=True)
class Call:
    """One round trip: when it started (epoch seconds), on which thread, which method, how long, what."""

    started: float
    thread: str
    method: str
    seconds: float
    sql: str

    @property
    def background(self) -> bool:
        return self.thread.startswith(BACKGROUND_THREADS)

    def line(self) -> str:
        text = self.sql.replace("\t", " ").replace("\n", " ")
        return f"{self.started:.6f}\t{self.thread}\t{self.method}\t{self.seconds * 1000:.1f}\t{text}\n"

    @classmethod
    def parse(cls, line: str) -> Call:
        started, thread, method, ms, sql = line.rstrip("\n").split("\t", 4)
        return cls(float(started), thread, method, float(ms) / 1000, sql)


def request_path(calls: Iterable[Call]) -> list[Call]:
    """The calls someone waited for: those not made on a background thread."""
    return [c for c in calls if not c.background]


def read_trace(path: Path) -> list[Call]:
    """Every call a ``trace`` file holds, in the order they were written."""
    if not Path(path).is_file():
        return []
    return [Call.parse(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _text(query: Query) -> str:
    return first_line(query.sql() if isinstance(query, exp.Expression) else query)


class CountingWarehouse:
    """A ``Warehouse`` that delegates to ``inner`` and records every call as a round trip."""

    def __init__(self, inner: Warehouse, *, latency_s: float = 0.0, trace: Path | None = None):
        if latency_s < 0:
            raise ValueError("latency_s cannot be negative")
        self.inner = inner
        self.dialect = inner.dialect
        self.engine = inner.engine
        self.latency_s = latency_s
        self.trace = Path(trace) if trace else None
        self.total = 0
        self._calls: deque[Call] = deque(maxlen=KEEP)
        self._lock = threading.Lock()

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_since(self, mark: int) -> list[Call]:
        """The calls recorded after ``total`` was ``mark`` (as far as memory keeps them)."""
        with self._lock:
            recent = self.total - mark
            return list(self._calls)[-recent:] if recent > 0 else []

    def _call(self, method: str, sql: str, run: Callable[[], Any], *, trips: int = 1) -> Any:
        started, t0 = time.time(), time.perf_counter()
        if self.latency_s:
            time.sleep(self.latency_s * trips)
        try:
            return run()
        finally:
            call = Call(started, threading.current_thread().name, method, time.perf_counter() - t0, sql)
            with self._lock:
                for _ in range(trips):
                    self._calls.append(call)
                self.total += trips
                if self.trace is not None:
                    with self.trace.open("a", encoding="utf-8") as out:
                        out.write(call.line() * trips)

    # -- Warehouse protocol ---------------------------------------------------
    def arrow(self, query: Query, params: Mapping[str, Any] | None = None) -> pa.Table:
        return self._call("arrow", _text(query), lambda: self.inner.arrow(query, params))

    def df(self, query: Query, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._call("df", _text(query), lambda: self.inner.df(query, params))

    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        return self._call("scalar", _text(query), lambda: self.inner.scalar(query, params))

    def execute(self, query: Query, params: Mapping[str, Any] | None = None) -> None:
        return self._call("execute", _text(query), lambda: self.inner.execute(query, params))

    def transaction(self, statements: list[Step]) -> None:
        head = statements[0] if statements else None
        first = (f"append {len(head.data)} rows to {head.table}" if isinstance(head, Rows)
                 else _text(head[0]) if head else "")
        return self._call("transaction", first, lambda: self.inner.transaction(statements),
                          trips=max(1, len(statements)))

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        return self._call("append", f"append {len(data)} rows to {table}", lambda: self.inner.append(table, data))

    def schemas(self) -> list[str]:
        return self._call("schemas", "schemas", self.inner.schemas)

    def tables(self, schema: str) -> list[str]:
        return self._call("tables", f"tables of {schema}", lambda: self.inner.tables(schema))

    def tables_of(self, schemas: Sequence[str]) -> dict[str, list[str]]:
        return self._call("tables_of", f"tables of {len(schemas)} schemas", lambda: self.inner.tables_of(schemas))

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        return self._call("columns", f"columns of {schema}.{table}", lambda: self.inner.columns(schema, table))

    def __getattr__(self, name: str) -> Any:
        # Engine extras outside the protocol (render, close, path) pass straight through.
        return getattr(self.inner, name)
