"""Axis-aligned boxes ``{x : lo <= x <= hi}`` — the usual input domain.

A box may have zero width in some coordinates (a lower-dimensional box, as in ACAS Xu
property 4); those coordinates become equalities in :meth:`Box.as_polyhedron`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tolerances
from .._validation import as_points, as_vector, readonly
from ..errors import InvalidInputError
from .polyhedron import Polyhedron

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from numpy.typing import ArrayLike, NDArray

__all__ = ["Box"]


@dataclass(frozen=True, slots=True, eq=False)
class Box:
    """The box ``{x : lo <= x <= hi}`` with finite bounds and ``lo <= hi``.

    Examples
    --------
    >>> B = Box([0.0, 0.0, 1.0], [1.0, 2.0, 1.0])
    >>> B.dim, B.ambient_dim, B.widths.tolist()
    (2, 3, [1.0, 2.0, 0.0])
    >>> B.contains([[0.5, 1.0, 1.0], [0.5, 1.0, 1.5]]).tolist()
    [True, False]
    """

    lo: NDArray[np.float64]
    hi: NDArray[np.float64]

    def __init__(self, lo: ArrayLike, hi: ArrayLike) -> None:
        lo_arr = as_vector("lo", lo)
        hi_arr = as_vector("hi", hi, length=lo_arr.shape[0])
        bad = np.flatnonzero(lo_arr > hi_arr)
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(
                f"box bounds must satisfy lo <= hi, but lo[{i}] = {float(lo_arr[i])} > hi[{i}] = {float(hi_arr[i])}"
                + (f" (and {bad.size - 1} more coordinates)" if bad.size > 1 else "")
            )
        object.__setattr__(self, "lo", readonly(lo_arr))
        object.__setattr__(self, "hi", readonly(hi_arr))

    @classmethod
    def cube(cls, n: int, radius: float = 1.0, center: ArrayLike | None = None) -> Box:
        """The cube ``center ± radius`` in ``n`` dimensions."""
        c = np.zeros(n) if center is None else as_vector("center", center, length=n)
        return cls(c - radius, c + radius)

    def __repr__(self) -> str:
        return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Box):
            return NotImplemented
        return np.array_equal(self.lo, other.lo) and np.array_equal(self.hi, other.hi)

    __hash__ = None  # type: ignore[assignment]

    @property
    def ambient_dim(self) -> int:
        return int(self.lo.shape[0])

    @property
    def widths(self) -> NDArray[np.float64]:
        return self.hi - self.lo

    @property
    def center(self) -> NDArray[np.float64]:
        return (self.lo + self.hi) / 2

    @property
    def dim(self) -> int:
        """Number of coordinates of positive width (the dimension of the box)."""
        return int(np.sum(self.widths > 0))

    def is_empty(self, tol: float | None = None) -> bool:
        """Always ``False``: a box is checked non-empty at construction."""
        return False

    def is_bounded(self) -> bool:
        return True

    def contains(self, X: ArrayLike, tol: float | None = None) -> NDArray[np.bool_] | bool:
        """Whether each point lies in the box (within ``tol`` per coordinate)."""
        tol = tolerances.resolve(tol, tolerances.CONTAINS)
        pts, single = as_points("X", X, self.ambient_dim)
        out = np.all((pts >= self.lo - tol) & (pts <= self.hi + tol), axis=1)
        return bool(out[0]) if single else out

    def sample(self, n: int, seed: int | None = None) -> NDArray[np.float64]:
        """``n`` points drawn uniformly from the box."""
        if int(n) < 0:
            raise InvalidInputError(f"n must be a non-negative number of samples, got {n}")
        rng = np.random.default_rng(seed)
        return self.lo + rng.random((int(n), self.ambient_dim)) * self.widths

    def vertices(self) -> NDArray[np.float64]:
        """The ``2**dim`` corners (zero-width coordinates give one value)."""
        free = np.flatnonzero(self.widths > 0)
        corners = np.tile(self.lo, (1 << len(free), 1))
        bits = (np.arange(1 << len(free))[:, None] >> np.arange(len(free))) & 1
        corners[:, free] = np.where(bits == 1, self.hi[free], self.lo[free])
        return corners

    def chebyshev_center(self) -> tuple[NDArray[np.float64], float]:
        w = self.widths[self.widths > 0]
        return self.center, float(w.min() / 2) if w.size else 0.0

    def relative_interior_point(self) -> NDArray[np.float64]:
        return self.center.copy()

    def as_polyhedron(self) -> Polyhedron:
        """The box as ``{x : A x <= b, C x = d}``; zero-width coordinates are equalities."""
        n = self.ambient_dim
        flat = self.widths <= 0
        eye = np.eye(n)
        free = ~flat
        A = np.vstack([eye[free], -eye[free]])
        b = np.concatenate([self.hi[free], -self.lo[free]])
        return Polyhedron._trusted(
            np.ascontiguousarray(A), b, np.ascontiguousarray(eye[flat]), self.lo[flat].copy()
        )

    def bounding_box(self) -> Box:
        return self

    def intersect(self, other: Box | Polyhedron | Any) -> Box | Polyhedron:
        """Intersection with a box (a box) or a polyhedron (a polyhedron)."""
        if isinstance(other, Box):
            lo, hi = np.maximum(self.lo, other.lo), np.minimum(self.hi, other.hi)
            if np.any(lo > hi):
                return Polyhedron(np.zeros((1, self.ambient_dim)), [-1.0])
            return Box(lo, hi)
        return self.as_polyhedron().intersect(other)

    def to_dict(self) -> dict[str, Any]:
        return {"lo": self.lo.tolist(), "hi": self.hi.tolist()}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save to ``.npz`` or ``.json`` (by suffix)."""
        from .io import save

        save(self, path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Box:
        try:
            return cls(data["lo"], data["hi"])
        except KeyError as exc:
            raise InvalidInputError(f"a box dictionary needs 'lo' and 'hi', missing {exc}") from exc
