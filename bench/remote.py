"""What a user waits for when every warehouse round trip is slow, in a real browser.

    python -m bench.remote [--warehouse data/warehouse.duckdb] [--latency-ms 250] [--picks 5]

A Databricks SQL warehouse answers even a tiny query in a few hundred milliseconds. This
serves the app (``services.devserver.running_app``) on the DuckDB warehouse with every
round trip delayed by ``--latency-ms`` (the setting ``SEGMENT_STUDIO_LATENCY_MS``: the
embedded engine wrapped by ``CountingWarehouse``, nothing else changed) and drives it in
headless Chromium. Each round trip is written to a trace file
(``SEGMENT_STUDIO_ROUND_TRIP_TRACE``), so every figure comes with the round trips it took
on the request path (the query log's background flushes and other background work left out).

Each "new session" figure is taken on a freshly started app, so no cache of an earlier
session helps (on Databricks with on-behalf-of-user identity every user has their own
caches); the app's own Python warms up in that first session too. The user is
admin@example.com (roles.toml: admin), who may open every page; UMAP's warm-up is off
(it takes a core for a minute). Targets: the Builder's first count <= 3 s, pick a value
-> count <= 1 s, every page ready <= 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from services.devserver import CHROMIUM, CHROMIUM_ARGS, running_app
from services.warehouse.roundtrips import read_trace, request_path

VALUES = ("Champions", "Loyal", "Potential Loyalist", "At Risk", "Hibernating", "Lost", "Promising", "New Customers")
#: page -> (url path, a text the page shows once it has read what it needs)
PAGES = {
    "Home": ("", "Rows per source"),
    "Segment Library": ("library", "Versions"),
    "Exports": ("exports", "History"),
    "Cluster Explorer": ("clusters", "Cluster Explorer"),
    "Lookalikes": ("lookalikes", "Lookalikes"),
    "Data Quality": ("data_quality", "Failing critical"),
    "Cost": ("cost", "Segment Studio's own footprint"),
}
USER = "admin@example.com"


def audience(page) -> str:
    return page.get_by_test_id("stMetricValue").first.inner_text()


def wait_idle(page) -> None:
    """Until the script run (and any rerun it asked for) has finished."""
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
        " return app && app.getAttribute('data-test-script-state') === 'notRunning'; }", polling=20)


def wait_change(page, before: str, limit_s: float = 60.0) -> None:
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        try:
            if audience(page) != before:
                return
        except Exception:  # noqa: BLE001 - the element is being re-rendered; look again
            pass
        page.wait_for_timeout(10)
    raise TimeoutError(f"the audience stayed at {before} for {limit_s:.0f} s")


class Session:
    """A fresh app (cold caches) and a browser page on it; round trips read from the app's trace."""

    def __init__(self, url: str, trace: Path, browser):
        self.url, self.trace = url, trace
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(120_000)

    def trips(self, since: float, until: float) -> int:
        return len([c for c in request_path(read_trace(self.trace)) if since <= c.started <= until])


@contextmanager
def fresh_app(warehouse_path: Path, latency_ms: float, browser, tmp: Path, name: str):
    trace = tmp / f"{name}.trace"
    env = {"SEGMENT_STUDIO_LATENCY_MS": str(latency_ms), "SEGMENT_STUDIO_ROUND_TRIP_TRACE": str(trace),
           "SEGMENT_STUDIO_USER": USER, "SEGMENT_STUDIO_WARM_UP_MAPS": "0"}
    with running_app(warehouse_path, log=tmp / f"{name}.log", env=env) as url:
        session = Session(url, trace, browser)
        try:
            yield session
        finally:
            session.context.close()


def builder(warehouse_path: Path, latency_ms: float, browser, tmp: Path, picks: int) -> list[tuple[str, list[float], list[int]]]:
    with fresh_app(warehouse_path, latency_ms, browser, tmp, "builder") as s:
        page = s.page
        t0 = time.time()
        page.goto(f"{s.url}/builder")
        page.get_by_test_id("stMetricValue").first.wait_for()
        first = time.time() - t0
        wait_idle(page)
        first_trips = s.trips(t0, time.time())
        page.get_by_role("button", name="+ Trait").click()
        page.get_by_text("not counted until complete").wait_for()
        wait_idle(page)
        seconds, trips = [], []
        for value in VALUES[:picks]:
            before = audience(page)
            page.get_by_test_id("stMultiSelect").first.locator("input").click()
            option = page.get_by_role("option").filter(has_text=value).first
            option.wait_for()
            t1 = time.time()
            option.click()
            wait_change(page, before)
            seconds.append(time.time() - t1)
            wait_idle(page)
            trips.append(s.trips(t1, time.time()))
            page.keyboard.press("Escape")
            page.wait_for_timeout(300)
    return [("Builder: new session's first count", [first], [first_trips]),
            ("Builder: pick a value -> count", seconds, trips)]


def page_ready(warehouse_path: Path, latency_ms: float, browser, tmp: Path, name: str, path: str, marker: str):
    with fresh_app(warehouse_path, latency_ms, browser, tmp, path or "home") as s:
        t0 = time.time()
        s.page.goto(f"{s.url}/{path}")
        s.page.get_by_text(marker).first.wait_for()
        wait_idle(s.page)
        ready = time.time() - t0
        return (f"{name}: ready in a new session", [ready], [s.trips(t0, time.time())])


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.remote")
    parser.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--picks", type=int, default=5)
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names to time")
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        raise SystemExit(f"{args.warehouse} does not exist: build it with `make warehouse` "
                         "(python -m services.cli build --customers 50000 --warehouse PATH)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        rows += builder(args.warehouse, args.latency_ms, browser, Path(tmp), args.picks)
        for name in [n.strip() for n in args.pages.split(",") if n.strip()]:
            path, marker = PAGES[name]
            rows.append(page_ready(args.warehouse, args.latency_ms, browser, Path(tmp), name, path, marker))
        browser.close()
    targets = {"Builder: new session's first count": 3.0, "Builder: pick a value -> count": 1.0}
    print(f"warehouse: {args.warehouse} · every round trip delayed {args.latency_ms:g} ms · user {USER}")
    print(f"{'what the user waits for':<46} {'median s':>9} {'max s':>7} {'target':>7} {'':>7} {'round trips':>12}")
    for name, seconds, trips in rows:
        target = targets.get(name, 3.0)
        med = statistics.median(seconds)
        verdict = "meets" if med <= target else "MISSES"
        trip_text = str(trips[0]) if len(set(trips)) == 1 else f"{min(trips)}-{max(trips)}"
        print(f"{name:<46} {med:>9.2f} {max(seconds):>7.2f} {'<= ' + format(target, 'g'):>7} {verdict:>7} "
              f"{trip_text:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
