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

from components.segments import build_marker, listed_versions, workspace
from components.warehouse import get_warehouse, warehouse_key
from services.errors import SpecError
from services.exports import jobs, preflight
from services.exports.base import Destination, ExportRequest, Option
from services.exports.destinations import destination
from services.exports.files import removals_path
from services.settings import Settings

#: files above this size are offered by path, not as an in-page download
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024


@st.cache_data(ttl=60, max_entries=200, show_spinner=False)
def _cached_preflight(path: str, marker: str, request_json: str, role: str, price: float) -> preflight.Preflight:
    # The page listed the segments with their latest versions: compiling one of those reads nothing more.
    return preflight.preflight(get_warehouse(path), ExportRequest.from_json(request_json), role=role,
                               price_per_warehouse_hour=price, workspace=workspace(path, known=listed_versions(path)))


def preflight_check(settings: Settings, request: ExportRequest, role: str) -> preflight.Preflight:
    path = warehouse_key(settings)
    return _cached_preflight(path, build_marker(path), request.to_json(), role, settings.price_per_warehouse_hour)


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


def rerun_request(request: ExportRequest, typed: dict[str, object]) -> tuple[ExportRequest, list[str]]:
    """A past job's request with the secrets typed in the form above (job rows never keep them),
    and the labels of those its destination needs but the form does not hold."""
    secret = [o for o in destination(request.destination).options if o.secret]
    missing = [o.label.lower() for o in secret if not typed.get(o.name)]
    return replace(request, **{o.name: typed.get(o.name) for o in secret}), missing


def start_export(settings: Settings, request: ExportRequest, *, user: str, role: str,
                 override_dq_gate: bool = False) -> str:
    """Create the job (permission and DQ gates) and run it on a background thread; return its id."""
    _check_folder(settings, request.folder)
    path = warehouse_key(settings)
    warehouse = get_warehouse(path)
    # The click's workspace (the cached catalog) compiles the segment once, for the job and its run.
    queued = jobs.create_job(warehouse, request, user=user, role=role, override_dq_gate=override_dq_gate,
                             workspace=workspace(path, known=listed_versions(path)))
    jobs.start(warehouse, queued, output_dir=Path(settings.export_dir))
    return queued.job_id


def _check_folder(settings: Settings, folder: str | None) -> None:
    """A folder typed in the page must be inside the export folder or a Unity Catalog volume.

    The app writes with its own rights; a user must not be able to point it at any path
    on the server. (The CLI runs as its operator and may write where they say.)
    """
    if not folder:
        return
    root = Path(settings.export_dir).resolve()
    target = Path(folder).resolve()
    if target != root and root not in target.parents and not str(target).startswith("/Volumes/"):
        raise SpecError(f"the folder must be inside {root} or a Unity Catalog volume (/Volumes/...), not {folder}")


def job(settings: Settings, job_id: str) -> jobs.Job:
    return jobs.get(get_warehouse(warehouse_key(settings)), job_id)


def history(settings: Settings) -> pd.DataFrame:
    return jobs.history(get_warehouse(warehouse_key(settings)))


def download_button(job: jobs.Job, *, key: str) -> None:
    """Offer a finished file job's output as a download (or name its path when it is too large).

    A diff to an upload platform has a second file, of the members to remove.
    """
    if not job.output_path or job.status != "succeeded":
        return
    paths = [Path(job.output_path)]
    if job.mode == "diff" and removals_path(paths[0]).is_file():
        paths.append(removals_path(paths[0]))
    for i, path in enumerate(paths):
        _download(path, key=key if i == 0 else f"{key}_removals")


def _download(path: Path, *, key: str) -> None:
    if not path.is_file():
        st.caption(f"Output: `{path}`")
        return
    size = path.stat().st_size
    if size > MAX_DOWNLOAD_BYTES:
        st.caption(f"Output ({size / 1e6:,.0f} MB, too large to download here): `{path}`")
        return
    mime = "application/octet-stream" if path.suffix == ".parquet" else "text/csv"
    # A callable is read only when the button is clicked, not on every rerun of the live-status fragment.
    st.download_button(f"Download {path.name}", data=path.read_bytes, file_name=path.name, mime=mime, key=key)
