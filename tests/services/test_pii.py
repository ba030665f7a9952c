"""PII masking: per-kind masks on hostile values, the policy read from the governance
catalog, and the member preview masking exactly what the catalog tags."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest
from sqlglot import exp

from services.build import register_datasets
from services.governance.registry import dataset, dataset_id
from services.pii import TAG_TABLE, mask_frame, masker, pii_policy
from services.segments.catalog import load_catalog
from services.segments.compiler import compile_definition
from services.segments.estimate import preview
from services.segments.spec import Group, SegmentDefinition, Trait
from services.warehouse.duckdb_engine import DuckDBWarehouse

CUSTOMER = dataset_id("txn", "dim_customer")
CONTACT = ("first_name", "last_name", "email", "phone", "city")


@pytest.mark.parametrize("kind, value, expected", [
    pytest.param("email", "anna.berg12@example.com", "a***@example.com", id="email"),
    pytest.param("email", "  Ülkü@posta.example ", "Ü***@posta.example", id="email-unicode-padded"),
    pytest.param("email", "a@b@shop.example", "a***@shop.example", id="email-two-ats"),
    pytest.param("email", "no-at-sign.example.com", "***", id="email-no-at"),
    pytest.param("email", "@example.com", "***", id="email-no-local-part"),
    pytest.param("email", "someone@", "***", id="email-no-domain"),
    pytest.param("email", "", "", id="email-empty"),
    pytest.param("email", None, None, id="email-none"),
    pytest.param("email", np.nan, None, id="email-nan"),
    pytest.param("email", pd.NA, None, id="email-pd-na"),
    pytest.param("phone", "+44 20 7946 0958", "*** 58", id="phone"),
    pytest.param("phone", 4915123456789, "*** 89", id="phone-number-type"),
    pytest.param("phone", "٠١٢٣٤٥٦٧", "*** ٦٧", id="phone-arabic-indic-digits"),
    pytest.param("phone", "112", "***", id="phone-too-short-to-show-digits"),
    pytest.param("phone", "call me", "***", id="phone-no-digits"),
    pytest.param("phone", "", "", id="phone-empty"),
    pytest.param("phone", None, None, id="phone-none"),
    pytest.param("name", "José", "J.", id="name-unicode"),
    pytest.param("name", "  van der Berg", "v.", id="name-padded"),
    pytest.param("name", "\u0130lker", "\u0130.", id="name-dotted-capital"),
    pytest.param("name", "   ", "", id="name-blank"),
    pytest.param("name", None, None, id="name-none"),
    pytest.param("address", "12 High Street", "***", id="address"),
    pytest.param("address", "", "", id="address-empty"),
    pytest.param("postal", "SW1A 1AA", "***", id="postal"),
    pytest.param("birth_date", dt.date(1980, 5, 17), "***", id="birth-date-as-date"),
    pytest.param("birth_date", pd.NaT, None, id="birth-date-nat"),
    pytest.param("mixed", "raw line with anna@example.com", "***", id="unknown-kind"),
    pytest.param(None, "anything", "***", id="no-kind"),
    pytest.param("EMAIL ", "bo@example.com", "b***@example.com", id="kind-case-and-space"),
])
def test_each_kind_masks_hostile_values(kind, value, expected):
    assert masker(kind)(value) == expected


def test_mask_frame_masks_only_the_policy_columns_by_kind():
    frame = pd.DataFrame({
        "customer_id": ["c1", "c2"],
        "EMAIL": ["anna@example.com", None],
        "phone": ["0123456789", ""],
        "postal_code": ["SW1A 1AA", None],
        "monetary": [10.5, 20.0],
    })
    masked = mask_frame(frame, {"email": "email", "phone": "phone", "postal_code": "address", "absent": "name"})
    assert masked["EMAIL"].tolist() == ["a***@example.com", None]
    assert masked["phone"].tolist() == ["*** 89", ""]
    assert masked["postal_code"].tolist() == ["***", None]
    pd.testing.assert_series_equal(masked["customer_id"], frame["customer_id"])
    pd.testing.assert_series_equal(masked["monetary"], frame["monetary"])
    assert frame["EMAIL"].iloc[0] == "anna@example.com", "the input frame is left alone"


def test_an_empty_policy_masks_nothing():
    frame = pd.DataFrame({"email": ["anna@example.com"]})
    pd.testing.assert_frame_equal(mask_frame(frame, {}), frame)


def test_policy_from_the_demo_catalog_equals_the_registry(demo_warehouse):
    assert pii_policy(demo_warehouse, CUSTOMER) == dict(dataset("txn", "dim_customer").pii_columns)


def test_a_dataset_without_tags_has_an_empty_policy(demo_warehouse):
    assert pii_policy(demo_warehouse, dataset_id("txn", "dim_product")) == {}
    assert pii_policy(demo_warehouse, "no such dataset'; drop table x; --") == {}


def tag(warehouse, column: str, kind: str | None, *, created: dt.datetime) -> None:
    """A steward's tag on a dim_customer column, added after the build registered the catalog."""
    warehouse.append(TAG_TABLE, pd.DataFrame([{
        "tag_id": f"{CUSTOMER}.{column}:pii:{created:%H%M%S}", "dataset_id": CUSTOMER, "column_name": column,
        "tag_name": "pii", "tag_value": kind, "created_ts": created,
    }]))


