"""What the app's own queries cost, and what an action is expected to cost before it runs.

Warehouse time is priced by the hour: a query that ran for ``d`` seconds on a
warehouse billed at ``p`` USD an hour cost ``d / 3600 * p``. The app's queries
come from its query log (``services/warehouse/querylog.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from services.errors import SpecError
from services.warehouse import Warehouse, querylog


class ActionEstimate(NamedTuple):
    """How long an action should take and what that warehouse time costs."""

    duration_s: float
    cost_usd: float


def _check_price(price_per_warehouse_hour: float) -> None:
    if price_per_warehouse_hour is None or price_per_warehouse_hour < 0:
        raise SpecError(f"the price per warehouse-hour must be zero or more, got {price_per_warehouse_hour!r}")


def estimate_action_cost(duration_s: float, price_per_warehouse_hour: float) -> ActionEstimate:
    """(duration, cost) of an action expected to keep the warehouse busy ``duration_s`` seconds."""
    _check_price(price_per_warehouse_hour)
    if duration_s is None or duration_s < 0:
        raise SpecError(f"an expected duration must be zero seconds or more, got {duration_s!r}")
    return ActionEstimate(duration_s=float(duration_s), cost_usd=duration_s / 3600.0 * price_per_warehouse_hour)


@dataclass(frozen=True)
class AppQueryCosts:
    """Logged query time priced per page and per segment."""

    price_per_warehouse_hour: float
    queries: int
    duration_s: float
    cost_usd: float
    #: page, queries, rows, duration_s, cost_usd; most expensive first
    by_page: pd.DataFrame
    #: segment_id, queries, rows, duration_s, cost_usd; queries without a segment are left out
    by_segment: pd.DataFrame


def _priced(entries: pd.DataFrame, key: str, price: float) -> pd.DataFrame:
    grouped = entries.groupby(key, as_index=False).agg(queries=("kind", "size"), rows=("rows", "sum"),
                                                      duration_s=("duration_s", "sum"))
    grouped["cost_usd"] = grouped["duration_s"] / 3600.0 * price
    return grouped.sort_values(["cost_usd", key], ascending=[False, True], ignore_index=True)


def app_query_costs(warehouse: Warehouse, *, price_per_warehouse_hour: float) -> AppQueryCosts:
    """Cost of the app's logged queries: summed duration times the price per warehouse-hour."""
    _check_price(price_per_warehouse_hour)
    entries = querylog.read_entries(warehouse)
    entries["duration_s"] = entries["duration_ms"].astype(float) / 1000.0
    entries["page"] = entries["page"].replace("", "(no page)")
    total_s = float(entries["duration_s"].sum())
    return AppQueryCosts(
        price_per_warehouse_hour=price_per_warehouse_hour,
        queries=len(entries),
        duration_s=total_s,
        cost_usd=total_s / 3600.0 * price_per_warehouse_hour,
        by_page=_priced(entries, "page", price_per_warehouse_hour),
        by_segment=_priced(entries[entries["segment_id"] != ""], "segment_id", price_per_warehouse_hour),
    )
