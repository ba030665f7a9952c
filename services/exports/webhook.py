"""JSON batches POSTed to a URL, retried safely, with nothing secret kept.

Each batch is ``{"job_id", "batch", "batches", "members": [...]}`` sent with
the configured auth header and an ``Idempotency-Key`` derived from the job id,
the batch number and the batch's content. A retry (after a 5xx, a 429, a
timeout, a dropped connection or a reply cut short) sends the same key, and so
does a re-run: a failed job run again keeps its id, and the page's "Re-run"
makes a job that carries the failed one's id (``rerun_of``), which the keys
and the batches' ``job_id`` use. A receiver that honours the header applies
each batch once. Other 4xx answers are the request's fault and fail the job
at once. Waits between attempts grow exponentially (base x 2^attempt) up to
``max_retries``; a ``Retry-After`` from the receiver is honoured instead, up
to ``MAX_RETRY_AFTER_S``.

What the request may do to the app:

* a redirect is never followed (a 3xx fails the batch): following it would
  send the batch, and the auth header, to a host nobody configured;
* ``timeout_s`` bounds the whole exchange of one attempt (connect, send,
  the reply read to its end), so a receiver trickling its reply a byte at a
  time cannot hold the job past it;
* the URL must be https, except to this machine (localhost, 127.0.0.1, ::1);
  as a Databricks App, addresses that are private, loopback or link-local
  (the platform's own services) are refused unless the settings allow their
  network (``DeliveryContext.private_networks``), checked on the address the
  connection is then made to;
* the auth header must be one line (a line break would smuggle headers and,
  in Python's error, print the token), and neither it nor the URL's user
  info or query values are stored or shown: the job row, its audit row and
  the snapshots keep the URL redacted (``base.redact_url``).

Members' values go out as JSON; exact decimals (money) as their decimal text
(``"1234.50"``), so no cent is lost to a float.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC
from decimal import Decimal
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pyarrow as pa

from services.clock import now
from services.errors import ExportError, SpecError
from services.exports.base import Delivered, DeliveryContext, Destination, ExportRequest, Option, redact_url

#: where the auth header comes from when not typed: the CLI's environment, an app secret bound by valueFrom
AUTH_ENV = "SEGMENT_STUDIO_WEBHOOK_AUTH"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.5
#: longest wait a receiver's Retry-After may ask for
MAX_RETRY_AFTER_S = 60.0
#: hosts that are this machine: plain http is allowed to them
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def checked_url(url: str | None) -> str:
    parsed = urlsplit((url or "").strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname or any(c in (url or "") for c in " \r\n\t"):
        raise SpecError(f"webhook URL {redact_url(url)!r} must be an http(s) address")
    if parsed.scheme == "http" and parsed.hostname not in LOCAL_HOSTS:
        raise SpecError(f"webhook URL {redact_url(url)!r} must use https (plain http only to this machine: "
                        "localhost, 127.0.0.1, ::1)")
    return url


def auth_header(value: str | None) -> tuple[str, str] | None:
    """'Name: value' -> (Name, value); a bare value is sent as 'Authorization'. Never echoes the value."""
    if not value:
        return None
    if any(c in value for c in "\r\n\0"):
        raise SpecError("the webhook auth header must be a single line (it holds a line break)")
    name, sep, rest = value.partition(":")
    if sep and name.strip() and " " not in name.strip():
        return name.strip(), rest.strip()
    return "Authorization", value.strip()


def idempotency_key(job_id: str, batch: int, body: bytes) -> str:
    return hashlib.sha256(job_id.encode() + b":" + str(batch).encode() + b":" + body).hexdigest()[:40]


def _json_value(value):
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class _Retry(Exception):
    """An attempt a retry may fix, why, and how long the receiver asked us to wait (None: back off)."""

    def __init__(self, reason: str, wait_s: float | None = None):
        super().__init__(reason)
        self.wait_s = wait_s


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds to wait, capped; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when.astimezone(UTC).replace(tzinfo=None) - now()).total_seconds() if when.tzinfo else 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _address(host: str, port: int, private_networks: tuple[str, ...] | None) -> str | None:
    """The address to connect to: None to let the connection resolve ``host`` (any address allowed),
    else the first resolved address that is public or inside ``private_networks``."""
    if private_networks is None:
        return None
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except OSError as exc:
        raise _Retry(f"cannot resolve the webhook's host: {exc.strerror or exc}") from None
    allowed = [ipaddress.ip_network(n) for n in private_networks]
    for text in sorted(resolved):
        address = ipaddress.ip_address(text.split("%")[0])
        if address.is_global or any(address in network for network in allowed):
            return text
    raise ExportError("the webhook's host resolves to a private, loopback or link-local address, which the app may "
                      "not call as a Databricks App; an admin can allow its network in "
                      "SEGMENT_STUDIO_WEBHOOK_PRIVATE_NETWORKS")


def _post_once(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float,
               private_networks: tuple[str, ...] | None) -> None:
    """One POST whose whole exchange ends within ``timeout_s``; raises _Retry or ExportError unless 2xx."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _address(parts.hostname, port, private_networks)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, port, timeout=timeout_s)
    if address is not None:
        # Connect to the address just checked (TLS still verifies the host's name), not to a second lookup.
        connection._create_connection = lambda _, timeout, source: socket.create_connection(
            (address, port), timeout, source)
    deadline = time.monotonic() + timeout_s
    expired = threading.Event()

    def cut_off() -> None:
        # Per-read timeouts restart with every byte; the deadline is the whole exchange's.
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(timeout_s, cut_off)
    timer.daemon = True
    timer.start()
    path = parts.path or "/"
    try:
        connection.request("POST", f"{path}?{parts.query}" if parts.query else path, body=body,
                           headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        response.read()
        status, reason = response.status, response.reason
        retry_after = retry_after_seconds(response.getheader("Retry-After"))
        location = response.getheader("Location")
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or time.monotonic() >= deadline:
            raise _Retry(f"timed out after {timeout_s:g} s") from None
        if isinstance(exc, http.client.IncompleteRead):
            raise _Retry("the reply was cut short") from None
        raise _Retry(f"connection failed: {type(exc).__name__}") from None
    finally:
        timer.cancel()
        connection.close()
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise ExportError(f"the webhook answered HTTP {status} {reason}, a redirect to {redact_url(location)!r}: "
                          "redirects are not followed (the batch and its auth header would go to another "
                          "address); configure the final URL")
    if status in RETRY_STATUSES:
        raise _Retry(f"HTTP {status}", retry_after)
    raise ExportError(f"the webhook refused a batch with HTTP {status} {reason}; check the URL and the auth header")


def post_with_retries(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, max_retries: int,
                      backoff_s: float = BACKOFF_BASE_S, sleep: Callable[[float], None] = time.sleep,
                      private_networks: tuple[str, ...] | None = None) -> int:
    """POST once, retrying what a retry can fix (with the same headers, so the same key); returns the attempts."""
    last = ""
    for attempt in range(max_retries + 1):
        try:
            _post_once(url, body, headers, timeout_s=timeout_s, private_networks=private_networks)
            return attempt + 1
        except _Retry as exc:
            last = str(exc)
            if attempt < max_retries:
                sleep(exc.wait_s if exc.wait_s is not None else backoff_s * (2 ** attempt))
    raise ExportError(f"the webhook failed {max_retries + 1} times in a row (last: {last}); the job can be re-run "
                      "and batches already received are recognised by their idempotency keys")


class WebhookDestination(Destination):
    """In a diff, the batches carry the changes, each member with its ``action`` (add or remove)."""

    name = "webhook"
    label = "Webhook (JSON batches)"
    options = (
        Option("url", "URL", help="Where the batches are POSTed: https (http only to this machine). Its user "
               "info and query values are not stored", placeholder="https://example.com/hooks/audience",
               check=checked_url, required=True),
        Option("auth_header", "Auth header", help="Sent with every batch, 'Name: value' (a bare value is sent as "
               "Authorization); one line; never stored", placeholder="Authorization: Bearer ...",
               check=auth_header, env=AUTH_ENV),
        Option("batch_size", "Batch size", int, help="Members per POST", minimum=1, maximum=10_000),
        Option("max_retries", "Retries", int, help="Retries of a batch after a 5xx, a 429, a timeout or a "
               "dropped connection", minimum=0, maximum=10, flag="--retries"),
        Option("timeout_s", "Timeout (s)", float, help="Seconds one webhook request may take, all of it",
               minimum=0, exclusive_minimum=True, flag="--timeout"),
    )
    seconds_per_row = 2e-5
    #: seconds; tests shorten it
    backoff_s = BACKOFF_BASE_S

    def target(self, request: ExportRequest) -> str:
        # Part of the diff baseline's key and kept on the job row and snapshots: never the secrets.
        return redact_url(request.url) or ""

    def deliver(self, rows: pa.Table, ctx: DeliveryContext) -> Delivered:
        request: ExportRequest = ctx.request
        if request.missing_secrets():
            raise ExportError("the webhook URL's user info and query values are not stored: give the URL again "
                              "(the form's URL field, or --url) to run this job")
        url = checked_url(request.url)
        header = auth_header(request.auth_header)
        records = [{k: _json_value(v) for k, v in r.items()} for r in rows.to_pylist()]
        size = request.batch_size
        batches = max((len(records) + size - 1) // size, 1) if records else 0
        # A re-run sends under the failed job's id, so the receiver recognises the batches it already has.
        origin = request.rerun_of or ctx.job_id
        digest = hashlib.sha256()
        attempts = 0
        for number in range(batches):
            chunk = records[number * size:(number + 1) * size]
            body = json.dumps({"job_id": origin, "batch": number + 1, "batches": batches, "members": chunk},
                              sort_keys=True, separators=(",", ":")).encode("utf-8")
            headers = {"Idempotency-Key": idempotency_key(origin, number + 1, body)}
            if header:
                headers[header[0]] = header[1]
            attempts += post_with_retries(url, body, headers, timeout_s=request.timeout_s,
                                          max_retries=request.max_retries, backoff_s=self.backoff_s,
                                          private_networks=ctx.private_networks)
            digest.update(body)
            ctx.progress((number + 1) / batches)
        return Delivered(rows=len(records), checksum=digest.hexdigest(), output_path=redact_url(url),
                         detail={"batches": batches, "attempts": attempts})
