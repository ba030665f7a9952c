"""The Exports page as a Databricks App keeps its files: in the exports volume, through the Files API.

The app's export folder is a volume path (what app.yaml's ``valueFrom: exports-volume`` gives),
``/Volumes`` is not mounted here (as in an App), and the app's Files API client is a FakeVolumes
over a local folder that stands for the volume. An export clicked on the page lands there, and
the page offers it for download from there: nothing is read from the app's own disk.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import components.files
from services.exports import jobs
from services.exports.base import ExportRequest
from services.exports.filestore import Stores, volumes_mounted
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.pages.export_history import wait_for
from tests.services.warehouse.fake_volumes import FakeVolumes

VIP = "sample-vip-champions-early-access"
VOLUME = "/Volumes/segment_studio/exports/files"


@pytest.fixture
def volumes(tmp_path, monkeypatch):
    """The app's Files API client: a fake volume over a local folder (the app makes none of its own)."""
    assert not volumes_mounted()  # as in a Databricks App: a /Volumes path is reached through the Files API
    fake = FakeVolumes(tmp_path / "remote", VOLUME)
    monkeypatch.setattr(components.files, "files_api", lambda host: fake)
    monkeypatch.setenv("SEGMENT_STUDIO_EXPORT_DIR", f"{VOLUME}/exports")
    return fake


def test_an_export_clicked_on_the_page_lands_in_the_volume_and_is_offered_from_there(app, volumes, tmp_path):
    at = app(page="pages/exports.py", role="marketer", user="maria@example.com", query={"segment": VIP})
    assert at.text_input(key="exports_folder").value == f"{VOLUME}/exports"
    at.button(key="exports_run").click().run()
    assert not at.exception, at.exception
    job_id = at.session_state["exports_job"]
    assert wait_for(at, job_id) == "succeeded"
    [written] = volumes.leftovers()
    assert written.startswith(f"{VOLUME}/exports/{VIP}-v1-csv-full-{job_id}")
    # The app's configuration (read-write): DuckDB refuses a second configuration of a file in a process.
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    try:
        job = jobs.get(warehouse, job_id)
    finally:
        warehouse.close()
    assert job.output_path == written
    assert hashlib.sha256(volumes.local(written).read_bytes()).hexdigest() == job.checksum
    assert not Path(written).exists()
    labels = [b.proto.label for b in at.download_button]
    assert f"Download {Path(written).name}" in labels
    assert ("get_metadata", written) in volumes.calls


def test_a_past_export_in_the_volume_is_offered_and_a_vanished_one_is_not(app, volumes, tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    try:
        stores = Stores(files_api_factory=lambda: volumes, mounted=lambda: False, scratch=tmp_path / "scratch")
        request = ExportRequest(segment_id=VIP, version=1, destination="parquet")
        done = jobs.run_job(warehouse, jobs.create_job(warehouse, request, user="maria@example.com", role="marketer"),
                            output_dir=Path(f"{VOLUME}/exports"), stores=stores)
    finally:
        warehouse.close()
    at = app(page="pages/exports.py", role="marketer", user="maria@example.com", query={"segment": VIP})
    assert at.selectbox(key="exports_detail").value == done.job_id
    button = at.download_button(key=f"exports_past_download_{done.job_id}")
    assert button.proto.label == f"Download {Path(done.output_path).name}"

    volumes.delete(done.output_path)  # gone from the volume: the page names the path, offers nothing
    at.run()
    assert not at.exception, at.exception
    assert not [b for b in at.download_button if b.key == f"exports_past_download_{done.job_id}"]
    assert any(done.output_path in c.value for c in at.caption)
