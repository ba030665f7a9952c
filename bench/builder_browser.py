"""How long a Segment Builder click takes to update the count, in a real browser.

    python -m bench.builder_browser [--warehouse data/bench-1m.duckdb] [--repeat 6]

Starts the app on the warehouse (build one first with ``python -m bench.segments``),
opens the builder in headless Chromium, adds an RFM trait, then picks one RFM
segment after another; each pick is a new definition, so nothing is served
from the estimate cache. The time is measured from the click on the option
until the audience figure on the page changes. After each pick it adds a
condition ("+ Behaviour": bought at least once in the last 90 days, a semi-join
over the transactions) and times the click until the waterfall shows the new
step with its count (the same single estimate that updates the audience; the
step shows even when the count stays the same), then removes it again (served
from the cache: not timed). Target for both: under one second.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from services.devserver import CHROMIUM, CHROMIUM_ARGS, running_app

VALUES = ("Champions", "Loyal", "Potential Loyalist", "At Risk", "Hibernating", "Lost", "Promising", "New Customers")


def audience(page) -> str:
    return page.get_by_test_id("stMetricValue").first.inner_text()


def wait_change(page, before: str, limit_s: float = 30.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        try:
            if audience(page) != before:
                return (time.perf_counter() - started) * 1000
        except Exception:  # noqa: BLE001 - the element is being re-rendered; look again
            pass
        page.wait_for_timeout(20)
    raise TimeoutError(f"the audience stayed at {before} for {limit_s:.0f} s")


def settle(page) -> None:
    """Wait until the app has finished its rerun (no running indicator), so the next click lands."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=120_000)


def wait_for(locator, *, visible: bool, limit_s: float = 120.0) -> float:
    started = time.perf_counter()
    locator.first.wait_for(state="visible" if visible else "hidden", timeout=limit_s * 1000)
    return (time.perf_counter() - started) * 1000


ADDED_STEP = re.compile(r"^2\. Bought at least 1 time in the last 90 days")


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.builder_browser")
    parser.add_argument("--warehouse", type=Path, default=Path("data/bench-1m.duckdb"))
    parser.add_argument("--repeat", type=int, default=6)
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        raise SystemExit(f"{args.warehouse} does not exist: build it with python -m bench.segments first")
    timings, adding = [], []
    with tempfile.TemporaryDirectory() as tmp, running_app(args.warehouse, log=Path(tmp) / "app.log") as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_text("Rows per source").wait_for()
        page.goto(f"{url}/builder")
        page.get_by_test_id("stMetricValue").first.wait_for()
        page.get_by_role("button", name="+ Trait").click()
        page.get_by_text("not counted until complete").wait_for()
        step = page.get_by_text(ADDED_STEP)
        for value in VALUES[: args.repeat + 1]:
            before = audience(page)
            page.get_by_test_id("stMultiSelect").first.locator("input").click()
            page.get_by_role("option").filter(has_text=value).first.click()
            timings.append(wait_change(page, before))
            page.keyboard.press("Escape")
            page.get_by_role("heading", name="Segment Builder").click()  # the picker lets go of the focus
            settle(page)
            # Add a condition to this new rule (a cache miss), then take it away again.
            page.get_by_role("button", name="+ Behaviour").click()
            adding.append(wait_for(step, visible=True))
            settle(page)
            page.locator('div[class*="st-key-builder_"][class*="_remove"] button:visible').last.click()
            wait_for(step, visible=False)
            settle(page)
        browser.close()
    first, rest = timings[0], timings[1:]
    print(f"warehouse: {args.warehouse}")
    print(f"{'interaction':<44} {'median ms':>9} {'max ms':>9} {'target':>8}")
    print(f"{'first pick (catalog and caches warm up)':<44} {first:>9.0f} {first:>9.0f} {'':>8}")
    for label, runs in (("pick a value -> count updated (each new)", rest),
                        ("add a condition -> count updated", adding[1:])):
        median = statistics.median(runs)
        print(f"{label:<44} {median:>9.0f} {max(runs):>9.0f} {'< 1000':>8} {'meets' if median < 1000 else 'MISSES'}")
        print("  runs: " + ", ".join(f"{t:.0f}" for t in runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
