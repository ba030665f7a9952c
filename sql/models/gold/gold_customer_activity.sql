-- model: gold_customer_activity -> gold.gold_customer_activity
-- grain: one row per transaction_id, as in txn.fact_transactions.
-- The columns a segment's behavioural conditions filter and aggregate, in an
-- order that lets a date window and a category filter skip most of the table
-- (see the model's entry in services/pipeline/models.py). Nothing is derived
-- here: every value is the fact's own.
with facts as (

    select * from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions

),

final as (

    select
        transaction_id,
        customer_id,
        category,
        channel_code,
        merchant_id,
        product_id,
        txn_type,
        posted_date,
        amount_usd,
        batch_id
    from facts

)

select * from final
