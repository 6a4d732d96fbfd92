"""The engine's LP backend, for domains of higher dimension (images, data sets).

Same search as :mod:`preimage.engine.search`, but a region is kept as its H-representation
(the domain's rows plus the cutting rows) in one warm-started HiGHS model that follows the
depth-first walk: rows are added when the walk goes down and removed when it backs up.
A neuron's sign over a region is decided by interval bounds over the domain's box first;
only when those cannot decide does one LP (optimising the neuron towards the side that the
current point does not show) settle it.

Every decision is made on a distance scale: the model holds unit rows (each row ``a·u + c``
is stored as ``(a·u + c) / ‖a‖``), and a neuron's bounds, point values and LP optima are
those of ``(Z_j·u + z0_j) / ‖Z_j‖``, the signed distance to its hyperplane, compared with
:data:`preimage.tolerances.LP_SIGN_BAND`. So a neuron's decisions do not depend on the scale
of its weights (nor do the solver's tolerances act differently on large and small rows).
"""

from __future__ import annotations

import numpy as np

from .. import tolerances
from ..polyhedra.solver import LinearProgram
from .search import Node, Problem, RawPiece, Search, _Rows


def _unit(A: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``A u + c`` divided by ``‖A_i‖`` (zero rows kept as they are)."""
    A = np.asarray(A, dtype=np.float64).reshape(-1, np.shape(A)[-1])
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    n = np.sqrt(np.einsum("ij,ij->i", A, A))
    n = np.where(n > 0.0, n, 1.0)
    return A / n[:, None], c / n

__all__ = ["LPSearch", "lp_root_nodes"]


class _PathLP:
    """A LinearProgram over the domain plus the rows of the current DFS path."""

    def __init__(self, problem: Problem) -> None:
        ch = problem.chart
        A, b = ch.u_constraints()
        A, nb = _unit(A, -np.asarray(b, dtype=np.float64))
        b = -nb
        self.base_rows = A.shape[0]
        self.lp = LinearProgram(A, b)
        self.path: list = []  # the row objects currently in the model (after the base rows)
        self.eq_rows = 0

    def sync(self, rows: _Rows | None) -> None:
        """Make the model hold exactly the domain rows and ``rows``."""
        chain = []
        node = rows
        while node is not None:
            chain.append(node)
            node = node.parent
        chain.reverse()
        common = 0
        while common < len(chain) and common < len(self.path) and chain[common] is self.path[common]:
            common += 1
        self.clear_equalities()
        if common < len(self.path):
            self.lp.delete_rows(np.arange(self.base_rows + common, self.base_rows + len(self.path)))
            del self.path[common:]
        new = chain[common:]
        if new:
            A, c = _unit(np.array([r.a for r in new]), np.array([r.c for r in new]))
            self.lp.add_rows(A, -np.inf, -c)
            self.path.extend(new)

    def add_equalities(self, E: np.ndarray, e: np.ndarray) -> None:
        if E.shape[0]:
            E, e = _unit(E, e)
            self.lp.add_rows(E, -e, -e)
            self.eq_rows += E.shape[0]

    def clear_equalities(self) -> None:
        if self.eq_rows:
            n = self.base_rows + len(self.path)
            self.lp.delete_rows(np.arange(n, n + self.eq_rows))
            self.eq_rows = 0

    def add_temporary(self, a: np.ndarray, c: float) -> int:
        a, cc = _unit(a[None, :], np.array([c]))
        idx = self.lp.add_rows(a, -np.inf, -cc)
        return int(idx[0])

    def remove(self, idx: int) -> None:
        self.lp.delete_rows([idx])


def lp_root_nodes(problem: Problem) -> list[Node]:
    ch = problem.chart
    W, b = problem.weights[0], problem.biases[0]
    point = ch.u_box.center[None, :] if ch.u_box is not None else ch.u_polyhedron.relative_interior_point()[None, :]
    return [Node(1, point, np.zeros((1, 1), dtype=np.uint64), ch.dim, 0, W @ ch.B, W @ ch.x0 + b,
                 np.full(W.shape[0], -1, dtype=np.int8), ())]


class LPSearch(Search):
    """Depth-first search with H-represented regions (see the module docstring).

    A node's ``X`` holds one point of its region (used to pick which side to test).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lp = _PathLP(self.problem)
        ch = self.problem.chart
        if ch.u_box is not None:
            self._lo, self._hi = ch.u_box.lo, ch.u_box.hi
        else:
            bb = ch.u_polyhedron.bounding_box()
            self._lo, self._hi = bb.lo, bb.hi

    # interval bounds of rows of (G u + g0) over the domain box
    def _box_min(self, G: np.ndarray, g0: np.ndarray) -> np.ndarray:
        return g0 + np.minimum(G * self._lo, G * self._hi).sum(axis=1)

    def _optimize(self, a: np.ndarray, sense: str):
        self.stats.lps += 1
        res = self._lp.lp.minimize(a) if sense == "min" else self._lp.lp.maximize(a)
        return res

    # -- the steps of the walk (see Search._process) ----------------------------------------------------
    def _enter(self, node: Node) -> None:
        self._lp.sync(node.rows)

    def _try_split(self, node: Node, stack: list[Node]) -> bool:
        j, x_neg, x_pos = self._classify_lp(node)
        if j < 0:
            return False
        self._split_lp(node, j, x_neg, x_pos, stack)
        return True

    def _layer_reachable(self, node: Node, H: np.ndarray, h: np.ndarray, l: int) -> bool:
        return self._reachable_box(H, h, l)

    def _apply_activity(self, node: Node) -> bool:
        return self._apply_activity_lp(node)

    def _finish(self, node: Node, H: np.ndarray, h: np.ndarray, done: tuple) -> bool:
        return self._finish_lp(node, H, h, done)

    def _classify_lp(self, node: Node):
        """Fix stable neurons (box bounds, then LPs), on the distance scale of the module docstring.

        Returns ``(j, x_neg, x_pos)`` for the first neuron taking both signs on the region
        (with a point at distance more than the band on each side), or ``(-1, None, None)``.
        A neuron whose LP optimum lies within the band is decided by that LP (no point of the
        region lies beyond the band on that side: the region's part there is thinner than
        the band, below the solver's resolution).
        """
        dec = node.dec
        und = np.flatnonzero(dec < 0)
        if und.size == 0:
            return -1, None, None
        nrm = np.sqrt(np.einsum("ij,ij->i", node.Z, node.Z))
        zero = und[nrm[und] == 0.0]  # constant neurons: their sign is exact
        dec[zero] = (node.z0[zero] > 0).astype(np.int8)
        self.stats.fixed_by_bounds += int(zero.size)
        und = und[nrm[und] > 0.0]
        inv = np.where(nrm > 0.0, 1.0 / np.where(nrm > 0.0, nrm, 1.0), 0.0)
        Zn, z0n = node.Z * inv[:, None], node.z0 * inv  # signed distances to the hyperplanes
        lo = self._box_min(Zn[und], z0n[und])
        hi = -self._box_min(-Zn[und], -z0n[und])
        band = tolerances.LP_SIGN_BAND
        eps = band * (1.0 + np.maximum(np.abs(lo), np.abs(hi)))
        inact = hi < -eps
        act = ~inact & (lo > eps)
        dec[und[inact]] = 0
        dec[und[act]] = 1
        self.stats.fixed_by_bounds += int(inact.sum() + act.sum())
        x = node.X[0]
        for j in np.flatnonzero(dec < 0):
            zj = float(Zn[j] @ x + z0n[j])
            e = band * (1.0 + abs(zj))
            x_pos = x if zj > e else None
            x_neg = x if zj < -e else None
            if x_neg is None:
                res = self._optimize(Zn[j], "min")
                if res.status == "optimal" and res.value + z0n[j] < -e:
                    x_neg = res.x
            if x_pos is None and x_neg is not None:
                res = self._optimize(Zn[j], "max")
                if res.status == "optimal" and res.value + z0n[j] > e:
                    x_pos = res.x
            if x_neg is not None and x_pos is not None:
                return int(j), x_neg, x_pos
            # no point with distance < -e: active (z >= -e); else none with distance > e: inactive
            dec[j] = 1 if x_neg is None else 0
        return -1, None, None

    def _split_lp(self, node: Node, j: int, x_neg: np.ndarray, x_pos: np.ndarray, stack: list[Node]) -> None:
        """Both children are non-empty: the neuron takes both signs on the region (each keeps a
        point of its own side as its hint for the next LPs)."""
        self._push_children(node, j, (x_neg[None, :], node.T), (x_pos[None, :], node.T), stack)

    def _reachable_box(self, H: np.ndarray, h: np.ndarray, l: int) -> bool:
        from .bounds import propagate

        pb = self.problem
        target = pb.target
        layers = [(pb.weights[m], pb.biases[m], pb.relus[m]) for m in range(l, pb.depth)]
        bounds = propagate(H, h, layers, self._box_min)
        last = bounds[-1]
        if target.activity is not None:
            # prune only when the bounds miss the activity by more than their own rounding
            # scale (relative to the magnitudes involved, so independent of the weights' scale)
            y = target.activity
            slack = tolerances.FEASIBILITY * (1.0 + np.abs(y) + np.maximum(np.abs(last.lo), np.abs(last.hi)))
            pos = y > 0
            if np.any(last.lo[pos] > y[pos] + slack[pos]) or np.any(last.hi[pos] < y[pos] - slack[pos]):
                return False
            return not np.any(last.lo[~pos] > slack[~pos])
        return True

    def _feasible_point(self) -> np.ndarray | None:
        self.stats.lps += 1
        return self._lp.lp.feasible_point()

    def _apply_activity_lp(self, node: Node) -> bool:
        pb = self.problem
        y = pb.target.activity  # type: ignore[union-attr]
        pos = y > 0
        A0, c0 = _Rows.collect(node.rows, node.Z.shape[1])
        A = np.vstack([A0, node.Z[~pos]])
        c = np.concatenate([c0, node.z0[~pos]])
        E = node.Z[pos]
        e = node.z0[pos] - y[pos]
        for a, cc in zip(node.Z[~pos], node.z0[~pos]):
            self._lp.add_temporary(a, float(cc))
        self._lp.add_equalities(E, e)
        x = self._feasible_point()
        self._lp.clear_equalities()
        n_tmp = int((~pos).sum())
        if n_tmp:
            total = self._lp.base_rows + len(self._lp.path)
            self._lp.lp.delete_rows(np.arange(total, total + n_tmp))
        if x is None:
            self.stats.pruned += 1
            return True
        H = node.Z * pos[:, None]
        h = node.z0 * pos
        pattern = np.concatenate(list(node.done) + [pos])
        self.stats.pieces += 1
        return self.sink(RawPiece(pattern, A, c, E, e, H, h, x[None, :], -1, 0, pb.domain_index))

    def _finish_lp(self, node: Node, H: np.ndarray, h: np.ndarray, done: tuple) -> bool:
        pb = self.problem
        pattern = np.concatenate(done) if done else np.zeros(0, dtype=bool)
        A0, c0 = _Rows.collect(node.rows, node.Z.shape[1])
        d_u = node.Z.shape[1]
        if pb.target is None:
            self.stats.pieces += 1
            return self.sink(RawPiece(pattern, A0, c0, np.zeros((0, d_u)), np.zeros(0), H, h, node.X, -1, 0,
                                      pb.domain_index))
        keep_going = True
        for k, (A, b, C, d) in enumerate(pb.target.polyhedra):
            Ak, ck = A @ H, A @ h - b
            Ek, ek = C @ H, C @ h - d
            n_tmp = Ak.shape[0]
            if n_tmp:
                Au, cu = _unit(Ak, ck)
                self._lp.lp.add_rows(Au, -np.inf, -cu)
            self._lp.add_equalities(Ek, ek)
            x = self._feasible_point()
            self._lp.clear_equalities()
            if n_tmp:
                total = self._lp.base_rows + len(self._lp.path)
                self._lp.lp.delete_rows(np.arange(total, total + n_tmp))
            if x is None:
                continue
            self.stats.pieces += 1
            piece = RawPiece(pattern, np.vstack([A0, Ak]), np.concatenate([c0, ck]), Ek, ek, H, h, x[None, :], -1, k,
                             pb.domain_index)
            keep_going = self.sink(piece) and keep_going  # every disjunct of the node is emitted
        return keep_going
