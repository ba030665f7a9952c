-- Source C: governance and catalog. dim_dataset holds the project's own
-- datasets (registered by the pipeline from services/governance/registry.py)
-- and the upstream datasets they are built from. Referenced tables come first
-- because Unity Catalog checks a foreign key against an existing primary key.

create schema if not exists customer_segmentation_for_retail_personalization_gov;

-- grain: one row per accountable owner (person or team) of datasets
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_owner (
  owner_id string not null,
  owner_name string not null,
  email string not null,
  team string not null,
  role string,
  status string,
  constraint gov_owner_pk primary key (owner_id)
);

-- grain: one row per data classification level
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_classification (
  classification_id string not null,
  classification_name string not null,
  description string,
  rank int,
  constraint gov_classification_pk primary key (classification_id)
);

-- grain: one row per sensitivity level
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_sensitivity (
  sensitivity_id string not null,
  sensitivity_name string not null,
  description string,
  requires_masking boolean not null,
  rank int,
  constraint gov_sensitivity_pk primary key (sensitivity_id)
);

-- grain: one row per status code used by the governance tables
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_status (
  status_code string not null,
  status_name string not null,
  status_group string not null,
  description string,
  is_terminal boolean not null,
  is_error boolean not null,
  sort_order int not null,
  constraint gov_status_pk primary key (status_code)
);

-- grain: one row per team that fixes data issues
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_remediation_team (
  remediation_team_id string not null,
  team_name string not null,
  email string not null,
  on_call string,
  escalation_email string,
  constraint gov_remediation_team_pk primary key (remediation_team_id)
);

-- grain: one row per external or internal standard clause the controls implement
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_ref_standards (
  standard_id string not null,
  standard_name string not null,
  framework string not null,
  clause string,
  description string,
  effective_from date not null,
  status string not null,
  constraint gov_standards_pk primary key (standard_id)
);

