"""Vertices, rays and lines of small polyhedra by double description (pycddlib).

Vertex enumeration is exponential in general; it is meant for small pieces (pictures,
checks, low-dimensional inputs). The H-representation is passed to cdd in floating point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import tolerances
from .._validation import readonly
from ..errors import SolverError

if TYPE_CHECKING:  # pragma: no cover - annotations only (and polyhedron imports this module)
    from numpy.typing import NDArray

    from .polyhedron import Polyhedron

__all__ = ["Generators", "generators"]


@dataclass(frozen=True, slots=True)
class Generators:
    """V-representation ``conv(vertices) + cone(rays) + span(lines)``."""

    vertices: NDArray[np.float64]
    rays: NDArray[np.float64]
    lines: NDArray[np.float64]


def generators(P: Polyhedron) -> Generators:
    """Vertices, extreme rays and lineality directions of the polyhedron ``P``.

    >>> from preimage.polyhedra.polyhedron import Polyhedron
    >>> g = generators(Polyhedron([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0]))
    >>> sorted(map(tuple, g.vertices.round(9).tolist()))
    [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)]
    """
    import cdd

    n = P.ambient_dim
    empty = np.zeros((0, n))
    if P.is_empty():
        return Generators(readonly(empty), readonly(empty.copy()), readonly(empty.copy()))
    # cdd rows are [b, -A] meaning b - A x >= 0; equalities go in the linearity set
    rows = np.vstack([np.hstack([P.b[:, None], -P.A]), np.hstack([P.d[:, None], -P.C])])
    lin = set(range(P.n_inequalities, P.n_inequalities + P.n_equalities))
    if rows.shape[0] == 0:
        return Generators(readonly(np.zeros((1, n))), readonly(empty), readonly(np.eye(n)))
    try:
        mat = cdd.matrix_from_array(rows.tolist(), lin_set=lin, rep_type=cdd.RepType.INEQUALITY)
        poly = cdd.polyhedron_from_matrix(mat)
        gen = cdd.copy_generators(poly)
    except Exception as exc:  # cdd raises bare RuntimeError/ValueError
        raise SolverError(f"cdd could not enumerate the vertices: {exc}") from exc
    arr = np.asarray(gen.array, dtype=np.float64).reshape(-1, n + 1)
    is_line = np.zeros(arr.shape[0], dtype=bool)
    is_line[list(gen.lin_set)] = True
    # cdd computes in floating point: a ray can come out with a tiny homogenising
    # coordinate instead of 0 (a "vertex" at 1e13). Read such rows as rays.
    direction = np.linalg.norm(arr[:, 1:], axis=1)
    kind = np.where(np.abs(arr[:, 0]) <= tolerances.FEASIBILITY * np.maximum(direction, 1.0), 0.0, arr[:, 0])
    point = (kind != 0) & ~is_line
    vertices = arr[point, 1:] / kind[point, None]
    rays = arr[(kind == 0) & ~is_line, 1:]
    lines = arr[is_line, 1:]
    _verify(P, vertices, rays, lines)
    return Generators(readonly(vertices), readonly(rays), readonly(lines))


def _verify(
    P: Polyhedron, vertices: NDArray[np.float64], rays: NDArray[np.float64], lines: NDArray[np.float64]
) -> None:
    """Refuse a V-representation that does not satisfy the H-representation."""
    tol = tolerances.CONTAINS
    if vertices.size and not np.all(P.contains(vertices, tol=tol * max(1.0, float(np.abs(vertices).max())))):
        raise SolverError("cdd's floating-point vertices fail the polyhedron's constraints; the piece is too "
                          "ill-conditioned for vertex enumeration")
    for R, both in ((rays, False), (lines, True)):
        if R.size == 0:
            continue
        U = R / np.linalg.norm(R, axis=1, keepdims=True)
        bad = np.any(U @ P.A.T > tol, axis=1) | np.any(np.abs(U @ P.C.T) > tol, axis=1)
        if both:
            bad |= np.any(-U @ P.A.T > tol, axis=1)
        if np.any(bad):
            raise SolverError("cdd's floating-point rays fail the polyhedron's recession cone; the piece is too "
                              "ill-conditioned for vertex enumeration")
