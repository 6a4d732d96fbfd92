"""Input domains for the engine: boxes, polyhedra, unions of boxes, and affine slices.

The engine works in coordinates ``u`` of the domain's affine hull: ``x = x0 + B u`` with
``B`` orthonormal (``n × k``). A box with zero-width coordinates, a polyhedron with
equalities, or a 2-D/3-D slice of a high-dimensional input all become a full-dimensional
domain in ``u``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tolerances
from .._validation import as_matrix, as_vector, readonly
from ..errors import InvalidInputError
from ..polyhedra import Box, Polyhedron

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from numpy.typing import ArrayLike, NDArray

__all__ = ["Slice", "DomainChart", "chart", "as_domains"]


@dataclass(frozen=True, slots=True, eq=False)
class Slice:
    """The affine slice ``{origin + directions @ t : lo <= t <= hi}`` of the input space.

    Use it as a domain to enumerate regions on a 2-D or 3-D section of a high-dimensional
    input (e.g. the plane through three data points: :meth:`through`).
    """

    origin: NDArray[np.float64]
    directions: NDArray[np.float64]  # (n, k)
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]

    def __init__(self, origin: ArrayLike, directions: ArrayLike, lo: ArrayLike | None = None,
                 hi: ArrayLike | None = None) -> None:
        o = as_vector("origin", origin)
        D = as_matrix("directions", directions, rows=o.shape[0])
        k = D.shape[1]
        if k < 1 or np.linalg.matrix_rank(D) < k:
            raise InvalidInputError(
                f"directions must be {k} linearly independent columns, got rank {np.linalg.matrix_rank(D)}"
            )
        lo_a = np.zeros(k) if lo is None else as_vector("lo", lo, length=k)
        hi_a = np.ones(k) if hi is None else as_vector("hi", hi, length=k)
        if np.any(lo_a >= hi_a):
            raise InvalidInputError(f"slice bounds must satisfy lo < hi, got lo={lo_a.tolist()}, hi={hi_a.tolist()}")
        object.__setattr__(self, "origin", readonly(o))
        object.__setattr__(self, "directions", readonly(D))
        object.__setattr__(self, "lo", readonly(lo_a))
        object.__setattr__(self, "hi", readonly(hi_a))

    @classmethod
    def through(cls, points: ArrayLike, margin: float = 0.25) -> Slice:
        """The 2-D (3 points) or 3-D (4 points) slice through ``points``: ``t`` are the
        barycentric-like coordinates ``x = p0 + Σ t_i (p_i - p0)``, over ``[-margin, 1 + margin]``.
        """
        P = as_matrix("points", points)
        if P.shape[0] not in (3, 4):
            raise InvalidInputError(f"points must be 3 (a plane) or 4 (a 3-D slice) points, got {P.shape[0]}")
        D = (P[1:] - P[0]).T
        k = D.shape[1]
        return cls(P[0], D, np.full(k, -margin), np.full(k, 1.0 + margin))

    @property
    def dim(self) -> int:
        return int(self.directions.shape[1])

    def to_input(self, T: ArrayLike) -> NDArray[np.float64]:
        """Input points ``x`` for slice coordinates ``t`` (``(N, k)``)."""
        return self.origin + np.atleast_2d(T) @ self.directions.T


@dataclass(frozen=True, slots=True, eq=False)
class DomainChart:
    """A domain in chart coordinates: ``x = x0 + B u`` with ``u`` in a box or polyhedron.

    ``x_polyhedron`` is the domain in input coordinates (used for the H-representation of
    pieces); ``u_box`` is set for box-like domains (fast vertex start), else ``u_polyhedron``.
    ``slice`` is set for :class:`Slice` domains (then ``B`` need not be orthonormal).
    """

    x0: NDArray[np.float64]
    B: NDArray[np.float64]
    u_box: Box | None
    u_polyhedron: Polyhedron | None
    x_polyhedron: Polyhedron | None
    slice: Slice | None = None

    @property
    def dim(self) -> int:
        return int(self.B.shape[1])

    @property
    def input_dim(self) -> int:
        return int(self.B.shape[0])

    def to_input(self, U: ArrayLike) -> NDArray[np.float64]:
        return self.x0 + np.atleast_2d(U) @ self.B.T

    def u_constraints(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The domain as ``A_u u <= b_u`` (facet order as in the vertex start)."""
        if self.u_box is not None:
            k = self.dim
            A = np.zeros((2 * k, k))
            b = np.zeros(2 * k)
            for j in range(k):
                A[2 * j, j], b[2 * j] = 1.0, self.u_box.hi[j]
                A[2 * j + 1, j], b[2 * j + 1] = -1.0, -self.u_box.lo[j]
            return A, b
        assert self.u_polyhedron is not None
        return np.asarray(self.u_polyhedron.A), np.asarray(self.u_polyhedron.b)

    def rows_to_input(self, A_u: NDArray[np.float64],
                      c_u: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Rows ``A_u u + c_u <= 0`` as rows ``A_x x + c_x <= 0`` valid on the domain's hull."""
        if self.slice is not None:
            # u are slice coordinates: the piece lives in the slice (returned in u)
            return A_u, c_u
        A_x = A_u @ self.B.T
        return A_x, c_u - A_x @ self.x0


def chart(domain: object, n: int) -> DomainChart:
    """The chart of a bounded domain in ``R^n`` (a Box, Polyhedron or Slice)."""
    if isinstance(domain, Slice):
        if domain.origin.shape[0] != n:
            raise InvalidInputError(
                f"the slice lives in dimension {domain.origin.shape[0]}, the network takes {n} inputs"
            )
        return DomainChart(domain.origin, domain.directions, Box(domain.lo, domain.hi), None, None, domain)
    if isinstance(domain, Box):
        if domain.ambient_dim != n:
            raise InvalidInputError(
                f"domain is a box in dimension {domain.ambient_dim}, but the network takes {n} inputs"
            )
        free = np.flatnonzero(domain.widths > 0)
        B = np.eye(n)[:, free]
        x0 = domain.lo.copy()
        x0[free] = 0.0
        return DomainChart(readonly(x0), readonly(B), Box(domain.lo[free], domain.hi[free]), None,
                           domain.as_polyhedron())
    if isinstance(domain, Polyhedron):
        if domain.ambient_dim != n:
            raise InvalidInputError(
                f"domain is a polyhedron in dimension {domain.ambient_dim}, but the network takes {n} inputs"
            )
        if domain.is_empty():
            raise InvalidInputError("the domain is empty")
        if not domain.is_bounded():
            raise InvalidInputError("the domain must be bounded: intersect it with a Box")
        hull = domain.affine_hull()
        B = hull.basis
        x0 = hull.point
        free_rows = ~hull.implicit
        A_u = domain.A[free_rows] @ B
        b_u = domain.b[free_rows] - domain.A[free_rows] @ x0
        return DomainChart(readonly(x0.copy()), readonly(B.copy()), None, Polyhedron(A_u, b_u), domain)
    raise InvalidInputError(
        f"domain must be a Box, a Polyhedron, a Slice or a list of Boxes, got {type(domain).__name__}"
    )


def as_domains(domain: object, n: int) -> list[Any]:
    """A list of domains (a union of boxes is given as a list/tuple)."""
    if domain is None:
        raise InvalidInputError("a bounded domain is required (a Box, Polyhedron, Slice or list of Boxes)")
    if isinstance(domain, (list, tuple)):
        if not domain:
            raise InvalidInputError("domain is an empty list")
        return list(domain)
    return [domain]


def vertex_start(ch: DomainChart, words: int) -> tuple[NDArray[np.float64], NDArray[np.uint64], int, int]:
    """Vertices ``X``, tight bitsets ``T``, dimension and number of facets of the chart domain."""
    from .vpoly import box_vertices

    if ch.u_box is not None:
        X, T = box_vertices(ch.u_box.lo, ch.u_box.hi, words)
        return X, T, ch.dim, 2 * ch.dim
    P = ch.u_polyhedron
    assert P is not None
    V = P.vertices()
    A, b = P.A, P.b
    slack = b[None, :] - V @ A.T
    tight = slack <= tolerances.VERTEX_SIGN * (1.0 + np.abs(b)[None, :])
    m = A.shape[0]
    if m > 64 * words:
        raise InvalidInputError(f"the domain has {m} facets, more than the engine's {64 * words} constraint slots")
    T = np.zeros((V.shape[0], words), dtype=np.uint64)
    for j in range(m):
        T[tight[:, j], j // 64] |= np.uint64(1) << np.uint64(j % 64)
    return np.array(V, dtype=np.float64, order="C"), T, ch.dim, m  # writable: one kernel signature


def check_vertex_friendly(ch: DomainChart, max_vertices: int) -> bool:
    """Whether the domain's vertex count is small enough for the vertex backend."""
    if ch.u_box is not None:
        return ch.dim <= 20 and (1 << ch.dim) <= max_vertices
    return ch.dim <= 10

