"""Forward activation-pattern splitting: the exact search behind every engine answer.

The search walks a tree whose nodes are regions of the (chart of the) input domain on
which the activation pattern of layers ``1..l-1`` is fixed, so the pre-activation of layer
``l`` is affine there: ``z_l = Z u + z0``. At a node:

1. the sign of every undecided neuron of layer ``l`` over the region is read off the
   region's vertices; neurons with a constant sign are fixed without any LP;
2. the first neuron whose sign changes splits the region in two (both non-empty, because
   vertices lie strictly on both sides), and each child records the neuron's decision and
   the cutting row;
3. when layer ``l`` is decided, the map is pushed through the next layer; bounds on later
   layers (symbolic interval propagation, minimised exactly at the vertices) drop regions
   that provably cannot reach the target;
4. at the target layer the target is applied exactly (an activity forces the pattern and
   slices the region by ``z_i = y_i``; polyhedra clip/slice it), and what is left is a piece.

Nodes are explored depth first, so the frontier stays small; pieces go to a sink as they
are found. The vertex representation lives in :mod:`preimage.engine.vpoly`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import tolerances
from .bounds_nb import backward_rows, forward_bounds, pack_layers
from .domain import DomainChart
from .exact import ExactRows, classes, exact_classes
from .targets import LayerTarget
from .vpoly import CUT_CLIP, CUT_SLICE, CUT_SPLIT, affine_rank, classify, cut, cut_cls

__all__ = ["Problem", "Node", "RawPiece", "Stats", "RunStats", "Search", "root_nodes", "make_search"]


#: a region whose current layer still has this many undecided neurons is checked against
#: the target before it is split (a check costs about as much as tens of nodes)
MID_LAYER_PRUNE_MIN_UNDECIDED = 1


_STAT_FIELDS = ("pieces", "nodes", "lps", "fixed_by_bounds", "splits", "pruned", "seconds")


@dataclass
class Stats:
    """Counters of one search (summed over workers)."""

    pieces: int = 0
    nodes: int = 0
    lps: int = 0
    fixed_by_bounds: int = 0
    splits: int = 0
    pruned: int = 0
    seconds: float = 0.0

    def add(self, other: Stats) -> None:
        for f in _STAT_FIELDS[:-1]:  # the counters (seconds are set by the caller)
            setattr(self, f, getattr(self, f) + getattr(other, f))

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in _STAT_FIELDS}

    def snapshot(self) -> RunStats:
        """An immutable copy (what results and progress reports carry)."""
        return RunStats(**self.as_dict())


@dataclass(frozen=True, slots=True)
class RunStats:
    """Counters of a run, as a result reports them (immutable; see :class:`Stats`)."""

    pieces: int = 0
    nodes: int = 0
    lps: int = 0
    fixed_by_bounds: int = 0
    splits: int = 0
    pruned: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in _STAT_FIELDS}


@dataclass(frozen=True)
class Problem:
    """Everything a worker needs: the layers up to the target, the domain chart, the target."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    relus: tuple[bool, ...]
    chart: DomainChart
    target: LayerTarget | None
    words: int
    prune: bool = True
    domain_index: int = 0
    backend: str = "vertex"
    hint: np.ndarray | None = None  # a point (chart coordinates) whose side is explored first

    @property
    def depth(self) -> int:
        return len(self.weights)


@dataclass
class RawPiece:
    """A piece in chart coordinates, before it becomes a :class:`~preimage.Piece`.

    Inequalities ``A u + c <= 0``, equalities ``E u + e = 0``; ``H u + h`` is the target
    layer's value on the piece; ``X`` its vertices.
    """

    pattern: np.ndarray
    A: np.ndarray
    c: np.ndarray
    E: np.ndarray
    e: np.ndarray
    H: np.ndarray
    h: np.ndarray
    X: np.ndarray
    dim: int
    disjunct: int = 0
    domain_index: int = 0


