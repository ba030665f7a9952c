"""The kinds of condition a segment rule is made of, one module each, found by name in ``KINDS``.

* ``trait``: a gold customer feature compared with a value;
* ``behavior``: how often or how much a customer bought, with filters and a window;
* ``membership``: in another saved segment, a cluster of a clustering run, or a
  lookalike expansion at a reach.

Each module holds its frozen spec dataclass and a ``KIND`` entry (``base.ConditionKind``):
how it is read from JSON, checked against the feature catalog, compiled (its own small
compiler pass) and drawn at random for the cross-engine tests. The definition's JSON
(``spec.py``), the compiler's group pass and the Builder's editors
(``components/rule_editor.py``, ``EDITORS``) look a kind up here by its name. A group
(``spec.Group``) is not a kind: it is the structure that holds conditions.

Adding a kind: a module here with its spec and ``KIND``, its entry below, its editor in
``EDITORS``, its golden pairs in ``tests/services/segments/test_compiler.py`` and a
section in ``docs/segment-spec.md``.
"""

from __future__ import annotations

from services.segments.conditions import behavior, membership, trait
from services.segments.conditions.base import Condition, ConditionKind, Draw

KINDS: dict[str, ConditionKind] = {k.name: k for k in (trait.KIND, behavior.KIND, membership.KIND)}

__all__ = ["KINDS", "Condition", "ConditionKind", "Draw"]
