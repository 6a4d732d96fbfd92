"""ReLU, ``max(z, 0)``: two pieces, inactive (branch 0, ``z <= 0``) and active (branch 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import PiecewiseLinear

__all__ = ["ReLU"]


class ReLU(PiecewiseLinear):
    """The rectifier ``h = max(z, 0)`` (the papers' activation).

    >>> ReLU().evaluate(np.array([[-1.0, 2.0]])).tolist()
    [[0.0, 2.0]]
    """

    name = "relu"

    def __init__(self) -> None:
        super().__init__([0.0], [0.0, 1.0], [0.0, 0.0])

    def evaluate(self, Z: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(Z, 0.0)
        return out

    def branches(self, Z: np.ndarray) -> np.ndarray:
        return (Z > 0).astype(np.int8)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name}
