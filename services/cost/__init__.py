"""What the data platform costs, and what the app's own queries cost.

::

    billing.py  platform spend month by month: actuals by cost centre, resource, type and region,
                forecasts, drivers, list price and discounts, the app's tagged footprint
    queries.py  the app's logged queries priced per page and segment (the source on DuckDB), and
                the expected cost of an action before it runs
    platform.py the app's tagged statements priced per page and segment from Databricks' system
                tables (system.query.history, system.billing): the source on Databricks
"""

from services.cost.billing import (
    APP_TAG,
    DIMENSIONS,
    MonthlyFigures,
    MonthSummary,
    UsageFigures,
    app_footprint,
    costs_in_month,
    discounts,
    discounts_in_force,
    forecast_vs_actual,
    in_force,
    largest_increases,
    month_start,
    month_summary,
    monthly_costs,
    monthly_figures,
    months,
    previous_month,
    price_context,
    top_drivers,
    usage_figures,
)
from services.cost.platform import platform_query_costs
from services.cost.queries import ActionEstimate, AppQueryCosts, app_query_costs, estimate_action_cost

__all__ = [
    "APP_TAG", "DIMENSIONS", "ActionEstimate", "AppQueryCosts", "MonthSummary", "MonthlyFigures", "UsageFigures",
    "app_footprint", "app_query_costs", "costs_in_month", "discounts", "discounts_in_force", "estimate_action_cost",
    "forecast_vs_actual", "in_force", "largest_increases", "month_start", "month_summary", "monthly_costs",
    "monthly_figures", "months", "platform_query_costs", "previous_month", "price_context", "top_drivers", "usage_figures",
]
