"""Entry point of the bundle's jobs: one Segment Studio CLI command on Databricks.

The jobs in databricks.yml run this file as a Python-script task. It runs the
same ``main`` as ``python -m services.cli``, with the same arguments. A
script task on serverless compute cannot set environment variables, so the
job passes settings as ``NAME=value`` arguments before a ``--``; they are laid
over the process environment and read by ``Settings.from_env`` as usual::

    run_cli.py SEGMENT_STUDIO_SETTINGS_FILE=/Workspace/.../segment_studio.toml -- build --quiet
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# A script task starts with the script's own folder on sys.path; the
# project's packages live one level up, at the bundle's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.cli import main  # noqa: E402  (needs the path above)


def split(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """``NAME=value ... -- command args`` -> (settings, command line)."""
    if "--" not in argv:
        return {}, argv
    cut = argv.index("--")
    pairs, command = argv[:cut], argv[cut + 1:]
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise SystemExit(f"error: settings before '--' must be NAME=value, got {bad}")
    return dict(p.split("=", 1) for p in pairs), command


if __name__ == "__main__":
    settings, command = split(sys.argv[1:])
    sys.exit(main(command, env={**os.environ, **settings}))
