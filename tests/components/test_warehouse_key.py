"""Cached warehouses and results hang on a key that carries the identity on Databricks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st

import components.warehouse as warehouses
from components.warehouse import _logged, warehouse_key
from services.errors import ConfigError
from services.settings import Settings
from services.warehouse.databricks_identity import ServicePrincipal
from tests.services.warehouse.fake_connector import fake_databricks

ROOT = Path(__file__).resolve().parents[2]
DATABRICKS = {"SEGMENT_STUDIO_ENGINE": "databricks", "DATABRICKS_HOST": "https://h", "DATABRICKS_WAREHOUSE_ID": "w"}


def test_duckdb_keys_on_the_file_as_before(tmp_path):
    settings = Settings.from_env({"SEGMENT_STUDIO_WAREHOUSE": str(tmp_path / "w.duckdb")})
    assert warehouse_key(settings, "any-token") == str(tmp_path / "w.duckdb")


def test_each_user_has_their_own_key_and_no_key_reveals_a_token():
    settings = Settings.from_env({**DATABRICKS, "SEGMENT_STUDIO_IDENTITY": "user"})
    ana, bo = warehouse_key(settings, "token-of-ana"), warehouse_key(settings, "token-of-bo")
    assert ana != bo
    assert ana == warehouse_key(settings, "token-of-ana")
    assert "token-of" not in ana + bo


def test_the_service_principal_has_one_key_distinct_from_every_user():
    as_app = Settings.from_env(DATABRICKS)
    as_user = Settings.from_env({**DATABRICKS, "SEGMENT_STUDIO_IDENTITY": "user"})
    assert warehouse_key(as_app, "token-of-ana") == warehouse_key(as_app, "token-of-bo")
    assert warehouse_key(as_app, "x") not in {warehouse_key(as_user, "token-of-ana"), warehouse_key(as_user, "x")}


def test_pages_and_components_key_their_caches_by_warehouse_key():
    """A cache keyed by the bare DuckDB path would be shared by every Databricks user."""
    offenders = []
    for folder in ("pages", "components"):
        for path in (ROOT / folder).glob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"settings\.warehouse_path", line) and "def warehouse_key" not in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    # warehouse_key itself is the one place that turns the path into a key.
    assert [o for o in offenders if not o.startswith("components/warehouse.py")] == []


def test_on_databricks_statements_are_tagged_and_no_log_row_is_written(tmp_path):
    """The platform's query history is the log there: tags carry page and segment, no PII, no insert."""

    engine, connector = fake_databricks(tmp_path)
    logged = _logged(engine, Settings.from_env(DATABRICKS))
    with logged.context(user="ana@example.com", page="exports", segment_id="seg-7"):
        for _ in range(25):  # past a batch of the log
            logged.scalar("SELECT 1")
    assert logged.flush() == 0 and len(connector.sent) == 25
    assert {tuple(sorted(tags.items())) for _, tags in connector.tagged} == {
        (("app", "segment-studio"), ("page", "exports"), ("segment_id", "seg-7"))}


def test_on_duckdb_the_app_keeps_its_own_query_log(tmp_path, empty_warehouse):

    logged = _logged(empty_warehouse, Settings.from_env({"SEGMENT_STUDIO_WAREHOUSE": str(tmp_path / "w.duckdb")}))
    with logged.context(user="ana@example.com", page="builder"):
        logged.scalar("SELECT 1")
    assert logged.flush() == 1


@pytest.fixture
def user_session(monkeypatch):
    """A session on Databricks with on-behalf-of-user identity; ``token[0]`` is what the proxy forwards now."""
    settings = Settings.from_env({**DATABRICKS, "SEGMENT_STUDIO_IDENTITY": "user"})
    token = ["token-of-ana"]
    monkeypatch.setattr(warehouses, "session_settings", lambda: settings)
    monkeypatch.setattr(warehouses, "forwarded_access_token", lambda: token[0])

    def shared(path):
        raise AssertionError(f"a user's warehouse reached the process-wide cache: {path}")

    monkeypatch.setattr(warehouses, "_shared_warehouse", shared)
    st.session_state.clear()
    yield settings, token
    st.session_state.clear()


def test_a_users_token_lives_with_their_session_not_in_a_process_wide_cache(user_session):
    settings, token = user_session
    key = warehouse_key(settings)
    warehouse = warehouses.get_warehouse(key)
    assert warehouse.inner.inner.reader.identity.token == "token-of-ana"
    # Its writes go as the app's service principal (services/warehouse/routing.py).
    assert warehouse.inner.inner.writer.identity == ServicePrincipal()
    assert warehouses.get_warehouse(key) is warehouse  # kept for the session's next calls
    assert st.session_state[warehouses.SESSION_WAREHOUSE] == (key, warehouse)
    # Another session (another user's token) cannot open it, even knowing its key.
    st.session_state.clear()
    token[0] = "token-of-bo"
    with pytest.raises(ConfigError, match="does not match"):
        warehouses.get_warehouse(key)


def test_a_fresh_token_replaces_the_sessions_warehouse_and_closes_the_old(user_session, monkeypatch):
    settings, token = user_session
    old = warehouses.get_warehouse(warehouse_key(settings))
    closed = []
    monkeypatch.setattr(old.inner.inner.reader, "close", lambda: closed.append(True))
    token[0] = "token-of-ana-refreshed"
    new = warehouses.get_warehouse(warehouse_key(settings))
    assert new is not old and new.inner.inner.reader.identity.token == "token-of-ana-refreshed" and closed == [True]
    assert new.inner.inner.writer is old.inner.inner.writer  # the app's writer is one for the process
