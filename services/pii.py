"""Masking of personal data for display: enough to recognise a record, not to use it."""

from __future__ import annotations

import pandas as pd

PII_COLUMNS = ("first_name", "last_name", "email", "phone", "address_line", "postal_code", "birth_date")


def mask_email(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    text = str(value)
    local, _, domain = text.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    digits = [c for c in str(value) if c.isdigit()]
    return "*** " + "".join(digits[-2:]) if digits else "***"


def mask_name(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    text = str(value).strip()
    return f"{text[:1]}." if text else text


def mask_other(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return "***"


MASKS = {"email": mask_email, "phone": mask_phone, "first_name": mask_name, "last_name": mask_name}


def mask_frame(frame: pd.DataFrame, columns=PII_COLUMNS) -> pd.DataFrame:
    """A copy of ``frame`` with every PII column present masked."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            out[column] = out[column].map(MASKS.get(column, mask_other)).astype(object)
    return out
