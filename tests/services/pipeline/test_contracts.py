"""The contracts beside the models stay true: to the DDL, to the model's SQL, to the feature catalog.

Each model's ``.yml`` documents the columns of its target table in the DDL's
order and types, states the grain its SQL states, names only tables and columns
that exist, and documents the values its SQL can produce; every feature of the
catalog is a documented gold column, and a gold table that lacks one stops the
catalog loudly.
"""

from __future__ import annotations

import re

import pytest
from sqlglot import exp

from services import naming, sqlfiles
from services.errors import CompileError
from services.pipeline import contracts
from services.pipeline.contracts import ALL, Contract, contract, contract_path, downstream, parse_contract
from services.pipeline.models import COMPUTED, DDL_FILES, MODELS, Model, create_all
from services.segments.catalog_writer import write_catalog
from services.segments.features import FEATURES, FEATURES_BY_NAME, LIFECYCLE_STAGES, RFM_SEGMENTS
from services.warehouse.duckdb_engine import DuckDBWarehouse

CONTRACTS = contracts.contracts()
IDS = [c.model for c in CONTRACTS]
#: the contracts of the SQL models (the tables computed in Python have no SQL to hold them to)
SQL_CONTRACTS = [c for c in CONTRACTS if c.model in {m.name for m in MODELS}]
SQL_IDS = [c.model for c in SQL_CONTRACTS]
GOLD = "gold_customer_features"


def _ddl() -> dict[str, list[tuple[str, str]]]:
    """source.table -> [(column, type)] of every table the DDL creates."""
    tables = {}
    for path in DDL_FILES:
        for tree in sqlfiles.parse(path):
            if isinstance(tree, exp.Create) and tree.kind == "TABLE":
                name = tree.this.this
                source = name.db.removeprefix(naming.PREFIX + "_")
                tables[f"{source}.{naming.short(name.name)}"] = [
                    (c.name, c.args["kind"].sql("databricks").lower())
                    for c in tree.this.expressions if isinstance(c, exp.ColumnDef)]
    return tables


DDL = _ddl()


def _outputs(tree: exp.Expression, ctes: dict[str, exp.Expression]) -> list[str]:
    """The names a query's SELECT produces, following ``select *`` into the CTE it reads."""
    if isinstance(tree, exp.Union):
        return _outputs(tree.left, ctes)
    if len(tree.expressions) == 1 and isinstance(tree.expressions[0], exp.Star):
        return _outputs(ctes[tree.args["from_"].this.name], ctes)
    return [e.alias_or_name for e in tree.expressions]


def _model_outputs(model: Model) -> list[str]:
    tree = sqlfiles.query(model.path)
    ctes = {cte.alias: cte.this for cte in tree.args["with_"].expressions}
    return _outputs(tree, ctes)


def _header_grain(model: Model) -> str:
    """The first sentence after ``-- grain:`` in the model's header comment."""
    lines = sqlfiles.read(model.path).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-- grain:"))
    text = [lines[start].removeprefix("-- grain:")]
    for line in lines[start + 1:]:
        if not line.startswith("--") or not line.strip("- "):
            break
        text.append(line.removeprefix("--"))
    return re.split(r"(?<=\.)\s", " ".join(" ".join(text).split()), maxsplit=1)[0]


# -- one contract per model ------------------------------------------------------------
def test_every_model_file_has_a_contract_and_every_contract_a_model():
    sql = {str(p.relative_to(sqlfiles.SQL_DIR)) for layer in ("silver", "gold")
           for p in (sqlfiles.SQL_DIR / "models" / layer).glob("*.sql")}
    yml = {str(p.relative_to(sqlfiles.SQL_DIR)) for layer in ("silver", "gold")
           for p in (sqlfiles.SQL_DIR / "models" / layer).glob("*.yml")}
    assert sql == {m.path for m in MODELS}
    assert yml == {contract_path(m) for m in (*MODELS, *COMPUTED)}
    assert [c.model for c in CONTRACTS] == [m.name for m in (*MODELS, *COMPUTED)]


@pytest.mark.parametrize("found", CONTRACTS, ids=IDS)
def test_contract_documents_the_target_table_column_by_column_in_order(found: Contract):
    table = DDL[found.ref]
    assert found.names == tuple(name for name, _ in table)
    assert all(c.description for c in found.columns)
    assert [(c.name, c.type) for c in found.columns if c.type] == [(n, t) for n, t in table if found.column(n).type]


