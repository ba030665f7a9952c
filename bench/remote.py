"""What a user waits for when every warehouse round trip is slow, in a real browser.

    python -m bench.remote [--warehouse data/warehouse.duckdb] [--latency-ms 250] [--picks 5] [--repeat 3]

A Databricks SQL warehouse answers even a tiny query in a few hundred milliseconds. This
serves the app (``services.devserver.running_app``) on the DuckDB warehouse with every
round trip delayed by ``--latency-ms`` (the setting ``SEGMENT_STUDIO_LATENCY_MS``: the
embedded engine wrapped by ``CountingWarehouse``, nothing else changed) and drives it in
headless Chromium. Each round trip is written to a trace file
(``SEGMENT_STUDIO_ROUND_TRIP_TRACE``), so every figure comes with the round trips it took
on the request path (the query log's writer and other background work left out).

Every figure is taken on a freshly started app, in a new browser session:

* "first session": the app's very first session, when nothing is warm (its Python modules
  load then too, once per process);
* "new session": a session after one earlier session (on Home, or on the Library for Home
  itself) has warmed the process, read the user's role and opened the warehouse, but read
  nothing the measured page reads: what the next user waits for. On Databricks with
  on-behalf-of-user identity every user also reads their own role once (one round trip more).

The user is admin@example.com (roles.toml: admin), who may open every page; UMAP's warm-up
is off (it takes a core for a minute). Each figure is the median of ``--repeat`` fresh apps.
Targets: the Builder's first count <= 3 s, pick a value -> count <= 1 s, every page ready <= 3 s.
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
    "Cluster Explorer": ("clusters", "New clustering run"),
    "Lookalikes": ("lookalikes", "New lookalike model"),
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


class App:
    """A freshly started app and the trace of its round trips."""

    def __init__(self, url: str, trace: Path, browser):
        self.url, self.trace, self.browser = url, trace, browser

    @contextmanager
    def session(self):
        """A new browser session (its own Streamlit session)."""
        context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(120_000)
        try:
            yield page
        finally:
            context.close()

    def open(self, path: str, marker: str) -> tuple[float, int]:
        """Seconds until ``marker`` shows and the run has finished, and the round trips it waited for."""
        with self.session() as page:
            t0 = time.time()
            page.goto(f"{self.url}/{path}")
            page.get_by_text(marker).first.wait_for()
            wait_idle(page)
            return time.time() - t0, self.trips(t0, time.time())

    def trips(self, since: float, until: float) -> int:
        return len([c for c in request_path(read_trace(self.trace)) if since <= c.started <= until])


@contextmanager
def fresh_app(warehouse_path: Path, latency_ms: float, browser, tmp: Path, name: str):
    trace = tmp / f"{name}.trace"
    trace.unlink(missing_ok=True)
    env = {"SEGMENT_STUDIO_LATENCY_MS": str(latency_ms), "SEGMENT_STUDIO_ROUND_TRIP_TRACE": str(trace),
           "SEGMENT_STUDIO_USER": USER, "SEGMENT_STUDIO_WARM_UP_MAPS": "0"}
    with running_app(warehouse_path, log=tmp / f"{name}.log", env=env) as url:
        yield App(url, trace, browser)


def warm_up(app: App, measured: str) -> None:
    """One earlier session on a page that reads nothing ``measured`` reads."""
    path, marker = PAGES["Segment Library"] if measured == "Home" else PAGES["Home"]
    app.open(path, marker)


def builder(app: App, picks: int) -> tuple[float, int, list[float], list[int]]:
    """(seconds to the first count, its round trips, seconds per picked value, their round trips)."""
    with app.session() as page:
        t0 = time.time()
        page.goto(f"{app.url}/builder")
        page.get_by_test_id("stMetricValue").first.wait_for()
        first = time.time() - t0
        wait_idle(page)
        first_trips = app.trips(t0, time.time())
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
            trips.append(app.trips(t1, time.time()))
            page.keyboard.press("Escape")
            page.wait_for_timeout(300)
    return first, first_trips, seconds, trips


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.remote")
    parser.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--picks", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names to time")
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        raise SystemExit(f"{args.warehouse} does not exist: build it with `make warehouse` "
                         "(python -m services.cli build --customers 50000 --warehouse PATH)")
    rows: dict[str, tuple[list[float], list[int], float]] = {}

    def add(name: str, seconds: float | list[float], trips: int | list[int], target: float) -> None:
        got = rows.setdefault(name, ([], [], target))
        got[0].extend(seconds if isinstance(seconds, list) else [seconds])
        got[1].extend(trips if isinstance(trips, list) else [trips])

    pages = [n.strip() for n in args.pages.split(",") if n.strip()]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for run in range(args.repeat):
            with fresh_app(args.warehouse, args.latency_ms, browser, Path(tmp), f"cold-{run}") as app:
                first, first_trips, _, _ = builder(app, 0)
                add("Builder: first count, first session", first, first_trips, 3.0)
            with fresh_app(args.warehouse, args.latency_ms, browser, Path(tmp), f"builder-{run}") as app:
                warm_up(app, "Segment Builder")
                first, first_trips, seconds, trips = builder(app, args.picks)
                add("Builder: first count, new session", first, first_trips, 3.0)
                add("Builder: pick a value -> count", seconds, trips, 1.0)
            for name in pages:
                path, marker = PAGES[name]
                with fresh_app(args.warehouse, args.latency_ms, browser, Path(tmp), f"{path or 'home'}-{run}") as app:
                    warm_up(app, name)
                    ready, trips = app.open(path, marker)
                    add(f"{name}: ready, new session", ready, trips, 3.0)
        browser.close()
    print(f"warehouse: {args.warehouse} · every round trip delayed {args.latency_ms:g} ms · user {USER} · "
          f"{args.repeat} fresh apps per figure")
    print(f"{'what the user waits for':<42} {'median s':>9} {'max s':>7} {'target':>7} {'':>7} {'round trips':>12}")
    for name, (seconds, trips, target) in rows.items():
        med = statistics.median(seconds)
        verdict = "meets" if med <= target else "MISSES"
        trip_text = str(trips[0]) if len(set(trips)) == 1 else f"{min(trips)}-{max(trips)}"
        print(f"{name:<42} {med:>9.2f} {max(seconds):>7.2f} {'<= ' + format(target, 'g'):>7} {verdict:>7} "
              f"{trip_text:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
