-- audit: landing zone -> raw, per batch.
-- grain: one row per batch_id found on either side. The raw model is a typed
-- copy of every landed record, so counts and amount sums must match exactly.
with source as (

    select
        batch_id,
        count(*) as source_rows,
        sum(amount) as source_amount
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stg_transactions
    group by batch_id

),

target as (

    select
        batch_id,
        count(*) as target_rows,
        sum(amount) as target_amount
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_raw_transactions
    group by batch_id

),

final as (

    select
        coalesce(s.batch_id, t.batch_id) as batch_id,
        coalesce(s.source_rows, 0) as source_rows,
        coalesce(t.target_rows, 0) as target_rows,
        cast(coalesce(s.source_amount, 0) as string) as source_checksum,
        cast(coalesce(t.target_amount, 0) as string) as target_checksum
    from source as s
    full outer join target as t on s.batch_id = t.batch_id

)

select * from final
order by batch_id
