"""The app's audit log: who did what, when, to which object, how many rows, checksum."""

from __future__ import annotations

import json

import pandas as pd

from services import naming
from services.clock import new_id, now
from services.warehouse import Warehouse

AUDIT_TABLE = naming.fq("app", "app_audit_log")


def record(warehouse: Warehouse, *, actor: str, action: str, object_type: str, object_id: str | None = None,
           object_version: int | None = None, row_count: int | None = None, checksum: str | None = None,
           role: str | None = None, details: dict | None = None) -> str:
    audit_id = new_id("audit")
    warehouse.append(AUDIT_TABLE, pd.DataFrame([{
        "audit_id": audit_id, "event_ts": now(), "actor": actor, "role": role, "action": action,
        "object_type": object_type, "object_id": object_id,
        "object_version": object_version, "row_count": row_count, "checksum": checksum,
        "details": json.dumps(details, default=str, sort_keys=True) if details else None,
    }]).astype({"object_version": "Int64", "row_count": "Int64"}))
    return audit_id
