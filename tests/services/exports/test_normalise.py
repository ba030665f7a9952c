"""Normalisation and hashing, table-driven, run in a real DuckDB.

Each case gives a raw value and the normalised text the platform expects,
written out by hand from its rules; the expected digest is hashlib's SHA-256
of that text, computed here independently of the SQL under test.
"""

from __future__ import annotations

import hashlib

import phonenumbers as pn
import pyarrow as pa
import pytest
from sqlglot import exp

from services.exports import normalise as norm, phones, selection
from services.exports.base import CONTACT_COLUMNS, ExportRequest, contact
from services.exports.google_ads import GoogleAdsDestination
from services.exports.meta import MetaDestination
from services.pipeline.models import create_all
from services.warehouse.duckdb_engine import DuckDBWarehouse


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture(scope="module")
def duck():
    warehouse = DuckDBWarehouse(":memory:")
    create_all(warehouse)  # the export identifier cache, empty
    yield warehouse
    warehouse.close()


def source(**values) -> exp.Select:
    """One member whose contact columns (c_*) are the given values (others NULL)."""
    row = {"customer_id": "C1", "split_group": None, **{f"c_{c}": None for c in CONTACT_COLUMNS}}
    row.update({f"c_{k}": v for k, v in values.items()})
    projections = []
    for name, value in row.items():
        literal = exp.cast(exp.null(), "VARCHAR") if value is None else exp.convert(value)
        if name == "c_birth_date" and value is not None:
            literal = exp.cast(literal, "DATE")
        projections.append(literal.as_(name, quoted=True))
    return exp.select(*projections)


def evaluate(duck, expression: exp.Expression, **values):
    phones.fill(duck, source(**values))  # what every reader of the staged columns does first
    query = exp.select(expression.as_("out")).from_(norm.staged(source(**values)).subquery("src"))
    return duck.scalar(query)


EMAILS = [
    pytest.param("Jane.Doe@Example.COM", "jane.doe@example.com", id="mixed-case"),
    pytest.param("  jane@example.com \t", "jane@example.com", id="spaces-and-tab"),
    pytest.param("\u00a0jane@example.com\u3000", "jane@example.com", id="unicode-spaces"),
    pytest.param("JÖRG@Bücher.de", "jörg@bücher.de", id="unicode-letters"),
    pytest.param("", None, id="empty"),
    pytest.param("not-an-email", None, id="no-at"),
    pytest.param("a b@example.com", None, id="inner-space"),
    pytest.param("jane@localhost", None, id="no-domain-dot"),
]


@pytest.mark.parametrize("raw, expected", EMAILS)
def test_email_is_trimmed_lower_cased_and_validated(duck, raw, expected):
    assert evaluate(duck, norm.n("email"), email=raw) == expected
    digest = evaluate(duck, norm.hashed(norm.n("email")), email=raw)
    assert digest == (sha(expected) if expected else None)


