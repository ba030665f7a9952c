"""A progress bar for a slow service call: a leaf any component or page may use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st


@contextmanager
def progress_bar(text: str = "starting") -> Iterator[Callable[[str, float], None]]:
    """Yield a ``progress(step, fraction)`` callback (fractions clamped to 0..1) and remove the
    bar when the call ends, however it ends."""
    bar = st.progress(0.0, text=text)
    try:
        yield lambda step, fraction: bar.progress(min(max(fraction, 0.0), 1.0), text=step)
    finally:
        bar.empty()
