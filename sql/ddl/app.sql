-- The app's own tables (customer_segmentation_for_retail_personalization_app).

create schema if not exists customer_segmentation_for_retail_personalization_app;

-- grain: one row per pipeline build
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_build_runs (
  run_id string not null,
  started_ts timestamp not null,
  finished_ts timestamp,
  status string not null,
  as_of_date date,
  customers bigint,
  transactions bigint,
  gold_rows bigint,
  reconciled boolean,
  engine string,
  message string,
  constraint app_build_runs_pk primary key (run_id)
);

-- grain: one row per saved segment (its current state; versions below)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_segments (
  segment_id string not null,
  name string not null,
  description string,
  owner string not null,
  created_ts timestamp not null,
  updated_ts timestamp not null,
  latest_version int not null,
  archived boolean not null,
  is_sample boolean not null,
  brief_json string,
  constraint app_segments_pk primary key (segment_id)
);

-- grain: one row per saved version of a segment (never updated, only added)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_segment_versions (
  segment_id string not null,
  version int not null,
  name string not null,
  definition_json string not null,
  sql_databricks string,
  author string not null,
  created_ts timestamp not null,
  note string,
  audience_size bigint,
  as_of_date date,
  constraint app_segment_versions_pk primary key (segment_id, version),
  constraint app_segment_versions_fk_segment foreign key (segment_id) references customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_segments (segment_id)
);

-- grain: one row per audited action (segment saves, exports, DQ overrides, role changes)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_audit_log (
  audit_id string not null,
  event_ts timestamp not null,
  actor string not null,
  role string,
  action string not null,
  object_type string not null,
  object_id string,
  object_version int,
  row_count bigint,
  checksum string,
  details string,
  constraint app_audit_log_pk primary key (audit_id)
);

-- grain: one row per incremental model and landed batch it has processed
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_model_batches (
  model_name string not null,
  batch_id string not null,
  run_id string not null,
  processed_ts timestamp not null,
  constraint app_model_batches_pk primary key (model_name, batch_id)
);

-- grain: one row per user whose role an admin has set in the app (overrides roles.toml)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_role_assignments (
  email string not null,
  role string not null,
  assigned_by string not null,
  assigned_ts timestamp not null,
  note string,
  constraint app_role_assignments_pk primary key (email)
);

-- grain: one row per assigned email: the IdP user id (X-Forwarded-User) the assignment belongs to,
-- bound at that user's first sign-in; an address that later reaches another id does not carry the role
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_role_bindings (
  email string not null,
  user_id string not null,
  bound_ts timestamp not null,
  constraint app_role_bindings_pk primary key (email)
);

-- grain: one row per export job (a segment version sent to one destination once)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_export_jobs (
  job_id string not null,
  segment_id string not null,
  segment_version int not null,
  segment_name string,
  destination string not null,
  target string,
  mode string not null,
  request_json string not null,
  status string not null,
  progress double,
  message string,
  members bigint,
  rows_exported bigint,
  rows_excluded bigint,
  excluded_json string,
  rows_added bigint,
  rows_removed bigint,
  checksum string,
  output_path string,
  previous_job_id string,
  dq_override boolean,
  created_by string not null,
  role string,
  created_ts timestamp not null,
  started_ts timestamp,
  finished_ts timestamp,
  constraint app_export_jobs_pk primary key (job_id)
);

-- grain: one row per export job and member it exported (the membership a diff export compares against)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_export_snapshots (
  job_id string not null,
  segment_id string not null,
  destination string not null,
  target string,
  customer_id string not null,
  constraint app_export_snapshots_pk primary key (job_id, customer_id)
);

-- grain: one row per distinct (email, phone, country) of current customers: the identifiers
-- normalised and hashed for upload platforms, computed once per value by the pipeline
-- (services/exports/identifiers.py) instead of at every export
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_export_identifiers (
  email string,
  phone string,
  country string,
  n_email string,
  n_phone string,
  n_email_problem string,
  n_phone_problem string,
  n_email_sha256 string,
  n_phone_sha256 string,
  n_phone_e164_sha256 string,
  computed_ts timestamp not null
);

-- grain: one row per scheduled export (a saved export request run every hour, day or week as an
-- ordinary export job owned by whoever scheduled it); no secrets: a webhook's auth header comes from
-- configuration at run time (services/exports/schedules.py)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_export_schedules (
  schedule_id string not null,
  segment_id string not null,
  destination string not null,
  request_json string not null,
  frequency string not null,
  hour_utc int not null,
  weekday int not null,
  status string not null,
  owner string not null,
  created_ts timestamp not null,
  updated_ts timestamp not null,
  constraint app_export_schedules_pk primary key (schedule_id)
);

-- grain: one row per schedule and period it ran for: claimed once (by whichever sync-due got there
-- first), then the export job it created, or why none was
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_export_schedule_runs (
  schedule_id string not null,
  period_ts timestamp not null,
  claim_token string not null,
  claimed_ts timestamp not null,
  job_id string,
  message string,
  constraint app_export_schedule_runs_pk primary key (schedule_id, period_ts)
);

-- grain: one row per distinct raw (phone, country) pair of a customer: its E.164 digits or why it
-- has none, computed by libphonenumber in Python (services/exports/phones.py) and joined by the
-- SQL that stages identifiers; personal data like the customer table it derives from
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_export_phones (
  phone string,
  country string,
  n_phone string,
  n_phone_problem string,
  computed_ts timestamp not null
);

-- grain: one row per table an export created in the exports schema: the only tables a later
-- export may replace or merge (services/exports/table.py)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_export_tables (
  table_name string not null,
  job_id string not null,
  segment_id string not null,
  created_ts timestamp not null,
  constraint app_export_tables_pk primary key (table_name)
);

-- grain: one row per Databricks Job run the app started (an export, a rebuild): which run, what it
-- runs, who started it and when; the run's state is read from the Jobs API, never kept here
-- (services/runs.py)
create table if not exists customer_segmentation_for_retail_personalization_app.customer_segmentation_for_retail_personalization_app_job_runs (
  run_id bigint not null,
  kind string not null,
  subject string not null,
  databricks_job_id bigint not null,
  run_page_url string,
  started_by string not null,
  role string,
  started_ts timestamp not null,
  constraint app_job_runs_pk primary key (run_id)
);
