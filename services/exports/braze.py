"""Braze user attributes file (the CSV user import), keyed by ``external_id``.

Braze reads the first column as ``external_id`` and every other column as a
user attribute: the standard ones (``email``, ``phone``, ``first_name``,
``last_name``) when the role may export identifiers in clear, and the chosen
gold attributes plus the split group as custom attributes.

What Braze documents, and this file follows (checked December 2026):

* CSV import (braze.com/docs/user_guide/data/user_data_collection/user_import/csv_import):
  column headers must match the default attributes' names exactly (spelling
  and case), else Braze makes a custom attribute of them; a blank value does
  not overwrite the profile's; default and custom attribute files may be at
  most 500 MB.
* User phone numbers (braze.com/docs/user_guide/message_building_by_channel/
  sms_mms_rcs/user_phone_numbers): import phones in E.164, a '+' and the
  country code ('+442071838750'); a number without them is read as a US one.
  So ``phone`` is the libphonenumber E.164 form (phones.py), blank when there
  is none, never the raw text a customer typed.
* ``email`` goes out trimmed and lower-cased, blank unless it is an address.
"""

from __future__ import annotations

from pathlib import Path

from sqlglot import exp

from services.errors import ExportError
from services.exports import normalise as norm
from services.exports.base import contact
from services.exports.files import FileDestination

#: Braze's largest attributes CSV (500 MB; decimal megabytes, the conservative reading)
MAX_FILE_BYTES = 500 * 1000 * 1000


class BrazeDestination(FileDestination):
    name = "braze"
    label = "Braze user attributes file"
    key_column = "external_id"
    seconds_per_row = 1.5e-6
    max_file_bytes: int | None = MAX_FILE_BYTES

    def clear_value(self, column: str) -> exp.Expression:
        if column == "email":
            return norm.n("email")
        if column == "phone":
            return norm.phone_e164(norm.n("phone"))
        return contact(column)

    def check_written(self, local: Path) -> None:
        size = local.stat().st_size
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            local.unlink(missing_ok=True)
            raise ExportError(f"the file is {size:,} bytes and Braze accepts at most {self.max_file_bytes:,} bytes "
                              "per CSV import: export a smaller segment, or fewer attributes")
