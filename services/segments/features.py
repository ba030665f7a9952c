"""Metadata of the gold customer features: the feature catalog's static half.

It is read from the gold model's contract, ``sql/models/gold/gold_customer_features.yml``:
every column with a ``feature`` block is a feature, in the file's ``catalog_order``;
its description is the column's, its type and whether it is a whole number follow
from the column's SQL type, and a picker's values (the named RFM segments, the
lifecycle stages) are the column's documented ``values``. Adding a gold feature is
the model's SQL, its DDL and one entry in that file. The build writes the feature
catalog table from this, the gold table's actual columns and value domains computed
from the data (``catalog_writer.py``); the app reads it back (``catalog.py``), and the
Segment Builder's field picker, operator picker and value widgets all come from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.pipeline.contracts import Column, contract

NUMBER_OPS = ("gte", "lte", "between", "eq", "ne", "gt", "lt", "is_null", "is_not_null")
CATEGORY_OPS = ("in", "not_in", "is_null", "is_not_null")
BOOLEAN_OPS = ("is_true", "is_false", "is_null", "is_not_null")
DATE_OPS = ("within_last_days", "before", "after", "between", "is_null", "is_not_null")
OPS_BY_TYPE = {"number": NUMBER_OPS, "category": CATEGORY_OPS, "boolean": BOOLEAN_OPS, "date": DATE_OPS}

#: a column's SQL type (without its precision) -> (feature type, whole number)
_BY_SQL_TYPE = {
    "int": ("number", True), "bigint": ("number", True), "decimal": ("number", False), "double": ("number", False),
    "string": ("category", False), "boolean": ("boolean", False), "date": ("date", False),
}


@dataclass(frozen=True)
class FeatureMeta:
    name: str
    label: str
    description: str
    type: str
    group: str
    unit: str | None = None
    integer: bool = False
    pii: bool = False
    picker: str | None = None

    @property
    def operators(self) -> tuple[str, ...]:
        return OPS_BY_TYPE[self.type]


_GOLD = contract("gold_customer_features")


def _feature(column: Column) -> FeatureMeta:
    sql_type = (column.type or "").split("(")[0].strip().lower()
    if sql_type not in _BY_SQL_TYPE:
        raise ValueError(f"{_GOLD.path}: feature {column.name} has SQL type {column.type!r}; "
                         f"a feature is one of {sorted(_BY_SQL_TYPE)}")
    kind, integer = _BY_SQL_TYPE[sql_type]
    meta = column.feature
    return FeatureMeta(column.name, meta["label"], column.description, kind, meta["group"], meta.get("unit"),
                       integer, picker=meta.get("picker"))


FEATURES: tuple[FeatureMeta, ...] = tuple(_feature(_GOLD.column(name)) for name in _GOLD.catalog_order)
FEATURES_BY_NAME = {f.name: f for f in FEATURES}
PICKER_ORDER = {f.name: tuple(_GOLD.column(f.name).values) for f in FEATURES if f.picker}
# The standard named RFM map, best first (see sql/models/gold/gold_customer_features.sql), and
# the lifecycle stages: each value with what it means.
RFM_SEGMENTS = dict(_GOLD.column("rfm_segment").values)
LIFECYCLE_STAGES = dict(_GOLD.column("lifecycle_stage").values)
