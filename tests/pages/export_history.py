"""Following an export job on the Exports page as a user does: rerun the page until its history says how it ended."""

from __future__ import annotations

import time


def wait_for(at, job_id: str, *, seconds: int = 60) -> str:
    """The job's final status ("succeeded" or "failed") as the page's history table shows it."""
    for _ in range(seconds):
        at.run()
        history = at.dataframe[-1].value if at.dataframe else None
        if history is not None and "job" in history and job_id in set(history["job"]):
            status = history.set_index("job").loc[job_id, "status"]
            if status in ("succeeded", "failed"):
                return status
        time.sleep(1)
    raise AssertionError(f"export job {job_id} did not finish")
