"""The demo calendar: two years ending on a chosen day, holidays and the daily shape of demand.

The app and the CLI end the window the day before the demo is built
(``window``), so a new demo warehouse is fresh and its data-quality checks
judge its age truthfully as the days go by. Relative windows ("last 90 days")
are measured from the data's as-of date, so a segment means the same thing
whichever day the demo ends. Tests and benchmarks pin the end to ``DEMO_END``
(the data is deterministic for a seed and an end day), as does a library call
that names no end.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

DEMO_START = date(2024, 11, 1)
DEMO_END = date(2026, 10, 31)
#: days in the window, both ends included
DEMO_DAYS = (DEMO_END - DEMO_START).days + 1


def window(end: date) -> tuple[date, date]:
    """The demo's first and last day for a window ending on ``end``."""
    return end - timedelta(days=DEMO_DAYS - 1), end


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def holidays(start: date, end: date) -> dict[date, tuple[str, float]]:
    """Retail holidays in [start, end] with the demand multiplier of each."""
    found: dict[date, tuple[str, float]] = {}
    for year in range(start.year, end.year + 1):
        thanksgiving = _nth_weekday(year, 11, 3, 4)
        candidates = {
            date(year, 2, 14): ("Valentine's Day", 1.4),
            _nth_weekday(year, 5, 6, 2): ("Mother's Day", 1.5),
            date(year, 7, 15): ("Summer Sale", 1.8),
            thanksgiving: ("Thanksgiving", 0.7),
            thanksgiving + timedelta(days=1): ("Black Friday", 3.2),
            thanksgiving + timedelta(days=4): ("Cyber Monday", 2.6),
            date(year, 12, 24): ("Christmas Eve", 1.3),
            date(year, 12, 25): ("Christmas Day", 0.3),
            date(year, 12, 26): ("Boxing Day", 2.0),
            date(year, 1, 1): ("New Year's Day", 0.5),
        }
        for day, value in candidates.items():
            if start <= day <= end:
                found[day] = value
    return found


def daily_weights(start: date, end: date) -> np.ndarray:
    """Relative demand of each day: weekly rhythm, a Q4 peak, holidays, growth."""
    days = pd.date_range(start, end, freq="D")
    n = len(days)
    doy = days.dayofyear.to_numpy()
    weekday = days.dayofweek.to_numpy()
    weekly = np.where(weekday >= 5, 1.3, np.where(weekday == 4, 1.1, 1.0))
    # Demand climbs through the autumn into December and dips in late winter.
    annual = 1.0 + 0.25 * np.cos(2 * np.pi * (doy - 350) / 365.25)
    december = np.where((days.month == 12) & (days.day <= 23), 1.5, 1.0)
    growth = np.linspace(1.0, 1.15, n)
    weights = weekly * annual * december * growth
    for day, (_, factor) in holidays(start, end).items():
        weights[(day - start).days] *= factor
    return weights


def dim_time(start: date, end: date) -> pd.DataFrame:
    """One row per calendar day (txn ``dim_time``)."""
    days = pd.date_range(start, end, freq="D")
    hol = holidays(start, end)
    names = [hol.get(d.date(), (None, 1.0))[0] for d in days]
    return pd.DataFrame(
        {
            "date_key": (days.year * 10000 + days.month * 100 + days.day).astype("int32"),
            "calendar_date": days.date,
            "year": days.year.astype("int32"),
            "quarter": days.quarter.astype("int32"),
            "month": days.month.astype("int32"),
            "month_name": days.month_name(),
            "week_of_year": days.isocalendar().week.to_numpy().astype("int32"),
            "day_of_month": days.day.astype("int32"),
            "iso_day_of_week": (days.dayofweek + 1).astype("int32"),
            "is_weekend": days.dayofweek >= 5,
            "is_holiday": [n is not None for n in names],
            "holiday_name": names,
            # The retailer's fiscal year starts in February, as many retailers' do.
            "fiscal_year": np.where(days.month >= 2, days.year, days.year - 1).astype("int32"),
        }
    )