class _Rows:
    """A persistent linked list of cutting rows ``a·u + c <= 0`` (shared by siblings)."""

    __slots__ = ("parent", "a", "c", "n")

    def __init__(self, parent: _Rows | None, a: np.ndarray, c: float) -> None:
        self.parent, self.a, self.c = parent, a, c
        self.n = 1 + (parent.n if parent is not None else 0)

    def __reduce__(self):
        # pickled as two arrays, not as a chain of objects (a deep chain would exhaust the
        # pickler's recursion limit); the chain is rebuilt on loading
        A, c = _Rows.collect(self, self.a.shape[0])
        return _Rows.chain, (A, c)

    @staticmethod
    def chain(A: np.ndarray, c: np.ndarray) -> _Rows | None:
        node = None
        for a, cc in zip(A, c):
            node = _Rows(node, np.array(a), float(cc))
        return node

    @staticmethod
    def collect(node: _Rows | None, d: int) -> tuple[np.ndarray, np.ndarray]:
        A, c = [], []
        while node is not None:
            A.append(node.a)
            c.append(node.c)
            node = node.parent
        if not A:
            return np.zeros((0, d)), np.zeros(0)
        return np.array(A[::-1]), np.array(c[::-1])


@dataclass
class Node:
    """A region with its layer-``layer`` pre-activation map ``Z u + z0``."""

    layer: int
    X: np.ndarray
    T: np.ndarray
    dim: int
    ncons: int
    Z: np.ndarray
    z0: np.ndarray
    dec: np.ndarray
    done: tuple
    rows: _Rows | None = None
    depth: int = 0
    ib: tuple | None = None  # (start, los, his): ranges of later layers over an enclosing region


def root_nodes(problem: Problem) -> list[Node]:
    """The root node of the search over the problem's domain."""
    from .domain import vertex_start

    if problem.backend == "lp":
        from .lp_search import lp_root_nodes

        return lp_root_nodes(problem)

    X, T, dim, ncons = vertex_start(problem.chart, problem.words)
    ch = problem.chart
    W, b = problem.weights[0], problem.biases[0]
    Z = W @ ch.B
    z0 = W @ ch.x0 + b
    return [Node(1, X, T, dim, ncons, Z, z0, np.full(W.shape[0], -1, dtype=np.int8), ())]


