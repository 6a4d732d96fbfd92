"""LeakyReLU, ``z`` for ``z > 0`` and ``slope · z`` otherwise (PReLU with one constant slope)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .base import PiecewiseLinear

__all__ = ["LeakyReLU"]


class LeakyReLU(PiecewiseLinear):
    """``h = z`` if ``z > 0`` else ``slope · z`` (any finite slope; ``slope = 0`` is a ReLU).

    >>> LeakyReLU(0.1).evaluate(np.array([[-1.0, 2.0]])).tolist()
    [[-0.1, 2.0]]
    """

    name = "leaky_relu"

    def __init__(self, slope: float = 0.01) -> None:
        try:
            slope = float(slope)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"slope of a LeakyReLU must be a real number, got {slope!r}") from exc
        if not np.isfinite(slope):
            raise InvalidInputError(f"slope of a LeakyReLU must be finite, got {slope!r}")
        self.slope = slope
        super().__init__([0.0], [slope, 1.0], [0.0, 0.0])

    def evaluate(self, Z: np.ndarray) -> np.ndarray:
        return np.where(Z > 0, Z, self.slope * Z)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "slope": self.slope}
