"""The app's clock and ids: a leaf every layer may import.

Timestamps are naive UTC, as every table stores them (DuckDB sessions run in
UTC, Databricks sessions too), so a value read back compares with ``now()``.
Ids are a readable prefix and 12 random hex digits.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id(prefix: str) -> str:
    """``<prefix>-<12 hex digits>``: unique enough for job, run and audit ids."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
