"""Shared fixtures: where the ACAS Xu benchmark lies, hypothesis profiles, small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
_CANDIDATES = [
    Path(os.environ.get("PREIMAGE_ACASXU", "")),
    ROOT / "benchmarks" / "acasxu",  # a copy of ../shared/benchmarks/acasxu ships with the repo
    ROOT.parent / "shared" / "benchmarks" / "acasxu",
]

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def acasxu_dir() -> Path | None:
    for c in _CANDIDATES:
        if str(c) and (c / "onnx").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def acasxu() -> Path:
    d = acasxu_dir()
    if d is None:
        pytest.fail("the ACAS Xu benchmark (benchmarks/acasxu) is missing; set PREIMAGE_ACASXU")
    return d
