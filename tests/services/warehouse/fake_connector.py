"""A DB-API-shaped stand-in for databricks-sql-connector that records what it is sent.

``FakeConnector`` is what the engine calls instead of ``databricks.sql.connect``:
every connection it opens keeps the keyword arguments it was opened with and
every (operation, parameters) pair its cursors executed. Results are queued
Arrow tables; errors are queued connector exceptions.
"""

from __future__ import annotations

import pyarrow as pa


class FakeCursor:
    def __init__(self, connection: FakeConnection):
        self.connection = connection
        self.description = None
        self.closed = False
        self._result: pa.Table | None = None

    def execute(self, operation, parameters=None):
        self.connection.sent.append((operation, parameters))
        if self.connection.errors:
            raise self.connection.errors.pop(0)
        self._result = self.connection.results.pop(0) if self.connection.results else pa.table({"n": [1]})
        self.description = [(name, None, None, None, None, None, None) for name in self._result.column_names]
        return self

    def fetchall_arrow(self):
        return self._result

    def close(self):
        self.closed = True


class FakeConnection:
    def __init__(self, connector: FakeConnector, kwargs: dict):
        self.connector = connector
        self.kwargs = kwargs
        self.sent: list[tuple[str, dict | None]] = []
        self.closed = False

    @property
    def results(self):
        return self.connector.results

    @property
    def errors(self):
        return self.connector.errors

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


class FakeConnector:
    def __init__(self):
        self.connections: list[FakeConnection] = []
        self.results: list[pa.Table] = []
        self.errors: list[Exception] = []
        self.connect_errors: list[Exception] = []

    def __call__(self, **kwargs):
        if self.connect_errors:
            raise self.connect_errors.pop(0)
        con = FakeConnection(self, kwargs)
        self.connections.append(con)
        return con

    @property
    def sent(self) -> list[tuple[str, dict | None]]:
        return [s for con in self.connections for s in con.sent]
