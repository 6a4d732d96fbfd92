"""Helpers shared by the command-line front ends (``preimage/cli.py`` and the subcommands
that live next to their subject: ``conv/cli.py``, ``analysis/cli.py``, ``plotting/cli.py``)."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ArgumentParser",
    "ProgressBar",
    "console",
    "emit_json",
    "jsonable",
    "nonnegative_int",
    "positive_int",
    "timeout_seconds",
    "positive_float",
    "writable_dir",
    "writable_file",
]

# -- argument parsing --------------------------------------------------------------------------------
_NUM = r"(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf|nan)"
#: a negative number, or a list of numbers (``,`` ``:`` ``;`` separated) starting with one
NEGATIVE_NUMBERS = re.compile(rf"^-{_NUM}(?:[,:;]-?{_NUM})*[,;]?$", re.IGNORECASE)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` that takes ``--box -1,1``, ``--kernel -1,-0.5;0.2,0`` and ``--bias -1e-3`` as values.

    Plain argparse treats an argument starting with ``-`` as an option unless it is a single
    plain negative number, so ``--box -0.1,0.1`` failed with "expected one argument". Here any
    number or list of numbers starting with ``-`` is a value. Subparsers made with
    ``add_subparsers().add_parser`` inherit the class.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBERS


def _type(name: str, check: Callable[[str], Any]) -> Callable[[str], Any]:
    check.__name__ = name  # argparse names the type in "invalid <name> value" messages
    return check


def positive_float(option: str, what: str = "a positive number") -> Callable[[str], float]:
    """An argparse ``type``: a finite number > 0."""

    def check(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not math.isfinite(v) or v <= 0:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return v

    return _type(option, check)


def timeout_seconds(option: str = "--timeout") -> Callable[[str], float | None]:
    """An argparse ``type``: seconds > 0; ``inf`` means no limit (``None``); NaN is refused."""

    def check(text: str) -> float | None:
        what = "a positive number of seconds (or inf for no limit)"
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if math.isnan(v) or v <= 0:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return None if math.isinf(v) else v

    return _type(option, check)


def _int(option: str, text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def positive_int(option: str) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= 1."""

    def check(text: str) -> int:
        v = _int(option, text, "a positive integer")
        if v < 1:
            raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
        return v

    return _type(option, check)


def nonnegative_int(option: str, note: str = "") -> Callable[[str], int]:
    """An argparse ``type``: an integer >= 0."""

    def check(text: str) -> int:
        what = "an integer >= 0" + note
        v = _int(option, text, what)
        if v < 0:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return v

    return _type(option, check)


def _writable_dir_error(d: Path) -> str | None:
    if not d.exists():
        return f"the directory {str(d)!r} does not exist"
    if not d.is_dir():
        return f"{str(d)!r} is not a directory"
    if not os.access(d, os.W_OK | os.X_OK):
        return f"the directory {str(d)!r} is not writable"
    return None


def writable_file(option: str) -> Callable[[str], str]:
    """An argparse ``type``: a file path whose directory exists and is writable (checked up front,
    so a long run does not end in a traceback when it saves)."""

    def check(text: str) -> str:
        p = Path(text).expanduser()
        if p.is_dir():
            raise argparse.ArgumentTypeError(f"must be a file path, got the directory {text!r}")
        err = _writable_dir_error(p.parent)
        if err is None and p.exists() and not os.access(p, os.W_OK):
            err = f"the file {text!r} exists and is not writable"
        if err:
            raise argparse.ArgumentTypeError(f"{text!r} cannot be written: {err}")
        return text

    return _type(option, check)


def writable_dir(option: str) -> Callable[[str], str]:
    """An argparse ``type``: a directory that exists and is writable, or can be created."""

    def check(text: str) -> str:
        p = Path(text).expanduser()
        if p.exists() and not p.is_dir():
            raise argparse.ArgumentTypeError(f"must be a directory, got the file {text!r}")
        d = p
        while not d.exists() and d != d.parent:
            d = d.parent
        err = _writable_dir_error(d)
        if err:
            raise argparse.ArgumentTypeError(f"{text!r} cannot be written: {err}")
        return text

    return _type(option, check)


# -- progress ------------------------------------------------------------------------------------------
def progress_wanted(quiet: bool) -> bool:
    """A progress display on stderr: when stderr is a terminal or ``PREIMAGE_PROGRESS=1``, never
    with ``quiet`` (``--quiet``/``--json``)."""
    if quiet:
        return False
    if os.environ.get("PREIMAGE_PROGRESS") == "1":
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """A rich progress bar on stderr, fed by ``update(description, done, total)``.

    A no-op unless :func:`progress_wanted`; stdout is never touched.
    """

    def __init__(self, quiet: bool, what: str) -> None:
        self.enabled = progress_wanted(quiet)
        self.what = what
        self.prog = None
        self.task = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.prog.__enter__()
            self.task = self.prog.add_task(self.what, total=None)
        return self

    def update(self, description: str, done: int, total: int | None) -> None:
        if self.prog is not None:
            self.prog.update(self.task, description=f"{self.what}: {description}", completed=done, total=total)

    def __exit__(self, *exc) -> bool:
        if self.prog is not None:
            self.prog.__exit__(*exc)
        return False


# -- output ----------------------------------------------------------------------------------------------


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


def _finite(value: Any) -> Any:
    """Non-finite floats (not valid JSON) as the strings ``"inf"``, ``"-inf"``, ``"nan"``."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def emit_json(obj: dict, *, finite: bool = False) -> None:
    """Print ``obj`` as one JSON line: under ``--json`` the only thing written to stdout.

    ``finite=True`` writes non-finite floats as the strings ``"inf"``/``"-inf"``/``"nan"``
    (strict JSON); by default they are written as Python's ``json`` does (``Infinity``, ``NaN``).
    """
    sys.stdout.write(json.dumps(_finite(obj) if finite else obj, default=jsonable, allow_nan=not finite) + "\n")
    sys.stdout.flush()
