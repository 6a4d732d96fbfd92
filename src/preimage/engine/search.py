"""The driver of the walk: problems, nodes, pieces, and the loop around the compiled walk.

:mod:`preimage.engine.walk` holds the search itself (written once, for both region
representations). This module turns a :class:`Problem` into the walk's flat arrays, feeds
it the stack in chunks (so budgets, stops and progress are checked between calls), turns
the pieces it returns into :class:`RawPiece` objects for the sink and what is left of the
stack back into :class:`Node` objects (for the runner's tasks and checkpoints).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from .. import tolerances
from ..activations import Activation
from .bounds import pack_layers
from .domain import DomainChart
from .targets import LayerTarget
from .walk import (
    LP_REGIONS,
    Q_EXACT,
    Q_LP_CLASSIFY,
    Q_LP_FEASIBLE,
    Q_RANK,
    T_FORCE,
    T_NONE,
    T_POLY,
    VERTEX_REGIONS,
    walk,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from numpy.typing import ArrayLike, DTypeLike, NDArray

    from ..activations import UnitTable
    from .bounds import Layers
    from .region_lp import PathLP
    from .walk import Answers, Dom, Pieces, Question, Stack, Target

__all__ = ["Problem", "Node", "RawPiece", "PieceRows", "rebuilt", "Stats", "RunStats", "Search", "root_nodes",
           "make_search"]


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

    def as_dict(self) -> dict[str, Any]:
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

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _STAT_FIELDS}


@dataclass(frozen=True)
class Problem:
    """Everything a worker needs: the layers up to the target, the domain chart, the target."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activations: tuple[Activation, ...]
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

    @cached_property
    def tables(self) -> tuple[UnitTable, ...]:
        """Each layer's :class:`~preimage.activations.UnitTable`."""
        return tuple(act.table(W.shape[0]) for W, act in zip(self.weights, self.activations))

    @property
    def binary(self) -> bool:
        """Patterns are boolean (every unit has at most two branches)."""
        return all(act.max_branches(W.shape[0]) <= 2 for W, act in zip(self.weights, self.activations)
                   if not act.is_identity)

    @cached_property
    def layers(self) -> Layers:
        """The layers as the compiled walk takes them (:func:`~preimage.engine.bounds.pack_layers`)."""
        return pack_layers(self.weights, self.biases, self.tables)

    @cached_property
    def target_arrays(self) -> Target:
        """The target as the compiled walk takes it (see :func:`preimage.engine.walk.walk`)."""
        return _target_arrays(self)

    @cached_property
    def root_map(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The first layer's pre-activation ``Z u + z0`` in the chart's coordinates ``u``."""
        ch = self.chart
        W, b = self.weights[0], self.biases[0]
        return np.ascontiguousarray(W @ ch.B, dtype=np.float64), np.ascontiguousarray(W @ ch.x0 + b, dtype=np.float64)

    def forward(self, x: ArrayLike) -> np.ndarray:
        """The target layer's value at an input point ``x`` (a plain forward pass)."""
        h = np.asarray(x, dtype=np.float64)
        for W, b, act in zip(self.weights, self.biases, self.activations):
            h = act.evaluate((W @ h + b)[None, :])[0]
        return h


@dataclass(slots=True)
class RawPiece:
    """A piece as the engine keeps it: what cannot be recomputed.

    ``pattern`` is the branch of every unit (boolean for two-branch activations); ``cuts``
    the cut code of each row that cut the piece (:func:`preimage.engine.walk.cut_code`),
    inequalities first. Its rows, equalities and affine map are recomputed from these and
    the problem by :func:`preimage.engine.rebuild.rebuild` (see :func:`rebuilt`), its vertices
    enumerated from its polyhedron when asked for. ``dim``: the dimension the vertex backend
    found (``-1``: the LP backend).
    """

    pattern: np.ndarray
    cuts: np.ndarray
    dim: int
    disjunct: int = 0
    domain_index: int = 0


@dataclass
class PieceRows:
    """A piece's geometry in chart coordinates, rebuilt from a :class:`RawPiece`:
    inequalities ``A u + c <= 0``, equalities ``E u + e = 0``, the target layer's value
    ``H u + h``."""

    pattern: np.ndarray
    A: np.ndarray
    c: np.ndarray
    E: np.ndarray
    e: np.ndarray
    H: np.ndarray
    h: np.ndarray
    disjunct: int = 0
    domain_index: int = 0


class Rebuildable(Protocol):
    """What :func:`rebuilt` needs of a problem (a :class:`Problem`, or one read from a result
    file: :class:`~preimage.engine.result_file.StoredProblem`)."""

    @property
    def layers(self) -> Layers: ...

    @property
    def target_arrays(self) -> Target: ...

    @property
    def root_map(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

    @property
    def chart(self) -> DomainChart: ...


def rebuilt(problem: Rebuildable, raws: Sequence[RawPiece]) -> list[PieceRows]:
    """The geometry of ``raws`` (pieces of ``problem``), recomputed in one compiled call."""
    from .rebuild import rebuild

    if not raws:
        return []
    d = problem.chart.dim
    pats = [np.asarray(r.pattern, dtype=np.int8) for r in raws]
    pat_off = np.concatenate([[0], np.cumsum([p.shape[0] for p in pats])]).astype(np.int64)
    cut_off = np.concatenate([[0], np.cumsum([r.cuts.shape[0] for r in raws])]).astype(np.int64)
    Z1, z1 = problem.root_map
    A, A_off, c, E, E_off, e, H, H_off, h = rebuild(
        problem.layers, problem.target_arrays, Z1, z1, np.ascontiguousarray(np.concatenate(pats), dtype=np.int8),
        pat_off, np.ascontiguousarray(np.concatenate([r.cuts for r in raws]), dtype=np.int64), cut_off)
    return [PieceRows(r.pattern, A[A_off[i]:A_off[i + 1]].reshape(-1, d), c[A_off[i]:A_off[i + 1]],
                      E[E_off[i]:E_off[i + 1]].reshape(-1, d), e[E_off[i]:E_off[i + 1]],
                      H[H_off[i]:H_off[i + 1]].reshape(-1, d), h[H_off[i]:H_off[i + 1]], r.disjunct, r.domain_index)
            for i, r in enumerate(raws)]


def _rows_of(rows: tuple[np.ndarray, np.ndarray] | None, d: int) -> tuple[np.ndarray, np.ndarray]:
    if rows is None:
        return np.zeros((0, d)), np.zeros(0)
    return np.asarray(rows[0], dtype=np.float64).reshape(-1, d), np.asarray(rows[1], dtype=np.float64)


@dataclass
class Node:
    """A region (vertices ``X`` with tight sets ``T``, or one point for the LP backend) with
    its layer-``layer`` pre-activation map ``Z u + z0``, the decisions ``dec`` of that layer
    (-1: open), the branches ``done`` of the layers before, its cutting rows ``(A, c)`` and
    their cut codes ``cuts`` (what its pieces will keep, see :class:`RawPiece`)."""

    layer: int
    X: np.ndarray
    T: np.ndarray
    dim: int
    ncons: int
    Z: np.ndarray
    z0: np.ndarray
    dec: np.ndarray
    done: np.ndarray
    rows: tuple[np.ndarray, np.ndarray] | None = None
    depth: int = 0
    ib: tuple[int, NDArray[np.float64], NDArray[np.float64]] | None = None  # (start, los, his)
    cuts: np.ndarray | None = None


def root_nodes(problem: Problem) -> list[Node]:
    """The root node of the search over the problem's domain."""
    from .domain import vertex_start

    ch = problem.chart
    Z, z0 = (a.copy() for a in problem.root_map)  # the map the pieces are rebuilt from (see rebuilt)
    n_dec = problem.tables[0].n_decisions
    if problem.backend == "lp":
        if ch.u_box is not None:
            point = ch.u_box.center
        else:
            assert ch.u_polyhedron is not None
            point = ch.u_polyhedron.relative_interior_point()
        X, T, dim, ncons = np.asarray(point, dtype=np.float64)[None, :], np.zeros((1, problem.words), np.uint64), \
            ch.dim, 0
    else:
        X, T, dim, ncons = vertex_start(ch, problem.words)
    return [Node(1, X, T, dim, ncons, Z, z0, np.full(n_dec, -1, dtype=np.int8), np.zeros(0, dtype=np.int8))]


def _target_arrays(problem: Problem) -> Target:
    """The target as the walk's tuple (see :func:`preimage.engine.walk.walk`)."""
    width = problem.weights[-1].shape[0]
    out_w = problem.activations[-1].out_dim(width)
    none2, none1 = np.zeros((0, out_w)), np.zeros(0)
    off0 = np.zeros(1, dtype=np.int64)
    f_lo = f_hi = np.zeros(0)
    f_branch = np.zeros(0, dtype=np.int8)
    tgt = problem.target
    if tgt is None:
        return (T_NONE, f_lo, f_hi, f_branch, none2, none1, off0, none2, none1, off0, np.zeros((0, out_w)), none1,
                np.zeros(1, dtype=np.int64), False)
    if tgt.force is not None:
        force_lo, force_hi, force_branch = tgt.force
        f_lo, f_hi, f_branch = (np.ascontiguousarray(force_lo), np.ascontiguousarray(force_hi),
                                np.ascontiguousarray(force_branch))
        rows, rhs = [], []
        for u in range(width):
            if np.isfinite(f_hi[u]):
                rows.append(np.eye(width)[u])
                rhs.append(f_hi[u])
            if np.isfinite(f_lo[u]):
                rows.append(-np.eye(width)[u])
                rhs.append(-f_lo[u])
        R = np.array(rows, dtype=np.float64).reshape(-1, width)
        return (T_FORCE, f_lo.astype(np.float64), f_hi.astype(np.float64), f_branch.astype(np.int8), none2, none1,
                off0, none2, none1, off0, R, np.array(rhs, dtype=np.float64), np.array([0, R.shape[0]], np.int64),
                True)
    As, bs, Cs, ds, rows, rhs, seg = [], [], [], [], [], [], [0]
    for A, b, C, d in tgt.polyhedra:
        As.append(A)
        bs.append(b)
        Cs.append(C)
        ds.append(d)
        rows.append(np.vstack([A, C, -C]))
        rhs.append(np.concatenate([b, d, -d]))
        seg.append(seg[-1] + rows[-1].shape[0])

    def cat2(parts: Sequence[ArrayLike]) -> NDArray[np.float64]:
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float64) if parts else np.zeros((0, out_w))

    def cat1(parts: Sequence[ArrayLike]) -> NDArray[np.float64]:
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float64) if parts else np.zeros(0)

    def offs(parts: Sequence[NDArray[np.float64]]) -> NDArray[np.int64]:
        return np.concatenate([[0], np.cumsum([p.shape[0] for p in parts])]).astype(np.int64)

    return (T_POLY, f_lo, f_hi, f_branch, cat2(As), cat1(bs), offs(As), cat2(Cs), cat1(ds), offs(Cs), cat2(rows),
            cat1(rhs), np.array(seg, dtype=np.int64), False)


