"""Deterministic demo data for the four platform sources: ingest, ops, gov and cost.

``generate_platform_sources`` returns one DataFrame for every one of the 80
tables, keyed by schema-qualified name, with the columns of ``sql/ddl/<source>.sql``.
Each source draws from its own generator seeded from the caller's ``rng``, so
a change in one source's generator leaves the others' rows as they were.

The project's own datasets are registered by the pipeline from
``services.governance.registry``; the gov frames here hold only upstream
datasets in ``dim_dataset``/``dim_tag`` and refer to the project's by id.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.demo.platform import cost, gov, ingest, ops

_SOURCES = (("ingest", ingest.generate), ("ops", ops.generate), ("gov", gov.generate), ("cost", cost.generate))


def generate_platform_sources(
    rng: np.random.Generator, *, start: dt.date, end: dt.date, n_customers: int
) -> dict[str, pd.DataFrame]:
    """Every ingest, ops, gov and cost table from ``start`` to ``end`` (inclusive).

    ``n_customers`` scales only a few volume figures (event counts, storage,
    affected customers); row counts stay in the tens of thousands.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    seeds = rng.integers(0, 2**63 - 1, size=len(_SOURCES))
    frames: dict[str, pd.DataFrame] = {}
    for (_, generate), seed in zip(_SOURCES, seeds):
        frames.update(generate(np.random.default_rng(seed), start=start, end=end, n_customers=n_customers))
    return frames


__all__ = ["generate_platform_sources"]
