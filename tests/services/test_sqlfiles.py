"""Ephemeral models: a shared rule written once is put in front of every statement that reads it."""

from __future__ import annotations

from services import sqlfiles

READERS = ("models/silver/silver_fact_transactions.sql", "models/silver/silver_fact_settlements.sql",
           "reconcile/missing_exchange_rates.sql")


def _ctes(relative: str) -> list[str]:
    return [cte.alias for cte in sqlfiles.query(relative).args["with_"].expressions]


def test_a_statement_that_reads_an_ephemeral_model_gets_it_as_its_first_ctes():
    own_ctes = {"exchange_rate_periods": ["published", "final"], "raw_transaction_postings": ["raw", "final"]}
    for relative in READERS:
        models = sqlfiles.ephemeral_models(sqlfiles.parse(relative)[0])
        assert "exchange_rate_periods" in models
        own = [cte.alias for cte in sqlfiles.parse(relative)[0].args["with_"].expressions]
        # each ephemeral model's own CTEs are renamed, so a reader's "final" cannot clash with its "final"
        inlined = [name for model in models for name in (*(f"{model}__{c}" for c in own_ctes[model]), model)]
        assert _ctes(relative) == [*inlined, *own]
    assert sqlfiles.ephemeral_models(sqlfiles.parse(READERS[0])[0]) == ["raw_transaction_postings",
                                                                       "exchange_rate_periods"]


def test_a_statement_that_reads_none_is_left_as_it_is():
    relative = "models/gold/gold_customer_features.sql"
    assert sqlfiles.ephemeral_models(sqlfiles.parse(relative)[0]) == []
    assert sqlfiles.query(relative) == sqlfiles.parse(relative)[0]


def test_the_inlined_query_renders_flat_for_every_engine():
    tree = sqlfiles.query("models/silver/silver_fact_settlements.sql")
    for dialect in ("databricks", "spark", "duckdb"):
        text = sqlfiles.render(tree, dialect)
        assert text.count("WITH ") == 1, dialect
        assert "FROM exchange_rate_periods__published AS published" in text
