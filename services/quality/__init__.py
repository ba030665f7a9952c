"""The app's own data-quality checks on silver and gold, run after every build.

::

    specs.py    the table of checks (CHECKS): the tests of the models' contracts (sql/models/**/*.yml)
                and the few on tables no model writes, each with the gold features it affects
    rules.py    checks that are one query over the table: keys, values, references
    recorded.py checks judged from what the pipeline recorded: freshness vs SLA, row-count drift,
                reconciliation
    checks.py   run_checks: evaluate every spec, write one gov fact_data_quality row per check
    results.py  read back: latest_results, failing_critical, field_health
"""

from services.quality.checks import CheckResult, run_checks
from services.quality.results import (
    FieldHealth,
    failing_critical,
    field_health,
    latest_failures,
    latest_results,
)
from services.quality.specs import CHECKS, CheckSpec

__all__ = [
    "CHECKS",
    "CheckResult",
    "CheckSpec",
    "FieldHealth",
    "failing_critical",
    "field_health",
    "latest_failures",
    "latest_results",
    "run_checks",
]
