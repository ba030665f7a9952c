"""Fixtures shared by the segment tests: a segment library backed by a dict."""

from __future__ import annotations

import pytest

from services.errors import CompileError


@pytest.fixture
def library_resolver():
    """Build a resolver over ``{segment_id: definition}`` that records each lookup."""

    def build(library: dict):
        def resolve(segment_id: str, version: int | None):
            resolve.calls.append((segment_id, version))
            if segment_id not in library:
                raise CompileError(f"segment {segment_id!r} is not in the library")
            return library[segment_id]

        resolve.calls = []
        return resolve

    return build
