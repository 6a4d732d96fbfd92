"""Helpers shared by the command-line front ends (``preimage/cli.py`` and the subcommands
that live next to their subject: ``conv/cli.py``, ``analysis/cli.py``, ``plotting/cli.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["console", "emit_json", "jsonable"]


def console(quiet: bool = False):
    """A rich console for reports (wide when stdout is a pipe, so tables are not squeezed)."""
    from rich.console import Console

    return Console(quiet=quiet, highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def jsonable(value: Any):
    """``json.dumps`` ``default=``: numpy arrays and scalars, paths."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(obj: dict) -> None:
    """Print ``obj`` as one JSON line (the last line of stdout for ``--json``)."""
    sys.stdout.write(json.dumps(obj, default=jsonable) + "\n")
    sys.stdout.flush()
