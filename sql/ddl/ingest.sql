-- Source A: ingest and landing. stg_ is the immutable landing zone (rows are
-- only ever appended), raw_ is the parsed form, audit_ reconciles the two.
-- Keys are informational (Databricks does not enforce them); the data-quality
-- checks verify them instead.

create schema if not exists customer_segmentation_for_retail_personalization_ingest;

-- grain: one row per business unit of the retailer
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_business_unit (
  business_unit_id string not null,
  business_unit_name string not null,
  parent_business_unit_id string,
  cost_center_code string,
  status string not null,
  created_ts timestamp not null,
  constraint ing_business_unit_pk primary key (business_unit_id)
);

-- grain: one row per person or team accountable for a source system
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_data_owner (
  owner_id string not null,
  owner_name string not null,
  email string not null,
  team string not null,
  business_unit_id string,
  status string not null,
  created_ts timestamp not null,
  constraint ing_data_owner_pk primary key (owner_id),
  constraint ing_data_owner_fk_business_unit foreign key (business_unit_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_business_unit (business_unit_id)
);

-- grain: one row per deployment environment (dev, staging, prod)
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_environment (
  environment_id string not null,
  environment_name string not null,
  workspace_url string,
  cloud string not null,
  cloud_region string not null,
  is_production boolean not null,
  constraint ing_environment_pk primary key (environment_id)
);

-- grain: one row per system that sends data to the platform
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_source_system (
  source_system_id string not null,
  source_system_name string not null,
  system_type string not null,
  ingestion_mode string,
  owner_id string,
  business_unit_id string,
  environment_id string,
  status string not null,
  created_ts timestamp not null,
  updated_ts timestamp,
  constraint ing_source_system_pk primary key (source_system_id),
  constraint ing_source_system_fk_owner foreign key (owner_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_data_owner (owner_id),
  constraint ing_source_system_fk_business_unit foreign key (business_unit_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_business_unit (business_unit_id),
  constraint ing_source_system_fk_environment foreign key (environment_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_environment (environment_id)
);

-- grain: one row per file format the landing zone accepts
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_file_type (
  file_type_id string not null,
  file_type_name string not null,
  extension string not null,
  mime_type string,
  delimiter string,
  compression string,
  has_header boolean not null,
  constraint ing_file_type_pk primary key (file_type_id)
);

-- grain: one row per version of a source system's file or message layout
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_schema_version (
  schema_version_id string not null,
  source_system_id string not null,
  file_type_id string not null,
  version_number int not null,
  schema_hash string not null,
  change_summary string,
  effective_from timestamp not null,
  effective_to timestamp,
  is_current boolean not null,
  constraint ing_schema_version_pk primary key (schema_version_id),
  constraint ing_schema_version_fk_source_system foreign key (source_system_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_source_system (source_system_id),
  constraint ing_schema_version_fk_file_type foreign key (file_type_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_file_type (file_type_id)
);

-- grain: one row per column of a layout version
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_ref_file_schema (
  file_schema_id string not null,
  schema_version_id string not null,
  column_position int not null,
  column_name string not null,
  data_type string not null,
  is_nullable boolean not null,
  is_pii boolean not null,
  constraint ing_file_schema_pk primary key (file_schema_id),
  constraint ing_file_schema_fk_schema_version foreign key (schema_version_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_schema_version (schema_version_id)
);

-- grain: one row per city the retailer trades in (stores and delivery areas)
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_geo (
  geo_id string not null,
  country_code string not null,
  country_name string not null,
  region_name string not null,
  city string not null,
  postal_prefix string,
  latitude double,
  longitude double,
  timezone string not null,
  constraint ing_geo_pk primary key (geo_id)
);

-- grain: one row per status code used by the ingest tables
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_status (
  status_code string not null,
  status_name string not null,
  status_group string not null,
  description string,
  is_terminal boolean not null,
  is_error boolean not null,
  sort_order int not null,
  constraint ing_status_pk primary key (status_code)
);

-- grain: one row per line of a landed file; append-only, never updated
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_stg_raw (
  batch_id string not null,
  source_file string not null,
  line_number bigint not null,
  raw_line string,
  landed_ts timestamp not null,
  source_system_id string,
  file_type_id string,
  constraint ing_stg_raw_pk primary key (batch_id, source_file, line_number)
);

-- grain: one row per record parsed out of the landing zone
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_raw_records (
  record_key string not null,
  batch_id string not null,
  source_system_id string not null,
  record_type string not null,
  payload_hash string not null,
  parsed_ts timestamp not null,
  status string not null,
  schema_version_id string,
  constraint ing_raw_records_pk primary key (record_key),
  constraint ing_raw_records_fk_source_system foreign key (source_system_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_source_system (source_system_id)
);

-- grain: one row per event kept for inspection; each stands for sample_rate events received (the full counts are in fact_event_counts)
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_fact_raw_events (
  event_id string not null,
  source_system_id string not null,
  record_key string not null,
  payload_hash string not null,
  event_ts timestamp not null,
  event_type string not null,
  environment_id string,
  payload_bytes bigint,
  latency_ms bigint,
  sample_rate bigint not null,
  is_duplicate boolean not null,
  constraint ing_raw_events_pk primary key (event_id),
  constraint ing_raw_events_fk_source_system foreign key (source_system_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_source_system (source_system_id),
  constraint ing_raw_events_fk_record foreign key (record_key) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_raw_records (record_key),
  constraint ing_raw_events_fk_environment foreign key (environment_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_environment (environment_id)
);

-- grain: one row per source system and day
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_fact_event_counts (
  source_system_id string not null,
  event_date date not null,
  event_count bigint not null,
  error_count bigint not null,
  duplicate_count bigint not null,
  bytes_received bigint not null,
  avg_latency_ms double,
  p95_latency_ms double,
  computed_ts timestamp not null,
  constraint ing_event_counts_pk primary key (source_system_id, event_date),
  constraint ing_event_counts_fk_source_system foreign key (source_system_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_source_system (source_system_id)
);

-- grain: one row per enrichment applied to a raw record
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_stage_enrichments (
  enrichment_id string not null,
  record_key string not null,
  enrichment_type string not null,
  input_value string,
  output_value string,
  geo_id string,
  status string not null,
  enriched_ts timestamp not null,
  constraint ing_enrichments_pk primary key (enrichment_id),
  constraint ing_enrichments_fk_record foreign key (record_key) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_raw_records (record_key),
  constraint ing_enrichments_fk_geo foreign key (geo_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_geo (geo_id)
);

-- grain: one row per customer change captured from a source system (insert or update)
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_stage_cdc (
  change_id string not null,
  source_system_id string not null,
  customer_id string not null,
  op string not null,
  change_ts timestamp not null,
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
  batch_id string,
  landed_ts timestamp,
  constraint ing_cdc_pk primary key (change_id),
  constraint ing_cdc_fk_source_system foreign key (source_system_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_source_system (source_system_id)
);

-- grain: one row per line or field that could not be parsed
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_ref_parsing_errors (
  error_id string not null,
  batch_id string not null,
  source_file string not null,
  line_number bigint,
  raw_line string,
  column_name string,
  reason string not null,
  logged_ts timestamp not null,
  source_system_id string,
  constraint ing_parsing_errors_pk primary key (error_id)
);

-- grain: one row per retry attempt of a failed batch
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_stage_retries (
  retry_id string not null,
  batch_id string not null,
  source_system_id string not null,
  attempt_number int not null,
  error_message string,
  retry_status string not null,
  scheduled_ts timestamp not null,
  attempted_ts timestamp,
  next_retry_ts timestamp,
  constraint ing_retries_pk primary key (retry_id),
  constraint ing_retries_fk_source_system foreign key (source_system_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_source_system (source_system_id)
);

-- grain: one row per source value mapped to a canonical value, per mapping domain and validity period
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_ref_mappings (
  mapping_id string not null,
  source_system_id string not null,
  mapping_domain string not null,
  source_value string not null,
  target_value string not null,
  is_active boolean not null,
  effective_from date not null,
  effective_to date,
  constraint ing_mappings_pk primary key (mapping_id),
  constraint ing_mappings_fk_source_system foreign key (source_system_id) references customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_dim_source_system (source_system_id)
);

-- grain: one row per batch copied from a source table into a target table
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_audit_ingest (
  audit_id string not null,
  run_id string not null,
  batch_id string,
  source_table string not null,
  target_table string not null,
  source_rows bigint,
  target_rows bigint,
  source_checksum string,
  target_checksum string,
  status string not null,
  started_ts timestamp not null,
  finished_ts timestamp,
  message string,
  constraint ing_audit_ingest_pk primary key (audit_id)
);

-- grain: one row per model run of a pipeline run
create table if not exists customer_segmentation_for_retail_personalization_ingest.customer_segmentation_for_retail_personalization_audit_transforms (
  audit_id string not null,
  run_id string not null,
  model_name string not null,
  target_table string not null,
  rows_written bigint,
  started_ts timestamp not null,
  finished_ts timestamp,
  duration_ms bigint,
  status string not null,
  constraint ing_audit_transforms_pk primary key (audit_id)
);