@pytest.mark.parametrize("found", SQL_CONTRACTS, ids=SQL_IDS)
def test_model_sql_produces_exactly_the_documented_columns(found: Contract):
    model = next(m for m in MODELS if m.name == found.model)
    assert sorted(_model_outputs(model)) == sorted(found.names)


@pytest.mark.parametrize("found", SQL_CONTRACTS, ids=SQL_IDS)
def test_contract_grain_is_the_grain_the_sql_states(found: Contract):
    model = next(m for m in MODELS if m.name == found.model)
    assert found.grain == _header_grain(model)


@pytest.mark.parametrize("found", CONTRACTS, ids=IDS)
def test_lineage_and_relationships_name_real_tables_and_columns(found: Contract):
    for column in found.columns:
        for ref in column.derived_from:
            table, name = ref.rsplit(".", 1)
            assert name in dict(DDL[table]), f"{found.model}.{column.name} derives from unknown {ref}"
    for test in found.all_tests():
        if test.kind == "relationships":
            assert test.options["field"] in dict(DDL[test.options["to"]])
            if test.options.get("current"):
                assert test.options["current"] in dict(DDL[test.options["to"]])
        for ref in test.affects or ():
            assert ref == ALL or ref.rsplit(".", 1)[0] in DDL


def _case_literals(model: Model, column: str) -> set[str]:
    tree = sqlfiles.query(model.path)
    final = next(cte.this for cte in tree.args["with_"].expressions if cte.alias == "final")
    (case,) = [e.this for e in final.expressions if e.alias == column]
    return {lit.name for lit in case.find_all(exp.Literal) if lit.is_string}


@pytest.mark.parametrize("column", ["rfm_segment", "lifecycle_stage"])
def test_documented_values_are_exactly_what_the_gold_model_can_produce(column):
    model = next(m for m in MODELS if m.name == GOLD)
    assert _case_literals(model, column) == set(contract(GOLD).column(column).values)


# -- the feature catalog ---------------------------------------------------------------
def test_every_catalog_feature_is_a_documented_gold_column_with_its_ddl_type():
    gold = contract(GOLD)
    ddl = dict(DDL[gold.ref])
    for feature in FEATURES:
        column = gold.column(feature.name)
        assert column.feature is not None and feature.description == column.description
        kind = ddl[feature.name].split("(")[0]
        assert feature.type == {"int": "number", "bigint": "number", "decimal": "number", "double": "number",
                                "string": "category", "boolean": "boolean", "date": "date"}[kind]
        assert feature.integer == (kind in ("int", "bigint"))


def test_catalog_keeps_its_order_pickers_and_value_meanings():
    assert [f.name for f in FEATURES[:3]] == ["rfm_segment", "lifecycle_stage", "recency_days"]
    assert FEATURES_BY_NAME["monetary"].unit == "USD" and not FEATURES_BY_NAME["monetary"].integer
    assert FEATURES_BY_NAME["frequency"].integer and FEATURES_BY_NAME["frequency"].type == "number"
    assert FEATURES_BY_NAME["rfm_segment"].picker == "rfm_segment"
    assert list(RFM_SEGMENTS)[:2] == ["Champions", "Loyal"] and list(RFM_SEGMENTS)[-1] == "Lost"
    assert list(LIFECYCLE_STAGES) == ["new", "active", "reactivated", "at_risk", "lapsed"]
    assert LIFECYCLE_STAGES["lapsed"] == "Last purchase 180 or more days ago"
    # no PII in gold, and the grain's key is not a feature to filter on
    assert not any(f.pii for f in FEATURES) and "customer_id" not in FEATURES_BY_NAME


