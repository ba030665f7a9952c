"""What a destination declares: its options (checked, defaulted, secret or not), its target, its diffs."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from services.errors import SpecError
from services.exports.base import ExportRequest, Option
from services.exports.destinations import DESTINATIONS
from services.exports.table import default_table

from .conftest import VIP

EXPORTS_T = "customer_segmentation_for_retail_personalization_exports.t"


def request(destination: str, **options) -> ExportRequest:
    return ExportRequest(segment_id=VIP, version=1, destination=destination, **options)


def webhook_option(name: str) -> Option:
    return next(o for o in DESTINATIONS["webhook"].options if o.name == name)


def test_an_option_takes_its_default_and_secrecy_from_the_request_field():
    assert webhook_option("batch_size").default == 500
    assert webhook_option("timeout_s").default == 10.0
    assert webhook_option("url").default is None
    assert webhook_option("auth_header").secret and not webhook_option("url").secret
    assert ExportRequest.secret_fields() == ("auth_header",)


def test_an_option_must_name_a_request_field():
    with pytest.raises(ValueError, match="not a field of ExportRequest"):
        Option("api_key", "API key")


@pytest.mark.parametrize("name, value, message", [
    pytest.param("batch_size", 0, "batch size must be at least 1, not 0", id="below-minimum"),
    pytest.param("batch_size", 10_001, "batch size must be at most 10000, not 10001", id="above-maximum"),
    pytest.param("max_retries", -1, "retries must be at least 0, not -1", id="negative-retries"),
    pytest.param("timeout_s", 0.0, r"timeout \(s\) must be more than 0, not 0", id="exclusive-minimum"),
    pytest.param("url", "ftp://example.com/x", "must be an http\\(s\\) address", id="text-check"),
])
def test_the_webhook_refuses_option_values_it_cannot_run_with(name, value, message):
    with pytest.raises(SpecError, match=message):
        DESTINATIONS["webhook"].normalise(request("webhook", **{name: value}))


@pytest.mark.parametrize("name, value", [("batch_size", 1), ("batch_size", 10_000), ("max_retries", 0),
                                         ("timeout_s", 0.01), ("url", None), ("url", "https://example.com/h")])
def test_the_webhook_accepts_values_at_its_bounds(name, value):
    assert getattr(DESTINATIONS["webhook"].normalise(request("webhook", **{name: value})), name) == value


def test_an_option_a_destination_does_not_take_is_not_its_to_check():
    # A CSV file has no batches: a batch size it never uses does not stop it.
    assert DESTINATIONS["csv"].normalise(request("csv", batch_size=0)).batch_size == 0


def test_a_table_name_is_checked_before_a_job_and_defaulted_to_the_segments_table():
    with pytest.raises(SpecError, match="letters, digits and _"):
        DESTINATIONS["table"].normalise(request("table", table_name="drop table x; --"))
    assert DESTINATIONS["table"].normalise(request("table")).table_name == default_table(VIP)
    # Only the exports schema (issue 16): a name there is taken, any other schema refused.
    assert DESTINATIONS["table"].normalise(request("table", table_name="exports.t")).table_name == EXPORTS_T
    with pytest.raises(SpecError, match="only into the exports schema"):
        DESTINATIONS["table"].normalise(request("table", table_name="app.t"))


def test_platform_files_fix_their_own_columns():
    normalised = DESTINATIONS["meta"].normalise(request("meta", attributes=("monetary",), identifiers="none"))
    assert (normalised.attributes, normalised.identifiers) == ((), "hashed")
    kept = DESTINATIONS["braze"].normalise(request("braze", attributes=("monetary",)))
    assert (kept.attributes, kept.identifiers) == (("monetary",), "none")


@pytest.mark.parametrize("destination, options, target", [
    pytest.param("csv", {"url": "https://ignored.example.com", "folder": "/tmp/x"}, "", id="file"),
    pytest.param("table", {"table_name": "exports.t"}, EXPORTS_T, id="table"),
    pytest.param("table", {}, default_table(VIP), id="default-table"),
    pytest.param("webhook", {"url": "https://example.com/h"}, "https://example.com/h", id="webhook"),
])
def test_the_target_that_diffs_compare_against_is_the_destinations_own(destination, options, target):
    assert DESTINATIONS[destination].target(request(destination, **options)) == target


def test_what_a_diff_delivers_is_the_destinations_choice():
    everyone = pa.table({"customer_id": ["a", "b", "c"]})
    changes = pa.table({"action": ["add", "remove"], "customer_id": ["c", "z"]})
    # A table is merged from the whole audience; files, upload platforms and webhooks carry the changes.
    assert DESTINATIONS["table"].diff_delivery(everyone, changes) is everyone
    for name in ("csv", "parquet", "meta", "google_ads", "braze", "salesforce", "webhook"):
        assert DESTINATIONS[name].diff_delivery(everyone, changes) is changes


def test_a_secret_is_never_stored_and_comes_back_only_from_the_caller():
    secret = request("webhook", url="https://example.com/h", auth_header="Authorization: Bearer s3cret")
    stored = secret.to_json()
    assert "s3cret" not in stored and json.loads(stored)["has_auth_header"] is True
    assert ExportRequest.from_json(stored).auth_header is None
    again = ExportRequest.from_json(stored, secrets={"auth_header": "Authorization: Bearer s3cret"})
    assert again.auth_header == "Authorization: Bearer s3cret" and again == secret
    with pytest.raises(SpecError, match="url is not a secret"):
        secret.with_secrets({"url": "https://elsewhere.example.com"})
