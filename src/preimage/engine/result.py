"""Results of the engine: :class:`PreimageResult` and :class:`Verdict`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import tolerances
from .._validation import readonly
from ..polyhedra import AffineMap, Piece, PolyhedralSet, Polyhedron
from .domain import DomainChart
from .search import RawPiece, Stats

__all__ = ["PreimageResult", "Verdict", "DeferredSet", "to_piece", "to_pieces", "raw_arrays", "canonical_index",
           "pattern_key"]


def _normalized(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(A, axis=1)
    keep = norms > tolerances.ZERO_ROW
    return A[keep] / norms[keep, None], b[keep] / norms[keep]


def to_piece(raw: RawPiece, chart: DomainChart, *, with_map: bool = True) -> Piece:
    """Turn a chart-coordinate piece into an input-space :class:`Piece`.

    The H-representation is the domain's constraints plus the piece's cutting rows (from
    the network's own weights), so the piece is exact whatever the vertex arithmetic did.
    For a :class:`~preimage.engine.domain.Slice` domain the piece stays in slice coordinates.
    """
    A_x, c_x = chart.rows_to_input(raw.A, raw.c)
    E_x, e_x = chart.rows_to_input(raw.E, raw.e)
    A_x, b_x = _normalized(A_x, -c_x)
    E_x, d_x = _normalized(E_x, -e_x)
    if chart.slice is not None:
        A_dom, b_dom = chart.u_constraints()
        P = Polyhedron._trusted(np.vstack([A_dom, A_x]), np.concatenate([b_dom, b_x]), E_x, d_x)
        amap = AffineMap._trusted(raw.H, raw.h) if with_map else None
    else:
        dom = chart.x_polyhedron
        assert dom is not None
        P = Polyhedron._trusted(np.vstack([dom.A, A_x]), np.concatenate([dom.b, b_x]),
                                np.vstack([dom.C, E_x]), np.concatenate([dom.d, d_x]))
        amap = None
        if with_map:
            # h = H u + h0 with u = Bᵀ(x - x0) on the domain's hull
            M = raw.H @ chart.B.T
            amap = AffineMap._trusted(M, raw.h - M @ chart.x0)
    return Piece._trusted(P, raw.pattern, amap)


def _stack_rows(raws: list[RawPiece], chart: DomainChart, attr_a: str, attr_c: str):
    """All pieces' rows ``A u + c <= 0`` (or ``= 0``) as normalised input-space rows ``A_x x <= b_x``,
    stacked, with per-piece counts (zero rows dropped)."""
    d_u = chart.dim
    parts_a = [getattr(r, attr_a) for r in raws]
    parts_c = [getattr(r, attr_c) for r in raws]
    counts = np.fromiter((p.shape[0] for p in parts_c), dtype=np.int64, count=len(parts_c))
    A = np.concatenate(parts_a).reshape(-1, d_u) if counts.sum() else np.zeros((0, d_u))
    c = np.concatenate(parts_c) if counts.sum() else np.zeros(0)
    A_x, c_x = chart.rows_to_input(A, c)
    norms = np.linalg.norm(A_x, axis=1)
    keep = norms > tolerances.ZERO_ROW
    owner = np.repeat(np.arange(len(raws)), counts)
    counts = np.bincount(owner[keep], minlength=len(raws)).astype(np.int64)
    return A_x[keep] / norms[keep, None], -c_x[keep] / norms[keep], counts


def _stacked(base_A: np.ndarray, base_b: np.ndarray, rows_A: np.ndarray, rows_b: np.ndarray, counts: np.ndarray):
    """Every piece's ``[base rows; its own rows]`` in one array, with the pieces' row offsets."""
    P = counts.shape[0]
    m0, n = base_A.shape
    sizes = m0 + counts
    starts = np.concatenate([[0], np.cumsum(sizes)])
    big_A = np.empty((int(starts[-1]), n))
    big_b = np.empty(int(starts[-1]))
    base_pos = (starts[:-1, None] + np.arange(m0)[None, :]).reshape(-1)
    big_A[base_pos] = np.tile(base_A, (P, 1))
    big_b[base_pos] = np.tile(base_b, P)
    own_pos = np.repeat(starts[:-1] + m0, counts) + (
        np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    big_A[own_pos] = rows_A
    big_b[own_pos] = rows_b
    return big_A, big_b, starts


def _blocks(base_A: np.ndarray, base_b: np.ndarray, rows_A: np.ndarray, rows_b: np.ndarray, counts: np.ndarray):
    """Per piece ``[base rows; its own rows]`` as read-only views of one array."""
    P = counts.shape[0]
    big_A, big_b, starts = _stacked(base_A, base_b, rows_A, rows_b, counts)
    readonly(big_A)
    readonly(big_b)
    if starts[-1] == 0:  # no rows at all (e.g. no equalities): one shared empty block
        return [(big_A, big_b)] * P
    return [(big_A[starts[i]:starts[i + 1]], big_b[starts[i]:starts[i + 1]]) for i in range(P)]


def _domain_rows(chart: DomainChart):
    """The domain's own constraints, normalised, in the pieces' coordinates."""
    if chart.slice is not None:
        A_dom, b_dom = chart.u_constraints()
        A_dom, b_dom = A_dom / np.linalg.norm(A_dom, axis=1, keepdims=True), b_dom / np.linalg.norm(A_dom, axis=1)
        return A_dom, b_dom, np.zeros((0, chart.dim)), np.zeros(0)
    dom = chart.x_polyhedron
    assert dom is not None
    return dom.A, dom.b, dom.C, dom.d


def _maps(raws: list[RawPiece], chart: DomainChart) -> tuple[np.ndarray, np.ndarray]:
    """Every piece's affine map ``M x + c`` stacked: ``(P, out, n)`` and ``(P, out)``."""
    out_dim = raws[0].H.shape[0]
    H = np.concatenate([r.H for r in raws]).reshape(len(raws), out_dim, -1)  # (P, out, d_u)
    h = np.concatenate([r.h for r in raws]).reshape(len(raws), out_dim)
    if chart.slice is not None:
        return H, h
    M = H @ chart.B.T
    return M, h - M @ chart.x0


def pattern_key(pattern: np.ndarray) -> bytes:
    """The bytes by which pieces are ordered: the packed bits of a boolean pattern, the
    branch indices of an integer one (see :func:`preimage.engine.runner.canonical_order`)."""
    if pattern.dtype == np.bool_:
        return np.packbits(pattern).tobytes()
    return np.asarray(pattern, dtype=np.int8).tobytes()


def raw_arrays(raws: list[RawPiece], chart: DomainChart) -> dict[str, np.ndarray]:
    """The pieces as the arrays of a ``preimage.PolyhedralSet`` ``.npz`` file (see
    :func:`preimage.polyhedra.io.set_to_arrays`), built without a Python object per piece."""
    from ..polyhedra.io import VERSION

    A_dom, b_dom, C_dom, d_dom = _domain_rows(chart)
    A_x, b_x, a_counts = _stack_rows(raws, chart, "A", "c")
    E_x, d_x, e_counts = _stack_rows(raws, chart, "E", "e")
    A, b, A_off = _stacked(A_dom, b_dom, A_x, b_x, a_counts)
    C, d, C_off = _stacked(C_dom, d_dom, E_x, d_x, e_counts)
    lengths = np.array([r.pattern.shape[0] for r in raws], dtype=np.int64)
    branches = any(r.pattern.dtype != np.bool_ for r in raws)  # see preimage.polyhedra.io
    pats = np.full((len(raws), int(lengths.max(initial=0))), -1 if branches else 255,
                   dtype=np.int8 if branches else np.uint8)
    for i, r in enumerate(raws):
        pats[i, : lengths[i]] = r.pattern
    n = A_dom.shape[1]
    M, c0 = _maps(raws, chart) if raws else (np.zeros((0, 0, n)), np.zeros((0, 0)))
    out_dim = M.shape[1]
    return {"format": np.array("preimage.PolyhedralSet"), "version": np.array(VERSION), "ambient_dim": np.array(n),
            "A": A, "b": b, "A_offsets": A_off.astype(np.int64), "C": C, "d": d, "C_offsets": C_off.astype(np.int64),
            "patterns": pats, "pattern_lengths": lengths, "M": M.reshape(-1, n), "c": c0.reshape(-1),
            "M_offsets": (np.arange(len(raws) + 1) * out_dim).astype(np.int64), "map_dim": np.array(out_dim),
            "disjuncts": np.array([r.disjunct for r in raws], dtype=np.int64),
            "domains": np.array([r.domain_index for r in raws], dtype=np.int64)}


def canonical_index(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The pieces of an engine result file in canonical order (see
    :func:`preimage.engine.runner.canonical_order`): the same key, from the file's arrays."""
    pats, lens = arrays["patterns"], arrays["pattern_lengths"]
    n = lens.shape[0]
    dom = arrays["domains"] if "domains" in arrays else np.zeros(n, np.int64)
    dis = arrays["disjuncts"] if "disjuncts" in arrays else np.zeros(n, np.int64)
    kind = np.int8 if pats.dtype == np.int8 else bool
    keys = [(int(dom[i]), pattern_key(pats[i, : lens[i]].astype(kind)), int(lens[i]), int(dis[i])) for i in range(n)]
    return np.array(sorted(range(n), key=keys.__getitem__), dtype=np.int64)


def to_pieces(raws: list[RawPiece], chart: DomainChart, *, with_map: bool = True) -> list[Piece]:
    """:func:`to_piece` for many pieces of one domain at once (vectorised)."""
    if not raws:
        return []
    A_x, b_x, a_counts = _stack_rows(raws, chart, "A", "c")
    E_x, d_x, e_counts = _stack_rows(raws, chart, "E", "e")
    A_dom, b_dom, C_dom, d_dom = _domain_rows(chart)
    ineq = _blocks(A_dom, b_dom, A_x, b_x, a_counts)
    eq = _blocks(C_dom, d_dom, E_x, d_x, e_counts)
    maps: list[AffineMap | None] = [None] * len(raws)
    if with_map:
        M, c0 = _maps(raws, chart)
        readonly(M)
        readonly(c0)
        maps = [AffineMap._from_views(M[i], c0[i]) for i in range(len(raws))]
    lengths = {r.pattern.shape[0] for r in raws}
    kind = bool if raws[0].pattern.dtype == np.bool_ else np.int8  # branch indices beyond two branches
    if len(lengths) == 1:  # one read-only matrix of patterns; each piece gets a row
        patterns = readonly(np.array([r.pattern for r in raws], dtype=kind).reshape(len(raws), -1))
    else:
        patterns = [readonly(np.array(r.pattern, dtype=kind)) for r in raws]
    return [Piece._from_views(Polyhedron._from_views(ineq[i][0], ineq[i][1], eq[i][0], eq[i][1]), patterns[i], maps[i])
            for i in range(len(raws))]


class DeferredSet(PolyhedralSet):
    """A :class:`~preimage.PolyhedralSet` whose pieces are built on first use.

    The engine returns its answer as one: a run that streams hundreds of thousands of
    pieces to a file and reports only their number never builds a Python object per piece.
    ``len`` is known at once; anything else builds the pieces once.
    """

    def __init__(self, build, count: int, ambient_dim: int) -> None:  # noqa: D107 - see the class
        object.__setattr__(self, "ambient_dim", int(ambient_dim))
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_count", int(count))

    def __getattr__(self, name: str):
        if name == "pieces":  # the slot is empty until the first use
            pieces = tuple(self._build())
            object.__setattr__(self, "pieces", pieces)
            object.__setattr__(self, "_build", None)
            return pieces
        raise AttributeError(name)

    def __len__(self) -> int:
        return self._count

    def __reduce__(self):
        return PolyhedralSet, (self.pieces, self.ambient_dim)


@dataclass(frozen=True)
class PreimageResult:
    """The exact preimage: a union of pieces, and how the search went.

    Attributes
    ----------
    set : the :class:`~preimage.PolyhedralSet`; each piece carries its activation pattern
        (one boolean per ReLU of layers ``1..layer``) and the affine map of the layer's value.
    complete : ``False`` when a budget (time, pieces) or an interrupt stopped the search;
        then ``set`` holds what was found and ``frontier_path`` (if saved) lets
        :func:`preimage.resume` continue.
    stats : counters (pieces, nodes, LPs, neurons fixed by bounds, splits, pruned, seconds),
        an immutable :class:`~preimage.engine.search.RunStats`; ``info`` is a read-only
        mapping and ``vertices`` read-only arrays: a result is a snapshot.
    layer : the target layer.
    disjuncts : for a union target, the part of the (disjoint-ified) union each piece reached;
        ``info["disjunct_origin"]`` maps parts to the disjuncts as given.
    """

    set: PolyhedralSet
    complete: bool
    stats: Stats
    layer: int
    disjuncts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    domain_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    vertices: tuple = ()
    frontier_path: str | None = None
    stopped_by: str | None = None
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.set)

    @property
    def pieces(self):
        return self.set.pieces

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"INCOMPLETE ({self.stopped_by})"
        return f"PreimageResult({len(self.set)} pieces at layer {self.layer}, {state}, {self.stats.seconds:.2f} s)"


@dataclass(frozen=True)
class Verdict:
    """Outcome of :func:`preimage.verify`.

    ``status`` is ``"sat"`` (the unsafe set is reachable: ``counterexample`` is an input whose
    forward pass lands in it, confirmed), ``"unsat"`` (the preimage of the unsafe set in the
    input set is empty: a proof), or ``"unknown"`` (a budget ran out, or a candidate could
    not be confirmed by the forward pass — see ``reason``). A verdict stopped by a budget or
    an interrupt has ``stopped_by`` set and a checkpoint at ``frontier_path`` that
    :func:`preimage.resume` continues.
    """

    status: str
    counterexample: np.ndarray | None
    output: np.ndarray | None
    stats: Stats
    reason: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    frontier_path: str | None = None
    stopped_by: str | None = None

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "counterexample": None if self.counterexample is None else self.counterexample.tolist(),
            "output": None if self.output is None else self.output.tolist(),
            "time_s": self.stats.seconds,
            "pieces": self.stats.pieces,
            "nodes": self.stats.nodes,
            "lps": self.stats.lps,
            "reason": self.reason,
            "checkpoint": self.frontier_path,
        }
