-- The exports schema (customer_segmentation_for_retail_personalization_exports): the only
-- place a user's table export writes. It holds no table of its own; the app records the
-- tables its exports created in the app schema's app_export_tables, and replaces or merges
-- only those (services/exports/table.py).

create schema if not exists customer_segmentation_for_retail_personalization_exports;
