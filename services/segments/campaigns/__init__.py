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
from services.segments.compiler import compile_definition
from services.segments.estimate import count
from services.segments.library import SegmentLibrary
from services.segments.spec import SegmentDefinition
from services.warehouse import Warehouse

CAMPAIGN_DIR = Path(__file__).resolve().parent
SAMPLE_AUTHOR = "segment-studio-samples"


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
    catalog = load_catalog(warehouse)
    outcome = {}
    for sample in sample_campaigns():
        if sample.segment_id in existing:
            outcome[sample.segment_id] = "already installed"
            continue
        try:
            compiled = compile_definition(sample.definition, catalog, segment_id=sample.segment_id)
            size = count(warehouse, compiled)
        except SegmentStudioError as exc:
            outcome[sample.segment_id] = f"skipped: {exc}"
            continue
        library.save(sample.definition, author=SAMPLE_AUTHOR, new_id=sample.segment_id, note="sample campaign",
                     sql_databricks=compiled.sql("databricks"), audience_size=size,
                     as_of_date=catalog.as_of_date, is_sample=True, brief=sample.brief)
        outcome[sample.segment_id] = f"installed ({size:,} members)"
    return outcome
