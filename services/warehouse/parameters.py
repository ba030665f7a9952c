"""Bound parameters for Databricks SQL: named markers, and lists in IN.

Native parameters bind one scalar (or one ARRAY) per marker, and a statement
may carry at most 255 of them ("A query executed with native parameters can
contain at most 255 parameter markers", databricks-sql-python v4.4.0
docs/parameters.md § Limitations; the server's own message says 256). So
``x IN (:ids)`` with a list for ``ids`` is not expanded to one marker per
element, which a few hundred ids would push over the limit: it becomes
``ARRAY_CONTAINS(:ids, x)`` with the whole list bound as one ARRAY parameter
(the connector sends a Python list as one ``ArrayParameter``,
databricks-sql-connector==4.9.0:databricks/sql/parameters/native.py
``dbsql_parameter_from_primitive``). The values stay bound parameters and
never become SQL text. An empty list makes the IN predicate false (an empty
array has no element type to bind). A list used anywhere else
(``array_contains(:ids, x)`` written by hand) is left as it is.

Keep a list's elements of one Python type: the connector infers each
element's SQL type on its own (an int past the INT range becomes BIGINT).
Sets have no order and are bound sorted, so the same set gives the same
parameters (and the warehouse's result cache a hit) on every call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset))


def _ordered(value: Any) -> list[Any]:
    return sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)


def lists_as_arrays(tree: exp.Expression, params: Mapping[str, Any] | None) -> tuple[exp.Expression, dict[str, Any]]:
    """``(tree, params)`` with every list bound inside an IN turned into one ARRAY parameter.

    ``x IN (:ids)`` becomes ``ARRAY_CONTAINS(:ids, x)``; an IN mixing scalar
    markers and lists becomes their OR; every list value is bound as a list.
    """
    params = dict(params or {})
    lists = {name for name, value in params.items() if _is_list(value)}
    if not lists:
        return tree, params
    for name in lists:
        params[name] = _ordered(params[name])
    tree = tree.copy()
    for node in list(tree.find_all(exp.In)):
        markers = node.expressions
        listed = [m for m in markers if isinstance(m, exp.Placeholder) and m.name in lists]
        if not listed:
            continue
        scalars = [m for m in markers if m not in listed]
        alternatives: list[exp.Expression] = []
        if scalars:
            alternatives.append(exp.In(this=node.this.copy(), expressions=scalars))
        alternatives += [exp.ArrayContains(this=exp.Placeholder(this=m.name), expression=node.this.copy())
                         for m in listed if params[m.name]]
        if not alternatives:
            node.replace(exp.false())
        else:
            node.replace(alternatives[0] if len(alternatives) == 1 else exp.paren(exp.or_(*alternatives), copy=False))
    still_used = {p.name for p in tree.find_all(exp.Placeholder)}
    for name in lists - still_used:
        del params[name]
    return tree, params
