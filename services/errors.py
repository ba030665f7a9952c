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
    ├── JobRunError               a Databricks Job run could not start (refused, or one already runs)
    └── PermissionDeniedError     the role does not allow the action

Every error carries ``reason`` (what is wrong, without where) and, when it is about
one condition of a segment's rule, ``path`` (the condition's indices from the rule's
root group: ``(2, 0)`` is the first condition of the third) and ``where`` (how that
place reads to a person: ``rule.conditions[2].conditions[0]``, or ``condition 3
(bought ...)``). ``str(exc)`` is ``where: reason``, for display; code that needs the
place or the reason reads the attributes, never the text.

Driver exceptions are translated at the boundary (``raise WarehouseError(...)
from exc``); nothing else catches broadly.
"""

from __future__ import annotations


class SegmentStudioError(Exception):
    """Root of every error the app raises on purpose."""

    def __init__(self, reason: str = "", *, path: tuple[int, ...] | None = None, where: str | None = None):
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.path = path
        self.where = where

    def at(self, path: tuple[int, ...], *, where: str | None = None) -> SegmentStudioError:
        """The same error about the condition at ``path`` (read as ``where``, if given); raise it ``from`` this one."""
        return type(self)(self.reason, path=tuple(path), where=where)


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


class JobRunError(SegmentStudioError):
    """A Databricks Job run the app asked for could not start: the Jobs API refused, or one already runs."""


class PermissionDeniedError(SegmentStudioError):
    """The user's role does not allow the action."""


def databricks_api_errors() -> tuple[type[BaseException], ...]:
    """What a Databricks SDK call (Files API, Jobs API) raises: its ``DatabricksError`` and network errors.

    Imported when asked (in an ``except`` clause, once a call raised): the SDK takes over a second to
    import, and a local app never needs it.
    """
    from databricks.sdk.errors import DatabricksError

    return (DatabricksError, OSError)
