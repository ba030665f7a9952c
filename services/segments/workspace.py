"""One way to compile a segment, and one way to save one, on a warehouse.

A ``Workspace`` holds what compiling needs: the feature catalog (read at most once,
when first needed, unless the caller has it already), the segment library that
resolves saved segments, and the segment key (a saved segment's id, or
``draft:<name>``). The saved clustering runs and lookalike models are read only when
a rule has a membership condition (a saved segment it names may name a run or a
model): most rules never need them, and each is a round trip. It compiles each
(definition, segment id) once and keeps the result, so a page rerun or an export
click that asks again gets the same compiled segment. Make one per rerun, click or
command: it does not notice a rebuild or a save that happens while it lives.

``save_segment`` is every save in the app: permission, compile, count, then the
library's save, which writes the audit row. A sample campaign is a read-only
template: it gets no new versions (save it as a new segment instead). Duplicating and restoring are saves
too, with fresh SQL and a fresh count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from services import rbac
from services.errors import SpecError
from services.segments.catalog import FeatureCatalog, SavedTargets, read_catalog, saved_targets
from services.segments.compiler import CompiledSegment, compile_definition
from services.segments.compiler.draft import Draft, compile_draft
from services.segments.estimate import count
from services.segments.library import SavedVersion, SegmentLibrary, new_segment_id
from services.segments.spec import Group, Membership, SegmentDefinition, walk
from services.warehouse import Warehouse, placement_of


def needs_saved_targets(rule: Group | dict) -> bool:
    """Whether compiling ``rule`` (a group, or its JSON form) may need the saved runs and models.

    Any membership condition may: a saved segment it names may itself name a run or a model.
    """
    if isinstance(rule, Group):
        return any(isinstance(c, Membership) for c in walk(rule))
    if not isinstance(rule, dict):
        return False
    conditions = rule.get("conditions")
    return rule.get("kind") == "membership" or (
        isinstance(conditions, list) and any(needs_saved_targets(c) for c in conditions))


class Workspace:
    """Compiling on one warehouse: its catalog, its library, and the segments compiled so far."""

    def __init__(self, warehouse: Warehouse, *, catalog: FeatureCatalog | None = None,
                 library: SegmentLibrary | None = None, targets: Callable[[], SavedTargets] | None = None):
        self.warehouse = warehouse
        self.library = library or SegmentLibrary(warehouse)
        self._catalog = catalog
        # Where the saved runs and models come from when a rule needs them (the pages pass a cached read).
        self._targets = targets or (lambda: saved_targets(warehouse))
        self._compiled: dict[tuple[SegmentDefinition, str | None], CompiledSegment] = {}
        # An export job's thread may share the workspace of the click that queued it.
        self._lock = threading.Lock()

    @property
    def catalog(self) -> FeatureCatalog:
        """The feature catalog, read on first use (with the saved runs and models only if they were needed)."""
        with self._lock:
            if self._catalog is None:
                self._catalog = read_catalog(self.warehouse)
            return self._catalog

    def catalog_for(self, rule: Group | dict) -> FeatureCatalog:
        """The catalog, knowing the saved runs and models when ``rule`` may name one."""
        catalog = self.catalog
        if catalog.targets_loaded or not needs_saved_targets(rule):
            return catalog
        with self._lock:
            if not self._catalog.targets_loaded:
                self._catalog = self._catalog.with_targets(self._targets())
            return self._catalog

    def compile(self, definition: SegmentDefinition, *, segment_id: str | None = None) -> CompiledSegment:
        """``definition`` compiled with the catalog and the library; ``segment_id`` keys its split."""
        key = (definition, segment_id)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = compile_definition(definition, self.catalog_for(definition.rule),
                                          resolver=self.library.resolver, segment_id=segment_id)
            self._compiled[key] = compiled
        return compiled

    def shown_sql(self, compiled: CompiledSegment, dialect: str = "databricks") -> str:
        """The segment's SQL as shown and saved: in the Databricks dialect it names the tables where
        this warehouse keeps them (its placement), so pasted into the SQL editor it reads the same
        tables; on DuckDB there is no placement and the text is the compiler's own."""
        return compiled.sql(dialect, placement=placement_of(self.warehouse) if dialect == "databricks" else None)

    def compile_draft(self, data: dict, *, segment_id: str | None = None) -> Draft:
        """The Builder's compile of the JSON form it edits: incomplete conditions left out and named."""
        rule = data.get("rule", {}) if isinstance(data, dict) else {}
        draft = compile_draft(data, self.catalog_for(rule), resolver=self.library.resolver, segment_id=segment_id)
        self._compiled.setdefault((draft.definition, segment_id), draft.compiled)
        return draft

    def compile_saved(self, segment_id: str, version: int | None = None) -> tuple[SavedVersion, CompiledSegment]:
        """A saved segment (its latest version by default) and its compiled form, keyed by its id."""
        saved = self.library.get(segment_id, version)
        return saved, self.compile(saved.definition, segment_id=segment_id)


def save_segment(workspace: Workspace, definition: SegmentDefinition, *, author: str, role: str,
                 segment_id: str | None = None, note: str = "", new_id: str | None = None,
                 is_sample: bool = False, brief: dict | None = None, action: str = "segment.save") -> SavedVersion:
    """Save ``definition`` as a new segment (no ``segment_id``; ``new_id`` or a fresh id) or as a new
    version of ``segment_id``, with its Databricks SQL and audience size, if ``role`` may save."""
    rbac.require(role, "save_segments")
    if segment_id is not None and workspace.library.info(segment_id).get("is_sample"):
        # The samples are the same for everyone: a marketer's changes start a segment of their own.
        raise SpecError(f"{segment_id} is a sample campaign, a read-only template: save it as a new segment")
    if segment_id is None:
        new_id = new_id or new_segment_id()
        # The key only seeds the split: the draft's compiled form serves, under the id it will have.
        compiled = replace(workspace.compile(definition), segment_key=new_id)
    else:
        compiled = workspace.compile(definition, segment_id=segment_id)
    return workspace.library.save(
        definition, author=author, role=role, segment_id=segment_id, new_id=new_id, note=note,
        sql_databricks=workspace.shown_sql(compiled, "databricks"), audience_size=count(workspace.warehouse, compiled),
        as_of_date=compiled.as_of, is_sample=is_sample, brief=brief, action=action)


def duplicate_segment(workspace: Workspace, segment_id: str, *, author: str, role: str,
                      name: str | None = None) -> SavedVersion:
    """A new segment with the latest definition of ``segment_id`` (named "<name> (copy)" by default)."""
    source = workspace.library.get(segment_id)
    definition = replace(source.definition, name=name or f"{source.definition.name} (copy)")
    return save_segment(workspace, definition, author=author, role=role, action="segment.duplicate",
                        note=f"duplicated from {segment_id} v{source.version}")


def restore_segment(workspace: Workspace, segment_id: str, version: int, *, author: str, role: str) -> SavedVersion:
    """A new version of ``segment_id`` with the definition of ``version``."""
    old = workspace.library.get(segment_id, version)
    return save_segment(workspace, old.definition, author=author, role=role, segment_id=segment_id,
                        note=f"restored from v{version}", action="segment.restore")
