"""The exact mixed-integer encoding of a network's first ``k`` layers over a box of inputs.

Columns: the input ``x``, and for every layer ``l`` its pre-activation ``z_l`` (bounded by
the symbolic interval bounds of :func:`preimage.engine.bounds.layer_bounds` over the box) and
its output ``h_l``. Rows ``z_l = W_l h_{l-1} + b_l`` and, unit by unit, the activation:

* a ReLU unit stable on the box needs no binary (``h = 0`` where ``U <= 0``, ``h = z`` where
  ``L >= 0``); an unstable one is the big-M encoding with one binary ``δ`` (Tjeng, Xiao &
  Tedrake 2019): ``h >= z``, ``h >= 0``, ``h <= z - L (1 - δ)``, ``h <= U δ``;
* any other elementwise piecewise-linear unit (LeakyReLU, HardTanh, ...) takes one binary per
  linear piece that meets ``[L, U]`` and the disaggregated (convex-hull) encoding
  ``z = Σ z_b``, ``lo_b δ_b <= z_b <= hi_b δ_b``, ``h = Σ s_b z_b + c_b δ_b``, ``Σ δ_b = 1``;
* the identity is ``h = z``; a max unit (MaxPool) raises :class:`UnsupportedLayerError`.

With its binaries fixed (:meth:`NetworkMILP.fixed`) the encoding is the linear program of one
activation region: the polishing step of :mod:`preimage.engine.nearest` solves it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import tolerances
from ..activations import PiecewiseLinear, ReLU
from ..errors import InvalidInputError, UnsupportedLayerError
from ..polyhedra.solver import LinearProgram, SparseRows
from .bounds import layer_bounds, pack_layers

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from numpy.typing import NDArray

    from ..network import Network

__all__ = ["NetworkMILP", "interval_ranges", "tightened_ranges"]

#: sound ranges ``(lo, hi)`` of every layer's pre-activation
Ranges = list[tuple["NDArray[np.float64]", "NDArray[np.float64]"]]


@dataclass(eq=False)
class NetworkMILP:
    """A growing MILP (columns with bounds and integrality, sparse rows with two-sided bounds).

    Build it with :meth:`encode`; then ``z_cols[l]`` / ``h_cols[l]`` are the column indices of
    layer ``l + 1``'s pre-activation and output, ``x_cols`` those of the input.
    """

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    rows_i: list[int] = field(default_factory=list)
    rows_j: list[int] = field(default_factory=list)
    rows_v: list[float] = field(default_factory=list)
    row_lo: list[float] = field(default_factory=list)
    row_hi: list[float] = field(default_factory=list)
    x_cols: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    z_cols: list[NDArray[np.int64]] = field(default_factory=list)
    h_cols: list[NDArray[np.int64]] = field(default_factory=list)
    n_binaries: int = 0

    # -- building blocks ------------------------------------------------------------------------
    @property
    def n_cols(self) -> int:
        return len(self.lower)

    @property
    def n_rows(self) -> int:
        return len(self.row_lo)

    def add_cols(self, lo: NDArray[np.float64], hi: NDArray[np.float64], integer: bool = False) -> NDArray[np.int64]:
        first = self.n_cols
        self.lower.extend(np.asarray(lo, dtype=np.float64).tolist())
        self.upper.extend(np.asarray(hi, dtype=np.float64).tolist())
        self.integer.extend([integer] * len(lo))
        if integer:
            self.n_binaries += len(lo)
        return np.arange(first, self.n_cols, dtype=np.int64)

    def add_row(self, cols: list[int] | NDArray[np.int64], vals: list[float] | NDArray[np.float64],
                lo: float, hi: float) -> int:
        r = self.n_rows
        self.rows_i.extend([r] * len(cols))
        self.rows_j.extend(int(c) for c in cols)
        self.rows_v.extend(float(v) for v in vals)
        self.row_lo.append(float(lo))
        self.row_hi.append(float(hi))
        return r

    def add_rows(self, M: NDArray[np.float64], cols: NDArray[np.int64], lo: NDArray[np.float64],
                 hi: NDArray[np.float64], extra: NDArray[np.int64] | None = None) -> None:
        """Rows ``lo <= M v [- extra] <= hi`` where ``v`` are the columns ``cols`` (``extra``: one
        column per row entering with coefficient ``-1``, e.g. ``z_l`` in ``W h - z = -b``)."""
        r0 = self.n_rows
        ri, cj = np.nonzero(M)
        self.rows_i.extend((ri + r0).tolist())
        self.rows_j.extend(cols[cj].tolist())
        self.rows_v.extend(M[ri, cj].tolist())
        if extra is not None:
            self.rows_i.extend(range(r0, r0 + M.shape[0]))
            self.rows_j.extend(extra.tolist())
            self.rows_v.extend([-1.0] * M.shape[0])
        self.row_lo.extend(np.broadcast_to(lo, (M.shape[0],)).tolist())
        self.row_hi.extend(np.broadcast_to(hi, (M.shape[0],)).tolist())

    def matrix(self) -> SparseRows:
        """The rows as a sparse matrix."""
        return SparseRows.from_triplets(self.rows_i, self.rows_j, self.rows_v, (self.n_rows, self.n_cols))

    # -- the network -------------------------------------------------------------------------------
    @classmethod
    def encode(cls, net: Network, k: int, lo: NDArray[np.float64], hi: NDArray[np.float64], *,
               last_activation: bool = True, ranges: Ranges | None = None) -> NetworkMILP:
        """The first ``k`` layers of ``net`` over the box ``lo <= x <= hi`` (finite).

        ``last_activation=False`` stops at layer ``k``'s pre-activation (no ``h_k``); ``ranges``
        are sound bounds of the pre-activations (default: :func:`interval_ranges`).
        """
        layers = net.layers[:k]
        ranges = interval_ranges(net, k, lo, hi) if ranges is None else ranges
        weights = [np.asarray(lay.dense_weight) for lay in layers]
        enc = cls()
        enc.x_cols = enc.add_cols(lo, hi)
        prev = enc.x_cols
        for i, (lay, W, (zlo, zhi)) in enumerate(zip(layers, weights, ranges)):
            z = enc.add_cols(zlo, zhi)
            b = np.asarray(lay.bias, dtype=np.float64)
            enc.add_rows(W, prev, -b, -b, extra=z)  # W h - z = -b
            enc.z_cols.append(z)
            if i == k - 1 and not last_activation:
                break
            prev = enc._activation(lay.activation, z, zlo, zhi)
            enc.h_cols.append(prev)
        return enc

    def _activation(self, act: object, z: NDArray[np.int64], zlo: NDArray[np.float64],
                    zhi: NDArray[np.float64]) -> NDArray[np.int64]:
        """Columns of ``h = φ(z)`` for one layer, with the rows encoding ``φ`` exactly."""
        if getattr(act, "is_identity", False):
            return z
        assert isinstance(act, PiecewiseLinear)
        h_lo, h_hi = _output_range(act, zlo, zhi)
        h = self.add_cols(h_lo, h_hi)
        relu = isinstance(act, ReLU)
        for u in range(z.shape[0]):
            if relu:
                self._relu_unit(int(z[u]), int(h[u]), float(zlo[u]), float(zhi[u]))
            else:
                self._pwl_unit(act, int(z[u]), int(h[u]), float(zlo[u]), float(zhi[u]))
        return h

    def _relu_unit(self, z: int, h: int, L: float, U: float) -> None:
        if U <= 0.0:  # stably inactive: h = 0 (its column bounds are [0, 0])
            self.upper[h] = 0.0
            return
        if L >= 0.0:  # stably active
            self.add_row([h, z], [1.0, -1.0], 0.0, 0.0)
            return
        d = int(self.add_cols(np.zeros(1), np.ones(1), integer=True)[0])
        self.add_row([h, z], [1.0, -1.0], 0.0, np.inf)  # h >= z
        self.add_row([h, z, d], [1.0, -1.0, -L], -np.inf, -L)  # h <= z - L (1 - δ)
        self.add_row([h, d], [1.0, -U], -np.inf, 0.0)  # h <= U δ

    def _pwl_unit(self, act: PiecewiseLinear, z: int, h: int, L: float, U: float) -> None:
        t = np.concatenate([[-np.inf], np.asarray(act.breakpoints), [np.inf]])
        pieces = [b for b in range(len(t) - 1) if max(t[b], L) <= min(t[b + 1], U)]
        s, c = np.asarray(act.slopes), np.asarray(act.intercepts)
        if len(pieces) == 1:
            b = pieces[0]
            self.add_row([h, z], [1.0, -float(s[b])], float(c[b]), float(c[b]))
            return
        deltas = self.add_cols(np.zeros(len(pieces)), np.ones(len(pieces)), integer=True)
        parts = self.add_cols(np.full(len(pieces), min(L, 0.0)), np.full(len(pieces), max(U, 0.0)))
        self.add_row(deltas, np.ones(len(pieces)), 1.0, 1.0)
        self.add_row(np.concatenate([[z], parts]), np.concatenate([[-1.0], np.ones(len(pieces))]), 0.0, 0.0)
        h_vals = [1.0] + [-float(s[b]) for b in pieces] + [-float(c[b]) for b in pieces]
        self.add_row(np.concatenate([[h], parts, deltas]), h_vals, 0.0, 0.0)
        for p, d, b in zip(parts, deltas, pieces):
            lo_b, hi_b = max(float(t[b]), L), min(float(t[b + 1]), U)
            self.add_row([int(p), int(d)], [1.0, -lo_b], 0.0, np.inf)  # z_b >= lo_b δ_b
            self.add_row([int(p), int(d)], [1.0, -hi_b], -np.inf, 0.0)  # z_b <= hi_b δ_b

    def relaxation(self) -> LinearProgram:
        """The LP relaxation (binaries in ``[0, 1]``) as a warm-startable
        :class:`~preimage.polyhedra.solver.LinearProgram`."""
        A = np.zeros((self.n_rows, self.n_cols))
        np.add.at(A, (np.asarray(self.rows_i, dtype=np.int64), np.asarray(self.rows_j, dtype=np.int64)),
                  np.asarray(self.rows_v, dtype=np.float64))
        rlo, rhi = np.asarray(self.row_lo), np.asarray(self.row_hi)
        eq = rlo == rhi
        up = ~eq & np.isfinite(rhi)
        down = ~eq & np.isfinite(rlo)
        ineq = np.vstack([A[up], -A[down]])
        return LinearProgram(ineq, np.concatenate([rhi[up], -rlo[down]]), A[eq], rlo[eq],
                             np.asarray(self.lower), np.asarray(self.upper))

    def fixed(self, values: NDArray[np.float64]) -> tuple[list[float], list[float]]:
        """Column bounds with every binary fixed to its rounded value in ``values``."""
        lo, hi = list(self.lower), list(self.upper)
        for j, integ in enumerate(self.integer):
            if integ:
                lo[j] = hi[j] = float(np.round(values[j]))
        return lo, hi


def _output_range(act: PiecewiseLinear, zlo: NDArray[np.float64],
                  zhi: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sound ranges of ``φ(z)`` for ``z`` in ``[zlo, zhi]`` (its values at the ends and at the
    breakpoints inside: a piecewise-linear function is extreme at those)."""
    ends = [act.evaluate(zlo[None, :])[0], act.evaluate(zhi[None, :])[0]]
    for t in np.asarray(act.breakpoints):
        inside = (zlo < t) & (t < zhi)
        val = act.evaluate(np.full((1, zlo.shape[0]), t))[0]
        ends.append(np.where(inside, val, ends[0]))
    stack = np.vstack(ends)
    return stack.min(axis=0), stack.max(axis=0)


