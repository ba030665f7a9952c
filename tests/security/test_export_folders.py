"""A folder typed on the Exports page: the app writes it with its own rights, so a user picks only
among the folders the app's export folder allows.

Locally: inside the export folder, or in any Unity Catalog volume (the CLI's operator may write
elsewhere; the page's user may not). With an exports volume configured (a Databricks App: its export
folder is that volume), only folders inside that volume: the app's service principal may write
other volumes (the staging volume at least), and a user must not be able to point it at them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.exports import _check_folder
from services.errors import SpecError
from services.settings import Settings

EXPORTS = "/Volumes/segment_studio/exports/files"


@pytest.mark.parametrize("folder", [
    pytest.param(None, id="none-typed"),
    pytest.param(EXPORTS, id="the-volume"),
    pytest.param(f"{EXPORTS}/exports", id="the-export-folder"),
    pytest.param(f"{EXPORTS}/campaigns/spring", id="another-folder-of-the-volume"),
])
def test_with_an_exports_volume_folders_inside_it_are_accepted(folder):
    _check_folder(Settings(export_dir=Path(EXPORTS) / "exports"), folder)


@pytest.mark.parametrize("folder", [
    pytest.param("/Volumes/segment_studio/customer_segmentation_for_retail_personalization_app/staging",
                 id="the-staging-volume"),
    pytest.param("/Volumes/segment_studio/exports/other", id="a-sibling-volume"),
    pytest.param(f"{EXPORTS}/../../exports/other", id="out-by-dot-dot"),
    pytest.param("/Volumes/segment_studio/exports/files-and-more", id="a-name-that-starts-alike"),
    pytest.param("/tmp/anywhere-else", id="the-apps-disk"),
])
def test_with_an_exports_volume_every_other_folder_is_refused(folder):
    with pytest.raises(SpecError, match=f"inside the exports volume {EXPORTS}"):
        _check_folder(Settings(export_dir=Path(EXPORTS) / "exports"), folder)


def test_without_an_exports_volume_the_export_folder_and_any_volume_are_accepted(tmp_path):
    settings = Settings(export_dir=tmp_path / "exports")
    for folder in (str(tmp_path / "exports" / "spring"), "/Volumes/any/schema/volume/folder"):
        _check_folder(settings, folder)
    for folder in ("/tmp/anywhere-else", str(tmp_path / "exports" / ".." / "other"), "/Volumes/not-a-volume"):
        with pytest.raises(SpecError, match="the folder must be inside"):
            _check_folder(settings, folder)
