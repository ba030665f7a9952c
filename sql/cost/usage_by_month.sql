-- query: daily usage rolled up per month with list price and the app tag
-- grain: one row per month, app tag, resource and cost centre.
-- fact_monthly_costs has no tag and no list cost; this reads the daily
-- fact for the app's own footprint and for discount context.
with usage as (

    select * from customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_fact_cost_usage

),

resources as (

    select
        resource_id,
        resource_name,
        resource_type
    from customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_resource_type

),

final as (

    select
        cast(date_trunc('MONTH', usage.usage_date) as date) as month_start,
        usage.tag_app,
        usage.resource_id,
        coalesce(resources.resource_name, usage.resource_id) as resource_name,
        coalesce(resources.resource_type, 'unknown') as resource_type,
        usage.cost_center_id,
        sum(usage.usage_quantity) as usage_quantity,
        sum(usage.list_cost_usd) as list_cost_usd,
        sum(usage.cost_amount_usd) as cost_amount_usd
    from usage
    left join resources on usage.resource_id = resources.resource_id
    group by 1, 2, 3, 4, 5, 6

)

select * from final
