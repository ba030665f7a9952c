-- query: every dataset in the governance catalog with who owns it, how it is
-- classified and its certification in force.
-- grain: one row per dataset. The certification in force is the dataset's
-- highest certification_id (ids are zero-padded, so they sort by issue order);
-- a dataset never certified has null certification columns.
with datasets as (

    select * from customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_dataset

),

current_certification as (

    select
        dataset_id,
        certification_id,
        certification_status,
        certified_by,
        certified_ts,
        expires_ts,
        row_number() over (partition by dataset_id order by certification_id desc) as recency_rank
    from customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_stage_certifications

),

final as (

    select
        datasets.dataset_id,
        datasets.schema_name,
        datasets.table_name,
        datasets.layer,
        owners.owner_name as owner,
        owners.team as owner_team,
        classifications.classification_name as classification,
        sensitivities.sensitivity_name as sensitivity,
        datasets.contains_pii,
        certification.certification_id,
        certification.certification_status,
        certification.certified_by,
        certification.certified_ts,
        certification.expires_ts
    from datasets
    left join customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_owner as owners
        on datasets.owner_id = owners.owner_id
    left join customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_classification as classifications
        on datasets.classification_id = classifications.classification_id
    left join customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_sensitivity as sensitivities
        on datasets.sensitivity_id = sensitivities.sensitivity_id
    left join current_certification as certification
        on datasets.dataset_id = certification.dataset_id and certification.recency_rank = 1

)

select * from final
order by schema_name, table_name
