"""Apps served for the security tests: the real app in a subprocess on a private warehouse copy,
driven by Chromium (the browser fixtures are tests/conftest.py's, shared with tests/e2e)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from services.devserver import running_app


@pytest.fixture
def serve(demo_warehouse_path, tmp_path):
    """``with serve(env) as url``: the app on a fresh copy of the demo warehouse, with ``env`` added."""

    @contextmanager
    def start(env: dict[str, str], *, warehouse: Path | None = None) -> Iterator[str]:
        path = warehouse or tmp_path / f"warehouse-{len(list(tmp_path.glob('warehouse-*')))}.duckdb"
        if warehouse is None:
            shutil.copy(demo_warehouse_path, path)
        with running_app(path, log=path.with_suffix(".log"), env=env) as url:
            yield url

    return start
