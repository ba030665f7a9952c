"""Independent reads at once: what a page or a check waits for is its slowest read, not their sum.

A remote SQL warehouse answers each round trip in a few hundred milliseconds; reads that do not
depend on each other (a pre-flight's audience, PII tags and data-quality gate; a status page's
counts and records) need not wait for each other. ``together`` runs them on threads of their own
(the first on the caller's) and returns their results in order, or raises the first error in the
order they were given. Every thread runs in a copy of the caller's context variables, so the query
log attributes its queries to the same user, page and segment. The engines serve concurrent calls
(DuckDB gives each call its own cursor; the Databricks engine pools connections).

A leaf of services/: it imports nothing of the project.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any


def together(*calls: Callable[[], Any], before: Callable[[], None] | None = None) -> list[Any]:
    """``calls`` run at once; their results in order. ``before`` runs first on each new thread."""
    if len(calls) < 2:
        return [call() for call in calls]
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def run(i: int, context: contextvars.Context) -> None:
        try:
            if i and before is not None:
                before()
            results[i] = context.run(calls[i])
        except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread below
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i, contextvars.copy_context()), name=f"segment-studio-read-{i}",
                                daemon=True) for i in range(1, len(calls))]
    for thread in threads:
        thread.start()
    run(0, contextvars.copy_context())
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results
