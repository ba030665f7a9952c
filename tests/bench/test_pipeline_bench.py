"""The pipeline benchmark at a tiny scale: its RFM SQL is the gold model's, agrees with pandas, and the table prints.

No timing is asserted: these runs are far too small to say anything about speed.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from bench import pipeline as bench
from services import build as runner, sqlfiles
from services.warehouse.duckdb_engine import DuckDBWarehouse

CUSTOMERS = 2_000


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    warehouse = DuckDBWarehouse(tmp_path_factory.mktemp("bench") / "warehouse.duckdb")
    setup = bench.prepare(warehouse, customers=CUSTOMERS, seed=7, log=lambda message: None)
    runs = bench.time_pipeline(warehouse, repeat=1, log=lambda message: None)
    yield warehouse, setup, runs
    warehouse.close()


def test_prepare_generates_into_an_empty_warehouse_and_reuses_a_full_one(built):
    warehouse, setup, _ = built
    assert setup.generated and setup.landed_rows > 0
    assert setup.generate_seconds is not None and setup.load_seconds is not None
    again = bench.prepare(warehouse, customers=CUSTOMERS, seed=7, log=lambda message: None)
    assert not again.generated and again.generate_seconds is None


def test_pipeline_run_splits_the_build_into_models_and_steps(built):
    _, _, runs = built
    run = runs[0]
    # The export identifier cache is refreshed by the build too, timed beside the models.
    assert set(run.result.model_seconds) == {m.name for m in runner.MODELS} | {"export_identifiers"}
    assert set(run.step_seconds) == {"reconciliation", "exchange-rate check"}
    assert run.result.gold_rows > 0
    # The wrappers that time the steps are gone once the runs are over.
    assert runner.reconcile.reconcile.__name__ == "reconcile"


def test_rfm_sql_and_pandas_agree_with_each_other_and_with_gold(built):
    warehouse, _, runs = built
    sql = bench.rfm_sql(warehouse)
    pandas_result = bench.rfm_pandas(bench.load_fact_frame(warehouse))
    assert sql.num_rows == runs[0].result.gold_rows
    assert bench.compare_rfm(sql, pandas_result) == []
    assert bench.compare_rfm(sql, bench.gold_rfm(warehouse)) == []
    assert set(sql.column("r_score").to_pylist()) <= {1, 2, 3, 4, 5}


def test_rfm_sql_is_the_gold_model_own_sql_cut_down_to_the_scores():
    model = sqlfiles.query(bench.GOLD_MODEL.path)
    model_ctes = {cte.alias: cte.this for cte in model.args["with_"].expressions}
    tree = bench.rfm_tree()
    ctes = {cte.alias: cte.this for cte in tree.args["with_"].expressions}
    # the model's CTEs, in its order, minus those the scores do not read
    assert list(ctes) == [name for name in model_ctes if name in ctes]
    assert {"customer_summary", "purchase_summary", "rfm", "rfm_scores"} <= set(ctes)
    assert not {"purchases", "category_ranking", "channel_ranking", "current_customers", "base", "final"} & set(ctes)
    for name, body in ctes.items():
        assert body == model_ctes[name], f"{name} differs from the model's"
    assert tree.named_selects == list(bench.RFM_COLUMNS)


def test_rfm_pandas_ties_and_refunds_follow_the_sql_definitions():
    day = lambda d: pd.Timestamp(date(2025, 1, d))  # noqa: E731 - short dates keep the rows readable
    fact = pd.DataFrame({
        "customer_id": pd.Categorical(["a", "a", "b", "c", "c", "d"]),
        "txn_type": pd.Categorical(["purchase", "refund", "purchase", "purchase", "purchase", "refund"]),
        "posted_date": [day(1), day(5), day(3), day(3), day(10), day(9)],
        "amount_usd": [10.10, 2.05, 20.00, 4.00, 4.00, 1.00],
    })
    out = bench.rfm_pandas(fact).set_index("customer_id").sort_index()
    # d only refunded: not a customer of the RFM grain.
    assert list(out.index) == ["a", "b", "c"]
    assert out["monetary"].tolist() == [8.05, 20.00, 8.00]
    assert out["recency_days"].tolist() == [9, 7, 0]
    # percent_rank = (rank - 1) / (n - 1): ranks 1, 1, 3 of 3 give 0, 0, 1.
    assert out["f_score"].tolist() == [1, 1, 5]
    assert out["r_score"].tolist() == [1, 3, 5]
    assert out["m_score"].tolist() == [3, 5, 1]


def test_compare_rfm_reports_a_changed_score(built):
    warehouse, _, _ = built
    sql = bench.rfm_sql(warehouse).to_pandas()
    changed = sql.copy()
    changed.loc[0, "m_score"] = 6
    assert bench.compare_rfm(sql, changed) == ["m_score differs for 1 customers"]
    assert bench.compare_rfm(sql, changed.iloc[1:])[0].startswith("customers differ")


def test_the_command_prints_the_table(capsys, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    status = bench.main(["--customers", str(CUSTOMERS), "--repeat", "1", "--warehouse", str(path),
                         "--set", "preserve_insertion_order=false"])
    table = capsys.readouterr().out
    assert status == 0
    assert "Gold build (run_pipeline)" in table
    for column in ("full", "rebuild 1", "new day"):
        assert column in table
    assert "gold_customer_features" in table and "total" in table
    assert "full build from the landing zone" in table
    assert "results equal: yes" in table
    assert "SQL equal to gold_customer_features: yes" in table
    assert "preserve_insertion_order=false" in table
    assert "duckdb    threads=" in table
    assert path.exists()  # an explicit --warehouse is kept
