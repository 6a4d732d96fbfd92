"""The LP region of the walk (:mod:`preimage.engine.walk`): a region kept as its
H-representation, for domains of higher dimension (images, data sets).

The domain's rows plus the cutting rows of the current path live in one warm-started HiGHS
model that follows the depth-first walk: rows are added when the walk goes down and removed
when it backs up (:meth:`PathLP.sync`). A decision's sign over a region is decided by
interval bounds over the domain's box first; only when those cannot decide does one LP
(optimising towards the side that the region's witness point does not show) settle it.

Every decision is made on a distance scale: the model holds unit rows (each row ``a·u + c``
is stored as ``(a·u + c) / ‖a‖``), and a decision's bounds, point values and LP optima are
those of ``(F_j·u + f0_j) / ‖F_j‖``, the signed distance to its hyperplane, compared with
:data:`preimage.tolerances.LP_SIGN_BAND`. So decisions do not depend on the scale of the
weights (nor do the solver's tolerances act differently on large and small rows).

The walk asks for these operations as questions, which :class:`preimage.engine.search.Search`
answers with one :class:`PathLP` per run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import tolerances
from ..polyhedra.solver import LinearProgram

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from numpy.typing import ArrayLike, NDArray

__all__ = ["PathLP"]


def _unit(A: ArrayLike, c: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rows ``A u + c`` divided by ``‖A_i‖`` (zero rows kept as they are)."""
    A = np.asarray(A, dtype=np.float64).reshape(-1, np.shape(A)[-1])
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    n = np.sqrt(np.einsum("ij,ij->i", A, A))
    n = np.where(n > 0.0, n, 1.0)
    return A / n[:, None], c / n


class PathLP:
    """A LinearProgram over the domain plus the rows of the current path of the walk."""

    def __init__(self, dom_A: ArrayLike, dom_b: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> None:
        A, nb = _unit(dom_A, -np.asarray(dom_b, dtype=np.float64))
        self.base_rows = A.shape[0]
        self.lp = LinearProgram(A, -nb)
        self.path_A = np.zeros((0, A.shape[1]))
        self.path_c = np.zeros(0)
        self.lo, self.hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)

    def sync(self, A: NDArray[np.float64], c: NDArray[np.float64]) -> None:
        """Make the model hold exactly the domain rows and the rows ``A u + c <= 0``."""
        k = min(A.shape[0], self.path_A.shape[0])
        same = np.all(A[:k] == self.path_A[:k], axis=1) & (c[:k] == self.path_c[:k])
        common = k if bool(np.all(same)) else int(np.argmin(same))
        if common < self.path_A.shape[0]:
            self.lp.delete_rows(np.arange(self.base_rows + common, self.base_rows + self.path_A.shape[0]))
        if common < A.shape[0]:
            Au, cu = _unit(A[common:], c[common:])
            self.lp.add_rows(Au, -np.inf, -cu)
        self.path_A, self.path_c = np.array(A), np.array(c)

    def _box_min(self, G: NDArray[np.float64], g0: NDArray[np.float64]) -> NDArray[np.float64]:
        low: NDArray[np.float64] = g0 + np.minimum(G * self.lo, G * self.hi).sum(axis=1)
        return low

    def classify(self, x: NDArray[np.float64], F: NDArray[np.float64], f0: NDArray[np.float64],
                 dec: NDArray[np.int8]) -> tuple[int, NDArray[np.float64], NDArray[np.float64], int, int]:
        """Fix the undecided decisions that are constant on the region (box bounds, then LPs),
        on the distance scale of the module docstring; ``dec`` is updated in place.

        Returns ``(j, x_neg, x_pos, lps, fixed)`` for the first decision taking both signs on the
        region (with a point at distance more than the band on each side), or ``j = -1``. A
        decision whose LP optimum lies within the band is decided by that LP (no point of the
        region lies beyond the band on that side: the region is thinner than the band there,
        below the solver's resolution).
        """
        none = np.zeros(0)
        lps = 0
        und = np.flatnonzero(dec < 0)
        if und.size == 0:
            return -1, none, none, 0, 0
        nrm = np.sqrt(np.einsum("ij,ij->i", F, F))
        zero = und[nrm[und] == 0.0]  # constant decisions: their sign is exact
        dec[zero] = (f0[zero] > 0).astype(np.int8)
        fixed = int(zero.size)
        und = und[nrm[und] > 0.0]
        inv = np.where(nrm > 0.0, 1.0 / np.where(nrm > 0.0, nrm, 1.0), 0.0)
        Fn, f0n = F * inv[:, None], f0 * inv  # signed distances to the hyperplanes
        lo = self._box_min(Fn[und], f0n[und])
        hi = -self._box_min(-Fn[und], -f0n[und])
        band = tolerances.LP_SIGN_BAND
        eps = band * (1.0 + np.maximum(np.abs(lo), np.abs(hi)))
        inact = hi < -eps
        act = ~inact & (lo > eps)
        dec[und[inact]] = 0
        dec[und[act]] = 1
        fixed += int(inact.sum() + act.sum())
        for j in np.flatnonzero(dec < 0):
            zj = float(Fn[j] @ x + f0n[j])
            e = band * (1.0 + abs(zj))
            x_pos = x if zj > e else None
            x_neg = x if zj < -e else None
            if x_neg is None:
                lps += 1
                res = self.lp.minimize(Fn[j])
                if res.status == "optimal" and res.value + f0n[j] < -e:
                    x_neg = res.x
            if x_pos is None and x_neg is not None:
                lps += 1
                res = self.lp.maximize(Fn[j])
                if res.status == "optimal" and res.value + f0n[j] > e:
                    x_pos = res.x
            if x_neg is not None and x_pos is not None:
                return (int(j), np.ascontiguousarray(x_neg, dtype=np.float64),
                        np.ascontiguousarray(x_pos, dtype=np.float64), lps, fixed)
            # no point with distance < -e: on the positive side (f >= -e); else on the negative side
            dec[j] = 1 if x_neg is None else 0
            fixed += 1
        return -1, none, none, lps, fixed

    def feasible(self, A: NDArray[np.float64], c: NDArray[np.float64], E: NDArray[np.float64],
                 e: NDArray[np.float64]) -> tuple[bool, NDArray[np.float64], int]:
        """A point of the region with ``A u + c <= 0`` and ``E u + e = 0`` added (rows removed
        again afterwards): ``(found, point, lps)``."""
        n0 = self.lp.n_rows
        if A.shape[0]:
            Au, cu = _unit(A, c)
            self.lp.add_rows(Au, -np.inf, -cu)
        if E.shape[0]:
            Eu, eu = _unit(E, e)
            self.lp.add_rows(Eu, -eu, -eu)
        x = self.lp.feasible_point()
        n1 = self.lp.n_rows
        if n1 > n0:
            self.lp.delete_rows(np.arange(n0, n1))
        if x is None:
            return False, np.zeros(self.path_A.shape[1]), 1
        return True, np.ascontiguousarray(x, dtype=np.float64), 1
