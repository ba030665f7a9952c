"""AppTest smoke tests of the Exports page, per role."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.proto.TextInput_pb2 import TextInput as TextInputProto

from services.exports.jobs import JOBS
from services.quality import run_checks
from services.segments.spec import SegmentDefinition
from services.segments.workspace import Workspace, save_segment
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.pages.export_history import wait_for


@pytest.fixture
def exports_app(app, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENT_STUDIO_EXPORT_DIR", str(tmp_path / "exports"))

    def run(**kwargs):
        return app(page="pages/exports.py", **kwargs)

    return run


def test_viewer_sees_why_exports_are_unavailable(exports_app):
    at = exports_app(role="viewer")
    assert any("not available for your role (viewer)" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "exports_run"]


def test_marketer_runs_a_csv_export_and_sees_it_succeed_in_the_history(exports_app, tmp_path):
    at = exports_app(role="marketer", user="maria@example.com",
                     query={"segment": "sample-vip-champions-early-access"})
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Members"].replace(",", "")) > 0
    # A marketer may not export contacts in clear.
    assert at.radio(key="exports_identifiers").options == ["none", "hashed"]
    at.button(key="exports_run").click().run()
    assert not at.exception, at.exception
    job_id = at.session_state["exports_job"]
    assert wait_for(at, job_id) == "succeeded"
    assert list((tmp_path / "exports").glob("sample-vip-champions-early-access-v1-csv-full-*.csv"))
    assert any(job_id in t.value and "succeeded" in t.value for t in at.text)


def test_admin_may_export_identifiers_in_clear(exports_app):
    at = exports_app(role="admin", query={"segment": "sample-vip-champions-early-access"})
    assert at.radio(key="exports_identifiers").options == ["none", "hashed", "clear"]


def test_platform_destination_shows_the_hashing_and_match_rate(exports_app):
    at = exports_app(role="manager", query={"segment": "sample-vip-champions-early-access"})
    at.selectbox(key="exports_destination").select("meta").run()
    assert not at.exception, at.exception
    assert any("SHA-256 hashed" in c.value for c in at.caption)
    assert "Predicted match rate" in {m.label for m in at.metric}


def test_a_folder_outside_the_export_folder_is_refused(exports_app):
    at = exports_app(role="marketer", query={"segment": "sample-vip-champions-early-access"})
    at.text_input(key="exports_folder").input("/tmp/anywhere-else").run()
    at.button(key="exports_run").click().run()
    assert not at.exception, at.exception
    assert any("the folder must be inside" in e.value for e in at.error)
    assert "exports_job" not in at.session_state


def test_the_settings_form_is_the_destinations_declared_options(exports_app, tmp_path):
    at = exports_app(role="marketer", query={"segment": "sample-vip-champions-early-access"})
    # A file's folder starts from the app's export folder (the option's setting).
    assert at.text_input(key="exports_folder").value == str(tmp_path / "exports")
    at.selectbox(key="exports_destination").select("webhook").run()
    assert not at.exception, at.exception
    assert at.text_input(key="exports_url").label == "URL"
    # A secret is typed as a password, never shown (TextInput.Type.PASSWORD in Streamlit's protocol).
    assert at.text_input(key="exports_auth_header").proto.type == TextInputProto.Type.PASSWORD
    numbers = {n.key: (n.label, n.value) for n in at.number_input}
    assert numbers == {"exports_batch_size": ("Batch size", 500), "exports_max_retries": ("Retries", 5),
                       "exports_timeout_s": ("Timeout (s)", 10.0)}
    batch = at.number_input(key="exports_batch_size").proto
    assert (batch.min, batch.max) == (1, 10_000)  # the option's bounds
    at.selectbox(key="exports_destination").select("table").run()
    assert at.text_input(key="exports_table_name").label == "Table (in the exports schema)"
    assert not [t for t in at.text_input if t.key in ("exports_url", "exports_folder")]


VIP = "sample-vip-champions-early-access"


def _warehouse():
    return DuckDBWarehouse(Path(os.environ["SEGMENT_STUDIO_WAREHOUSE"]))


def _save_empty_segment() -> str:
    """A saved segment no one matches (frequency of a million orders or more)."""
    warehouse = _warehouse()
    definition = SegmentDefinition.from_dict({"name": "Nobody", "rule": {"kind": "group", "match": "all", "conditions": [
        {"kind": "trait", "field": "frequency", "op": "gte", "value": 1_000_000}]}})
    saved = save_segment(Workspace(warehouse), definition, author="m@example.com", role="marketer")
    warehouse.close()
    assert saved.audience_size == 0
    return saved.segment_id


def test_the_segment_picker_shows_each_segments_size(exports_app):
    at = exports_app(role="marketer", query={"segment": VIP})
    picker = at.selectbox(key="exports_segment")
    assert all(" · " in o and o.endswith("members") for o in picker.options)
    assert picker.value == VIP


def test_an_empty_audience_is_exported_only_once_confirmed(exports_app):
    empty = _save_empty_segment()
    at = exports_app(role="marketer", query={"segment": empty})
    assert any(w.value.startswith("Nobody would be sent") for w in at.warning)
    at.button(key="exports_run").click().run()
    assert "exports_job" not in at.session_state
    assert any("Please confirm: This export sends nobody" in w.value for w in at.warning)
    at.button(key="exports_cancel").click().run()
    assert "exports_job" not in at.session_state and "exports_confirm" not in [b.key for b in at.button]
    at.button(key="exports_run").click().run()
    at.button(key="exports_confirm").click().run()
    assert not at.exception, at.exception
    assert at.session_state["exports_job"].startswith("exp-")


def test_a_webhook_without_a_url_cannot_be_started_and_says_why(exports_app):
    at = exports_app(role="marketer", query={"segment": VIP})
    at.selectbox(key="exports_destination").select("webhook").run()
    assert any("needs its url before an export can start" in w.value for w in at.warning)
    run = at.button(key="exports_run")
    assert run.disabled and run.help == "Enter the url under Destination settings first"
    at.text_input(key="exports_url").input("https://example.com/hook").run()
    assert not at.button(key="exports_run").disabled


def test_a_match_rate_is_shown_only_when_identifiers_are_sent(exports_app):
    at = exports_app(role="marketer", query={"segment": VIP})
    labels = [m.label for m in at.metric]
    assert "Predicted match rate" not in labels and "Estimated duration" in labels
    at.radio(key="exports_identifiers").set_value("hashed").run()
    assert "Predicted match rate" in [m.label for m in at.metric]
    assert any("a typical rate for a CSV file" in c.value for c in at.caption)


def _stale_gold() -> None:
    """Check the copy by today's clock: the demo's data is weeks old, so gold's freshness fails (critical)."""
    warehouse = _warehouse()
    run_checks(warehouse, run_id="chk-today")
    warehouse.close()


