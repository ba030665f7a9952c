"""AppTest smoke test of the Segment Library."""

from __future__ import annotations

import os
from pathlib import Path

from components.segments import cached_library
from components.text import plain
from services import naming
from services.segments.library import SegmentLibrary
from services.warehouse.duckdb_engine import DuckDBWarehouse

AUDIT = naming.fq("app", "app_audit_log")


def test_library_lists_samples_with_briefs_and_versions(app):
    at = app(page="pages/library.py", query={"segment": "sample-beauty-enthusiasts"})
    table = at.dataframe[0].value
    assert len(table) >= 8
    assert "Beauty enthusiasts" in set(table["segment"])
    assert any(h.value == "Beauty enthusiasts" for h in at.subheader)
    assert any("Goal" in m.value for m in at.markdown)


def test_search_narrows_the_list(app):
    at = app(page="pages/library.py")
    at.text_input(key="library_search").input("win-back").run()
    table = at.dataframe[0].value
    assert list(table["segment"]) == ["Win-back: at-risk high spenders"]


BEAUTY = "sample-beauty-enthusiasts"


def test_a_sample_cannot_be_restored_only_duplicated(app):
    at = app(page="pages/library.py", role="marketer", query={"segment": BEAUTY})
    assert at.button(key="library_restore").disabled
    assert not at.button(key="library_duplicate").disabled


def test_a_restore_shows_the_new_version_at_once(app):
    """The bug: the page drew the versions before the click was handled, so the restore did not show."""
    app()
    warehouse = DuckDBWarehouse(os.environ["SEGMENT_STUDIO_WAREHOUSE"])
    library = SegmentLibrary(warehouse)
    own = library.save(library.get(BEAUTY).definition, author="ann@example.com").segment_id
    warehouse.close()
    cached_library.clear()  # saved behind the app's back
    at = app(page="pages/library.py", role="marketer", query={"segment": own})
    assert list(at.dataframe[1].value["version"]) == [1]
    at.button(key="library_restore").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Restored: version 2") for s in at.success)
    assert list(at.dataframe[1].value["version"]) == [2, 1]
    assert "version 2" in next(c.value for c in at.caption if c.value.startswith(f"`{own}`"))


def test_a_duplicate_is_listed_and_selected_at_once(app):
    at = app(page="pages/library.py", role="marketer", query={"segment": BEAUTY})
    at.button(key="library_duplicate").click().run()
    assert not at.exception, at.exception
    assert "Beauty enthusiasts (copy)" in set(at.dataframe[0].value["segment"])
    assert at.subheader[0].value == plain("Beauty enthusiasts (copy)")
    assert at.selectbox(key="library_chosen").value != BEAUTY


def test_archive_asks_first_and_is_audited_with_the_role(app):
    at = app(page="pages/library.py", role="marketer", user="mia@example.com", query={"segment": BEAUTY})
    at.button(key="library_archive").click().run()
    assert any(w.value.startswith("Archive this segment?") for w in at.warning)
    assert BEAUTY in set(at.dataframe[0].value["id"])  # nothing archived yet
    at.button(key="library_archive_confirm").click().run()
    assert not at.exception, at.exception
    assert BEAUTY not in set(at.dataframe[0].value["id"])
    warehouse = DuckDBWarehouse(Path(os.environ["SEGMENT_STUDIO_WAREHOUSE"]))
    audit = warehouse.df(f"SELECT actor, role, action FROM {AUDIT} WHERE object_id = '{BEAUTY}' AND actor = 'mia@example.com'")
    warehouse.close()
    assert audit.values.tolist() == [["mia@example.com", "marketer", "segment.archive"]]


def test_a_viewer_is_told_why_the_actions_are_disabled(app):
    at = app(page="pages/library.py", role="viewer", query={"segment": BEAUTY})
    for key in ("library_duplicate", "library_archive", "library_restore"):
        button = at.button(key=key)
        assert button.disabled and button.help.startswith("Your role (viewer) may not"), key
