"""Masking of personal data for display: enough to recognise a record, not to use it.

Which columns hold personal data is the governance catalog's call, not this
module's: ``pii_policy`` reads the ``pii`` tags of a dataset from gov
``dim_tag`` (column -> kind), and ``mask_frame`` masks each tagged column by
its kind. A data steward who tags a new column therefore gets it masked
everywhere without a code change.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from sqlglot import exp

from services import naming
from services.governance.registry import PII_TAG
from services.warehouse import Warehouse

TAG_TABLE = naming.fq("gov", "dim_tag")

# Below this many digits the last two would give away too much of the number.
MIN_PHONE_DIGITS = 6


def _missing(value) -> bool:
    # pd.isna answers element-wise for list-likes; only a scalar can be "missing".
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def mask_email(value) -> str | None:
    if _missing(value):
        return None
    text = str(value).strip()
    if not text:
        return ""
    # rpartition: in "a@b@shop.example" only the last part is the mail domain.
    local, _, domain = text.rpartition("@")
    return f"{local[:1]}***@{domain}" if local and domain else "***"


def mask_phone(value) -> str | None:
    if _missing(value):
        return None
    text = str(value).strip()
    if not text:
        return ""
    digits = [c for c in text if c.isdecimal()]
    return "*** " + "".join(digits[-2:]) if len(digits) >= MIN_PHONE_DIGITS else "***"


def mask_name(value) -> str | None:
    if _missing(value):
        return None
    text = str(value).strip()
    return f"{text[:1]}." if text else ""


def mask_other(value) -> str | None:
    if _missing(value):
        return None
    # An empty field hides nothing, and showing it empty tells the reader it is empty.
    return "" if isinstance(value, str) and not value.strip() else "***"


MASKS_BY_KIND = {"email": mask_email, "phone": mask_phone, "name": mask_name}


def masker(kind: str | None):
    """The mask for a PII kind; kinds without a specific mask (address, birth_date, new ones) hide everything."""
    return MASKS_BY_KIND.get((kind or "").strip().lower(), mask_other)


def pii_policy(warehouse: Warehouse, dataset_id: str) -> dict[str, str]:
    """Column -> PII kind for a dataset, from the catalog's ``pii`` tags.

    A column tagged more than once takes its newest tag, so a steward's later
    re-classification wins over the build's registration. An empty dict means
    the catalog says nothing about the dataset; callers decide what that means
    (the member preview then treats its contact columns as PII).
    """
    return policy_from(warehouse.arrow(pii_tags(dataset_id)).to_pylist())


def pii_tags(dataset_id: str) -> exp.Select:
    """``SELECT column_name, tag_value`` of a dataset's ``pii`` tags, oldest first (see ``pii_policy``)."""
    col = lambda name: exp.column(name)  # noqa: E731
    return (
        exp.select(col("column_name"), col("tag_value"))
        .from_(TAG_TABLE)
        .where(exp.and_(
            exp.EQ(this=col("dataset_id"), expression=exp.Literal.string(dataset_id)),
            exp.EQ(this=exp.func("LOWER", col("tag_name")), expression=exp.Literal.string(PII_TAG)),
            exp.Not(this=exp.Is(this=col("column_name"), expression=exp.null())),
        ))
        .order_by(col("created_ts"), col("tag_id"))
    )


def policy_from(rows: list[dict]) -> dict[str, str]:
    """Column -> PII kind from ``pii_tags`` rows in their order (a later tag of a column wins)."""
    return {r["column_name"]: (r["tag_value"] or "unknown") for r in rows}


def mask_frame(frame: pd.DataFrame, policy: Mapping[str, str]) -> pd.DataFrame:
    """A copy of ``frame`` with every column in ``policy`` masked by its kind; other columns untouched.

    Column names match case-insensitively, as they do in Databricks SQL.
    """
    kinds = {column.lower(): kind for column, kind in policy.items()}
    out = frame.copy()
    for column in out.columns:
        key = str(column).lower()
        if key in kinds:
            out[column] = out[column].map(masker(kinds[key])).astype(object)
    return out
