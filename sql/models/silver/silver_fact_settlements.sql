-- model: silver_fact_settlements -> txn.fact_settlements
-- grain: one row per settlement_id (merchant and settlement day).
-- Currency: amounts are converted to the reporting currency (USD) by the
-- pipeline's one currency rule, exchange_rate_periods
-- (sql/models/ephemeral/exchange_rate_periods.sql): the latest rate on or before
-- the settlement day, the same rule as the transactions they settle, so a
-- settlement and its transactions convert at one rate. USD converts at 1. A
-- settlement with no rate on or before its day keeps null amounts and status
-- 'unconverted'.
with source as (

    select * from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stage_settlements

),

rates as (

    select * from exchange_rate_periods

),

settlement_days as (

    select distinct
        settlement_date,
        currency
    from source
    where currency <> 'USD'

),

-- the rate of each settlement day, looked up once per day and currency
day_rates as (

    select
        d.settlement_date,
        d.currency,
        r.rate_to_usd
    from settlement_days as d
    inner join rates as r
        on
            d.currency = r.currency
            and d.settlement_date >= r.valid_from
            and d.settlement_date < r.valid_to

),

converted as (

    select
        s.settlement_id,
        s.merchant_id,
        s.settlement_date,
        s.currency,
        s.transaction_count,
        case when s.currency = 'USD' then cast(1 as decimal(18, 8)) else r.rate_to_usd end as rate_to_usd,
        s.gross_amount,
        s.fee_amount,
        s.net_amount
    from source as s
    left join day_rates as r
        on
            s.currency = r.currency
            and s.settlement_date = r.settlement_date

),

final as (

    select
        settlement_id,
        merchant_id,
        settlement_date,
        currency,
        transaction_count,
        cast(round(gross_amount * rate_to_usd, 2) as decimal(18, 2)) as gross_amount_usd,
        cast(round(fee_amount * rate_to_usd, 2) as decimal(18, 2)) as fee_amount_usd,
        cast(round(net_amount * rate_to_usd, 2) as decimal(18, 2)) as net_amount_usd,
        case when rate_to_usd is null then 'unconverted' else 'settled' end as status_code
    from converted

)

select * from final
