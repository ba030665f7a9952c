"""Braze user attributes file (the CSV user import), keyed by ``external_id``.

Braze reads the first column as ``external_id`` and every other column as a
user attribute: the standard ones (``email``, ``phone``, ``first_name``,
``last_name``) when the role may export identifiers in clear, and the chosen
gold attributes plus the split group as custom attributes.
"""

from __future__ import annotations

from services.exports.files import FileDestination


class BrazeDestination(FileDestination):
    name = "braze"
    label = "Braze user attributes file"
    key_column = "external_id"
    seconds_per_row = 1.5e-6
