"""Conventions every service follows, read from the source (see docs/architecture.md).

- A warehouse passed to a function is typed: ``warehouse: Warehouse`` (or one
  concrete engine), so a reader and a type checker know what it can do.
- Options are keyword-only (httpx style): a public function of services/
  takes its defaulted parameters after ``*``. The few defaulted parameters
  that are data rather than options stay positional, named here: the bound
  ``params`` of a query (DB-API), the ``version`` that picks a saved object,
  the ``dialect`` a tree renders in (as sqlglot's own ``sql``), ``argv``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSITIONAL_DATA = {"params", "version", "dialect", "argv"}
WAREHOUSE_TYPES = {"Warehouse", "DuckDBWarehouse", "DatabricksWarehouse", "SparkWarehouse", "LoggedWarehouse"}


def _functions(*folders: str):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield path.relative_to(ROOT), node


def test_every_warehouse_parameter_is_typed():
    untyped = [f"{path}:{fn.lineno} {fn.name}" for path, fn in _functions("services", "components", "pages", "bench")
               for arg in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
               if arg.arg == "warehouse" and not (arg.annotation is not None
                                                  and ast.unparse(arg.annotation).strip("'\"") in WAREHOUSE_TYPES)]
    assert not untyped, untyped


def test_public_service_functions_take_options_keyword_only():
    positional = []
    for path, fn in _functions("services"):
        if fn.name.startswith("_"):
            continue
        args = fn.args.posonlyargs + fn.args.args
        defaulted = args[len(args) - len(fn.args.defaults):] if fn.args.defaults else []
        positional += [f"{path}:{fn.lineno} {fn.name}({a.arg}=...)" for a in defaulted if a.arg not in POSITIONAL_DATA]
    assert not positional, positional
