-- audit: the landed transaction records the facts leave out for their posting date
-- (sql/models/ephemeral/raw_transaction_postings.sql), as ingest ref_parsing_errors
-- rows. The build appends the ones not logged yet (error_id is stable per batch and
-- transaction), so each rejection is listed once however many builds see it.
-- grain: one row per rejected landed record (batch_id, transaction_id).
with rejected as (

    select * from raw_transaction_postings
    where posting_problem is not null

),

landed as (

    -- where the record came from, for the people who fix it
    select
        batch_id,
        transaction_id,
        min(source_file) as source_file,
        min(line_number) as line_number
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stg_transactions
    group by batch_id, transaction_id

),

final as (

    select
        concat('posting:', r.batch_id, ':', r.transaction_id) as error_id,
        r.batch_id,
        coalesce(l.source_file, concat('landing zone (', r.source_system_id, ')')) as source_file,
        l.line_number,
        concat_ws(
            ',', r.transaction_id, r.customer_id, r.txn_type, cast(r.amount as string), r.currency,
            cast(r.posted_ts as string)
        ) as raw_line,
        'posted_ts' as column_name,
        concat(
            r.posting_problem, ': ', coalesce(cast(cast(r.posted_ts as date) as string), 'none'),
            ' (landed ', cast(cast(r.landed_ts as date) as string), ')'
        ) as reason,
        r.source_system_id
    from rejected as r
    left join landed as l
        on r.batch_id = l.batch_id and r.transaction_id = l.transaction_id

)

select * from final