def interval_ranges(net: Network, k: int, lo: NDArray[np.float64], hi: NDArray[np.float64]) -> Ranges:
    """Sound ranges of the pre-activations of layers ``1..k`` over the box (symbolic interval
    propagation, :func:`preimage.engine.bounds.layer_bounds`), widened by ``FEASIBILITY``
    (relative) against rounding; checks that every activation can be encoded."""
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise InvalidInputError("the MILP encoding needs a bounded box of inputs (finite lo and hi)")
    layers = net.layers[:k]
    for i, lay in enumerate(layers, start=1):
        act = lay.activation
        if not act.is_identity and not isinstance(act, PiecewiseLinear):
            raise UnsupportedLayerError(
                f"layer {i} has a {act!r} activation: exact distances support elementwise piecewise-linear "
                "activations (ReLU, LeakyReLU, HardTanh, identity), not max units")
    packed = pack_layers([np.asarray(lay.dense_weight) for lay in layers], [np.asarray(lay.bias) for lay in layers],
                         [lay.activation.table(lay.pre_dim) for lay in layers])
    out: Ranges = []
    for zlo, zhi in layer_bounds(packed, lo, hi):
        pad = tolerances.FEASIBILITY * (1.0 + np.maximum(np.abs(zlo), np.abs(zhi)))
        out.append((zlo - pad, zhi + pad))
    return out


