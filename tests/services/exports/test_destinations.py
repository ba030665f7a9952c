"""The registry: adding a destination is one class, and the job, the CLI and the checks take it as it is.

``JsonLinesDestination`` exists only here. Registered for a test, it runs as a
real job end to end (full and diff) with the job code untouched, and the CLI
offers it with its options.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from services import cli
from services.exports import jobs
from services.exports.base import Delivered, DeliveryContext, Destination, ExportRequest, Option
from services.exports.destinations import DESTINATIONS, destination, options_in_use
from services.exports.files import FOLDER
from services.exports.selection import CONTROL_REASON

from .conftest import VIP, members, save_segment


class JsonLinesDestination(Destination):
    """One JSON object per member and line, in the folder the request names."""

    name = "jsonl"
    label = "JSON lines"
    options = (FOLDER,)

    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:
        folder = Path(ctx.request.folder) if ctx.request.folder else Path(ctx.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{ctx.file_stem}.jsonl"
        data = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows.to_pylist()).encode()
        path.write_bytes(data)
        ctx.progress(1.0)
        return Delivered(rows=rows.num_rows, checksum=hashlib.sha256(data).hexdigest(), output_path=str(path))


@pytest.fixture
def jsonl(monkeypatch):
    monkeypatch.setitem(DESTINATIONS, JsonLinesDestination.name, JsonLinesDestination())
    return DESTINATIONS[JsonLinesDestination.name]


def lines(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def export(warehouse, **fields):
    queued = jobs.create_job(warehouse, ExportRequest(**{"segment_id": VIP, "version": 1, **fields}), user="tester",
                             role="marketer")
    # No usable export folder: the file can only land where the request's folder option says.
    return jobs.run_job(warehouse, queued, output_dir=Path("/nonexistent"))


def test_a_new_destination_runs_as_a_job_without_touching_the_job_code(warehouse, tmp_path, jsonl):
    expected = members(warehouse, VIP)
    job = export(warehouse, destination="jsonl", attributes=("rfm_segment",), folder=str(tmp_path))
    assert job.status == "succeeded" and Path(job.output_path).parent == tmp_path
    rows = lines(job.output_path)
    assert [r["customer_id"] for r in rows] == sorted(c for c, g in expected.items() if g != "control")
    assert {tuple(sorted(r)) for r in rows} == {("customer_id", "rfm_segment", "split_group")}
    assert job.excluded == {CONTROL_REASON: sum(g == "control" for g in expected.values())}
    assert job.checksum == hashlib.sha256(Path(job.output_path).read_bytes()).hexdigest()


def test_a_new_destination_gets_diffs_of_changes_by_default(warehouse, tmp_path, jsonl):
    segment = save_segment(warehouse, "jsonl diff", [["Champions", "Loyal"], ["Loyal", "At Risk"]])
    v1, v2 = set(members(warehouse, segment, 1)), set(members(warehouse, segment, 2))
    export(warehouse, segment_id=segment, destination="jsonl", mode="diff", include_control=True,
           folder=str(tmp_path))
    job = export(warehouse, segment_id=segment, version=2, destination="jsonl", mode="diff", include_control=True,
                 folder=str(tmp_path))
    rows = lines(job.output_path)
    assert {r["customer_id"] for r in rows if r["action"] == "add"} == v2 - v1
    assert {r["customer_id"] for r in rows if r["action"] == "remove"} == v1 - v2
    assert (job.rows_added, job.rows_removed) == (len(v2 - v1), len(v1 - v2)) and v2 - v1 and v1 - v2


def test_the_cli_offers_a_new_destination_and_its_options(jsonl, tmp_path):
    args = cli.parser().parse_args(["export", VIP, "--destination", "jsonl", "--folder", str(tmp_path)])
    assert (args.destination, args.folder) == ("jsonl", str(tmp_path))
    assert "jsonl" in options_in_use()[FOLDER]
    assert destination("jsonl") is jsonl


def test_two_destinations_may_not_declare_one_request_field_differently(monkeypatch):
    class Clashing(Destination):
        name = "clashing"
        options = (Option("max_retries", "Attempts", int, minimum=1),)

    monkeypatch.setitem(DESTINATIONS, Clashing.name, Clashing())
    with pytest.raises(ValueError, match="declares option 'max_retries' unlike another"):
        options_in_use()
