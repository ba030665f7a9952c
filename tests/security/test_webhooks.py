"""Finding 7: webhooks against a real local HTTP server that redirects, throttles, trickles and truncates.

The receiver applies each idempotency key once (as a receiver that honours
the header does) and records every request, so the tests see what a remote
server would: which method and headers reached which host, how long the
client waited, and whether a batch landed twice. Secrets are looked for in
every row the warehouse keeps and in what the command line prints.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services import naming
from services.errors import ExportError, SpecError
from services.exports import jobs
from services.exports.base import ExportRequest
from services.exports.destinations import DESTINATIONS
from services.exports.webhook import post_with_retries
from services.warehouse.duckdb_engine import DuckDBWarehouse
from tests.processes import cli, environment

VIP = "sample-vip-champions-early-access"
SECRET = "s3cret-t0ken"


@dataclass
class Hook:
    """A webhook receiver. ``script`` maps a batch number to the behaviours of its next attempts."""

    script: dict[int, list[str]] = field(default_factory=dict)
    redirect_to: str = ""
    retry_after: str = "1"
    applied: dict[str, list] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempts(self) -> Counter:
        return Counter(r["batch"] for r in self.requests if r["method"] == "POST")

    def handler(self):
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with hook.lock:
                    hook.requests.append({"method": "GET", "batch": None, "headers": dict(self.headers)})
                self.answer(200)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                key = self.headers.get("Idempotency-Key")
                with hook.lock:
                    hook.requests.append({"method": "POST", "batch": payload["batch"], "key": key, "t": time.monotonic(),
                                          "headers": dict(self.headers), "path": self.path, "payload": payload})
                    plan = hook.script.get(payload["batch"]) or ["ok"]
                    behaviour = plan.pop(0) if len(plan) > 1 else plan[0]
                    if behaviour in ("ok", "truncate", "trickle"):
                        hook.applied.setdefault(key, payload["members"])
                if behaviour == "redirect":
                    self.answer(302, {"Location": hook.redirect_to})
                elif behaviour == "throttle":
                    self.answer(429, {"Retry-After": hook.retry_after})
                elif behaviour == "fail":
                    self.answer(500)
                elif behaviour == "truncate":
                    # The batch is applied; the reply stops short of its Content-Length.
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.wfile.write(b'{"ok"')
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                elif behaviour == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", "40")
                    self.end_headers()
                    try:
                        for _ in range(40):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.4)
                    except OSError:
                        pass  # the client gave up, as it should
                else:
                    self.answer(200)

            def answer(self, status: int, headers: dict | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        return Handler


@pytest.fixture
def serve():
    servers = []

    def start(hook: Hook, *, host: str = "127.0.0.1") -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), hook.handler())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{host}:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(DESTINATIONS["webhook"], "backoff_s", 0.01)


@pytest.fixture
def warehouse_path(demo_warehouse_path, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse_path, path)
    return path


@pytest.fixture
def warehouse(warehouse_path):
    wh = DuckDBWarehouse(warehouse_path)
    yield wh
    wh.close()


def webhook(url: str, **options) -> ExportRequest:
    return ExportRequest(segment_id=VIP, version=1, destination="webhook", url=url, **options)


def run(warehouse, request: ExportRequest, out, **kwargs):
    queued = jobs.create_job(warehouse, request, user="mallory@example.com", role="marketer")
    return queued.job_id, lambda: jobs.run_job(warehouse, queued, output_dir=out, **kwargs)


def every_text(path) -> str:
    """Every value of every text column of the app's tables, as one string to search for secrets."""
    warehouse = DuckDBWarehouse(path, read_only=True)
    try:
        schema = naming.schema("app")
        return "\n".join(str(v) for t in warehouse.tables(schema) for c, kind in warehouse.columns(schema, t)
                         if "CHAR" in kind.upper() for v in warehouse.arrow(f'SELECT "{c}" FROM {schema}.{t}').column(0).to_pylist())
    finally:
        warehouse.close()


