"""One line of a benchmark table: median, spread, target and verdict.

The benchmarks print the same kind of row; only the spread they show (p90
for many fast repeats, the worst of a few slow ones) and the widths differ.
"""

from __future__ import annotations

import statistics


def row(name: str, samples: list[float], target: float | None, note: str = "", *, spread: str = "p90",
        number: str = "9.1f", name_width: int = 46, target_width: int = 9) -> str:
    med = statistics.median(samples)
    other = max(samples) if spread == "worst" else sorted(samples)[int(0.9 * (len(samples) - 1))]
    verdict = "" if target is None else ("meets" if med <= target else "MISSES")
    tgt = "" if target is None else f"<= {target:g}"
    return f"{name:<{name_width}} {med:>{number}} {other:>{number}} {tgt:>{target_width}} {verdict:>7}  {note}"
