"""The pre-flight check shown before the click, and the gates a job must pass.

``preflight`` answers, in one scan of the audience (read at the same time as what
governance says: the PII tags and the failing checks, in one statement): how many members, how
many per split group (control left out of activation unless asked), how many
this destination can use, which identifiers are invalid and why, the
predicted match rate, what the role may export, whether a failing critical
data-quality check on the segment's inputs blocks the export, and what the
export should cost in warehouse time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd
from sqlglot import exp

from services import rbac
from services.cost import ActionEstimate, estimate_action_cost
from services.errors import PermissionDeniedError, SpecError
from services.exports import audience, identifiers, selection
from services.exports.base import ExportRequest, src
from services.exports.destinations import destination
from services.exports.snapshots import JOBS
from services.governance.registry import dataset_id
from services.parallel import together
from services.pii import pii_tags, policy_from
from services.quality.checks import CheckResult
from services.quality.results import check_result, failing_critical, latest_results_query
from services.quality.specs import CRITICAL
from services.segments.catalog import FeatureCatalog
from services.segments.compiler import CompiledSegment
from services.segments.library import SavedVersion
from services.segments.spec import Behavior, walk
from services.segments.workspace import Workspace
from services.sqlterms import column, equals
from services.warehouse import Warehouse

# Fixed costs of a job besides its rows: compiling, the snapshot, the audit row.
JOB_OVERHEAD_S = 1.0
#: how many of a destination's latest succeeded jobs its measured rate is taken from
RATE_SAMPLE = 20


def compile_saved(warehouse: Warehouse, segment_id: str, version: int | None = None, *,
                  workspace: Workspace | None = None) -> tuple[SavedVersion, CompiledSegment]:
    """The saved segment and its compiled form, through ``workspace`` (one for this warehouse by default)."""
    return (workspace or Workspace(warehouse)).compile_saved(segment_id, version)


def check_attributes(catalog: FeatureCatalog, request: ExportRequest, *, role: str) -> None:
    """Attributes must be gold features; personal ones need the export-PII permission."""
    if not request.attributes:
        return
    for name in request.attributes:
        if name not in catalog.names:
            raise SpecError(f"attribute {name!r} is not a feature of the catalog")
        if catalog.feature(name).pii and not rbac.can(role, "export_unmasked"):
            raise PermissionDeniedError(f"attribute {name!r} is personal data; your role ({role}) may not export it")


# -- data-quality gate ------------------------------------------------------------
def input_datasets(compiled: CompiledSegment) -> tuple[str, ...]:
    """Governance ids of the tables an export of this segment reads (and gold's own input)."""
    ids = {dataset_id("gold", "gold_customer_features"), dataset_id("txn", "dim_customer"),
           # gold is derived from the transactions, so their keys and reconciliation vouch for every member.
           dataset_id("txn", "fact_transactions")}
    behaviours = [c for c in walk(compiled.definition.rule) if isinstance(c, Behavior)]
    if behaviours:
        ids.add(dataset_id("gold", "gold_customer_activity"))
    if any(c.categories or c.products for c in behaviours):
        ids.add(dataset_id("txn", "dim_product"))
    return tuple(sorted(ids))


@dataclass(frozen=True)
class DqGate:
    datasets: tuple[str, ...]
    failing: tuple[CheckResult, ...]

    @property
    def blocked(self) -> bool:
        return bool(self.failing)

    def check_names(self) -> list[str]:
        return [f"{f.dataset_id.rsplit('.', 1)[-1]}: {f.check_name}" for f in self.failing]

    def describe(self) -> str:
        return "; ".join(self.check_names()) if self.failing else "no failing critical check"


def dq_gate(warehouse: Warehouse, compiled: CompiledSegment, *,
            failing: Sequence[CheckResult] | None = None) -> DqGate:
    """The gate of an export of ``compiled``: the failing critical checks on its inputs (read unless given)."""
    datasets = input_datasets(compiled)
    failing = failing_critical(warehouse) if failing is None else failing
    return DqGate(datasets, tuple(f for f in failing if f.dataset_id in datasets))


@dataclass(frozen=True)
class Governance:
    """What governance says about exporting customers: their PII columns and the failing critical checks."""

    pii_columns: dict[str, str]
    failing_critical: tuple[CheckResult, ...]


def governance(warehouse: Warehouse) -> Governance:
    """The customer table's PII tags (``pii_policy``) and the failing critical checks (``failing_critical``): one read.

    Two small questions for the same governance source, asked in one statement (a UNION ALL
    of the two queries, their columns side by side) rather than two round trips.
    """
    nothing = lambda kind: exp.cast(exp.null(), kind)  # noqa: E731
    texts = ("dataset_id", "check_name", "check_type", "severity", "status", "details")
    tags = pii_tags(dataset_id("txn", "dim_customer"))
    order = tags.args.pop("order")
    tags.set("expressions", [
        exp.Literal.string("pii").as_("part"),
        exp.Window(this=exp.RowNumber(), order=order).as_("n"),
        exp.column("column_name"), exp.column("tag_value"),
        *[nothing("VARCHAR").as_(c) for c in texts], nothing("DOUBLE").as_("observed_value"),
        nothing("DOUBLE").as_("threshold")])
    checks = (exp.select(exp.Literal.string("check").as_("part"), exp.Literal.number(0).as_("n"),
                         nothing("VARCHAR").as_("column_name"), nothing("VARCHAR").as_("tag_value"),
                         *[exp.column(c) for c in texts], exp.column("observed_value"), exp.column("threshold"))
              .from_(latest_results_query().subquery("latest"))
              .where(exp.and_(exp.EQ(this=exp.column("severity"), expression=exp.Literal.string(CRITICAL)),
                              exp.NEQ(this=exp.column("status"), expression=exp.Literal.string("pass")))))
    rows = warehouse.df(exp.union(tags, checks, distinct=False))
    pii = rows[rows["part"] == "pii"].sort_values("n")
    failing = rows[rows["part"] == "check"]
    return Governance(policy_from(pii[["column_name", "tag_value"]].to_dict("records")),
                      tuple(check_result(r) for r in failing.itertuples(index=False)))


# -- how long it should take ------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    """Seconds per row sent to a destination, and what that figure rests on."""

    seconds_per_row: float
    jobs: int  # past jobs it was measured on; 0: the destination's typical rate

    def basis(self, label: str) -> str:
        if not self.jobs:
            return f"a typical rate for a {label} (no past export there to measure yet)"
        return f"the rate measured on the last {self.jobs} {label} export{'s' if self.jobs != 1 else ''}"


def measured_rate(warehouse: Warehouse, destination_name: str) -> Rate:
    """Seconds per row of the destination's latest succeeded jobs (their time beyond the fixed overhead,
    over the rows they sent), or its declared typical rate when none has run yet."""
    past = warehouse.df(
        exp.select("destination", "status", "rows_exported", "started_ts", "finished_ts").from_(JOBS)
        .where(exp.and_(equals("destination", destination_name), equals("status", "succeeded"),
                        exp.GT(this=column("rows_exported"), expression=exp.convert(0)),
                        column("started_ts").is_(exp.null()).not_(), column("finished_ts").is_(exp.null()).not_()))
        .order_by(exp.Ordered(this=column("finished_ts"), desc=True)).limit(RATE_SAMPLE))
    return rate_from_jobs(past, destination_name)


def rate_from_jobs(jobs: pd.DataFrame, destination_name: str) -> Rate:
    """``measured_rate`` from export job rows read already (the Exports page's history): the latest
    ``RATE_SAMPLE`` succeeded jobs of the destination that sent rows."""
    if jobs.empty:
        return Rate(destination(destination_name).seconds_per_row, 0)
    done = jobs[(jobs["destination"] == destination_name) & (jobs["status"] == "succeeded")
                & (jobs["rows_exported"].fillna(0) > 0) & jobs["started_ts"].notna() & jobs["finished_ts"].notna()]
    past = done.sort_values("finished_ts", ascending=False).head(RATE_SAMPLE)
    if past.empty:
        return Rate(destination(destination_name).seconds_per_row, 0)
    seconds = (pd.to_datetime(past["finished_ts"]) - pd.to_datetime(past["started_ts"])).dt.total_seconds()
    working = (seconds - JOB_OVERHEAD_S).clip(lower=0).sum()
    return Rate(float(working / past["rows_exported"].astype("float64").sum()), len(past))


# -- the check itself ----------------------------------------------------------------
@dataclass(frozen=True)
class Preflight:
    destination: str
    members: int
    #: split group -> members (empty when the segment has no split)
    split_groups: dict[str, int]
    control_excluded: int
    eligible: int
    usable: int
    #: identifier -> {problem: members}
    problems: dict[str, dict[str, int]]
    expected_match_rate: float
    pii_columns: dict[str, str]
    may_export_clear: bool
    identifiers: str
    gate: DqGate
    may_override: bool
    estimate: ActionEstimate
    #: what the estimate rests on (measured past jobs, or the destination's typical rate)
    estimate_basis: str = ""

    @property
    def excluded(self) -> int:
        return self.members - self.usable

    @property
    def predicted_match_rate(self) -> float:
        """Share of the members the platform should match: usable share x the platform's typical rate."""
        return (self.usable / self.members * self.expected_match_rate) if self.members else 0.0

    @property
    def allowed(self) -> bool:
        return not self.gate.blocked or self.may_override

    def at_rate(self, rate: Rate, *, price_per_warehouse_hour: float) -> Preflight:
        """This check with its duration and cost estimated at ``rate``."""
        dest = destination(self.destination)
        duration = JOB_OVERHEAD_S + self.usable * rate.seconds_per_row
        return replace(self, estimate=estimate_action_cost(duration, price_per_warehouse_hour),
                       estimate_basis=rate.basis(dest.label))


def preflight(warehouse: Warehouse, request: ExportRequest, *, role: str, price_per_warehouse_hour: float,
              workspace: Workspace | None = None, measure_rate: bool = True,
              prepare_phones: bool = True) -> Preflight:
    """The check for ``request``; ``workspace`` compiles the segment (the page passes its cached catalog's).

    ``measure_rate=False`` estimates the duration at the destination's typical rate without reading
    past jobs: the Exports page reads them anyway and re-estimates with ``at_rate(rate_from_jobs(...))``.
    ``prepare_phones=False`` leaves the phones no build has normalised (contacts changed since the
    last build: after a build there are none) as they are, counted as without a valid phone: the page
    does not wait for that read on every pick; the export itself normalises them.
    """
    dest = destination(request.destination)
    request = dest.normalise(request)
    _, compiled = compile_saved(warehouse, request.segment_id, request.version, workspace=workspace)
    problems = dest.problems(request)
    members_query = audience.source_query(compiled, ())
    if prepare_phones and dest.needs_normalised(request):
        identifiers.prepare(warehouse, members_query)
    source = selection.source(dest, request, members_query)
    keys = [src("split_group").as_("split_group"), dest.exclusion_reason(request).as_("reason"),
            *[expr.as_(f"p_{name}") for name, expr in problems.items()]]
    # The audience and what governance says (PII tags, failing checks) do not depend on each other: read at once.
    grouped, said = together(
        lambda: warehouse.df(exp.select(*keys, exp.func("COUNT", exp.Star()).as_("n")).from_(source)
                             .group_by(*[exp.column(k.alias) for k in keys])),
        lambda: governance(warehouse))
    policy, gate = said.pii_columns, dq_gate(warehouse, compiled, failing=said.failing_critical)
    grouped["n"] = grouped["n"].astype("int64")
    members = int(grouped["n"].sum())
    split = grouped.dropna(subset=["split_group"]).groupby("split_group")["n"].sum()
    split_groups = {str(k): int(v) for k, v in split.items()}
    is_control = grouped["split_group"].fillna("").eq("control")
    control = int(grouped.loc[is_control, "n"].sum()) if not request.include_control else 0
    eligible_rows = grouped if request.include_control else grouped[~is_control]
    usable = int(eligible_rows.loc[eligible_rows["reason"].isna(), "n"].sum())
    found: dict[str, dict[str, int]] = {}
    for name in problems:
        counts = eligible_rows.dropna(subset=[f"p_{name}"]).groupby(f"p_{name}")["n"].sum()
        found[name] = {str(k): int(v) for k, v in counts.items()}
    rate = measured_rate(warehouse, dest.name) if measure_rate else Rate(dest.seconds_per_row, 0)
    duration = JOB_OVERHEAD_S + usable * rate.seconds_per_row
    return Preflight(
        destination=dest.name, members=members, split_groups=split_groups, control_excluded=control,
        eligible=members - control, usable=usable, problems=found, expected_match_rate=dest.expected_match_rate,
        pii_columns=policy, may_export_clear=rbac.can(role, "export_unmasked"), identifiers=request.identifiers,
        gate=gate, may_override=rbac.can(role, "override_dq_gate"),
        estimate=estimate_action_cost(duration, price_per_warehouse_hour),
        estimate_basis=rate.basis(dest.label),
    )


def problems_frame(check: Preflight) -> pd.DataFrame:
    rows = [{"identifier": name, "problem": problem, "members": n}
            for name, found in check.problems.items() for problem, n in found.items()]
    return pd.DataFrame(rows, columns=["identifier", "problem", "members"])
