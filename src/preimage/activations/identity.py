"""The identity: a layer without activation (e.g. the logits); one branch, nothing to decide."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import PiecewiseLinear

__all__ = ["Identity"]


class Identity(PiecewiseLinear):
    """``h = z``."""

    name = "identity"

    def __init__(self) -> None:
        super().__init__([], [1.0], [0.0])

    def evaluate(self, Z: np.ndarray) -> np.ndarray:
        return Z

    def branches(self, Z: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(Z), dtype=np.int8)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name}
