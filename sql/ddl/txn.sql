-- Source E: canonical transactions (customer_segmentation_for_retail_personalization_txn).
-- Databricks SQL. Keys are informational constraints (not enforced on Databricks;
-- dropped for DuckDB); the data-quality checks verify them after every build.
-- Zones: stg_* is the immutable landing zone (append-only, never rewritten);
-- raw_* is the typed, normalised copy of everything landed (duplicates kept);
-- fact_*/dim_* are the deduplicated, currency-converted silver layer.

create schema if not exists customer_segmentation_for_retail_personalization_txn;

-- grain: one row per status code used by any txn table
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_status (
  status_code string not null,
  status_name string,
  description string,
  applies_to string,
  constraint txn_dim_status_pk primary key (status_code)
);

-- grain: one row per calendar day of the data's range
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_time (
  date_key int not null,
  calendar_date date not null,
  year int,
  quarter int,
  month int,
  month_name string,
  week_of_year int,
  day_of_month int,
  iso_day_of_week int,
  is_weekend boolean,
  is_holiday boolean,
  holiday_name string,
  fiscal_year int,
  constraint dim_time_pk primary key (date_key)
);

-- grain: one row per sales channel (web, app, store)
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_channel (
  channel_code string not null,
  channel_name string,
  is_online boolean,
  status_code string,
  constraint dim_channel_pk primary key (channel_code)
);

-- grain: one row per merchant (own stores, own web/app shops, marketplace partners)
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_merchant (
  merchant_id string not null,
  merchant_name string,
  merchant_type string,
  channel_code string,
  region string,
  country string,
  opened_date date,
  status_code string,
  constraint dim_merchant_pk primary key (merchant_id),
  constraint dim_merchant_fk_channel foreign key (channel_code) references customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_channel (channel_code)
);

-- grain: one row per product (SKU)
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_product (
  product_id string not null,
  sku string,
  product_name string,
  category string,
  subcategory string,
  brand string,
  list_price_usd decimal(18, 2),
  launched_date date,
  status_code string,
  constraint dim_product_pk primary key (product_id)
);

-- grain: one row per customer version (SCD type 2 over the customer CDC feed);
-- exactly one row per customer has is_current = true
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_customer (
  customer_sk string not null,
  customer_id string not null,
  first_name string,
  last_name string,
  email string,
  phone string,
  address_line string,
  city string,
  region string,
  postal_code string,
  country string,
  birth_date date,
  gender string,
  loyalty_tier string,
  email_opt_in boolean,
  sms_opt_in boolean,
  push_opt_in boolean,
  source_system_id string,
  record_hash string,
  valid_from timestamp not null,
  valid_to timestamp,
  is_current boolean not null,
  constraint dim_customer_pk primary key (customer_sk)
);

-- grain: one row per customer account (loyalty card, web account, app account)
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_account (
  account_id string not null,
  customer_id string not null,
  account_type string,
  opened_ts timestamp,
  status_code string,
  constraint dim_account_pk primary key (account_id)
);

-- grain: one row per currency and day: units of the reporting currency (USD) per unit
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_ref_exchange_rates (
  rate_date date not null,
  currency string not null,
  rate_to_usd decimal(18, 8) not null,
  source string,
  constraint ref_exchange_rates_pk primary key (rate_date, currency)
);

-- grain: one row per fee rule (channel and payment method, valid period)
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_ref_fee_schedule (
  fee_id string not null,
  channel_code string,
  payment_method string,
  fee_pct decimal(9, 6),
  fee_fixed decimal(18, 2),
  currency string,
  valid_from date,
  valid_to date,
  constraint ref_fee_schedule_pk primary key (fee_id)
);

-- grain: one row per transaction limit rule
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_ref_limits (
  limit_id string not null,
  limit_name string,
  txn_type string,
  channel_code string,
  max_amount decimal(18, 2),
  currency string,
  action string,
  constraint ref_limits_pk primary key (limit_id)
);

-- grain: one row per landed transaction record, exactly as delivered.
-- Immutable landing zone: append-only; a rebuild never rewrites it.
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stg_transactions (
  batch_id string not null,
  landed_ts timestamp not null,
  source_system_id string,
  source_file string,
  line_number bigint,
  transaction_id string,
  account_id string,
  customer_id string,
  product_id string,
  merchant_id string,
  channel_code string,
  txn_type string,
  quantity int,
  amount decimal(18, 2),
  discount_amount decimal(18, 2),
  currency string,
  payment_method string,
  posted_ts timestamp
);

