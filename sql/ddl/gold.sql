-- Gold layer (customer_segmentation_for_retail_personalization_gold): features
-- marketers segment on. No PII here: names, emails, phones and addresses stay
-- in txn.dim_customer.

create schema if not exists customer_segmentation_for_retail_personalization_gold;

-- grain: one row per customer who has bought at least once (see
-- sql/models/gold/gold_customer_features.sql for every definition)
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_customer_features (
  customer_id string not null,
  as_of_date date not null,
  first_purchase_date date not null,
  last_purchase_date date not null,
  recency_days int not null,
  frequency bigint not null,
  monetary decimal(18, 2) not null,
  avg_order_value decimal(18, 2),
  tenure_days int not null,
  r_score int not null,
  f_score int not null,
  m_score int not null,
  fm_score int not null,
  rfm_cell string,
  rfm_segment string not null,
  lifecycle_stage string not null,
  spend_30d decimal(18, 2),
  spend_90d decimal(18, 2),
  spend_365d decimal(18, 2),
  orders_30d int,
  orders_90d int,
  orders_365d int,
  distinct_categories int,
  top_category string,
  top_channel string,
  online_share double,
  refund_rate double,
  discount_share double,
  mean_days_between_purchases double,
  days_since_previous_purchase int,
  region string,
  country string,
  loyalty_tier string,
  email_opt_in boolean,
  sms_opt_in boolean,
  push_opt_in boolean,
  gender string,
  age_band string,
  constraint gold_customer_features_pk primary key (customer_id)
);

-- grain: one row per customer and product category
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_customer_category_spend (
  customer_id string not null,
  category string not null,
  orders int,
  orders_90d int,
  purchase_amount decimal(18, 2),
  refund_amount decimal(18, 2),
  net_spend decimal(18, 2),
  first_purchase_date date,
  last_purchase_date date,
  constraint gold_customer_category_spend_pk primary key (customer_id, category)
);
