"""The feature catalog that knows the saved clustering runs and lookalike models.

A segment may be "in cluster 2 of run X" or "in lookalike model Y at 10%
reach"; the catalog rejects a run or model it does not know. Everything that
compiles a saved segment outside the pages (exports, the CLI) loads the
catalog here, so such a segment compiles the same way it does in the builder
(which adds them from its own cache, components/segments.py).
"""

from __future__ import annotations

from services.cluster_runs import catalog_runs
from services.lookalike_store import model_ids
from services.segments.catalog import FeatureCatalog, load_catalog


def load_catalog_with_saved(warehouse) -> FeatureCatalog:
    return load_catalog(warehouse, cluster_runs=catalog_runs(warehouse), lookalike_models=model_ids(warehouse))