PHONES = [
    pytest.param("+1 (555) 010-0000", "US", "15550100000", None, id="us-with-plus"),
    pytest.param("(555) 010-0000", "US", "15550100000", None, id="us-national"),
    pytest.param("1-555-010-0000", "US", "15550100000", None, id="us-with-1-no-plus"),
    pytest.param("07700 900123", "GB", "447700900123", None, id="gb-trunk-zero"),
    pytest.param("0044 7700 900123", "gb", "447700900123", None, id="gb-00-prefix"),
    pytest.param("+49 0155 5024833", "DE", "491555024833", None, id="de-trunk-zero-after-code"),
    pytest.param("+33 6 12 34 56 78", "FR", "33612345678", None, id="fr-spaces"),
    pytest.param("tel: +1.555.010.0000 ext", "US", "15550100000", None, id="letters-and-dots"),
    pytest.param("555 0100 123", "XX", None, "phone without country code", id="unknown-country"),
    pytest.param("555 0100 123", None, None, "phone without country code", id="no-country"),
    pytest.param("+1 23", "US", None, "phone of impossible length", id="too-short"),
    pytest.param("+1234567890123456", "US", None, "phone of impossible length", id="too-long"),
    pytest.param("", "US", None, "no phone", id="empty"),
    pytest.param("n/a", "US", None, "no phone", id="no-digits"),
    # Italy has no trunk prefix: the 0 of a landline is part of the number (issue 14, item 9).
    pytest.param("+39 06 6988 1234", "IT", "390669881234", None, id="it-landline-keeps-zero"),
    pytest.param("06 6988 1234", "IT", "390669881234", None, id="it-landline-national"),
    pytest.param("0039 06 6988 1234", "DE", "390669881234", None, id="it-landline-00-from-abroad"),
    pytest.param("+39 347 123 4567", "IT", "393471234567", None, id="it-mobile"),
    # Countries the old 20-country table lacked, each from its own national form.
    pytest.param("0712 345678", "KE", "254712345678", None, id="ke-national"),
    pytest.param("8 (912) 345-67-89", "RU", "79123456789", None, id="ru-trunk-8"),
    pytest.param("06 20 123 4567", "HU", "36201234567", None, id="hu-trunk-06"),
    pytest.param("011 234 5678", "ZA", "27112345678", None, id="za-national"),
    pytest.param("(11) 91234-5678", "BR", "5511912345678", None, id="br-national"),
    pytest.param("+44 (0)20 7946 0018", "GB", "442079460018", None, id="gb-zero-in-brackets"),
    pytest.param("+999 1234 5678", "US", None, "phone without country code", id="unassigned-calling-code"),
]


@pytest.mark.parametrize("raw, country, digits, problem", PHONES)
def test_phone_digits_e164_and_problems(duck, raw, country, digits, problem):
    assert evaluate(duck, norm.n("phone"), phone=raw, country=country) == digits
    assert evaluate(duck, norm.n("phone_problem"), phone=raw, country=country) == problem
    meta = evaluate(duck, norm.hashed(norm.n("phone")), phone=raw, country=country)
    google = evaluate(duck, norm.hashed(norm.phone_e164(norm.n("phone"))), phone=raw, country=country)
    # Meta hashes the digits; Google hashes E.164, which keeps the '+'.
    assert meta == (sha(digits) if digits else None)
    assert google == (sha("+" + digits) if digits else None)


NAMES = [
    # raw, Meta FN/LN, Google First Name, Google Last Name
    pytest.param("  MARY ", "mary", "mary", "mary", id="case-and-spaces"),
    pytest.param("Zoë-Pérez", "zoëpérez", "zoë-pérez", "zoëpérez", id="accents-and-hyphen"),
    pytest.param("O'Brien", "obrien", "o'brien", "obrien", id="apostrophe"),
    pytest.param("Jean Luc", "jeanluc", "jeanluc", "jeanluc", id="inner-space"),
    pytest.param("李 小龍", "李小龍", "李小龍", "李小龍", id="cjk"),
    pytest.param("", None, None, None, id="empty"),
    pytest.param("123", None, "123", "123", id="digits-only"),
]


@pytest.mark.parametrize("raw, meta, google_first, google_last", NAMES)
def test_names(duck, raw, meta, google_first, google_last):
    assert evaluate(duck, norm.meta_name(contact("first_name")), first_name=raw) == meta
    assert evaluate(duck, norm.google_first_name(contact("first_name")), first_name=raw) == google_first
    assert evaluate(duck, norm.google_last_name(contact("last_name")), last_name=raw) == google_last
    assert evaluate(duck, norm.hashed(norm.meta_name(contact("first_name"))), first_name=raw) == (sha(meta) if meta else None)


