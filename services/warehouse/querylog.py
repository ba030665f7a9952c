"""A warehouse that records every query it runs, for the Cost page.

``LoggedWarehouse`` wraps any ``Warehouse`` by composition: the same protocol
methods, each delegated to the inner engine and timed. Who ran it, from which
page and for which segment comes from a context the caller sets::

    logged = LoggedWarehouse(DuckDBWarehouse(path))
    with logged.context(user="ana@example.com", page="builder", segment_id="seg-42"):
        logged.df(query)

The context lives in a ``ContextVar``, so concurrent Streamlit sessions (one
thread each) never see each other's user or page. Entries collect in memory
and are written to ops ``fact_logs`` in batches (every ``batch_size`` entries
or on ``flush()``): one insert per batch instead of one per query keeps the
log from doubling the warehouse load it measures.

Nobody waits for the log, so the app writes it off the request path: with
``flush_every_s`` a daemon thread (``background-query-log``) writes a batch
when one is full and whatever is pending every ``flush_every_s`` seconds, and
once more, best effort, when the process exits. The buffer is bounded
(``max_pending``): while the log cannot be written, the oldest entries are
dropped (and counted in ``dropped``) rather than memory growing without end.

The same context tags every statement on Databricks (``query_tags``: app,
page and segment, never the user: tags are stored in plain text), and there
``system.query.history`` is the log, so the app writes none of its own
(``write_log=False``, set by components/warehouse.py): no row per rerun.

``fact_logs`` has no columns for page, segment or rows, and its DDL is not
ours to change, so those travel in the message as ``key=value`` pairs
(values percent-encoded); ``parse_message`` reads them back. Duration is in
the message with sub-millisecond precision and also, rounded up, in the
``duration_ms`` column for other readers of the ops log.
"""

from __future__ import annotations

import atexit
import contextvars
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from services import naming
from services.warehouse import Query, Step, Warehouse

LOG_TABLE = naming.fq("ops", "fact_logs")
#: the app's row in ops ``dim_service``
APP_SERVICE_ID = "segment-studio"
#: first word of every message this module writes; readers select on it
MESSAGE_PREFIX = "app_query"
DEFAULT_BATCH_SIZE = 50
#: entries kept in memory at most while the log cannot be written
DEFAULT_MAX_PENDING = 10_000


@dataclass(frozen=True)
class QueryContext:
    """Who is asking and from where; empty strings when the caller did not say."""

    user: str = ""
    page: str = ""
    segment_id: str = ""


def query_tags(context: QueryContext) -> dict[str, str]:
    """The query tags of a statement run in ``context``: the app, the page and the segment.

    Never the user: tags are stored in plain text and may be replicated across regions
    ("no PII in tags", https://docs.databricks.com/aws/en/sql/user/queries/query-tags).
    """
    tags = {"app": APP_SERVICE_ID, "page": context.page, "segment_id": context.segment_id}
    return {key: value for key, value in tags.items() if value}


@dataclass(frozen=True)
class LogEntry:
    """One query the wrapped warehouse ran."""

    log_id: str
    kind: str
    context: QueryContext
    started: datetime
    duration_ms: float
    rows: int
    ok: bool

    def message(self) -> str:
        fields = {"kind": self.kind, "user": self.context.user, "page": self.context.page,
                  "segment": self.context.segment_id, "rows": str(self.rows),
                  "duration_ms": f"{self.duration_ms:.3f}", "status": "ok" if self.ok else "failed"}
        return " ".join([MESSAGE_PREFIX, *(f"{k}={quote(v, safe='@.-_')}" for k, v in fields.items())])


def parse_message(message: str) -> dict[str, str] | None:
    """The key=value fields of a message written here, or None for any other message."""
    if not message or not message.startswith(MESSAGE_PREFIX + " "):
        return None
    fields = {}
    for pair in message[len(MESSAGE_PREFIX) + 1:].split(" "):
        key, sep, value = pair.partition("=")
        if sep:
            fields[key] = unquote(value)
    return fields


_context: contextvars.ContextVar[QueryContext] = contextvars.ContextVar("segment_studio_query_context",
                                                                       default=QueryContext())  # noqa: B039 (frozen)


