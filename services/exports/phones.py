"""Phone numbers to E.164 with Google's libphonenumber (the ``phonenumbers`` port), kept per raw value.

Writing a phone normaliser by hand in SQL failed twice: Italian landlines
lost their leading zero ('+39 06 6988 1234' became 39669881234, where E.164
is +390669881234: Italy has no trunk prefix, the 0 is part of the number),
and numbers from countries outside a 20-country calling-code table were
dropped. libphonenumber carries every region's calling code and national
prefix rules (``phonenumbers.PhoneMetadata``), so it is *the* normaliser:
no SQL copy of its rules exists that could disagree with it.

It runs in Python, once per distinct (phone, country) pair: ``fill`` reads
the pairs the lookup table ``app_export_phones`` lacks, normalises them and
appends them (on Databricks the append goes through the staging volume, so
it is not bound by the statement parameter limit). The SQL that exports read
(``normalise.staged``) joins that table, so the identifier cache the build
refreshes and a contact changed since the build, normalised at export time,
take the very same values. The build fills every current customer's pair;
an export fills only the pairs of contacts changed since (usually none).

Rules (Meta: "remove symbols, letters, and any leading zeros", with the
country code; Google: "formatted as E.164"; see normalise.py for the sources):
a number written with '+' or '00' carries its country code; otherwise the
customer's country (ISO 3166-1 alpha-2) gives it, and libphonenumber strips
that country's national prefix ('0' in GB and DE, '1' in the US, '8' in RU,
'06' in HU, none in IT). Letters are dropped before parsing (libphonenumber
would read 'ext' as keypad digits). A number libphonenumber cannot place in
a country, or whose length is impossible for its country
(``is_possible_number``), has no phone and says why.
"""

from __future__ import annotations

import re

import phonenumbers
import pyarrow as pa
from sqlglot import exp

from services import clock, naming
from services.warehouse import Warehouse

LOOKUP_TABLE = naming.fq("app", "app_export_phones")
NO_PHONE = "no phone"
NO_COUNTRY_CODE = "phone without country code"
IMPOSSIBLE_LENGTH = "phone of impossible length"
#: a pair no ``fill`` has normalised yet (a bug if it shows: every reader fills first)
NOT_NORMALISED = "phone not normalised yet"

_INTERNATIONAL = re.compile(r"^\s*(\+|00)")
_NON_DIGIT = re.compile(r"\D+")
_NO_COUNTRY_ERRORS = (phonenumbers.NumberParseException.INVALID_COUNTRY_CODE,)


def normalise(phone: str | None, country: str | None) -> tuple[str | None, str | None]:
    """(E.164 digits without the '+', None) or (None, why there is no usable phone).

    >>> normalise("+39 06 6988 1234", "IT")
    ('390669881234', None)
    """
    text = "" if phone is None else str(phone)
    digits = _NON_DIGIT.sub("", text)
    if not digits:
        return None, NO_PHONE
    marked = _INTERNATIONAL.match(text)
    if marked and marked.group(1) == "00":
        digits = digits[2:]
    region = (country or "").strip().upper() or None
    try:
        number = phonenumbers.parse(("+" + digits) if marked else digits,
                                    region if region in phonenumbers.SUPPORTED_REGIONS else None)
    except phonenumbers.NumberParseException as exc:
        return None, NO_COUNTRY_CODE if exc.error_type in _NO_COUNTRY_ERRORS else IMPOSSIBLE_LENGTH
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        return None, NO_COUNTRY_CODE
    # A number only long enough to be dialled locally (a GB number without its area code) has no
    # E.164 form, unless the plan says it is a whole number as it stands (Canada's 310-xxxx).
    local_only = reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
    if not (reason == phonenumbers.ValidationResult.IS_POSSIBLE or (local_only and phonenumbers.is_valid_number(number))):
        return None, IMPOSSIBLE_LENGTH
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:], None


