"""Immutable convex polyhedra ``{x : A x <= b, C x = d}`` (H-representation).

Rows are normalised to unit length at construction, so every tolerance is a distance.
Questions that need an LP (emptiness, dimension, boundedness, redundancy, centres) go
through :mod:`preimage.polyhedra.solver`; membership is a vectorised matrix test.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tolerances
from .._validation import as_matrix, as_points, as_vector, readonly
from ..errors import AmbiguousGeometryError, InvalidInputError
from . import solver

if TYPE_CHECKING:  # pragma: no cover - annotations only (and box imports this module)
    from numpy.typing import ArrayLike, NDArray

    from .box import Box

__all__ = ["Polyhedron", "AffineHull", "normalize_rows"]

#: Points per block in the vectorised membership test (bounds the temporary memory).
_CONTAINS_BLOCK = 1 << 15


def normalize_rows(
    A: NDArray[np.float64], b: NDArray[np.float64], *, equality: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    """Scale the rows of ``A x <= b`` (or ``A x = b``) to unit norm.

    Zero rows are removed. Returns the scaled rows and whether a removed zero row can
    never hold (``0 <= b`` with ``b < 0``, or ``0 = b`` with ``b != 0``), in which case the
    set is empty.
    """
    norms = np.linalg.norm(A, axis=1)
    zero = norms <= tolerances.ZERO_ROW
    if equality:
        never = bool(np.any(zero & (np.abs(b) > tolerances.FEASIBILITY)))
    else:
        never = bool(np.any(zero & (b < -tolerances.FEASIBILITY)))
    keep = ~zero
    return A[keep] / norms[keep, None], b[keep] / norms[keep], never


@dataclass(frozen=True, slots=True)
class AffineHull:
    """The affine hull ``{point + basis @ u}`` of a non-empty polyhedron.

    ``basis`` has orthonormal columns (``n × dim``); ``implicit`` marks the inequality rows
    that hold with equality everywhere on the polyhedron; ``point`` lies in the relative
    interior.
    """

    point: NDArray[np.float64]
    basis: NDArray[np.float64]
    implicit: NDArray[np.bool_]

    @property
    def dim(self) -> int:
        return int(self.basis.shape[1])


@dataclass(frozen=True, slots=True, eq=False)
class Polyhedron:
    """The convex set ``{x ∈ Rⁿ : A x <= b, C x = d}``.

    Arrays are copied in as float64, rows normalised to unit norm and stored read-only.

    Parameters
    ----------
    A : (m, n) array_like — inequality rows.
    b : (m,) array_like
    C : (k, n) array_like, optional — equality rows.
    d : (k,) array_like, optional

    Examples
    --------
    >>> P = Polyhedron([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [1.0, 1.0, 0.0])
    >>> P.dim, P.is_empty(), P.is_bounded()
    (2, False, True)
    >>> P.contains([[0.2, 0.2], [2.0, 0.0]]).tolist()
    [True, False]
    """

    A: NDArray[np.float64]
    b: NDArray[np.float64]
    C: NDArray[np.float64]
    d: NDArray[np.float64]
    #: answers computed once: "empty", "bounded" (bools) and ("hull", tol) (an AffineHull)
    _cache: dict[str | tuple[str, float | None], Any] = field(default_factory=dict, repr=False, compare=False)

    def __init__(
        self, A: ArrayLike, b: ArrayLike, C: ArrayLike | None = None, d: ArrayLike | None = None
    ) -> None:
        A_arr = as_matrix("A", A)
        n = A_arr.shape[1]
        b_arr = as_vector("b", b, length=A_arr.shape[0])
        if A_arr.shape[0] != b_arr.shape[0]:
            raise InvalidInputError(
                f"b must have one entry per row of A ({A_arr.shape[0]}), got {b_arr.shape[0]}"
            )
        if C is None:
            if d is not None and np.size(d):
                raise InvalidInputError("d given without C: equality rows need both C and d")
            C_arr, d_arr = np.zeros((0, n)), np.zeros(0)
        else:
            C_arr = as_matrix("C", C, cols=n)
            d_arr = as_vector("d", np.zeros(0) if d is None else d, length=C_arr.shape[0])
        A_n, b_n, never_a = normalize_rows(A_arr, b_arr, equality=False)
        C_n, d_n, never_c = normalize_rows(C_arr, d_arr, equality=True)
        if never_a or never_c:
            # the canonical infeasible row 0·x <= -1 keeps the set visibly empty
            A_n = np.vstack([A_n, np.zeros((1, n))])
            b_n = np.concatenate([b_n, [-1.0]])
        object.__setattr__(self, "A", readonly(np.ascontiguousarray(A_n)))
        object.__setattr__(self, "b", readonly(b_n))
        object.__setattr__(self, "C", readonly(np.ascontiguousarray(C_n)))
        object.__setattr__(self, "d", readonly(d_n))
        object.__setattr__(self, "_cache", {})

    @classmethod
    def _trusted(
        cls, A: NDArray[np.float64], b: NDArray[np.float64], C: NDArray[np.float64], d: NDArray[np.float64]
    ) -> Polyhedron:
        """Build from arrays already normalised and checked (internal fast path)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "A", readonly(A))
        object.__setattr__(obj, "b", readonly(b))
        object.__setattr__(obj, "C", readonly(C))
        object.__setattr__(obj, "d", readonly(d))
        object.__setattr__(obj, "_cache", {})
        return obj

    @classmethod
    def _from_views(
        cls, A: NDArray[np.float64], b: NDArray[np.float64], C: NDArray[np.float64], d: NDArray[np.float64]
    ) -> Polyhedron:
        """:meth:`_trusted` for arrays that are already read-only (views of a read-only base)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "A", A)
        object.__setattr__(obj, "b", b)
        object.__setattr__(obj, "C", C)
        object.__setattr__(obj, "d", d)
        object.__setattr__(obj, "_cache", {})
        return obj

    @classmethod
    def universe(cls, n: int) -> Polyhedron:
        """All of ``Rⁿ`` (no constraints)."""
        return cls(np.zeros((0, n)), np.zeros(0))

    @classmethod
    def orthant(cls, n: int) -> Polyhedron:
        """The non-negative orthant ``Rⁿ₊`` (the input domain of a hidden layer)."""
        return cls._trusted(-np.eye(n), np.zeros(n), np.zeros((0, n)), np.zeros(0))

    # -- basic shape -------------------------------------------------------------------------
    @property
    def ambient_dim(self) -> int:
        """Dimension ``n`` of the space the polyhedron lives in."""
        return int(self.A.shape[1])

    @property
    def n_inequalities(self) -> int:
        return int(self.A.shape[0])

    @property
    def n_equalities(self) -> int:
        return int(self.C.shape[0])

    def __repr__(self) -> str:
        return (
            f"Polyhedron(ambient_dim={self.ambient_dim}, inequalities={self.n_inequalities}, "
            f"equalities={self.n_equalities})"
        )

    def __eq__(self, other: object) -> bool:
        """Same H-representation (not set equality — use :meth:`equals` for that)."""
        if not isinstance(other, Polyhedron):
            return NotImplemented
        return (
            self.A.shape == other.A.shape
            and self.C.shape == other.C.shape
            and np.array_equal(self.A, other.A)
            and np.array_equal(self.b, other.b)
            and np.array_equal(self.C, other.C)
            and np.array_equal(self.d, other.d)
        )

    __hash__ = None  # type: ignore[assignment]

    # -- combination -------------------------------------------------------------------------
    def intersect(self, other: Polyhedron | Any) -> Polyhedron:
        """Intersection with another polyhedron (or a :class:`~preimage.Box`)."""
        other = _as_polyhedron(other)
        if other.ambient_dim != self.ambient_dim:
            raise InvalidInputError(
                f"cannot intersect polyhedra of dimensions {self.ambient_dim} and {other.ambient_dim}"
            )
        return Polyhedron._trusted(
            np.vstack([self.A, other.A]),
            np.concatenate([self.b, other.b]),
            np.vstack([self.C, other.C]),
            np.concatenate([self.d, other.d]),
        )

    def add_constraints(
        self,
        A: ArrayLike | None = None,
        b: ArrayLike | None = None,
        C: ArrayLike | None = None,
        d: ArrayLike | None = None,
    ) -> Polyhedron:
        """A new polyhedron with extra inequality and/or equality rows."""
        n = self.ambient_dim
        extra = Polyhedron(
            np.zeros((0, n)) if A is None else A,
            np.zeros(0) if b is None else b,
            C,
            d,
        )
        return self.intersect(extra)

    def pullback(self, M: ArrayLike, c: ArrayLike | None = None) -> Polyhedron:
        """``{x : M x + c ∈ self}`` — the preimage under an affine map.

        >>> P = Polyhedron([[1.0]], [1.0])            # y <= 1
        >>> Q = P.pullback([[2.0, 0.0]], [0.5])       # 2 x0 + 0.5 <= 1
        >>> Q.contains([[0.25, 9.0], [0.3, 0.0]]).tolist()
        [True, False]
        """
        M = as_matrix("M", M, rows=self.ambient_dim)
        c = np.zeros(self.ambient_dim) if c is None else as_vector("c", c, length=self.ambient_dim)
        return Polyhedron(self.A @ M, self.b - self.A @ c, self.C @ M, self.d - self.C @ c)

    # -- membership ----------------------------------------------------------------------------
    def contains(self, X: ArrayLike, tol: float | None = None) -> NDArray[np.bool_] | bool:
        """Whether each point lies in the polyhedron (within distance ``tol``).

        ``X`` is ``(N, n)`` (returns a boolean array) or one point ``(n,)`` (returns a bool).
        """
        tol = tolerances.resolve(tol, tolerances.CONTAINS)
        pts, single = as_points("X", X, self.ambient_dim)
        out = np.empty(pts.shape[0], dtype=bool)
        ub = self.b + tol
        for start in range(0, pts.shape[0], _CONTAINS_BLOCK):
            block = pts[start : start + _CONTAINS_BLOCK]
            inside = np.ones(block.shape[0], dtype=bool)
            if self.A.shape[0]:
                inside = np.all(block @ self.A.T <= ub, axis=1)
            if self.C.shape[0]:
                inside &= np.all(np.abs(block @ self.C.T - self.d) <= tol, axis=1)
            out[start : start + block.shape[0]] = inside
        return bool(out[0]) if single else out

    def slack(self, X: ArrayLike) -> NDArray[np.float64]:
        """Signed distance ``b - A x`` of each point to each inequality (``(N, m)``)."""
        pts, _ = as_points("X", X, self.ambient_dim)
        return self.b - pts @ self.A.T

    # -- LP questions ----------------------------------------------------------------------------
    def _lp(self) -> solver.LinearProgram:
        return solver.LinearProgram(self.A, self.b, self.C, self.d)

    def is_empty(self, tol: float | None = None) -> bool:
        """Whether no point satisfies the constraints (within the solver's tolerance).

        ``tol`` relaxes every inequality by that distance before deciding.
        """
        if tol is None:
            if "empty" not in self._cache:
                self._cache["empty"] = not self._lp().is_feasible()
            return bool(self._cache["empty"])
        t = tolerances.resolve(tol, tolerances.FEASIBILITY)
        return not solver.is_feasible(self.A, self.b + t, self.C, self.d)

    def minimize(self, c: ArrayLike) -> solver.LPResult:
        """Minimum of the linear form ``c·x`` over the polyhedron."""
        return self._lp().minimize(as_vector("c", c, length=self.ambient_dim))

    def maximize(self, c: ArrayLike) -> solver.LPResult:
        """Maximum of the linear form ``c·x`` over the polyhedron."""
        return self._lp().maximize(as_vector("c", c, length=self.ambient_dim))

    def chebyshev_center(self) -> tuple[NDArray[np.float64] | None, float]:
        """Centre and radius of the largest ball inside, within the affine hull of ``C x = d``.

        For a lower-dimensional polyhedron (implicit equalities) the radius is 0; use
        :meth:`relative_interior_point` for a point in its relative interior.
        """
        return solver.chebyshev_center(self.A, self.b, self.C, self.d)

    def affine_hull(self, tol: float | None = None) -> AffineHull:
        """The affine hull, with implicit equalities found (raises if the set is empty)."""
        key = ("hull", tol)
        if key not in self._cache:
            self._cache[key] = _affine_hull(self, tolerances.resolve(tol, tolerances.INTERIOR))
        hull: AffineHull = self._cache[key]
        return hull

    @property
    def dim(self) -> int:
        """Dimension of the affine hull (``-1`` for the empty set)."""
        if self.is_empty():
            return -1
        return self.affine_hull().dim

    def relative_interior_point(self) -> NDArray[np.float64]:
        """A point in the relative interior (raises :class:`InvalidInputError` if empty)."""
        return self.affine_hull().point.copy()

    def is_bounded(self) -> bool:
        """Whether the polyhedron is bounded (the empty set is bounded)."""
        if "bounded" in self._cache:
            cached: bool = self._cache["bounded"]
            return cached
        if self.is_empty():
            self._cache["bounded"] = True
            return True
        n = self.ambient_dim
        lp = solver.LinearProgram(
            self.A, np.zeros(self.n_inequalities), self.C, np.zeros(self.n_equalities),
            -np.ones(n), np.ones(n),
        )
        bounded = True
        for j in range(n):
            e = np.zeros(n)
            e[j] = 1.0
            if lp.maximize(e).value > tolerances.FEASIBILITY or lp.minimize(e).value < -tolerances.FEASIBILITY:
                bounded = False
                break
        self._cache["bounded"] = bounded
        return bounded

    def bounding_box(self) -> Box:
        """The smallest :class:`~preimage.Box` containing the polyhedron (2n LPs)."""
        from .box import Box

        if self.is_empty():
            raise InvalidInputError("bounding_box of an empty polyhedron is undefined")
        lp = self._lp()
        n = self.ambient_dim
        lo, hi = np.empty(n), np.empty(n)
        for j in range(n):
            e = np.zeros(n)
            e[j] = 1.0
            lo[j] = lp.minimize(e).value
            hi[j] = lp.maximize(e).value
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise InvalidInputError("bounding_box of an unbounded polyhedron is undefined")
        return Box(lo, np.maximum(hi, lo))

    def remove_redundant(self, tol: float | None = None) -> Polyhedron:
        """An equal polyhedron without redundant inequality rows.

        A row is redundant when the others already imply it (within ``tol``); duplicate
        rows keep their tightest copy. Equalities are kept as they are.
        """
        tol = tolerances.resolve(tol, tolerances.FEASIBILITY)
        if self.is_empty():
            return self
        m = self.n_inequalities
        keep = np.ones(m, dtype=bool)
        lp = self._lp()
        for i in range(m):
            lp.set_upper([i], self.b[i] + 1.0)
            res = lp.maximize(self.A[i])
            if res.status == "optimal" and res.value <= self.b[i] + tol:
                keep[i] = False
                lp.set_upper([i], np.inf)
            else:
                lp.set_upper([i], self.b[i])
        return Polyhedron._trusted(self.A[keep].copy(), self.b[keep].copy(), self.C.copy(), self.d.copy())

    def project(self, point: ArrayLike) -> NDArray[np.float64]:
        """The nearest point of the polyhedron to ``point`` (a QP)."""
        p = as_vector("point", point, length=self.ambient_dim)
        n = self.ambient_dim
        res = solver.minimize_quadratic(np.eye(n), -p, self.A, self.b, self.C, self.d)
        if res.status != "optimal":
            raise InvalidInputError("cannot project onto an empty polyhedron")
        assert res.x is not None
        return res.x

    def distance(self, point: ArrayLike) -> float:
        """Euclidean distance from ``point`` to the polyhedron."""
        p = as_vector("point", point, length=self.ambient_dim)
        return float(np.linalg.norm(self.project(p) - p))

    # -- generators (pycddlib) -----------------------------------------------------------------
    def vertices(self) -> NDArray[np.float64]:
        """Vertices (``(k, n)``) of the polyhedron, by double description (small pieces)."""
        from .vertices import generators

        return generators(self).vertices

    def rays(self) -> NDArray[np.float64]:
        """Extreme rays (``(r, n)``); lines appear as two opposite rays."""
        from .vertices import generators

        g = generators(self)
        return np.vstack([g.rays, g.lines, -g.lines]) if g.lines.size else g.rays

    # -- sampling -----------------------------------------------------------------------------
    def sample(
        self, n: int, seed: int | None = None, *, burn_in: int = 200, thin: int = 10
    ) -> NDArray[np.float64]:
        """``n`` points drawn by hit-and-run in the affine hull (works for flat pieces).

        The walk is seeded by ``seed`` (same seed, same points); the polyhedron must be
        bounded and non-empty.
        """
        from .sampling import hit_and_run

        return hit_and_run(self, n, seed=seed, burn_in=burn_in, thin=thin)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (see ``docs/formats.md``)."""
        return {
            "A": self.A.tolist(),
            "b": self.b.tolist(),
            "C": self.C.tolist(),
            "d": self.d.tolist(),
            "ambient_dim": self.ambient_dim,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Polyhedron:
        try:
            n = int(data["ambient_dim"])
            A = np.asarray(data["A"], dtype=np.float64).reshape(-1, n)
            C = np.asarray(data.get("C", []), dtype=np.float64).reshape(-1, n)
            return cls(A, data["b"], C, data.get("d", []))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"not a polyhedron dictionary: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save to ``.npz`` or ``.json`` (chosen by the file suffix)."""
        from .io import save

        save(self, path)


def _as_polyhedron(obj: Any) -> Polyhedron:
    if isinstance(obj, Polyhedron):
        return obj
    if hasattr(obj, "as_polyhedron"):
        P: Polyhedron = obj.as_polyhedron()
        return P
    raise InvalidInputError(f"expected a Polyhedron or a Box, got {type(obj).__name__}")


def _affine_hull(P: Polyhedron, tol: float) -> AffineHull:
    """Find implicit equalities and a relative-interior point.

    Repeatedly maximise the common slack ``t`` of the rows not yet known to be implicit
    equalities; when ``t`` stays at zero, the rows tight at the optimum are tested one by
    one (their largest slack over the polyhedron), and those with none become equalities.
    """
    A, b, C, d = P.A, P.b, P.C, P.d
    m, n = A.shape
    implicit = np.zeros(m, dtype=bool)
    # variables (x, t); t in [0, 1]
    At = np.hstack([A, np.ones((m, 1))])
    Ct = np.hstack([C, np.zeros((C.shape[0], 1))])
    lo = np.concatenate([np.full(n, -np.inf), [-np.inf]])
    hi = np.concatenate([np.full(n, np.inf), [1.0]])
    lp = solver.LinearProgram(At, b, Ct, d, lo, hi)
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    x = None
    while True:
        res = lp.maximize(cost)
        if res.status == "infeasible":
            raise InvalidInputError("the polyhedron is empty: it has no affine hull")
        if res.status != "optimal" or res.x is None:  # pragma: no cover - t is bounded
            raise AmbiguousGeometryError("could not find a relative-interior point")
        x, t = res.x[:-1], res.x[-1]
        free = ~implicit
        if t > tol or not np.any(free):
            break
        slack = b - A @ x
        tight = np.flatnonzero(free & (slack <= tol + max(t, 0.0)))
        # test each tight row: its largest slack over the current polyhedron
        probe = solver.LinearProgram(A, b, np.vstack([C, A[implicit]]), np.concatenate([d, b[implicit]]))
        found = False
        for i in tight:
            r = probe.minimize(A[i])
            if r.status == "optimal" and b[i] - r.value <= tol:
                implicit[i] = True
                found = True
                probe = solver.LinearProgram(
                    A, b, np.vstack([C, A[implicit]]), np.concatenate([d, b[implicit]])
                )
        if not found:
            raise AmbiguousGeometryError(
                f"the polyhedron is too thin to decide its dimension: the largest common slack is "
                f"{t:.3g}, within the interior tolerance {tol:.3g}, yet no row is an implicit equality"
            )
        # the implicit rows keep their slack variable fixed at 0: make them equalities
        rows = np.flatnonzero(implicit)
        lp = solver.LinearProgram(
            np.hstack([A[~implicit], np.ones(((~implicit).sum(), 1))]),
            b[~implicit],
            np.vstack([Ct, np.hstack([A[rows], np.zeros((len(rows), 1))])]),
            np.concatenate([d, b[rows]]),
            lo,
            hi,
        )
    E = np.vstack([C, A[implicit]])
    if E.shape[0] == 0:
        basis = np.eye(n)
    else:
        _, s, vt = np.linalg.svd(E, full_matrices=True)
        scale = max(float(s.max(initial=0.0)), 1.0)
        ambiguous = (s > tolerances.RANK_RELATIVE * scale) & (s < tolerances.AMBIGUOUS_RANK_RELATIVE * scale)
        if np.any(ambiguous):
            raise AmbiguousGeometryError(
                f"the equality constraints are nearly dependent (singular value {s[ambiguous].min():.3g} "
                f"relative to {scale:.3g}); the dimension of the polyhedron is too close to call"
            )
        rank = int(np.sum(s > tolerances.RANK_RELATIVE * scale))
        basis = vt[rank:].T.copy()
    return AffineHull(readonly(x.copy()), readonly(basis), readonly(implicit))
