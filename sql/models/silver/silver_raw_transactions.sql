-- model: silver_raw_transactions -> txn.raw_transactions
-- grain: one row per landed transaction record (duplicate deliveries are kept;
-- the fact model deduplicates). Typed and normalised copy of the immutable
-- landing zone: codes trimmed and lower-cased, currency upper-cased.
with source as (

    select * from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stg_transactions

),

renamed as (

    select
        batch_id,
        landed_ts,
        lower(trim(source_system_id)) as source_system_id,
        trim(transaction_id) as transaction_id,
        nullif(trim(account_id), '') as account_id,
        trim(customer_id) as customer_id,
        nullif(trim(product_id), '') as product_id,
        nullif(trim(merchant_id), '') as merchant_id,
        lower(trim(channel_code)) as channel_code,
        lower(trim(txn_type)) as txn_type,
        quantity,
        amount,
        coalesce(discount_amount, 0) as discount_amount,
        upper(trim(currency)) as currency,
        lower(trim(payment_method)) as payment_method,
        posted_ts
    from source

),

final as (

    select * from renamed

)

select * from final
