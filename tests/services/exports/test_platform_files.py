"""Braze and Salesforce Marketing Cloud files: the platforms' column names, the normalised phone
each expects, and their file size limits (known answers on the demo warehouse)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlglot import exp

from services.errors import ExportError
from services.exports import braze, jobs, salesforce
from services.exports.audience import CUSTOMER_TABLE
from services.exports.base import ExportRequest

from .conftest import VIP, members


def _run(warehouse, out: Path, **kwargs):
    request = ExportRequest(**{"segment_id": VIP, "version": 1, **kwargs})
    queued = jobs.create_job(warehouse, request, user="tester", role="admin")
    return jobs.run_job(warehouse, queued, output_dir=out)


def _rows(path: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def italian_member(fresh_warehouse):
    """A VIP member (not control) whose contact is an Italian landline and a messy email."""
    member = sorted(c for c, g in members(fresh_warehouse, VIP).items() if g != "control")[0]
    fresh_warehouse.execute(exp.update(
        CUSTOMER_TABLE, {"phone": exp.convert("+39 06 6988 1234"), "country": exp.convert("IT"),
                         "email": exp.convert("  Maria.Rossi@Example.IT ")},
        where=exp.and_(exp.column("customer_id").eq(exp.convert(member)), exp.column("is_current").eq(exp.true()))))
    return fresh_warehouse, member


def test_braze_file_has_braze_attribute_names_and_the_e164_phone(italian_member, tmp_path):
    warehouse, member = italian_member
    job = _run(warehouse, tmp_path, destination="braze", identifiers="clear")
    rows = _rows(job.output_path)
    assert list(rows[0]) == ["external_id", "split_group", "email", "phone", "first_name", "last_name"]
    row = next(r for r in rows if r["external_id"] == member)
    # Braze: phone numbers in E.164, '+' and country code (user phone numbers guide).
    assert row["phone"] == "+390669881234"
    assert row["email"] == "maria.rossi@example.it"
    assert all(r["phone"] == "" or r["phone"].startswith("+") for r in rows)


def test_marketing_cloud_file_has_its_field_names_and_digits_with_country_code(italian_member, tmp_path):
    warehouse, member = italian_member
    job = _run(warehouse, tmp_path, destination="salesforce", identifiers="clear")
    rows = _rows(job.output_path)
    assert list(rows[0]) == ["SubscriberKey", "split_group", "EmailAddress", "MobileNumber", "FirstName", "LastName"]
    row = next(r for r in rows if r["SubscriberKey"] == member)
    # Marketing Cloud: the country code and area code, no '+', hyphens or parentheses.
    assert row["MobileNumber"] == "390669881234"
    assert row["EmailAddress"] == "maria.rossi@example.it"
    assert all(r["MobileNumber"].isdigit() or r["MobileNumber"] == "" for r in rows)


def test_a_braze_file_over_the_import_limit_fails_the_job_and_leaves_no_file(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(braze.BrazeDestination, "max_file_bytes", 1000)
    with pytest.raises(ExportError, match="Braze accepts at most 1,000 bytes"):
        _run(warehouse, tmp_path, destination="braze")
    assert list(tmp_path.glob("*.csv")) == []
    # Under the limit the same export succeeds.
    monkeypatch.setattr(braze.BrazeDestination, "max_file_bytes", 10_000_000)
    assert _run(warehouse, tmp_path, destination="braze").status == "succeeded"


def test_the_platform_limits_are_the_documented_ones():
    assert braze.BrazeDestination.max_file_bytes == 500 * 1000 * 1000  # 500 MB per attributes CSV
    assert salesforce.SalesforceDestination.max_file_bytes is None  # no documented cap for a data extension file