@dataclass
class Search:
    """A depth-first search over a stack of nodes (see the module docstring).

    ``sink(piece)`` receives pieces; returning ``False`` stops the search (used by
    decisions that stop at the first piece). ``should_stop()`` is polled between nodes.
    """

    problem: Problem
    sink: Callable[[RawPiece], bool]
    should_stop: Callable[[], bool] = lambda: False
    stats: Stats = field(default_factory=Stats)
    on_node: Callable[[Stats], None] | None = None
    piece_budget: int | None = None  # pieces this search may still emit (None: no limit)

    def __post_init__(self) -> None:  # backends set up more state here
        self._packed = None
        self._rows_cache = None
        self._dom_rows = None

    def _exact_rows(self, rows: _Rows | None, extra_a=(), extra_c=(), eq_a=(), eq_c=()) -> ExactRows:
        """The rows that can be tight at a region's vertices, for :mod:`preimage.engine.exact`:
        the domain's facets, the cutting rows ``rows`` then ``extra_*`` (bit order), equalities."""
        d = self.problem.chart.dim
        if self._dom_rows is None:
            self._dom_rows = self.problem.chart.u_constraints()
        A, c = _Rows.collect(rows, d)
        if len(extra_a):
            A = np.vstack([A, np.array(extra_a).reshape(-1, d)])
            c = np.concatenate([c, np.array(extra_c, dtype=np.float64)])
        return ExactRows(*self._dom_rows, A, c, np.array(eq_a).reshape(-1, d), np.array(eq_c, dtype=np.float64))

    def _settle(self, node: Node, j: int, s: np.ndarray, eps: float) -> np.ndarray:
        """Exact sides of the node's vertices w.r.t. neuron ``j`` (float distances ``s``, band ``eps``)."""
        cls = np.where(s > eps, 1, np.where(s < -eps, -1, 0)).astype(np.int8)
        amb = np.flatnonzero(np.abs(s) <= eps)
        if amb.size:
            cls[amb] = exact_classes(node.X, node.T, amb, node.Z[j], node.z0[j], self._exact_rows(node.rows))
        return cls

    def run(self, stack: list[Node]) -> list[Node]:
        """Explore until the stack is empty or a stop is requested; return what is left."""
        t0 = time.perf_counter()
        processed = 0
        try:
            while stack:
                if processed:  # always make some progress first
                    if self.should_stop():
                        break
                    if self.on_node is not None:
                        self.stats.seconds += time.perf_counter() - t0
                        t0 = time.perf_counter()
                        self.on_node(self.stats)
                node = stack.pop()
                self.stats.nodes += 1
                processed += 1
                try:
                    keep_going = self._process(node, stack)
                except BaseException:
                    stack.append(node)  # nothing is lost on an interrupt
                    raise
                if not keep_going:
                    break
        finally:
            self.stats.seconds += time.perf_counter() - t0
        return stack

    # -- one node ---------------------------------------------------------------------------------
    def _process(self, node: Node, stack: list[Node]) -> bool:
        """Advance ``node`` through its layers until it splits, is pruned or ends as a piece.

        The walk is the same for both backends; they differ in the steps they override:
        :meth:`_enter`, :meth:`_try_split`, :meth:`_layer_reachable`, :meth:`_apply_activity`
        and :meth:`_finish`.
        """
        pb = self.problem
        target = pb.target
        self._enter(node)
        while True:
            l = node.layer
            is_target_layer = l == pb.depth
            if is_target_layer and target is not None and target.activity is not None:
                return self._apply_activity(node)
            if pb.relus[l - 1]:
                if self._try_split(node, stack):
                    return True
                active = node.dec.astype(bool)
                H = node.Z * active[:, None]
                h = node.z0 * active
                done = node.done + (active,)
            else:
                H, h, done = node.Z, node.z0, node.done
            if is_target_layer:
                return self._finish(node, H, h, done)
            if pb.prune and target is not None and not self._layer_reachable(node, H, h, l):
                self.stats.pruned += 1
                return True
            W, b = pb.weights[l], pb.biases[l]
            node = Node(l + 1, node.X, node.T, node.dim, node.ncons, W @ H, W @ h + b,
                        np.full(W.shape[0], -1, dtype=np.int8), done, node.rows, node.depth, node.ib)

    # -- the steps a backend provides ----------------------------------------------------------------
    def _enter(self, node: Node) -> None:
        """Prepare for a node popped from the stack (the vertex backend needs nothing)."""

    def _try_split(self, node: Node, stack: list[Node]) -> bool:
        """Fix the stable neurons of the node's layer; split on the first unstable one (or prune
        the region when bounds show the target is out of reach). ``True`` if the node is done."""
        pb = self.problem
        while True:
            j, eps, fixed, s, amb = classify(node.X, node.Z, node.z0, node.dec, tolerances.ENGINE_SIGN_BAND)
            self.stats.fixed_by_bounds += fixed
            if j < 0:
                return False
            if not amb:
                cls = None
                break
            cls = self._settle(node, j, s, eps)  # a vertex in the band: its side is settled exactly
            if np.any(cls < 0) and np.any(cls > 0):
                break
            node.dec[j] = 1 if np.any(cls > 0) else 0
            self.stats.fixed_by_bounds += 1
        if (pb.prune and pb.target is not None and node.layer < pb.depth
                and int(np.count_nonzero(node.dec < 0)) >= MID_LAYER_PRUNE_MIN_UNDECIDED):
            S = node.X @ node.Z.T + node.z0
            if not self._reachable_partial(node, S):
                self.stats.pruned += 1
                return True
        self._split(node, j, s, eps, stack, cls)
        return True

    def _layer_reachable(self, node: Node, H: np.ndarray, h: np.ndarray, l: int) -> bool:
        return self._reachable(node.X, H, h, l, node=node)

    def _split(self, node: Node, j: int, s: np.ndarray, eps: float, stack: list[Node], cls=None) -> None:
        if cls is None:  # no vertex in the band: the float sides are certain
            Xa, Ta, Xb, Tb, _ = cut(node.X, node.T, s, eps, node.dim, node.ncons, CUT_SPLIT)
        else:
            Xa, Ta, Xb, Tb, _ = cut_cls(node.X, node.T, cls, s, node.dim, node.ncons, CUT_SPLIT)
        self._push_children(node, j, (Xa, Ta), (Xb, Tb), stack)

    def _push_children(self, node: Node, j: int, neg_geom: tuple, pos_geom: tuple, stack: list[Node]) -> None:
        """Push the two children of a split on neuron ``j`` (``z_j <= 0`` and ``z_j >= 0``),
        each with its geometry ``(X, T)``, decision and cutting row; the side holding the
        problem's hint is pushed last, so it is explored first."""
        self.stats.splits += 1
        children = []
        for (X, T), decision, sign in ((neg_geom, 0, 1.0), (pos_geom, 1, -1.0)):
            dec = node.dec.copy()
            dec[j] = decision
            rows = _Rows(node.rows, sign * node.Z[j], sign * float(node.z0[j]))
            children.append(Node(node.layer, X, T, node.dim, node.ncons + 1, node.Z, node.z0, dec, node.done,
                                 rows, node.depth + 1, node.ib))
        hint = self.problem.hint
        if hint is not None and float(node.Z[j] @ hint + node.z0[j]) <= 0:
            children.reverse()
        stack.extend(children)

    # -- target -------------------------------------------------------------------------------------
    def _reachable_partial(self, node: Node, S: np.ndarray) -> bool:
        """:meth:`_reachable` while layer ``node.layer`` is only partly decided: its undecided
        neurons enter with the triangle relaxation of their exact range over the region."""
        lo, hi = S.min(axis=0), S.max(axis=0)
        dec = node.dec
        und = dec < 0
        act = dec == 1
        su = np.where(und, hi / np.where(und, hi - lo, 1.0), act.astype(float))
        sl = np.where(und, (hi > -lo).astype(float), act.astype(float))
        HL = sl[:, None] * node.Z
        hL = sl * node.z0
        HU = su[:, None] * node.Z
        hU = su * node.z0 - np.where(und, su * lo, 0.0)
        return self._reachable(node.X, HL, hL, node.layer, upper=(HU, hU), node=node)

    def _reachable(self, X: np.ndarray, H: np.ndarray, h: np.ndarray, l: int, upper=None, node=None) -> bool:
        """Whether bounds leave the target reachable from the region (``False`` = prune).

        Symbolic interval propagation forward from layer ``l`` and back-substitution of the
        target rows, minimised at the region's vertices (compiled; the numpy reference is
        :func:`preimage.engine.bounds.propagate` / :func:`~preimage.engine.bounds.backward_lower`).
        """
        pb = self.problem
        target = pb.target
        assert target is not None
        if l == pb.depth:
            return True  # the target layer itself is handled exactly
        if self._packed is None:
            self._packed = pack_layers(pb.weights, pb.biases, pb.relus)
        HU, hU = (H, h) if upper is None else upper
        tol = tolerances.FEASIBILITY
        X = np.ascontiguousarray(X)
        H, h, HU, hU = (np.ascontiguousarray(a, dtype=np.float64) for a in (H, h, HU, hU))
        if target.activity is not None:
            y = target.activity
            slack = tol * (1.0 + np.abs(y))
            pos = y > 0
            eye = np.eye(y.shape[0])
            rows = np.vstack([eye, -eye[pos]])
            rhs = np.concatenate([np.where(pos, y, 0.0), -y[pos]])
            allowed = rhs + np.concatenate([slack, slack[pos]])
            n_last = y.shape[0]

            def reachable(los, his, lower) -> bool:
                lo, hi = los[los.shape[0] - n_last:], his[his.shape[0] - n_last:]
                # bounds miss the activity by more than their rounding scale (scale-free)
                slack = tol * (1.0 + np.abs(y) + np.maximum(np.abs(lo), np.abs(hi)))
                if np.any(lo[pos] > y[pos] + slack[pos]) or np.any(hi[pos] < y[pos] - slack[pos]):
                    return False
                if np.any(lo[~pos] > slack[~pos]):
                    return False
                return not np.any(lower > allowed + tol * np.abs(lower))

            on_pre = True
        else:
            rows, rhs, segments = self._target_rows()
            if rows.shape[0] == 0:
                return True
            allowed = rhs + tol * (1.0 + np.abs(rhs))

            def reachable(los, his, lower) -> bool:
                bad = lower > allowed + tol * np.abs(lower)
                return any(not np.any(bad[a:b]) for a, b in segments)

            on_pre = not pb.relus[pb.depth - 1]
        args = (X, H, h, HU, hU, *self._packed)
        cached = None if node is None else node.ib
        if cached is not None and cached[0] <= l:
            # ranges of an enclosing region are still sound here: try the cheap check first
            start, los, his = cached
            skip = int(sum(pb.weights[m].shape[0] for m in range(start, l)))
            lower = backward_rows(*args, l, rows, on_pre, los, his, skip)
            if not reachable(los[skip:], his[skip:], lower):
                return False
        los, his = forward_bounds(*args, l)
        if node is not None:
            node.ib = (l, los, his)
        lower = backward_rows(*args, l, rows, on_pre, los, his, 0)
        return reachable(los, his, lower)

    def _target_rows(self):
        """All disjuncts' rows (equalities as two inequalities), stacked, with their segments."""
        if self._rows_cache is None:
            rows, rhs, segments, start = [], [], [], 0
            for A, b, C, d in self.problem.target.polyhedra:  # type: ignore[union-attr]
                r = np.vstack([A, C, -C]) if C.shape[0] else A
                q = np.concatenate([b, d, -d]) if C.shape[0] else b
                rows.append(r)
                rhs.append(q)
                segments.append((start, start + r.shape[0]))
                start += r.shape[0]
            width = self.problem.weights[-1].shape[0]
            self._rows_cache = (np.ascontiguousarray(np.vstack(rows) if rows else np.zeros((0, width))),
                                np.concatenate(rhs) if rhs else np.zeros(0), segments)
        return self._rows_cache

    def _apply_activity(self, node: Node) -> bool:
        """Force the pattern of the target layer and cut the region to ``relu(z) = y``."""
        pb = self.problem
        y = pb.target.activity  # type: ignore[union-attr]
        X, T, dim, ncons = node.X, node.T, node.dim, node.ncons
        rows = node.rows
        eq_a, eq_c = [], []
        pos = y > 0
        order = np.concatenate([np.flatnonzero(~pos), np.flatnonzero(pos)])
        band = tolerances.ENGINE_SIGN_BAND
        for i in order:
            a_i, c_i = node.Z[i], float(node.z0[i] - y[i])
            # an equality z_i = y_i (y_i > 0) is float data: within the band it holds (see classes)
            # B023: the lambda runs inside classes(), in this iteration
            cls, s, _ = classes(X, T, a_i, c_i, band, lambda: self._exact_rows(rows, eq_a=eq_a, eq_c=eq_c),  # noqa: B023
                                exact=not pos[i])
            has_neg, has_pos = bool(np.any(cls < 0)), bool(np.any(cls > 0))
            if pos[i]:
                if not np.any(cls <= 0) or not np.any(cls >= 0):
                    self.stats.pruned += 1
                    return True
                if not has_neg and not has_pos:
                    eq_a.append(node.Z[i].copy())  # already on the hyperplane
                    eq_c.append(c_i)
                    continue
                Xa, Ta, _, _, n_new = cut_cls(X, T, cls, s, dim, ncons, CUT_SLICE)
                X, T = Xa, Ta
                if X.shape[0] == 0:
                    self.stats.pruned += 1
                    return True
                dim = dim - 1 if n_new > 0 else affine_rank(X, tolerances.VERTEX_SIGN)
                eq_a.append(node.Z[i].copy())
                eq_c.append(c_i)
            else:
                if not has_pos:
                    continue  # z_i <= 0 holds on the whole region
                if not np.any(cls <= 0):
                    self.stats.pruned += 1
                    return True
                Xa, Ta, _, _, n_new = cut_cls(X, T, cls, s, dim, ncons, CUT_CLIP)
                ncons += 1
                X, T = Xa, Ta
                if n_new == 0:  # no vertex strictly inside: only a face survives
                    dim = affine_rank(X, tolerances.VERTEX_SIGN)
                rows = _Rows(rows, node.Z[i].copy(), float(node.z0[i]))
            if X.shape[0] == 0:
                self.stats.pruned += 1
                return True
        active = pos
        H = node.Z * active[:, None]
        h = node.z0 * active
        A, c = _Rows.collect(rows, X.shape[1])
        E = np.array(eq_a).reshape(-1, X.shape[1])
        e = np.array(eq_c)
        pattern = np.concatenate(list(node.done) + [active])
        piece = RawPiece(pattern, A, c, E, e, H, h, X, dim, 0, pb.domain_index)
        self.stats.pieces += 1
        return self.sink(piece)

    def _finish(self, node: Node, H: np.ndarray, h: np.ndarray, done: tuple) -> bool:
        """The target layer is decided: emit the region, cut by each target disjunct."""
        pb = self.problem
        pattern = np.concatenate(done) if done else np.zeros(0, dtype=bool)
        A0, c0 = _Rows.collect(node.rows, node.X.shape[1])
        d_u = node.X.shape[1]
        if pb.target is None:
            self.stats.pieces += 1
            return self.sink(RawPiece(pattern, A0, c0, np.zeros((0, d_u)), np.zeros(0), H, h,
                                      node.X, node.dim, 0, pb.domain_index))
        keep_going = True
        for k, (A, b, C, d) in enumerate(pb.target.polyhedra):
            X, T, dim, ncons = node.X, node.T, node.dim, node.ncons
            ok = True
            extra_a, extra_c = [], []
            band = tolerances.ENGINE_SIGN_BAND
            for row, rhs in zip(A, b):
                a_u, c_u = row @ H, float(row @ h - rhs)
                cls, s, _ = classes(X, T, a_u, c_u, band,
                                    # B023: the lambda runs inside classes(), in this iteration
                                    lambda: self._exact_rows(node.rows, extra_a, extra_c))  # noqa: B023
                if not np.any(cls > 0):
                    continue
                if not np.any(cls <= 0):
                    ok = False
                    break
                X, T, _, _, n_new = cut_cls(X, T, cls, s, dim, ncons, CUT_CLIP)
                ncons += 1
                if n_new == 0:
                    dim = affine_rank(X, tolerances.VERTEX_SIGN)
                extra_a.append(a_u)
                extra_c.append(c_u)
                if X.shape[0] == 0:
                    ok = False
                    break
            eq_a, eq_c = [], []
            if ok:
                for row, rhs in zip(C, d):
                    a_u, c_u = row @ H, float(row @ h - rhs)
                    cls, s, _ = classes(X, T, a_u, c_u, band,
                                        # B023: the lambda runs inside classes(), in this iteration
                                        lambda: self._exact_rows(node.rows, extra_a, extra_c, eq_a, eq_c),  # noqa: B023
                                        exact=False)  # the target's equality holds within the band
                    if not np.any(cls <= 0) or not np.any(cls >= 0):
                        ok = False
                        break
                    if np.any(cls != 0):
                        X, T, _, _, n_new = cut_cls(X, T, cls, s, dim, ncons, CUT_SLICE)
                        dim = dim - 1 if n_new > 0 else affine_rank(X, tolerances.VERTEX_SIGN)
                    eq_a.append(a_u)
                    eq_c.append(c_u)
                    if X.shape[0] == 0:
                        ok = False
                        break
            if not ok:
                continue
            Ak = np.vstack([A0, np.array(extra_a).reshape(-1, d_u)])
            ck = np.concatenate([c0, np.array(extra_c)])
            piece = RawPiece(pattern, Ak, ck, np.array(eq_a).reshape(-1, d_u), np.array(eq_c), H, h, X, dim, k,
                             pb.domain_index)
            self.stats.pieces += 1
            keep_going = self.sink(piece) and keep_going  # every disjunct of the node is emitted
        return keep_going


def make_search(problem: Problem, sink, should_stop=lambda: False, on_node=None,
                piece_budget: int | None = None) -> Search:
    """The search for the problem's backend (vertex or LP; compiled walk for plain regions)."""
    if problem.backend == "lp":
        from .lp_search import LPSearch

        return LPSearch(problem, sink, should_stop, Stats(), on_node, piece_budget)
    if problem.target is None:
        from .fast_regions import FastRegionSearch

        return FastRegionSearch(problem, sink, should_stop, Stats(), on_node, piece_budget)
    return Search(problem, sink, should_stop, Stats(), on_node, piece_budget)