-- grain: one row per landed record, typed and normalised (codes trimmed and
-- lower-cased, currency upper-cased); duplicates of a transaction are kept
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_raw_transactions (
  batch_id string not null,
  landed_ts timestamp not null,
  source_system_id string,
  transaction_id string not null,
  account_id string,
  customer_id string not null,
  product_id string,
  merchant_id string,
  channel_code string,
  txn_type string not null,
  quantity int,
  amount decimal(18, 2) not null,
  discount_amount decimal(18, 2),
  currency string not null,
  payment_method string,
  posted_ts timestamp not null
);

-- grain: one row per transaction (deduplicated on transaction_id, latest landing
-- wins), amounts converted to the reporting currency (USD) with the rate of the
-- posting day (or the latest earlier rate)
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_transactions (
  transaction_id string not null,
  account_id string,
  customer_id string not null,
  product_id string,
  merchant_id string,
  channel_code string,
  category string,
  txn_type string not null,
  quantity int,
  amount decimal(18, 2) not null,
  currency string not null,
  fx_rate_to_usd decimal(18, 8) not null,
  amount_usd decimal(18, 2) not null,
  discount_usd decimal(18, 2),
  payment_method string,
  posted_ts timestamp not null,
  posted_date date not null,
  batch_id string,
  constraint fact_transactions_pk primary key (transaction_id),
  constraint fact_transactions_fk_account foreign key (account_id) references customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_account (account_id),
  constraint fact_transactions_fk_product foreign key (product_id) references customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_product (product_id),
  constraint fact_transactions_fk_merchant foreign key (merchant_id) references customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_merchant (merchant_id),
  constraint fact_transactions_fk_channel foreign key (channel_code) references customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_channel (channel_code)
);

-- grain: one row per merchant settlement file line as delivered by the payment processor
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stage_settlements (
  settlement_id string not null,
  batch_id string,
  merchant_id string,
  settlement_date date,
  currency string,
  transaction_count bigint,
  gross_amount decimal(18, 2),
  fee_amount decimal(18, 2),
  net_amount decimal(18, 2),
  landed_ts timestamp
);

-- grain: one row per merchant and settlement day, in the reporting currency
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_settlements (
  settlement_id string not null,
  merchant_id string,
  settlement_date date,
  currency string,
  transaction_count bigint,
  gross_amount_usd decimal(18, 2),
  fee_amount_usd decimal(18, 2),
  net_amount_usd decimal(18, 2),
  status_code string,
  constraint fact_settlements_pk primary key (settlement_id),
  constraint fact_settlements_fk_merchant foreign key (merchant_id) references customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_merchant (merchant_id)
);

-- grain: one row per processor-reported daily total used to reconcile facts
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stage_reconciliations (
  reconciliation_id string not null,
  recon_date date,
  merchant_id string,
  currency string,
  reported_count bigint,
  reported_amount decimal(18, 2),
  landed_ts timestamp
);

-- grain: one row per manual adjustment to a transaction (goodwill credit, price correction)
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_stage_adjustments (
  adjustment_id string not null,
  transaction_id string,
  adjustment_type string,
  amount decimal(18, 2),
  currency string,
  reason string,
  landed_ts timestamp
);

-- grain: one row per account and month end: loyalty points and store credit balance
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_fact_balance_snapshots (
  snapshot_date date not null,
  account_id string not null,
  customer_id string,
  loyalty_points bigint,
  store_credit_usd decimal(18, 2),
  constraint fact_balance_snapshots_pk primary key (snapshot_date, account_id),
  constraint fact_balance_snapshots_fk_account foreign key (account_id) references customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_dim_account (account_id)
);

-- grain: one row per landed batch and target: source and target counts and checksums
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_audit_txn_ingest (
  audit_id string not null,
  run_id string,
  batch_id string,
  source_table string,
  target_table string,
  source_rows bigint,
  target_rows bigint,
  source_checksum string,
  target_checksum string,
  status string,
  started_ts timestamp,
  finished_ts timestamp,
  constraint audit_txn_ingest_pk primary key (audit_id)
);

-- grain: one row per pipeline run and reconciliation check (raw -> fact)
create table if not exists customer_segmentation_for_retail_personalization_txn.customer_segmentation_for_retail_personalization_audit_recon (
  recon_id string not null,
  run_id string,
  check_name string,
  source_table string,
  target_table string,
  source_rows bigint,
  target_rows bigint,
  source_checksum string,
  target_checksum string,
  status string,
  message string,
  checked_ts timestamp,
  constraint txn_audit_recon_pk primary key (recon_id)
);
