"""The segment library: versions, diff, restore, duplicate, archive, search, audit,
and 20 sessions estimating and saving at once against one warehouse."""

from __future__ import annotations

import threading
from datetime import date

import pandas as pd
import pytest

from services import naming
from services.errors import SpecError
from services.pipeline.models import create_all
from services.segments.catalog import Domain, FeatureCatalog, load_catalog
from services.segments.compiler import compile_definition
from services.segments.estimate import count, estimate
from services.segments.features import FEATURES
from services.segments.library import SegmentLibrary
from services.segments.spec import Group, SegmentDefinition, Trait
from services.segments.workspace import Workspace, duplicate_segment, restore_segment
from services.warehouse.duckdb_engine import DuckDBWarehouse

AUDIT = naming.fq("app", "app_audit_log")
#: a catalog for the empty warehouse, knowing the RFM segments these tests name
RFM_CATALOG = FeatureCatalog(
    features=FEATURES, as_of_date=date(2026, 10, 31), base_count=0,
    domains={"rfm_segment": Domain(values=tuple((s, 0) for s in ("Champions", "At Risk", "Cannot Lose Them")))})


def rfm(name: str, *segments: str) -> SegmentDefinition:
    return SegmentDefinition(name, Group("all", (Trait("rfm_segment", "in", values=segments),)))


@pytest.fixture
def lib(empty_warehouse):
    return SegmentLibrary(empty_warehouse)


def test_each_save_is_a_new_version_with_author_time_and_note(lib):
    v1 = lib.save(rfm("VIP", "Champions"), author="ann", note="first cut", audience_size=10)
    v2 = lib.save(rfm("VIP", "Champions", "Loyal"), author="bob", segment_id=v1.segment_id, note="widen")
    assert (v1.version, v2.version) == (1, 2)
    versions = lib.versions(v1.segment_id)
    assert list(versions["version"]) == [2, 1]
    assert list(versions["author"]) == ["bob", "ann"]
    assert list(versions["note"]) == ["widen", "first cut"]
    assert lib.get(v1.segment_id).definition == rfm("VIP", "Champions", "Loyal")
    assert lib.get(v1.segment_id, 1).definition == rfm("VIP", "Champions")


def test_diff_restore_duplicate_archive_and_search(lib, empty_warehouse):
    v1 = lib.save(rfm("Winback", "At Risk"), author="ann")
    lib.save(rfm("Winback", "At Risk", "Cannot Lose Them"), author="ann", segment_id=v1.segment_id)
    diff = lib.diff(v1.segment_id, 1, 2)
    assert diff.changed
    assert any(line.startswith("+") and "Cannot Lose Them" in line for line in diff.definition_diff)
    ws = Workspace(empty_warehouse, catalog=RFM_CATALOG, library=lib)
    restored = restore_segment(ws, v1.segment_id, 1, author="cid", role="marketer")
    assert restored.version == 3 and restored.definition == rfm("Winback", "At Risk")
    assert restored.note == "restored from v1"
    assert not lib.diff(v1.segment_id, 1, 3).changed
    copy = duplicate_segment(ws, v1.segment_id, author="dee", role="marketer")
    assert copy.segment_id != v1.segment_id and copy.definition.name == "Winback (copy)"
    assert set(lib.list(search="winback")["segment_id"]) == {v1.segment_id, copy.segment_id}
    lib.archive(copy.segment_id, author="dee")
    assert list(lib.list(search="winback")["segment_id"]) == [v1.segment_id]
    assert copy.segment_id in set(lib.list(include_archived=True)["segment_id"])
    assert lib.list(search="nothing like this").empty


def test_every_save_writes_an_audit_row(lib, empty_warehouse):
    v1 = lib.save(rfm("A", "Lost"), author="ann", audience_size=42)
    lib.save(rfm("A", "Lost", "Hibernating"), author="bob", segment_id=v1.segment_id)
    rows = empty_warehouse.df(f"SELECT actor, action, object_id, object_version, row_count FROM {AUDIT} ORDER BY event_ts")
    assert rows[["actor", "action", "object_version"]].values.tolist() == [["ann", "segment.save", 1],
                                                                           ["bob", "segment.save", 2]]
    assert set(rows["object_id"]) == {v1.segment_id}
    assert rows["row_count"].iloc[0] == 42


