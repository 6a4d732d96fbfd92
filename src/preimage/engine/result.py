"""Results of the engine: :class:`PreimageResult` and :class:`Verdict`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from .. import tolerances
from .._validation import readonly
from ..polyhedra import AffineMap, Piece, PolyhedralSet, Polyhedron
from .domain import DomainChart
from .search import PieceRows, RunStats

__all__ = ["PreimageResult", "Verdict", "DeferredSet", "PieceVertices", "FrozenMapping", "freeze", "to_piece",
           "to_pieces", "canonical_index", "pattern_key"]


def _normalized(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(A, axis=1)
    keep = norms > tolerances.ZERO_ROW
    return A[keep] / norms[keep, None], b[keep] / norms[keep]


def to_piece(raw: PieceRows, chart: DomainChart, *, with_map: bool = True) -> Piece:
    """Turn a piece's geometry in chart coordinates (rebuilt: :func:`~.search.rebuilt`) into
    an input-space :class:`Piece`.

    The H-representation is the domain's constraints plus the piece's cutting rows (from
    the network's own weights), so the piece is exact whatever the vertex arithmetic did.
    For a :class:`~preimage.engine.domain.Slice` domain the piece stays in slice coordinates.
    No vertices are kept: ``piece.vertices()`` enumerates them when asked.
    """
    return to_pieces([raw], chart, with_map=with_map)[0]


def _stack_rows(raws: list[PieceRows], chart: DomainChart, attr_a: str,
                attr_c: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _stacked(base_A: np.ndarray, base_b: np.ndarray, rows_A: np.ndarray, rows_b: np.ndarray,
             counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _blocks(base_A: np.ndarray, base_b: np.ndarray, rows_A: np.ndarray, rows_b: np.ndarray,
            counts: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per piece ``[base rows; its own rows]`` as read-only views of one array."""
    P = counts.shape[0]
    big_A, big_b, starts = _stacked(base_A, base_b, rows_A, rows_b, counts)
    readonly(big_A)
    readonly(big_b)
    if starts[-1] == 0:  # no rows at all (e.g. no equalities): one shared empty block
        return [(big_A, big_b)] * P
    return [(big_A[starts[i]:starts[i + 1]], big_b[starts[i]:starts[i + 1]]) for i in range(P)]


def _domain_rows(chart: DomainChart) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The domain's own constraints, normalised, in the pieces' coordinates."""
    if chart.slice is not None:
        A_dom, b_dom = chart.u_constraints()
        A_dom, b_dom = A_dom / np.linalg.norm(A_dom, axis=1, keepdims=True), b_dom / np.linalg.norm(A_dom, axis=1)
        return A_dom, b_dom, np.zeros((0, chart.dim)), np.zeros(0)
    dom = chart.x_polyhedron
    assert dom is not None
    return dom.A, dom.b, dom.C, dom.d


def _maps(raws: list[PieceRows], chart: DomainChart) -> tuple[np.ndarray, np.ndarray]:
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


def to_pieces(raws: list[PieceRows], chart: DomainChart, *, with_map: bool = True) -> list[Piece]:
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
    patterns: np.ndarray | list[np.ndarray]
    if len(lengths) == 1:  # one read-only matrix of patterns; each piece gets a row
        patterns = readonly(np.array([r.pattern for r in raws], dtype=kind).reshape(len(raws), -1))
    else:
        patterns = [readonly(np.array(r.pattern, dtype=kind)) for r in raws]
    return [Piece._from_views(Polyhedron._from_views(ineq[i][0], ineq[i][1], eq[i][0], eq[i][1]), patterns[i], maps[i])
            for i in range(len(raws))]


class FrozenMapping(Mapping[Any, Any]):
    """A read-only mapping (what ``PreimageResult.info`` and ``Verdict.info`` are).

    Item assignment and deletion raise ``TypeError``; unlike ``types.MappingProxyType`` it
    holds its own copy and pickles. Build one with :func:`freeze`, which freezes the values too.
    """

    __slots__ = ("_data",)
    _data: dict[Any, Any]

    def __init__(self, data: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = ()) -> None:  # noqa: D107 - see the class
        object.__setattr__(self, "_data", {k: freeze(v) for k, v in dict(data).items()})

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        return f"FrozenMapping({self._data!r})"

    def __reduce__(self) -> tuple[type[FrozenMapping], tuple[dict[Any, Any]]]:
        return FrozenMapping, (self._data,)


def freeze(value: Any) -> Any:
    """An immutable version of ``value``: mappings become :class:`FrozenMapping`, lists and
    tuples tuples, sets frozensets, arrays read-only copies (all recursively); anything else
    (numbers, strings, ...) is returned as is."""
    if isinstance(value, FrozenMapping):
        return value
    if isinstance(value, Mapping):
        return FrozenMapping(value)
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    if isinstance(value, np.ndarray):
        return readonly(np.array(value))
    return value


class PieceVertices(Sequence[np.ndarray]):
    """The vertices of a result's pieces, enumerated on demand: ``v[i]`` is
    ``result.set[i].vertices()`` (a read-only ``(k, n)`` array in the piece's coordinates;
    computed once per piece object, see :meth:`preimage.Piece.vertices`)."""

    __slots__ = ("_set",)

    def __init__(self, pieces: PolyhedralSet) -> None:  # noqa: D107 - see the class
        self._set = pieces

    def __len__(self) -> int:
        return len(self._set)

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[np.ndarray]: ...

    def __getitem__(self, i: int | slice) -> np.ndarray | Sequence[np.ndarray]:
        if isinstance(i, slice):
            return tuple(self[k] for k in range(*i.indices(len(self))))
        return self._set[i].vertices()

    def __repr__(self) -> str:
        return f"PieceVertices({len(self)} pieces, enumerated on demand)"


class DeferredSet(PolyhedralSet):
    """A :class:`~preimage.PolyhedralSet` whose pieces are built on first use.

    The engine returns its answer as one: a run that streams hundreds of thousands of
    pieces to a file and reports only their number never builds a Python object per piece.
    ``len`` is known at once; anything else builds the pieces once.
    """

    _build: Callable[[], Iterable[Piece]] | None
    _count: int

    def __init__(self, build: Callable[[], Iterable[Piece]], count: int,  # noqa: D107 - see the class
                 ambient_dim: int) -> None:
        object.__setattr__(self, "ambient_dim", int(ambient_dim))
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_count", int(count))

    def __getattr__(self, name: str) -> tuple[Piece, ...]:
        if name == "pieces":  # the slot is empty until the first use
            assert self._build is not None  # cleared only once ``pieces`` is set
            pieces = tuple(self._build())
            object.__setattr__(self, "pieces", pieces)
            object.__setattr__(self, "_build", None)
            return pieces
        raise AttributeError(name)

    def __len__(self) -> int:
        return self._count

    def __reduce__(self) -> tuple[type[PolyhedralSet], tuple[tuple[Piece, ...], int]]:
        return PolyhedralSet, (self.pieces, self.ambient_dim)


@dataclass(frozen=True)
class PreimageResult:
    """The exact preimage: a union of pieces, and how the search went.

    A result is an immutable snapshot: its fields cannot be reassigned, ``stats`` is a frozen
    :class:`~preimage.engine.search.RunStats`, ``info`` a read-only :class:`FrozenMapping`
    (its values frozen too), and its arrays (``disjuncts``, ``domain_index``, ``vertices``,
    the pieces' arrays) are read-only.

    Attributes
    ----------
    set : the :class:`~preimage.PolyhedralSet`; each piece carries its activation pattern
        (one boolean per ReLU of layers ``1..layer``) and the affine map of the layer's value.
    complete : ``False`` when a budget (time, pieces) or an interrupt stopped the search;
        then ``set`` holds what was found and ``frontier_path`` (if saved) lets
        :func:`preimage.resume` continue.
    stats : counters (pieces, nodes, LPs, neurons fixed by bounds, splits, pruned, seconds),
        an immutable :class:`~preimage.engine.search.RunStats`.
    layer : the target layer.
    disjuncts : for a union target, the part of the (disjoint-ified) union each piece reached;
        ``info["disjunct_origin"]`` maps parts to the disjuncts as given.
    domain_index : for a union of domains, the domain of each piece.
    vertices : one entry per piece of ``set`` (same order), enumerated when read (a
        :class:`PieceVertices`: ``vertices[i]`` is ``set[i].vertices()``; the engine keeps no
        vertices, see :class:`~preimage.engine.search.RawPiece`) — a read-only ``(k, n)``
        array in **input coordinates**, the coordinates of the piece's polyhedron (slice
        coordinates for a :class:`~preimage.Slice` domain).
    frontier_path, stopped_by : the checkpoint of a stopped run, and what stopped it.
    info : a read-only mapping of run details (e.g. ``tasks``, ``disjunct_origin``).
    """

    set: PolyhedralSet
    complete: bool
    stats: RunStats
    layer: int
    disjuncts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    domain_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    vertices: Sequence[np.ndarray] = ()
    frontier_path: str | None = None
    stopped_by: str | None = None
    info: Mapping[str, Any] = field(default_factory=FrozenMapping)

    def __post_init__(self) -> None:
        object.__setattr__(self, "disjuncts", readonly(np.array(self.disjuncts, dtype=np.int64)))
        object.__setattr__(self, "domain_index", readonly(np.array(self.domain_index, dtype=np.int64)))
        object.__setattr__(self, "vertices", PieceVertices(self.set))
        object.__setattr__(self, "info", freeze(dict(self.info)))

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()  # arrays come back from a pickle writable: freeze them again

    def __len__(self) -> int:
        return len(self.set)

    @property
    def pieces(self) -> tuple[Piece, ...]:
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
    stats: RunStats
    reason: str = ""
    info: Mapping[str, Any] = field(default_factory=FrozenMapping)
    frontier_path: str | None = None
    stopped_by: str | None = None

    def __post_init__(self) -> None:
        for name in ("counterexample", "output"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, readonly(np.array(value, dtype=np.float64)))
        object.__setattr__(self, "info", freeze(dict(self.info)))

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()  # arrays come back from a pickle writable: freeze them again

    def as_dict(self) -> dict[str, Any]:
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