def _lookup(name: str) -> exp.Column:
    return exp.column(name, table="p", quoted=True)


def same_pair(phone: exp.Expression, country: exp.Expression) -> exp.Expression:
    """The lookup row ``p`` holds this raw (phone, country) pair (NULL matches NULL)."""
    return exp.and_(exp.NullSafeEQ(this=_lookup("phone"), expression=phone),
                    exp.NullSafeEQ(this=_lookup("country"), expression=country))


def lookup() -> exp.Subquery:
    """The lookup as ``p``, one row per pair: two exports filling the same pair at once may both
    append it; the values are the same (a pure function of the pair), so either row serves."""
    grouped = (exp.select(exp.column("phone", quoted=True), exp.column("country", quoted=True),
                          exp.func("MIN", exp.column("n_phone", quoted=True)).as_("n_phone", quoted=True),
                          exp.func("MIN", exp.column("n_phone_problem", quoted=True)).as_("n_phone_problem", quoted=True),
                          exp.func("MIN", exp.column("computed_ts", quoted=True)).as_("computed_ts", quoted=True))
               .from_(LOOKUP_TABLE).group_by(exp.column("phone", quoted=True), exp.column("country", quoted=True)))
    return grouped.subquery("p")


def missing_pairs(contacts: exp.Select, phone: str, country: str) -> exp.Select:
    """The distinct (phone, country) pairs of ``contacts`` (columns ``phone`` and ``country``) not in the lookup."""
    raw = lambda name: exp.column(name, table="c", quoted=True)  # noqa: E731
    return (exp.select(raw(phone).as_("phone", quoted=True), raw(country).as_("country", quoted=True)).distinct()
            .from_(contacts.subquery("c"))
            .join(exp.to_table(LOOKUP_TABLE).as_("p"), on=same_pair(raw(phone), raw(country)), join_type="left")
            .where(_lookup("computed_ts").is_(exp.null())))


def fill(warehouse: Warehouse, contacts: exp.Select, *, phone: str = "c_phone", country: str = "c_country") -> int:
    """Normalise and store every (phone, country) pair of ``contacts`` the lookup lacks; how many were added."""
    pairs = warehouse.arrow(missing_pairs(contacts, phone, country))
    if not pairs.num_rows:
        return 0
    phones = [None if v is None else str(v) for v in pairs.column("phone").to_pylist()]
    countries = [None if v is None else str(v) for v in pairs.column("country").to_pylist()]
    results = [normalise(p, c) for p, c in zip(phones, countries)]
    rows = pa.table({
        "phone": pa.array(phones, pa.string()), "country": pa.array(countries, pa.string()),
        "n_phone": pa.array([r[0] for r in results], pa.string()),
        "n_phone_problem": pa.array([r[1] for r in results], pa.string()),
        "computed_ts": pa.array([clock.now()] * len(results), pa.timestamp("us")),
    })
    return warehouse.append(LOOKUP_TABLE, rows)


def prune_statement() -> exp.Delete:
    """Drop the pairs no current customer has any more (run by the build beside the cache's own prune)."""
    # A flat correlated EXISTS on the bare target name: Databricks refuses a DELETE whose subquery is nested.
    target = exp.to_table(LOOKUP_TABLE)
    kept = lambda key: exp.column(key, table=target.name, quoted=True)  # noqa: E731
    c = lambda name: exp.column(name, table="c", quoted=True)  # noqa: E731
    # The customer table is named here rather than imported from audience.py to keep this module a leaf.
    customers = exp.to_table(naming.fq("txn", "dim_customer")).as_("c")
    used = exp.Exists(this=exp.select(exp.Literal.number(1)).from_(customers).where(exp.and_(
        exp.EQ(this=c("is_current"), expression=exp.true()),
        exp.NullSafeEQ(this=kept("phone"), expression=c("phone")),
        exp.NullSafeEQ(this=kept("country"), expression=c("country")))))
    return exp.delete(target).where(exp.not_(used))
