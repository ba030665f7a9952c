"""What the Data Quality page shows, read from the governance and audit tables.

Each function takes a warehouse and returns a DataFrame (or a small value
object) for one view of the page:

    datasets            catalog with owner, classification, sensitivity, certification in force
    pass_rate           share of passing checks per dataset and day, both sources
    failing_checks      checks whose latest result does not pass, critical first
    check_history       every result of one check, oldest first
    open_issues         unresolved issues with their remediation team
    remediation_teams   every team and how many issues it has open and resolved
    freshness           the app's freshness checks: the data's age against SLA hours
    last_reconciliation the latest raw -> fact reconciliation, counts and checksums
    ingest_batches      the latest stg -> raw load of every landed batch

Fixed queries live in ``sql/quality/`` (Databricks dialect); the ones that
take a value (a window, a chosen check) are sqlglot trees with literals, so a
value picked in the page never becomes SQL text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlglot import exp

from services import naming, sqlfiles
from services.quality.results import latest_results
from services.sqlterms import column, equals
from services.warehouse import Warehouse

QUALITY = naming.fq("gov", "fact_data_quality")
RECON = naming.fq("txn", "audit_recon")
CRITICAL = "critical"


def dataset_label(dataset_id: str) -> str:
    """``txn.fact_transactions`` for a project table; upstream ids (``crm_prod.core.customers``) stay as they are."""
    parts = [naming.short(p) for p in dataset_id.split(".")]
    return ".".join(parts)


def _file(warehouse: Warehouse, name: str) -> pd.DataFrame:
    return warehouse.df(sqlfiles.render(sqlfiles.query(f"quality/{name}.sql"), warehouse.dialect))


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    frame.insert(0, "dataset", frame["dataset_id"].map(dataset_label))
    return frame


def _day(name: str) -> exp.Expression:
    return exp.cast(column(name), "DATE")


# -- catalog ---------------------------------------------------------------
def datasets(warehouse: Warehouse) -> pd.DataFrame:
    """One row per catalogued dataset: owner, classification, sensitivity, current certification."""
    return _labelled(_file(warehouse, "datasets"))


# -- check results -----------------------------------------------------------
def latest_day(warehouse: Warehouse) -> date | None:
    """The last day any check ran: windows count back from the data, not from today's clock."""
    found = warehouse.scalar(exp.select(exp.Max(this=_day("checked_ts"))).from_(QUALITY))
    return None if found is None or pd.isna(found) else pd.Timestamp(found).date()


def pass_rate(warehouse: Warehouse, *, last_days: int | None = None) -> pd.DataFrame:
    """Per dataset and day: checks run, checks passed and their ratio (app and governance together).

    ``last_days`` keeps the days up to and including the latest checked day;
    None keeps the whole history. 'warn' counts as not passing, like 'fail'.
    """
    passed = exp.Sum(this=exp.Case().when(equals("check_status", "pass"), exp.convert(1)).else_(exp.convert(0)))
    query = (
        exp.select(
            column("dataset_id"),
            _day("checked_ts").as_("day"),
            exp.cast(exp.Count(this=exp.Star()), "BIGINT").as_("checks"),
            exp.cast(passed, "BIGINT").as_("passed"),
        )
        .from_(QUALITY)
        .group_by(column("dataset_id"), _day("checked_ts"))
        .order_by(column("dataset_id"), exp.column("day"))
    )
    latest = latest_day(warehouse) if last_days else None
    if latest is not None:
        since = latest - timedelta(days=int(last_days) - 1)
        query = query.where(exp.GTE(this=_day("checked_ts"),
                                    expression=exp.cast(exp.Literal.string(since.isoformat()), "DATE")))
    frame = warehouse.df(query)
    frame["day"] = pd.to_datetime(frame["day"])
    frame["pass_rate"] = frame["passed"] / frame["checks"]
    return _labelled(frame)


def failing_checks(warehouse: Warehouse) -> pd.DataFrame:
    """Checks (either source) whose latest result is 'fail' or 'warn': critical first, then failures."""
    frame = _labelled(_file(warehouse, "failing_checks"))
    frame["critical"] = frame["severity"] == CRITICAL
    return frame


def check_history(warehouse: Warehouse, *, source: str, dataset_id: str, check_name: str) -> pd.DataFrame:
    """Every recorded result of one check, oldest first."""
    query = (
        exp.select("checked_ts", "check_status", "observed_value", "threshold", "details", "run_id", "dq_id")
        .from_(QUALITY)
        .where(exp.and_(equals("source", source), equals("dataset_id", dataset_id), equals("check_name", check_name)))
        .order_by(column("checked_ts"), column("dq_id"))
    )
    return warehouse.df(query).rename(columns={"check_status": "status"})


# -- issues ------------------------------------------------------------------
def open_issues(warehouse: Warehouse) -> pd.DataFrame:
    """Issues whose status is not terminal, with the team that owns the fix; worst and oldest first."""
    return _labelled(_file(warehouse, "open_issues"))


