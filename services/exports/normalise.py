"""Normalising and hashing customer identifiers the way each ad platform does.

A hashed upload only matches when we normalise a value exactly as the
platform does before it hashes its own users' values, so every rule here
cites the platform's documentation. Each rule is a sqlglot expression over a
column, run inside the warehouse (vectorised: a million members are one
query, not a million Python calls) and rendered for the engine's dialect.
``sha256`` hashes the UTF-8 bytes of the normalised text to lowercase hex;
an empty or invalid value becomes NULL, never the hash of an empty string.

Sources (checked November 2026):

* Meta, "Custom Audiences: hashing and normalizing data" (Marketing API,
  developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences)
  and its customer-file key list (EMAIL, PHONE, FN, LN, CT, ST, ZIP, COUNTRY,
  DOBY, DOBM, DOBD, GEN, EXTERN_ID): email trimmed and lower-cased; phone
  "remove symbols, letters, and any leading zeros", with the country code;
  FN/LN lower-case letters, no punctuation, UTF-8 special characters allowed;
  CT lower-case a-z only, no punctuation, special characters or spaces; ST the
  2-character ANSI code in lower case; ZIP lower case without spaces, US: the
  first 5 digits; COUNTRY the lower-case ISO 3166-1 alpha-2 code; DOBY YYYY,
  DOBM MM, DOBD DD; GEN ``m`` or ``f``; every key SHA-256 hashed except
  EXTERN_ID (hashing not required).
* Google Ads, "Format your customer data file" (support.google.com/google-ads/
  answer/7659867 and 7475964) and the Customer Match ``OfflineUserAddressInfo``
  reference: headers Email, Phone, First Name, Last Name, Country, Zip;
  "lowercase all characters and remove all extra spaces before, after or in
  between email addresses and names"; last name "lower case only and no
  punctuation"; phone "formatted as E.164 prior to hashing" (``+`` and country
  code); Email, Phone, First Name, Last Name SHA-256 hashed; Country (ISO
  3166-1 alpha-2) and Zip sent in clear.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from services.exports import phones

# ASCII and Unicode whitespace (no-break and ideographic spaces included).
_SPACE = r"[\s\p{Z}]"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"


def _s(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _replace_all(value: exp.Expression, pattern: str, replacement: str = "") -> exp.Expression:
    # 'g' makes DuckDB replace every match; Databricks always does (sqlglot drops the flag there).
    return exp.RegexpReplace(this=value, expression=_s(pattern), replacement=_s(replacement), modifiers=_s("g"))


def _blank_to_null(value: exp.Expression) -> exp.Expression:
    return exp.func("NULLIF", value, _s(""))


def _text(value: exp.Expression) -> exp.Expression:
    return exp.cast(value, "VARCHAR")


def trim_space(value: exp.Expression) -> exp.Expression:
    """Leading and trailing whitespace of any kind removed (TRIM alone removes only ' ')."""
    return _replace_all(_text(value), rf"^{_SPACE}+|{_SPACE}+$")


def sha256(value: exp.Expression) -> exp.Expression:
    """Lowercase hex SHA-256 of the text, NULL stays NULL (SHA2(x, 256) on Databricks)."""
    return exp.SHA2(this=value, length=exp.Literal.number(256))


# -- email and phone: computed once per member, in stages ---------------------------
# Each stage is one SELECT that adds named columns over the previous one, so every value is
# computed once and later rules refer to it by name. ``staged`` wraps a source (aliased ``src``,
# with the contact columns c_email, c_phone and c_country) in the stages. The phone columns are
# not computed here: libphonenumber normalises each raw (phone, country) pair once, in Python,
# into a lookup table the first stage joins (phones.py), so SQL never holds a second copy of
# the phone rules that could disagree with it.
def n(name: str) -> exp.Column:
    """A normalised column added by the stages (``n_email``, ``n_phone``...)."""
    return exp.column("n_" + name, table="src", quoted=True)


def _c(name: str) -> exp.Column:
    return exp.column("c_" + name, table="src", quoted=True)


def stages() -> list[dict[str, exp.Expression]]:
    """Email: trimmed, lower-cased, NULL unless it looks like an address (Meta and Google).

    Phone: ``n_phone`` (E.164 digits, the '+' left out as Meta wants them) and
    ``n_phone_problem`` come from the libphonenumber lookup ``staged`` joins
    (phones.py); only their digests are computed here.
    """
    email_clean = exp.Lower(this=trim_space(_c("email")))
    return [
        {"n_email_clean": email_clean},
        {"n_email": exp.If(this=exp.RegexpLike(this=n("email_clean"), expression=_s(EMAIL_PATTERN)),
                           true=n("email_clean"), false=exp.null())},
        {
            "n_email_problem": (exp.Case()
                                .when(exp.EQ(this=exp.func("COALESCE", n("email_clean"), _s("")), expression=_s("")), _s("no email"))
                                .when(n("email").is_(exp.null()), _s("bad email"))
                                .else_(exp.null())),
        },
        {name: sha256(value) for name, value in _digested().items()},
    ]


# The digests every hashed upload needs, staged (and cached between exports, see identifiers.py)
# with the identifiers: SHA-256 is half the cost of a hashed export.
DIGEST_COLUMNS = ("n_email_sha256", "n_phone_sha256", "n_phone_e164_sha256")


def _digested() -> dict[str, exp.Expression]:
    return dict(zip(DIGEST_COLUMNS, (n("email"), n("phone"), phone_e164(n("phone")))))


def staged(source: exp.Select) -> exp.Select:
    """``source`` with the normalised email and phone columns added (n_email, n_phone, n_*_problem).

    Every (c_phone, c_country) pair of ``source`` must have been through
    ``phones.fill`` first; a pair that has not shows as NOT_NORMALISED.
    """
    joined = phones.lookup()
    problem = exp.Case().when(exp.column("computed_ts", table="p", quoted=True).is_(exp.null()),
                              _s(phones.NOT_NORMALISED)).else_(exp.column("n_phone_problem", table="p", quoted=True))
    query = (exp.select(exp.column(exp.Star(), table="src"),
                        exp.column("n_phone", table="p", quoted=True).as_("n_phone", quoted=True),
                        problem.as_("n_phone_problem", quoted=True))
             .from_(source.subquery("src"))
             .join(joined, on=phones.same_pair(_c("phone"), _c("country")), join_type="left"))
    for stage in stages():
        query = exp.select(exp.Star(), *[e.as_(k, quoted=True) for k, e in stage.items()]).from_(query.subquery("src"))
    return query


def phone_e164(digits: exp.Expression) -> exp.Expression:
    """Google Phone: E.164 is '+' then the Meta digits ('+15550100000')."""
    return exp.DPipe(this=_s("+"), expression=digits)


# -- names and places ------------------------------------------------------------------
def meta_name(value: exp.Expression) -> exp.Expression:
    """Meta FN/LN: lower case, letters only (UTF-8 letters such as 'é' kept), no punctuation or spaces."""
    return _blank_to_null(_replace_all(exp.Lower(this=_text(value)), r"[^\pL]+"))


def google_first_name(value: exp.Expression) -> exp.Expression:
    """Google First Name: lower case, every space (before, after, between) removed."""
    return _blank_to_null(_replace_all(exp.Lower(this=_text(value)), _SPACE))


def google_last_name(value: exp.Expression) -> exp.Expression:
    """Google Last Name: lower case, no spaces and no punctuation."""
    return _blank_to_null(_replace_all(exp.Lower(this=_text(value)), rf"{_SPACE}|\pP"))


# Lower-case Latin letters with diacritics -> their base letter. Written out because neither
# Spark nor Databricks SQL has DuckDB's STRIP_ACCENTS, and TRANSLATE is in both; a letter not
# listed here is dropped by the a-z rule that follows, as a letter outside Latin would be.
_ACCENTED = {
    "a": "àáâãäåāăą", "c": "çćčĉċ", "d": "ďđ", "e": "èéêëēĕėęě", "g": "ĝğġģ", "h": "ĥħ",
    "i": "ìíîïĩīĭįı", "j": "ĵ", "k": "ķ", "l": "ĺļľŀł", "n": "ñńņňŉ", "o": "òóôõöøōŏő",
    "r": "ŕŗř", "s": "śŝşš", "t": "ţťŧ", "u": "ùúûüũūŭůűų", "w": "ŵ", "y": "ýÿŷ", "z": "źżž",
}
_ACCENT_FROM = "".join(_ACCENTED.values())
_ACCENT_TO = "".join(base * len(marked) for base, marked in _ACCENTED.items())


def fold_accents(value: exp.Expression) -> exp.Expression:
    """Lower-case text with its Latin diacritics removed ('zürich' -> 'zurich')."""
    return exp.func("TRANSLATE", value, _s(_ACCENT_FROM), _s(_ACCENT_TO))


def meta_city(value: exp.Expression) -> exp.Expression:
    """Meta CT: a-z only (accents folded: 'Zürich' -> 'zurich'), no spaces or punctuation."""
    return _blank_to_null(_replace_all(fold_accents(exp.Lower(this=_text(value))), "[^a-z]+"))


def country_code(value: exp.Expression) -> exp.Expression:
    """ISO 3166-1 alpha-2 in lower case (Meta COUNTRY), NULL unless two letters."""
    cleaned = exp.Lower(this=trim_space(value))
    return exp.If(this=exp.RegexpLike(this=cleaned.copy(), expression=_s("^[a-z]{2}$")), true=cleaned, false=exp.null())


def meta_zip(value: exp.Expression, country: exp.Expression) -> exp.Expression:
    """Meta ZIP: lower case, no spaces or dashes; US: the first 5 digits only."""
    cleaned = _replace_all(exp.Lower(this=_text(value)), rf"{_SPACE}|-")
    us = exp.EQ(this=country_code(country), expression=_s("us"))
    return _blank_to_null(exp.If(this=us, true=exp.Substring(this=cleaned.copy(), start=exp.Literal.number(1),
                                                                  length=exp.Literal.number(5)), false=cleaned))


def clear_zip(value: exp.Expression) -> exp.Expression:
    """Google Zip (sent in clear): trimmed, NULL when empty."""
    return _blank_to_null(trim_space(value))


def birth_part(value: exp.Expression, part: str) -> exp.Expression:
    """Meta DOBY (YYYY), DOBM (MM) or DOBD (DD) from a date."""
    formats = {"year": "%Y", "month": "%m", "day": "%d"}
    return exp.TimeToStr(this=exp.cast(value, "DATE"), format=_s(formats[part]))


def gender(value: exp.Expression) -> exp.Expression:
    """Meta GEN: 'm' or 'f' from the first letter; anything else is left out."""
    first = exp.Substring(this=exp.Lower(this=trim_space(value)), start=exp.Literal.number(1), length=exp.Literal.number(1))
    return exp.If(this=first.copy().isin(_s("m"), _s("f")), true=first, false=exp.null())


def hashed(value: exp.Expression) -> exp.Expression:
    """SHA-256 of a normalised value in the warehouse; NULL (no identifier) stays NULL.

    The digest of a staged identifier is a staged column itself, so it is read, not recomputed.
    """
    for name, staged_value in _digested().items():
        if value == staged_value:
            return n(name[len("n_"):])
    return sha256(value)


def hash_by_value(values: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """SHA-256 (lowercase hex of the UTF-8 text) of each value, each distinct value hashed once.

    Most keys of a customer file take few distinct values (two genders, a
    dozen months, a few hundred cities and first names), so hashing the
    dictionary of distinct values is far cheaper than a hash per row. Emails
    and phones, distinct per member, are hashed in the warehouse instead
    (``hashed``). The result stays dictionary-encoded (the digests, and each
    row's index into them): the CSV writer expands it while formatting, on
    its own workers, instead of 64 bytes per row being copied here. NULL
    stays NULL.
    """
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    encoded = pc.dictionary_encode(array.cast(pa.string()))
    digests = pa.array([hashlib.sha256(v.encode("utf-8")).hexdigest() for v in encoded.dictionary.to_pylist()],
                       type=pa.string())
    return pa.DictionaryArray.from_arrays(encoded.indices, digests)
