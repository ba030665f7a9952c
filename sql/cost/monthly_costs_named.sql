-- query: monthly cost with the names of its cost centre, resource and region
-- grain: one row per month, cost centre, resource and region (as fact_monthly_costs).
-- Left joins and coalesced names: a cost row whose dimension row is missing
-- still counts in every total, shown under its id.
with monthly as (

    select * from customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_fact_monthly_costs

),

cost_centers as (

    select
        cost_center_id,
        cost_center_name,
        business_unit
    from customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center

),

resources as (

    select
        resource_id,
        resource_name,
        resource_type
    from customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_resource_type

),

regions as (

    select
        region_id,
        region_name
    from customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_region

),

final as (

    select
        monthly.month_start,
        monthly.cost_center_id,
        coalesce(cost_centers.cost_center_name, monthly.cost_center_id) as cost_center_name,
        monthly.resource_id,
        coalesce(resources.resource_name, monthly.resource_id) as resource_name,
        coalesce(resources.resource_type, 'unknown') as resource_type,
        monthly.region_id,
        coalesce(regions.region_name, monthly.region_id) as region_name,
        monthly.cost_amount_usd,
        monthly.usage_quantity,
        monthly.record_count
    from monthly
    left join cost_centers on monthly.cost_center_id = cost_centers.cost_center_id
    left join resources on monthly.resource_id = resources.resource_id
    left join regions on monthly.region_id = regions.region_id

)

select * from final
