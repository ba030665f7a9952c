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
