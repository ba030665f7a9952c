"""Normalised and hashed emails and phones, kept between exports.

Normalising a million emails and phones and taking their SHA-256 is most of
the warehouse time of a hashed export (about 3.5 s of 5 at 1M members on two
cores), and the answer only changes when a customer's contact details do.
The staged identifier columns (``normalise.stages``: n_email, n_phone, their
problems and digests) are a function of three raw values, the email, the
phone and the country (for the calling code), so ``app_export_identifiers``
keeps them per distinct (email, phone, country), and an export reads them
from there with one join.

The cache can never make an export wrong, only slower: it is keyed by the
raw values themselves, so a changed contact simply misses, however it was
changed, and ``source`` computes the identifiers of every member that misses
inline with the same rules (``prepare`` first lets libphonenumber normalise
their phones, see phones.py). ``refresh`` (run at the end of each pipeline
build) normalises the phones no build has seen, then in one transaction
drops the values no current customer has any more and adds the missing
ones; a build where no contact changed adds nothing. The table holds personal data (clear normalised emails and phones)
like the customer table it derives from, and sits in the app schema the
service principal owns.
"""

from __future__ import annotations

from sqlglot import exp

from services import naming
from services.exports import normalise as norm, phones
from services.exports.audience import CUSTOMER_TABLE
from services.exports.base import CONTACT_PREFIX, src
from services.warehouse import Warehouse

CACHE_TABLE = naming.fq("app", "app_export_identifiers")
#: the raw contact values the staged columns are computed from (``normalise.stages`` reads no other)
KEY_COLUMNS = ("email", "phone", "country")
#: when the row was computed; never NULL, so a left join's missing row shows as NULL here
MARKER = "computed_ts"
#: the staged columns destinations read (``norm.n(...)``); the stages' intermediate columns are not kept
CACHED_COLUMNS = ("n_email", "n_phone", "n_email_problem", "n_phone_problem", *norm.DIGEST_COLUMNS)

_CACHE, _AUDIENCE = "i", "a"


def _cache(name: str) -> exp.Column:
    return exp.column(name, table=_CACHE, quoted=True)


def _same_contact(cached, raw) -> exp.Expression:
    """The cached row was computed from these very values (NULL matches NULL)."""
    return exp.and_(*[exp.NullSafeEQ(this=cached(key), expression=raw(key)) for key in KEY_COLUMNS])


def _audience(key: str) -> exp.Column:
    return exp.column(CONTACT_PREFIX + key, table=_AUDIENCE, quoted=True)


def _joined(query: exp.Select, kind: str) -> exp.Select:
    return exp.select().from_(query.copy().subquery(_AUDIENCE)).join(
        exp.to_table(CACHE_TABLE).as_(_CACHE), on=_same_contact(_cache, _audience), join_type=kind)


def cached(query: exp.Select) -> exp.Select:
    """The members of ``query`` whose contact values are cached, with the cached columns added."""
    return _joined(query, "inner").select(
        *[exp.column(c, table=_AUDIENCE, quoted=True).as_(c, quoted=True) for c in query.named_selects],
        *[_cache(c).as_(c, quoted=True) for c in CACHED_COLUMNS])


def source(query: exp.Select) -> exp.Union:
    """``query`` (the audience, with the c_ contact columns) with the staged identifier columns added.

    Members whose contact values are cached take the columns by a join; the
    rest (found by the same join, with no cache row) go through
    ``normalise.staged``. The cache holds each combination of values once,
    and both halves have the same columns in the same order, so the union is
    the audience, each member once.
    """
    # An anti-join written as a left join: a correlated NOT EXISTS on these nullable keys made
    # DuckDB plan a delim join that ran for minutes on 10,000 members.
    misses_in = (_joined(query, "left").select(exp.column(exp.Star(), table=_AUDIENCE))
                 .where(_cache(MARKER).is_(exp.null())))
    misses = exp.select(*[src(c).as_(c, quoted=True) for c in (*query.named_selects, *CACHED_COLUMNS)]).from_(
        norm.staged(misses_in).subquery("src"))
    return exp.union(cached(query), misses, distinct=False)


def prepare(warehouse: Warehouse, query: exp.Select) -> int:
    """Normalise the phones of ``query``'s members (c_phone, c_country) that no build or export has seen,
    so ``source`` (which joins them) has them all; after a build there are none. How many were added."""
    return phones.fill(warehouse, query)


def refresh_statements() -> list[exp.Expression]:
    """Drop cached values and phones no current customer has, then add every current combination not cached."""
    target = exp.to_table(CACHE_TABLE)
    c = lambda name: exp.column(name, table="c", quoted=True)  # noqa: E731
    current = exp.EQ(this=c("is_current"), expression=exp.true())
    # The target is referred to by its bare name: Databricks refuses a DELETE whose subquery is
    # itself nested, so the condition is one flat correlated EXISTS.
    cached_row = lambda key: exp.column(key, table=target.name, quoted=True)  # noqa: E731
    still_used = exp.Exists(this=exp.select(exp.Literal.number(1)).from_(exp.to_table(CUSTOMER_TABLE).as_("c"))
                            .where(exp.and_(current, _same_contact(cached_row, c))))
    # A cached phone libphonenumber now reads otherwise (a cache an older build filled with the
    # hand-written SQL rules) is dropped too, so it is recomputed from the lookup below.
    p = lambda name: exp.column(name, table="p", quoted=True)  # noqa: E731
    same_phone = exp.Exists(this=exp.select(exp.Literal.number(1)).from_(exp.to_table(phones.LOOKUP_TABLE).as_("p"))
                            .where(exp.and_(phones.same_pair(cached_row("phone"), cached_row("country")),
                                            exp.NullSafeEQ(this=p("n_phone"), expression=cached_row("n_phone")))))
    delete = exp.delete(target).where(exp.or_(exp.not_(still_used), exp.not_(same_phone)))

    missing = (exp.select(*[c(key).as_(CONTACT_PREFIX + key, quoted=True) for key in KEY_COLUMNS]).distinct()
               .from_(exp.to_table(CUSTOMER_TABLE).as_("c"))
               .join(exp.to_table(CACHE_TABLE).as_(_CACHE), on=_same_contact(_cache, c), join_type="left")
               .where(exp.and_(current.copy(), _cache(MARKER).is_(exp.null()))))
    insert = exp.insert(
        exp.select(*[src(CONTACT_PREFIX + key).as_(key, quoted=True) for key in KEY_COLUMNS],
                   *[src(col).as_(col, quoted=True) for col in CACHED_COLUMNS],
                   exp.CurrentTimestamp().as_(MARKER, quoted=True))
        .from_(norm.staged(missing).subquery("src")),
        target.copy(),
        columns=[exp.to_identifier(col, quoted=True) for col in (*KEY_COLUMNS, *CACHED_COLUMNS, MARKER)])
    return [delete, phones.prune_statement(), insert]


def refresh(warehouse: Warehouse) -> None:
    current = (exp.select(exp.column("phone", quoted=True), exp.column("country", quoted=True))
               .from_(CUSTOMER_TABLE).where(exp.column("is_current", quoted=True).eq(exp.true())))
    phones.fill(warehouse, current, phone="phone", country="country")
    warehouse.transaction([(statement, None) for statement in refresh_statements()])
