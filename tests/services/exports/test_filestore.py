"""Export files on a Unity Catalog volume, through the Files API (FakeVolumes), as a Databricks App keeps them.

An app's disk is lost at every restart and ``/Volumes`` is not mounted in it, so
every file destination writes a volume path through the VolumeStore: the file
must land in the volume whole, with the checksum of the bytes there, leave no
scratch file on the local disk, and be downloadable (audited) from a fresh
store that holds nothing but the volume.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from databricks.sdk.errors import InternalError

from services.errors import ExportError, PermissionDeniedError
from services.exports import access, jobs
from services.exports.base import ExportRequest
from services.exports.destinations import DESTINATIONS
from services.exports.files import FileDestination, removals_path
from services.exports.filestore import LocalStore, Stores, VolumeStore, store_for
from tests.services.warehouse.fake_volumes import FakeVolumes

from .conftest import VIP, audit_rows, save_segment

VOLUME = "/Volumes/segment_studio/exports/files"
EXPORT_DIR = Path(VOLUME) / "exports"
FILE_DESTINATIONS = sorted(name for name, dest in DESTINATIONS.items() if isinstance(dest, FileDestination))


@pytest.fixture
def volumes(tmp_path):
    return FakeVolumes(tmp_path / "remote", VOLUME, read_only=("/Volumes/segment_studio/exports/locked",))


@pytest.fixture
def scratch(tmp_path):
    return tmp_path / "scratch"


@pytest.fixture
def stores(volumes, scratch):
    """The app's stores where /Volumes is not mounted (a Databricks App), the Files API being the fake."""
    return Stores(files_api_factory=lambda: volumes, mounted=lambda: False, scratch=scratch)


def run(warehouse, stores, *, user="tester", role="admin", output_dir=EXPORT_DIR, **fields):
    request = ExportRequest(**{"segment_id": VIP, "version": 1, **fields})
    queued = jobs.create_job(warehouse, request, user=user, role=role)
    return jobs.run_job(warehouse, queued, output_dir=output_dir, stores=stores)


def leftovers(scratch: Path) -> list[Path]:
    return sorted(scratch.rglob("*")) if scratch.exists() else []


def test_file_destinations_are_the_six_file_kinds():
    assert FILE_DESTINATIONS == ["braze", "csv", "google_ads", "meta", "parquet", "salesforce"]


@pytest.mark.parametrize("name", FILE_DESTINATIONS)
def test_every_file_destination_writes_the_volume_whole_and_downloads_from_it(warehouse, volumes, scratch, stores,
                                                                              name):
    job = run(warehouse, stores, destination=name, user="alice@example.com", role="marketer")
    assert job.status == "succeeded", job.message
    assert job.output_path.startswith(str(EXPORT_DIR) + "/")
    data = volumes.local(job.output_path).read_bytes()
    assert data and hashlib.sha256(data).hexdigest() == job.checksum
    assert volumes.leftovers() == [job.output_path]  # the file, whole: no .partial on the volume
    assert ("create_directory", str(EXPORT_DIR)) in volumes.calls and ("upload", job.output_path) in volumes.calls
    assert leftovers(scratch) == []
    assert not Path(job.output_path).exists()  # nothing at the path on this machine's disk

    [(path, size)] = access.available(job, stores=stores)
    assert (str(path), size) == (job.output_path, len(data))
    got = access.download(warehouse, job, path, user="alice@example.com", role="marketer", stores=stores)
    assert got == data
    [row] = audit_rows(warehouse, "export.download", job.job_id)
    assert (row["actor"], row["checksum"]) == ("alice@example.com", job.checksum)
    assert ("download", job.output_path) in volumes.calls


def test_a_folder_typed_in_the_request_is_a_volume_too(warehouse, volumes, stores, tmp_path):
    # The app's export folder is local here; the request names a folder in the volume.
    job = run(warehouse, stores, destination="csv", folder=f"{VOLUME}/campaign", output_dir=tmp_path / "local")
    assert job.output_path.startswith(f"{VOLUME}/campaign/")
    assert hashlib.sha256(volumes.local(job.output_path).read_bytes()).hexdigest() == job.checksum
    assert not (tmp_path / "local").exists()


def test_a_diff_puts_both_files_on_the_volume_and_offers_both(warehouse, volumes, stores):
    segment = save_segment(warehouse, "volume diff", [["Champions", "Loyal"], ["Loyal", "Potential Loyalist"]])
    run(warehouse, stores, segment_id=segment, version=1, destination="meta", mode="diff")
    job = run(warehouse, stores, segment_id=segment, version=2, destination="meta", mode="diff")
    removals = str(removals_path(Path(job.output_path)))
    assert job.rows_removed > 0
    assert sorted(str(p) for p in access.files(job, stores=stores)) == sorted([job.output_path, removals])
    [run_row] = audit_rows(warehouse, "export.run", job.job_id)
    removed = volumes.local(removals).read_bytes()
    assert json.loads(run_row["details"])["removals_checksum"] == hashlib.sha256(removed).hexdigest()
    assert access.download(warehouse, job, Path(removals), user="tester", role="admin", stores=stores) == removed


