"""Cached wrappers, actions and the destination settings form of the Exports page.

The pre-flight check is cached per (segment version, request, role, build)
for a minute: it is one scan of the audience, worth not repeating on every
rerun. Jobs are never cached: their status is read live while they run. The
settings form is drawn from the destination's declared options, so a new
destination brings its own fields.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from components import runs
from components.files import file_stores
from components.segments import build_marker, listed_versions, workspace
from components.warehouse import get_warehouse, warehouse_key
from services.errors import SpecError
from services.exports import access, jobs, preflight
from services.exports.base import Destination, ExportRequest, Option, redact_url
from services.exports.destinations import destination
from services.exports.filestore import volume_of
from services.runs import start_export as start_run
from services.settings import Settings

#: files above this size are offered by path, not as an in-page download
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024


@st.cache_data(ttl=60, max_entries=200, show_spinner=False)
def _cached_preflight(path: str, marker: str, request_json: str, role: str, price: float) -> preflight.Preflight:
    # The page listed the segments with their latest versions: compiling one of those reads nothing more.
    return preflight.preflight(get_warehouse(path), ExportRequest.from_json(request_json), role=role,
                               price_per_warehouse_hour=price, workspace=workspace(path, known=listed_versions(path)),
                               measure_rate=False, prepare_phones=False)


def preflight_check(settings: Settings, request: ExportRequest, role: str) -> preflight.Preflight:
    """The check at the destination's typical rate: ``at_past_rate`` re-estimates it from the history."""
    path = warehouse_key(settings)
    return _cached_preflight(path, build_marker(path), request.to_json(), role, settings.price_per_warehouse_hour)


def at_past_rate(check: preflight.Preflight, past: pd.DataFrame, settings: Settings) -> preflight.Preflight:
    """The check's duration and cost at the rate of the past jobs the page read (no query of its own)."""
    return check.at_rate(preflight.rate_from_jobs(past, check.destination),
                         price_per_warehouse_hour=settings.price_per_warehouse_hour)


def destination_settings(dest: Destination, settings: Settings) -> dict[str, object]:
    """The destination's options as form fields; returns request field -> value (None when left empty).

    The expander is open when the destination asks for something the app cannot fill in itself.
    """
    if not dest.options:
        return {}
    with st.expander("Destination settings", expanded=any(not option.setting for option in dest.options)):
        return {option.name: _field(option, settings) for option in dest.options}


def _field(option: Option, settings: Settings):
    key, help_text = f"exports_{option.name}", option.help or None
    if option.type is str:
        value = str(getattr(settings, option.setting)) if option.setting else ""
        return st.text_input(option.label, value=value, type="password" if option.secret else "default",
                             placeholder=option.placeholder or None, help=help_text, key=key) or None
    # Bounds of the option's own type: Streamlit refuses an int widget with float bounds.
    low, high = (None if limit is None else option.type(limit) for limit in (option.minimum, option.maximum))
    return option.type(st.number_input(option.label, min_value=low, max_value=high, value=option.default,
                                       help=help_text, key=key))


def why_not_run(check: preflight.Preflight, missing: list[str], *, override: bool) -> str | None:
    """Why the Run button is disabled (its help), or None when it may be clicked."""
    if missing:
        return f"Enter the {' and '.join(m.lower() for m in missing)} under Destination settings first"
    if check.gate.blocked and not override:
        return ("Failing critical data-quality checks block this export: tick the override first"
                if check.may_override else "Failing critical data-quality checks block this export; a manager "
                                           "may override the gate")
    return None


def confirmations(check: preflight.Preflight, *, override: bool) -> tuple[str, ...]:
    """What a click on Run must have confirmed first: an empty audience, an overridden gate."""
    asks = []
    if check.usable == 0:
        asks.append("this export sends nobody: the audience is empty here.")
    if override and check.gate.blocked:
        asks.append(f"it goes out despite failing critical checks ({check.gate.describe()}); the override is "
                    "recorded in the audit log under your name.")
    return tuple(a[0].upper() + a[1:] for a in asks)


def seconds(value: float) -> str:
    """A duration as a person says it: '0.4 s', '12 s', '3.5 min'."""
    if value < 10:
        return f"{value:.1f} s"
    return f"{value:,.0f} s" if value < 120 else f"{value / 60:,.1f} min"


def sent(job: jobs.Job) -> str:
    """What a finished job sent: rows, and in a diff how many were added and removed."""
    rows = f"{job.rows_exported or 0:,} row{'s' if (job.rows_exported or 0) != 1 else ''}"
    if job.mode != "diff":
        return rows
    return f"{job.rows_added or 0:,} added, {job.rows_removed or 0:,} removed ({rows})"


