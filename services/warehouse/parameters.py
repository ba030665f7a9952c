"""Bound parameters for Databricks SQL: named markers, and lists in IN.

Native parameters bind one scalar (or one ARRAY) per marker, so
``x IN (:ids)`` with a list for ``ids`` cannot be bound as it stands: the
server would compare ``x`` with an array. ``expand_in_lists`` rewrites the
tree instead, one marker per element (``x IN (:ids_0, :ids_1, ...)``), so the
values stay bound parameters and never become SQL text. An empty list makes
the IN predicate false (``x IN ()`` is not valid SQL). A list used anywhere
else (``array_contains(:ids, x)``) is left as one ARRAY parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset))


def _ordered(value: Any) -> list[Any]:
    # Sets have no order; sorting keeps the rendered text (and so the
    # warehouse's query cache and our tests) stable between runs.
    return sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)


def expand_in_lists(tree: exp.Expression, params: Mapping[str, Any] | None) -> tuple[exp.Expression, dict[str, Any]]:
    """``(tree, params)`` with every list bound inside an IN expanded to one marker per element."""
    params = dict(params or {})
    lists = {name for name, value in params.items() if _is_list(value)}
    if not lists:
        return tree, params
    tree = tree.copy()
    expanded: set[str] = set()
    for node in list(tree.find_all(exp.In)):
        markers = node.expressions
        if not any(isinstance(m, exp.Placeholder) and m.name in lists for m in markers):
            continue
        items: list[exp.Expression] = []
        for marker in markers:
            if not (isinstance(marker, exp.Placeholder) and marker.name in lists):
                items.append(marker)
                continue
            name = marker.name
            for i, value in enumerate(_ordered(params[name])):
                params[f"{name}_{i}"] = value
                items.append(exp.Placeholder(this=f"{name}_{i}"))
            expanded.add(name)
        if items:
            node.set("expressions", items)
        else:
            node.replace(exp.false())
    still_used = {p.name for p in tree.find_all(exp.Placeholder)}
    for name in expanded - still_used:
        del params[name]
    return tree, params
