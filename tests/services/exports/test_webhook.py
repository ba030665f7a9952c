"""The webhook against a real HTTP server on localhost that fails on purpose.

The receiver honours idempotency keys (it applies a key once and answers
later retries with 200), and misbehaves: some batches get 500s first, one
is applied but answered too late for the client's timeout, so the client
retries a batch the receiver already has. Every member must arrive once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.errors import ExportError, SpecError
from services.exports import jobs
from services.exports.base import ExportRequest
from services.exports.destinations import DESTINATIONS

from .conftest import VIP, members


class Receiver:
    def __init__(self, *, fail_first: dict[int, int], slow_batches: set[int], delay_s: float, refuse: bool = False):
        self.fail_first = dict(fail_first)       # batch -> how many 500s before it is accepted
        self.slow_batches = set(slow_batches)    # batches applied but answered after the client's timeout (once)
        self.delay_s = delay_s
        self.refuse = refuse
        self.applied: dict[str, list] = {}       # idempotency key -> members applied
        self.attempts = Counter()
        self.headers: list[dict] = []
        self.lock = threading.Lock()

    def handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                key = self.headers.get("Idempotency-Key")
                batch = payload["batch"]
                with receiver.lock:
                    receiver.attempts[batch] += 1
                    receiver.headers.append(dict(self.headers))
                    if receiver.refuse:
                        status = 401
                    elif receiver.fail_first.get(batch, 0) > 0:
                        receiver.fail_first[batch] -= 1
                        status = 500
                    else:
                        status = 200
                        if key not in receiver.applied:
                            receiver.applied[key] = [m["customer_id"] for m in payload["members"]]
                    slow = status == 200 and batch in receiver.slow_batches
                    receiver.slow_batches.discard(batch)
                if slow:
                    time.sleep(receiver.delay_s)
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as intended

        return Handler


@pytest.fixture
def serve():
    servers = []

    def start(receiver: Receiver) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/audiences"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(DESTINATIONS["webhook"], "backoff_s", 0.01)


def test_every_member_arrives_exactly_once_through_500s_and_timeouts(warehouse, tmp_path, serve):
    receiver = Receiver(fail_first={1: 2, 3: 1, 4: 3}, slow_batches={2, 5}, delay_s=1.5)
    url = serve(receiver)
    request = ExportRequest(segment_id=VIP, version=1, destination="webhook", url=url, batch_size=25,
                            timeout_s=0.5, max_retries=5, auth_header="Authorization: Bearer s3cret")
    job_id = jobs.create_job(warehouse, request, user="tester", role="marketer").job_id
    # Run from its id, as another process would: the secret comes from the caller, never from the row.
    job = jobs.run_job(warehouse, job_id, output_dir=tmp_path, secrets={"auth_header": request.auth_header})

    expected = sorted(c for c, g in members(warehouse, VIP).items() if g != "control")
    received = [c for batch in receiver.applied.values() for c in batch]
    assert sorted(received) == expected                      # everyone, once
    assert len(received) == len(set(received))
    batches = -(-len(expected) // 25)
    assert len(receiver.applied) == batches
    assert receiver.attempts[1] == 3 and receiver.attempts[4] == 4   # retried after the 500s
    assert receiver.attempts[2] == 2                                 # retried after the timeout, applied once
    assert all(h["Authorization"] == "Bearer s3cret" for h in receiver.headers)
    assert job.status == "succeeded" and job.rows_exported == len(expected)
    # the secret is not stored with the job
    assert "s3cret" not in jobs.get(warehouse, job_id).request.to_json()


def test_a_rerun_after_a_failure_never_applies_a_batch_twice(warehouse, tmp_path, serve):
    receiver = Receiver(fail_first={3: 99}, slow_batches=set(), delay_s=0)
    url = serve(receiver)
    request = ExportRequest(segment_id=VIP, version=1, destination="webhook", url=url, batch_size=40, max_retries=2)
    job_id = jobs.create_job(warehouse, request, user="tester", role="marketer").job_id
    with pytest.raises(ExportError, match="failed 3 times"):
        jobs.run_job(warehouse, job_id, output_dir=tmp_path)
    assert jobs.get(warehouse, job_id).status == "failed"
    assert len(receiver.applied) == 2                         # batches 1 and 2 landed before batch 3 gave up

    receiver.fail_first = {}
    job = jobs.run_job(warehouse, job_id, output_dir=tmp_path)
    received = [c for batch in receiver.applied.values() for c in batch]
    assert job.status == "succeeded"
    assert sorted(received) == sorted(c for c, g in members(warehouse, VIP).items() if g != "control")


def test_a_refused_request_fails_at_once_with_a_reason(warehouse, tmp_path, serve):
    receiver = Receiver(fail_first={}, slow_batches=set(), delay_s=0, refuse=True)
    url = serve(receiver)
    request = ExportRequest(segment_id=VIP, version=1, destination="webhook", url=url)
    job_id = jobs.create_job(warehouse, request, user="tester", role="marketer").job_id
    with pytest.raises(ExportError, match="HTTP 401"):
        jobs.run_job(warehouse, job_id, output_dir=tmp_path)
    assert sum(receiver.attempts.values()) == 1
    assert "HTTP 401" in jobs.get(warehouse, job_id).message


@pytest.mark.parametrize("url", [None, ""])
def test_a_webhook_without_a_url_cannot_be_started(warehouse, url):
    """The bug: a webhook export with no URL was queued, and failed only once it ran."""
    before = len(jobs.history(warehouse))
    request = ExportRequest(segment_id=VIP, version=1, destination="webhook", url=url)
    assert DESTINATIONS["webhook"].missing(request) == ["URL"]
    with pytest.raises(SpecError, match="Webhook .* needs url before an export can start"):
        jobs.create_job(warehouse, request, user="m@example.com", role="marketer")
    assert len(jobs.history(warehouse)) == before
