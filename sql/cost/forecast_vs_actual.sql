-- query: the forecast made before each month against what the month cost
-- grain: one row per month that has a forecast, an actual, or both.
-- Future months carry a forecast and no actual; months before forecasting
-- began carry an actual and no forecast.
with forecasts as (

    select
        month_start,
        sum(forecast_amount_usd) as forecast_usd,
        sum(lower_bound_usd) as lower_usd,
        sum(upper_bound_usd) as upper_usd
    from customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_stage_forecasts
    group by month_start

),

actuals as (

    select
        month_start,
        sum(cost_amount_usd) as actual_usd
    from customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_fact_monthly_costs
    group by month_start

),

final as (

    select
        coalesce(forecasts.month_start, actuals.month_start) as month_start,
        forecasts.forecast_usd,
        forecasts.lower_usd,
        forecasts.upper_usd,
        actuals.actual_usd
    from forecasts
    full outer join actuals on forecasts.month_start = actuals.month_start

)

select * from final
