-- query: checks whose latest result does not pass, from both the governance
-- source and the app's own checks.
-- grain: one row per source, dataset and check, its most recent evaluation,
-- kept only when that evaluation is not 'pass' ('warn' and 'fail' both count).
-- Critical checks come first, then outright failures before warnings.
with results as (

    select * from customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_fact_data_quality

),

ranked as (

    select
        *,
        row_number() over (partition by source, dataset_id, check_name order by checked_ts desc, dq_id desc) as recency_rank
    from results

),

final as (

    select
        source,
        dataset_id,
        check_name,
        check_type,
        severity,
        check_status as status,
        observed_value,
        threshold,
        details,
        checked_ts,
        run_id,
        dq_id
    from ranked
    where recency_rank = 1 and check_status <> 'pass'

)

select * from final
order by
    case when severity = 'critical' then 0 else 1 end,
    case when status = 'fail' then 0 else 1 end,
    checked_ts desc,
    dataset_id asc,
    check_name asc
