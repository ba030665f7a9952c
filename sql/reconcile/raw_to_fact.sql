-- audit: raw -> fact for transactions.
-- grain: one row. Source is the latest accepted landing of every distinct
-- transaction in raw_transactions (a posting after its load day is rejected,
-- see sql/models/ephemeral/raw_transaction_postings.sql); target is
-- fact_transactions. The checksum combines an
-- XOR of the transaction ids' hashes (catches a dropped, added or replaced
-- row) with the sum of original-currency amounts (catches a changed amount).
with latest as (

    -- the amount of each transaction's latest landing (latest landed_ts, then
    -- greatest batch_id), found with one hash aggregation instead of a sort
    select
        transaction_id,
        max_by(amount, concat(cast(landed_ts as string), batch_id)) as amount
    from raw_transaction_postings
    -- the records the facts take in (rejected postings are in ref_parsing_errors)
    where posting_problem is null
    group by transaction_id

),

source as (

    select
        count(*) as source_rows,
        concat(cast(coalesce(bit_xor(hash(transaction_id)), 0) as string), ':', cast(coalesce(sum(amount), 0) as string)) as source_checksum
    from latest

),

target as (

    select
        count(*) as target_rows,
        concat(cast(coalesce(bit_xor(hash(transaction_id)), 0) as string), ':', cast(coalesce(sum(amount), 0) as string)) as target_checksum
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions

)

select
    source.*,
    target.*
from source cross join target