def test_a_redirect_is_not_followed_and_the_auth_header_never_reaches_another_host(warehouse, tmp_path, serve):
    elsewhere = Hook()
    hook = Hook(script={1: ["redirect"]}, redirect_to=serve(elsewhere, host="localhost") + "/stolen")
    job_id, go = run(warehouse, webhook(serve(hook) + "/hook", auth_header=f"Authorization: Bearer {SECRET}",
                                        max_retries=2), tmp_path)
    with pytest.raises(ExportError, match="redirect"):
        go()
    assert elsewhere.requests == []
    assert [r["method"] for r in hook.requests] == ["POST"]            # a 3xx is not retried either
    assert jobs.get(warehouse, job_id).status == "failed"


def test_retry_after_is_honoured_and_capped(warehouse, tmp_path, serve):
    hook = Hook(script={1: ["throttle", "ok"]}, retry_after="1")
    _, go = run(warehouse, webhook(serve(hook) + "/hook", batch_size=1000), tmp_path)
    assert go().status == "succeeded"
    first, second = [r["t"] for r in hook.requests]
    assert second - first >= 0.95                                       # not the 0.01 s backoff

    slept = []
    capped = Hook(script={1: ["throttle", "ok"]}, retry_after="3600")
    body = json.dumps({"batch": 1, "members": []}).encode()
    post_with_retries(serve(capped) + "/hook", body, {}, timeout_s=5, max_retries=1, sleep=slept.append)
    assert slept == [60]


def test_a_trickling_server_cannot_hold_a_request_past_its_timeout(warehouse, tmp_path, serve):
    hook = Hook(script={1: ["trickle"]})
    _, go = run(warehouse, webhook(serve(hook) + "/hook", timeout_s=2, max_retries=0, batch_size=1000), tmp_path)
    started = time.monotonic()
    with pytest.raises(ExportError, match="timed out"):
        go()
    assert time.monotonic() - started < 5                              # 2 s, not the trickle's 16


def test_a_truncated_reply_is_retried_with_the_same_key_and_the_batch_lands_once(warehouse, tmp_path, serve):
    hook = Hook(script={1: ["truncate", "ok"]})
    _, go = run(warehouse, webhook(serve(hook) + "/hook", batch_size=50), tmp_path)
    job = go()
    assert job.status == "succeeded"
    first_batch = [r for r in hook.requests if r["batch"] == 1]
    assert len(first_batch) == 2 and first_batch[0]["key"] == first_batch[1]["key"]
    received = [m["customer_id"] for members in hook.applied.values() for m in members]
    assert len(received) == len(set(received)) == job.rows_exported


def test_rerunning_a_failed_job_from_the_page_reuses_its_idempotency_keys(warehouse, tmp_path, serve):
    hook = Hook(script={2: ["fail"]})
    url = serve(hook) + "/hook"
    job_id, go = run(warehouse, webhook(url, batch_size=50, max_retries=0), tmp_path)
    with pytest.raises(ExportError):
        go()
    hook.script = {}
    # What the page's "Re-run this export" does: a new job carrying the failed one as its origin.
    again = jobs.rerun_request(jobs.get(warehouse, job_id))
    _, go_again = run(warehouse, again, tmp_path)
    job = go_again()
    assert job.status == "succeeded"
    keys = [r["key"] for r in hook.requests if r["batch"] == 1]
    assert len(keys) == 2 and keys[0] == keys[1]
    received = [m["customer_id"] for members in hook.applied.values() for m in members]
    assert len(received) == len(set(received)) == job.rows_exported


