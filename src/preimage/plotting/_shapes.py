"""Drawable shapes from exact polyhedra — no matplotlib, no plotly.

Every picture of :mod:`preimage.plotting` draws what the library computed: a polyhedron
(a preimage piece, a linear region, a cell, a hyperplane inside a viewing box) is turned
into a point, a segment, a polygon or the faces of a polytope *from its own vertices*
(:meth:`preimage.Polyhedron.vertices`). Unbounded sets are first intersected with a viewing
:class:`~preimage.Box`. Polygons are ordered by angle around their centroid in their own
plane; the faces of a 3-D polytope are the vertices tight on each of its inequality rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .. import tolerances
from .._validation import readonly
from ..errors import InvalidInputError

__all__ = ["Shape", "shape_of", "order_polygon", "affine_dim", "unique_points", "as_polyhedron", "in_slice"]


@dataclass(frozen=True, slots=True, eq=False)
class Shape:
    """A bounded convex set ready to be drawn.

    Attributes
    ----------
    kind : ``"empty"``, ``"point"``, ``"segment"``, ``"polygon"`` or ``"polytope"``.
    dim : its dimension (``-1`` when empty).
    vertices : (k, n) — its vertices (deduplicated).
    polygons : the polygons to draw, each ``(k_i, n)`` ordered around its boundary: for a
        ``"point"`` one ``(1, n)`` array, a ``"segment"`` its two end points, a ``"polygon"``
        itself, a ``"polytope"`` its 2-D faces.
    """

    kind: Literal["empty", "point", "segment", "polygon", "polytope"]
    dim: int
    vertices: np.ndarray
    polygons: tuple[np.ndarray, ...]

    @property
    def is_empty(self) -> bool:
        return self.kind == "empty"

    def measure(self) -> float:
        """Length of a segment, area of a polygon (``0`` otherwise; for pictures and checks)."""
        if self.kind == "segment":
            return float(np.linalg.norm(self.polygons[0][1] - self.polygons[0][0]))
        if self.kind == "polygon":
            return polygon_area(self.polygons[0])
        return 0.0


def _scale(V: np.ndarray) -> float:
    return 1.0 + float(np.abs(V).max(initial=0.0))


def unique_points(V: np.ndarray, tol: float | None = None) -> np.ndarray:
    """The rows of ``V`` with near-duplicates (within ``tol`` relative to the scale) removed."""
    V = np.asarray(V, dtype=np.float64)
    if V.shape[0] <= 1:
        return V
    eps = tolerances.resolve(tol, tolerances.VERTEX_SIGN) * _scale(V)
    keep: list[int] = []
    for i in range(V.shape[0]):
        if not keep or np.min(np.linalg.norm(V[keep] - V[i], axis=1)) > eps:
            keep.append(i)
    return V[keep]


def affine_dim(V: np.ndarray, tol: float | None = None) -> int:
    """Dimension of the affine hull of the rows of ``V`` (``-1`` for no rows)."""
    V = np.asarray(V, dtype=np.float64)
    if V.shape[0] == 0:
        return -1
    if V.shape[0] == 1:
        return 0
    s = np.linalg.svd(V[1:] - V[0], compute_uv=False)
    return int(np.sum(s > tolerances.resolve(tol, tolerances.VERTEX_SIGN) * _scale(V)))


def order_polygon(V: np.ndarray) -> np.ndarray:
    """The coplanar points ``V`` (``(k, n)``, ``n >= 2``) ordered by angle around their centroid.

    Examples
    --------
    >>> order_polygon(np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])).tolist()
    [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    V = np.asarray(V, dtype=np.float64)
    if V.shape[0] < 3:
        return V
    c = V.mean(axis=0)
    D = V - c
    if V.shape[1] == 2:
        u, w = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    else:
        _, _, vt = np.linalg.svd(D, full_matrices=False)
        u, w = vt[0], vt[1]
        normal = np.cross(u, w) if V.shape[1] == 3 else None
        # a fixed orientation: counter-clockwise seen from the side the normal's largest entry points to
        if normal is not None and normal[np.argmax(np.abs(normal))] < 0:
            w = -w
    ang = np.arctan2(D @ w, D @ u)
    return V[np.argsort(ang, kind="stable")]


def polygon_area(P: np.ndarray) -> float:
    """Area of an ordered convex polygon in ``R^n`` (``n >= 2``), by the fan of triangles."""
    P = np.asarray(P, dtype=np.float64)
    if P.shape[0] < 3:
        return 0.0
    a = P[1:-1] - P[0]
    b = P[2:] - P[0]
    if P.shape[1] == 2:
        return float(0.5 * np.abs(np.sum(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])))
    # |a × b| / 2 per triangle via Lagrange's identity (any n)
    cross2 = np.sum(a * a, axis=1) * np.sum(b * b, axis=1) - np.sum(a * b, axis=1) ** 2
    return float(0.5 * np.sum(np.sqrt(np.maximum(cross2, 0.0))))


def as_polyhedron(obj: Any):
    """A :class:`~preimage.Polyhedron` from a Polyhedron, Box, Piece or layer preimage."""
    from ..polyhedra import Box, Polyhedron

    if isinstance(obj, Polyhedron):
        return obj
    if isinstance(obj, Box):
        return obj.as_polyhedron()
    inner = getattr(obj, "polyhedron", None)
    if isinstance(inner, Polyhedron):
        return inner
    raise InvalidInputError(
        f"expected a Polyhedron, Box, Piece or layer preimage, got {type(obj).__name__}"
    )


