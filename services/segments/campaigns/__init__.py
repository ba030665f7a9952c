"""Sample campaigns shipped with the app, loaded into the library on first build.

Each JSON file holds a fixed segment id, a campaign brief (goal, channel,
offer, KPI, suggested holdout) and an ordinary segment definition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.errors import SegmentStudioError
from services.segments.catalog import load_catalog
from services.segments.library import SegmentLibrary
from services.segments.spec import SegmentDefinition
from services.segments.workspace import Workspace, save_segment
from services.warehouse import Warehouse

CAMPAIGN_DIR = Path(__file__).resolve().parent
#: Who saves the samples: the app itself, not anyone signed in. A build installs them, and
#: building is an administrator's action (services/rbac.py), so they save in that role.
SAMPLE_AUTHOR = "segment-studio-samples"
SAMPLE_ROLE = "admin"


@dataclass(frozen=True)
class SampleCampaign:
    segment_id: str
    brief: dict
    definition: SegmentDefinition


def sample_campaigns() -> list[SampleCampaign]:
    out = []
    for path in sorted(CAMPAIGN_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out.append(SampleCampaign(data["segment_id"], data["brief"], SegmentDefinition.from_dict(data["definition"])))
    return out


def install_samples(warehouse: Warehouse) -> dict[str, str]:
    """Save every sample not yet in the library; returns id -> outcome.

    A sample whose fields or values this warehouse does not have (e.g. one
    built only from an imported file) is skipped with the reason.
    """
    library = SegmentLibrary(warehouse)
    existing = set(library.list(include_archived=True)["segment_id"])
    samples = sample_campaigns()
    outcome = {s.segment_id: "already installed" for s in samples if s.segment_id in existing}
    pending = [s for s in samples if s.segment_id not in existing]
    if not pending:
        return outcome
    # Loaded here, once: a warehouse that has no catalog fails the install, not each sample.
    workspace = Workspace(warehouse, catalog=load_catalog(warehouse), library=library)
    for sample in pending:
        try:
            saved = save_segment(workspace, sample.definition, author=SAMPLE_AUTHOR, role=SAMPLE_ROLE,
                                 new_id=sample.segment_id, note="sample campaign", is_sample=True,
                                 brief=sample.brief)
        except SegmentStudioError as exc:
            outcome[sample.segment_id] = f"skipped: {exc}"
            continue
        outcome[sample.segment_id] = f"installed ({saved.audience_size:,} members)"
    return outcome
