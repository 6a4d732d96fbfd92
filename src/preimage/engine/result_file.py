"""The engine's result file: the problem once, then each piece as what cannot be recomputed.

A search streams its pieces to ``out=`` (:mod:`~preimage.engine.stream`) in this format
(``format = "preimage.EngineResult"``, an uncompressed ``.npz``; see ``docs/formats.md``):

* the problem, once — the layers up to the target as the walk packs them
  (:func:`~preimage.engine.bounds.pack_layers`: ``problem.layers.*``), the target
  (``problem.target.*``), and per domain its chart (``x = x0 + B u`` and the domain's
  constraints) and first-layer map (``problem.domain{k}.*``);
* per piece its activation pattern (``patterns``, ``pattern_lengths``: boolean patterns 8
  units to a byte, branch indices one byte a unit), its cut codes (``cuts`` with ``cut_offsets``: which rows
  cut it, :func:`~preimage.engine.walk.cut_code`), its disjunct and its domain.

A piece's polyhedron and affine map are rebuilt from these when it is used
(:func:`~preimage.engine.rebuild.rebuild`: bit for bit the rows the walk cut with), its
vertices enumerated from its polyhedron when asked for: the 341,669 regions of ACAS Xu 3_3 on
the box of property 2 take a few bytes per unit and cut row each, not kilobytes.
:class:`EngineResultView` reads such a file lazily (memory-mapped; ``len``, indexing,
iteration, ``contains``, ``sample`` never hold more than a batch of pieces), and
:func:`load_geometry` loads it like any geometry file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from .._validation import readonly
from ..errors import InvalidInputError
from ..polyhedra import Box, Piece, PolyhedralSet, Polyhedron
from ..polyhedra.set_file import LazySetView, map_arrays
from .domain import DomainChart, Slice
from .result import to_pieces
from .search import RawPiece, rebuilt

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from numpy.typing import NDArray

    from .bounds import Layers
    from .search import Problem
    from .walk import Target

__all__ = ["FORMAT", "VERSION", "StoredProblem", "problem_arrays", "piece_arrays", "EngineResultView",
           "load_geometry", "is_engine_result"]

FORMAT = "preimage.EngineResult"
VERSION = 1
#: prefix of the problem's arrays (written once, in the first chunk of a stream)
PROBLEM = "problem."


@dataclass(frozen=True)
class StoredProblem:
    """What rebuilding a piece needs of its problem (see :func:`~.search.rebuilt`), as stored."""

    layers: Layers
    target_arrays: Target
    chart: DomainChart
    domain_index: int
    root_map: tuple[NDArray[np.float64], NDArray[np.float64]]


def _chart_arrays(ch: DomainChart, key: str) -> dict[str, np.ndarray]:
    out = {key + "x0": np.asarray(ch.x0, np.float64), key + "B": np.asarray(ch.B, np.float64)}
    if ch.u_box is not None:
        out[key + "u_lo"], out[key + "u_hi"] = np.asarray(ch.u_box.lo), np.asarray(ch.u_box.hi)
    else:
        assert ch.u_polyhedron is not None
        P = ch.u_polyhedron
        out.update({key + "u_A": P.A, key + "u_b": P.b, key + "u_C": P.C, key + "u_d": P.d})
    if ch.x_polyhedron is not None:
        P = ch.x_polyhedron
        out.update({key + "x_A": P.A, key + "x_b": P.b, key + "x_C": P.C, key + "x_d": P.d})
    if ch.slice is not None:
        s = ch.slice
        out.update({key + "s_origin": s.origin, key + "s_directions": s.directions, key + "s_lo": s.lo,
                    key + "s_hi": s.hi})
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def _chart_from(a: dict[str, np.ndarray], key: str) -> DomainChart:
    def poly(p: str) -> Polyhedron | None:
        if key + p + "A" not in a:
            return None
        return Polyhedron._trusted(*(np.array(a[key + p + s]) for s in "AbCd"))

    u_box = Box(a[key + "u_lo"], a[key + "u_hi"]) if key + "u_lo" in a else None
    sl = None
    if key + "s_origin" in a:
        sl = Slice(a[key + "s_origin"], a[key + "s_directions"], a[key + "s_lo"], a[key + "s_hi"])
    return DomainChart(readonly(np.array(a[key + "x0"])), readonly(np.array(a[key + "B"])), u_box, poly("u_"),
                       poly("x_"), sl)


def problem_arrays(problems: Sequence[Problem]) -> dict[str, np.ndarray]:
    """The arrays of the problem part of a result file (see the module docstring)."""
    pb0 = problems[0]
    flat, shapes, flags = pb0.layers
    out: dict[str, np.ndarray] = {"format": np.array(FORMAT), "version": np.array(VERSION)}
    for i, arr in enumerate(flat):
        out[f"{PROBLEM}layers.{i:02d}"] = arr
    out[PROBLEM + "layers.shapes"], out[PROBLEM + "layers.flags"] = shapes, flags
    for i, item in enumerate(pb0.target_arrays):
        out[f"{PROBLEM}target.{i:02d}"] = np.asarray(item)
    out[PROBLEM + "domains"] = np.array([pb.domain_index for pb in problems], dtype=np.int64)
    out[PROBLEM + "binary"] = np.array(pb0.binary)
    out[PROBLEM + "pattern_bits"] = np.array(pb0.binary)  # boolean patterns are stored 8 units to a byte
    ch = pb0.chart
    out[PROBLEM + "ambient_dim"] = np.array(ch.dim if ch.slice is not None else ch.input_dim)
    for pb in problems:
        key = f"{PROBLEM}domain{pb.domain_index}."
        out.update(_chart_arrays(pb.chart, key))
        out[key + "Z1"], out[key + "z1"] = pb.root_map
    return out


def problems_from_arrays(a: dict[str, np.ndarray]) -> dict[int, StoredProblem]:
    """The problems of a result file, by domain index."""
    n_flat = sum(1 for k in a if k.startswith(PROBLEM + "layers.") and k[-2:].isdigit())
    # writable copies: the compiled kernels have one signature (see engine/kernels.py)
    flat = tuple(np.array(a[f"{PROBLEM}layers.{i:02d}"], order="C") for i in range(n_flat))
    layers = cast("Layers", (flat, np.array(a[PROBLEM + "layers.shapes"], order="C"),
                             np.array(a[PROBLEM + "layers.flags"], order="C")))
    items = [np.array(a[f"{PROBLEM}target.{i:02d}"], order="C") for i in range(14)]  # writable copies
    target = cast("Target", (int(items[0]), *items[1:13], bool(items[13])))
    out = {}
    for index in a[PROBLEM + "domains"].tolist():
        key = f"{PROBLEM}domain{index}."
        root = (np.array(a[key + "Z1"], order="C"), np.array(a[key + "z1"], order="C"))
        out[int(index)] = StoredProblem(layers, target, _chart_from(a, key), int(index), root)
    return out


def piece_arrays(raws: Sequence[RawPiece], bits: bool) -> dict[str, np.ndarray]:
    """The per-piece arrays of a result file for ``raws`` (see the module docstring): boolean
    patterns packed 8 units to a byte (``bits``: the problem's patterns are boolean), branch
    indices one ``int8`` a unit (padded with −1)."""
    lengths = np.array([r.pattern.shape[0] for r in raws], dtype=np.int64)
    width = int(lengths.max(initial=0))
    pats: np.ndarray
    if bits:
        rows = np.zeros((len(raws), width), dtype=bool)
        for i, r in enumerate(raws):
            rows[i, : lengths[i]] = r.pattern
        pats = np.packbits(rows, axis=1)
    else:
        pats = np.full((len(raws), width), -1, dtype=np.int8)
        for i, r in enumerate(raws):
            pats[i, : lengths[i]] = r.pattern
    cut_off = np.concatenate([[0], np.cumsum([r.cuts.shape[0] for r in raws])]).astype(np.int64)
    cuts = np.concatenate([r.cuts for r in raws]).astype(np.int64) if raws else np.zeros(0, np.int64)
    return {"patterns": pats, "pattern_lengths": lengths, "cuts": cuts, "cut_offsets": cut_off,
            "dims": np.array([r.dim for r in raws], dtype=np.int64),
            "disjuncts": np.array([r.disjunct for r in raws], dtype=np.int64),
            "domains": np.array([r.domain_index for r in raws], dtype=np.int64)}


def is_engine_result(arrays: dict[str, np.ndarray]) -> bool:
    return str(arrays.get("format", "")) == FORMAT


class EngineResultView(LazySetView):
    """The pieces of an engine result file, rebuilt when used (see the module docstring).

    ``order`` (optional) lists the file's pieces in the order the view presents them.
    """

    _problems: dict[int, StoredProblem]

    def __init__(self, path: str | os.PathLike[str], order: np.ndarray | None = None) -> None:  # noqa: D107 - see the class
        arrays = map_arrays(path)
        if not is_engine_result(arrays):
            raise InvalidInputError(f"{str(path)!r} does not hold a {FORMAT}")
        if int(arrays["version"]) != VERSION:
            raise InvalidInputError(f"{str(path)!r} is a {FORMAT} of version {int(arrays['version'])}, "
                                    f"expected {VERSION} (written by another version of preimage)")
        self._open(path, arrays, int(arrays["pattern_lengths"].shape[0]), int(arrays[PROBLEM + "ambient_dim"]), order)
        object.__setattr__(self, "_problems", problems_from_arrays(arrays))

    def _raw(self, j: int) -> RawPiece:
        a = self._arrays
        n = int(a["pattern_lengths"][j])
        pattern: np.ndarray
        if bool(a[PROBLEM + "pattern_bits"]):
            pattern = np.unpackbits(np.asarray(a["patterns"][j, : -(-n // 8)]), count=n).astype(bool)
        else:
            pattern = np.asarray(a["patterns"][j, :n]).astype(np.int8)
        co = a["cut_offsets"]
        return RawPiece(pattern, np.array(a["cuts"][co[j]:co[j + 1]]), int(a["dims"][j]), int(a["disjuncts"][j]),
                        int(a["domains"][j]))

    def _pieces(self, js: list[int]) -> list[Piece]:
        """The pieces of file rows ``js`` (rebuilt per domain in one compiled call each)."""
        raws = [self._raw(j) for j in js]
        out: list[Piece | None] = [None] * len(raws)
        for index, pb in self._problems.items():
            ks = [k for k, r in enumerate(raws) if r.domain_index == index]
            if ks:
                built = to_pieces(rebuilt(pb, [raws[k] for k in ks]), pb.chart)
                for k, piece in zip(ks, built):
                    out[k] = piece
        return cast("list[Piece]", out)


def load_geometry(path: str | os.PathLike[str], *, lazy: bool = False) -> Polyhedron | Box | PolyhedralSet:
    """Load a geometry file: what :func:`preimage.polyhedra.io.save` wrote, or an engine
    result file (``out=`` of :func:`preimage.preimage` and friends).

    With ``lazy=True`` a set in an ``.npz`` file comes back as a view whose pieces are read
    (and, for an engine result, rebuilt) only when used: :class:`EngineResultView`, or
    :class:`~preimage.polyhedra.set_file.SetFileView` for a saved set.
    """
    import zipfile

    from ..polyhedra import io

    p = os.fspath(path)
    if p.lower().endswith(".npz") and os.path.exists(p):
        try:
            with np.load(p, allow_pickle=False) as z:
                fmt = str(z["format"]) if "format" in z.files else ""
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise InvalidInputError(f"{p!r} is not a preimage geometry file: {exc}") from exc
        if fmt == FORMAT:
            view = EngineResultView(p)
            return view if lazy else PolyhedralSet(tuple(view), view.ambient_dim)
    return io.load_geometry(path, lazy=lazy)
