-- audit: raw -> fact for transactions.
-- grain: one row. Source is the latest landing of every distinct transaction
-- in raw_transactions; target is fact_transactions. The checksum combines an
-- XOR of the transaction ids' hashes (catches a dropped, added or replaced
-- row) with the sum of original-currency amounts (catches a changed amount).
with latest as (

    select transaction_id, amount
    from (
        select
            transaction_id,
            amount,
            row_number() over (partition by transaction_id order by landed_ts desc, batch_id desc) as landing_rank
        from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_raw_transactions
    ) as ranked
    where landing_rank = 1

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

select * from source cross join target
