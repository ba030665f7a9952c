"""Governance: the catalog of the project's own datasets and their PII columns."""

from services.governance.registry import (
    CLASSIFICATIONS,
    DATASET_IDS,
    DATASETS,
    GOLD_DATASETS,
    OWNERS,
    PII_TAG,
    SEED_DATASETS,
    SENSITIVITIES,
    Dataset,
    dataset,
    dataset_id,
    registration_rows,
)

__all__ = [
    "CLASSIFICATIONS",
    "DATASET_IDS",
    "DATASETS",
    "GOLD_DATASETS",
    "OWNERS",
    "PII_TAG",
    "SEED_DATASETS",
    "SENSITIVITIES",
    "Dataset",
    "dataset",
    "dataset_id",
    "registration_rows",
]
