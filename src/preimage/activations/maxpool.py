"""Max pooling, 1-D and 2-D: each output is the largest entry of its window (a k-way branch).

The pre-activation is laid out as PyTorch and ONNX lay it out, channel first, flattened:
``(C, L)`` for 1-D, ``(C, H, W)`` for 2-D. Padding adds no candidates (a padded position is
``−∞``); dilation 1 and floor rounding (PyTorch's defaults) are supported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .base import MAX, Activation, UnitTable, _table

__all__ = ["MaxPool"]


def _ints(name: str, value: Any, n: int) -> tuple[int, ...]:
    vals = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(vals) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise InvalidInputError(f"{name} of a {n}-D MaxPool must be an integer or {n} integers, got {value!r}")
    return tuple(int(v) for v in vals)


class MaxPool(Activation):
    """``h[c, i] = max`` of the window of output position ``i`` in channel ``c``.

    ``in_shape`` is ``(C, L)`` (1-D) or ``(C, H, W)`` (2-D); ``kernel``, ``stride`` (default:
    the kernel) and ``padding`` are an integer or one per spatial axis. Branch ``j`` of a
    unit: the ``j``-th entry of its window (row-major) is the first largest.

    >>> pool = MaxPool((1, 4), kernel=2)
    >>> Z = np.array([[1.0, 3.0, -2.0, -5.0]])
    >>> pool.evaluate(Z).tolist(), pool.branches(Z).tolist()
    ([[3.0, -2.0]], [[1, 0]])
    """

    name = "maxpool"

    def __init__(self, in_shape: Sequence[int], kernel: Any, stride: Any = None, padding: Any = 0) -> None:
        shape = tuple(int(v) for v in in_shape)
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise InvalidInputError(f"in_shape of a MaxPool must be (C, L) or (C, H, W) with positive sizes, "
                                    f"got {tuple(in_shape)!r}")
        n = len(shape) - 1
        k = _ints("kernel", kernel, n)
        s = _ints("stride", k if stride is None else stride, n)
        p = _ints("padding", padding, n)
        if min(k) < 1 or min(s) < 1 or min(p) < 0:
            raise InvalidInputError(f"a MaxPool needs kernel >= 1, stride >= 1, padding >= 0; got {k}, {s}, {p}")
        if any(2 * pp > kk for pp, kk in zip(p, k)):
            raise InvalidInputError(f"padding must be at most half the kernel (as in PyTorch), got padding {p} "
                                    f"for kernel {k}")
        spatial = shape[1:]
        out = tuple((size + 2 * pp - kk) // ss + 1 for size, kk, ss, pp in zip(spatial, k, s, p))
        if min(out) < 1:
            raise InvalidInputError(f"a MaxPool with kernel {k} and padding {p} does not fit inputs of shape {shape}")
        self.in_shape, self.kernel, self.stride, self.padding = shape, k, s, p
        self._out_spatial = out
        self.windows = self._windows()
        self._table: UnitTable | None = None

    def _windows(self) -> list[np.ndarray]:
        C, spatial = self.in_shape[0], self.in_shape[1:]
        index = np.arange(int(np.prod(self.in_shape))).reshape(self.in_shape)
        wins = []
        for c in range(C):
            for pos in np.ndindex(*self._out_spatial):
                sl = []
                for axis, i in enumerate(pos):
                    start = i * self.stride[axis] - self.padding[axis]
                    lo, hi = max(start, 0), min(start + self.kernel[axis], spatial[axis])
                    sl.append(slice(lo, hi))
                key: tuple[int | slice, ...] = (c, *sl)
                wins.append(index[key].reshape(-1))
        return wins

    def out_dim(self, n_in: int) -> int:
        self._check(n_in)
        return len(self.windows)

    def max_branches(self, n_in: int) -> int:
        self._check(n_in)
        return max(int(w.shape[0]) for w in self.windows)

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.in_shape[0], *self._out_spatial)

    def _check(self, n_in: int) -> None:
        if n_in != int(np.prod(self.in_shape)):
            raise InvalidInputError(f"this MaxPool takes inputs of shape {self.in_shape} "
                                    f"({int(np.prod(self.in_shape))} entries), got {n_in}")

    def _gather(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Z = np.asarray(Z, dtype=np.float64)
        self._check(Z.shape[-1])
        k = max(w.shape[0] for w in self.windows)
        idx = np.array([np.pad(w, (0, k - w.shape[0]), constant_values=-1) for w in self.windows])
        vals = np.where(idx >= 0, Z[..., np.maximum(idx, 0)], -np.inf)
        return vals, idx

    def evaluate(self, Z: np.ndarray) -> np.ndarray:
        vals, _ = self._gather(Z)
        out: np.ndarray = vals.max(axis=-1)
        return out

    def branches(self, Z: np.ndarray) -> np.ndarray:
        vals, _ = self._gather(Z)
        out: np.ndarray = vals.argmax(axis=-1).astype(np.int8)
        return out

    def table(self, n_in: int) -> UnitTable:
        self._check(n_in)
        if self._table is None:
            dec: list[tuple[int, int, float, int]] = []
            units = []
            for u, w in enumerate(self.windows):
                k = w.shape[0]
                pair = {}
                for i in range(k):
                    for j in range(i + 1, k):
                        pair[i, j] = len(dec)
                        dec.append((int(w[i]), int(w[j]), 0.0, u))  # z[w_i] - z[w_j] >= 0: w_i is not smaller
                branches = []
                for j in range(k):
                    reqs = [(pair[i, j], 0) for i in range(j)] + [(pair[j, i], 1) for i in range(j + 1, k)]
                    branches.append((int(w[j]), 1.0, 0.0, reqs))
                units.append((MAX, branches))
            self._table = _table(n_in, dec, units)
        return self._table

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "in_shape": list(self.in_shape), "kernel": list(self.kernel),
                "stride": list(self.stride), "padding": list(self.padding)}
