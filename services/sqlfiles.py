"""Load the project's SQL files (Databricks dialect) and render them for an engine.

SQL lives in ``sql/``; Python never pastes SQL together. A file is parsed with
sqlglot as Databricks SQL and rendered for the target engine at the last step.
Databricks keeps PRIMARY KEY / FOREIGN KEY as informational constraints; DuckDB
would enforce them (slowly, and refusing TRUNCATE on referenced tables), so the
DuckDB rendering drops them and the data-quality checks verify keys instead.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import exp

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
CANONICAL = "databricks"


@cache
def read(relative: str) -> str:
    """The text of ``sql/<relative>``."""
    path = SQL_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file {path}")
    return path.read_text(encoding="utf-8")


@cache
def parse(relative: str) -> tuple[exp.Expression, ...]:
    """Every statement of a SQL file as sqlglot trees (Databricks dialect)."""
    statements = sqlglot.parse(read(relative), read=CANONICAL)
    return tuple(s for s in statements if s is not None)


def drop_key_constraints(tree: exp.Expression) -> exp.Expression:
    """A copy of a CREATE TABLE without its PRIMARY KEY / FOREIGN KEY clauses."""
    tree = tree.copy()
    schema = tree.this if isinstance(tree, exp.Create) else None
    if isinstance(schema, exp.Schema):
        schema.set(
            "expressions",
            [
                e
                for e in schema.expressions
                if not isinstance(e, (exp.Constraint, exp.PrimaryKey, exp.ForeignKey))
            ],
        )
    return tree


def render(tree: exp.Expression, dialect: str, *, comments: bool = False) -> str:
    """Render one statement for ``dialect`` (``databricks``, ``duckdb`` or ``spark``).

    Comments are documentation for readers of the files; they are left out of
    what is sent to an engine unless asked for.
    """
    if dialect == "duckdb" and isinstance(tree, exp.Create):
        tree = drop_key_constraints(tree)
    return tree.sql(dialect=dialect, comments=comments)


def query(relative: str) -> exp.Expression:
    """The single statement of a model or audit file, as a fresh tree to build on."""
    trees = parse(relative)
    if len(trees) != 1:
        raise ValueError(f"sql/{relative} holds {len(trees)} statements; a model holds exactly one")
    return trees[0].copy()


def placeholders(tree: exp.Expression) -> set[str]:
    """Names of the bound parameters (``:name``) a statement uses."""
    return {p.name for p in tree.find_all(exp.Placeholder) if p.name}


@cache
def _rendered(relative: str, dialect: str) -> tuple[str, ...]:
    return tuple(render(t, dialect) for t in parse(relative))


def statements(relative: str, dialect: str) -> list[str]:
    """Every statement of a SQL file rendered for ``dialect`` (rendered once per process)."""
    return list(_rendered(relative, dialect))
