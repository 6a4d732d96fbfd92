"""Exact settlement of the engine's sign decisions that fall inside the ambiguity band.

The engine decides the side of a hyperplane ``a·u + c = 0`` on which a vertex lies from
the float signed distance ``(a·x + c) / ‖a‖`` of the vertex's computed coordinates ``x``.
When that distance is within the ambiguity band (:data:`preimage.tolerances.ENGINE_SIGN_BAND`)
the float value cannot be trusted; the sign is then recomputed *exactly*:

* a vertex of a region is the intersection of the constraints tight at it (its bitset
  ``T``): the domain's facets (bits ``0..m-1``), the cutting rows of the walk (bit ``m + i``
  is the ``i``-th row) and the region's equalities (slices by an activity or a target);
* every row is a float, hence an exact rational: the vertex is solved for in
  :class:`fractions.Fraction` arithmetic, and ``a·u* + c`` is evaluated exactly.

This is the rare path of the engine (plain Python, outside the compiled kernels): a kernel
reports "ambiguous" and its caller settles it here. A vertex whose tight rows do not
determine a point raises :class:`~preimage.errors.AmbiguousGeometryError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AmbiguousGeometryError

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from numpy.typing import ArrayLike, NDArray

__all__ = ["ExactRows", "exact_classes", "classes"]


def _frac_row(row: Iterable[float]) -> list[Fraction]:
    return [Fraction(float(v)) for v in row]


class ExactRows:
    """The rows that may be tight at a region's vertices, as exact rationals (built lazily).

    Row ``i`` is ``A[i]·u + c[i]`` (``<= 0`` for inequalities, ``= 0`` for equalities).
    ``dom_A u <= dom_b`` are the domain's facets (bits ``0..m-1``), ``cut_A u + cut_c <= 0``
    the walk's cutting rows (bits ``m..``), ``eq_A u + eq_c = 0`` the equalities.
    """

    def __init__(self, dom_A: ArrayLike, dom_b: ArrayLike, cut_A: ArrayLike, cut_c: ArrayLike,
                 eq_A: ArrayLike | None = None, eq_c: ArrayLike | None = None) -> None:
        self.dom_A = np.asarray(dom_A, dtype=np.float64)
        self.dom_b = np.asarray(dom_b, dtype=np.float64)
        self.cut_A = np.asarray(cut_A, dtype=np.float64).reshape(-1, self.dom_A.shape[1])
        self.cut_c = np.asarray(cut_c, dtype=np.float64).reshape(-1)
        d = self.dom_A.shape[1]
        self.eq_A = np.zeros((0, d)) if eq_A is None else np.asarray(eq_A, dtype=np.float64).reshape(-1, d)
        self.eq_c = np.zeros(0) if eq_c is None else np.asarray(eq_c, dtype=np.float64).reshape(-1)
        self.m = self.dom_A.shape[0]
        self._cache: dict[int, list[Fraction]] = {}

    def bit_row(self, bit: int) -> list[Fraction]:
        """Row ``[a_1..a_d, c]`` of constraint ``bit`` (``a·u + c``)."""
        r = self._cache.get(bit)
        if r is None:
            if bit < self.m:
                r = _frac_row(self.dom_A[bit]) + [-Fraction(float(self.dom_b[bit]))]
            else:
                i = bit - self.m
                if i >= self.cut_A.shape[0]:
                    raise AmbiguousGeometryError(f"constraint bit {bit} has no row (the region has {self.m} "
                                                 f"domain facets and {self.cut_A.shape[0]} cutting rows)")
                r = _frac_row(self.cut_A[i]) + [Fraction(float(self.cut_c[i]))]
            self._cache[bit] = r
        return r

    def eq_rows(self) -> list[list[Fraction]]:
        return [_frac_row(a) + [Fraction(float(c))] for a, c in zip(self.eq_A, self.eq_c)]


def _bits(t: NDArray[np.uint64]) -> list[int]:
    out = []
    for w, word in enumerate(t):
        x = int(word)
        while x:
            low = x & -x
            out.append(64 * w + low.bit_length() - 1)
            x ^= low
    return out


def _solve_vertex(rows: list[list[Fraction]], d: int) -> list[Fraction] | None:
    """The point where the rows ``a·u + c = 0`` meet, if they have rank ``d`` (else ``None``).

    Gauss-Jordan elimination in exact arithmetic, picking independent rows in order.
    """
    basis: list[list[Fraction]] = []  # reduced rows, basis[k] has pivot column piv[k]
    piv: list[int] = []
    for row in rows:
        r = list(row)
        for k, p in enumerate(piv):
            f = r[p]
            if f:
                b = basis[k]
                r = [x - f * y for x, y in zip(r, b)]
        col = next((q for q in range(d) if r[q] != 0), None)
        if col is None:
            continue  # dependent row (consistent or not, the independent ones decide)
        inv = 1 / r[col]
        r = [x * inv for x in r]
        for k in range(len(basis)):
            f = basis[k][col]
            if f:
                basis[k] = [x - f * y for x, y in zip(basis[k], r)]
        basis.append(r)
        piv.append(col)
        if len(piv) == d:
            break
    if len(piv) < d:
        return None
    u = [Fraction(0)] * d
    for r, p in zip(basis, piv):
        u[p] = -r[d]  # u_p + c = 0
    return u


def exact_classes(X: NDArray[np.float64], T: NDArray[np.uint64], idx: NDArray[np.int64], a: NDArray[np.float64],
                  c: float, rows: ExactRows) -> NDArray[np.int8]:
    """Exact signs (``-1, 0, 1``) of ``a·u + c`` at the exact vertices ``idx`` of ``(X, T)``."""
    d = X.shape[1]
    fa = _frac_row(a)
    fc = Fraction(float(c))
    eqs = rows.eq_rows()
    out = np.empty(len(idx), dtype=np.int8)
    for k, v in enumerate(idx):
        tight = [rows.bit_row(b) for b in _bits(T[v])]
        u = _solve_vertex(eqs + tight, d)
        if u is None:
            raise AmbiguousGeometryError(
                f"a vertex at {np.asarray(X[v]).tolist()} lies within the ambiguity band of a hyperplane, "
                f"and its {len(tight)} tight constraints (+{len(eqs)} equalities) do not determine it: "
                "its side cannot be settled exactly")
        val = fc + sum(x * y for x, y in zip(fa, u))
        out[k] = (val > 0) - (val < 0)
    return out


def classes(X: NDArray[np.float64], T: NDArray[np.uint64], a: ArrayLike, c: float, band_rel: float,
            rows_fn: Callable[[], ExactRows],
            exact: bool = True) -> tuple[NDArray[np.int8], NDArray[np.float64], float]:
    """Side of every vertex of ``(X, T)`` w.r.t. ``a·u + c = 0``, settled exactly in the band.

    Returns ``(cls, s, band)``: ``cls`` in ``{-1, 0, 1}`` (exact), ``s`` the float signed
    distances ``(X a + c) / ‖a‖`` and the band's half-width. ``rows_fn()`` builds the
    :class:`ExactRows` (only called when some vertex is in the band). A zero row is the
    constant ``c``, which satisfies the target when ``|c| <= band_rel`` (callers pass
    target rows here; a neuron's constant sign is taken exactly by the kernels).

    ``exact=False`` is for a *target's equality* (an activity ``z_i = y_i``, an affine
    subspace): its right-hand side is float data (typically a forward pass), so the band is
    its membership tolerance: a vertex in the band satisfies it (``cls = 0``). Settled
    exactly, the preimage of the activity of a point would be empty as soon as there are
    more active neurons than input dimensions.
    """
    a = np.asarray(a, dtype=np.float64)
    nrm = float(np.sqrt(a @ a))
    V = X.shape[0]
    if nrm == 0.0:
        # a constant target row has no distance scale: the value is compared with the target's
        # level, float data, within the band (e.g. a rounding residue 5.6e-17 of an output
        # that is 0 in exact arithmetic satisfies the activity 0)
        sgn = 0 if abs(c) <= band_rel else (c > 0) - (c < 0)
        return np.full(V, sgn, dtype=np.int8), np.full(V, float(c)), 0.0
    s = (X @ a + c) / nrm
    band = band_rel * (1.0 + float(np.abs(s).max())) if V else 0.0
    cls = np.where(s > band, 1, np.where(s < -band, -1, 0)).astype(np.int8)
    amb = np.flatnonzero(np.abs(s) <= band)
    if amb.size and exact:
        cls[amb] = exact_classes(X, T, amb, a, c, rows_fn())
    return cls, s, band
