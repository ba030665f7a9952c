-- audit: currencies and days of raw transactions with no exchange rate on or
-- before the posting day (USD, the reporting currency, needs none).
-- grain: one row per currency with at least one unconvertible transaction.
with raw as (

    select
        currency,
        cast(posted_ts as date) as posted_date
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_raw_transactions
    where currency <> 'USD'

),

first_rates as (

    select
        currency,
        min(rate_date) as first_rate_date
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_ref_exchange_rates
    group by currency

),

final as (

    select
        r.currency,
        count(*) as transactions,
        min(r.posted_date) as first_posted_date
    from raw as r
    left join first_rates as f on r.currency = f.currency
    where f.first_rate_date is null or r.posted_date < f.first_rate_date
    group by r.currency

)

select * from final
order by currency
