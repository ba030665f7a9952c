"""AppTest of the Audit log page, run on its own (app.py registers it; here the page
initialises settings and identity itself) against a private copy of the demo warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services.segments.campaigns import SAMPLE_AUTHOR
from services.segments.library import SegmentLibrary

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "audit.py")


@pytest.fixture
def audit_page(demo_warehouse_path, tmp_path, monkeypatch):
    """A factory: audit_page(role) -> the page, run once as that role."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE", str(path))
    monkeypatch.delenv("SEGMENT_STUDIO_USER", raising=False)

    def run(role: str) -> AppTest:
        monkeypatch.setenv("SEGMENT_STUDIO_ROLE", role)
        at = AppTest.from_file(PAGE, default_timeout=120)
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def samples_saved(demo_warehouse) -> int:
    listed = SegmentLibrary(demo_warehouse).list(include_archived=True)
    return int(listed["is_sample"].sum())


def test_a_manager_sees_the_sample_campaign_saves(audit_page, demo_warehouse):
    at = audit_page("manager")
    assert not at.error
    events, per_action = at.dataframe[1].value, at.dataframe[0].value
    saves = events[(events["action"] == "segment.save") & (events["actor"] == SAMPLE_AUTHOR)]
    expected = samples_saved(demo_warehouse)
    assert expected >= 8
    assert len(saves) == expected
    assert saves["object"].str.startswith("segment sample-").all()
    assert list(events.columns) == ["time", "actor", "role", "action", "object", "version", "rows", "checksum",
                                    "details"]
    assert per_action.set_index("action").loc["segment.save", "events"] >= expected
    assert any(m.label == "Matching events" for m in at.metric)


def test_filters_narrow_the_events(audit_page):
    at = audit_page("manager")
    at.multiselect(key="audit_actions").select("segment.save").run()
    assert not at.exception and not at.error
    assert set(at.dataframe[1].value["action"]) == {"segment.save"}
    at.text_input(key="audit_search").input("it's 100% not there").run()
    assert not at.exception and not at.error
    assert any("No event matches" in i.value for i in at.info)
    assert len(at.dataframe) == 0


def test_a_marketer_is_told_why_and_sees_no_table(audit_page):
    at = audit_page("marketer")
    assert not at.error
    assert any("not available for your role (marketer)" in i.value and "manager, admin" in i.value for i in at.info)
    assert not at.dataframe and not at.metric
