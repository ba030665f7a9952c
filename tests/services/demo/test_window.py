"""The demo ends on the day it is told (the app: the day before it is built), and nothing lands after
the moment it is loaded: a new demo warehouse is fresh, and ages truthfully."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from services import naming
from services.demo import generate
from services.demo.calendar import DEMO_DAYS, DEMO_END, window
from services.settings import Settings

STG = naming.fq("txn", "stg_transactions")
CDC = naming.fq("ingest", "stage_cdc")


def _dates(table) -> tuple[date, date]:
    posted = table.column("posted_ts") if isinstance(table, pa.Table) else pa.array(table["posted_ts"])
    low, high = pc.min(posted).as_py(), pc.max(posted).as_py()
    return low.date(), high.date()


def test_the_window_is_two_years_ending_on_the_day_asked():
    assert window(DEMO_END) == (date(2024, 11, 1), DEMO_END)
    start, end = window(date(2027, 3, 14))
    assert end == date(2027, 3, 14) and (end - start).days + 1 == DEMO_DAYS == 730


def test_a_demo_ending_on_another_day_posts_up_to_it_and_lands_nothing_after_it_was_loaded():
    end, loaded = date(2027, 3, 14), datetime(2027, 3, 15, 7, 30)
    tables = generate(customers_count=300, seed=3, end=end, landed_by=loaded)
    first, last = _dates(tables[STG])
    assert last == end and first >= end - timedelta(days=DEMO_DAYS - 1)
    landed = tables[STG].column("landed_ts")
    assert pc.max(landed).as_py().replace(tzinfo=None) <= loaded
    assert tables[CDC]["landed_ts"].max() <= loaded
    # Only landing times moved: the rows themselves are those of the same seed and window.
    unclamped = generate(customers_count=300, seed=3, end=end)
    assert tables[STG].drop_columns(["landed_ts"]).equals(unclamped[STG].drop_columns(["landed_ts"]))


def test_the_same_seed_and_end_give_the_same_rows():
    a, b = generate(customers_count=200, seed=5), generate(customers_count=200, seed=5, end=DEMO_END)
    assert a[STG].equals(b[STG]) and _dates(a[STG])[1] == DEMO_END


def test_the_app_ends_its_demo_yesterday_unless_told_otherwise():
    assert Settings.from_env({}).demo_window_end() == datetime.utcnow().date() - timedelta(days=1)
    assert Settings.from_env({"SEGMENT_STUDIO_DEMO_END": "2026-10-31"}).demo_window_end() == DEMO_END
