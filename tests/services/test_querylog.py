"""LoggedWarehouse on a real in-memory DuckDB: delegation, batching, the log rows, pricing."""

from __future__ import annotations

import threading
import time

import pytest

from services import cost, naming
from services.errors import WarehouseError
from services.warehouse import querylog
from services.warehouse.querylog import LoggedWarehouse
from services.warehouse.roundtrips import CountingWarehouse

LOGS = naming.fq("ops", "fact_logs")


def logged_rows(warehouse):
    return querylog.read_entries(warehouse)


def test_queries_are_delegated_with_their_results(empty_warehouse):
    logged = LoggedWarehouse(empty_warehouse)
    assert logged.dialect == "duckdb" and logged.engine == empty_warehouse.engine
    assert logged.scalar("select $x + 1", {"x": 41}) == 42
    assert logged.df("select * from range(5)").shape == (5, 1)
    assert logged.arrow("select * from range(3)").num_rows == 3
    logged.execute("create table t (a int)")
    logged.transaction([("insert into t values ($a)", {"a": 1}), ("insert into t values (2)", None)])
    assert empty_warehouse.scalar("select sum(a) from t") == 3
    assert "t" in logged.tables("main")
    assert logged.columns("main", "t") == [("a", "INTEGER")]
    # Engine extras outside the protocol pass through.
    assert logged.render("select 1") == "select 1"
    # scalar, df, arrow, execute, transaction, tables, columns: the direct scalar on the inner engine is not logged.
    assert logged.pending == 7


def test_entries_land_in_fact_logs_after_flush(empty_warehouse):
    logged = LoggedWarehouse(empty_warehouse)
    with logged.context(user="ana@example.com", page="builder", segment_id="seg-42"):
        logged.df("select * from range(7)")
        logged.scalar("select 1")
    with logged.context(user="bo@example.com", page="cost"):
        logged.arrow("select * from range(3)")
    assert empty_warehouse.scalar(f"select count(*) from {LOGS}") == 0
    assert logged.flush() == 3
    assert logged.pending == 0
    rows = logged_rows(empty_warehouse).sort_values("ts", ignore_index=True)
    assert list(rows["user"]) == ["ana@example.com", "ana@example.com", "bo@example.com"]
    assert list(rows["page"]) == ["builder", "builder", "cost"]
    assert list(rows["segment_id"]) == ["seg-42", "seg-42", ""]
    assert list(rows["rows"]) == [7, 1, 3]
    assert (rows["duration_ms"] > 0).all()
    raw = empty_warehouse.df(f"select * from {LOGS}")
    assert set(raw["service_id"]) == {"segment-studio"}
    assert set(raw["log_level"]) == {"INFO"}
    assert (raw["duration_ms"] >= 1).all()
    assert raw["message"].str.startswith("app_query ").all()
    assert raw["instance_id"].notna().all() and raw["message_ts"].notna().all()


def test_outside_a_context_fields_are_empty_and_context_is_restored(empty_warehouse):
    logged = LoggedWarehouse(empty_warehouse)
    with logged.context(user="u", page="outer"):
        with logged.context(user="u", page="inner", segment_id="s1"):
            assert logged.current_context().page == "inner"
        assert logged.current_context() == querylog.QueryContext(user="u", page="outer")
    logged.scalar("select 1")
    logged.flush()
    row = logged_rows(empty_warehouse).iloc[0]
    assert (row["user"], row["page"], row["segment_id"]) == ("", "", "")


def test_batches_flush_by_themselves(empty_warehouse):
    logged = LoggedWarehouse(empty_warehouse, batch_size=5)
    for _ in range(12):
        logged.scalar("select 1")
    assert empty_warehouse.scalar(f"select count(*) from {LOGS}") == 10
    assert logged.pending == 2
    logged.flush()
    assert empty_warehouse.scalar(f"select count(*) from {LOGS}") == 12


def test_a_failed_query_is_logged_as_an_error_and_still_raises(empty_warehouse):
    from services.errors import WarehouseError

    logged = LoggedWarehouse(empty_warehouse)
    with logged.context(user="ana", page="builder"), pytest.raises(WarehouseError):
        logged.df("select * from no_such_table")
    logged.flush()
    assert empty_warehouse.scalar(f"select log_level from {LOGS}") == "ERROR"
    assert not logged_rows(empty_warehouse).iloc[0]["ok"]


