-- query: the app's statements on its SQL warehouse, each with its share of the warehouse's list cost
-- grain: one row per statement the app ran (query_tags['app'] = 'segment-studio') since :since,
-- with the warehouse's list cost in the hour it started (hour_cost_usd).
-- Databricks bills a SQL warehouse by the hour it runs, never per statement. Each hour's list cost
-- (system.billing.usage priced at system.billing.list_prices' effective list price,
-- https://docs.databricks.com/en/admin/system-tables/pricing.html) is shared among the statements
-- that started in that hour, by their task time (system.query.history total_task_duration_ms,
-- https://docs.databricks.com/en/admin/system-tables/query-history.html): a list-price estimate.
with priced_usage as (

    select
        date_trunc('HOUR', usage.usage_start_time) as usage_hour,
        sum(usage.usage_quantity * prices.pricing.effective_list.`default`) as list_cost_usd
    from system.billing.usage as usage
    inner join system.billing.list_prices as prices
        on
            usage.sku_name = prices.sku_name
            and usage.cloud = prices.cloud
            and usage.usage_unit = prices.usage_unit
            and usage.usage_end_time >= prices.price_start_time
            and (prices.price_end_time is null or usage.usage_end_time < prices.price_end_time)
    where
        usage.usage_metadata.warehouse_id = :warehouse_id
        and usage.usage_date >= :since
    group by date_trunc('HOUR', usage.usage_start_time)

),

statements as (

    select
        date_trunc('HOUR', history.start_time) as usage_hour,
        history.query_tags['app'] as app,
        history.query_tags['page'] as page,
        history.query_tags['segment_id'] as segment_id,
        history.total_duration_ms,
        history.total_task_duration_ms,
        history.produced_rows
    from system.query.history as history
    where
        history.compute.warehouse_id = :warehouse_id
        and history.start_time >= :since

),

hourly_work as (

    select
        usage_hour,
        sum(total_task_duration_ms) as task_ms
    from statements
    group by usage_hour

),

final as (

    select
        statements.usage_hour,
        statements.page,
        statements.segment_id,
        statements.total_duration_ms,
        statements.produced_rows,
        coalesce(
            priced_usage.list_cost_usd * statements.total_task_duration_ms / nullif(hourly_work.task_ms, 0), 0
        ) as cost_usd,
        priced_usage.list_cost_usd as hour_cost_usd
    from statements
    inner join hourly_work on statements.usage_hour = hourly_work.usage_hour
    left join priced_usage on statements.usage_hour = priced_usage.usage_hour
    where statements.app = 'segment-studio'

)

select * from final