def _undecided(act: object, zlo: NDArray[np.float64], zhi: NDArray[np.float64]) -> NDArray[np.int64]:
    """Units whose range meets more than one linear piece of the activation."""
    if getattr(act, "is_identity", False):
        return np.zeros(0, dtype=np.int64)
    assert isinstance(act, PiecewiseLinear)
    mask = np.zeros(zlo.shape[0], dtype=bool)
    for t in np.asarray(act.breakpoints):
        mask |= (zlo < t) & (t < zhi)
    return np.flatnonzero(mask)


def tightened_ranges(net: Network, k: int, lo: NDArray[np.float64], hi: NDArray[np.float64],
                     deadline: float | None = None) -> Ranges:
    """:func:`interval_ranges`, then, layer after layer, the range of every unit that is still
    undecided minimised and maximised over the LP relaxation of the layers before it (binaries
    in ``[0, 1]``; the ranges found so far): sound, and much tighter in deep layers. Past
    ``deadline`` (a ``time.perf_counter()`` value) the remaining ranges stay as they are."""
    import time

    ranges = interval_ranges(net, k, lo, hi)
    for layer in range(2, k + 1):
        if deadline is not None and time.perf_counter() >= deadline:
            break
        if all(not _undecided(net.layers[j].activation, *ranges[j]).size for j in range(layer - 1)):
            continue  # the layers before are affine on the box: the interval bounds are exact
        zlo, zhi = ranges[layer - 1]
        todo = _undecided(net.layers[layer - 1].activation, zlo, zhi)
        if not todo.size:
            continue
        enc = NetworkMILP.encode(net, layer, lo, hi, last_activation=False, ranges=ranges[:layer])
        lp = enc.relaxation()
        z = enc.z_cols[layer - 1]
        zlo, zhi = zlo.copy(), zhi.copy()
        for u in todo:
            if deadline is not None and time.perf_counter() >= deadline:
                break
            e = np.zeros(enc.n_cols)
            e[z[u]] = 1.0
            low, high = lp.minimize(e), lp.maximize(e)
            if low.status == "optimal":
                zlo[u] = max(zlo[u], low.value - tolerances.FEASIBILITY * (1.0 + abs(low.value)))
            if high.status == "optimal":
                zhi[u] = min(zhi[u], high.value + tolerances.FEASIBILITY * (1.0 + abs(high.value)))
        ranges[layer - 1] = (zlo, np.maximum(zhi, zlo))
    return ranges
