-- model: gold_customer_features -> gold.gold_customer_features
-- grain: one row per customer who has bought at least once (at least one
-- transaction of type 'purchase' posted on or before the as-of date).
--
-- Definitions
--   as_of_date        the latest posted_date in fact_transactions, unless the
--                     parameter :as_of_date is bound. Every relative window is
--                     measured from it, never from today's clock.
--   purchase / refund a transaction with txn_type 'purchase' / 'refund'.
--   "last N days"     posted_date > as_of_date - N: the as-of day and the N - 1
--                     days before it (days_ago < N).
--   recency_days      as_of_date - last_purchase_date, in days.
--   frequency         number of purchase transactions.
--   monetary          purchases minus refunds in USD (amount_usd is already
--                     rounded to cents per transaction), rounded to cents.
--   avg_order_value   purchase amount / frequency, rounded to cents.
--   tenure_days       as_of_date - first_purchase_date, in days.
--   spend_Nd          purchases minus refunds posted in the last N days.
--   orders_Nd         purchase transactions posted in the last N days.
--   online_share      share of purchases made on the web or app channels.
--   refund_rate       refund transactions / purchase transactions.
--   discount_share    share of purchases that carried a discount.
--   mean_days_between_purchases
--                     (last_purchase_date - first_purchase_date) / (frequency - 1);
--                     null for a single purchase.
--   top_category      category with the highest purchase amount (ties: name).
--   top_channel       channel with the most purchases (ties: name).
--
-- RFM scores, 1..5 with 5 best: score = least(5, 1 + floor(5 * percent_rank()))
-- where the ranking puts the worst customers first (largest recency, lowest
-- frequency, lowest monetary). percent_rank gives tied customers the same score,
-- so the scores are deterministic on every engine (ntile is not).
-- rfm_segment: the standard named map on r_score and
-- fm_score = floor((f_score + m_score + 1) / 2) (the mean of F and M, rounded half up):
--
--     fm \ r | 1                 2                 3                4                  5
--     -------+-------------------------------------------------------------------------------------
--       5    | Cannot Lose Them  Cannot Lose Them  Loyal            Loyal              Champions
--       4    | At Risk           At Risk           Loyal            Loyal              Champions
--       3    | At Risk           At Risk           Need Attention   Potential Loyalist Potential Loyalist
--       2    | Lost              Hibernating       About to Sleep   Potential Loyalist Potential Loyalist
--       1    | Lost              Hibernating       About to Sleep   Promising          New Customers
--
-- lifecycle_stage, first match wins, thresholds in lifecycle_thresholds:
--   new          first purchase within the last 60 days
--   reactivated  last purchase within the last 90 days, after a gap of more than
--                180 days since the purchase day before it
--   active       last purchase within the last 90 days
--   at_risk      last purchase 90 to 179 days ago
--   lapsed       last purchase 180 or more days ago
with params as (

    select coalesce(cast(:as_of_date as date), max(posted_date)) as as_of_date
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions

),

lifecycle_thresholds as (

    select
        60 as new_within_days,
        90 as active_within_days,
        180 as lapsed_after_days,
        180 as reactivation_gap_days

),

transactions as (

    select
        t.customer_id,
        t.txn_type,
        t.posted_date,
        t.amount_usd,
        t.discount_usd,
        t.channel_code,
        t.category,
        datediff(p.as_of_date, t.posted_date) as days_ago
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions as t
    cross join params as p
    where t.posted_date <= p.as_of_date

),

purchases as (

    select * from transactions
    where txn_type = 'purchase'

),

