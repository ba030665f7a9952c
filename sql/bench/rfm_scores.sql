-- bench: the RFM step of gold_customer_features on its own, so that it can be
-- timed against pandas (bench/pipeline.py). It must keep exactly the gold
-- model's definitions (sql/models/gold/gold_customer_features.sql); the
-- benchmark checks its rows against the built gold table.
-- grain: one row per customer with at least one purchase on or before the
-- as-of date.
--   as_of_date    latest posted_date in fact_transactions unless :as_of_date is bound.
--   recency_days  as_of_date - last_purchase_date, in days.
--   frequency     number of purchase transactions.
--   monetary      purchases minus refunds in USD, rounded to cents.
--   r/f/m_score   least(5, 1 + floor(5 * percent_rank())), worst customers
--                 ranked first (largest recency, lowest frequency, lowest monetary).
with params as (

    select coalesce(cast(:as_of_date as date), max(posted_date)) as as_of_date
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions

),

transactions as (

    select
        t.customer_id,
        t.txn_type,
        t.posted_date,
        t.amount_usd
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions as t
    cross join params as p
    where t.posted_date <= p.as_of_date

),

-- Purchases and refunds are summed in one pass over the facts (conditional
-- aggregates) instead of two grouped scans: the same definitions, half the
-- reading and hashing.
summary as (

    select
        customer_id,
        min(case when txn_type = 'purchase' then posted_date end) as first_purchase_date,
        max(case when txn_type = 'purchase' then posted_date end) as last_purchase_date,
        count_if(txn_type = 'purchase') as frequency,
        sum(case when txn_type = 'purchase' then amount_usd end) as purchase_amount,
        sum(case when txn_type = 'refund' then amount_usd end) as refund_amount
    from transactions
    group by customer_id

),

base as (

    select
        s.customer_id,
        p.as_of_date,
        s.first_purchase_date,
        s.last_purchase_date,
        datediff(p.as_of_date, s.last_purchase_date) as recency_days,
        s.frequency,
        cast(round(s.purchase_amount - coalesce(s.refund_amount, 0), 2) as decimal(18, 2)) as monetary
    from summary as s
    cross join params as p
    -- a customer with refunds only has no purchase row in gold either
    where s.frequency > 0

),

scored as (

    select
        *,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc))) as int) as r_score,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by frequency asc))) as int) as f_score,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by monetary asc))) as int) as m_score
    from base

)

select
    customer_id,
    as_of_date,
    first_purchase_date,
    last_purchase_date,
    recency_days,
    frequency,
    monetary,
    r_score,
    f_score,
    m_score
from scored
