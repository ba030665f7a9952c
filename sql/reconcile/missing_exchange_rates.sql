-- audit: currencies of raw transactions that the pipeline's currency rule
-- (sql/models/ephemeral/exchange_rate_periods.sql: the latest rate on or before
-- the posting day) cannot convert, checked before the fact model runs. USD, the
-- reporting currency, needs no rate.
-- grain: one row per currency with at least one unconvertible transaction.
with raw as (

    select
        currency,
        cast(posted_ts as date) as posted_date
    from raw_transaction_postings
    where currency <> 'USD' and posting_problem is null

),

posting_days as (

    select
        currency,
        posted_date,
        count(*) as transactions
    from raw
    group by currency, posted_date

),

rates as (

    select * from exchange_rate_periods

),

unconvertible as (

    select
        d.currency,
        d.posted_date,
        d.transactions
    from posting_days as d
    left join rates as r
        on
            d.currency = r.currency
            and d.posted_date >= r.valid_from
            and d.posted_date < r.valid_to
    where r.currency is null

),

final as (

    select
        currency,
        cast(sum(transactions) as bigint) as transactions,
        min(posted_date) as first_posted_date
    from unconvertible
    group by currency

)

select * from final
order by currency
