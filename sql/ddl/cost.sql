-- Source D: cost, billing and usage of the cloud and Databricks resources the
-- retailer's data platform runs on. Money is DECIMAL(18,2); usd columns are
-- converted at the month's rate from ref_rates. Referenced tables come first
-- because Unity Catalog checks a foreign key against an existing primary key.

create schema if not exists customer_segmentation_for_retail_personalization_cost;

-- grain: one row per ISO 4217 currency
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_currency (
  currency_code string not null,
  currency_name string not null,
  minor_units int not null,
  constraint cost_currency_pk primary key (currency_code)
);

-- grain: one row per cloud region resources are billed in
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_region (
  region_id string not null,
  region_name string not null,
  cloud string not null,
  constraint cost_region_pk primary key (region_id)
);

-- grain: one row per cost centre charged for platform usage
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (
  cost_center_id string not null,
  cost_center_name string not null,
  business_unit string not null,
  owner_email string not null,
  status string not null,
  created_ts timestamp,
  constraint cost_cost_center_pk primary key (cost_center_id)
);

-- grain: one row per billable resource (a warehouse, a job cluster family, a storage account, an app)
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_resource_type (
  resource_id string not null,
  resource_name string not null,
  resource_type string not null,
  unit string not null,
  status string not null,
  created_ts timestamp,
  constraint cost_resource_type_pk primary key (resource_id)
);

-- grain: one row per status code used by the cost tables
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_status (
  status_code string not null,
  status_name string not null,
  status_group string not null,
  description string,
  is_terminal boolean not null,
  is_error boolean not null,
  sort_order int not null,
  constraint cost_status_pk primary key (status_code)
);

-- grain: one row per cloud billing account
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_billing_account (
  billing_account_id string not null,
  account_name string not null,
  cloud string not null,
  currency_code string not null,
  payer_account string,
  status string not null,
  created_ts timestamp,
  constraint cost_billing_account_pk primary key (billing_account_id),
  constraint cost_billing_account_fk_currency foreign key (currency_code) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_currency (currency_code)
);

