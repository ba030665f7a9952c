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

-- grain: one row per transaction (as txn.fact_transactions): the columns behavioural
-- conditions read, stored by category and posting date so their filters skip most of it
-- (sql/models/gold/gold_customer_activity.sql)
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_customer_activity (
  transaction_id string not null,
  customer_id string not null,
  category string,
  channel_code string,
  merchant_id string,
  product_id string,
  txn_type string not null,
  posted_date date not null,
  amount_usd decimal(18, 2) not null,
  batch_id string,
  constraint gold_customer_activity_pk primary key (transaction_id)
);

-- grain: one row per column of the gold customer features (the catalog's features and the
-- other columns) and per filter of behavioural conditions, as the last build found them. The
-- build writes it after the data-quality checks (services/segments/catalog_writer.py); the
-- app reads it in one query (sql/models/gold/gold_feature_catalog.yml says what each column holds)
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_feature_catalog (
  field_name string not null,
  field_kind string not null,
  position int not null,
  field_type string,
  label string,
  description string,
  field_group string,
  unit string,
  is_integer boolean,
  picker string,
  row_count bigint not null,
  null_count bigint not null,
  null_rate double,
  min_value string,
  max_value string,
  median_value double,
  histogram_json string,
  values_json string,
  values_complete boolean,
  failing_checks_json string,
  as_of_date date,
  build_id string not null,
  built_ts timestamp not null,
  ddl_version string not null,
  constraint gold_feature_catalog_pk primary key (field_kind, field_name)
);

-- Cluster Explorer and Lookalikes (services/cluster_runs.py, services/lookalike_store.py).
-- These tables have no model: the pipeline never truncates them, so saved runs
-- and lookalike models survive every rebuild.

-- grain: one row per clustering run (or saved map selection, kind = 'selection')
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_cluster_runs (
  run_id string not null,
  kind string not null,
  name string not null,
  author string not null,
  created_ts timestamp not null,
  as_of_date date,
  algorithm string not null,
  scaling string,
  k int,
  features_json string not null,
  params_json string,
  cluster_ids_json string not null,
  profile_json string,
  customers bigint not null,
  fit_seconds double,
  map_points int,
  map_seconds double,
  constraint gold_cluster_runs_pk primary key (run_id)
);

-- grain: one row per run and customer
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_cluster_assignments (
  run_id string not null,
  cluster_id int not null,
  customer_id string not null,
  constraint gold_cluster_assignments_pk primary key (run_id, customer_id)
);

-- grain: one row per run and sampled customer (the saved 2-D UMAP map)
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_cluster_embeddings (
  run_id string not null,
  customer_id string not null,
  cluster_id int not null,
  x double not null,
  y double not null,
  constraint gold_cluster_embeddings_pk primary key (run_id, customer_id)
);

-- grain: one row per lookalike model
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_lookalike_models (
  model_id string not null,
  name string not null,
  author string not null,
  created_ts timestamp not null,
  as_of_date date,
  seed_segment_id string,
  seed_json string not null,
  seed_size bigint not null,
  eligible bigint not null,
  algorithm string not null,
  features_json string not null,
  summary_json string,
  auc double,
  fit_seconds double,
  constraint gold_lookalike_models_pk primary key (model_id)
);

-- grain: one row per model and eligible customer (everyone outside the seed);
-- reach_pct is the customer's rank percentile among them, best first (0-100]
create table if not exists customer_segmentation_for_retail_personalization_gold.customer_segmentation_for_retail_personalization_gold_lookalike_scores (
  model_id string not null,
  customer_id string not null,
  score double not null,
  reach_pct double not null,
  constraint gold_lookalike_scores_pk primary key (model_id, customer_id)
);
