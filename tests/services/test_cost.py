"""The cost service against the demo warehouse: every figure equals an independent SQL sum."""

from __future__ import annotations

import datetime as dt

import pytest

from services import cost
from services.errors import SpecError

P = "customer_segmentation_for_retail_personalization"
USAGE = f"{P}_cost.{P}_fact_cost_usage"
FORECASTS = f"{P}_cost.{P}_stage_forecasts"


def usage_total(warehouse, month: dt.date, extra: str = "") -> float:
    """Direct sum over the daily fact, independent of the monthly roll-up the service reads."""
    end = (month + dt.timedelta(days=32)).replace(day=1)
    value = warehouse.scalar(
        f"select sum(cost_amount_usd) from {USAGE} where usage_date >= $start and usage_date < $end {extra}",
        {"start": month, "end": end})
    return float(value or 0)


@pytest.fixture(scope="module")
def latest(demo_warehouse) -> dt.date:
    return cost.months(demo_warehouse)[0]


def test_months_are_first_days_newest_first(demo_warehouse):
    months = cost.months(demo_warehouse)
    assert len(months) >= 12
    assert all(m.day == 1 for m in months)
    assert months == sorted(months, reverse=True)


def test_month_total_equals_sum_over_daily_usage(demo_warehouse, latest):
    for month in (latest, cost.previous_month(latest), cost.months(demo_warehouse)[-1]):
        summary = cost.month_summary(demo_warehouse, month)
        assert summary.total_usd == pytest.approx(usage_total(demo_warehouse, month), abs=0.005)


def test_cost_per_cost_centre_equals_sum_over_daily_usage(demo_warehouse, latest):
    per_centre = cost.costs_in_month(demo_warehouse, latest, by="cost_center")
    direct = demo_warehouse.df(
        f"select u.cost_center_id, c.cost_center_name, sum(u.cost_amount_usd) as usd from {USAGE} u "
        f"join {P}_cost.{P}_dim_cost_center c using (cost_center_id) "
        "where usage_date >= $start and usage_date < $end group by 1, 2",
        {"start": latest, "end": (latest + dt.timedelta(days=32)).replace(day=1)})
    expected = {r.cost_center_id: (r.cost_center_name, round(float(r.usd), 2)) for r in direct.itertuples()}
    got = {r.key: (r.name, r.cost_usd) for r in per_centre.itertuples()}
    assert got.keys() == expected.keys()
    for key, (name, usd) in expected.items():
        assert got[key][0] == name
        assert got[key][1] == pytest.approx(usd, abs=0.005)
    assert per_centre["share"].sum() == pytest.approx(1.0)
    assert list(per_centre["cost_usd"]) == sorted(per_centre["cost_usd"], reverse=True)


@pytest.mark.parametrize("by", ["resource", "resource_type", "region", "cost_center"])
def test_every_grouping_adds_up_to_the_month_total(demo_warehouse, latest, by):
    frame = cost.monthly_costs(demo_warehouse, by=by)
    in_month = frame[frame["month_start"] == latest]
    assert in_month["cost_usd"].sum() == pytest.approx(usage_total(demo_warehouse, latest), abs=0.05)


def test_forecast_vs_actual_for_a_month_equals_direct_sums(demo_warehouse, latest):
    summary = cost.month_summary(demo_warehouse, latest)
    forecast = float(demo_warehouse.scalar(f"select sum(forecast_amount_usd) from {FORECASTS} where month_start = $m",
                                           {"m": latest}))
    actual = usage_total(demo_warehouse, latest)
    assert summary.forecast_usd == pytest.approx(forecast, abs=0.005)
    assert summary.forecast_variance_usd == pytest.approx(actual - forecast, abs=0.01)
    assert summary.forecast_variance_pct == pytest.approx((actual - forecast) / forecast)
    table = cost.forecast_vs_actual(demo_warehouse).set_index("month_start")
    assert table.at[latest, "actual_usd"] == pytest.approx(actual, abs=0.005)
    # Forecasts reach past the as-of date; those months have no actual yet.
    future = table[table.index > latest]
    assert len(future) > 0 and future["actual_usd"].isna().all()


