"""AppTest smoke test of the Segment Library."""

from __future__ import annotations


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
