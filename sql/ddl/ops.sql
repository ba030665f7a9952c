-- Source B: operational logs and metrics of the services around the
-- segmentation platform. Referenced tables come before the tables that point
-- at them, because Unity Catalog checks a foreign key against an existing
-- primary key.

create schema if not exists customer_segmentation_for_retail_personalization_ops;

-- grain: one row per engineering team that runs a service
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_team (
  team_id string not null,
  team_name string not null,
  email string not null,
  slack_channel string,
  on_call_rotation string,
  manager_name string,
  constraint ops_team_pk primary key (team_id)
);

-- grain: one row per cloud region services run in
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_region (
  region_id string not null,
  region_name string not null,
  cloud string not null,
  cloud_region string not null,
  constraint ops_region_pk primary key (region_id)
);

-- grain: one row per log level
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_log_level (
  log_level string not null,
  severity_rank int not null,
  description string,
  is_alertable boolean not null,
  constraint ops_log_level_pk primary key (log_level)
);

-- grain: one row per incident priority
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_priority (
  priority_id string not null,
  priority_name string not null,
  description string,
  ack_target_minutes int not null,
  resolve_target_minutes int not null,
  pages_on_call boolean not null,
  constraint ops_priority_pk primary key (priority_id)
);

-- grain: one row per status code used by the ops tables
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_status (
  status_code string not null,
  status_name string not null,
  status_group string not null,
  description string,
  is_terminal boolean not null,
  is_error boolean not null,
  sort_order int not null,
  constraint ops_status_pk primary key (status_code)
);

