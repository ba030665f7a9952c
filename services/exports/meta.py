"""Meta Custom Audiences customer file: the platform's keys, each normalised and hashed.

Column keys and rules are Meta's (see ``normalise.py`` for each rule and its
source). EXTERN_ID is our customer id in clear, as Meta allows, so a later
upload can remove members by it. ST is left empty: the customer table holds
a sales region, not the state code Meta expects, and a wrong state only
lowers the match rate.
"""

from __future__ import annotations

from sqlglot import exp

from services.exports import normalise as norm
from services.exports.base import ExportRequest, contact, src
from services.exports.files import FileDestination

KEYS = ("EMAIL", "PHONE", "FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "DOBY", "DOBM", "DOBD", "GEN", "EXTERN_ID")


def _normalised() -> dict[str, exp.Expression]:
    country = contact("country")
    return {
        "EMAIL": norm.n("email"),
        "PHONE": norm.n("phone"),
        "FN": norm.meta_name(contact("first_name")),
        "LN": norm.meta_name(contact("last_name")),
        "CT": norm.meta_city(contact("city")),
        "ST": exp.null(),
        "ZIP": norm.meta_zip(contact("postal_code"), country.copy()),
        "COUNTRY": norm.country_code(country.copy()),
        "DOBY": norm.birth_part(contact("birth_date"), "year"),
        "DOBM": norm.birth_part(contact("birth_date"), "month"),
        "DOBD": norm.birth_part(contact("birth_date"), "day"),
        "GEN": norm.gender(contact("gender")),
    }


class MetaDestination(FileDestination):
    name = "meta"
    separate_removals = True
    label = "Meta Custom Audiences (hashed file)"
    fixed_schema = True
    # Meta reports match rates of roughly 40-70% for retail CRM files; we assume the middle.
    expected_match_rate = 0.6
    seconds_per_row = 4e-6

    # Emails and phones are distinct per member: hashed in the warehouse. The other keys take few values.
    hash_after_fetch = ("FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "DOBY", "DOBM", "DOBD", "GEN")
    unusable_reason = "no valid email or phone"

    def projections(self, request: ExportRequest) -> list[exp.Expression]:
        return self.hashed_keys() + [src("customer_id").as_("EXTERN_ID", quoted=True)]

    def normalised_keys(self) -> dict[str, exp.Expression]:
        return _normalised()

    def usable(self, request: ExportRequest) -> exp.Expression:
        # Meta matches on email or phone; names, places and dates only refine a match.
        return exp.or_(norm.n("email").is_(exp.null()).not_(), norm.n("phone").is_(exp.null()).not_())