class Search:
    """Runs the walk over a stack of nodes, in chunks.

    ``sink(piece)`` receives pieces; returning ``False`` stops the search (used by decisions
    that stop at the first piece). ``should_stop()`` is polled between chunks, ``on_node``
    receives the counters after each; ``piece_budget`` bounds the pieces this search may
    still emit; ``one_piece`` makes each chunk end at its first piece (decisions).
    """

    #: at most this many nodes per call into the compiled walk (between checks of budgets,
    #: stops and progress); fewer when a call would take longer than ``CHUNK_SECONDS``
    CHUNK = 2048  # bounds the output of one call (memory: see benchmarks/bench_memory.py)
    CHUNK_SECONDS = 0.05

    def __init__(self, problem: Problem, sink: Callable[[RawPiece], bool],
                 should_stop: Callable[[], bool] = lambda: False, stats: Stats | None = None,
                 on_node: Callable[[Stats], None] | None = None, piece_budget: int | None = None,
                 one_piece: bool = False) -> None:
        self.problem, self.sink, self.should_stop = problem, sink, should_stop
        self.stats = stats if stats is not None else Stats()
        self.on_node, self.piece_budget, self.one_piece = on_node, piece_budget, one_piece
        pb = problem
        ch = pb.chart
        self._kind = LP_REGIONS if pb.backend == "lp" else VERTEX_REGIONS
        self._layers = pb.layers
        dom_A, dom_b = ch.u_constraints()
        if ch.u_box is not None:
            lo, hi = ch.u_box.lo, ch.u_box.hi
        else:
            assert ch.u_polyhedron is not None
            bb = ch.u_polyhedron.bounding_box()
            lo, hi = bb.lo, bb.hi
        hint = np.zeros(0) if pb.hint is None else np.asarray(pb.hint, dtype=np.float64)
        # fresh writable copies: the compiled walk has one signature (see engine/kernels.py)
        self._dom = cast("Dom", tuple(np.array(a, dtype=np.float64, order="C") for a in (dom_A, dom_b, lo, hi, hint)))
        self._target = pb.target_arrays
        self._opts = (bool(pb.prune), tolerances.VERTEX_SIGN, tolerances.ENGINE_SIGN_BAND, tolerances.FEASIBILITY)
        self._binary = pb.binary
        self._lp: PathLP | None = None  # the LP region of a run (LP backend)

    # -- the stack as flat arrays -------------------------------------------------------------------
    def _pack(self, nodes: list[Node]) -> Stack:
        d = self.problem.chart.dim
        words = self.problem.words
        rows = [_rows_of(n.rows, d) for n in nodes]
        pats = [np.asarray(n.done, dtype=np.int8) for n in nodes]

        def cat(parts: Sequence[ArrayLike], shape: tuple[int, ...], dtype: DTypeLike) -> NDArray[Any]:
            return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(shape, dtype), dtype=dtype)

        def off(sizes: Sequence[int]) -> NDArray[np.int64]:
            return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

        return (
            cat([n.X.reshape(-1, d) for n in nodes], (0, d), np.float64), off([n.X.shape[0] for n in nodes]),
            cat([n.T for n in nodes], (0, words), np.uint64),
            np.array([n.layer - 1 for n in nodes], dtype=np.int64),
            cat([n.dec for n in nodes], (0,), np.int8), off([n.dec.shape[0] for n in nodes]),
            cat(pats, (0,), np.int8), off([p.shape[0] for p in pats]),
            cat([n.Z for n in nodes], (0, d), np.float64), cat([n.z0 for n in nodes], (0,), np.float64),
            off([n.Z.shape[0] for n in nodes]),
            cat([r[0] for r in rows], (0, d), np.float64), off([r[1].shape[0] for r in rows]),
            cat([r[1] for r in rows], (0,), np.float64),
            np.array([n.ncons for n in nodes], dtype=np.int64),
            cat([n.cuts if n.cuts is not None else np.zeros(0, np.int64) for n in nodes], (0,), np.int64),
        )

    def _unpack(self, packed: Stack) -> list[Node]:
        rX, rX_off, rT, rL, rdec, rdec_off, rpat, rpat_off, rZ, rz0, rZ_off, rA, rA_off, rc, rN, rt = packed
        d = self.problem.chart.dim
        out = []
        for i in range(rL.shape[0]):
            out.append(Node(int(rL[i]) + 1, rX[rX_off[i]:rX_off[i + 1]].copy(), rT[rX_off[i]:rX_off[i + 1]].copy(),
                            d, int(rN[i]), rZ[rZ_off[i]:rZ_off[i + 1]].copy(), rz0[rZ_off[i]:rZ_off[i + 1]].copy(),
                            rdec[rdec_off[i]:rdec_off[i + 1]].copy(), rpat[rpat_off[i]:rpat_off[i + 1]].copy(),
                            (rA[rA_off[i]:rA_off[i + 1]].copy(), rc[rA_off[i]:rA_off[i + 1]].copy()),
                            cuts=rt[rA_off[i]:rA_off[i + 1]].copy()))
        return out

    def _pieces(self, out: Pieces) -> list[RawPiece]:
        pPat, pPat_off, pCut, pCut_off, meta = out
        pats = pPat.astype(bool) if self._binary else pPat
        di = self.problem.domain_index
        return [RawPiece(pats[pPat_off[i]:pPat_off[i + 1]], pCut[pCut_off[i]:pCut_off[i + 1]], int(meta[i, 0]),
                         int(meta[i, 1]), di)
                for i in range(meta.shape[0])]

    # -- questions of the walk ----------------------------------------------------------------------
    def _answer(self, question: Question) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Answer a question of the walk (see :mod:`preimage.engine.walk`): ``(ints, floats)``."""
        kind, M1, U, idx, v1, M2, v2, M3, v3, D = question
        if kind == Q_EXACT:  # exact sides of the vertices in the band
            from .exact import ExactRows, exact_classes

            rows = ExactRows(self._dom[0], self._dom[1], M2, v2, M3, v3)
            return exact_classes(M1, U, idx, v1[:-1], float(v1[-1]), rows).astype(np.int64), np.zeros(0)
        if kind == Q_RANK:
            from .vpoly import affine_rank

            return np.array([affine_rank(M1, float(v1[0]))], dtype=np.int64), np.zeros(0)
        assert self._lp is not None
        self._lp.sync(M2, v2)
        if kind == Q_LP_CLASSIFY:
            dec = np.array(D, dtype=np.int8)
            j, x_neg, x_pos, lps, fixed = self._lp.classify(v1, M3, v3, dec)
            ints = np.concatenate([[j, lps, fixed], dec.astype(np.int64)]).astype(np.int64)
            return ints, (np.concatenate([x_neg, x_pos]) if j >= 0 else np.zeros(0))
        assert kind == Q_LP_FEASIBLE
        found, x, lps = self._lp.feasible(M3, v3, M1, v1)
        return np.array([int(found), lps], dtype=np.int64), (x if found else np.zeros(0))

    @staticmethod
    def _answers(answers: list[tuple[NDArray[np.int64], NDArray[np.float64]]]) -> Answers:
        def off(parts: Sequence[NDArray[Any]]) -> NDArray[np.int64]:
            return np.concatenate([[0], np.cumsum([p.shape[0] for p in parts])]).astype(np.int64)

        ints = [a[0] for a in answers]
        floats = [a[1] for a in answers]
        return (np.concatenate(ints).astype(np.int64) if ints else np.zeros(0, np.int64),
                np.concatenate(floats).astype(np.float64) if floats else np.zeros(0), off(ints), off(floats))

    # -- the loop -------------------------------------------------------------------------------------
    def run(self, stack: list[Node]) -> list[Node]:
        """Walk the nodes of ``stack``; on return (or an interrupt) ``stack`` holds what is left."""
        packed = self._pack(stack)
        if self._kind == LP_REGIONS:
            from .region_lp import PathLP  # HiGHS is loaded only for the LP backend

            self._lp = PathLP(*self._dom[:4])
        answers: list[tuple[NDArray[np.int64], NDArray[np.float64]]] = []  # for the node on top of the stack
        t0 = time.perf_counter()
        first = True
        chunk = min(self.CHUNK, 256)  # grows while calls are quick
        try:
            while packed[3].shape[0]:
                if not first and self.should_stop():  # always make some progress
                    break
                first = False
                budget = self.piece_budget - self.stats.pieces if self.piece_budget is not None else 1 << 62
                if budget <= 0:
                    break
                if self.one_piece:
                    budget = 1
                t_call = time.perf_counter()
                counters, packed, out, question = walk(self._kind, self._layers, self._dom, self._target,
                                                       self._opts, packed, self._answers(answers), chunk, budget)
                if counters[5]:  # a question: answer it; the node that asked replays with the answers
                    new = self._answer(question)
                    answers = answers + [new] if counters[6] else [new]
                else:
                    answers = []
                spent = time.perf_counter() - t_call
                if spent > self.CHUNK_SECONDS:  # keep stops and progress prompt
                    chunk = max(16, int(chunk * self.CHUNK_SECONDS / spent))
                elif spent < self.CHUNK_SECONDS / 4:
                    chunk = min(self.CHUNK, 2 * chunk)
                st = self.stats
                st.nodes += int(counters[0])
                st.splits += int(counters[1])
                st.fixed_by_bounds += int(counters[2])
                st.pruned += int(counters[3])
                st.lps += int(counters[4])
                pieces = self._pieces(out)
                st.pieces += len(pieces)
                stop = False
                for i, piece in enumerate(pieces):
                    try:
                        if not self.sink(piece):
                            stop = True
                    except BaseException:
                        for rest in pieces[i + 1:]:  # nothing produced is lost
                            self.sink(rest)
                        raise
                if self.on_node is not None:
                    st.seconds += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    self.on_node(st)
                if stop:
                    break
        finally:
            self.stats.seconds += time.perf_counter() - t0
            self._lp = None
            stack[:] = self._unpack(packed)
        return stack


def make_search(problem: Problem, sink: Callable[[RawPiece], bool], should_stop: Callable[[], bool] = lambda: False,
                on_node: Callable[[Stats], None] | None = None, piece_budget: int | None = None,
                one_piece: bool = False) -> Search:
    """The search of a problem (either region representation: see :mod:`preimage.engine.walk`)."""
    return Search(problem, sink, should_stop, Stats(), on_node, piece_budget, one_piece)
