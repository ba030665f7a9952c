"""The Segment Builder's draft: everything being edited, under one session key.

Streamlit forgets the state of a page's widgets when the user goes to another page,
so the draft does not live in widget keys: it lives in one object under ``KEY``
(the rule tree, name, description, holdout, and which segment and version it came
from), and the widgets are fed from it (``seed``) and write back to it on every
rerun. Leaving the Builder and coming back finds the whole draft, and a save never
writes a field the user did not touch as blank.

``saved`` is the definition as it was loaded or last saved: the draft has unsaved
changes when what the user is editing differs from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from components import rule_state
from services.segments.library import SavedVersion
from services.segments.spec import SegmentDefinition

KEY = "builder_draft"
UNTITLED = "Untitled segment"
DEFAULT_CONTROL_PCT = 10.0
#: the widgets fed from the draft: widget key -> the draft's attribute
WIDGETS = {"builder_name": "name", "builder_description": "description", "builder_split_on": "split_on",
           "builder_control_pct": "control_pct", "builder_control_pct_box": "control_pct",
           "builder_version_pick": "version"}


@dataclass
class Draft:
    rule: dict = field(default_factory=lambda: rule_state.with_ids({"kind": "group", "match": "all", "conditions": []}))
    name: str = UNTITLED
    description: str = ""
    split_on: bool = False
    control_pct: float = DEFAULT_CONTROL_PCT
    segment_id: str | None = None
    #: the version the draft was loaded from (None: not saved yet)
    version: int | None = None
    latest_version: int | None = None
    is_sample: bool = False
    #: the definition as loaded or last saved (None: a new draft)
    saved: SegmentDefinition | None = None

    def data(self) -> dict:
        """The JSON form of what is being edited (a blank name stays blank: saving asks for one)."""
        out = {"name": self.name.strip() or UNTITLED, "description": self.description,
               "rule": rule_state.strip_ids(self.rule)}
        if self.split_on:
            pct = float(self.control_pct)
            out["split"] = {"control_pct": pct, "arms": [{"name": "treatment", "share_pct": 100.0 - pct}]}
        return out

    def changed(self, definition: SegmentDefinition, *, complete: bool) -> bool:
        """Whether ``definition`` (the draft as compiled) differs from what was loaded or saved."""
        if self.saved is None:
            return bool(self.rule["conditions"]) or self.name != UNTITLED or bool(self.description) or self.split_on
        return not complete or definition != self.saved or self.name != self.saved.name


    @property
    def restoring(self) -> bool:
        """An older version is open: saving it as a new version restores it."""
        return bool(self.segment_id) and (self.version or 0) < (self.latest_version or 0)

    def status(self, *, changed: bool) -> str:
        if changed:
            return "● Unsaved changes"
        if self.restoring:
            return f"Version {self.version} of {self.latest_version}: save it as a new version to restore it"
        return f"All changes saved as version {self.version}" if self.segment_id else "Nothing to save yet"


def current() -> Draft:
    """This session's draft (a new, empty one the first time)."""
    if KEY not in st.session_state:
        st.session_state[KEY] = Draft()
    return st.session_state[KEY]


def seed() -> None:
    """Give each of the draft's widgets its value from the draft, where Streamlit has forgotten it."""
    draft = current()
    for key, attribute in WIDGETS.items():
        if key not in st.session_state:
            st.session_state[key] = getattr(draft, attribute)


def _replace(draft: Draft) -> None:
    st.session_state[KEY] = draft
    for key, attribute in WIDGETS.items():  # the widgets show the new draft, not the old one's state
        st.session_state[key] = getattr(draft, attribute)


def from_definition(definition: SegmentDefinition, **where) -> Draft:
    split = definition.split
    return Draft(rule=rule_state.with_ids(definition.to_dict()["rule"]), name=definition.name,
                 description=definition.description, split_on=split is not None,
                 control_pct=float(split.control_pct) if split else DEFAULT_CONTROL_PCT, **where)


def load(saved: SavedVersion, *, latest_version: int, is_sample: bool) -> None:
    """Edit a saved version."""
    _replace(from_definition(saved.definition, segment_id=saved.segment_id, version=saved.version,
                             latest_version=latest_version, is_sample=is_sample, saved=saved.definition))


def open_unsaved(definition: SegmentDefinition) -> None:
    """Edit ``definition`` as a new, unsaved draft (found on a discovery page)."""
    _replace(from_definition(definition))


def new() -> None:
    """An empty draft (a button's callback)."""
    _replace(Draft())
    st.query_params.pop("segment", None)
    st.query_params.pop("version", None)


def saved_as(saved: SavedVersion) -> None:
    """The draft is now ``saved``: its segment and version, and nothing unsaved."""
    draft = current()
    draft.segment_id, draft.version, draft.latest_version = saved.segment_id, saved.version, saved.version
    draft.is_sample, draft.saved = False, saved.definition
    # The version picker was drawn for the old version: forget it, so the next run draws the new one.
    st.session_state.pop("builder_version_pick", None)