def in_slice(P, slc):
    """The part of ``P`` (in ``Rⁿ``) on a :class:`~preimage.Slice`, in slice coordinates ``t``.

    ``{t : lo <= t <= hi, origin + directions @ t ∈ P}`` — exact: the rows of ``P`` pulled
    back through the slice's affine map.
    """
    from ..polyhedra import Box

    P = as_polyhedron(P)
    if P.ambient_dim != slc.origin.shape[0]:
        raise InvalidInputError(
            f"the slice lives in dimension {slc.origin.shape[0]}, the set in dimension {P.ambient_dim}"
        )
    return P.pullback(slc.directions, slc.origin).intersect(Box(slc.lo, slc.hi))


def _faces(P, V: np.ndarray) -> tuple[np.ndarray, ...]:
    """The 2-D faces of the 3-D polytope ``P`` with vertices ``V``: per inequality row, the
    vertices tight on it (faces found twice, from duplicate rows, are kept once)."""
    eps = tolerances.VERTEX_SIGN * _scale(V)
    slack = P.b[None, :] - V @ P.A.T  # (k, m)
    seen: set[tuple[int, ...]] = set()
    faces = []
    for j in range(P.A.shape[0]):
        idx = tuple(int(i) for i in np.flatnonzero(np.abs(slack[:, j]) <= eps * (1.0 + abs(P.b[j]))))
        if len(idx) < 3 or idx in seen:
            continue
        seen.add(idx)
        F = V[list(idx)]
        if affine_dim(F) == 2:
            faces.append(readonly(order_polygon(F)))
    return tuple(faces)


def shape_of(P, view=None) -> Shape:
    """The drawable shape of a polyhedron (intersected with ``view``, a Box, if given).

    Raises
    ------
    InvalidInputError
        When the set is unbounded and no ``view`` box was given.

    Examples
    --------
    >>> from preimage import Polyhedron, Box
    >>> s = shape_of(Polyhedron([[1.0, 1.0]], [1.0]), view=Box([0.0, 0.0], [1.0, 1.0]))
    >>> s.kind, s.dim, round(s.measure(), 12)
    ('polygon', 2, 0.5)
    >>> shape_of(Polyhedron([[0.0, 0.0]], [0.0], [[1.0, -1.0]], [0.0]), view=Box([0, 0], [1, 1])).kind
    'segment'
    """
    from ..polyhedra import Box

    P = as_polyhedron(P)
    if view is not None:
        if not isinstance(view, Box):
            raise InvalidInputError(f"view must be a preimage.Box, got {type(view).__name__}")
        if view.ambient_dim != P.ambient_dim:
            raise InvalidInputError(
                f"view is a box in dimension {view.ambient_dim}, the set lives in dimension {P.ambient_dim}"
            )
        P = P.intersect(view)
    n = P.ambient_dim
    empty = Shape("empty", -1, readonly(np.zeros((0, n))), ())
    if P.is_empty():
        return empty
    if view is None and not P.is_bounded():  # an LP question (cdd's floating-point rays can be missed)
        raise InvalidInputError(
            "the set is unbounded: pass view=preimage.Box(lo, hi) to draw its part inside a box"
        )
    V = unique_points(P.vertices())
    if V.shape[0] == 0:
        return empty
    d = affine_dim(V)
    if d == 0:
        return Shape("point", 0, readonly(V), (readonly(V[:1].copy()),))
    if d == 1:
        c = V.mean(axis=0)
        u = np.linalg.svd(V - c, full_matrices=False)[2][0]
        t = (V - c) @ u
        seg = np.vstack([V[np.argmin(t)], V[np.argmax(t)]])
        return Shape("segment", 1, readonly(V), (readonly(seg),))
    if d == 2:
        return Shape("polygon", 2, readonly(V), (readonly(order_polygon(V)),))
    if n != 3 or d != 3:
        raise InvalidInputError(
            f"only sets of dimension <= 2, or 3-D sets in R^3, can be drawn; got a {d}-dimensional set in R^{n} "
            f"(draw it through a 2-D or 3-D preimage.Slice)"
        )
    return Shape("polytope", 3, readonly(V), _faces(P, V))


def shape_of_points(V: np.ndarray) -> Shape:
    """The shape of a set given by its vertices, e.g. the image of a convex piece under the
    affine map the network has on it (the images of the vertices span the image).

    For a 2-D image the points must be in convex position (true for the image of a polygon's
    vertices under an injective affine map).
    """
    V = unique_points(np.asarray(V, dtype=np.float64))
    n = V.shape[1] if V.ndim == 2 else 0
    if V.shape[0] == 0:
        return Shape("empty", -1, readonly(np.zeros((0, n))), ())
    d = affine_dim(V)
    if d == 0:
        return Shape("point", 0, readonly(V), (readonly(V[:1].copy()),))
    if d == 1:
        c = V.mean(axis=0)
        u = np.linalg.svd(V - c, full_matrices=False)[2][0]
        t = (V - c) @ u
        return Shape("segment", 1, readonly(V), (readonly(np.vstack([V[np.argmin(t)], V[np.argmax(t)]])),))
    if d == 2:
        return Shape("polygon", 2, readonly(V), (readonly(order_polygon(V)),))
    raise InvalidInputError(f"shape_of_points draws sets of dimension <= 2, got dimension {d}")
