"""JSON batches POSTed to a URL, retried safely.

Each batch is ``{"job_id", "batch", "batches", "members": [...]}`` sent with
the configured auth header and an ``Idempotency-Key`` derived from the job id,
the batch number and the batch's content: a retry (after a 5xx, a 429, a
timeout or a dropped connection) and a re-run of the same job send the same
key, so a receiver that honours the header applies each batch once. Other
4xx answers are the request's fault and fail the job at once. Waits between
attempts grow exponentially (base x 2^attempt) up to ``max_retries``.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

import pyarrow as pa

from services.errors import ExportError, SpecError
from services.exports.base import Delivered, DeliveryContext, Destination, ExportRequest, Option

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.5


def checked_url(url: str | None) -> str:
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SpecError(f"webhook URL {url!r} must be an http(s) address")
    return url


def auth_header(value: str | None) -> tuple[str, str] | None:
    """'Name: value' -> (Name, value); a bare value is sent as 'Authorization'."""
    if not value:
        return None
    name, sep, rest = value.partition(":")
    if sep and name.strip() and " " not in name.strip():
        return name.strip(), rest.strip()
    return "Authorization", value.strip()


def idempotency_key(job_id: str, batch: int, body: bytes) -> str:
    return hashlib.sha256(job_id.encode() + b":" + str(batch).encode() + b":" + body).hexdigest()[:40]


def _json_value(value):
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def post_with_retries(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, max_retries: int,
                      backoff_s: float = BACKOFF_BASE_S, sleep=time.sleep) -> int:
    """POST once, retrying what a retry can fix; returns the attempts used."""
    last = ""
    for attempt in range(max_retries + 1):
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
                return attempt + 1
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_STATUSES:
                raise ExportError(f"the webhook refused a batch with HTTP {exc.code} {exc.reason}; "
                                  "check the URL and the auth header") from exc
            last = f"HTTP {exc.code}"
        except TimeoutError as exc:
            last = f"timed out after {timeout_s:g} s ({exc})"
        except urllib.error.URLError as exc:
            last = f"cannot reach the webhook: {exc.reason}"
        except (ConnectionError, OSError) as exc:
            last = f"connection failed: {exc}"
        if attempt < max_retries:
            sleep(backoff_s * (2 ** attempt))
    raise ExportError(f"the webhook failed {max_retries + 1} times in a row (last: {last}); the job can be re-run "
                      "and batches already received are recognised by their idempotency keys")


class WebhookDestination(Destination):
    """In a diff, the batches carry the changes, each member with its ``action`` (add or remove)."""

    name = "webhook"
    label = "Webhook (JSON batches)"
    options = (
        Option("url", "URL", help="Where the batches are POSTed (http or https)",
               placeholder="https://example.com/hooks/audience", check=checked_url, required=True),
        Option("auth_header", "Auth header", help="Sent with every batch, 'Name: value' (a bare value is sent as "
               "Authorization); never stored", placeholder="Authorization: Bearer ...",
               env="SEGMENT_STUDIO_WEBHOOK_AUTH"),
        Option("batch_size", "Batch size", int, help="Members per POST", minimum=1, maximum=10_000),
        Option("max_retries", "Retries", int, help="Retries of a batch after a 5xx, a 429 or a timeout",
               minimum=0, maximum=10, flag="--retries"),
        Option("timeout_s", "Timeout (s)", float, help="Seconds per webhook request", minimum=0,
               exclusive_minimum=True, flag="--timeout"),
    )
    seconds_per_row = 2e-5
    #: seconds; tests shorten it
    backoff_s = BACKOFF_BASE_S

    def target(self, request: ExportRequest) -> str:
        return request.url or ""

    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:
        request: ExportRequest = ctx.request
        url = checked_url(request.url)
        header = auth_header(request.auth_header)
        records = [{k: _json_value(v) for k, v in r.items()} for r in rows.to_pylist()]
        size = request.batch_size
        batches = max((len(records) + size - 1) // size, 1) if records else 0
        digest = hashlib.sha256()
        attempts = 0
        for number in range(batches):
            chunk = records[number * size:(number + 1) * size]
            body = json.dumps({"job_id": ctx.job_id, "batch": number + 1, "batches": batches, "members": chunk},
                              sort_keys=True, separators=(",", ":")).encode("utf-8")
            headers = {"Idempotency-Key": idempotency_key(ctx.job_id, number + 1, body)}
            if header:
                headers[header[0]] = header[1]
            attempts += post_with_retries(url, body, headers, timeout_s=request.timeout_s,
                                          max_retries=request.max_retries, backoff_s=self.backoff_s)
            digest.update(body)
            ctx.progress((number + 1) / batches)
        return Delivered(rows=len(records), checksum=digest.hexdigest(), output_path=url,
                         detail={"batches": batches, "attempts": attempts})
