"""The workspace: one way to compile (once per definition, the catalog read at most once)
and one way to save (permission, compile, count, save, audit row), on a copy of the demo."""

from __future__ import annotations

import pytest

from services import naming
from services.errors import PermissionDeniedError, SpecError
from services.segments.catalog import read_catalog, saved_targets
from services.segments.compiler import compile_definition
from services.segments.compiler.draft import compile_draft
from services.segments.spec import Arm, Group, Membership, SegmentDefinition, Split, Trait
from services.segments.workspace import Workspace, duplicate_segment, restore_segment, save_segment

AUDIT = naming.fq("app", "app_audit_log")
VIP = "sample-vip-champions-early-access"
CHAMPIONS = SegmentDefinition("Champions", Group("all", (Trait("rfm_segment", "in", values=("Champions",)),)),
                              split=Split(20, (Arm("treatment", 80),)))


def members(warehouse, compiled) -> int:
    return int(warehouse.scalar(compiled.count_query()))


def test_save_compiles_counts_and_saves_with_the_sql_of_its_own_id(scratch_warehouse, scratch_catalog):
    ws = Workspace(scratch_warehouse, catalog=scratch_catalog)
    saved = save_segment(ws, CHAMPIONS, author="ann@example.com", role="marketer", note="first")
    expected = compile_definition(CHAMPIONS, scratch_catalog, segment_id=saved.segment_id)
    assert saved.audience_size == members(scratch_warehouse, expected) > 0
    assert saved.sql_databricks == expected.sql("databricks")
    assert f"'{saved.segment_id}:'" in saved.sql_databricks  # the split is keyed by the id, not "draft:"
    assert saved.as_of_date == scratch_catalog.as_of_date
    audit = scratch_warehouse.df(f"SELECT actor, role, action, row_count FROM {AUDIT} WHERE object_id = "
                                 f"'{saved.segment_id}'")
    assert audit.to_dict("records") == [{"actor": "ann@example.com", "role": "marketer", "action": "segment.save",
                                         "row_count": saved.audience_size}]


def test_a_role_that_may_not_save_is_refused_before_anything_is_saved(scratch_warehouse, scratch_catalog):
    ws = Workspace(scratch_warehouse, catalog=scratch_catalog)
    before = len(ws.library.list(include_archived=True))
    with pytest.raises(PermissionDeniedError, match=r"your role \(viewer\) may not save segments"):
        save_segment(ws, CHAMPIONS, author="vic@example.com", role="viewer")
    with pytest.raises(PermissionDeniedError):
        restore_segment(ws, VIP, 1, author="vic@example.com", role="viewer")
    assert len(ws.library.list(include_archived=True)) == before


def test_duplicate_and_restore_save_fresh_sql_and_counts(scratch_warehouse, scratch_catalog):
    ws = Workspace(scratch_warehouse, catalog=scratch_catalog)
    # A version saved without SQL and with a count that is no longer true.
    stale = ws.library.save(CHAMPIONS, author="ann@example.com", audience_size=999_999)
    right = members(scratch_warehouse, compile_definition(CHAMPIONS, scratch_catalog))
    restored = restore_segment(ws, stale.segment_id, 1, author="bob@example.com", role="manager")
    assert (restored.version, restored.note, restored.audience_size) == (2, "restored from v1", right)
    assert restored.sql_databricks == compile_definition(CHAMPIONS, scratch_catalog,
                                                         segment_id=stale.segment_id).sql("databricks")
    copy = duplicate_segment(ws, stale.segment_id, author="cid@example.com", role="analyst")
    assert copy.segment_id != stale.segment_id and copy.definition.name == "Champions (copy)"
    assert copy.note == f"duplicated from {stale.segment_id} v2" and copy.audience_size == right
    assert f"'{copy.segment_id}:'" in copy.sql_databricks


def test_each_definition_is_compiled_once_and_the_catalog_read_once(scratch_warehouse, count_calls):
    catalogs = count_calls(read_catalog)
    compiles = count_calls(compile_definition)
    ws = Workspace(scratch_warehouse)
    first = ws.compile(CHAMPIONS)
    assert ws.compile(CHAMPIONS) is first
    saved, compiled = ws.compile_saved(VIP)
    assert ws.compile_saved(VIP)[1] is compiled and compiled.segment_key == VIP
    assert compiles == [CHAMPIONS, saved.definition]
    assert len(catalogs) == 1