customer_summary as (

    -- purchases and refunds summed in one pass over the transactions
    -- (conditional aggregates) instead of two grouped scans and a join: the
    -- same definitions, half the reading and hashing
    select
        customer_id,
        min(case when txn_type = 'purchase' then posted_date end) as first_purchase_date,
        max(case when txn_type = 'purchase' then posted_date end) as last_purchase_date,
        cast(count_if(txn_type = 'purchase') as bigint) as frequency,
        sum(case when txn_type = 'purchase' then amount_usd end) as purchase_amount,
        sum(case when txn_type = 'purchase' and days_ago < 30 then amount_usd else 0 end) as purchases_30d,
        sum(case when txn_type = 'purchase' and days_ago < 90 then amount_usd else 0 end) as purchases_90d,
        sum(case when txn_type = 'purchase' and days_ago < 365 then amount_usd else 0 end) as purchases_365d,
        count_if(txn_type = 'purchase' and days_ago < 30) as orders_30d,
        count_if(txn_type = 'purchase' and days_ago < 90) as orders_90d,
        count_if(txn_type = 'purchase' and days_ago < 365) as orders_365d,
        -- shares are count / count (divided in base), a DOUBLE on every engine:
        -- avg() of a decimal 1.0/0.0 is a DECIMAL(6, 5) on Spark, and rounding
        -- that to 4 places rounds twice (5/11 = 0.454545 -> 0.45455 -> 0.4546)
        count_if(txn_type = 'purchase' and channel_code in ('web', 'app')) as online_orders,
        count_if(txn_type = 'purchase' and discount_usd > 0) as discounted_orders,
        count_if(txn_type = 'refund') as refund_count,
        sum(case when txn_type = 'refund' then amount_usd end) as refund_amount,
        sum(case when txn_type = 'refund' and days_ago < 30 then amount_usd else 0 end) as refunds_30d,
        sum(case when txn_type = 'refund' and days_ago < 90 then amount_usd else 0 end) as refunds_90d,
        sum(case when txn_type = 'refund' and days_ago < 365 then amount_usd else 0 end) as refunds_365d
    from transactions
    group by customer_id

),

purchase_summary as (

    -- buyers only: a customer who only refunded is not in the grain
    select * from customer_summary
    where frequency > 0

),

previous_purchase as (

    -- the latest purchase day before the last purchase day
    select
        p.customer_id,
        max(p.posted_date) as previous_purchase_date
    from purchases as p
    inner join purchase_summary as s
        on p.customer_id = s.customer_id and p.posted_date < s.last_purchase_date
    group by p.customer_id

),

category_ranking as (

    select
        customer_id,
        category,
        row_number() over (partition by customer_id order by category_amount desc, category asc) as category_rank,
        count(*) over (partition by customer_id) as distinct_categories
    from (
        select
            customer_id,
            category,
            sum(amount_usd) as category_amount
        from purchases
        where category is not null
        group by customer_id, category
    ) as by_category

),

channel_ranking as (

    select
        customer_id,
        channel_code,
        row_number() over (partition by customer_id order by channel_orders desc, channel_code asc) as channel_rank
    from (
        select
            customer_id,
            channel_code,
            count(*) as channel_orders
        from purchases
        where channel_code is not null
        group by customer_id, channel_code
    ) as by_channel

),

current_customers as (

    select
        customer_id,
        region,
        country,
        loyalty_tier,
        email_opt_in,
        sms_opt_in,
        push_opt_in,
        gender,
        birth_date
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_customer
    where is_current

),

-- The RFM measures and scores on their own: ranked on these few columns (three sorts of
-- a narrow table are cheap; of every column of base they were not), then joined to the rest.
rfm as (

    select
        s.customer_id,
        p.as_of_date,
        s.first_purchase_date,
        s.last_purchase_date,
        datediff(p.as_of_date, s.last_purchase_date) as recency_days,
        s.frequency,
        cast(round(s.purchase_amount - coalesce(s.refund_amount, 0), 2) as decimal(18, 2)) as monetary
    from purchase_summary as s
    cross join params as p

),

rfm_scores as (

    select
        *,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc))) as int) as r_score,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by frequency asc))) as int) as f_score,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by monetary asc))) as int) as m_score
    from rfm

),