def test_messages_with_spaces_and_equals_signs_round_trip():
    entry = querylog.LogEntry(log_id="qlog-1", kind="query", ok=True, rows=4, duration_ms=12.5,
                              context=querylog.QueryContext(user="Ana María", page="a=b c", segment_id="seg 1"),
                              started=None)
    fields = querylog.parse_message(entry.message())
    assert (fields["user"], fields["page"], fields["segment"]) == ("Ana María", "a=b c", "seg 1")
    assert fields["rows"] == "4" and float(fields["duration_ms"]) == 12.5
    assert querylog.parse_message("batch committed") is None


def test_app_query_costs_sums_duration_times_price(empty_warehouse):
    logged = LoggedWarehouse(empty_warehouse)
    with logged.context(user="ana", page="builder", segment_id="seg-1"):
        for _ in range(3):
            logged.df("select * from range(1000)")
    with logged.context(user="ana", page="cost"):
        logged.scalar("select 1")
    logged.flush()
    entries = logged_rows(empty_warehouse)
    costs = cost.app_query_costs(empty_warehouse, price_per_warehouse_hour=7.2)
    total_s = entries["duration_ms"].sum() / 1000
    assert costs.queries == 4
    assert costs.duration_s == pytest.approx(total_s)
    assert costs.cost_usd == pytest.approx(total_s / 3600 * 7.2)
    by_page = costs.by_page.set_index("page")
    builder_s = entries.loc[entries["page"] == "builder", "duration_ms"].sum() / 1000
    assert by_page.at["builder", "queries"] == 3
    assert by_page.at["builder", "rows"] == 3000
    assert by_page.at["builder", "cost_usd"] == pytest.approx(builder_s / 3600 * 7.2)
    assert list(costs.by_segment["segment_id"]) == ["seg-1"]
    assert costs.by_segment.iloc[0]["cost_usd"] == pytest.approx(builder_s / 3600 * 7.2)
    assert cost.app_query_costs(empty_warehouse, price_per_warehouse_hour=0).cost_usd == 0


def test_platform_messages_of_the_same_service_are_not_counted(empty_warehouse):
    empty_warehouse.execute(
        f"insert into {LOGS} (log_id, service_id, instance_id, log_level, message_ts, message, duration_ms) "
        "values ('log-1', 'segment-studio', 'i', 'INFO', now(), 'cache refreshed', 500)")
    assert cost.app_query_costs(empty_warehouse, price_per_warehouse_hour=5).queries == 0


def test_threads_keep_their_own_context_and_lose_no_entries(empty_warehouse):
    logged = LoggedWarehouse(empty_warehouse, batch_size=7)
    errors = []

    def work(n: int) -> None:
        try:
            with logged.context(user=f"user{n}", page=f"page{n}", segment_id=f"seg{n}"):
                for _ in range(10):
                    logged.df(f"select * from range({n + 1})")
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    logged.flush()
    assert errors == []
    rows = logged_rows(empty_warehouse)
    assert len(rows) == 40
    assert empty_warehouse.scalar(f"select count(distinct log_id) from {LOGS}") == 40
    for n in range(4):
        mine = rows[rows["user"] == f"user{n}"]
        assert len(mine) == 10
        assert set(mine["page"]) == {f"page{n}"} and set(mine["segment_id"]) == {f"seg{n}"}
        assert set(mine["rows"]) == {n + 1}


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_background_writer_writes_full_batches_and_the_rest_on_its_interval(empty_warehouse):
    counted = CountingWarehouse(empty_warehouse)
    logged = LoggedWarehouse(counted, batch_size=5, flush_every_s=0.3)
    for _ in range(5):
        logged.scalar("select 1")
    assert wait_for(lambda: empty_warehouse.scalar(f"select count(*) from {LOGS}") == 5, 0.25)  # full: at once
    logged.scalar("select 2")
    logged.scalar("select 3")
    assert wait_for(lambda: empty_warehouse.scalar(f"select count(*) from {LOGS}") == 7)  # the rest: on the interval
    # Nothing was written on the thread that ran the queries: the log is off the request path.
    appends = [c for c in counted.calls if c.method == "append"]
    assert len(appends) == 2 and {c.thread for c in appends} == {"background-query-log"}
    assert all(c.thread != "background-query-log" for c in counted.calls if c.method == "scalar")


def test_while_the_log_cannot_be_written_the_buffer_keeps_only_the_newest(empty_warehouse):
    empty_warehouse.execute(f"drop table {LOGS}")
    logged = LoggedWarehouse(empty_warehouse, batch_size=5, flush_every_s=60, max_pending=10)
    for _ in range(25):
        logged.scalar("select 1")
    time.sleep(0.3)  # the writer's last try (woken by the last full batch) fails too
    with pytest.raises(WarehouseError):
        logged.flush()
    assert (logged.pending, logged.dropped) == (10, 15)
