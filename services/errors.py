"""One error hierarchy for the whole app.

::

    SegmentStudioError            root: pages catch this and show it with st.error
    ├── ConfigError               bad settings or environment
    ├── SpecError                 a segment definition or input that is invalid
    │   └── ImportFileError       a transaction file that cannot be read at all
    ├── CompileError              a valid definition that cannot become SQL
    ├── WarehouseError            the engine failed (translated driver errors)
    │   ├── WarehouseUnavailableError  cannot reach or sign in to the engine (cold, down, token expired)
    │   ├── QueryError            the engine ran the statement and refused it (syntax, grants, timeout)
    │   └── ReconciliationError   raw -> fact counts or checksums do not match
    ├── ExportError               an export job failed
    └── PermissionDeniedError     the role does not allow the action

Driver exceptions are translated at the boundary (``raise WarehouseError(...)
from exc``); nothing else catches broadly.
"""

from __future__ import annotations


class SegmentStudioError(Exception):
    """Root of every error the app raises on purpose."""


class ConfigError(SegmentStudioError):
    """Settings or environment that the app cannot work with."""


class SpecError(SegmentStudioError):
    """An invalid definition, field, value or argument supplied by a user."""


class ImportFileError(SpecError):
    """A transaction file that cannot be read at all (missing, wrong columns)."""


class CompileError(SegmentStudioError):
    """A definition that is valid on its own but cannot be compiled to SQL."""


class WarehouseError(SegmentStudioError):
    """A query or load failed in the engine."""


class WarehouseUnavailableError(WarehouseError):
    """The engine could not be reached or signed in to within the configured bounds."""


class QueryError(WarehouseError):
    """The engine was reached but refused or cancelled the statement."""


class ReconciliationError(WarehouseError):
    """Source and target row counts or checksums disagree after a load."""


class ExportError(SegmentStudioError):
    """An export job failed."""


class PermissionDeniedError(SegmentStudioError):
    """The user's role does not allow the action."""
