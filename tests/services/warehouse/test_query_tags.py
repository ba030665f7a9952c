"""Query tags: every statement the Databricks engine sends says which app, page and segment it is for.

The tags travel per statement through the connector's ``Cursor.execute(...,
query_tags=...)`` (databricks-sql-connector==4.9.0:databricks/sql/client.py;
https://docs.databricks.com/aws/en/sql/user/queries/query-tags) and land in
``system.query.history.query_tags``, which the Cost page reads on Databricks.
They are stored in plain text, so no user name or email is ever among them.
"""

from __future__ import annotations

from sqlglot import exp

from services.warehouse.querylog import APP_SERVICE_ID, LoggedWarehouse, QueryContext, query_tags
from services.warehouse.roundtrips import CountingWarehouse
from tests.services.warehouse.fake_connector import fake_databricks


def tagged_stack(tmp_path):
    """The app's stack over the fake warehouse, wired as components/warehouse wires it."""
    engine, connector = fake_databricks(tmp_path)
    logged = LoggedWarehouse(CountingWarehouse(engine), write_log=False)
    engine.query_tags = logged.query_tags
    return engine, logged, connector


def test_tags_name_the_app_page_and_segment_never_the_user():
    context = QueryContext(user="ana@example.com", page="builder", segment_id="seg-42")
    assert query_tags(context) == {"app": APP_SERVICE_ID, "page": "builder", "segment_id": "seg-42"}
    assert query_tags(QueryContext(user="ana@example.com")) == {"app": APP_SERVICE_ID}


def test_every_statement_carries_the_page_and_segment_it_was_run_for(tmp_path):
    engine, logged, connector = tagged_stack(tmp_path)
    with logged.context(user="ana@example.com", page="builder", segment_id="seg-42"):
        assert logged.scalar(exp.select(exp.Literal.number(1))) == 1
        logged.execute("CREATE TABLE t (x INT)")
    with logged.context(user="bo@example.com", page="library"):
        logged.df("SELECT * FROM t")
    assert [tags for _, tags in connector.tagged] == [
        {"app": "segment-studio", "page": "builder", "segment_id": "seg-42"},
        {"app": "segment-studio", "page": "builder", "segment_id": "seg-42"},
        {"app": "segment-studio", "page": "library"},
    ]
    # No PII: nothing the tags hold names a user.
    assert not any("@" in f"{key}{value}" for _, tags in connector.tagged for key, value in tags.items())
    assert not any("user" in key for _, tags in connector.tagged for key in tags)


def test_a_statement_outside_any_page_still_names_the_app(tmp_path):
    engine, connector = fake_databricks(tmp_path)  # the CLI and the jobs: no query log, no page
    engine.execute("SELECT 1")
    assert connector.tagged == [("SELECT 1", {"app": "segment-studio"})]


def test_the_log_is_not_written_where_the_platform_keeps_the_history(tmp_path):
    _, logged, connector = tagged_stack(tmp_path)
    with logged.context(user="ana@example.com", page="builder"):
        for _ in range(30):
            logged.scalar("SELECT 1")
    assert logged.pending == 0 and logged.flush() == 0
    assert len(connector.sent) == 30  # the 30 queries and no insert of a log row
