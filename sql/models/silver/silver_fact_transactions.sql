-- model: silver_fact_transactions -> txn.fact_transactions
-- grain: one row per transaction_id.
-- Deduplication: a transaction delivered more than once keeps its latest
-- landing (latest landed_ts, then the greatest batch_id).
-- Posting dates: a landed record posted after the day it landed, or before
-- 1900, is left out (sql/models/ephemeral/raw_transaction_postings.sql) and
-- listed in ingest ref_parsing_errors by the build.
-- Currency: amounts are converted to the reporting currency (USD) by the
-- pipeline's one currency rule, exchange_rate_periods
-- (sql/models/ephemeral/exchange_rate_periods.sql): the latest rate on or before
-- the posting day, because rates are not published every day and a day without
-- one is booked at the last published rate. USD converts at 1. amount_usd is
-- rounded to cents per transaction.
with raw as (

    select * from raw_transaction_postings
    where posting_problem is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by transaction_id
            order by landed_ts desc, batch_id desc
        ) as landing_rank
    from raw

),

deduplicated as (

    select * from ranked
    where landing_rank = 1

),

rates as (

    select * from exchange_rate_periods

),

posting_days as (

    select distinct
        cast(posted_ts as date) as posted_date,
        currency
    from deduplicated
    where currency <> 'USD'

),

-- the rate of each posting day, looked up once per day and currency rather
-- than once per transaction
day_rates as (

    select
        d.posted_date,
        d.currency,
        r.rate_to_usd
    from posting_days as d
    inner join rates as r
        on
            d.currency = r.currency
            and d.posted_date >= r.valid_from
            and d.posted_date < r.valid_to

),

products as (

    select
        product_id,
        category
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_product

),

converted as (

    select
        t.transaction_id,
        t.account_id,
        t.customer_id,
        t.product_id,
        t.merchant_id,
        t.channel_code,
        p.category,
        t.txn_type,
        t.quantity,
        t.amount,
        t.currency,
        case when t.currency = 'USD' then cast(1 as decimal(18, 8)) else r.rate_to_usd end as fx_rate_to_usd,
        t.discount_amount,
        t.payment_method,
        t.posted_ts,
        cast(t.posted_ts as date) as posted_date,
        t.batch_id
    from deduplicated as t
    left join day_rates as r
        on
            r.posted_date = cast(t.posted_ts as date)
            and t.currency = r.currency
    left join products as p
        on t.product_id = p.product_id

),

final as (

    select
        transaction_id,
        account_id,
        customer_id,
        product_id,
        merchant_id,
        channel_code,
        category,
        txn_type,
        quantity,
        amount,
        currency,
        fx_rate_to_usd,
        cast(round(amount * fx_rate_to_usd, 2) as decimal(18, 2)) as amount_usd,
        cast(round(discount_amount * fx_rate_to_usd, 2) as decimal(18, 2)) as discount_usd,
        payment_method,
        posted_ts,
        posted_date,
        batch_id
    from converted

)

select * from final
