"""Work off the request path: reads at once, values kept and refreshed in the background."""

from __future__ import annotations

import threading
import time

import pytest

from components.background import Kept, together
from services.errors import WarehouseError
from services.warehouse.querylog import LoggedWarehouse


def wait_for(condition, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.01)
    return condition()


def test_reads_run_at_once_and_come_back_in_order():
    t0 = time.perf_counter()
    assert together(lambda: time.sleep(0.2) or "a", lambda: time.sleep(0.2) or "b", lambda: "c") == ["a", "b", "c"]
    assert time.perf_counter() - t0 < 0.35


def test_the_first_error_in_order_is_raised_after_every_read_ended():
    ended = []

    def slow_ok():
        time.sleep(0.1)
        ended.append("slow")

    def fails(message):
        def read():
            raise WarehouseError(message)
        return read

    with pytest.raises(WarehouseError, match="first"):
        together(slow_ok, fails("first"), fails("second"))
    assert ended == ["slow"]


def test_each_read_keeps_the_callers_query_attribution(empty_warehouse):
    logged = LoggedWarehouse(empty_warehouse)
    with logged.context(user="ana", page="cost"):
        together(lambda: logged.scalar("select 1"), lambda: logged.scalar("select 2"))
    logged.flush()
    rows = empty_warehouse.df("select message from customer_segmentation_for_retail_personalization_ops."
                              "customer_segmentation_for_retail_personalization_fact_logs")
    assert len(rows) == 2 and rows["message"].str.contains("user=ana page=cost").all()


def test_a_kept_value_is_loaded_once_then_refreshed_in_the_background():
    kept: Kept[int] = Kept("test", max_age_s=0.2)
    loads, gate = [], threading.Event()

    def load():
        loads.append(1)
        return len(loads)

    def slow_refresh(held):
        gate.wait(2)
        return held + 10

    assert kept.get("k", load) == 1 and kept.get("k", load) == 1 and len(loads) == 1
    time.sleep(0.25)
    # Older than max_age: served at once as held, while one refresh runs in the background.
    t0 = time.perf_counter()
    assert kept.get("k", load, refresh=slow_refresh) == 1 and kept.get("k", load, refresh=slow_refresh) == 1
    assert time.perf_counter() - t0 < 0.1
    gate.set()
    assert wait_for(lambda: kept.get("k", load) == 11)
    assert len(loads) == 1
    kept.forget("k")
    assert kept.get("k", load) == 2


def test_a_failed_refresh_keeps_the_value_and_concurrent_first_loads_load_once():
    kept: Kept[str] = Kept("test", max_age_s=0.05)
    calls = []

    def load():
        calls.append(1)
        time.sleep(0.1)
        return "value"

    assert together(*[lambda: kept.get("k", load) for _ in range(4)]) == ["value"] * 4
    assert len(calls) == 1
    time.sleep(0.1)

    def broken(held):
        raise WarehouseError("the warehouse is down")

    assert kept.get("k", load, refresh=broken) == "value"
    time.sleep(0.1)
    assert kept.get("k", load, refresh=broken) == "value"
