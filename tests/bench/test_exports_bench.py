"""The exports benchmark at a tiny scale: it brings the identifier cache up to date, runs, and prints its table.

No timing is asserted: a few thousand members say nothing about speed.
"""

from __future__ import annotations

import shutil

from bench import exports as bench


def test_the_benchmark_runs_on_a_small_warehouse_and_prints_every_case(demo_warehouse_path, tmp_path, capsys):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    assert bench.main(["--warehouse", str(path), "--repeat", "1", "--limit", "500"]) == 0
    out = capsys.readouterr().out
    for case in ("meta hashed file", "parquet file", "diff of two snapshots"):
        assert case in out
    assert "identifier cache up to date" in out
