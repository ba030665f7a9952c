"""CountingWarehouse on a real in-memory DuckDB: every call counted, slowed and traced on request."""

from __future__ import annotations

import threading
import time

import pytest

from services.errors import WarehouseError
from services.warehouse.roundtrips import Call, CountingWarehouse, read_trace, request_path


def test_every_protocol_call_is_one_round_trip_with_its_answer(empty_warehouse):
    counted = CountingWarehouse(empty_warehouse)
    assert (counted.dialect, counted.engine) == ("duckdb", "DuckDB")
    assert counted.scalar("select $x + 1", {"x": 41}) == 42
    assert counted.df("select * from range(5)").shape == (5, 1)
    assert counted.arrow("select * from range(3)").num_rows == 3
    counted.execute("create table t (a int)")
    assert counted.tables("main") == ["t"] and counted.columns("main", "t") == [("a", "INTEGER")]
    assert "main" in counted.schemas()
    assert [c.method for c in counted.calls] == ["scalar", "df", "arrow", "execute", "tables", "columns", "schemas"]
    assert counted.total == 7
    assert counted.calls[0].sql == "select $x + 1"
    # Engine extras outside the protocol pass through, uncounted.
    assert counted.render("select 1") == "select 1" and counted.total == 7


def test_a_transaction_is_a_round_trip_per_statement_and_a_failure_still_counts(empty_warehouse):
    counted = CountingWarehouse(empty_warehouse)
    counted.execute("create table t (a int)")
    mark = counted.total
    counted.transaction([("insert into t values (1)", None), ("insert into t values (2)", None)])
    with pytest.raises(WarehouseError):
        counted.df("select * from no_such_table")
    assert [c.method for c in counted.calls_since(mark)] == ["transaction", "transaction", "df"]
    assert empty_warehouse.scalar("select sum(a) from t") == 3


def test_latency_is_paid_per_round_trip_and_in_parallel_on_threads(empty_warehouse):
    counted = CountingWarehouse(empty_warehouse, latency_s=0.1)
    t0 = time.perf_counter()
    counted.scalar("select 1")
    counted.scalar("select 2")
    assert time.perf_counter() - t0 >= 0.2
    threads = [threading.Thread(target=counted.scalar, args=("select 3",)) for _ in range(4)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Four calls at once wait their 100 ms side by side, as parallel statements on a warehouse do.
    assert time.perf_counter() - t0 < 0.35
    assert counted.total == 6


def test_the_trace_has_a_line_per_call_and_background_threads_are_told_apart(empty_warehouse, tmp_path):
    trace = tmp_path / "trips.tsv"
    counted = CountingWarehouse(empty_warehouse, trace=trace)
    counted.scalar("select 1\nfrom range(1)")
    worker = threading.Thread(target=counted.scalar, args=("select 2",), name="background-query-log")
    worker.start()
    worker.join()
    calls = read_trace(trace)
    assert [(c.method, c.sql) for c in calls] == [("scalar", "select 1"), ("scalar", "select 2")]
    assert [c.sql for c in request_path(calls)] == ["select 1"]
    assert calls == [Call.parse(c.line()) for c in calls]
    assert read_trace(tmp_path / "none.tsv") == []