class LoggedWarehouse:
    """A ``Warehouse`` that delegates to ``inner`` and logs each call to ops ``fact_logs``."""

    def __init__(self, inner: Warehouse, *, batch_size: int = DEFAULT_BATCH_SIZE,
                 instance_id: str = "segment-studio-app", service_id: str = APP_SERVICE_ID,
                 region_id: str | None = None,
                 fallback_context: Callable[[], QueryContext | None] | None = None,
                 flush_every_s: float | None = None, max_pending: int = DEFAULT_MAX_PENDING,
                 write_log: bool = True):
        """``write_log=False``: keep the context (for ``query_tags``) but write no log rows, where the
        platform keeps the history itself (Databricks: ``system.query.history``)."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if flush_every_s is not None and flush_every_s <= 0:
            raise ValueError("flush_every_s must be a positive number of seconds")
        if max_pending < batch_size:
            raise ValueError("max_pending must hold at least one batch")
        self.inner = inner
        self.dialect = inner.dialect
        self.engine = inner.engine
        self.batch_size = batch_size
        self.instance_id = instance_id
        self.service_id = service_id
        self.region_id = region_id
        self.fallback_context = fallback_context
        self.flush_every_s = flush_every_s
        self.max_pending = max_pending
        self.write_log = write_log
        #: entries dropped because the buffer was full while the log could not be written
        self.dropped = 0
        self._buffer: list[LogEntry] = []
        self._lock = threading.Lock()
        # Flushes run one at a time so batches land in the order they filled.
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._flusher: threading.Thread | None = None

    # -- context ------------------------------------------------------------
    @contextmanager
    def context(self, *, user: str = "", page: str = "", segment_id: str | None = "") -> Iterator[QueryContext]:
        """Attribute the queries run inside the block to this user, page and segment."""
        token = _context.set(QueryContext(user=user or "", page=page or "", segment_id=segment_id or ""))
        try:
            yield _context.get()
        finally:
            _context.reset(token)

    @staticmethod
    def current_context() -> QueryContext:
        return _context.get()

    # -- recording ----------------------------------------------------------
    def _timed(self, kind: str, call: Callable[[], Any], rows_of: Callable[[Any], int]) -> Any:
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        ok, result = False, None
        try:
            result = call()
            ok = True
            return result
        finally:
            elapsed_ms = (time.perf_counter() - t0) * 1000.0
            self._record(LogEntry(log_id=f"qlog-{uuid.uuid4().hex}", kind=kind, context=self._current(),
                                  started=started, duration_ms=elapsed_ms,
                                  rows=rows_of(result) if ok else 0, ok=ok))

    def query_tags(self) -> dict[str, str]:
        """The tags of a statement run now (the engine asks: see ``DatabricksWarehouse.query_tags``)."""
        return query_tags(self._current())

    def _current(self) -> QueryContext:
        context = _context.get()
        if not (context.user or context.page) and self.fallback_context is not None:
            # Work done on a thread the caller's context did not reach (a cache
            # computation, say) asks the caller's own notion of who is running it.
            context = self.fallback_context() or context
        return context

    def _record(self, entry: LogEntry) -> None:
        if not self.write_log:
            return
        with self._lock:
            self._buffer.append(entry)
            if len(self._buffer) > self.max_pending:
                del self._buffer[0]
                self.dropped += 1
            full = len(self._buffer) >= self.batch_size
        if self.flush_every_s is not None:
            self._start_flusher()
            if full:
                self._wake.set()
        elif full:
            self.flush()

    # -- the background writer ------------------------------------------------
    def _start_flusher(self) -> None:
        if self._flusher is not None:
            return
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_forever, name="background-query-log", daemon=True)
        self._flusher.start()
        atexit.register(self._flush_at_exit)

    def _flush_forever(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_every_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - a batch that cannot be written waits for the next try; the writer lives on
                continue

    def close(self) -> None:
        """Write what is buffered, stop the background writer, and close the engine."""
        self._closed = True
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join(timeout=10)
        atexit.unregister(self._flush_at_exit)
        self._flush_at_exit()
        self.inner.close()

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - best effort: the process is ending and nobody is left to tell
            pass

    @property
    def pending(self) -> int:
        """Entries recorded but not yet written."""
        with self._lock:
            return len(self._buffer)

    def flush(self) -> int:
        """Write every buffered entry to ``fact_logs``; return how many were written.

        The insert goes to the inner warehouse directly, so writing the log is
        not itself logged. If it fails the entries go back to the buffer and
        the error propagates.
        """
        with self._flush_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            try:
                return self.inner.append(LOG_TABLE, self._frame(batch))
            except BaseException:
                with self._lock:
                    self._buffer[:0] = batch
                    excess = len(self._buffer) - self.max_pending
                    if excess > 0:  # the oldest go first: the log keeps what happened last
                        del self._buffer[:excess]
                        self.dropped += excess
                raise

    def _frame(self, batch: list[LogEntry]) -> pd.DataFrame:
        return pd.DataFrame({
            "log_id": [e.log_id for e in batch],
            "service_id": self.service_id,
            "instance_id": self.instance_id,
            "log_level": ["INFO" if e.ok else "ERROR" for e in batch],
            "message_ts": pd.to_datetime([e.started for e in batch], utc=True),
            "message": [e.message() for e in batch],
            "error_code": pd.Series([None] * len(batch), dtype="object"),
            "trace_id": [e.log_id.removeprefix("qlog-")[:16] for e in batch],
            # Whole milliseconds, rounded up: a query that ran took time, even when it took less than 1 ms.
            "duration_ms": [max(1, math.ceil(e.duration_ms)) for e in batch],
            "region_id": pd.Series([self.region_id] * len(batch), dtype="object"),
        })

    # -- Warehouse protocol ---------------------------------------------------
    def arrow(self, query: Query, params: Mapping[str, Any] | None = None) -> pa.Table:
        return self._timed("query", lambda: self.inner.arrow(query, params), lambda t: t.num_rows)

    def df(self, query: Query, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._timed("query", lambda: self.inner.df(query, params), len)

    def scalar(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        # scalar() reads one row at most; None means the query returned none.
        return self._timed("query", lambda: self.inner.scalar(query, params), lambda v: 0 if v is None else 1)

    def execute(self, query: Query, params: Mapping[str, Any] | None = None) -> None:
        return self._timed("statement", lambda: self.inner.execute(query, params), lambda _: 0)

    def transaction(self, statements: list[Step]) -> None:
        return self._timed("transaction", lambda: self.inner.transaction(statements), lambda _: 0)

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> int:
        return self._timed("append", lambda: self.inner.append(table, data), int)

    def schemas(self) -> list[str]:
        return self._timed("metadata", self.inner.schemas, len)

    def tables(self, schema: str) -> list[str]:
        return self._timed("metadata", lambda: self.inner.tables(schema), len)

    def tables_of(self, schemas: Sequence[str]) -> dict[str, list[str]]:
        return self._timed("metadata", lambda: self.inner.tables_of(schemas), len)

    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        return self._timed("metadata", lambda: self.inner.columns(schema, table), len)

    def __getattr__(self, name: str) -> Any:
        # Engine extras outside the protocol (render, close, path) pass straight through.
        return getattr(self.inner, name)


def read_entries(warehouse: Warehouse, *, service_id: str = APP_SERVICE_ID) -> pd.DataFrame:
    """Every logged query as a row: ts, user, page, segment_id, kind, rows, duration_ms, ok.

    Other messages of the same service (the platform's own logs) are skipped.
    """
    query = (
        exp.select("message_ts", "message", "duration_ms")
        .from_(exp.to_table(LOG_TABLE))
        .where(exp.and_(exp.column("service_id").eq(exp.convert(service_id)),
                        exp.column("message").like(exp.convert(MESSAGE_PREFIX + " %"))))
    )
    raw = warehouse.df(query)
    columns = ["ts", "user", "page", "segment_id", "kind", "rows", "duration_ms", "ok"]
    rows = []
    for ts, message, column_ms in raw.itertuples(index=False):
        fields = parse_message(message)
        if fields is None:
            continue
        try:
            duration = float(fields.get("duration_ms", column_ms))
        except ValueError:
            duration = float(column_ms or 0)
        rows.append((ts, fields.get("user", ""), fields.get("page", ""), fields.get("segment", ""),
                     fields.get("kind", "query"), int(fields.get("rows", "0") or 0), duration,
                     fields.get("status", "ok") == "ok"))
    return pd.DataFrame(rows, columns=columns)
