-- ephemeral: raw_transaction_postings
-- grain: one row per landed transaction record (txn.raw_transactions), with what
-- is wrong with its posting date: posting_problem is null for a record the facts
-- take in. A posting after the day its record landed (the load day) has not
-- happened yet: taken in, it would move the as-of date, and every relative window
-- with it, into the future. One before 1900-01-01 is a typo, not a purchase. The
-- build lists every rejected record in ingest ref_parsing_errors
-- (sql/reconcile/rejected_postings.sql); the fact model, reconciliation and the
-- exchange-rate check read only the accepted ones, so all three agree.
with raw as (

    select * from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_raw_transactions

),

final as (

    select
        batch_id,
        landed_ts,
        source_system_id,
        transaction_id,
        account_id,
        customer_id,
        product_id,
        merchant_id,
        channel_code,
        txn_type,
        quantity,
        amount,
        discount_amount,
        currency,
        payment_method,
        posted_ts,
        case
            when cast(posted_ts as date) > cast(landed_ts as date) then 'posted after the load day'
            when cast(posted_ts as date) < date '1900-01-01' then 'posted before 1900-01-01'
        end as posting_problem
    from raw

)

select * from final
