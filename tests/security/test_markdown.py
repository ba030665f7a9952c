"""Finding 8: user text is shown as typed, never rendered as markdown.

A segment whose name, description, version notes and rule values hold
markdown images pointing at a local HTTP server, opened in Chromium. Before
the fix the Library's header, description, notes and rule and the sidebar's
"Signed in as" rendered them, and the browser fetched six images from the
attacker's host. Now no request reaches it, no link points at it, and the
text reads as typed. The Builder opens the same segment without a request.
"""

from __future__ import annotations

import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from services.segments.library import SegmentLibrary
from services.segments.spec import SegmentDefinition
from services.warehouse.duckdb_engine import DuckDBWarehouse

pytestmark = pytest.mark.e2e


@pytest.fixture
def attacker():
    """A host that records every request: what the browser fetched because text was rendered as markdown."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def evil_segment(path, host: str) -> str:
    warehouse = DuckDBWarehouse(path)
    library = SegmentLibrary(warehouse)

    def definition(version: int) -> SegmentDefinition:
        return SegmentDefinition.from_dict({
            "name": f"![name]({host}/name.png) Big spenders",
            "description": f"**Loud** [click me]({host}/link) ![description]({host}/description.png)",
            "rule": {"kind": "group", "match": "all", "conditions": [
                {"kind": "trait", "field": "region", "op": "in", "values": [f"![rule]({host}/rule{version}.png)"]}]},
        })

    saved = library.save(definition(1), author="mallory@example.com", note=f"![note]({host}/note1.png)")
    library.save(definition(2), author="mallory@example.com", segment_id=saved.segment_id,
                 note=f"![note]({host}/note2.png)")
    warehouse.close()
    return saved.segment_id


def shown(text: str) -> re.Pattern:
    """``text`` as the page shows it: verbatim, but for an invisible word joiner after a URL's scheme."""
    return re.compile(re.escape(text).replace("http:", "http\u2060?:"))


def test_names_descriptions_notes_and_rules_load_nothing_from_an_attackers_host(
        demo_warehouse_path, tmp_path, serve, page, attacker):
    host, hits = attacker
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    segment_id = evil_segment(path, host)
    env = {"SEGMENT_STUDIO_ROLE": "marketer", "SEGMENT_STUDIO_USER": f"![user]({host}/user.png)"}
    with serve(env, warehouse=path) as url:
        page.goto(f"{url}/library?segment={segment_id}")
        expect(page.get_by_role("heading", name="Versions")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1000)
        assert hits == [], "the Library page fetched from the attacker's host"
        expect(page.get_by_text(shown(f"![name]({host}/name.png) Big spenders")).filter(visible=True).first).to_be_visible()
        expect(page.get_by_text(shown(f"[click me]({host}/link)")).filter(visible=True).first).to_be_visible()
        expect(page.get_by_text(shown(f"![note]({host}/note2.png)")).filter(visible=True).first).to_be_visible()
        expect(page.get_by_text(shown(f"![rule]({host}/rule2.png)")).filter(visible=True).first).to_be_visible()
        expect(page.get_by_text(shown(f"Signed in as ![user]({host}/user.png)"))).to_be_visible()
        expect(page.get_by_role("link", name=host.removeprefix("http://"))).to_have_count(0)
        page.goto(f"{url}/builder?segment={segment_id}")
        expect(page.get_by_text("Of customers")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("link", name=host.removeprefix("http://"))).to_have_count(0)
        page.wait_for_timeout(1000)
    assert hits == []
