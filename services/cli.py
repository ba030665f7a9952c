"""Command line: ``python -m services.cli <command>``.

Commands
  build                 create the warehouse, generate demo data if it is empty, run the pipeline
  import-transactions   land a transaction file (CSV, whitespace text, Parquet) and rebuild
  segment sql|count|members SPEC.json | --segment SEGMENT_ID [--version N]
                        compile a segment definition (or a saved segment), count it, or write its member ids
  status                print what the warehouse holds
  export SEGMENT_ID --destination NAME
                        run an export job (the same job code as the Exports page)
  rerun JOB_ID          run a failed or interrupted export job again
  run-export JOB_ID     run a queued export job as recorded (the bundle's export_run job runs this)
  sync-due              run the scheduled exports whose period is due (cron: every 15 minutes)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

from services import checkpoints, rbac
from services.build import build, build_new, run_pipeline
from services.errors import ConfigError, ExportError, SegmentStudioError, SpecError
from services.exports import jobs, schedules
from services.exports.base import IDENTIFIER_MODES, MODES, ExportRequest
from services.exports.destinations import DESTINATIONS, options_in_use
from services.exports.webhook import AUTH_ENV as WEBHOOK_AUTH_ENV
from services.importer import import_transactions
from services.pipeline.models import create_all
from services.rbac import load_role_map
from services.role_assignments import assigned_role
from services.segments.estimate import count as count_members
from services.segments.reading import decode, load_json, plain_text
from services.segments.spec import SegmentDefinition
from services.segments.workspace import Workspace
from services.settings import Settings
from services.status import warehouse_status
from services.warehouse import Warehouse
from services.warehouse.databricks_engine import DatabricksWarehouse
from services.warehouse.databricks_identity import ServicePrincipal
from services.warehouse.duckdb_engine import DuckDBWarehouse


def _progress(quiet: bool):
    started = time.perf_counter()
    last = {"step": None}

    def report(step: str, fraction: float) -> None:
        if quiet or step == last["step"]:
            return
        last["step"] = step
        print(f"[{time.perf_counter() - started:6.1f}s {fraction:4.0%}] {step}", file=sys.stderr, flush=True)

    return report


def _on_databricks(path: Path, settings: Settings | None) -> bool:
    return settings is not None and settings.engine == "databricks" and Path(path) == Path(settings.warehouse_path)


def _open(path: Path, settings: Settings | None = None, *, create: bool = False, keep: tuple[str, ...] = ()):
    """The DuckDB file, or the Databricks SQL warehouse when settings choose it and --warehouse does not.

    A DuckDB file that does not exist is created only when ``create`` (an import may start a
    warehouse); other commands say there is none. Opening a DuckDB file is this process's start as
    the only one that may write it: jobs a killed process left running are marked failed first,
    except ``keep`` (the job this command is about to run).
    """
    if _on_databricks(path, settings):
        # No signed-in user on a command line: the SDK's default credentials
        # (a job's run-as identity, a profile, or DATABRICKS_CLIENT_ID/SECRET).
        return DatabricksWarehouse(settings.databricks, ServicePrincipal(description="the Databricks SDK's default credentials"))
    if not create and not Path(path).exists():
        raise ConfigError(f"no warehouse at {path}: build one first (python -m services.cli build)")
    warehouse = DuckDBWarehouse(path)
    if settings is not None:
        jobs.recover_interrupted(warehouse, output_dir=settings.export_dir, keep=keep)
    return warehouse


def cmd_build(args, settings: Settings) -> int:
    path = Path(args.warehouse or settings.warehouse_path)
    options = dict(customers=args.customers or settings.demo_customers,
                   seed=args.seed if args.seed is not None else settings.demo_seed,
                   demo_end=args.demo_end or settings.demo_window_end(), as_of=args.as_of,
                   progress=_progress(args.quiet))
    if not _on_databricks(path, settings) and not path.exists():
        # A first build is built beside the file and moved into place whole.
        result = build_new(path, **options)
        location = str(path)
    else:
        warehouse = _open(path, settings)
        result = build(warehouse, full_refresh=args.full_refresh, **options)
        location = getattr(warehouse, "path", str(path))
    print(f"warehouse: {location}")
    print(f"demo data generated: {'yes' if result.generated else 'no (warehouse already had data)'}")
    print(f"as-of date: {result.as_of_date}")
    print(f"customers: {result.customers:,}  transactions: {result.transactions:,}  "
          f"gold customer features: {result.gold_rows:,}")
    print(f"pipeline: {result.seconds:.1f} s, reconciled")
    return 0


def cmd_import(args, settings: Settings) -> int:
    warehouse = _open(args.warehouse or settings.warehouse_path, settings, create=True)
    create_all(warehouse)
    result = import_transactions(
        warehouse, args.file, customer_col=args.customer_col, date_col=args.date_col,
        amount_col=args.amount_col, date_format=args.date_format, sep=args.sep,
        whitespace=args.whitespace, header=not args.no_header, currency=args.currency,
    )
    print(f"read {result.lines_read:,} lines from {result.source_file}")
    print(f"loaded: {result.loaded:,}  rejected: {result.rejected:,}  blank lines: {result.blank:,}  "
          f"customers: {result.customers:,}  batch: {result.batch_id}")
    for reason, count in sorted(result.reasons.items(), key=lambda kv: -kv[1]):
        print(f"  rejected {count:,} x {reason}")
    if result.rejected:
        print("rejected lines, with line number and reason, are in "
              "customer_segmentation_for_retail_personalization_ingest."
              "customer_segmentation_for_retail_personalization_ref_parsing_errors")
    built = run_pipeline(warehouse, as_of=args.as_of, progress=_progress(args.quiet))
    print(f"rebuilt gold: {built.gold_rows:,} customers, as-of {built.as_of_date}, reconciled")
    return 0


def cmd_status(args, settings: Settings) -> int:
    path = Path(args.warehouse or settings.warehouse_path)
    if not _on_databricks(path, settings) and not path.exists():
        # Said, not created: an empty file would make the next build an in-place one.
        print(f"engine: DuckDB\nas-of date: None\nlast build: never built (no warehouse at {path})")
        return 0
    warehouse = _open(path, settings)
    status = warehouse_status(warehouse)
    print(f"engine: {status.engine}\nas-of date: {status.as_of_date}\nlast build: {status.built_at} "
          f"({status.build_status})\nreconciled: {status.reconciled}")
    for source, rows in status.rows_per_source.items():
        print(f"  {source:<8} {rows:>14,} rows in {status.tables_per_source[source]} tables")
    return 0


def _compile_spec(args, settings: Settings):
    """The warehouse and the compiled segment: a saved one (``--segment``, keyed by its id like every
    version's stored SQL and every export) or a definition file."""
    if (args.spec is None) == (args.segment is None):
        raise SpecError("give a definition file or --segment SEGMENT_ID, not both")
    if args.segment is not None:
        warehouse = _open(args.warehouse or settings.warehouse_path, settings)
        return warehouse, Workspace(warehouse).compile_saved(args.segment, args.version)[1]
    if args.version is not None:
        raise SpecError("--version goes with --segment; a definition file has no versions")
    try:
        raw = Path(args.spec).read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read {args.spec}: {exc.strerror}") from None
    text = decode(raw, str(args.spec))
    data = load_json(text, str(args.spec)) if text.strip() else {}
    segment_id = None
    # A sample-campaign file wraps the definition with an id and a brief.
    if isinstance(data, dict) and "definition" in data and "rule" not in data:
        segment_id = data.get("segment_id")
        if segment_id is not None:
            if not isinstance(segment_id, str):
                raise SpecError(f"segment_id must be text, got {segment_id!r}", where="segment_id")
            plain_text(segment_id, "segment_id")
        data = data["definition"]
    definition = SegmentDefinition.from_dict(data)
    warehouse = _open(args.warehouse or settings.warehouse_path, settings)
    return warehouse, Workspace(warehouse).compile(definition, segment_id=segment_id)


def cmd_segment_sql(args, settings: Settings) -> int:
    _, compiled = _compile_spec(args, settings)
    print(compiled.sql(args.dialect))
    return 0


def cmd_segment_count(args, settings: Settings) -> int:
    warehouse, compiled = _compile_spec(args, settings)
    print(count_members(warehouse, compiled))
    return 0


def cmd_segment_members(args, settings: Settings) -> int:
    import pyarrow.parquet as pq
    from sqlglot import exp

    warehouse, compiled = _compile_spec(args, settings)
    table = warehouse.arrow(compiled.members_query(with_split=args.with_split)
                            .order_by(exp.column("customer_id", quoted=True)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    pq.write_table(table, tmp)
    tmp.replace(out)  # appears whole under its final name or not at all
    print(f"wrote {table.num_rows:,} members to {out}")
    return 0


def cmd_export(args, settings: Settings) -> int:
    warehouse = _open(args.warehouse or settings.warehouse_path, settings)
    # The CLI runs as the configured user, in the role the role map (or SEGMENT_STUDIO_ROLE) gives them.
    role = settings.default_role or load_role_map(settings.roles_file).role_for(settings.user)
    request = ExportRequest(
        segment_id=args.segment_id, version=args.version or 0, destination=args.destination, mode=args.mode,
        attributes=tuple(a.strip() for a in (args.attributes or "").split(",") if a.strip()),
        include_control=args.include_control, identifiers=args.identifiers, **_option_values(args),
    )
    # One workspace for the command: the segment is compiled (and the catalog read) once.
    workspace = Workspace(warehouse)
    if not args.version:
        request = replace(request, version=workspace.library.get(args.segment_id).version)
    queued = jobs.create_job(warehouse, request, user=settings.user, role=role,
                             override_dq_gate=args.override_dq_gate, workspace=workspace)
    return _finish_job(warehouse, queued, settings, args)


def cmd_rerun(args, settings: Settings) -> int:
    """Run a failed (or killed) job again: the same job, so a webhook re-sends under the same keys."""
    warehouse = _open(args.warehouse or settings.warehouse_path, settings)
    role = settings.default_role or load_role_map(settings.roles_file).role_for(settings.user)
    rbac.require(role, "export")
    job = jobs.get(warehouse, args.job_id)
    if job.status == "succeeded":
        print(job.summary())
        return 0
    # Rows keep no secrets: the auth header comes from its flag or environment variable, and a URL
    # whose token was redacted from the row from --url.
    given = {name: value for name, value in _option_values(args).items()
             if name in ExportRequest.secret_fields() + ExportRequest.redacted_fields() and value}
    return _finish_job(warehouse, job.job_id, settings, args, secrets=given)


def read_databricks_secret(name: str) -> str:
    """The value of the Databricks secret ``scope/key``, read with the job's own identity (it needs READ
    on the scope) through the SDK's dbutils, the interface the Secrets API serves values to."""
    # Imported here, as the engine does: the SDK takes over a second to import, and only the
    # sync-due job on Databricks reads a secret.
    from databricks.sdk import WorkspaceClient

    scope, _, key = name.partition("/")
    return WorkspaceClient().dbutils.secrets.get(scope=scope, key=key)


class _SecretEnvironment(dict):
    """The environment, with the webhook auth header read from a Databricks secret the first time it is
    asked for (a run that exports no webhook never reads it)."""

    def __init__(self, env: Mapping[str, str], name: str, secret: str):
        super().__init__(env)
        self._name, self._secret = name, secret

    def get(self, key, *default):
        if key == self._name and not super().get(key):
            try:
                self[key] = read_databricks_secret(self._secret)
            except Exception as exc:  # the SDK's own errors: no credentials, no READ, no such secret
                raise ConfigError(f"could not read the Databricks secret {self._secret} (the webhook auth "
                                  f"header): {exc}") from exc
        return super().get(key, *default)


def cmd_sync_due(args, settings: Settings) -> int:
    """Run every due scheduled export as its owner; exit 1 when one failed, so cron or the job says so."""
    warehouse = _open(args.warehouse or settings.warehouse_path, settings)
    role_map = load_role_map(settings.roles_file)
    env = _secret_environment(settings)
    # The owner's role now, as the app would give it them: an assignment made in the app, else the role map.
    private = settings.webhook_private_networks if settings.databricks_app else None
    runs = schedules.run_due(warehouse, role_for=lambda owner: assigned_role(warehouse, owner) or role_map.role_for(owner),
                             output_dir=settings.export_dir, env=env, private_networks=private)
    for run in runs:
        print(f"{run.schedule_id} {run.period:%Y-%m-%d %H:%M} UTC: {run.status}"
              + (f" (job {run.job_id})" if run.job_id else "") + (f": {run.message}" if run.message else ""))
    if not runs:
        print("no scheduled export is due")
    return 1 if any(run.status == "failed" for run in runs) else 0


def cmd_run_export(args, settings: Settings) -> int:
    """Run a queued export job as it was recorded: its owner and role are on the row (create_job checked
    them when it was queued), the webhook's auth header comes from configuration (the secret named by
    SEGMENT_STUDIO_WEBHOOK_AUTH_SECRET, or the environment), as scheduled runs get it. The bundle's
    export_run job runs this for the app; a succeeded job is left as it is (a failed one runs again)."""
    warehouse = _open(args.warehouse or settings.warehouse_path, settings, keep=(args.job_id,))
    job = jobs.get(warehouse, args.job_id)
    if job.status == "succeeded":
        print(job.summary())
        return 0
    try:
        secrets = schedules.configured_secrets(_secret_environment(settings), job.destination)
    except ConfigError as exc:
        # Said on the job's row, where the page looks, not only in the run's log.
        warehouse.transaction(jobs.failure_steps(job, str(exc)))
        print(jobs.get(warehouse, job.job_id).summary())
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _finish_job(warehouse, job.job_id, settings, args, secrets=secrets)


def _secret_environment(settings: Settings) -> Mapping[str, str]:
    """The environment, with the webhook auth header read from the configured Databricks secret when one is."""
    if settings.webhook_auth_secret:
        return _SecretEnvironment(os.environ, WEBHOOK_AUTH_ENV, settings.webhook_auth_secret)
    return os.environ


def _finish_job(warehouse: Warehouse, job: jobs.QueuedJob | str, settings: Settings, args, *,
                secrets: dict | None = None) -> int:
    job_id = job if isinstance(job, str) else job.job_id
    # Only a Databricks App limits where a webhook may call (see DeliveryContext.private_networks).
    private = settings.webhook_private_networks if settings.databricks_app else None
    try:
        done = jobs.run_job(warehouse, job, output_dir=settings.export_dir, progress=_progress(args.quiet),
                            secrets=secrets, private_networks=private)
    except ExportError as exc:
        print(jobs.get(warehouse, job_id).summary())
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(done.summary())
    return 0


def _option_values(args) -> dict:
    """The destination options as given by their flags: empty text is no value, and a secret may
    come from the environment instead (so it stays out of the command line and the job's logs)."""
    values = {}
    for option in options_in_use():
        value = getattr(args, option.name, None)
        if option.type is str:
            value = value or (os.environ.get(option.env) if option.env else None) or None
        values[option.name] = value
    return values


def _destination_flags(command: argparse.ArgumentParser) -> None:
    """``--destination`` and one flag per destination option, from the registry."""
    command.add_argument("--destination", required=True, choices=list(DESTINATIONS), metavar="NAME",
                         help="; ".join(f"{name}: {dest.label}" for name, dest in DESTINATIONS.items()))
    for option, users in options_in_use().items():
        default = (f"; default {option.default:g}" if option.default is not None else
                   f"; default: the {option.setting} setting" if option.setting else "")
        env = f" (or ${option.env})" if option.env else ""
        command.add_argument(option.cli_flag, dest=option.name, type=option.type, default=option.default,
                             help=f"{option.help}{env}{default} [{', '.join(users)}]")


def _true_or_false(value: str) -> bool:
    if value.strip().lower() in ("true", "1", "yes"):
        return True
    if value.strip().lower() in ("false", "0", "no", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.cli", description="Segment Studio command line")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--warehouse", type=Path, help="DuckDB file (default: $SEGMENT_STUDIO_WAREHOUSE or data/warehouse.duckdb)")
        sp.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    b = sub.add_parser("build", help="create tables, generate demo data if empty, run the pipeline")
    common(b)
    b.add_argument("--customers", type=int, help="demo customers to generate (default 50,000)")
    b.add_argument("--seed", type=int, help="random seed of the demo data (default 42)")
    b.add_argument("--demo-end", type=date.fromisoformat,
                   help="last day of generated demo data (default: $SEGMENT_STUDIO_DEMO_END or yesterday)")
    b.add_argument("--as-of", type=date.fromisoformat, help="as-of date (default: latest transaction date)")
    # Alone, or with a value from a job parameter (databricks.yml: --full-refresh {{job.parameters.full_refresh}}).
    b.add_argument("--full-refresh", nargs="?", const=True, default=False, type=_true_or_false, metavar="true|false",
                   help="rebuild every silver model from the landing zone, not only new batches")
    b.set_defaults(func=cmd_build)

    i = sub.add_parser("import-transactions", help="land a transaction file and rebuild gold")
    common(i)
    i.add_argument("file", type=Path)
    i.add_argument("--customer-col", required=True, help="column name, or 1-based position")
    i.add_argument("--date-col", required=True, help="column name, or 1-based position")
    i.add_argument("--amount-col", required=True, help="column name, or 1-based position; negative = refund")
    i.add_argument("--date-format", help="strptime (%%Y%%m%%d) or Spark style (yyyyMMdd); default ISO 8601")
    sep = i.add_mutually_exclusive_group()
    sep.add_argument("--sep", default=",", help="field separator (default ',')")
    sep.add_argument("--whitespace", action="store_true", help="fields separated by runs of spaces or tabs")
    i.add_argument("--no-header", action="store_true", help="the file has no header line")
    i.add_argument("--currency", default="USD", help="currency of the amounts (default USD)")
    i.add_argument("--as-of", type=date.fromisoformat, help="as-of date (default: latest transaction date)")
    i.set_defaults(func=cmd_import)

    seg = sub.add_parser("segment", help="compile, count or list the members of a segment definition (JSON)")
    seg_sub = seg.add_subparsers(dest="segment_command", required=True)

    def which(sp):
        sp.add_argument("spec", type=Path, nargs="?", help="a definition file (JSON)")
        sp.add_argument("--segment", metavar="SEGMENT_ID", help="a saved segment instead of a file")
        sp.add_argument("--version", type=int, help="with --segment: its version (default: the latest)")

    sq = seg_sub.add_parser("sql", help="print the SQL of a definition")
    which(sq)
    sq.add_argument("--dialect", choices=["databricks", "duckdb", "spark"], default="databricks")
    common(sq)
    sq.set_defaults(func=cmd_segment_sql)
    sc = seg_sub.add_parser("count", help="print the audience size")
    which(sc)
    common(sc)
    sc.set_defaults(func=cmd_segment_count)
    sm = seg_sub.add_parser("members", help="write the member ids to a Parquet file")
    which(sm)
    sm.add_argument("--out", required=True, type=Path)
    sm.add_argument("--with-split", action="store_true", help="add the split group of each member")
    common(sm)
    sm.set_defaults(func=cmd_segment_members)

    e = sub.add_parser("export", help="export a saved segment to a destination (a tracked, audited job)")
    e.add_argument("segment_id")
    _destination_flags(e)
    e.add_argument("--version", type=int, help="segment version (default: the latest)")
    e.add_argument("--mode", choices=MODES, default="full",
                   help="diff: only members added or removed since the last successful export here")
    e.add_argument("--attributes", help="comma-separated gold features to add as columns")
    e.add_argument("--include-control", action="store_true", help="export the control group too")
    e.add_argument("--identifiers", choices=IDENTIFIER_MODES, default="none",
                   help="contact identifiers for non-platform destinations (clear needs export_unmasked)")
    e.add_argument("--override-dq-gate", action="store_true",
                   help="export despite failing critical checks (managers only; audited)")
    common(e)
    e.set_defaults(func=cmd_export)

    r = sub.add_parser("rerun", help="run a failed or interrupted export job again (the same job: a webhook "
                                     "re-sends under the same idempotency keys)")
    r.add_argument("job_id")
    for option in options_in_use():
        if option.secret or option.name in ExportRequest.redacted_fields():
            env = f" (or ${option.env})" if option.env else ""
            r.add_argument(option.cli_flag, dest=option.name, help=f"{option.help}{env}; not kept with the job")
    common(r)
    r.set_defaults(func=cmd_rerun)

    x = sub.add_parser("run-export", help="run a queued export job as recorded, as its owner (the bundle's "
                                          "export_run job runs this for the app)")
    x.add_argument("job_id")
    common(x)
    x.set_defaults(func=cmd_run_export)

    d = sub.add_parser("sync-due", help="run the scheduled exports whose period is due (idempotent: each "
                                        "schedule runs once per period however often this runs)")
    common(d)
    d.set_defaults(func=cmd_sync_due)

    s = sub.add_parser("status", help="print what the warehouse holds")
    common(s)
    s.set_defaults(func=cmd_status)
    return p


def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ if env is None else env)
        checkpoints.arm(settings.pause_at)
        return args.func(args, settings)
    except SegmentStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
