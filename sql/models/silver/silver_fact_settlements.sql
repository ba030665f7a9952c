-- model: silver_fact_settlements -> txn.fact_settlements
-- grain: one row per settlement_id (merchant and settlement day), in USD at
-- the settlement day's rate (USD converts at 1).
with source as (

    select * from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stage_settlements

),

rates as (

    select
        rate_date,
        currency,
        rate_to_usd
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_ref_exchange_rates

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
    left join rates as r
        on
            s.currency = r.currency
            and s.settlement_date = r.rate_date

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
