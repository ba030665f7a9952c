-- query: the latest result of every data-quality check the app runs
-- grain: one row per dataset and check (source 'app'), its most recent evaluation.
-- Ties on checked_ts (one run writes all its rows at one instant) cannot occur
-- within a check, but dq_id breaks them deterministically if a check is re-run.
with source as (

    select * from customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_fact_data_quality
    where source = 'app'

),

ranked as (

    select
        *,
        row_number() over (partition by dataset_id, check_name order by checked_ts desc, dq_id desc) as recency_rank
    from source

),

final as (

    select
        dataset_id,
        check_name,
        check_type,
        severity,
        check_status as status,
        observed_value,
        threshold,
        details,
        checked_ts,
        run_id
    from ranked
    where recency_rank = 1

)

select * from final
order by dataset_id, check_name
