"""Salesforce Marketing Cloud data extension file.

A data extension import needs a primary key column; ``SubscriberKey`` is the
customer id, so re-imports update rows rather than add them. Contact fields
use Marketing Cloud's usual names (``EmailAddress``, ``MobileNumber``...).

What Marketing Cloud documents, and this file follows (checked December 2026):

* MobileConnect import file guidelines (help.salesforce.com, article
  mktg.mc_moc_prepare_file_for_import): mobile numbers include the country
  ("locale") code and area code, with special characters such as '+',
  hyphens or parentheses removed. So ``MobileNumber`` is the libphonenumber
  E.164 digits without the '+' (phones.py: '390669881234'), blank when the
  number cannot be placed; Italy's leading zero stays.
* Data extension fields (developer.salesforce.com/docs/marketing/
  marketing-cloud/guide/ssjs_dataExtensionFieldsAdd.html): a Text field holds
  at most 4,000 characters, an EmailAddress field 254. ``EmailAddress`` is
  trimmed and lower-cased, blank unless it is an address (so never longer
  than an address can be). No file size cap is documented for a data
  extension import, so none is enforced (``max_file_bytes`` None).
"""

from __future__ import annotations

from sqlglot import exp

from services.exports import normalise as norm
from services.exports.base import contact
from services.exports.files import FileDestination


class SalesforceDestination(FileDestination):
    name = "salesforce"
    label = "Salesforce Marketing Cloud data extension file"
    key_column = "SubscriberKey"
    seconds_per_row = 1.5e-6
    max_file_bytes: int | None = None

    def clear_names(self) -> dict[str, str]:
        return {"email": "EmailAddress", "phone": "MobileNumber", "first_name": "FirstName", "last_name": "LastName"}

    def clear_value(self, column: str) -> exp.Expression:
        if column in ("email", "phone"):
            return norm.n(column)
        return contact(column)
