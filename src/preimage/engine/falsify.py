"""A cheap search for counterexamples before the exact search: sampling plus projected
sign-gradient steps on the distance to the unsafe set.

It can only ever answer "sat" (with an input whose forward pass is checked against the
spec); it never proves anything, so :func:`preimage.verify` runs the exact search when it
finds nothing.
"""

from __future__ import annotations

import numpy as np

from ..polyhedra import Box

__all__ = ["falsify"]


def _margins(Y: np.ndarray, polys) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _gradient(net, X: np.ndarray, G_out: np.ndarray) -> np.ndarray:
    """Row-wise ``G_out[i] · ∂f/∂x`` at ``X[i]`` (backpropagation through the ReLU masks)."""
    masks = []
    H = X
    for lay in net.layers:
        Z = lay.pre_activation(H)
        masks.append(Z > 0 if lay.relu else None)
        H = np.maximum(Z, 0.0) if lay.relu else Z
    g = G_out
    for lay, mask in zip(reversed(net.layers), reversed(masks)):
        if mask is not None:
            g = g * mask
        g = g @ lay.dense_weight
    return g


def falsify(net, domain: Box, polys, *, samples: int = 20000, steps: int = 100, keep: int = 256,
            seed: int = 0) -> np.ndarray | None:
    """An input of ``domain`` whose output lies in one of ``polys``, or ``None``.

    ``polys`` are ``(A, b, C, d)`` systems on the output. Only boxes are searched (other
    domains return ``None``).
    """
    if not isinstance(domain, Box):
        return None
    rng = np.random.default_rng(seed)
    X = domain.sample(samples, seed=int(rng.integers(1 << 31)))
    X = np.vstack([X, domain.center[None, :], domain.vertices()[:64]])
    Y = net.forward(X)
    viol, which, row = _margins(Y, polys)
    if np.any(viol <= 0):
        return X[int(np.argmin(viol))]
    order = np.argsort(viol)[:keep]
    X = X[order]
    width = domain.widths
    step = width / 8.0
    for _ in range(steps):
        Y = net.forward(X)
        viol, which, row = _margins(Y, polys)
        if np.any(viol <= 0):
            return X[int(np.argmin(viol))]
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
