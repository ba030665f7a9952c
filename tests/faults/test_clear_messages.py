"""Finding 10: a careless moment gets one clear line, not a traceback.

The app opened while the command line holds the DuckDB file (a real CLI
process, stopped mid-build) says so in one line, without a traceback and
without the server's paths; a membership condition without ``of`` is a
SpecError naming the condition, not Python's TypeError text.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.processes import ROOT, cli, environment

APP = str(ROOT / "app.py")


@pytest.fixture
def held_by_the_cli(demo_warehouse_path, tmp_path):
    """A copy of the demo warehouse that a real CLI build holds (stopped in its silver phase)."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "build", "--warehouse", str(path), "--full-refresh"],
                            cwd=ROOT, env=environment(SEGMENT_STUDIO_PAUSE_AT="build.silver"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    paused = threading.Event()

    def watch():
        for line in proc.stderr:
            if line.startswith("paused at"):
                paused.set()
        paused.set()

    threading.Thread(target=watch, daemon=True).start()
    assert paused.wait(120) and proc.poll() is None, "the CLI did not stop at build.silver"
    yield path
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_the_app_says_in_one_line_that_the_cli_holds_the_warehouse(held_by_the_cli, monkeypatch):
    monkeypatch.setenv("SEGMENT_STUDIO_WAREHOUSE", str(held_by_the_cli))
    monkeypatch.setenv("SEGMENT_STUDIO_ROLE", "marketer")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    [error] = at.error
    assert "in use by another process" in error.value
    assert "\n" not in error.value.strip()
    assert str(Path(held_by_the_cli).parent) not in error.value and "Traceback" not in error.value


def test_a_membership_without_of_is_a_clear_spec_error(demo_warehouse_path, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"name": "members of what?", "rule": {"kind": "group", "match": "all", "conditions": [
        {"kind": "membership", "segment_id": "seg-x"}]}}))
    done = cli("segment", "count", spec, "--warehouse", demo_warehouse_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "TypeError" not in done.stderr and "__init__" not in done.stderr and "positional" not in done.stderr
    assert "rule.conditions[0]" in done.stderr and "'of'" in done.stderr
