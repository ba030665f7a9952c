-- query: data issues nobody has closed yet, with the team that owns the fix.
-- grain: one row per issue whose status is not terminal in gov dim_status
-- (open, in progress); the status table decides, so a new status code needs
-- no change here. Highest severity first, then the oldest.
with issues as (

    select * from customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_fact_issues

),

open_statuses as (

    select status_code
    from customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_status
    where status_group = 'issue' and not is_terminal

),

final as (

    select
        issues.issue_id,
        issues.dataset_id,
        issues.title,
        issues.severity,
        issues.status,
        issues.opened_ts,
        issues.description,
        issues.dq_id,
        teams.team_name,
        teams.email as team_email,
        teams.on_call,
        teams.escalation_email
    from issues
    inner join open_statuses
        on issues.status = open_statuses.status_code
    left join customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_remediation_team as teams
        on issues.remediation_team_id = teams.remediation_team_id

)

select * from final
order by
    case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end,
    opened_ts,
    issue_id