def test_a_gold_table_without_a_catalog_feature_stops_the_catalog(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    try:
        create_all(warehouse)
        warehouse.execute(f"ALTER TABLE {naming.fq('gold', GOLD)} DROP COLUMN top_channel")
        with pytest.raises(CompileError, match="lists top_channel but the gold table"):
            write_catalog(warehouse, checks=[], build_id="run-test")
    finally:
        warehouse.close()


# -- lineage ---------------------------------------------------------------------------
@pytest.mark.parametrize("ref, expected", [
    pytest.param("gold.gold_customer_features.recency_days",
                 ("r_score", "rfm_cell", "rfm_segment", "lifecycle_stage"), id="gold-column"),
    pytest.param("txn.fact_transactions.amount_usd",
                 ("monetary", "avg_order_value", "m_score", "fm_score", "rfm_cell", "rfm_segment",
                  "spend_30d", "spend_90d", "spend_365d"), id="fact-column"),
    pytest.param("txn.ref_exchange_rates.rate_to_usd",
                 ("monetary", "avg_order_value", "m_score", "fm_score", "rfm_cell", "rfm_segment",
                  "spend_30d", "spend_90d", "spend_365d", "discount_share"), id="through-the-fact"),
    pytest.param("txn.dim_product", ("distinct_categories", "top_category"), id="table-through-the-fact"),
    pytest.param("txn.dim_customer", ("region", "country", "loyalty_tier", "email_opt_in", "sms_opt_in",
                                      "push_opt_in", "gender", "age_band"), id="traits"),
    pytest.param("gold.gold_customer_category_spend", (), id="nothing-derives-from-it"),
])
def test_downstream_follows_derived_from_through_every_contract(ref, expected):
    assert downstream(ref, GOLD) == expected


# -- malformed contracts fail with the file and the place -----------------------------
MODEL = Model("silver_things", "models/silver/silver_things.sql", "txn", "things")
GOOD = """
grain: one row per thing.
columns:
  - {name: id, type: string, description: The thing.}
  - {name: size, type: int, description: How big., derived_from: [id]}
"""


def test_a_minimal_contract_reads():
    found = parse_contract(MODEL, GOOD)
    assert found.grain == "one row per thing." and found.names == ("id", "size")
    assert found.column("size").derived_from == ("txn.things.id",)


@pytest.mark.parametrize("text, message", [
    pytest.param(GOOD + "colour: blue\n", r"top level: unknown keys \['colour'\]", id="unknown-key"),
    pytest.param(GOOD.replace("[id]}", "[id], tests: [{accepted_range: {min: 0, severity: high}}]}"),
                 r"column size tests accepted_range: severity must be one of", id="severity"),
    pytest.param(GOOD.replace("[id]}", "[id], tests: [{freshness: {severity: critical}}]}"),
                 "is a test of the whole table", id="table-test-on-a-column"),
    pytest.param(GOOD + "tests: [{freshness: {hours: 24, severity: critical}}]\n",
                 "needs loaded_at: the column whose newest value dates the data", id="freshness-undated"),
    pytest.param(GOOD + "tests: [{freshness: {loaded_at: txn.things, severity: critical}}]\n",
                 "loaded_at must name a column", id="freshness-dated-by-a-table"),
    pytest.param(GOOD.replace("[id]}", "[id], tests: [{accepted_range: {severity: critical}}]}"),
                 "needs a min, a max or both", id="range-without-bounds"),
    pytest.param(GOOD.replace("[id]}", "[id], tests: [{accepted_values: {severity: critical}}]}"),
                 "accepted_values needs values", id="values-nowhere"),
    pytest.param(GOOD + "tests: [{accepted_range: {min: 0, severity: critical}}]\n",
                 "is a test of one column", id="column-test-on-the-table"),
    pytest.param(GOOD + "tests: [{unique: {columns: [idd], severity: critical}}]\n",
                 r"columns \['idd'\] are not columns of this model", id="unknown-key-column"),
    pytest.param(GOOD.replace("derived_from: [id]", "derived_from: [colour]"),
                 "'colour' is not a column of this model", id="unknown-lineage"),
    pytest.param(GOOD.replace("derived_from: [id]", "derived_from: [nowhere.things.id]"),
                 "neither a column of this model nor source.table", id="unknown-source"),
    pytest.param(GOOD.replace("[id]}", "[id], feature: {label: Size, group: Things}}"),
                 r"catalog_order: .*missing \['size'\]", id="feature-without-a-place"),
    pytest.param(GOOD.replace("description: The thing.", "description: The thing., derived_from: [size]"),
                 "derived_from goes round in a circle", id="cycle"),
])
def test_a_malformed_contract_names_the_file_and_the_place(text, message):
    with pytest.raises(ValueError, match=message) as raised:
        parse_contract(MODEL, text)
    assert "models/silver/silver_things.yml" in str(raised.value) or "circle" in message