def test_month_over_month_change_matches_hand_arithmetic(demo_warehouse, latest):
    before = cost.previous_month(latest)
    now_usd, before_usd = usage_total(demo_warehouse, latest), usage_total(demo_warehouse, before)
    summary = cost.month_summary(demo_warehouse, latest)
    assert summary.previous_month == before
    assert summary.previous_total_usd == pytest.approx(before_usd, abs=0.005)
    assert summary.mom_change_usd == pytest.approx(now_usd - before_usd, abs=0.01)
    assert summary.mom_change_pct == pytest.approx((now_usd - before_usd) / before_usd)


def test_first_month_has_no_previous_month(demo_warehouse):
    first = cost.months(demo_warehouse)[-1]
    summary = cost.month_summary(demo_warehouse, first)
    assert summary.previous_total_usd is None and summary.mom_change_usd is None and summary.mom_change_pct is None


def test_top_drivers_and_increases(demo_warehouse, latest):
    drivers = cost.top_drivers(demo_warehouse, latest, by="resource", limit=3)
    assert len(drivers) == 3
    top = drivers.iloc[0]
    direct = float(demo_warehouse.scalar(
        f"select sum(cost_amount_usd) from {USAGE} where resource_id = $r and usage_date >= $s and usage_date < $e",
        {"r": top["key"], "s": latest, "e": (latest + dt.timedelta(days=32)).replace(day=1)}))
    assert top["cost_usd"] == pytest.approx(direct, abs=0.005)
    assert top["change_usd"] == pytest.approx(top["cost_usd"] - top["previous_usd"], abs=0.01)
    increases = cost.largest_increases(demo_warehouse, latest, by="resource")
    assert (increases["change_usd"] > 0).all()
    assert list(increases["change_usd"]) == sorted(increases["change_usd"], reverse=True)


def test_unknown_grouping_is_a_spec_error(demo_warehouse, latest):
    with pytest.raises(SpecError, match="cannot group cost by"):
        cost.costs_in_month(demo_warehouse, latest, by="customer")


def test_app_footprint_is_the_tagged_rows(demo_warehouse, latest):
    footprint = cost.app_footprint(demo_warehouse)
    in_month = footprint[footprint["month_start"] == latest]
    tagged = usage_total(demo_warehouse, latest, "and tag_app = 'segment_studio'")
    assert in_month["cost_usd"].sum() == pytest.approx(tagged, abs=0.01)
    assert in_month["share_of_month"].iloc[0] == pytest.approx(tagged / usage_total(demo_warehouse, latest), rel=1e-6)


def test_price_context_shows_list_above_billed(demo_warehouse, latest):
    context = cost.price_context(demo_warehouse, latest)
    assert context["net_cost_usd"].sum() == pytest.approx(usage_total(demo_warehouse, latest), abs=0.05)
    assert (context["list_cost_usd"] >= context["net_cost_usd"]).all()
    assert len(cost.discounts_in_force(demo_warehouse, latest)) >= 1


@pytest.mark.parametrize("seconds, price, expected", [
    pytest.param(3600, 5.0, 5.0, id="an-hour"),
    pytest.param(90, 4.0, 0.1, id="ninety-seconds"),
    pytest.param(0, 5.0, 0.0, id="nothing"),
])
def test_estimate_action_cost(seconds, price, expected):
    duration, usd = cost.estimate_action_cost(seconds, price)
    assert duration == seconds
    assert usd == pytest.approx(expected)


@pytest.mark.parametrize("seconds, price", [(-1, 5.0), (10, -0.5)])
def test_estimate_action_cost_refuses_negative_input(seconds, price):
    with pytest.raises(SpecError):
        cost.estimate_action_cost(seconds, price)


def test_every_figure_of_the_page_comes_from_two_reads(demo_warehouse, latest):
    from services.warehouse.roundtrips import CountingWarehouse

    counted = CountingWarehouse(demo_warehouse)
    figures, usage = cost.monthly_figures(counted), cost.usage_figures(counted)
    assert counted.total == 2
    assert figures.months() == cost.months(demo_warehouse)
    for by in cost.DIMENSIONS:
        assert figures.monthly_costs(by).equals(cost.monthly_costs(demo_warehouse, by=by))
        assert figures.top_drivers(latest, by=by).equals(cost.top_drivers(demo_warehouse, latest, by=by))
    assert usage.price_context(latest).equals(cost.price_context(demo_warehouse, latest))
    footprint = usage.app_footprint(figures)
    direct = demo_warehouse.scalar(f"select sum(cost_amount_usd) from {USAGE} where tag_app = 'segment_studio'")
    assert footprint["cost_usd"].sum() == pytest.approx(float(direct), abs=0.05)
