"""Building blocks the platform generators share: calendars, ids, hashes, money.

Everything is vectorised over numpy arrays so that the whole platform
(tens of thousands of rows) generates in well under a second, and every random
draw goes through the ``rng`` handed in, so a seed fixes the output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from services.naming import fq

# The grid is one day; every generated timestamp is naive and means UTC.
DAY = np.timedelta64(1, "D")


def days(start: dt.date, end: dt.date) -> np.ndarray:
    """Every day from ``start`` to ``end`` inclusive, as datetime64[D]."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + DAY, DAY)


def month_starts(start: dt.date, end: dt.date) -> np.ndarray:
    """The first day of every month that overlaps ``start``..``end``, as datetime64[D]."""
    first = np.datetime64(start, "M")
    last = np.datetime64(end, "M")
    return np.arange(first, last + 1).astype("datetime64[D]")


def at(day: dt.date | np.datetime64, *, hours: float = 0.0) -> pd.Timestamp:
    """A timestamp ``hours`` after midnight of ``day``."""
    return pd.Timestamp(np.datetime64(day, "D")) + pd.Timedelta(hours=hours)


def times_on(rng: np.random.Generator, day_values: np.ndarray, *, peak_hour: float = 14.0, spread: float = 4.0) -> np.ndarray:
    """One timestamp per day in ``day_values``, clustered around ``peak_hour`` (datetime64[s])."""
    hours = np.clip(rng.normal(peak_hour, spread, size=len(day_values)), 0.0, 23.999)
    seconds = (hours * 3600).astype("int64")
    return day_values.astype("datetime64[s]") + seconds.astype("timedelta64[s]")


def after(base: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """``base`` timestamps plus a float number of minutes each (datetime64[s])."""
    return base.astype("datetime64[s]") + np.round(np.asarray(minutes) * 60).astype("int64").astype("timedelta64[s]")


def ts(values) -> pd.Series | pd.DatetimeIndex:
    """Naive pandas datetimes (UTC by convention) from datetime64 values or Timestamps."""
    return pd.to_datetime(values)


def dates(values) -> np.ndarray:
    """``datetime.date`` objects (None for NaT) for DATE columns."""
    index = pd.DatetimeIndex(values)
    out = index.date.astype(object)
    out[index.isna()] = None
    return out


def ymd(values) -> np.ndarray:
    """``YYYYMMDD`` strings of datetime64 values, for ids and file names."""
    text = np.datetime_as_string(np.asarray(values).astype("datetime64[D]"))
    return np.char.replace(text, "-", "").astype(object)


def join(*parts) -> np.ndarray:
    """Element-wise concatenation of strings and string arrays (ids built from parts)."""
    out = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        out = out + np.asarray(part, dtype=object).astype(str).astype(object)
    return out


def ids(prefix: str, n: int, *, start: int = 1, width: int = 6) -> list[str]:
    """``n`` sequential ids such as ``log-000001``."""
    return [f"{prefix}-{i:0{width}d}" for i in range(start, start + n)]


def digest(values: Iterable[object], *, length: int = 32) -> list[str]:
    """A stable hex digest of each value's text (payload hashes and checksums)."""
    return [hashlib.sha256(str(v).encode()).hexdigest()[:length] for v in values]


def money(values) -> np.ndarray:
    """Amounts rounded to cents, as floats (they load into DECIMAL(18,2))."""
    return np.round(np.asarray(values, dtype="float64"), 2)


def pick(rng: np.random.Generator, options: Sequence, size: int, *, p: Sequence[float] | None = None) -> np.ndarray:
    """``size`` draws from ``options`` with probabilities ``p`` (normalised)."""
    if p is not None:
        weights = np.asarray(p, dtype="float64")
        p = weights / weights.sum()
    idx = rng.choice(len(options), size=size, p=p)
    return np.asarray(options, dtype=object)[idx]


def status_frame(rows: Sequence[tuple[str, str, str, str, bool, bool]]) -> pd.DataFrame:
    """A ``dim_status`` table: (code, name, group, description, is_terminal, is_error)."""
    frame = pd.DataFrame(
        rows, columns=["status_code", "status_name", "status_group", "description", "is_terminal", "is_error"]
    )
    frame["sort_order"] = np.arange(1, len(frame) + 1, dtype="int32")
    return frame


def keyed(source: str, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Key a source's frames by schema-qualified table name."""
    return {fq(source, name): frame for name, frame in frames.items()}