def remediation_teams(warehouse: Warehouse) -> pd.DataFrame:
    """Every remediation team with its open and resolved issues and average hours to resolve."""
    return _file(warehouse, "remediation_teams")


# -- freshness ---------------------------------------------------------------
def freshness(warehouse: Warehouse) -> pd.DataFrame:
    """The latest app freshness check per dataset: the age of its newest data vs SLA hours."""
    latest = latest_results(warehouse)
    frame = latest[latest["check_name"] == "freshness"].reset_index(drop=True)
    frame = frame.rename(columns={"observed_value": "age_hours", "threshold": "sla_hours"})
    frame["headroom_hours"] = frame["sla_hours"] - frame["age_hours"]
    frame["age_days"] = frame["age_hours"] / 24
    columns = ["dataset_id", "age_hours", "age_days", "sla_hours", "headroom_hours", "status", "severity",
               "checked_ts", "details"]
    return _labelled(frame[columns].sort_values("headroom_hours", na_position="first").reset_index(drop=True))


# -- audit trail ---------------------------------------------------------------
@dataclass(frozen=True)
class Reconciliation:
    """One raw -> fact reconciliation row of txn ``audit_recon``."""

    recon_id: str
    run_id: str | None
    check_name: str
    source_table: str
    target_table: str
    source_rows: int | None
    target_rows: int | None
    source_checksum: str | None
    target_checksum: str | None
    status: str
    message: str | None
    checked_ts: datetime | None

    @property
    def rows_match(self) -> bool:
        return self.source_rows is not None and self.source_rows == self.target_rows

    @property
    def checksums_match(self) -> bool:
        return self.source_checksum is not None and self.source_checksum == self.target_checksum

    def side_by_side(self) -> pd.DataFrame:
        """Counts and checksums as rows, source and target as columns."""
        return pd.DataFrame({
            "measure": ["rows", "checksum"],
            "source": [_text(self.source_rows), self.source_checksum or "-"],
            "target": [_text(self.target_rows), self.target_checksum or "-"],
            "match": [self.rows_match, self.checksums_match],
        })


def _text(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _optional_int(value) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def last_reconciliation(warehouse: Warehouse) -> Reconciliation | None:
    """The most recent row of txn ``audit_recon``, or None when nothing was ever reconciled."""
    fields = list(Reconciliation.__dataclass_fields__)
    found = warehouse.df(
        exp.select(*[column(f) for f in fields]).from_(RECON)
        .order_by(exp.Ordered(this=column("checked_ts"), desc=True), exp.Ordered(this=column("recon_id"), desc=True))
        .limit(1)
    )
    if found.empty:
        return None
    row = found.iloc[0].to_dict()
    row["source_rows"] = _optional_int(row["source_rows"])
    row["target_rows"] = _optional_int(row["target_rows"])
    row["checked_ts"] = None if pd.isna(row["checked_ts"]) else pd.Timestamp(row["checked_ts"]).to_pydatetime()
    return Reconciliation(**{k: (None if k != "checked_ts" and pd.isna(v) else v) for k, v in row.items()})


def ingest_batches(warehouse: Warehouse) -> pd.DataFrame:
    """The latest stg -> raw load of every landed transaction batch, with counts and checksums."""
    frame = _file(warehouse, "ingest_batches")
    frame["matched"] = (frame["source_rows"] == frame["target_rows"]) & \
        (frame["source_checksum"] == frame["target_checksum"])
    return frame


# -- headline --------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    datasets: int
    certified: int
    failing_checks: int
    failing_critical: int
    open_issues: int
    reconciled: bool | None


@dataclass(frozen=True)
class Health:
    """The data-quality headline: what fails now (either source) and what is open."""

    failing_checks: int
    failing_critical: int
    open_issues: int

    def describe(self) -> str:
        checks = "every check passes" if not self.failing_checks else (
            f"{self.failing_checks} check{'s' if self.failing_checks != 1 else ''} failing"
            + (f" ({self.failing_critical} critical)" if self.failing_critical else ", none critical"))
        return f"{checks} · {self.open_issues} open issue{'s' if self.open_issues != 1 else ''}"


def health(failing: pd.DataFrame, issues: pd.DataFrame) -> Health:
    """The headline from ``failing_checks`` and ``open_issues``: Home and the Data Quality page both count so."""
    return Health(failing_checks=len(failing), failing_critical=int(failing["critical"].sum()),
                  open_issues=len(issues))


def summarize(catalog: pd.DataFrame, failing: pd.DataFrame, issues: pd.DataFrame,
              recon: Reconciliation | None) -> Summary:
    """The page's headline numbers, from frames the page already holds."""
    headline = health(failing, issues)
    return Summary(
        datasets=len(catalog),
        certified=int((catalog["certification_status"] == "certified").sum()),
        failing_checks=headline.failing_checks,
        failing_critical=headline.failing_critical,
        open_issues=headline.open_issues,
        reconciled=None if recon is None else recon.status == "matched",
    )