def rerun_request(job: jobs.Job, typed: dict[str, object], *,
                  configured_secrets: bool = False) -> tuple[ExportRequest, list[str]]:
    """A new job's request that runs a past job again (carrying it, so a webhook re-sends under its
    idempotency keys), with the secrets typed in the form above (job rows never keep them), and the
    labels of those its destination needs but the form does not hold. A URL whose secret parts the
    row redacted is taken from the form only when it is the same address. With
    ``configured_secrets`` (a Databricks Job runs it) secret fields come from the job's configuration:
    none is asked for or taken from the form."""
    request = jobs.rerun_request(job)
    options = destination(request.destination).options
    secret = [] if configured_secrets else [o for o in options if o.secret]
    missing = [o.label.lower() for o in secret if not typed.get(o.name)]
    again = replace(request, **{o.name: typed.get(o.name) for o in secret})
    for option in options:
        if option.name in request.missing_secrets():
            value = typed.get(option.name)
            if value and redact_url(str(value)) == getattr(request, option.name):
                again = replace(again, **{option.name: value})
            else:
                missing.append(f"{option.label.lower()} (the same address, with its token)")
    return again, missing


def start_export(settings: Settings, request: ExportRequest, *, user: str, role: str,
                 override_dq_gate: bool = False) -> str:
    """Create the job (permission and DQ gates) and start it (a thread here, a Databricks Job run as a
    Databricks App: components/runs.py); return its id."""
    _check_folder(settings, request.folder)
    path = warehouse_key(settings)
    # The click's workspace (the cached catalog) compiles the segment once, for the job and its run.
    return start_run(get_warehouse(path), request, runner=runs.runner(settings), user=user, role=role,
                     override_dq_gate=override_dq_gate, workspace=workspace(path, known=listed_versions(path)))


def runs_remotely(settings: Settings) -> bool:
    """Whether exports run as Databricks Job runs (which read secrets from their configuration)."""
    return runs.runner(settings).exports_remote


def _check_folder(settings: Settings, folder: str | None) -> None:
    """A folder typed in the page must be inside the export folder, or in a Unity Catalog volume: the
    exports volume when one is configured (the export folder is in it), any volume otherwise.

    The app writes with its own rights (on Databricks, its service principal's): a user must not be
    able to point it at any path on the server, nor at any volume the principal may write. (The CLI
    runs as its operator and may write where they say.)
    """
    if not folder:
        return
    root = Path(settings.export_dir).resolve()
    target = Path(folder).resolve()
    if target == root or root in target.parents:
        return
    volume = settings.exports_volume
    if volume is not None:
        if target != Path(volume) and Path(volume) not in target.parents:
            raise SpecError(f"the folder must be inside the exports volume {volume}, not {folder}")
        return
    if volume_of(target) is None:
        raise SpecError(f"the folder must be inside {root} or a Unity Catalog volume (/Volumes/...), not {folder}")


def job(settings: Settings, job_id: str, *, user: str, role: str) -> jobs.Job:
    """A job the user may see (their own; anyone's for managers and admins); one whose Databricks Job
    run ended without finishing it is marked failed then (services/runs.py)."""
    warehouse = get_warehouse(warehouse_key(settings))
    found = access.visible_job(warehouse, job_id, user=user, role=role)
    return found if found.finished else runs.runner(settings).export_job(warehouse, job_id, known=found)


def history(settings: Settings, *, user: str, role: str) -> pd.DataFrame:
    """The jobs the user may see, newest first."""
    return access.visible_history(get_warehouse(warehouse_key(settings)), user=user, role=role)


def download_button(settings: Settings, job: jobs.Job, *, key: str, user: str, role: str) -> None:
    """Offer a finished file job's output as a download (or name its path when it is too large), to a
    user who may have it; the click writes the download's audit row.

    A diff to an upload platform has a second file, of the members to remove.
    """
    if not job.output_path or job.status != "succeeded" or not access.may_see(job, user=user, role=role):
        return
    if not access.may_download(job, user=user, role=role):
        st.caption("This file holds contact identifiers in clear: only admins may download it.")
        return
    stores = file_stores(settings)
    found = access.available(job, stores=stores)
    if not found:
        st.caption(f"Output: `{job.output_path}`")
    for i, (path, size) in enumerate(found):
        _download(settings, job, path, size, key=key if i == 0 else f"{key}_removals", user=user, role=role)


def _download(settings: Settings, job: jobs.Job, path: Path, size: int, *, key: str, user: str, role: str) -> None:
    """The download button of one file of ``size`` bytes (found through its store: a volume on Databricks)."""
    if size > MAX_DOWNLOAD_BYTES:
        st.caption(f"Output ({size / 1e6:,.0f} MB, too large to download here): `{path}`")
        return
    mime = "application/octet-stream" if path.suffix == ".parquet" else "text/csv"
    warehouse = get_warehouse(warehouse_key(settings))

    def audited() -> bytes:
        # Called only when the button is clicked (not on every rerun of the live-status fragment):
        # the permission is checked again and the download audited as the bytes are read.
        return access.download(warehouse, job, path, user=user, role=role, stores=file_stores(settings))

    st.download_button(f"Download {path.name}", data=audited, file_name=path.name, mime=mime, key=key)


@st.cache_data(ttl=10, show_spinner=False)
def recent_jobs(path: str, *, user: str, role: str, limit: int = 5) -> pd.DataFrame:
    """The newest export jobs the user may see, for Home (a few seconds stale is fine there; the
    Exports page reads live)."""
    return access.visible_history(get_warehouse(path), user=user, role=role, limit=limit)