def test_a_draft_compiled_once_serves_the_save(scratch_warehouse, scratch_catalog, count_calls):
    drafts = count_calls(compile_draft)
    compiles = count_calls(compile_definition)
    ws = Workspace(scratch_warehouse, catalog=scratch_catalog)
    draft = ws.compile_draft({"name": "Champions", "rule": {"kind": "group", "match": "all", "conditions": [
        {"kind": "trait", "field": "rfm_segment", "op": "in", "values": ["Champions"]},
        {"kind": "trait", "field": "region", "op": "in", "values": []}]}})
    assert [(item.path, item.reason) for item in draft.left_out] == [((1,), "region in: pick at least one value")]
    saved = save_segment(ws, draft.definition, author="ann@example.com", role="marketer")
    assert len(drafts) == 1 and compiles == []
    assert saved.audience_size == members(scratch_warehouse, draft.compiled)


def test_a_membership_of_a_saved_segment_resolves_through_the_library(scratch_warehouse, scratch_catalog):
    ws = Workspace(scratch_warehouse, catalog=scratch_catalog)
    inside = SegmentDefinition("In VIP", Group("all", (Membership("segment", VIP),)))
    _, vip = ws.compile_saved(VIP)
    assert members(scratch_warehouse, ws.compile(inside)) == members(scratch_warehouse, vip) > 0


def test_restore_duplicate_and_archive_are_audited_as_themselves_with_the_role(scratch_warehouse, scratch_catalog):
    """The bug: the audit log said "segment.save" with role None for a restore, a duplicate and an archive."""
    ws = Workspace(scratch_warehouse, catalog=scratch_catalog)
    saved = save_segment(ws, CHAMPIONS, author="ann@example.com", role="marketer")
    restored = restore_segment(ws, saved.segment_id, 1, author="bob@example.com", role="manager")
    copy = duplicate_segment(ws, saved.segment_id, author="cid@example.com", role="analyst")
    ws.library.archive(copy.segment_id, author="dee@example.com", role="marketer")
    ws.library.archive(copy.segment_id, author="dee@example.com", role="marketer", archived=False)
    audit = scratch_warehouse.df(
        f"SELECT actor, role, action, object_id, object_version FROM {AUDIT} "
        f"WHERE object_id IN ('{saved.segment_id}', '{copy.segment_id}') ORDER BY event_ts")
    assert audit.astype(object).where(audit.notna(), None).values.tolist() == [
        ["ann@example.com", "marketer", "segment.save", saved.segment_id, 1],
        ["bob@example.com", "manager", "segment.restore", saved.segment_id, restored.version],
        ["cid@example.com", "analyst", "segment.duplicate", copy.segment_id, 1],
        ["dee@example.com", "marketer", "segment.archive", copy.segment_id, None],
        ["dee@example.com", "marketer", "segment.unarchive", copy.segment_id, None],
    ]


def test_a_sample_campaign_is_a_read_only_template(scratch_warehouse, scratch_catalog):
    """Issue 13: no new version of a sample, by saving or restoring; saving it as a new segment works."""
    ws = Workspace(scratch_warehouse, catalog=scratch_catalog)
    sample = ws.library.get(VIP)
    with pytest.raises(SpecError, match="a sample campaign, a read-only template: save it as a new segment"):
        save_segment(ws, sample.definition, author="ann@example.com", role="marketer", segment_id=VIP)
    with pytest.raises(SpecError, match="read-only template"):
        restore_segment(ws, VIP, 1, author="ann@example.com", role="marketer")
    assert ws.library.get(VIP).version == sample.version
    copy = save_segment(ws, sample.definition, author="ann@example.com", role="marketer")
    assert copy.segment_id != VIP and copy.version == 1 and not ws.library.info(copy.segment_id)["is_sample"]


def test_saved_runs_and_models_are_read_only_when_a_rule_has_a_membership(scratch_warehouse, count_calls):
    targets = count_calls(saved_targets)
    ws = Workspace(scratch_warehouse)
    ws.compile(CHAMPIONS)
    ws.compile_draft({"name": "draft", "rule": {"match": "all", "conditions": [
        {"kind": "trait", "field": "rfm_segment", "op": "in", "values": ["Loyal"]}]}})
    assert targets == [] and not ws.catalog.targets_loaded
    # A saved segment may itself name a run or a model, so any membership reads them, once.
    in_vip = SegmentDefinition("In VIP", Group("all", (Membership(of="segment", segment_id=VIP),)))
    ws.compile(in_vip)
    ws.compile_draft({"name": "draft", "rule": {"match": "any", "conditions": [
        {"kind": "membership", "of": "segment", "segment_id": VIP}]}})
    assert len(targets) == 1 and ws.catalog.targets_loaded
