"""Export jobs end to end on the demo warehouse: exact members, diffs, kills, idempotency, audit."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from services.errors import ExportError
from services.exports import jobs, preflight, snapshots
from services.exports.base import ExportRequest
from services.exports.destinations import DESTINATIONS
from services.exports.selection import CONTROL_REASON
from services.exports.table import default_table

from .conftest import VIP, audit_rows, members, save_segment


def run(warehouse, out: Path, **kwargs):
    request = ExportRequest(**{"segment_id": VIP, "version": 1, **kwargs})
    queued = jobs.create_job(warehouse, request, user="tester", role="admin")
    return jobs.run_job(warehouse, queued, output_dir=out)


def read_csv(path: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_holds_exactly_the_segment_members_without_control(warehouse, tmp_path):
    expected = members(warehouse, VIP)
    job = run(warehouse, tmp_path, destination="csv", attributes=("rfm_segment",))
    rows = read_csv(job.output_path)
    ids = [r["customer_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == {c for c, group in expected.items() if group != "control"}
    assert {r["rfm_segment"] for r in rows} == {"Champions"}
    assert job.members == len(expected)
    assert job.excluded == {CONTROL_REASON: sum(g == "control" for g in expected.values())}
    assert job.rows_exported + job.rows_excluded == job.members
    assert job.checksum == hashlib.sha256(Path(job.output_path).read_bytes()).hexdigest()


def test_control_is_exported_when_asked(warehouse, tmp_path):
    expected = members(warehouse, VIP)
    job = run(warehouse, tmp_path, destination="parquet", include_control=True)
    table = pq.read_table(job.output_path)
    assert dict(zip(table.column("customer_id").to_pylist(), table.column("split_group").to_pylist())) == expected


@pytest.mark.parametrize("destination, key", [("meta", "EXTERN_ID"), ("google_ads", None), ("braze", "external_id"),
                                              ("salesforce", "SubscriberKey")])
def test_platform_files_hold_one_row_per_usable_member(warehouse, tmp_path, destination, key):
    expected = {c for c, g in members(warehouse, VIP).items() if g != "control"}
    job = run(warehouse, tmp_path, destination=destination)
    rows = read_csv(job.output_path)
    assert len(rows) == job.rows_exported == len(expected) - sum(v for k, v in job.excluded.items()
                                                                  if k != CONTROL_REASON)
    if key:
        assert {r[key] for r in rows} <= expected


def test_warehouse_table_full_replace_holds_the_members(warehouse, tmp_path):
    expected = {c for c, g in members(warehouse, VIP).items() if g != "control"}
    job = run(warehouse, tmp_path, destination="table", attributes=("monetary",))
    got = warehouse.arrow(exp.select("customer_id", "split_group", "monetary").from_(default_table(VIP))).to_pylist()
    assert {r["customer_id"] for r in got} == expected and len(got) == len(expected)
    assert job.rows_exported == len(expected)


def test_diff_across_two_versions_gives_the_right_adds_and_removes(warehouse, tmp_path):
    segment = save_segment(warehouse, "diff test", [["Champions", "Loyal"], ["Loyal", "Potential Loyalist"]])
    v1, v2 = set(members(warehouse, segment, 1)), set(members(warehouse, segment, 2))

    first = run(warehouse, tmp_path, segment_id=segment, version=1, destination="csv", mode="diff")
    # A full export is an export too: the next diff compares against it.
    full = run(warehouse, tmp_path, segment_id=segment, version=1, destination="csv", mode="full")
    first_rows = read_csv(first.output_path)
    # The first diff is a full export: everyone, all marked "add".
    assert {r["customer_id"] for r in first_rows} == {r["customer_id"] for r in read_csv(full.output_path)} == v1
    assert {r["action"] for r in first_rows} == {"add"} and first.previous_job_id is None

    second = run(warehouse, tmp_path, segment_id=segment, version=2, destination="csv", mode="diff")
    rows = read_csv(second.output_path)
    assert {r["customer_id"] for r in rows if r["action"] == "add"} == v2 - v1
    assert {r["customer_id"] for r in rows if r["action"] == "remove"} == v1 - v2
    assert (second.rows_added, second.rows_removed) == (len(v2 - v1), len(v1 - v2))
    assert second.previous_job_id == full.job_id
    assert v2 - v1 and v1 - v2

    # Nothing changed since: an empty diff.
    third = run(warehouse, tmp_path, segment_id=segment, version=2, destination="csv", mode="diff")
    assert (third.rows_added, third.rows_removed) == (0, 0)


def test_incremental_table_merge_follows_the_segment(warehouse, tmp_path):
    segment = save_segment(warehouse, "merge test", [["Champions"], ["Champions", "At Risk"]])
    v2 = set(members(warehouse, segment, 2))
    run(warehouse, tmp_path, segment_id=segment, version=1, destination="table", mode="diff")
    job = run(warehouse, tmp_path, segment_id=segment, version=2, destination="table", mode="diff")
    got = warehouse.arrow(exp.select("customer_id").from_(default_table(segment))).column(0).to_pylist()
    assert sorted(got) == sorted(v2)
    assert job.rows_added == len(v2 - set(members(warehouse, segment, 1)))


class Killed(BaseException):
    """Stands in for the process dying: not an Exception, so nothing in the job catches it."""


def test_a_killed_job_leaves_no_file_under_its_final_name_and_reruns_cleanly(warehouse, tmp_path):
    request = ExportRequest(segment_id=VIP, version=1, destination="csv")
    job_id = jobs.create_job(warehouse, request, user="tester", role="marketer").job_id

    def die_mid_write(step, fraction):
        if step == "delivering" and fraction > 0.45:
            raise Killed()

    with pytest.raises(Killed):
        jobs.run_job(warehouse, job_id, output_dir=tmp_path, progress=die_mid_write)
    assert not list(tmp_path.glob("*.csv")), "a partial file appeared under a final name"
    assert list(tmp_path.glob("*.partial"))  # what the dead process left behind
    assert jobs.get(warehouse, job_id).status == "running"

    job = jobs.run_job(warehouse, job_id, output_dir=tmp_path)
    assert job.status == "succeeded"
    assert not list(tmp_path.glob("*.partial"))
    assert {r["customer_id"] for r in read_csv(job.output_path)} == {
        c for c, g in members(warehouse, VIP).items() if g != "control"}
    # the snapshot holds the exported members once
    ids = warehouse.arrow(snapshots.ids_of(job_id)).column(0).to_pylist()
    assert len(ids) == len(set(ids)) == job.rows_exported


def test_a_failed_job_records_why_removes_its_output_and_reruns(warehouse, tmp_path):
    request = ExportRequest(segment_id=VIP, version=1, destination="csv")
    job_id = jobs.create_job(warehouse, request, user="tester", role="marketer").job_id

    def disk_full(step, fraction):
        if step == "delivering" and fraction > 0.45:
            raise OSError("No space left on device")

    with pytest.raises(ExportError, match="No space left"):
        jobs.run_job(warehouse, job_id, output_dir=tmp_path, progress=disk_full)
    failed = jobs.get(warehouse, job_id)
    assert failed.status == "failed" and "No space left" in failed.message
    assert not list(tmp_path.iterdir())
    assert warehouse.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(snapshots.ids_of(job_id).subquery("s"))) == 0
    assert audit_rows(warehouse, "export.failed", job_id)
    assert jobs.run_job(warehouse, job_id, output_dir=tmp_path).status == "succeeded"


def test_running_the_same_job_twice_gives_one_result_and_one_audit_row(warehouse, tmp_path):
    request = ExportRequest(segment_id=VIP, version=1, destination="meta")
    job_id = jobs.create_job(warehouse, request, user="tester", role="marketer").job_id
    first = jobs.run_job(warehouse, job_id, output_dir=tmp_path)
    second = jobs.run_job(warehouse, job_id, output_dir=tmp_path)
    assert second == first
    assert len(list(tmp_path.glob("*.csv"))) == 1
    audit = audit_rows(warehouse, "export.run", job_id)
    assert len(audit) == 1
    assert audit[0]["actor"] == "tester" and audit[0]["row_count"] == first.rows_exported
    assert audit[0]["checksum"] == first.checksum


def test_background_start_finishes_and_reports_progress(warehouse, tmp_path):
    request = ExportRequest(segment_id=VIP, version=1, destination="parquet")
    queued = jobs.create_job(warehouse, request, user="tester", role="marketer")
    job_id = queued.job_id
    assert jobs.get(warehouse, job_id).status == "queued"
    jobs.start(warehouse, queued, output_dir=tmp_path).join(timeout=120)
    job = jobs.get(warehouse, job_id)
    assert job.status == "succeeded" and job.progress == 1.0 and Path(job.output_path).exists()
    assert job_id in set(jobs.history(warehouse)["job_id"])


def test_csv_fast_path_and_quoting_path_agree_on_content(tmp_path):
    import pyarrow as pa

    from services.exports.files import _plain, write_csv

    plain = pa.table({"a": ["x", None, "z"], "b": ["1", "2", None]})
    quoted = pa.table({"a": ["x,1", None, 'say "hi"'], "b": ["1", "2", None]})
    assert _plain(plain) and not _plain(quoted)
    write_csv(plain, tmp_path / "plain.csv")
    write_csv(quoted, tmp_path / "quoted.csv")
    assert (tmp_path / "plain.csv").read_text() == "a,b\nx,1\n,2\nz,\n"
    with open(tmp_path / "quoted.csv", newline="") as handle:
        assert list(csv.reader(handle)) == [["a", "b"], ["x,1", "1"], ["", "2"], ['say "hi"', ""]]


def test_a_meta_diff_is_two_upload_files_in_metas_own_columns(warehouse, tmp_path):
    from services.exports.files import removals_path
    from services.exports.meta import KEYS

    segment = save_segment(warehouse, "meta diff", [["Champions", "Loyal"], ["Loyal", "Potential Loyalist"]])
    v1, v2 = set(members(warehouse, segment, 1)), set(members(warehouse, segment, 2))
    run(warehouse, tmp_path, segment_id=segment, version=1, destination="meta", mode="diff")
    job = run(warehouse, tmp_path, segment_id=segment, version=2, destination="meta", mode="diff")

    adds, removes = read_csv(job.output_path), read_csv(str(removals_path(Path(job.output_path))))
    # Meta rejects columns it does not know: both files carry exactly its keys, no "action".
    for path in (job.output_path, removals_path(Path(job.output_path))):
        with open(path, encoding="utf-8") as handle:
            assert handle.readline().strip().split(",") == list(KEYS)
    added, removed = {r["EXTERN_ID"] for r in adds}, {r["EXTERN_ID"] for r in removes}
    assert added and removed and added <= v2 - v1 and removed <= v1 - v2
    assert (len(adds), len(removes)) == (job.rows_added, job.rows_removed)
    assert all(len(r["EMAIL"]) in (0, 64) for r in adds + removes)


def test_a_segment_of_a_saved_cluster_exports_its_members(fresh_warehouse, tmp_path):
    """Saved from the Cluster Explorer, exported from the Exports page: the job's catalog knows the run."""
    from services.discovery import fitting
    from services.segments.catalog import load_catalog
    from services.segments.library import SegmentLibrary

    clustering, _ = fitting.run_clustering(fresh_warehouse, load_catalog(fresh_warehouse),
                                                features=("monetary", "frequency", "recency_days"), k=3,
                                                author="analyst@example.com")
    saved = SegmentLibrary(fresh_warehouse).save(clustering.segment(1), author="analyst@example.com")
    expected = set(clustering.labels[clustering.labels == 1].index)

    job = run(fresh_warehouse, tmp_path, segment_id=saved.segment_id, destination="csv")
    assert job.status == "succeeded", job.message
    assert {r["customer_id"] for r in read_csv(job.output_path)} == expected