base as (

    select
        r.customer_id,
        r.as_of_date,
        r.first_purchase_date,
        r.last_purchase_date,
        r.recency_days,
        r.frequency,
        r.monetary,
        r.r_score,
        r.f_score,
        r.m_score,
        -- divided in cents, so a half cent is exact on every engine: DuckDB divides
        -- a DECIMAL as DOUBLE, where 36.105 is 36.10499.. and would round down
        cast(round(s.purchase_amount * 100 / s.frequency) / 100 as decimal(18, 2)) as avg_order_value,
        datediff(p.as_of_date, s.first_purchase_date) as tenure_days,
        cast(round(s.purchases_30d - s.refunds_30d, 2) as decimal(18, 2)) as spend_30d,
        cast(round(s.purchases_90d - s.refunds_90d, 2) as decimal(18, 2)) as spend_90d,
        cast(round(s.purchases_365d - s.refunds_365d, 2) as decimal(18, 2)) as spend_365d,
        cast(s.orders_30d as int) as orders_30d,
        cast(s.orders_90d as int) as orders_90d,
        cast(s.orders_365d as int) as orders_365d,
        cast(coalesce(cat.distinct_categories, 0) as int) as distinct_categories,
        cat.category as top_category,
        ch.channel_code as top_channel,
        cast(round(s.online_orders / s.frequency, 4) as double) as online_share,
        cast(round(s.refund_count / s.frequency, 4) as double) as refund_rate,
        cast(round(s.discounted_orders / s.frequency, 4) as double) as discount_share,
        -- divided in hundredths of a day, so a half is exact: 651 / 40 = 16.275 is 16.27499.. as a
        -- DOUBLE and would round down; 65100 / 40 = 1627.5 rounds up on every engine
        case
            when s.frequency > 1
                then cast(
                    round(datediff(s.last_purchase_date, s.first_purchase_date) * 100 / (s.frequency - 1)) / 100 as double
                )
        end as mean_days_between_purchases,
        datediff(s.last_purchase_date, d.previous_purchase_date) as days_since_previous_purchase,
        c.region,
        c.country,
        c.loyalty_tier,
        c.email_opt_in,
        c.sms_opt_in,
        c.push_opt_in,
        c.gender,
        case
            when c.birth_date is null then null
            else
                year(p.as_of_date) - year(c.birth_date)
                - case
                    when month(p.as_of_date) * 100 + day(p.as_of_date) < month(c.birth_date) * 100 + day(c.birth_date)
                        then 1
                    else 0
                end
        end as age_years
    from rfm_scores as r
    inner join purchase_summary as s on r.customer_id = s.customer_id
    cross join params as p
    left join previous_purchase as d on s.customer_id = d.customer_id
    left join category_ranking as cat on s.customer_id = cat.customer_id and cat.category_rank = 1
    left join channel_ranking as ch on s.customer_id = ch.customer_id and ch.channel_rank = 1
    left join current_customers as c on s.customer_id = c.customer_id

),

segmented as (

    select
        *,
        cast(floor((f_score + m_score + 1) / 2) as int) as fm_score
    from base

),

final as (

    select
        s.customer_id,
        s.as_of_date,
        s.first_purchase_date,
        s.last_purchase_date,
        s.recency_days,
        s.frequency,
        s.monetary,
        s.avg_order_value,
        s.tenure_days,
        s.r_score,
        s.f_score,
        s.m_score,
        s.fm_score,
        concat(cast(s.r_score as string), cast(s.f_score as string), cast(s.m_score as string)) as rfm_cell,
        case
            when s.r_score <= 2 and s.fm_score = 5 then 'Cannot Lose Them'
            when s.r_score <= 2 and s.fm_score >= 3 then 'At Risk'
            when s.r_score = 1 then 'Lost'
            when s.r_score = 2 then 'Hibernating'
            when s.r_score = 3 and s.fm_score >= 4 then 'Loyal'
            when s.r_score = 3 and s.fm_score = 3 then 'Need Attention'
            when s.r_score = 3 then 'About to Sleep'
            when s.r_score = 4 and s.fm_score >= 4 then 'Loyal'
            when s.r_score = 4 and s.fm_score >= 2 then 'Potential Loyalist'
            when s.r_score = 4 then 'Promising'
            when s.fm_score >= 4 then 'Champions'
            when s.fm_score >= 2 then 'Potential Loyalist'
            else 'New Customers'
        end as rfm_segment,
        case
            when s.tenure_days < t.new_within_days then 'new'
            when
                s.recency_days < t.active_within_days
                and s.days_since_previous_purchase > t.reactivation_gap_days then 'reactivated'
            when s.recency_days < t.active_within_days then 'active'
            when s.recency_days < t.lapsed_after_days then 'at_risk'
            else 'lapsed'
        end as lifecycle_stage,
        s.spend_30d,
        s.spend_90d,
        s.spend_365d,
        s.orders_30d,
        s.orders_90d,
        s.orders_365d,
        s.distinct_categories,
        s.top_category,
        s.top_channel,
        s.online_share,
        s.refund_rate,
        s.discount_share,
        s.mean_days_between_purchases,
        s.days_since_previous_purchase,
        s.region,
        s.country,
        s.loyalty_tier,
        s.email_opt_in,
        s.sms_opt_in,
        s.push_opt_in,
        s.gender,
        case
            when s.age_years is null then 'unknown'
            when s.age_years < 25 then '18-24'
            when s.age_years < 35 then '25-34'
            when s.age_years < 45 then '35-44'
            when s.age_years < 55 then '45-54'
            when s.age_years < 65 then '55-64'
            else '65+'
        end as age_band
    from segmented as s
    cross join lifecycle_thresholds as t

)

select * from final
