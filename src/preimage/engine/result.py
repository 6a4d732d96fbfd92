"""Results of the engine: :class:`PreimageResult` and :class:`Verdict`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import tolerances

from ..polyhedra import AffineMap, Piece, PolyhedralSet, Polyhedron
from .domain import DomainChart
from .search import RawPiece, Stats

__all__ = ["PreimageResult", "Verdict", "to_piece"]


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
    stats : counters (pieces, nodes, LPs, neurons fixed by bounds, splits, pruned, seconds).
    layer : the target layer.
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
    not be confirmed by the forward pass — see ``reason``).
    """

    status: str
    counterexample: np.ndarray | None
    output: np.ndarray | None
    stats: Stats
    reason: str = ""
    info: dict[str, Any] = field(default_factory=dict)

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
        }
