"""Salesforce Marketing Cloud data extension file.

A data extension import needs a primary key column; ``SubscriberKey`` is the
customer id, so re-imports update rows rather than add them. Contact fields
use Marketing Cloud's usual names (``EmailAddress``, ``MobileNumber``...).
"""

from __future__ import annotations

from services.exports.files import FileDestination


class SalesforceDestination(FileDestination):
    name = "salesforce"
    label = "Salesforce Marketing Cloud data extension file"
    key_column = "SubscriberKey"
    seconds_per_row = 1.5e-6

    def clear_names(self) -> dict[str, str]:
        return {"email": "EmailAddress", "phone": "MobileNumber", "first_name": "FirstName", "last_name": "LastName"}