def test_the_dq_override_is_confirmed_and_a_marketer_is_told_who_may(exports_app):
    _stale_gold()
    marketer = exports_app(role="marketer", query={"segment": VIP})
    assert any("gold_customer_features: freshness" in e.value for e in marketer.error)
    run = marketer.button(key="exports_run")
    assert run.disabled and "a manager may override the gate" in run.help
    assert any("see [the Roles page](/admin)" in i.value for i in marketer.info)

    manager = exports_app(role="manager", user="boss@example.com", query={"segment": VIP})
    assert manager.button(key="exports_run").disabled
    manager.checkbox(key="exports_override").check().run()
    manager.button(key="exports_run").click().run()
    assert "exports_job" not in manager.session_state
    assert any("despite failing critical checks" in w.value and "audit log" in w.value for w in manager.warning)
    manager.button(key="exports_confirm").click().run()
    assert not manager.exception, manager.exception
    job_id = manager.session_state["exports_job"]
    warehouse = _warehouse()
    assert warehouse.scalar(f"SELECT dq_override FROM {JOBS} WHERE job_id = $j", {"j": job_id}) is True
    warehouse.close()


def test_a_marketer_schedules_the_export_and_pauses_resumes_and_deletes_it(exports_app):
    at = exports_app(role="marketer", user="maria@example.com",
                     query={"segment": "sample-vip-champions-early-access"})
    assert not any("No scheduled exports" in c.value for c in at.caption)  # the history is shown first
    at.segmented_control(key="exports_view").set_value("Scheduled syncs").run()
    assert any("No scheduled exports" in c.value for c in at.caption)
    at.selectbox(key="schedule_frequency").set_value("weekly").run()
    at.selectbox(key="schedule_weekday").set_value(2).run()
    at.button(key="schedule_create").click().run()
    assert not at.exception, at.exception
    assert any("every Wednesday at 06:00 UTC" in s.value for s in at.success)
    table = next(d.value for d in at.dataframe if "schedule" in d.value)
    [row] = table.to_dict("records")
    assert (row["segment"], row["mode"], row["status"], row["owner"]) == (
        "sample-vip-champions-early-access", "diff", "active", "maria@example.com")
    assert row["next run"].endswith("06:00 UTC") and row["last job"] == ""

    at.button(key="schedule_toggle").click().run()
    table = next(d.value for d in at.dataframe if "schedule" in d.value)
    assert table.iloc[0]["status"] == "paused" and table.iloc[0]["next run"] == "paused"
    assert at.button(key="schedule_toggle").label == "Resume"
    at.button(key="schedule_toggle").click().run()
    assert next(d.value for d in at.dataframe if "schedule" in d.value).iloc[0]["status"] == "active"
    at.button(key="schedule_delete").click().run()
    assert not at.exception, at.exception
    assert any("No scheduled exports" in c.value for c in at.caption)


def test_another_marketer_does_not_see_someone_elses_schedules_but_a_manager_does(exports_app, app):
    at = exports_app(role="marketer", user="maria@example.com",
                     query={"segment": "sample-vip-champions-early-access"})
    at.button(key="schedule_create").click().run()
    assert any("Scheduled" in s.value for s in at.success)
    other = exports_app(role="marketer", user="bo@example.com")
    other.segmented_control(key="exports_view").set_value("Scheduled syncs").run()
    assert any("No scheduled exports" in c.value for c in other.caption)
    manager = exports_app(role="manager", user="boss@example.com")
    manager.segmented_control(key="exports_view").set_value("Scheduled syncs").run()
    table = next(d.value for d in manager.dataframe if "schedule" in d.value)
    assert list(table["owner"]) == ["maria@example.com"]