def test_unknown_segment_and_version_are_clear_errors(lib):
    with pytest.raises(SpecError, match="segment 'seg-nope' does not exist"):
        lib.get("seg-nope")
    saved = lib.save(rfm("B", "Lost"), author="ann")
    with pytest.raises(SpecError, match="has no version 7"):
        lib.get(saved.segment_id, 7)


def test_twenty_sessions_estimating_and_saving_at_once(demo_warehouse_path, tmp_path):
    """As 20 browser sessions would: one warehouse object, 20 threads, no lost or mixed-up saves."""
    import shutil

    path = tmp_path / "concurrent.duckdb"
    shutil.copy(demo_warehouse_path, path)
    warehouse = DuckDBWarehouse(path)
    create_all(warehouse)
    catalog = load_catalog(warehouse)
    lib = SegmentLibrary(warehouse)
    shared = lib.save(rfm("Shared", "Champions"), author="setup")
    segments = list(catalog.ordered_values("rfm_segment"))
    errors: list[BaseException] = []
    results: dict[int, tuple[str, int, int]] = {}
    barrier = threading.Barrier(20)

    def session(i: int) -> None:
        try:
            barrier.wait()
            definition = rfm(f"session {i}", segments[i % len(segments)])
            compiled = compile_definition(definition, catalog)
            size = estimate(warehouse, compiled).audience
            own = lib.save(definition, author=f"user{i}", audience_size=size)
            lib.save(rfm("Shared", segments[i % len(segments)]), author=f"user{i}", segment_id=shared.segment_id,
                     note=f"from session {i}")
            results[i] = (own.segment_id, size, count(warehouse, compiled))
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised by the test below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(results) == 20
    for i, (segment_id, size, recount) in results.items():
        saved = lib.get(segment_id)
        assert saved.definition.name == f"session {i}"
        assert saved.author == f"user{i}"
        assert saved.audience_size == size == recount
    versions = lib.versions(shared.segment_id)
    assert sorted(versions["version"]) == list(range(1, 22))
    assert sorted(versions["note"].dropna()) == sorted(f"from session {i}" for i in range(20))
    warehouse.close()


def test_a_segment_id_with_a_nul_is_refused_before_it_reaches_sql(empty_warehouse):
    with pytest.raises(SpecError, match=r"segment id 'a\\x00b' contains control characters"):
        SegmentLibrary(empty_warehouse).get("a\x00b")


def test_the_catalog_knows_each_numbers_median_and_the_library_each_segments_size(demo_warehouse):
    """What the Builder starts a number at (its median) and shows beside a saved segment (its size)."""
    catalog = load_catalog(demo_warehouse)
    gold = demo_warehouse.df(f"SELECT monetary, frequency FROM {naming.fq('gold', 'gold_customer_features')}")
    for name in ("monetary", "frequency"):
        domain = catalog.domains[name]
        spread = gold[name].quantile(0.6) - gold[name].quantile(0.4)
        assert abs(domain.median - gold[name].median()) <= spread, name
    listed = SegmentLibrary(demo_warehouse).list()
    sizes = dict(zip(listed["segment_id"], listed["audience_size"]))
    for segment_id in ("sample-vip-champions-early-access", "sample-beauty-enthusiasts"):
        assert sizes[segment_id] == SegmentLibrary(demo_warehouse).get(segment_id).audience_size > 0


def test_each_read_is_one_query_and_a_listed_version_is_not_read_again(demo_warehouse):
    from services.segments.library import latest_versions, version_diff, versions_frame
    from services.warehouse.roundtrips import CountingWarehouse

    counted = CountingWarehouse(demo_warehouse)
    lib = SegmentLibrary(counted)
    vip = "sample-vip-champions-early-access"
    listed = lib.list()
    latest = lib.get(vip)
    info = lib.info(vip)
    history = lib.history(vip)
    versions = lib.versions(vip)
    assert counted.total == 5
    assert history[0] == latest and info["name"] == latest.definition.name
    pd.testing.assert_frame_equal(versions_frame(history), versions, check_dtype=False)
    assert version_diff(history[-1], history[0]).definition_diff == lib.diff(vip, history[-1].version,
                                                                             history[0].version).definition_diff
    # The list brings every segment's latest version: a library that knows them reads none again.
    known = latest_versions(listed)
    assert {v.segment_id for v in known} == set(listed["segment_id"])
    mark = counted.total
    knowing = SegmentLibrary(counted, known=known)
    assert knowing.get(vip, latest.version) == latest and counted.total == mark
    with pytest.raises(SpecError, match="does not exist"):
        knowing.get("seg-none", 1)
