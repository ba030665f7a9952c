"""The app's writes on a SQL warehouse: everything the app does, through the fake Databricks warehouse.

The fake connector refuses what Databricks SQL refuses (over 256 parameters,
two statements in one call) and executes the rest on DuckDB, so these are
real results. A warehouse of the small demo size is built through it from
the same generator and seed as the session's DuckDB demo warehouse; then a
segment is saved, every destination exports, a clustering run, a lookalike
and a map are fitted and saved, and queries are logged, each on both engines
where the answer can be compared. Nothing the app sends may be refused or
pass 255 parameters, and no staged file may be left in the volume.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from services import naming
from services.build import build, check_and_catalog
from services.discovery import fitting, store
from services.exports import jobs, snapshots
from services.exports.base import ExportRequest
from services.exports.destinations import DESTINATIONS
from services.pipeline.models import APP_STATE_TABLES, MODELS, create_tables
from services.role_assignments import assign_role, assigned_role
from services.segments.catalog import load_catalog
from services.segments.spec import SegmentDefinition
from services.segments.workspace import Workspace, save_segment
from services.sqlterms import column, equals
from services.warehouse import placement_of
from services.warehouse.databricks_engine import PARAMETERS
from services.warehouse.querylog import LoggedWarehouse, read_entries
from services.warehouse.routing import RoutingWarehouse
from tests.conftest import DEMO_CHECKED, SMALL_DEMO_CUSTOMERS
from tests.services.warehouse.fake_connector import fake_databricks

VIP = "sample-vip-champions-early-access"
FEATURES = ("recency_days", "frequency", "monetary", "online_share", "discount_share")


@pytest.fixture(scope="module")
def on_databricks(tmp_path_factory):
    """(warehouse, connector, build result): the demo build, run through the fake SQL warehouse."""
    root = tmp_path_factory.mktemp("databricks")
    warehouse, connector = fake_databricks(root, database=root / "warehouse.duckdb")
    result = build(warehouse, customers=SMALL_DEMO_CUSTOMERS, seed=7)
    # Checked at the same moment as the DuckDB demo it is compared with (freshness is an age).
    # Judged as on the day after the pinned demo ends, the catalog with them (it carries their verdict).
    check_and_catalog(warehouse, run_id=result.run_id, checked_ts=DEMO_CHECKED)
    # What the build job sent (its identity's grants); everything after is the app's (test_the_guide_grants...).
    connector.built_at = len(connector.sent)
    yield warehouse, connector, result
    # Everything the app sent was taken as Databricks SQL takes it, and the volume is clean.
    assert connector.refused == []
    assert connector.most_parameters() <= PARAMETERS
    assert connector.volumes.leftovers() == []
    warehouse.close()


def rows(warehouse, table: str, *, skip: tuple[str, ...] = ()) -> list[dict]:
    names = [c for c, _ in warehouse.columns(*table.split(".")) if c not in skip]
    return warehouse.arrow(exp.select(*[column(c) for c in names]).from_(table)
                           .order_by(*[column(c) for c in names])).to_pylist()


# -- the build -------------------------------------------------------------------
@pytest.mark.parametrize("table", sorted({m.target_fq for m in MODELS} | {naming.fq("txn", "stg_transactions")}))
def test_the_build_gives_the_tables_duckdb_builds(on_databricks, demo_warehouse, table):
    warehouse, _, _ = on_databricks
    # Columns the build stamps with the time it ran differ by nature.
    assert rows(warehouse, table, skip=("landed_ts",)) == rows(demo_warehouse, table, skip=("landed_ts",))


def test_the_build_result_and_its_checks_match_duckdbs(on_databricks, demo_warehouse):
    warehouse, connector, result = on_databricks
    runs = naming.fq("app", "app_build_runs")
    reference = demo_warehouse.arrow(exp.select("*").from_(runs).where(equals("status", "succeeded"))).to_pylist()[-1]
    assert (result.as_of_date, result.customers, result.transactions, result.gold_rows) == (
        reference["as_of_date"], reference["customers"], reference["transactions"], reference["gold_rows"])
    quality = naming.fq("gov", "fact_data_quality")

    def checks(w, run_id):
        return sorted((r["check_name"], r["check_status"]) for r in w.arrow(
            exp.select("check_name", "check_status").from_(quality).where(equals("run_id", run_id))).to_pylist())

    assert checks(warehouse, result.run_id) == checks(demo_warehouse, reference["run_id"])
    cache = naming.fq("app", "app_export_identifiers")
    assert rows(warehouse, cache, skip=("computed_ts",)) == rows(demo_warehouse, cache, skip=("computed_ts",))
    # The demo data (millions of values) went in through the volume, a COPY INTO per table.
    assert sum(1 for sql, _ in connector.sent if sql.startswith("COPY INTO")) >= 10


# -- saving a segment ------------------------------------------------------------------
def test_saving_a_segment_counts_what_duckdb_counts(on_databricks, scratch_warehouse):
    definition = SegmentDefinition.from_dict({"name": "Online champions", "rule": {
        "kind": "group", "match": "all", "conditions": [
            {"kind": "trait", "field": "rfm_segment", "op": "in", "values": ["Champions", "Loyal"]},
            {"kind": "trait", "field": "online_share", "op": "gte", "value": 0.5}]}})
    warehouse, _, _ = on_databricks
    saved = [save_segment(Workspace(w), definition, author="ana@example.com", role="marketer")
             for w in (warehouse, scratch_warehouse)]
    assert saved[0].audience_size == saved[1].audience_size > 0
    # The same SQL, except that on Databricks it names each table where the warehouse keeps it.
    compiled = Workspace(scratch_warehouse).compile(definition, segment_id=saved[1].segment_id)
    assert saved[1].sql_databricks == compiled.sql("databricks")
    assert saved[0].sql_databricks.replace(saved[0].segment_id, saved[1].segment_id) == compiled.sql(
        "databricks", placement=placement_of(warehouse))
    assert saved[0].sql_databricks != saved[1].sql_databricks.replace(saved[1].segment_id, saved[0].segment_id)


# -- every destination ---------------------------------------------------------------
class Collector:
    """A webhook receiver that keeps every member it is sent."""

    def __init__(self):
        self.members: list[str] = []
        self.lock = threading.Lock()

    def handler(self):
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with collector.lock:
                    collector.members += [m["customer_id"] for m in payload["members"]]
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

        return Handler


@pytest.fixture
def webhook_url():
    collector = Collector()
    server = ThreadingHTTPServer(("127.0.0.1", 0), collector.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/audiences", collector
    server.shutdown()
    server.server_close()


def export(warehouse, output: Path, **fields) -> jobs.Job:
    queued = jobs.create_job(warehouse, ExportRequest(**{"segment_id": VIP, "version": 1, **fields}),
                             user="ana@example.com", role="admin")
    return jobs.run_job(warehouse, queued, output_dir=output)


def snapshot(warehouse, job_id: str) -> list[str]:
    return sorted(warehouse.arrow(snapshots.ids_of(job_id)).column(0).to_pylist())


@pytest.mark.parametrize("name", sorted(DESTINATIONS))
def test_every_destination_exports_what_duckdb_exports(on_databricks, scratch_warehouse, tmp_path, webhook_url,
                                                       name):
    warehouse, connector, _ = on_databricks
    url, collector = webhook_url
    fields = {"destination": name, **({"url": url} if name == "webhook" else {})}
    done = {}
    for label, w in (("databricks", warehouse), ("duckdb", scratch_warehouse)):
        since = len(connector.sent)
        full = export(w, tmp_path / label, **fields)
        diff = export(w, tmp_path / label, **fields, mode="diff")
        done[label] = (full, diff, snapshot(w, full.job_id), sorted(collector.members))
        collector.members.clear()
        if label == "databricks":
            # The snapshot never left the warehouse: INSERT ... SELECT, no COPY INTO of a million ids.
            sent = [sql for sql, _ in connector.sent[since:]]
            placed = f"retail.{snapshots.SNAPSHOTS}"
            assert any(sql.startswith(f"INSERT INTO {placed}") and " SELECT " in sql for sql in sent)
            assert not any(sql.startswith(f"COPY INTO {placed}") for sql in sent)
    (full, diff, ids, sent), (duck_full, duck_diff, duck_ids, duck_sent) = done["databricks"], done["duckdb"]
    assert full.status == diff.status == "succeeded", full.message
    assert (full.members, full.rows_exported, full.rows_excluded, full.excluded) == (
        duck_full.members, duck_full.rows_exported, duck_full.rows_excluded, duck_full.excluded)
    if name != "webhook":  # a webhook's checksum covers its bodies, which carry the job id; ``sent`` compares it
        assert full.checksum == duck_full.checksum
    assert ids == duck_ids and len(ids) == full.rows_exported
    # Nothing changed between the two runs: the diff adds and removes no one, on either engine.
    assert (diff.rows_added, diff.rows_removed) == (duck_diff.rows_added, duck_diff.rows_removed) == (0, 0)
    assert sent == duck_sent


# -- discovery -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(on_databricks, scratch_warehouse):
    """The same clustering run on both engines."""
    warehouse, _, _ = on_databricks
    return [fitting.run_clustering(w, load_catalog(w), features=FEATURES, k=4, scaling="log1p", random_state=0,
                                   author="test@example.com")[0] for w in (warehouse, scratch_warehouse)]


def test_a_clustering_run_is_saved_as_on_duckdb(on_databricks, scratch_warehouse, runs):
    warehouse, _, _ = on_databricks
    on_dbx, on_duck = runs
    assert store.assignments(warehouse, on_dbx.run_id).to_dict() == store.assignments(scratch_warehouse,
                                                                                      on_duck.run_id).to_dict()
    loaded = store.load_run(warehouse, on_dbx.run_id)
    assert loaded.cluster_ids == on_duck.cluster_ids and loaded.customers == on_duck.customers


def test_a_lookalike_scores_every_customer_as_on_duckdb(on_databricks, scratch_warehouse):
    warehouse, _, _ = on_databricks
    seed = SegmentDefinition.from_dict({"name": "Champions", "rule": {"kind": "group", "match": "all", "conditions": [
        {"kind": "trait", "field": "rfm_segment", "op": "in", "values": ["Champions"]}]}})
    trained = [fitting.train_lookalike(Workspace(w), seed, author="test@example.com")[0]
               for w in (warehouse, scratch_warehouse)]

    def scores(w, model_id):
        return w.arrow(
            exp.select("customer_id", "score", "reach_pct").from_(store.SCORES_TABLE)
            .where(equals("model_id", model_id)).order_by("customer_id")).to_pylist()

    assert scores(warehouse, trained[0].model_id) == scores(scratch_warehouse, trained[1].model_id)
    assert store.load_model(warehouse, trained[0].model_id).curve.equals(trained[1].curve)


def test_a_map_is_saved_and_loads_back(on_databricks, runs):
    warehouse, _, _ = on_databricks
    run = runs[0]
    fitting.compute_map(warehouse, load_catalog(warehouse), run.run_id, points=300, n_epochs=20)
    frame = store.load_map(warehouse, run.run_id)
    assert len(frame) == 300 and frame["customer_id"].is_unique
    assignments = store.assignments(warehouse, run.run_id)
    assert (frame.set_index("customer_id")["cluster_id"] == assignments.loc[frame["customer_id"]].to_numpy()).all()
    assert store.load_run(warehouse, run.run_id).map_points == 300


# -- the query log -------------------------------------------------------------------
def test_the_query_log_is_written_in_batches_past_the_parameter_limit(on_databricks):
    warehouse, connector, _ = on_databricks
    logged = LoggedWarehouse(warehouse, batch_size=60)
    features = naming.fq("gold", "gold_customer_features")
    with logged.context(user="ana@example.com", page="builder", segment_id="seg-1"):
        for _ in range(59):
            logged.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(features))
        since = len(connector.sent)
        logged.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(features))  # the 60th fills the batch
    assert logged.pending == 0
    # Sixty rows of ten columns: more than one statement's parameters, so they went through the volume.
    assert any(sql.startswith(f"COPY INTO retail.{naming.fq('ops', 'fact_logs')}") for sql, _ in connector.sent[since:])
    entries = read_entries(warehouse)
    mine = entries[entries["segment_id"] == "seg-1"]
    assert len(mine) == 60 and set(mine["page"]) == {"builder"} and set(mine["user"]) == {"ana@example.com"}
    assert (mine["rows"] == 1).all()



# -- placement (issue 14, item 7) -------------------------------------------------------
def test_the_saved_sql_names_the_placed_tables_and_runs_as_pasted_in_the_sql_editor(on_databricks):
    warehouse, connector, _ = on_databricks
    definition = SegmentDefinition.from_dict({"name": "Loyal online", "rule": {
        "kind": "group", "match": "all", "conditions": [
            {"kind": "trait", "field": "rfm_segment", "op": "in", "values": ["Loyal"]},
            {"kind": "trait", "field": "online_share", "op": "gte", "value": 0.3}]}})
    saved = save_segment(Workspace(warehouse), definition, author="ana@example.com", role="marketer")
    gold = naming.schema("gold")
    assert f"retail.{gold}." in saved.sql_databricks
    # The SQL editor's session is in the workspace's default catalog, not the app's.
    editor = connector()
    try:
        assert editor.session.catalog != "retail"
        members = editor.cursor().execute(saved.sql_databricks).fetchall_arrow()
    finally:
        editor.close()
    assert members.num_rows == saved.audience_size > 0
    # The Builder shows the same text; DuckDB's is the compiler's own, with no catalog.
    compiled = Workspace(warehouse).compile(definition)
    assert Workspace(warehouse).shown_sql(compiled, "databricks").count(f"retail.{gold}.") >= 1
    assert "retail." not in compiled.sql("databricks")


def test_a_table_export_goes_where_the_exports_schema_is_placed_and_a_diff_merges(on_databricks, tmp_path):
    _, connector, _ = on_databricks
    placed, placed_connector = fake_databricks(tmp_path, database=connector.database,
                                               env={"SEGMENT_STUDIO_SCHEMA_EXPORTS": "marketing.activation"})
    try:
        full = export(placed, tmp_path, destination="table", table_name="vip_audience")
        diff = export(placed, tmp_path, destination="table", table_name="vip_audience", mode="diff")
        sent = [sql for sql, _ in placed_connector.sent]
        rows = placed.arrow(exp.select("customer_id").from_(exp.table_("vip_audience", db=naming.schema("exports"))))
    finally:
        placed.close()
    assert full.status == diff.status == "succeeded", (full.message, diff.message)
    assert full.output_path == "marketing.activation.`vip_audience`"
    schemas = [sql for sql in sent if sql.startswith("CREATE SCHEMA")]
    assert schemas and all(sql == "CREATE SCHEMA IF NOT EXISTS marketing.activation" for sql in schemas)
    assert any(sql.startswith("CREATE OR REPLACE TABLE marketing.activation.`vip_audience`") for sql in sent)
    assert any(sql.startswith("MERGE INTO marketing.activation.`vip_audience`") for sql in sent)
    assert rows.num_rows == full.rows_exported > 0
    assert placed_connector.refused == []


# -- the grants the guide lists, against what the app sends --------------------------------
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deploy-databricks.md"
_WRITES = (exp.Insert, exp.Merge, exp.Delete, exp.Update, exp.Create, exp.Copy, exp.TruncateTable, exp.Drop)


def guide_grants(principal: str) -> dict[str, set[str]]:
    """Schema or table (unqualified by catalog) -> privileges the guide grants ``principal``."""
    text = re.sub(r"\s+", " ", GUIDE.read_text(encoding="utf-8"))
    grants: dict[str, set[str]] = {}
    pattern = rf"GRANT ([A-Z ,]+?) ON (?:SCHEMA|TABLE) segment_studio\.([\w.]+) TO `{re.escape(principal)}`"
    for privileges, securable in re.findall(pattern, text):
        grants.setdefault(securable, set()).update(p.strip() for p in privileges.split(","))
    return grants


def written(sql: str) -> tuple[str, str]:
    """(kind, schema.table) a statement writes, placed names without their catalog; ('', '') for a read."""
    tree = sqlglot.parse_one(sql, read="databricks")
    if not isinstance(tree, _WRITES):
        return "", ""
    target = tree.this if not isinstance(tree.this, exp.Schema) else tree.this.this
    target = target if isinstance(target, exp.Table) else tree.find(exp.Table)
    return type(tree).__name__, f"{target.db}.{target.name}"


def test_the_guide_grants_the_app_every_write_it_makes(on_databricks):
    """Every table the app (not the build job) writes is one the guide lets the app's service principal write."""
    warehouse, connector, _ = on_databricks
    definition = SegmentDefinition.from_dict({"name": "Grants check", "rule": {
        "kind": "group", "match": "all", "conditions": [
            {"kind": "trait", "field": "online_share", "op": "gte", "value": 0.5}]}})
    save_segment(Workspace(warehouse), definition, author="ana@example.com", role="marketer")
    # A role assigned and bound to the user id that signs in with it.
    assign_role(warehouse, "ana@example.com", "analyst", by="root@example.com", by_role="admin")
    assert assigned_role(warehouse, "ana@example.com", user_id="42@1") == "analyst"
    # The tables a new version adds to the app schema, created by the app on opening.
    create_tables(warehouse, sorted(APP_STATE_TABLES))
    # On behalf of a user: a table export from gold, its rows read as the user and staged by the app.
    routed = RoutingWarehouse(warehouse, warehouse)
    routed.execute(exp.Create(this=exp.Table(db=exp.to_identifier(naming.schema("exports"))), kind="SCHEMA",
                              exists=True))
    routed.execute(exp.Create(this=exp.to_table(naming.fq("exports", "grants_check")), kind="TABLE", replace=True,
                              expression=exp.select("customer_id").from_(naming.fq("gold", "gold_customer_features"))
                              .limit(3)))
    grants = guide_grants("app-sp")
    missing = set()
    for sql, _ in connector.sent[connector.built_at:]:
        kind, table = written(sql)
        if not kind:
            continue
        schema = table.split(".")[0]
        allowed = grants.get(table, set()) | grants.get(schema, set())
        needs = {"CREATE TABLE"} if kind == "Create" else {"MODIFY"}
        if not needs <= allowed:
            missing.add((kind, naming.short(table.split(".")[1]), naming.short(schema), ", ".join(sorted(needs))))
    assert not missing, f"docs/deploy-databricks.md does not grant the app's service principal: {sorted(missing)}"
