"""A hashed upload file's rows are identical on DuckDB and on Spark.

This covers the export SQL end to end on both engines: the audience of a
compiled segment, the join to the build's identifier cache, the inline
normalisation of contacts missing from it, SHA2 and the by-value keys.
Spark gets only half of DuckDB's cache rows, so there both halves of the
source run (cached and inline) while DuckDB reads everyone from the cache.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlglot import exp

from services.exports import identifiers, selection
from services.exports.audience import source_query
from services.exports.base import ExportRequest
from services.exports.google_ads import GoogleAdsDestination
from services.exports.meta import MetaDestination
from services.segments.campaigns import sample_campaigns
from services.segments.compiler import compile_definition

pytestmark = pytest.mark.spark

CAMPAIGNS = ("sample-beauty-enthusiasts", "sample-lapsed-reactivation")


@pytest.fixture(scope="module")
def half_cached(engines):
    rows = engines.duckdb.arrow(exp.select("*").from_(identifiers.CACHE_TABLE)
                                .order_by(*[exp.column(k, quoted=True) for k in identifiers.KEY_COLUMNS]))
    every_other = pc.equal(pc.bit_wise_and(pa.array(range(rows.num_rows)), 1), 0)
    engines.spark.append(identifiers.CACHE_TABLE, rows.filter(every_other))
    return rows.num_rows


@pytest.mark.parametrize("destination", [MetaDestination(), GoogleAdsDestination()], ids=lambda d: d.name)
@pytest.mark.parametrize("segment_id", CAMPAIGNS)
def test_upload_rows_are_identical(engines, half_cached, destination, segment_id):
    definition = next(s.definition for s in sample_campaigns() if s.segment_id == segment_id)
    compiled = compile_definition(definition, engines.catalog)
    request = ExportRequest(segment_id=segment_id, version=1, destination=destination.name)
    duck = selection.fetch_members(engines.duckdb, destination, request, source_query(compiled, ()))
    spark = selection.fetch_members(engines.spark, destination, request, source_query(compiled, ()))
    assert half_cached > 0 and duck.num_rows > 10
    assert duck.column_names == spark.column_names
    assert duck.to_pylist() == spark.to_pylist()
