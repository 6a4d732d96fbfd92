"""Independent oracles used by the tests: plain numpy, written without the library."""

from __future__ import annotations

import numpy as np


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def numpy_forward(specs, X: np.ndarray) -> np.ndarray:
    """An independent forward pass over ``[(W, b, relu), ...]`` written with plain numpy."""
    H = np.asarray(X, dtype=np.float64)
    for W, b, r in specs:
        H = H @ np.asarray(W, dtype=np.float64).T + b
        if r:
            H = np.maximum(H, 0.0)
    return H
