"""A cheap search for counterexamples before the exact search: sampling plus projected
sign-gradient steps on the distance to the unsafe set.

It can only ever answer "sat" (with an input whose forward pass is checked against the
spec); it never proves anything, so :func:`preimage.verify` runs the exact search when it
finds nothing. Disjuncts of the unsafe set that the engine's bounds
(:mod:`preimage.engine.bounds`, the same as the exact search prunes with) show out of reach
over the box are not searched; gradients follow each unit's branch
(:class:`~preimage.activations.UnitTable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .. import tolerances
from ..activations import PiecewiseLinear
from ..polyhedra import Box

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from numpy.typing import NDArray

    from ..network import Network
    from ..polyhedra import Polyhedron
    from .targets import System

__all__ = ["falsify"]


def _margins(Y: NDArray[np.float64],
             polys: Sequence[System]) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Best (smallest) violation over the disjuncts, its disjunct and its worst row.

    ``violation <= 0`` means inside that disjunct's inequalities.
    """
    best = np.full(Y.shape[0], np.inf)
    which = np.zeros(Y.shape[0], dtype=np.int64)
    row = np.zeros(Y.shape[0], dtype=np.int64)
    for k, (A, b, C, d) in enumerate(polys):
        rows = np.vstack([A, C, -C]) if C.shape[0] else A
        rhs = np.concatenate([b, d, -d]) if C.shape[0] else b
        if rows.shape[0] == 0:
            v = np.full(Y.shape[0], -np.inf)
            r = np.zeros(Y.shape[0], dtype=np.int64)
        else:
            V = Y @ rows.T - rhs
            r = V.argmax(axis=1)
            v = V[np.arange(Y.shape[0]), r]
        better = v < best
        best[better], which[better], row[better] = v[better], k, r[better]
    return best, which, row


def _gradient(net: Network, X: NDArray[np.float64], G_out: NDArray[np.float64]) -> NDArray[np.float64]:
    """Row-wise ``G_out[i] · ∂f/∂x`` at ``X[i]`` (backpropagation through each unit's branch:
    its slope and the entry of ``z`` it reads)."""
    branch_maps = []
    H = X
    for lay in net.layers:
        Z = lay.pre_activation(H)
        t = lay.activation.table(lay.pre_dim)
        r = t.unit_off[:-1][None, :] + lay.activation.branches(Z).astype(np.int64)
        branch_maps.append((t.br_src[r], t.br_slope[r]))  # h_u = slope · z[src] + intercept
        H = lay.activation.evaluate(Z)
    g = G_out
    for lay, (src, slope) in zip(reversed(net.layers), reversed(branch_maps)):
        if src.shape[1] == lay.pre_dim and np.all(src == np.arange(lay.pre_dim)):  # elementwise: unit u reads z_u
            gz = g * slope
        else:  # units reading other entries (a max unit): scatter
            gz = np.zeros((g.shape[0], lay.pre_dim))
            np.add.at(gz, (np.arange(g.shape[0])[:, None], src), g * slope)
        g = gz @ lay.dense_weight
    return g


def _reachable_disjuncts(net: Network, domain: Box, polys: Sequence[System]) -> list[System]:
    """The disjuncts that interval bounds over the box leave in reach (the others cannot hold)."""
    from .bounds import layer_bounds, pack_layers

    layers = pack_layers([lay.dense_weight for lay in net.layers], [lay.bias for lay in net.layers],
                         [lay.activation.table(lay.pre_dim) for lay in net.layers])
    lo, hi = layer_bounds(layers, domain.lo, domain.hi)[-1]
    last = net.layers[-1].activation
    if not last.is_identity:  # bounds of the output from those of its pre-activation
        ends = last.evaluate(np.vstack([lo, hi]))
        lo, hi = ends.min(axis=0), ends.max(axis=0)
        if not isinstance(last, PiecewiseLinear) or np.any(np.diff(last.slopes) < 0) or np.any(last.slopes < 0):
            return list(polys)  # not monotone: the ends do not bound it
    keep = []
    for A, b, C, d in polys:
        rows = np.vstack([A, C, -C]) if C.shape[0] else A
        rhs = np.concatenate([b, d, -d]) if C.shape[0] else b
        low = np.minimum(rows * lo, rows * hi).sum(axis=1)
        if not np.any(low > rhs + tolerances.FEASIBILITY * (1.0 + np.abs(rhs) + np.abs(low))):
            keep.append((A, b, C, d))
    return keep


def falsify(net: Network, domain: Box | Polyhedron, polys: Sequence[System], *, samples: int = 20000,
            steps: int = 100, keep: int = 256, seed: int = 0) -> NDArray[np.float64] | None:
    """An input of ``domain`` whose output lies in one of ``polys``, or ``None``.

    ``polys`` are ``(A, b, C, d)`` systems on the output. Only boxes are searched (other
    domains return ``None``).
    """
    if not isinstance(domain, Box):
        return None
    polys = _reachable_disjuncts(net, domain, polys)
    if not polys:
        return None
    rng = np.random.default_rng(seed)
    X = domain.sample(samples, seed=int(rng.integers(1 << 31)))
    X = np.vstack([X, domain.center[None, :], domain.vertices()[:64]])
    Y = net.forward(X)
    viol, which, row = _margins(Y, polys)
    if np.any(viol <= 0):
        found: NDArray[np.float64] = X[int(np.argmin(viol))]
        return found
    order = np.argsort(viol)[:keep]
    X = X[order]
    width = domain.widths
    step = width / 8.0
    for _ in range(steps):
        Y = net.forward(X)
        viol, which, row = _margins(Y, polys)
        if np.any(viol <= 0):
            found = X[int(np.argmin(viol))]
            return found
        G_out = np.zeros_like(Y)
        for k, (A, _b, C, _d) in enumerate(polys):
            rows = np.vstack([A, C, -C]) if C.shape[0] else A
            sel = which == k
            if rows.shape[0] and np.any(sel):
                G_out[sel] = rows[row[sel]]
        grad = _gradient(net, X, G_out)
        X = np.clip(X - step * np.sign(grad), domain.lo, domain.hi)
        step = step * 0.85
    return None
