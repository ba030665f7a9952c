"""Load the project's SQL files (Databricks dialect) and render them for an engine.

SQL lives in ``sql/``; Python never pastes SQL together. A file is parsed with
sqlglot as Databricks SQL and rendered for the target engine at the last step.
Databricks keeps PRIMARY KEY / FOREIGN KEY as informational constraints; DuckDB
would enforce them (slowly, and refusing TRUNCATE on referenced tables), so the
DuckDB rendering drops them and the data-quality checks verify keys instead.

A rule several models share is written once as an ephemeral model, dbt style: a
query in ``sql/models/ephemeral/<name>.sql`` that is never a table. A statement
that reads the unqualified table ``<name>`` gets that query as a CTE in front of
its own (every real table is schema-qualified, so the two cannot be confused).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import exp

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
CANONICAL = "databricks"
EPHEMERAL_DIR = "models/ephemeral"


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
    """The single statement of a model or audit file, as a fresh tree to build on,
    with the ephemeral models it reads in front of its CTEs."""
    trees = parse(relative)
    if len(trees) != 1:
        raise ValueError(f"sql/{relative} holds {len(trees)} statements; a model holds exactly one")
    return _with_ephemeral(trees[0].copy())


def ephemeral_models(tree: exp.Expression) -> list[str]:
    """Names of the ephemeral models a statement reads, in order of first use."""
    defined = {cte.alias for cte in tree.find_all(exp.CTE)}
    names: list[str] = []
    for t in tree.find_all(exp.Table):
        if not t.db and t.name not in defined and t.name not in names \
                and (SQL_DIR / EPHEMERAL_DIR / f"{t.name}.sql").is_file():
            names.append(t.name)
    return names


def _inlined(name: str) -> list[exp.CTE]:
    """The CTEs that stand for ephemeral model ``name``: its own CTEs, renamed
    ``<name>__<cte>`` so that they cannot clash with the reader's (engines that
    take no nested WITH get it flattened anyway), then ``<name>`` itself."""
    body = query(f"{EPHEMERAL_DIR}/{name}.sql")
    inner = list(body.args["with_"].expressions) if body.args.get("with_") else []
    body.set("with_", None)
    renamed = {cte.alias: f"{name}__{cte.alias}" for cte in inner}
    for part in (body, *(cte.this for cte in inner)):
        for t in part.find_all(exp.Table):
            if not t.db and t.name in renamed:
                if not t.alias:
                    t.set("alias", exp.TableAlias(this=exp.to_identifier(t.name)))
                t.set("this", exp.to_identifier(renamed[t.name]))
    return [*(exp.CTE(this=cte.this, alias=exp.TableAlias(this=exp.to_identifier(renamed[cte.alias])))
              for cte in inner),
            exp.CTE(this=body, alias=exp.TableAlias(this=exp.to_identifier(name)))]


def _with_ephemeral(tree: exp.Expression) -> exp.Expression:
    ctes = [cte for name in ephemeral_models(tree) for cte in _inlined(name)]
    if not ctes:
        return tree
    existing = tree.args.get("with_")
    if existing is None:
        tree.set("with_", exp.With(expressions=ctes))
    else:
        existing.set("expressions", ctes + list(existing.expressions))
    return tree


def placeholders(tree: exp.Expression) -> set[str]:
    """Names of the bound parameters (``:name``) a statement uses."""
    return {p.name for p in tree.find_all(exp.Placeholder) if p.name}


@cache
def _rendered(relative: str, dialect: str) -> tuple[str, ...]:
    return tuple(render(t, dialect) for t in parse(relative))


def statements(relative: str, dialect: str) -> list[str]:
    """Every statement of a SQL file rendered for ``dialect`` (rendered once per process)."""
    return list(_rendered(relative, dialect))
