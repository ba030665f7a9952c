"""Google Ads Customer Match upload file.

Headers Email, Phone, First Name, Last Name, Country, Zip as Google's
template spells them; Email, Phone (E.164), First Name and Last Name are
normalised and SHA-256 hashed, Country and Zip go in clear (rules and
sources in ``normalise.py``). Google matches on email, on phone, or on the
mailing address (first name, last name, country and zip together).
"""

from __future__ import annotations

from sqlglot import exp

from services.exports import normalise as norm
from services.exports.base import ExportRequest, contact
from services.exports.files import FileDestination


def _normalised() -> dict[str, exp.Expression]:
    return {
        "Email": norm.n("email"),
        "Phone": norm.phone_e164(norm.n("phone")),
        "First Name": norm.google_first_name(contact("first_name")),
        "Last Name": norm.google_last_name(contact("last_name")),
    }


class GoogleAdsDestination(FileDestination):
    name = "google_ads"
    separate_removals = True
    label = "Google Ads Customer Match (hashed file)"
    fixed_schema = True
    # Google documents typical Customer Match rates of 29-62%; we assume the middle.
    expected_match_rate = 0.45
    seconds_per_row = 3e-6

    hash_after_fetch = ("First Name", "Last Name")
    unusable_reason = "no valid email, phone or mailing address"

    def projections(self, request: ExportRequest) -> list[exp.Expression]:
        columns = self.hashed_keys()
        country = exp.Upper(this=norm.country_code(contact("country")))
        return columns + [country.as_("Country", quoted=True), norm.clear_zip(contact("postal_code")).as_("Zip", quoted=True)]

    def normalised_keys(self) -> dict[str, exp.Expression]:
        return _normalised()

    def usable(self, request: ExportRequest) -> exp.Expression:
        present = lambda e: e.is_(exp.null()).not_()  # noqa: E731
        address = exp.and_(present(contact("first_name")), present(contact("last_name")),
                           present(norm.country_code(contact("country"))), present(norm.clear_zip(contact("postal_code"))))
        return exp.or_(present(norm.n("email")), present(norm.n("phone")), address)
