"""Real subprocesses for the fault and security tests: the command line run to the end, or killed
with SIGKILL at a named step (services/checkpoints.py), and warehouses compared table by table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd

from services.warehouse.duckdb_engine import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[1]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGMENT_STUDIO_", "DATABRICKS_"))}
    env.update({"SEGMENT_STUDIO_WARM_UP_MAPS": "0", "TZ": "UTC", **extra})
    return env


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -m services.cli ARGS`` run to the end."""
    return subprocess.run([sys.executable, "-m", "services.cli", *map(str, args)], cwd=ROOT,
                          env=env or environment(), capture_output=True, text=True, timeout=timeout)


def run_killed_at(step: str, command: list[str], *, env: dict[str, str] | None = None,
                  timeout: float = 180) -> str:
    """Run ``command`` (argv), stop it at ``step``, kill it with SIGKILL; return its stderr so far.

    Fails when the process ends without reaching the step: a kill test that kills nothing proves nothing.
    """
    env = {**(env or environment()), "SEGMENT_STUDIO_PAUSE_AT": step}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    lines: list[str] = []
    paused = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("paused at "):
                paused.set()
        paused.set()  # the process ended

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reached = paused.wait(timeout) and any(line.startswith("paused at ") for line in lines)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=5)
    assert reached, f"the process never reached {step!r}:\n{''.join(lines)[-3000:]}"
    return "".join(lines)


def cli_killed_at(step: str, *args: str, env: dict[str, str] | None = None) -> str:
    return run_killed_at(step, [sys.executable, "-m", "services.cli", *map(str, args)], env=env)


def snapshot(path: Path, *, skip_columns: frozenset[str] = frozenset()) -> dict[str, pd.DataFrame]:
    """Every table of a DuckDB file, sorted by all its columns (minus ``skip_columns``), by name."""
    warehouse = DuckDBWarehouse(path, read_only=True)
    try:
        out = {}
        for schema in warehouse.schemas():
            for table in warehouse.tables(schema):
                columns = [c for c, _ in warehouse.columns(schema, table) if c not in skip_columns]
                listed = ", ".join(f'"{c}"' for c in columns)
                frame = warehouse.df(f'SELECT {listed} FROM "{schema}"."{table}"')
                out[f"{schema}.{table}"] = frame.sort_values(columns).reset_index(drop=True) if columns else frame
        return out
    finally:
        warehouse.close()
