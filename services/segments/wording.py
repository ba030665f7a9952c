"""How a condition reads to a marketer: labels and amounts, not column names and ids.

``describe()`` on a condition is its exact, technical reading (field names, ids; the
CLI, errors and the stored SQL use it). ``phrase(names)`` is what the Builder shows in
its waterfall and rule text: the feature's label from the catalog ("Net spend", not
``monetary``), amounts with their unit ("$500", "60%", "30 days"), category values
without underscores ("at risk"), and saved segments, runs and models by name. Each kind
of condition has its own ``phrase``; ``Names`` carries what the rule names by id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from services.segments.features import FEATURES_BY_NAME


@dataclass(frozen=True)
class Names:
    """What a person calls what a rule names by id: saved segments (``segments``) and saved
    clustering runs and lookalike models (``targets``); an unknown id is shown as it is."""

    segments: Mapping[str, str] = field(default_factory=dict)
    targets: Mapping[str, str] = field(default_factory=dict)

    def segment(self, segment_id: str) -> str:
        return self.segments.get(segment_id, segment_id)

    def target(self, target_id: str) -> str:
        return self.targets.get(target_id, target_id)


def label(name: str) -> str:
    """A feature's label ("Net spend" for ``monetary``); a column that is not a feature reads without underscores."""
    meta = FEATURES_BY_NAME.get(name)
    return meta.label if meta else human(name).capitalize()


def human(value) -> str:
    """A category value as text a person reads: ``at_risk`` -> "at risk"."""
    return str(value).replace("_", " ")


def number(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


def amount(value, unit: str | None) -> str:
    """A value with its unit: $1,250.50, 60%, 30 days, 2026-06-01."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value.isoformat() if isinstance(value, date) else human(value)
    if unit == "USD":
        cents = isinstance(value, float) and not value.is_integer()
        return ("-" if value < 0 else "") + "$" + (f"{abs(value):,.2f}" if cents else number(abs(value)))
    if unit == "share":
        return f"{number(round(value * 100, 2))}%"
    if unit in ("days", "orders", "categories"):
        return f"{number(value)} {unit if value != 1 else unit[:-1]}"
    return number(value)


def listing(values, *, joiner: str = "or") -> str:
    """a, b or c."""
    shown = [human(v) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} {joiner} {shown[-1]}"