def test_a_column_tagged_in_the_catalog_is_masked_without_a_code_change(empty_warehouse):
    registered = dt.datetime(2025, 1, 1)
    register_datasets(empty_warehouse, registered_ts=registered)
    frame = pd.DataFrame({"email": ["anna@example.com"], "city": ["Zürich"], "loyalty_tier": ["gold"]})
    assert mask_frame(frame, pii_policy(empty_warehouse, CUSTOMER))["city"].tolist() == ["Zürich"]

    tag(empty_warehouse, "city", "address", created=registered + dt.timedelta(days=1))
    policy = pii_policy(empty_warehouse, CUSTOMER)
    assert policy["city"] == "address"
    masked = mask_frame(frame, policy)
    assert masked.to_dict("records") == [{"email": "a***@example.com", "city": "***", "loyalty_tier": "gold"}]


def test_the_newest_tag_of_a_column_wins(empty_warehouse):
    registered = dt.datetime(2025, 1, 1)
    register_datasets(empty_warehouse, registered_ts=registered)
    tag(empty_warehouse, "email", "address", created=registered + dt.timedelta(hours=1))
    tag(empty_warehouse, "loyalty_tier", None, created=registered + dt.timedelta(hours=2))
    policy = pii_policy(empty_warehouse, CUSTOMER)
    assert policy["email"] == "address"
    assert policy["loyalty_tier"] == "unknown", "a tag without a kind still masks"
    assert policy["first_name"] == "name"


# -- the member preview ----------------------------------------------------------
@pytest.fixture
def demo_copy(demo_warehouse_path, tmp_path):
    """A private copy of the demo warehouse whose catalog the test may change."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    warehouse = DuckDBWarehouse(path)
    yield warehouse
    warehouse.close()


def champions(warehouse):
    definition = SegmentDefinition("champions", Group("all", (Trait("rfm_segment", "in", values=("Champions",)),)))
    return compile_definition(definition, load_catalog(warehouse))


def masked_columns(clear: pd.DataFrame, masked: pd.DataFrame) -> set[str]:
    return {c for c in clear.columns if not clear[c].astype(str).equals(masked[c].astype(str))}


def test_preview_masks_exactly_the_tagged_columns(demo_copy):
    compiled = champions(demo_copy)
    clear = preview(demo_copy, compiled, limit=15, show_pii=True)
    assert masked_columns(clear, preview(demo_copy, compiled, limit=15)) == {"first_name", "last_name", "email", "phone"}

    tag(demo_copy, "city", "address", created=dt.datetime(2100, 1, 1))
    masked = preview(demo_copy, compiled, limit=15)
    assert masked_columns(clear, masked) == {"first_name", "last_name", "email", "phone", "city"}
    assert set(masked["city"]) == {"***"}
    assert masked["email"].str.match(r"^\w\*\*\*@example\.com$").all()


def test_preview_masks_every_contact_column_when_the_catalog_has_no_tags(demo_copy):
    demo_copy.execute(exp.delete(TAG_TABLE, where=exp.column("dataset_id").eq(exp.Literal.string(CUSTOMER))))
    assert pii_policy(demo_copy, CUSTOMER) == {}
    compiled = champions(demo_copy)
    clear = preview(demo_copy, compiled, limit=15, show_pii=True)
    masked = preview(demo_copy, compiled, limit=15)
    assert masked_columns(clear, masked) == set(CONTACT)
    assert masked["first_name"].str.fullmatch(r"\w\.").all()