-- grain: one row per allowed tag key and value of the tagging policy
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_tagging (
  tagging_id string not null,
  tag_key string not null,
  tag_value string not null,
  description string,
  cost_center_id string,
  is_required boolean not null,
  created_ts timestamp,
  constraint cost_tagging_pk primary key (tagging_id),
  constraint cost_tagging_fk_cost_center foreign key (cost_center_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (cost_center_id)
);

-- grain: one row per currency and month (month-average rate)
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_ref_rates (
  rate_id string not null,
  currency_code string not null,
  rate_month date not null,
  usd_per_unit decimal(18, 8) not null,
  rate_source string,
  constraint cost_rates_pk primary key (rate_id),
  constraint cost_rates_fk_currency foreign key (currency_code) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_currency (currency_code)
);

-- grain: one row per SKU, region and price validity period
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_ref_price_catalog (
  price_id string not null,
  sku_name string not null,
  resource_type string not null,
  region_id string not null,
  unit string not null,
  list_price_usd decimal(18, 6) not null,
  effective_from date not null,
  effective_to date,
  constraint cost_price_catalog_pk primary key (price_id),
  constraint cost_price_catalog_fk_region foreign key (region_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_region (region_id)
);

-- grain: one row per negotiated discount of a billing account and resource type
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_ref_discounts (
  discount_id string not null,
  billing_account_id string not null,
  resource_type string,
  discount_pct double not null,
  commitment_usd decimal(18, 2),
  description string,
  effective_from date not null,
  effective_to date,
  constraint cost_discounts_pk primary key (discount_id),
  constraint cost_discounts_fk_billing_account foreign key (billing_account_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_billing_account (billing_account_id)
);

-- grain: one row per rule that moves a share of a cost centre's spend to another
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_ref_chargeback_rules (
  rule_id string not null,
  rule_name string not null,
  resource_type string,
  source_cost_center_id string not null,
  target_cost_center_id string not null,
  allocation_pct double not null,
  basis string not null,
  effective_from date not null,
  effective_to date,
  status string not null,
  constraint cost_chargeback_rules_pk primary key (rule_id),
  constraint cost_chargeback_rules_fk_source foreign key (source_cost_center_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (cost_center_id),
  constraint cost_chargeback_rules_fk_target foreign key (target_cost_center_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (cost_center_id)
);

-- grain: one row per line of a landed billing export file; append-only
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_stg_billing_records (
  batch_id string not null,
  source_file string not null,
  line_number bigint not null,
  raw_line string not null,
  landed_ts timestamp not null,
  constraint cost_stg_billing_records_pk primary key (batch_id, line_number)
);

-- grain: one row per billing line parsed out of the landing zone
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_raw_billing (
  raw_billing_id string not null,
  batch_id string not null,
  line_number bigint not null,
  billing_account_id string,
  sku_name string,
  usage_date date,
  usage_quantity double,
  usage_unit string,
  billed_cost decimal(18, 2),
  currency string,
  tags_json string,
  parse_status string not null,
  parsed_ts timestamp not null,
  constraint cost_raw_billing_pk primary key (raw_billing_id)
);

-- grain: one row per resource, cost centre, region and usage day
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_fact_cost_usage (
  usage_id string not null,
  resource_id string not null,
  cost_center_id string not null,
  region_id string not null,
  usage_date date not null,
  sku_name string,
  price_id string,
  usage_quantity double not null,
  usage_unit string not null,
  list_cost_usd decimal(18, 2),
  cost_amount decimal(18, 2) not null,
  currency string not null,
  cost_amount_usd decimal(18, 2) not null,
  start_ts timestamp not null,
  end_ts timestamp not null,
  billing_account_id string not null,
  tag_app string,
  constraint cost_cost_usage_pk primary key (usage_id),
  constraint cost_cost_usage_fk_resource foreign key (resource_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_resource_type (resource_id),
  constraint cost_cost_usage_fk_cost_center foreign key (cost_center_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (cost_center_id),
  constraint cost_cost_usage_fk_region foreign key (region_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_region (region_id),
  constraint cost_cost_usage_fk_currency foreign key (currency) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_currency (currency_code),
  constraint cost_cost_usage_fk_billing_account foreign key (billing_account_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_billing_account (billing_account_id),
  constraint cost_cost_usage_fk_price foreign key (price_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_ref_price_catalog (price_id)
);

-- grain: one row per correction the cloud vendor issued for a usage row (already applied to fact_cost_usage when status is applied)
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_stage_corrections (
  correction_id string not null,
  usage_id string not null,
  billing_account_id string not null,
  correction_type string not null,
  original_amount_usd decimal(18, 2) not null,
  corrected_amount_usd decimal(18, 2) not null,
  delta_usd decimal(18, 2) not null,
  reason string,
  requested_ts timestamp not null,
  applied_ts timestamp,
  status string not null,
  constraint cost_corrections_pk primary key (correction_id),
  constraint cost_corrections_fk_usage foreign key (usage_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_fact_cost_usage (usage_id),
  constraint cost_corrections_fk_billing_account foreign key (billing_account_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_billing_account (billing_account_id)
);

-- grain: one row per month, cost centre, resource and region (sum of fact_cost_usage)
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_fact_monthly_costs (
  month_start date not null,
  cost_center_id string not null,
  resource_id string not null,
  region_id string not null,
  cost_amount_usd decimal(18, 2) not null,
  usage_quantity double not null,
  record_count bigint not null,
  constraint cost_monthly_costs_pk primary key (month_start, cost_center_id, resource_id, region_id),
  constraint cost_monthly_costs_fk_cost_center foreign key (cost_center_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (cost_center_id),
  constraint cost_monthly_costs_fk_resource foreign key (resource_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_resource_type (resource_id),
  constraint cost_monthly_costs_fk_region foreign key (region_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_region (region_id)
);

-- grain: one row per month, chargeback rule and resource (a share of the source cost centre's monthly cost)
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_stage_allocations (
  allocation_id string not null,
  month_start date not null,
  rule_id string not null,
  resource_id string not null,
  source_cost_center_id string not null,
  target_cost_center_id string not null,
  allocation_pct double not null,
  source_amount_usd decimal(18, 2) not null,
  allocated_amount_usd decimal(18, 2) not null,
  allocated_ts timestamp not null,
  constraint cost_allocations_pk primary key (allocation_id),
  constraint cost_allocations_fk_rule foreign key (rule_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_ref_chargeback_rules (rule_id),
  constraint cost_allocations_fk_resource foreign key (resource_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_resource_type (resource_id),
  constraint cost_allocations_fk_source foreign key (source_cost_center_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (cost_center_id),
  constraint cost_allocations_fk_target foreign key (target_cost_center_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (cost_center_id)
);

-- grain: one row per month, cost centre and resource (the forecast made before the month began)
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_stage_forecasts (
  forecast_id string not null,
  month_start date not null,
  cost_center_id string not null,
  resource_id string not null,
  forecast_amount_usd decimal(18, 2) not null,
  lower_bound_usd decimal(18, 2),
  upper_bound_usd decimal(18, 2),
  forecast_made_ts timestamp not null,
  method string not null,
  constraint cost_forecasts_pk primary key (forecast_id),
  constraint cost_forecasts_fk_cost_center foreign key (cost_center_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_cost_center (cost_center_id),
  constraint cost_forecasts_fk_resource foreign key (resource_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_resource_type (resource_id)
);

-- grain: one row per billing account and daily billing file loaded
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_audit_billing_ingest (
  audit_id string not null,
  batch_id string not null,
  billing_account_id string not null,
  billing_date date not null,
  source_file string not null,
  source_rows bigint not null,
  target_rows bigint not null,
  source_total decimal(18, 2) not null,
  target_total decimal(18, 2) not null,
  source_checksum string,
  target_checksum string,
  status string not null,
  started_ts timestamp not null,
  finished_ts timestamp,
  constraint cost_audit_billing_ingest_pk primary key (audit_id),
  constraint cost_audit_billing_ingest_fk_billing_account foreign key (billing_account_id) references customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_dim_billing_account (billing_account_id)
);

-- grain: one row per monthly allocation run
create table if not exists customer_segmentation_for_retail_personalization_cost.customer_segmentation_for_retail_personalization_audit_allocations (
  audit_id string not null,
  month_start date not null,
  rule_count int not null,
  source_amount_usd decimal(18, 2) not null,
  allocated_amount_usd decimal(18, 2) not null,
  unallocated_amount_usd decimal(18, 2) not null,
  status string not null,
  run_ts timestamp not null,
  constraint cost_audit_allocations_pk primary key (audit_id)
);
