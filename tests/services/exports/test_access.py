"""Who sees which export job and may download its file, without a browser (services/exports/access.py)."""

from __future__ import annotations

import pytest
from sqlglot import exp

from services import naming
from services.errors import PermissionDeniedError
from services.exports import access, jobs
from services.exports.base import ExportRequest

from .conftest import VIP


@pytest.fixture(scope="module")
def two_jobs(warehouse, tmp_path_factory):
    """alice's hashed CSV (a marketer's) and admin's CSV with identifiers in clear."""
    out = tmp_path_factory.mktemp("access")
    made = {}
    for user, role, identifiers in [("alice@example.com", "marketer", "hashed"), ("admin@example.com", "admin", "clear")]:
        request = ExportRequest(segment_id=VIP, version=1, destination="csv", identifiers=identifiers)
        queued = jobs.create_job(warehouse, request, user=user, role=role)
        made[user] = jobs.run_job(warehouse, queued, output_dir=out)
    return made


@pytest.mark.parametrize("user, role, sees", [
    ("alice@example.com", "marketer", {"alice@example.com"}),
    ("bob@example.com", "marketer", set()),
    ("manager@example.com", "manager", {"alice@example.com", "admin@example.com"}),
    ("admin@example.com", "admin", {"alice@example.com", "admin@example.com"}),
])
def test_a_user_sees_their_own_jobs_and_managers_see_all(warehouse, two_jobs, user, role, sees):
    mine = {job.job_id for job in two_jobs.values()}
    visible = access.visible_history(warehouse, user=user, role=role)
    assert {o for j, o in zip(visible["job_id"], visible["created_by"]) if j in mine} == sees
    for owner, job in two_jobs.items():
        assert access.may_see(job, user=user, role=role) is (owner in sees)


@pytest.mark.parametrize("user, role, may", [
    ("alice@example.com", "marketer", {"alice@example.com"}),
    ("bob@example.com", "marketer", set()),
    ("manager@example.com", "manager", {"alice@example.com"}),     # not the file in clear
    ("admin@example.com", "admin", {"alice@example.com", "admin@example.com"}),
])
def test_a_file_in_clear_is_for_admins_only(two_jobs, user, role, may):
    assert {owner for owner, job in two_jobs.items() if access.may_download(job, user=user, role=role)} == may


def test_every_download_is_audited_and_a_refused_one_reads_nothing(warehouse, two_jobs):
    audit = naming.fq("app", "app_audit_log")
    downloads = exp.select(exp.func("COUNT", exp.Star())).from_(audit).where(
        exp.column("action").eq(exp.Literal.string("export.download")))
    before = warehouse.scalar(downloads)
    job = two_jobs["alice@example.com"]
    [path] = access.files(job)
    assert access.download(warehouse, job, path, user="alice@example.com", role="marketer") == path.read_bytes()
    with pytest.raises(PermissionDeniedError, match="another user's"):
        access.download(warehouse, job, path, user="bob@example.com", role="marketer")
    clear = two_jobs["admin@example.com"]
    with pytest.raises(PermissionDeniedError, match="only admins"):
        access.download(warehouse, clear, access.files(clear)[0], user="manager@example.com", role="manager")
    with pytest.raises(PermissionDeniedError, match="not a file of"):
        access.download(warehouse, job, access.files(clear)[0], user="alice@example.com", role="marketer")
    assert warehouse.scalar(downloads) == before + 1
    with pytest.raises(PermissionDeniedError, match="another user's"):
        access.visible_job(warehouse, job.job_id, user="bob@example.com", role="marketer")
