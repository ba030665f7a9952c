-- query: the latest load of every landed transaction batch, stg -> raw.
-- grain: one row per batch_id and target table, its most recent audit row
-- (latest finished_ts, then audit_id), so a re-landed batch shows once.
with audits as (

    select * from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_audit_txn_ingest

),

ranked as (

    select
        *,
        row_number() over (partition by batch_id, target_table order by finished_ts desc, audit_id desc) as recency_rank
    from audits

),

final as (

    select
        batch_id,
        run_id,
        source_rows,
        target_rows,
        source_checksum,
        target_checksum,
        status,
        started_ts,
        finished_ts,
        source_table,
        target_table,
        audit_id
    from ranked
    where recency_rank = 1

)

select * from final
order by batch_id, target_table