def test_rerunning_a_failed_job_from_the_command_line_reuses_its_idempotency_keys(warehouse_path, serve):
    hook = Hook(script={2: ["fail"]})
    url = serve(hook) + "/hook"
    env = environment(SEGMENT_STUDIO_ROLE="marketer", SEGMENT_STUDIO_USER="mallory@example.com")
    failed = cli("export", VIP, "--destination", "webhook", "--url", url, "--batch-size", "50", "--retries", "0",
                 "--warehouse", warehouse_path, "--quiet", env=env)
    assert failed.returncode == 1
    job_id = failed.stdout.split()[1].rstrip(":")
    hook.script = {}
    again = cli("rerun", job_id, "--warehouse", warehouse_path, "--quiet", env=env)
    assert again.returncode == 0, again.stderr
    keys = [r["key"] for r in hook.requests if r["batch"] == 1]
    assert len(keys) == 2 and keys[0] == keys[1]
    received = [m["customer_id"] for members in hook.applied.values() for m in members]
    assert len(received) == len(set(received))


def test_an_auth_header_with_a_newline_is_refused_without_showing_it(warehouse_path, serve):
    hook = Hook()
    env = environment(SEGMENT_STUDIO_ROLE="marketer", SEGMENT_STUDIO_USER="mallory@example.com",
                      SEGMENT_STUDIO_WEBHOOK_AUTH=f"Bearer {SECRET}\r\nX-Injected: 1")
    done = cli("export", VIP, "--destination", "webhook", "--url", serve(hook) + "/hook", "--warehouse",
               warehouse_path, "--quiet", env=env)
    assert done.returncode != 0
    assert "single line" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert SECRET not in every_text(warehouse_path)
    assert hook.requests == []


def test_a_token_in_the_url_is_never_stored_or_shown(warehouse_path, serve):
    hook = Hook()
    base = serve(hook).replace("http://", f"http://robot:{SECRET}-pw@")
    env = environment(SEGMENT_STUDIO_ROLE="marketer", SEGMENT_STUDIO_USER="mallory@example.com")
    done = cli("export", VIP, "--destination", "webhook", "--url", f"{base}/hook?token={SECRET}&v=2",
               "--warehouse", warehouse_path, "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    assert hook.requests and all(r["path"] == f"/hook?token={SECRET}&v=2" for r in hook.requests)
    assert SECRET not in done.stdout + done.stderr
    stored = every_text(warehouse_path)
    assert SECRET not in stored
    assert "/hook?token=" in stored                                   # the endpoint stays recognisable


@pytest.mark.parametrize("url, ok", [
    ("http://example.com/hook", False),
    ("http://10.0.0.5/hook", False),
    ("https://example.com/hook", True),
    ("http://localhost:8080/hook", True),
    ("http://127.0.0.1:8080/hook", True),
    ("http://[::1]:8080/hook", True),
])
def test_plain_http_is_refused_except_for_this_machine(url, ok):
    normalise = DESTINATIONS["webhook"].normalise
    if ok:
        assert normalise(webhook(url)).url == url
    else:
        with pytest.raises(SpecError, match="https"):
            normalise(webhook(url))


def test_on_databricks_private_and_loopback_addresses_are_refused_unless_allowed(warehouse, tmp_path, serve):
    hook = Hook()
    url = serve(hook) + "/hook"
    _, go = run(warehouse, webhook(url, max_retries=3), tmp_path, private_networks=())
    with pytest.raises(ExportError, match="private, loopback or link-local"):
        go()
    assert hook.requests == []
    _, go = run(warehouse, webhook(url), tmp_path, private_networks=("127.0.0.0/8",))
    assert go().status == "succeeded"


def test_money_goes_out_as_exact_decimal_text(warehouse, tmp_path, serve):
    hook = Hook()
    _, go = run(warehouse, webhook(serve(hook) + "/hook", attributes=("monetary",), batch_size=1000), tmp_path)
    assert go().status == "succeeded"
    members = hook.requests[0]["payload"]["members"]
    expected = {r["customer_id"]: str(r["monetary"]) for r in warehouse.arrow(
        f"SELECT customer_id, monetary FROM {naming.fq('gold', 'gold_customer_features')}").to_pylist()}
    assert members and all(m["monetary"] == expected[m["customer_id"]] for m in members)
