-- model: gold_customer_category_spend -> gold.gold_customer_category_spend
-- grain: one row per customer and product category with at least one purchase
-- or refund on or before the as-of date (same as-of rule as the features).
with params as (

    select coalesce(cast(:as_of_date as date), max(posted_date)) as as_of_date
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions

),

transactions as (

    select
        t.customer_id,
        t.category,
        t.txn_type,
        t.amount_usd,
        t.posted_date,
        datediff(p.as_of_date, t.posted_date) as days_ago
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions as t
    cross join params as p
    where t.posted_date <= p.as_of_date and t.category is not null

),

final as (

    select
        customer_id,
        category,
        cast(count_if(txn_type = 'purchase') as int) as orders,
        cast(count_if(txn_type = 'purchase' and days_ago < 90) as int) as orders_90d,
        cast(round(sum(case when txn_type = 'purchase' then amount_usd else 0 end), 2) as decimal(18, 2)) as purchase_amount,
        cast(round(sum(case when txn_type = 'refund' then amount_usd else 0 end), 2) as decimal(18, 2)) as refund_amount,
        cast(round(sum(case when txn_type = 'purchase' then amount_usd else -amount_usd end), 2) as decimal(18, 2)) as net_spend,
        min(case when txn_type = 'purchase' then posted_date end) as first_purchase_date,
        max(case when txn_type = 'purchase' then posted_date end) as last_purchase_date
    from transactions
    group by customer_id, category

)

select * from final