@pytest.fixture
def counted(monkeypatch):
    """Counts of ``normalise`` (on every destination) and ``preflight.compile_saved`` calls."""
    calls: Counter = Counter()

    def counting(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    for dest in DESTINATIONS.values():
        monkeypatch.setattr(dest, "normalise", counting("normalise", dest.normalise))
    monkeypatch.setattr(preflight, "compile_saved", counting("compile_saved", preflight.compile_saved))
    return calls


@pytest.mark.parametrize("destination, mode", [("csv", "full"), ("table", "diff"), ("meta", "diff")])
def test_a_click_normalises_the_request_once_and_compiles_the_segment_once(warehouse, tmp_path, counted,
                                                                             destination, mode):
    queued = jobs.create_job(warehouse, ExportRequest(segment_id=VIP, version=1, destination=destination, mode=mode),
                             user="tester", role="marketer")
    job = jobs.run_job(warehouse, queued, output_dir=tmp_path)
    assert job.status == "succeeded"
    assert counted == {"normalise": 1, "compile_saved": 1}


def test_a_job_run_from_its_id_compiles_its_segment_once_and_normalises_nothing(warehouse, tmp_path, counted):
    job_id = jobs.create_job(warehouse, ExportRequest(segment_id=VIP, version=1, destination="csv"), user="tester",
                             role="marketer").job_id
    counted.clear()
    # As another process runs it: the stored request is already as the destination runs it.
    assert jobs.run_job(warehouse, job_id, output_dir=tmp_path).status == "succeeded"
    assert counted == {"compile_saved": 1}


@pytest.mark.parametrize("destination", ["meta", "google_ads", "csv"])
def test_a_diff_that_only_removes_members_reports_the_removals(warehouse, tmp_path, destination):
    """The bug: a diff of 237 removals and no adds said "0 rows" (the adds file only)."""
    segment = save_segment(warehouse, f"shrinking {destination}", [["Champions", "Loyal"], ["Loyal"]])
    v1, v2 = set(members(warehouse, segment, 1)), set(members(warehouse, segment, 2))
    assert v2 < v1
    run(warehouse, tmp_path, segment_id=segment, version=1, destination=destination, mode="diff")
    job = run(warehouse, tmp_path, segment_id=segment, version=2, destination=destination, mode="diff")
    assert job.rows_added == 0 and job.rows_removed > 0
    assert job.rows_exported == job.rows_removed
    assert f"exported {job.rows_removed:,}" in job.summary()
    (audit,) = audit_rows(warehouse, "export.run", job.job_id)
    assert audit["row_count"] == job.rows_removed
