"""HardTanh / clip, ``min(max(z, lo), hi)``: three pieces (ReLU6 is ``HardTanh(0, 6)``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .base import PiecewiseLinear

__all__ = ["HardTanh"]


class HardTanh(PiecewiseLinear):
    """``h = min(max(z, lo), hi)``: branch 0 (``z <= lo``, ``h = lo``), 1 (``h = z``), 2 (``z > hi``, ``h = hi``).

    >>> HardTanh(-1.0, 1.0).evaluate(np.array([[-3.0, 0.5, 2.0]])).tolist()
    [[-1.0, 0.5, 1.0]]
    """

    name = "hardtanh"

    def __init__(self, lo: float = -1.0, hi: float = 1.0) -> None:
        try:
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"HardTanh bounds must be real numbers, got {lo!r}, {hi!r}") from exc
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise InvalidInputError(f"HardTanh needs finite bounds lo < hi, got lo={lo!r}, hi={hi!r}")
        self.lo, self.hi = lo, hi
        super().__init__([lo, hi], [0.0, 1.0, 0.0], [lo, 0.0, hi])

    def evaluate(self, Z: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.clip(Z, self.lo, self.hi)
        return out

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "lo": self.lo, "hi": self.hi}
