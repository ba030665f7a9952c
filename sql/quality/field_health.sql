-- query: what the last build found of each gold column: null rate, as-of date, failing checks
-- grain: one row per column of the gold customer features, in the catalog's order (features first)
with source as (

    select * from customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_feature_catalog
    where field_kind in ('feature', 'column')

),

final as (

    select
        field_name,
        field_kind,
        position,
        null_rate,
        as_of_date,
        failing_checks_json
    from source

)

select * from final
order by field_kind desc, position asc
