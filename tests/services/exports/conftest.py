"""A private, writable copy of the demo warehouse per test module (exports write jobs, snapshots, tables)."""

from __future__ import annotations

import shutil

import pytest
from sqlglot import exp

from services.segments.library import SegmentLibrary
from services.segments.spec import SegmentDefinition
from services.warehouse.duckdb_engine import DuckDBWarehouse

VIP = "sample-vip-champions-early-access"


def _copy(demo_warehouse_path, target):
    shutil.copy(demo_warehouse_path, target)
    return DuckDBWarehouse(target)


@pytest.fixture(scope="module")
def warehouse(demo_warehouse_path, tmp_path_factory):
    wh = _copy(demo_warehouse_path, tmp_path_factory.mktemp("exports") / "warehouse.duckdb")
    yield wh
    wh.close()


@pytest.fixture
def fresh_warehouse(demo_warehouse_path, tmp_path):
    """For tests that damage the data (failing checks, broken contacts)."""
    wh = _copy(demo_warehouse_path, tmp_path / "warehouse.duckdb")
    yield wh
    wh.close()


def members(warehouse, segment_id: str, version: int | None = None, *, with_split: bool = True) -> dict[str, str | None]:
    """customer_id -> split group of a saved segment, straight from the compiler (the reference answer)."""
    from services.exports.preflight import compile_saved

    _, compiled = compile_saved(warehouse, segment_id, version)
    rows = warehouse.arrow(compiled.members_query(with_split=with_split)).to_pylist()
    return {r["customer_id"]: r.get("split_group") for r in rows}


def rfm_definition(name: str, segments: list[str]) -> SegmentDefinition:
    return SegmentDefinition.from_dict({
        "name": name,
        "rule": {"kind": "group", "match": "all", "conditions": [
            {"kind": "trait", "field": "rfm_segment", "op": "in", "values": segments}]},
    })


def save_segment(warehouse, name: str, versions: list[list[str]]) -> str:
    library = SegmentLibrary(warehouse)
    saved = library.save(rfm_definition(name, versions[0]), author="tester")
    for segments in versions[1:]:
        library.save(rfm_definition(name, segments), author="tester", segment_id=saved.segment_id)
    return saved.segment_id


def audit_rows(warehouse, action: str, object_id: str) -> list[dict]:
    from services.audit_log import AUDIT_TABLE

    return warehouse.arrow(exp.select("*").from_(AUDIT_TABLE).where(exp.and_(
        exp.column("action").eq(exp.convert(action)), exp.column("object_id").eq(exp.convert(object_id))))).to_pylist()
