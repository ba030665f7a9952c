"""The audit view: known events recorded at known times, read back through every filter."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from services import audit_log
from services.audit_view import action_counts, audit_events, audit_facets

DAY = dt.datetime(2025, 3, 10, 9, 0)

# (offset from DAY, actor, role, action, object_type, object_id, version, rows, details)
EVENTS = [
    (dt.timedelta(0), "ann@retailer.example", "marketer", "segment.save", "segment", "vip", 1, 120, {"note": "first"}),
    (dt.timedelta(hours=2), "ann@retailer.example", "marketer", "segment.save", "segment", "vip", 2, 130,
     {"note": "it's 100%_done"}),
    (dt.timedelta(days=1), "bob@retailer.example", "manager", "segment.archive", "segment", "vip", None, None, None),
    (dt.timedelta(days=2), "bob@retailer.example", "manager", "export.run", "export", "exp-1", None, 130,
     {"destination": "csv"}),
    (dt.timedelta(days=3, hours=14, minutes=59), "cy@retailer.example", "admin", "segment.save", "segment", "lapsed",
     1, 40, None),
]


@pytest.fixture
def audited(empty_warehouse, monkeypatch):
    """The in-memory warehouse with EVENTS recorded at their fixed times."""
    for offset, actor, role, action, object_type, object_id, version, rows, details in EVENTS:
        monkeypatch.setattr(audit_log, "now", lambda at=DAY + offset: at)
        audit_log.record(empty_warehouse, actor=actor, role=role, action=action, object_type=object_type,
                         object_id=object_id, object_version=version, row_count=rows, details=details,
                         checksum=f"sha-{object_id}-{version}")
    return empty_warehouse


def keys(frame) -> list[tuple[str, object]]:
    return [(r.object_id, None if pd.isna(r.object_version) else int(r.object_version)) for r in frame.itertuples()]


def test_everything_newest_first(audited):
    frame = audit_events(audited)
    assert len(frame) == 5
    assert frame["event_ts"].is_monotonic_decreasing
    assert frame["actor"].iloc[0] == "cy@retailer.example"
    assert list(frame.columns[:4]) == ["event_ts", "actor", "role", "action"]


@pytest.mark.parametrize("filters, expected", [
    pytest.param({"actors": ["ann@retailer.example"]}, 2, id="one-actor"),
    pytest.param({"actors": ("ann@retailer.example", "cy@retailer.example")}, 3, id="two-actors"),
    pytest.param({"actors": []}, 5, id="no-actor-chosen-means-everyone"),
    pytest.param({"actions": ["segment.save"]}, 3, id="action"),
    pytest.param({"actions": ["segment.save"], "actors": ["bob@retailer.example"]}, 0, id="actor-and-action"),
    pytest.param({"object_type": "export"}, 1, id="object-type"),
    pytest.param({"since": dt.date(2025, 3, 11)}, 3, id="since-a-date"),
    pytest.param({"until": dt.date(2025, 3, 10)}, 2, id="until-a-date-covers-that-day"),
    pytest.param({"since": dt.date(2025, 3, 11), "until": dt.date(2025, 3, 12)}, 2, id="date-range"),
    pytest.param({"until": dt.date(2025, 3, 13)}, 5, id="until-includes-a-minute-before-midnight"),
    pytest.param({"since": DAY + dt.timedelta(hours=2)}, 4, id="since-an-instant-inclusive"),
    pytest.param({"until": DAY + dt.timedelta(hours=2)}, 2, id="until-an-instant-inclusive"),
    pytest.param({"since": dt.datetime(2025, 3, 10, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))}, 4,
                 id="aware-instant-in-utc"),
    pytest.param({"search": "LAPSED"}, 1, id="search-case-insensitive-object"),
    pytest.param({"search": "destination"}, 1, id="search-details"),
    pytest.param({"search": "manager"}, 2, id="search-role"),
    pytest.param({"search": "it's 100%"}, 1, id="search-quote-and-percent"),
    pytest.param({"search": "%"}, 1, id="percent-is-not-a-wildcard"),
    pytest.param({"search": "_"}, 1, id="underscore-is-not-a-wildcard"),
    pytest.param({"search": "x' OR '1'='1"}, 0, id="injection-attempt-is-text"),
    pytest.param({"search": "'); DROP TABLE t; --"}, 0, id="statement-attempt-is-text"),
    pytest.param({"actors": ["ann' OR 1=1 --"]}, 0, id="hostile-actor"),
    pytest.param({"search": "   "}, 5, id="blank-search-is-no-filter"),
])
def test_filters(audited, filters, expected):
    assert len(audit_events(audited, **filters)) == expected


def test_search_finds_the_exact_event(audited):
    frame = audit_events(audited, search="it's 100%_done")
    assert keys(frame) == [("vip", 2)]
    assert frame["row_count"].tolist() == [130]
    assert frame["checksum"].tolist() == ["sha-vip-2"]


def test_limit_keeps_the_newest(audited):
    frame = audit_events(audited, limit=2)
    assert keys(frame) == [("lapsed", 1), ("exp-1", None)]


def test_counts_per_action_ignore_the_limit_and_follow_the_filters(audited):
    counts = action_counts(audited)
    assert counts[["action", "events"]].values.tolist() == [
        ["segment.save", 3], ["export.run", 1], ["segment.archive", 1]]
    rows = counts.set_index("action")["rows"]
    assert (rows["segment.save"], rows["export.run"]) == (290, 130)
    assert rows.isna()["segment.archive"], "an event without rows adds nothing, not zero"
    ann = action_counts(audited, actors=["ann@retailer.example"])
    assert ann[["action", "events"]].values.tolist() == [["segment.save", 2]]
    assert int(ann["rows"].iloc[0]) == 250


def test_facets_list_the_distinct_values_and_the_span(audited):
    facets = audit_facets(audited)
    assert facets.actors == ("ann@retailer.example", "bob@retailer.example", "cy@retailer.example")
    assert facets.actions == ("export.run", "segment.archive", "segment.save")
    assert facets.object_types == ("export", "segment")
    assert facets.first == DAY
    assert facets.last == dt.datetime(2025, 3, 13, 23, 59)


def test_an_empty_log(empty_warehouse):
    assert audit_events(empty_warehouse).empty
    assert action_counts(empty_warehouse).empty
    facets = audit_facets(empty_warehouse)
    assert facets.actors == () and facets.first is None
