"""The export identifier cache: what the build stores, and that it never changes an export's output.

The reference answers come from ``normalise.staged`` run directly over the
customer table, which is what an export computed before the cache existed.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
from sqlglot import exp

from services.exports import identifiers, normalise as norm, phones, selection
from services.exports.audience import CUSTOMER_TABLE, source_query
from services.exports.base import ExportRequest
from services.exports.meta import MetaDestination
from services.exports.preflight import compile_saved
from tests.services.exports.conftest import VIP

KEYS = identifiers.KEY_COLUMNS


def _current_contacts() -> exp.Select:
    c = lambda name: exp.column(name, table="c", quoted=True)  # noqa: E731
    return (exp.select(*[c(k).as_("c_" + k, quoted=True) for k in KEYS]).distinct()
            .from_(exp.to_table(CUSTOMER_TABLE).as_("c")).where(c("is_current").eq(exp.true())))


def _cache(warehouse) -> list[dict]:
    rows = warehouse.arrow(exp.select(*[exp.column(c, quoted=True) for c in (*KEYS, *identifiers.CACHED_COLUMNS)])
                           .from_(identifiers.CACHE_TABLE)).to_pylist()
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in KEYS))


def _expected(warehouse) -> list[dict]:
    staged = norm.staged(_current_contacts()).subquery("src")
    columns = [exp.column("c_" + k, table="src", quoted=True).as_(k, quoted=True) for k in KEYS]
    columns += [exp.column(c, table="src", quoted=True).as_(c, quoted=True) for c in identifiers.CACHED_COLUMNS]
    rows = warehouse.arrow(exp.select(*columns).from_(staged)).to_pylist()
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in KEYS))


def _set_contact(warehouse, customer_id: str, **values) -> None:
    warehouse.execute(exp.update(CUSTOMER_TABLE, {k: exp.convert(v) for k, v in values.items()},
                                 where=exp.and_(exp.column("customer_id").eq(exp.convert(customer_id)),
                                                exp.column("is_current").eq(exp.true()))))


def _meta_rows(warehouse):
    dest = MetaDestination()
    request = ExportRequest(segment_id=VIP, version=1, destination="meta")
    _, compiled = compile_saved(warehouse, VIP, 1)
    return selection.fetch_members(warehouse, dest, request, source_query(compiled, ()))


def test_the_build_caches_each_current_contact_once_with_the_rules_values(warehouse):
    cached = _cache(warehouse)
    assert cached == _expected(warehouse)
    assert len({tuple(r[k] for k in KEYS) for r in cached}) == len(cached)
    assert any(r["n_email_sha256"] for r in cached) and any(r["n_phone_sha256"] for r in cached)


def test_a_cached_export_equals_one_computed_without_the_cache(fresh_warehouse):
    with_cache = _meta_rows(fresh_warehouse)
    fresh_warehouse.execute(exp.delete(identifiers.CACHE_TABLE))
    without = _meta_rows(fresh_warehouse)
    assert with_cache.num_rows > 50
    assert with_cache.equals(without)


def test_a_contact_changed_after_the_build_is_exported_with_its_new_value(fresh_warehouse):
    before = _meta_rows(fresh_warehouse).to_pylist()
    member = before[0]["_customer_id"]
    _set_contact(fresh_warehouse, member, email="  New.Address@Example.org ")

    after = {r["_customer_id"]: r for r in _meta_rows(fresh_warehouse).to_pylist()}
    assert len(after) == len(before)
    assert after[member]["EMAIL"] == norm.hash_by_value(pa.array(["new.address@example.org"]))[0].as_py()
    unchanged = before[1]
    assert after[unchanged["_customer_id"]] == unchanged


def test_refresh_adds_new_contacts_drops_unused_ones_and_is_idempotent(fresh_warehouse):
    wh = fresh_warehouse
    old = _cache(wh)
    member = wh.arrow(exp.select("customer_id", "email").from_(CUSTOMER_TABLE)
                      .where(exp.column("is_current").eq(exp.true())).order_by("customer_id").limit(1)).to_pylist()[0]
    _set_contact(wh, member["customer_id"], email="changed@example.com")

    identifiers.refresh(wh)
    refreshed = _cache(wh)
    assert refreshed == _expected(wh)
    assert any(r["email"] == "changed@example.com" for r in refreshed)
    assert not any(r["email"] == member["email"] for r in refreshed)
    assert len(refreshed) == len(old)

    identifiers.refresh(wh)
    assert _cache(wh) == refreshed


def test_an_italian_landline_changed_after_the_build_keeps_its_leading_zero(fresh_warehouse):
    """Issue 14 item 9: '+39 06 6988 1234' is +390669881234 in E.164 (Italy has no trunk prefix);
    the hand-written SQL rules made it 39669881234. The contact misses the cache, so the export
    normalises it then, with the same libphonenumber rules the build uses."""
    before = _meta_rows(fresh_warehouse).to_pylist()
    member = before[0]["_customer_id"]
    _set_contact(fresh_warehouse, member, phone="+39 06 6988 1234", country="IT")
    after = {r["_customer_id"]: r for r in _meta_rows(fresh_warehouse).to_pylist()}
    assert after[member]["PHONE"] == hashlib.sha256(b"390669881234").hexdigest()
    identifiers.refresh(fresh_warehouse)
    cached = [r for r in _cache(fresh_warehouse) if r["phone"] == "+39 06 6988 1234"]
    assert [r["n_phone"] for r in cached] == ["390669881234"]


def test_refresh_recomputes_phones_an_older_build_cached_with_other_rules(fresh_warehouse):
    wh = fresh_warehouse
    row = next(r for r in _cache(wh) if r["n_phone"])
    # What a build before libphonenumber left: a wrong digit string, and no lookup rows at all.
    wh.execute(exp.update(identifiers.CACHE_TABLE, {"n_phone": exp.convert("39669881234")},
                          where=exp.column("phone").eq(exp.convert(row["phone"]))))
    wh.execute(exp.delete(phones.LOOKUP_TABLE))
    assert _cache(wh) != _expected(wh)
    identifiers.refresh(wh)
    assert _cache(wh) == _expected(wh)
    assert wh.scalar(exp.select(exp.func("COUNT", exp.Star())).from_(phones.LOOKUP_TABLE)) > 0
