-- model: silver_dim_customer -> txn.dim_customer
-- grain: one row per customer version (SCD type 2).
-- History comes from the customer CDC feed (ingest.stage_cdc), where every
-- record is a full image. A record identical to the previous version of the
-- same customer (a resend) does not open a new version. valid_to is the next
-- version's valid_from (exclusive); the current version has valid_to null and
-- is_current true. Customers that appear only in transactions (for example an
-- imported file) get one bare current version from their first transaction.
with cdc as (

    select * from customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_stage_cdc

),

hashed as (

    select
        *,
        md5(concat_ws(
            '|',
            coalesce(first_name, ''), coalesce(last_name, ''), coalesce(email, ''),
            coalesce(phone, ''), coalesce(address_line, ''), coalesce(city, ''),
            coalesce(region, ''), coalesce(postal_code, ''), coalesce(country, ''),
            coalesce(cast(birth_date as string), ''), coalesce(gender, ''),
            coalesce(loyalty_tier, ''), coalesce(cast(email_opt_in as string), ''),
            coalesce(cast(sms_opt_in as string), ''), coalesce(cast(push_opt_in as string), '')
        )) as record_hash
    from cdc

),

compared as (

    select
        *,
        lag(record_hash) over (partition by customer_id order by change_ts, change_id) as previous_hash
    from hashed

),

changes as (

    select * from compared
    where previous_hash is null or previous_hash <> record_hash

),

versioned as (

    select
        *,
        row_number() over (partition by customer_id order by change_ts, change_id) as version_number,
        lead(change_ts) over (partition by customer_id order by change_ts, change_id) as next_change_ts
    from changes

),

transaction_only as (

    select
        customer_id,
        min(posted_ts) as first_seen_ts
    from customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions
    where customer_id not in (select cdc.customer_id from cdc)
    group by customer_id

),

final as (

    select
        concat(customer_id, '-v', cast(version_number as string)) as customer_sk,
        customer_id,
        first_name,
        last_name,
        email,
        phone,
        address_line,
        city,
        region,
        postal_code,
        country,
        birth_date,
        gender,
        loyalty_tier,
        email_opt_in,
        sms_opt_in,
        push_opt_in,
        source_system_id,
        record_hash,
        change_ts as valid_from,
        next_change_ts as valid_to,
        next_change_ts is null as is_current
    from versioned

    union all

    select
        concat(customer_id, '-v1') as customer_sk,
        customer_id,
        cast(null as string) as first_name,
        cast(null as string) as last_name,
        cast(null as string) as email,
        cast(null as string) as phone,
        cast(null as string) as address_line,
        cast(null as string) as city,
        cast(null as string) as region,
        cast(null as string) as postal_code,
        cast(null as string) as country,
        cast(null as date) as birth_date,
        cast(null as string) as gender,
        cast(null as string) as loyalty_tier,
        cast(null as boolean) as email_opt_in,
        cast(null as boolean) as sms_opt_in,
        cast(null as boolean) as push_opt_in,
        'file_import' as source_system_id,
        cast(null as string) as record_hash,
        first_seen_ts as valid_from,
        cast(null as timestamp) as valid_to,
        true as is_current
    from transaction_only

)

select * from final
