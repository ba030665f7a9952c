-- query: every team that fixes data issues and its load.
-- grain: one row per remediation team, including teams with no issues yet.
-- Open means a status that is not terminal in gov dim_status; hours to resolve
-- is averaged over issues with status 'resolved' and a resolved_ts.
with teams as (

    select * from customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_remediation_team

),

issues as (

    select
        issues.remediation_team_id,
        issues.status,
        not coalesce(statuses.is_terminal, false) as is_open,
        case
            when issues.status = 'resolved' and issues.resolved_ts is not null
                -- microseconds as a DOUBLE: timestampdiff(SECOND, ..) counts whole seconds
                -- on Databricks but second boundaries in sqlglot's DuckDB rendering
                then cast(unix_micros(issues.resolved_ts) - unix_micros(issues.opened_ts) as double) / 3600000000
        end as hours_to_resolve
    from customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_fact_issues as issues
    left join customer_segmentation_for_retail_personalization_gov.customer_segmentation_for_retail_personalization_dim_status as statuses
        on issues.status = statuses.status_code and statuses.status_group = 'issue'

),

load as (

    select
        remediation_team_id,
        count_if(is_open) as open_issues,
        count_if(status = 'resolved') as resolved_issues,
        avg(hours_to_resolve) as avg_hours_to_resolve
    from issues
    group by remediation_team_id

),

final as (

    select
        teams.remediation_team_id,
        teams.team_name,
        teams.email,
        teams.on_call,
        teams.escalation_email,
        cast(coalesce(load.open_issues, 0) as int) as open_issues,
        cast(coalesce(load.resolved_issues, 0) as int) as resolved_issues,
        load.avg_hours_to_resolve
    from teams
    left join load
        on teams.remediation_team_id = load.remediation_team_id

)

select * from final
order by open_issues desc, team_name asc