@pytest.mark.parametrize("expression, values, expected", [
    pytest.param(norm.meta_city(contact("city")), {"city": "  Zürich-Nord "}, "zurichnord", id="city-accents"),
    pytest.param(norm.meta_city(contact("city")), {"city": "São Paulo"}, "saopaulo", id="city-tilde"),
    pytest.param(norm.meta_city(contact("city")), {"city": "Łódź"}, "lodz", id="city-stroke-and-acute"),
    pytest.param(norm.meta_city(contact("city")), {"city": "MONTRÉAL"}, "montreal", id="city-upper-accent"),
    pytest.param(norm.meta_city(contact("city")), {"city": "Москва"}, None, id="city-not-latin"),
    pytest.param(norm.meta_city(contact("city")), {"city": "St. John's"}, "stjohns", id="city-punctuation"),
    pytest.param(norm.meta_zip(contact("postal_code"), contact("country")), {"postal_code": "94016-1234", "country": "US"},
                 "94016", id="zip-us-first-five"),
    pytest.param(norm.meta_zip(contact("postal_code"), contact("country")), {"postal_code": "SW1A 1AA", "country": "GB"},
                 "sw1a1aa", id="zip-gb"),
    pytest.param(norm.country_code(contact("country")), {"country": " GB "}, "gb", id="country"),
    pytest.param(norm.country_code(contact("country")), {"country": "United Kingdom"}, None, id="country-not-iso"),
    pytest.param(norm.birth_part(contact("birth_date"), "year"), {"birth_date": "1974-05-03"}, "1974", id="doby"),
    pytest.param(norm.birth_part(contact("birth_date"), "month"), {"birth_date": "1974-05-03"}, "05", id="dobm"),
    pytest.param(norm.birth_part(contact("birth_date"), "day"), {"birth_date": "1974-05-03"}, "03", id="dobd"),
    pytest.param(norm.gender(contact("gender")), {"gender": "F"}, "f", id="gender-f"),
    pytest.param(norm.gender(contact("gender")), {"gender": " Male"}, "m", id="gender-male"),
    pytest.param(norm.gender(contact("gender")), {"gender": "X"}, None, id="gender-other-left-out"),
])
def test_other_meta_keys(duck, expression, values, expected):
    assert evaluate(duck, expression, **values) == expected


def _row(duck, destination, **values) -> dict:
    """The member's row as the job fetches it (the empty cache sends it through the inline rules)."""
    request = ExportRequest(segment_id="s", version=1, destination=destination.name, identifiers="hashed")
    row = selection.fetch_members(duck, destination, request, source(**values)).to_pylist()[0]
    assert row.pop("_customer_id") == "C1" and row.pop("_split_group") is None
    row["reason"] = row.pop("_excluded_reason")
    return row


def test_meta_file_row_has_every_key_hashed_except_extern_id(duck):
    row = _row(duck, MetaDestination(), email=" Jane.Doe@Example.com", phone="+1 (555) 010-0000", country="US",
               first_name="Zoë", last_name="O'Brien", city="New York", postal_code="10001-0001",
               birth_date="1990-12-01", gender="female")
    assert row == {
        "EMAIL": sha("jane.doe@example.com"), "PHONE": sha("15550100000"), "FN": sha("zoë"), "LN": sha("obrien"),
        "CT": sha("newyork"), "ST": None, "ZIP": sha("10001"), "COUNTRY": sha("us"), "DOBY": sha("1990"),
        "DOBM": sha("12"), "DOBD": sha("01"), "GEN": sha("f"), "EXTERN_ID": "C1", "reason": None,
    }


def test_meta_excludes_a_member_without_email_or_phone(duck):
    row = _row(duck, MetaDestination(), email="bad", phone="555", country=None, first_name="Ann")
    assert row["reason"] == "no valid email or phone"


def test_google_row_hashes_contacts_and_keeps_country_and_zip_in_clear(duck):
    row = _row(duck, GoogleAdsDestination(), email="A@B.co", phone="07700 900123", country="gb",
               first_name=" Mary Ann ", last_name="Smith-Jones", postal_code=" SW1A 1AA ")
    assert row == {"Email": sha("a@b.co"), "Phone": sha("+447700900123"), "First Name": sha("maryann"),
                   "Last Name": sha("smithjones"), "Country": "GB", "Zip": "SW1A 1AA", "reason": None}


def test_google_accepts_a_mailing_address_without_email_or_phone(duck):
    row = _row(duck, GoogleAdsDestination(), first_name="Ann", last_name="Lee", country="US", postal_code="10001")
    assert row["reason"] is None and row["Email"] is None and row["Phone"] is None


