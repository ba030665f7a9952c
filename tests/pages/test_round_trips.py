"""Round-trip budgets: what each interaction costs a warehouse that answers every call slowly.

Each test opens a new session on a fresh copy of the demo warehouse (nothing cached for it yet,
as for a new user with on-behalf-of-user identity), as admin@example.com (an admin by roles.toml,
so the role is looked up as on Databricks, and every page opens), and counts the round trips the
session waited for: every warehouse call, written by ``CountingWarehouse`` to a trace file, except
those made off the request path (the query log's writer, background refreshes).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services import naming
from services.warehouse.roundtrips import read_trace, request_path

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CATALOG = naming.fq("gold", "gold_feature_catalog")
PAGE_BUDGET = 6


class Session:
    def __init__(self, trace: Path):
        self.trace = trace
        self.mark = 0

    def calls(self):
        """The request-path calls since the last ``since_now``."""
        return request_path(read_trace(self.trace))[self.mark:]

    def since_now(self) -> None:
        self.mark = len(request_path(read_trace(self.trace)))


@pytest.fixture
def session(demo_warehouse_path, tmp_path, monkeypatch):
    """``open(page, query)`` -> a run AppTest of a new session that starts on ``page``, and its counter."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    trace = tmp_path / "trips.tsv"
    for name, value in {"SEGMENT_STUDIO_WAREHOUSE": str(path), "SEGMENT_STUDIO_ROUND_TRIP_TRACE": str(trace),
                        "SEGMENT_STUDIO_USER": "admin@example.com",
                        "SEGMENT_STUDIO_EXPORT_DIR": str(tmp_path / "exports")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SEGMENT_STUDIO_ROLE", raising=False)
    counter = Session(trace)

    def open_page(page: str | None, query: dict | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        if page:
            at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
        return at

    return open_page, counter


def audience(at) -> str:
    return next(m.value for m in at.metric if m.label == "Audience")


def test_a_new_sessions_first_count_and_each_value_picked_after(session):
    open_page, trips = session
    at = open_page("pages/builder.py")
    first = trips.calls()
    assert len(first) <= 6, [c.sql for c in first]
    # The catalog is one query, read once; nothing is written while the user waits.
    assert len([c for c in first if CATALOG in c.sql]) == 1
    assert not [c for c in first if c.method in ("append", "execute", "transaction")]
    next(b for b in at.button if b.label == "+ Trait").click().run()
    for value in ("Champions", "Loyal"):
        trips.since_now()
        before = audience(at)
        at.multiselect[0].select(value).run()
        assert audience(at) != before
        assert [c.method for c in trips.calls()] == ["df"]  # the estimate, and nothing else


def test_opening_a_shared_segment(session):
    open_page, trips = session
    open_page("pages/builder.py", {"segment": "sample-vip-champions-early-access"})
    assert len(trips.calls()) <= 6, [c.sql for c in trips.calls()]


@pytest.mark.parametrize("page", [
    pytest.param(None, id="home"),
    pytest.param("pages/library.py", id="library"),
    pytest.param("pages/exports.py", id="exports"),
    pytest.param("pages/clusters.py", id="clusters"),
    pytest.param("pages/lookalikes.py", id="lookalikes"),
    pytest.param("pages/data_quality.py", id="data_quality"),
    pytest.param("pages/cost.py", id="cost"),
])
def test_opening_a_page_in_a_new_session(session, page):
    open_page, trips = session
    open_page(page)
    calls = trips.calls()
    # Home, a marketer's start, shows four summaries beside the warehouse's status (the library, recent
    # exports, failing checks, open issues): read at once, they are four calls but one wait.
    assert len(calls) <= PAGE_BUDGET + (4 if page is None else 0), [c.sql for c in calls]
    assert not [c for c in calls if c.method in ("append", "execute", "transaction")]


def test_an_export_clicks_pre_flight(session):
    open_page, trips = session
    at = open_page("pages/exports.py", {"segment": "sample-vip-champions-early-access"})
    for destination in ("meta", "parquet"):
        trips.since_now()
        at.selectbox(key="exports_destination").select(destination).run()
        assert not at.exception, at.exception
        assert "Members" in {m.label for m in at.metric}
        calls = trips.calls()
        assert len(calls) <= 4, [c.sql for c in calls]


def test_the_query_log_is_written_in_the_background_in_batches(session):
    open_page, trips = session
    at = open_page("pages/builder.py")
    for _ in range(3):
        at.text_input(key="builder_description").input(f"rerun {time.monotonic()}").run()
    calls = read_trace(trips.trace)
    assert not [c for c in request_path(calls) if c.method == "append"]
    deadline = time.monotonic() + 20
    while not [c for c in read_trace(trips.trace) if c.method == "append"] and time.monotonic() < deadline:
        time.sleep(0.2)
    writes = [c for c in read_trace(trips.trace) if c.method == "append"]
    assert writes and {c.thread for c in writes} == {"background-query-log"}
    # One insert per batch of entries, never one per rerun.
    assert len(writes) < 4


def test_a_build_elsewhere_reaches_a_session_without_a_short_ttl(session, monkeypatch):
    import os

    from components import warehouse as component
    from services.quality.checks import CheckResult
    from services.segments.catalog_writer import write_catalog
    from services.warehouse.duckdb_engine import DuckDBWarehouse

    open_page, trips = session
    at = open_page("pages/builder.py", {"segment": "sample-vip-champions-early-access"})
    assert not [e for e in at.error if "r_score_in_range" in e.value]
    # Another process (the build job) writes a new catalog: its checks now fail on rfm_segment.
    failing = CheckResult("gold", "r_score_in_range", "range", "critical", False, 3.0, 0.0, "3 rows outside 1..5",
                          ("r_score", "rfm_segment"))
    elsewhere = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    write_catalog(elsewhere, checks=[failing], build_id="run-elsewhere")
    elsewhere.close()
    monkeypatch.setattr(component._catalogs, "max_age_s", 0.1)
    time.sleep(0.2)
    trips.since_now()
    at.run()  # served the kept catalog at once; its build id is checked in the background
    assert not [c for c in trips.calls() if CATALOG in c.sql]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not [e for e in at.error if "r_score_in_range" in e.value]:
        time.sleep(0.2)
        at.run()
    assert [e for e in at.error if "r_score_in_range" in e.value]
    background = [c for c in read_trace(trips.trace) if c.background and CATALOG in c.sql]
    assert background and {c.thread for c in background} == {"background-catalog"}