-- grain: one row per deployed service
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (
  service_id string not null,
  service_name string not null,
  service_type string not null,
  tier string not null,
  team_id string not null,
  repo_url string,
  status string not null,
  created_ts timestamp not null,
  constraint ops_service_pk primary key (service_id),
  constraint ops_service_fk_team foreign key (team_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_team (team_id)
);

-- grain: one row per host or container a service ran on
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_instance (
  instance_id string not null,
  service_id string not null,
  host_name string not null,
  region_id string not null,
  environment string not null,
  instance_type string,
  launched_ts timestamp not null,
  terminated_ts timestamp,
  status string not null,
  constraint ops_instance_pk primary key (instance_id),
  constraint ops_instance_fk_service foreign key (service_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (service_id),
  constraint ops_instance_fk_region foreign key (region_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_region (region_id)
);

-- grain: one row per runbook version in force
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_ref_runbooks (
  runbook_id string not null,
  title string not null,
  service_id string,
  owner_team_id string not null,
  url string not null,
  version int not null,
  last_reviewed_date date,
  status string not null,
  constraint ops_runbooks_pk primary key (runbook_id),
  constraint ops_runbooks_fk_service foreign key (service_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (service_id),
  constraint ops_runbooks_fk_team foreign key (owner_team_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_team (team_id)
);

-- grain: one row per error code services emit
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_ref_error_codes (
  error_code string not null,
  error_name string not null,
  category string not null,
  description string,
  default_priority_id string not null,
  runbook_id string,
  is_retryable boolean not null,
  constraint ops_error_codes_pk primary key (error_code),
  constraint ops_error_codes_fk_priority foreign key (default_priority_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_priority (priority_id),
  constraint ops_error_codes_fk_runbook foreign key (runbook_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_ref_runbooks (runbook_id)
);

-- grain: one row per retention rule for a log table and level
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_ref_retention_policy (
  policy_id string not null,
  table_name string not null,
  log_level string,
  retention_days int not null,
  archive_after_days int,
  action string not null,
  effective_from date not null,
  approved_by string,
  constraint ops_retention_policy_pk primary key (policy_id)
);

-- grain: one row per planned maintenance window
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_ref_maintenance_windows (
  window_id string not null,
  service_id string,
  region_id string,
  title string not null,
  start_ts timestamp not null,
  end_ts timestamp not null,
  recurrence string,
  approved_by string,
  status string not null,
  constraint ops_maintenance_windows_pk primary key (window_id),
  constraint ops_maintenance_windows_fk_service foreign key (service_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (service_id),
  constraint ops_maintenance_windows_fk_region foreign key (region_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_region (region_id)
);

-- grain: one row per line of a shipped log file; append-only
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_stg_ops_logs (
  batch_id string not null,
  source_file string not null,
  line_number bigint not null,
  raw_line string not null,
  landed_ts timestamp not null,
  constraint ops_stg_ops_logs_pk primary key (batch_id, line_number)
);

-- grain: one row per log line parsed out of the landing zone
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_raw_ops (
  raw_id string not null,
  batch_id string not null,
  line_number bigint not null,
  host_name string,
  service_name string,
  level_text string,
  message string,
  message_ts timestamp,
  parse_status string not null,
  parsed_ts timestamp not null,
  constraint ops_raw_ops_pk primary key (raw_id)
);

-- grain: one row per log line kept after noise is trimmed (debug dropped, long messages cut)
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_stage_trimmed_logs (
  trimmed_log_id string not null,
  raw_id string not null,
  service_id string not null,
  log_level string not null,
  message_ts timestamp not null,
  message_trimmed string,
  original_length int not null,
  trimmed_length int not null,
  trim_reason string,
  constraint ops_trimmed_logs_pk primary key (trimmed_log_id),
  constraint ops_trimmed_logs_fk_raw foreign key (raw_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_raw_ops (raw_id),
  constraint ops_trimmed_logs_fk_service foreign key (service_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (service_id)
);

-- grain: one row per log line (warnings and errors kept in full, info sampled)
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_fact_logs (
  log_id string not null,
  service_id string not null,
  instance_id string not null,
  log_level string not null,
  message_ts timestamp not null,
  message string,
  error_code string,
  trace_id string,
  duration_ms bigint,
  region_id string,
  constraint ops_logs_pk primary key (log_id),
  constraint ops_logs_fk_service foreign key (service_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (service_id),
  constraint ops_logs_fk_instance foreign key (instance_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_instance (instance_id),
  constraint ops_logs_fk_log_level foreign key (log_level) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_log_level (log_level),
  constraint ops_logs_fk_error_code foreign key (error_code) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_ref_error_codes (error_code)
);

-- grain: one row per incident
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_stage_incidents (
  incident_id string not null,
  service_id string not null,
  title string not null,
  priority_id string not null,
  status string not null,
  opened_ts timestamp not null,
  acknowledged_ts timestamp,
  resolved_ts timestamp,
  root_cause string,
  runbook_id string,
  commander_team_id string,
  customer_impact boolean not null,
  constraint ops_incidents_pk primary key (incident_id),
  constraint ops_incidents_fk_service foreign key (service_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (service_id),
  constraint ops_incidents_fk_priority foreign key (priority_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_priority (priority_id),
  constraint ops_incidents_fk_runbook foreign key (runbook_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_ref_runbooks (runbook_id),
  constraint ops_incidents_fk_team foreign key (commander_team_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_team (team_id)
);

-- grain: one row per alert fired by monitoring
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_stage_alerts (
  alert_id string not null,
  service_id string not null,
  alert_name string not null,
  error_code string,
  priority_id string not null,
  status string not null,
  triggered_ts timestamp not null,
  acknowledged_ts timestamp,
  resolved_ts timestamp,
  incident_id string,
  constraint ops_alerts_pk primary key (alert_id),
  constraint ops_alerts_fk_service foreign key (service_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (service_id),
  constraint ops_alerts_fk_priority foreign key (priority_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_priority (priority_id),
  constraint ops_alerts_fk_incident foreign key (incident_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_stage_incidents (incident_id)
);

-- grain: one row per incident, measured once it is resolved (or at the as-of time if still open)
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_fact_incident_metrics (
  incident_id string not null,
  service_id string not null,
  priority_id string not null,
  time_to_acknowledge_min double,
  time_to_resolve_min double,
  alerts_count int not null,
  affected_customers bigint,
  sla_breached boolean not null,
  computed_ts timestamp not null,
  constraint ops_incident_metrics_pk primary key (incident_id),
  constraint ops_incident_metrics_fk_incident foreign key (incident_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_stage_incidents (incident_id),
  constraint ops_incident_metrics_fk_service foreign key (service_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_service (service_id),
  constraint ops_incident_metrics_fk_priority foreign key (priority_id) references customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_dim_priority (priority_id)
);

-- grain: one row per shipped log file loaded from stg_ops_logs into raw_ops
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_audit_ops_ingest (
  audit_id string not null,
  batch_id string not null,
  source_file string not null,
  source_rows bigint not null,
  target_rows bigint not null,
  rejected_rows bigint not null,
  source_checksum string,
  target_checksum string,
  status string not null,
  started_ts timestamp not null,
  finished_ts timestamp,
  constraint ops_audit_ops_ingest_pk primary key (audit_id)
);

-- grain: one row per day and table pair reconciled (raw_ops against fact_logs)
create table if not exists customer_segmentation_for_retail_personalization_ops.customer_segmentation_for_retail_personalization_audit_recon (
  recon_id string not null,
  recon_date date not null,
  source_table string not null,
  target_table string not null,
  source_count bigint not null,
  target_count bigint not null,
  difference bigint not null,
  status string not null,
  checked_ts timestamp not null,
  constraint ops_audit_recon_pk primary key (recon_id)
);