-- grain: one row per dataset (table) known to the catalog
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (
  dataset_id string not null,
  catalog_name string not null,
  schema_name string not null,
  table_name string not null,
  layer string not null,
  description string,
  grain string,
  owner_id string,
  classification_id string,
  sensitivity_id string,
  contains_pii boolean not null,
  status string not null,
  registered_ts timestamp not null,
  updated_ts timestamp,
  constraint gov_dataset_pk primary key (dataset_id),
  constraint gov_dataset_fk_owner foreign key (owner_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_owner (owner_id),
  constraint gov_dataset_fk_classification foreign key (classification_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_classification (classification_id),
  constraint gov_dataset_fk_sensitivity foreign key (sensitivity_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_sensitivity (sensitivity_id)
);

-- grain: one row per tag on a dataset column (column_name null for a table-level tag)
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_tag (
  tag_id string not null,
  dataset_id string not null,
  column_name string,
  tag_name string not null,
  tag_value string,
  created_ts timestamp not null,
  constraint gov_tag_pk primary key (tag_id),
  constraint gov_tag_fk_dataset foreign key (dataset_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (dataset_id)
);

-- grain: one row per version of a governance policy
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_ref_policies (
  policy_id string not null,
  policy_name string not null,
  policy_type string not null,
  description string,
  classification_id string,
  sensitivity_id string,
  enforcement string not null,
  owner_id string,
  version int not null,
  effective_from date not null,
  effective_to date,
  status string not null,
  constraint gov_policies_pk primary key (policy_id),
  constraint gov_policies_fk_classification foreign key (classification_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_classification (classification_id),
  constraint gov_policies_fk_sensitivity foreign key (sensitivity_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_sensitivity (sensitivity_id),
  constraint gov_policies_fk_owner foreign key (owner_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_owner (owner_id)
);

-- grain: one row per control implementing a policy or standard
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_ref_controls (
  control_id string not null,
  control_name string not null,
  control_type string not null,
  description string,
  policy_id string,
  standard_id string,
  check_type string,
  frequency string not null,
  owner_id string,
  status string not null,
  constraint gov_controls_pk primary key (control_id),
  constraint gov_controls_fk_policy foreign key (policy_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_ref_policies (policy_id),
  constraint gov_controls_fk_standard foreign key (standard_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_ref_standards (standard_id),
  constraint gov_controls_fk_owner foreign key (owner_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_owner (owner_id)
);

-- grain: one row per table seen by a catalog scan, as the scanner emitted it; append-only
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_stg_catalog (
  scan_id string not null,
  object_key string not null,
  raw_payload string not null,
  scanned_ts timestamp not null,
  constraint gov_stg_catalog_pk primary key (scan_id, object_key)
);

-- grain: one row per table per catalog scan, parsed
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_raw_catalog (
  raw_catalog_id string not null,
  scan_id string not null,
  dataset_id string not null,
  table_type string,
  data_format string,
  owner_principal string,
  row_count bigint,
  size_bytes bigint,
  last_altered_ts timestamp,
  parsed_ts timestamp not null,
  parse_status string not null,
  constraint gov_raw_catalog_pk primary key (raw_catalog_id)
);

-- grain: one row per upstream -> downstream dataset edge
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_stage_lineage (
  lineage_id string not null,
  upstream_dataset_id string not null,
  downstream_dataset_id string not null,
  transform_name string,
  lineage_type string not null,
  captured_ts timestamp not null,
  is_active boolean not null,
  constraint gov_lineage_pk primary key (lineage_id),
  constraint gov_lineage_fk_upstream foreign key (upstream_dataset_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (dataset_id),
  constraint gov_lineage_fk_downstream foreign key (downstream_dataset_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (dataset_id)
);

-- grain: one row per data-quality check evaluated on a dataset
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_fact_data_quality (
  dq_id string not null,
  dataset_id string not null,
  check_name string not null,
  check_status string not null,
  checked_ts timestamp not null,
  run_id string,
  check_type string,
  severity string,
  observed_value double,
  threshold double,
  details string,
  source string not null,
  constraint gov_data_quality_pk primary key (dq_id),
  constraint gov_data_quality_fk_dataset foreign key (dataset_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (dataset_id)
);

-- grain: one row per dataset service-level agreement and validity period
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_ref_sla (
  sla_id string not null,
  dataset_id string not null,
  freshness_hours int not null,
  completeness_pct double not null,
  owner_id string,
  effective_from date not null,
  effective_to date,
  constraint gov_sla_pk primary key (sla_id),
  constraint gov_sla_fk_dataset foreign key (dataset_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (dataset_id),
  constraint gov_sla_fk_owner foreign key (owner_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_owner (owner_id)
);

-- grain: one row per data issue raised against a dataset
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_fact_issues (
  issue_id string not null,
  dataset_id string not null,
  title string not null,
  severity string not null,
  status string not null,
  opened_ts timestamp not null,
  resolved_ts timestamp,
  remediation_team_id string,
  description string,
  dq_id string,
  constraint gov_issues_pk primary key (issue_id),
  constraint gov_issues_fk_dataset foreign key (dataset_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (dataset_id),
  constraint gov_issues_fk_team foreign key (remediation_team_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_remediation_team (remediation_team_id),
  constraint gov_issues_fk_check foreign key (dq_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_fact_data_quality (dq_id)
);

-- grain: one row per certification of a dataset (the latest per dataset is in force)
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_stage_certifications (
  certification_id string not null,
  dataset_id string not null,
  certified_by string,
  certification_status string not null,
  certified_ts timestamp,
  expires_ts timestamp,
  notes string,
  constraint gov_certifications_pk primary key (certification_id),
  constraint gov_certifications_fk_dataset foreign key (dataset_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (dataset_id)
);

-- grain: one row per change of a certification's status
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_audit_certification (
  audit_id string not null,
  certification_id string not null,
  action string not null,
  actor string not null,
  previous_status string,
  new_status string not null,
  event_ts timestamp not null,
  notes string,
  constraint gov_audit_certification_pk primary key (audit_id),
  constraint gov_audit_certification_fk_certification foreign key (certification_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_stage_certifications (certification_id)
);

-- grain: one row per policy evaluation on a dataset
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_audit_policies (
  audit_id string not null,
  policy_id string not null,
  dataset_id string not null,
  action string not null,
  outcome string not null,
  actor string not null,
  event_ts timestamp not null,
  details string,
  constraint gov_audit_policies_pk primary key (audit_id),
  constraint gov_audit_policies_fk_policy foreign key (policy_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_ref_policies (policy_id),
  constraint gov_audit_policies_fk_dataset foreign key (dataset_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset (dataset_id)
);

-- grain: one row per requested change to a policy
create table if not exists customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_stage_policy_changes (
  change_id string not null,
  policy_id string not null,
  change_type string not null,
  old_version int,
  new_version int,
  summary string,
  requested_by string not null,
  approved_by string,
  requested_ts timestamp not null,
  approved_ts timestamp,
  status string not null,
  constraint gov_policy_changes_pk primary key (change_id),
  constraint gov_policy_changes_fk_policy foreign key (policy_id) references customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_ref_policies (policy_id)
);