def test_a_file_gone_from_the_volume_offers_no_download(warehouse, volumes, stores):
    job = run(warehouse, stores, destination="csv")
    volumes.delete(job.output_path)
    assert access.files(job, stores=stores) == []
    with pytest.raises(PermissionDeniedError, match="is not a file of export job"):
        access.download(warehouse, job, Path(job.output_path), user="tester", role="admin", stores=stores)


def test_a_refused_upload_fails_the_job_with_why_and_leaves_nothing(warehouse, volumes, scratch, stores):
    request = ExportRequest(segment_id=VIP, version=1, destination="csv")
    queued = jobs.create_job(warehouse, request, user="tester", role="admin")
    with pytest.raises(ExportError, match="cannot upload .* to its Unity Catalog volume: .*WRITE VOLUME"):
        jobs.run_job(warehouse, queued, output_dir=Path("/Volumes/segment_studio/exports/locked"), stores=stores)
    job = jobs.get(warehouse, queued.job_id)
    assert job.status == "failed" and "cannot upload" in job.message and "WRITE VOLUME" in job.message
    assert volumes.leftovers() == []
    assert leftovers(scratch) == []


def test_an_upload_that_breaks_half_way_leaves_nothing(warehouse, volumes, scratch, stores):
    class Broken(FakeVolumes):
        def upload(self, file_path, contents, *, overwrite=None):
            contents.read(10)
            raise InternalError("connection reset during the upload")

    broken = Broken(volumes.root, VOLUME)
    with pytest.raises(ExportError, match="connection reset during the upload"):
        run(warehouse, Stores(files_api_factory=lambda: broken, mounted=lambda: False, scratch=scratch),
            destination="parquet")
    assert broken.leftovers() == [] and leftovers(scratch) == []


def test_a_file_outlives_the_process_that_wrote_it(warehouse, volumes, stores, tmp_path):
    """A restart: a new process has a new Files API client and an empty disk; the volume alone has the file."""
    job = run(warehouse, stores, destination="csv", user="alice@example.com", role="marketer")
    data = volumes.local(job.output_path).read_bytes()
    restarted = Stores(files_api_factory=lambda: FakeVolumes(volumes.root, VOLUME), mounted=lambda: False,
                       scratch=tmp_path / "another-scratch")
    again = jobs.get(warehouse, job.job_id)
    assert access.files(again, stores=restarted) == [Path(job.output_path)]
    assert access.download(warehouse, again, Path(job.output_path), user="alice@example.com", role="marketer",
                           stores=restarted) == data


def test_a_killed_runs_scratch_file_is_removed_and_the_volume_left_alone(warehouse, volumes, scratch, stores):
    request = ExportRequest(segment_id=VIP, version=1, destination="csv")
    queued = jobs.create_job(warehouse, request, user="tester", role="admin")
    job = jobs.get(warehouse, queued.job_id)
    ctx = jobs.delivery_context(warehouse, job, job.request, output_dir=EXPORT_DIR, stores=stores)
    final = DESTINATIONS["csv"].output_path(ctx)
    # What a process killed while writing leaves: the scratch file half-written, nothing uploaded.
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / (final.name + ".partial")).write_bytes(b"customer_id\nc-1\n")
    (scratch / final.name).write_bytes(b"customer_id\n")
    volumes.calls.clear()
    assert queued.job_id in jobs.recover_interrupted(warehouse, output_dir=EXPORT_DIR, stores=stores)
    assert leftovers(scratch) == []
    assert [c for c in volumes.calls if c[0] in ("upload", "delete", "delete_directory")] == []


def test_braze_refuses_a_file_over_its_limit_before_it_reaches_the_volume(warehouse, volumes, scratch, stores,
                                                                         monkeypatch):
    from services.exports import braze

    monkeypatch.setattr(braze.BrazeDestination, "max_file_bytes", 1000)
    with pytest.raises(ExportError, match="Braze accepts at most 1,000 bytes"):
        run(warehouse, stores, destination="braze")
    assert [c for c in volumes.calls if c[0] == "upload"] == []
    assert volumes.leftovers() == [] and leftovers(scratch) == []


# -- choosing the store ---------------------------------------------------------------------
@pytest.mark.parametrize(("path", "mounted", "kind"), [
    pytest.param(f"{VOLUME}/exports", False, VolumeStore, id="volume-in-an-app"),
    pytest.param(f"{VOLUME}/exports", True, LocalStore, id="volume-mounted-in-a-job"),
    pytest.param("/tmp/exports", False, LocalStore, id="local-folder"),
    pytest.param("/Volumesque/exports", False, LocalStore, id="not-under-volumes"),
    pytest.param("data/exports", False, LocalStore, id="relative-folder"),
])
def test_store_for_chooses_the_volume_store_only_for_an_unmounted_volume(path, mounted, kind):
    made = []
    store = store_for(path, files_api_factory=lambda: made.append(1), mounted=lambda: mounted)
    assert type(store) is kind
    assert made == []  # the client (and the SDK) is made on first use, not by choosing


def test_the_local_store_is_todays_behaviour(tmp_path):
    store = LocalStore()
    final = tmp_path / "out" / "a.csv"
    assert store.size(final) is None
    final.parent.mkdir()
    final.write_bytes(b"abc")
    assert (store.size(final), store.read(final)) == (3, b"abc")
    final.with_name("a.csv.partial").write_bytes(b"ab")
    store.remove_partial(final)
    assert sorted(p.name for p in final.parent.iterdir()) == ["a.csv"]