def test_hash_by_value_matches_hashlib_and_keeps_nulls():
    values = pa.array(["f", None, "m", "f", "zoë"])
    assert norm.hash_by_value(values).to_pylist() == [sha("f"), None, sha("m"), sha("f"), sha("zoë")]


def test_databricks_rendering_uses_sha2(duck):
    sql = norm.hashed(norm.n("first_name")).sql(dialect="databricks")
    assert sql.startswith("SHA2(") and sql.endswith(", 256)")


def test_digests_of_staged_identifiers_are_read_not_recomputed():
    assert norm.hashed(norm.n("email")) == norm.n("email_sha256")
    assert norm.hashed(norm.phone_e164(norm.n("phone"))) == norm.n("phone_e164_sha256")
    staged_digests = norm.stages()[-1]
    assert staged_digests["n_email_sha256"].sql("databricks") == "SHA2(`src`.`n_email`, 256)"


def _example_numbers():
    """Each region's example numbers (every number type libphonenumber has one for), ~1,500."""
    for region in sorted(pn.SUPPORTED_REGIONS):
        for kind in (pn.PhoneNumberType.FIXED_LINE, pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.TOLL_FREE,
                     pn.PhoneNumberType.VOIP, pn.PhoneNumberType.PERSONAL_NUMBER, pn.PhoneNumberType.UAN):
            number = pn.example_number_for_type(region, kind)
            if number is not None:
                yield region, number


def test_every_region_normalises_in_international_and_national_form():
    """Not only a 20-country table: every region's example numbers, written as a person would
    (international with '+', with '00', national with the trunk prefix), give their E.164 digits."""
    checked = set()
    for region, number in _example_numbers():
        e164 = pn.format_number(number, pn.PhoneNumberFormat.E164)
        international = pn.format_number(number, pn.PhoneNumberFormat.INTERNATIONAL)
        national = pn.format_number(number, pn.PhoneNumberFormat.NATIONAL)
        for raw in (international, "00" + international[1:], national):
            assert phones.normalise(raw, region) == (e164[1:], None), (region, raw)
        checked.add(region)
    assert len(checked) >= 240  # every region libphonenumber has metadata for


def test_the_sql_stages_read_what_libphonenumber_says_for_thousands_of_numbers(duck):
    """The staged SQL columns (what exports and the cache read) equal the Python normaliser's
    answers, for every region's example numbers in three forms plus broken variants."""
    raws, countries = [], []
    for region, number in _example_numbers():
        international = pn.format_number(number, pn.PhoneNumberFormat.INTERNATIONAL)
        national = pn.format_number(number, pn.PhoneNumberFormat.NATIONAL)
        for raw in (international, national, national[:4], international + "99999999"):
            raws.append(raw)
            countries.append(region)
    raws += ["", None, "n/a", "555 0100 123"]
    countries += ["US", "US", "US", "XX"]
    assert len(raws) > 3000
    contacts = pa.table({"c_phone": pa.array(raws, pa.string()), "c_country": pa.array(countries, pa.string()),
                         "c_email": pa.nulls(len(raws), pa.string())})
    duck.execute("CREATE OR REPLACE TABLE generated_contacts (c_phone VARCHAR, c_country VARCHAR, c_email VARCHAR)")
    duck.append("generated_contacts", contacts)
    table = exp.select("c_phone", "c_country", "c_email").from_("generated_contacts")
    phones.fill(duck, table)
    staged = duck.arrow(exp.select(norm.n("phone").as_("n_phone"), norm.n("phone_problem").as_("problem"),
                                   exp.column("c_phone", table="src").as_("raw"),
                                   exp.column("c_country", table="src").as_("country"))
                        .from_(norm.staged(table).subquery("src"))).to_pylist()
    assert len(staged) == len(raws)
    wrong = [(r["raw"], r["country"]) for r in staged
             if (r["n_phone"], r["problem"]) != phones.normalise(r["raw"], r["country"])]
    assert wrong == []
    assert {r["problem"] for r in staged} == {None, "no phone", "phone without country code", "phone of impossible length"}
