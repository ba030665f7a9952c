-- ephemeral model: exchange_rate_periods, the one currency rule of the pipeline.
-- Not a table: a model or check that names exchange_rate_periods gets this query
-- as a CTE (services/sqlfiles.py), so every conversion to the reporting currency
-- (USD) follows the same rule: silver_fact_transactions, silver_fact_settlements
-- and the build's check for unconvertible transactions (reconcile/missing_exchange_rates.sql).
-- grain: one row per currency and rate date.
--
-- Rule: an amount of day d converts at the latest rate published on or before d.
-- Rates are published on business days (ECB-style reference rates skip weekends
-- and holidays), so an exact-date rule would leave every weekend unconverted;
-- the last published rate is what such a day is booked at. A rate holds from its
-- own date (valid_from) until the next published date (valid_to, exclusive;
-- 9999-12-31 for the latest), so "the rate of day d" is the one period with
-- valid_from <= d < valid_to. A day before a currency's first rate has none: the
-- build stops on such transactions, and settlements keep status 'unconverted'.
-- USD needs no rate: consumers convert it at 1.
with published as (

    select
        currency,
        rate_date,
        rate_to_usd
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_ref_exchange_rates

),

final as (

    select
        currency,
        rate_date as valid_from,
        coalesce(
            lead(rate_date) over (partition by currency order by rate_date),
            cast('9999-12-31' as date)
        ) as valid_to,
        rate_to_usd
    from published

)

select * from final
