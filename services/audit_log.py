"""The app's audit log: who did what, when, to which object, how many rows, checksum.

An action and its audit row land together or not at all: ``entry`` is the row
as a transaction step, for a caller to put in the same ``warehouse.transaction``
as the change it records; ``record`` writes a row on its own, for actions whose
change is already whole (a finished export's outcome, a download).
"""

from __future__ import annotations

import json

import pandas as pd

from services import naming
from services.clock import new_id, now
from services.warehouse import Rows, Warehouse

AUDIT_TABLE = naming.fq("app", "app_audit_log")


def entry(*, actor: str, action: str, object_type: str, object_id: str | None = None,
          object_version: int | None = None, row_count: int | None = None, checksum: str | None = None,
          role: str | None = None, details: dict | None = None) -> Rows:
    """One audit row, as a step of a transaction."""
    return Rows(AUDIT_TABLE, pd.DataFrame([{
        "audit_id": new_id("audit"), "event_ts": now(), "actor": actor, "role": role, "action": action,
        "object_type": object_type, "object_id": object_id,
        "object_version": object_version, "row_count": row_count, "checksum": checksum,
        "details": json.dumps(details, default=str, sort_keys=True) if details else None,
    }]).astype({"object_version": "Int64", "row_count": "Int64"}))


def record(warehouse: Warehouse, *, actor: str, action: str, object_type: str, object_id: str | None = None,
           object_version: int | None = None, row_count: int | None = None, checksum: str | None = None,
           role: str | None = None, details: dict | None = None) -> str:
    row = entry(actor=actor, action=action, object_type=object_type, object_id=object_id,
                object_version=object_version, row_count=row_count, checksum=checksum, role=role, details=details)
    warehouse.append(row.table, row.data)
    return str(row.data["audit_id"].iloc[0])
