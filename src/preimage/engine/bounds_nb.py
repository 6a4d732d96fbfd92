"""Compiled bounds for the vertex backend: :func:`preimage.engine.bounds.propagate` followed
by :func:`preimage.engine.bounds.backward_lower`, in one numba function.

The same arithmetic as the numpy version (symbolic interval propagation forward, then
back-substitution of the target rows), minimised exactly at the region's vertices; it only
saves the interpreter's overhead on the many small matrices of one check.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["reach_bounds", "forward_bounds", "backward_rows", "pack_layers"]


def pack_layers(weights, biases, relus):
    """Flat arrays of the layers for :func:`reach_bounds`."""
    W_flat = np.ascontiguousarray(np.concatenate([np.asarray(W, dtype=np.float64).reshape(-1) for W in weights]))
    W_off = np.concatenate([[0], np.cumsum([np.size(W) for W in weights])]).astype(np.int64)
    W_rows = np.array([np.shape(W)[0] for W in weights], dtype=np.int64)
    W_cols = np.array([np.shape(W)[1] for W in weights], dtype=np.int64)
    b_flat = np.ascontiguousarray(np.concatenate([np.asarray(b, dtype=np.float64) for b in biases]))
    b_off = np.concatenate([[0], np.cumsum([np.size(b) for b in biases])]).astype(np.int64)
    return W_flat, W_off, W_rows, W_cols, b_flat, b_off, np.array(relus, dtype=np.bool_)


@njit(cache=True, nogil=True)
def _min_over(X, G, g0):
    V, d = X.shape
    k = G.shape[0]
    out = np.empty(k)
    for i in range(k):
        best = np.inf
        for v in range(V):
            val = g0[i]
            for q in range(d):
                val += G[i, q] * X[v, q]
            if val < best:
                best = val
        out[i] = best
    return out


@njit(cache=True, nogil=True)
def forward_bounds(X, HL, hL, HU, hU, W_flat, W_off, W_rows, W_cols, b_flat, b_off, relus, start):
    """Ranges of the pre-activations of layers ``start..`` over the region (flat ``los, his``)."""
    d = X.shape[1]
    L = W_rows.shape[0]
    Lh = HL.copy()
    lh = hL.copy()
    Uh = HU.copy()
    uh = hU.copy()
    # forward pass, keeping each layer's pre-activation range for the backward pass
    n_total = 0
    for m in range(start, L):
        n_total += W_rows[m]
    los = np.empty(n_total)
    his = np.empty(n_total)
    pos = 0
    lo = np.empty(0)
    hi = np.empty(0)
    for m in range(start, L):
        n = W_rows[m]
        p = W_cols[m]
        W = W_flat[W_off[m]:W_off[m + 1]].reshape((n, p))
        b = b_flat[b_off[m]:b_off[m + 1]]
        Lz = np.zeros((n, d))
        Uz = np.zeros((n, d))
        lz = b.copy()
        uz = b.copy()
        for i in range(n):
            for k in range(p):
                w = W[i, k]
                if w > 0.0:
                    lz[i] += w * lh[k]
                    uz[i] += w * uh[k]
                    for q in range(d):
                        Lz[i, q] += w * Lh[k, q]
                        Uz[i, q] += w * Uh[k, q]
                elif w < 0.0:
                    lz[i] += w * uh[k]
                    uz[i] += w * lh[k]
                    for q in range(d):
                        Lz[i, q] += w * Uh[k, q]
                        Uz[i, q] += w * Lh[k, q]
        lo = _min_over(X, Lz, lz)
        hi = -_min_over(X, -Uz, -uz)
        los[pos:pos + n] = lo
        his[pos:pos + n] = hi
        pos += n
        if relus[m]:
            Lh = np.empty((n, d))
            Uh = np.empty((n, d))
            lh = np.empty(n)
            uh = np.empty(n)
            for i in range(n):
                if lo[i] >= 0.0:
                    su, ou, sl = 1.0, 0.0, 1.0
                elif hi[i] <= 0.0:
                    su, ou, sl = 0.0, 0.0, 0.0
                else:
                    su = hi[i] / (hi[i] - lo[i])
                    ou = -su * lo[i]
                    sl = 1.0 if hi[i] > -lo[i] else 0.0
                for q in range(d):
                    Lh[i, q] = sl * Lz[i, q]
                    Uh[i, q] = su * Uz[i, q]
                lh[i] = sl * lz[i]
                uh[i] = su * uz[i] + ou
        else:
            Lh, lh, Uh, uh = Lz, lz, Uz, uz
    return los, his


@njit(cache=True, nogil=True)
def backward_rows(X, HL, hL, HU, hU, W_flat, W_off, W_rows, W_cols, b_flat, b_off, relus, start, rows, on_pre,
                  los, his, skip):
    """Lower bounds of ``rows · v`` by back-substitution, relaxing each ReLU with the ranges
    ``los, his`` (flat, for layers ``start - skip_layers..``; the first ``skip`` entries are skipped:
    ranges computed for a larger region are still sound for a smaller one)."""
    d = X.shape[1]
    L = W_rows.shape[0]
    n_total = 0
    for m in range(start, L):
        n_total += W_rows[m]
    # backward pass for the rows
    k_rows = rows.shape[0]
    Lam = rows.copy()
    const = np.zeros(k_rows)
    pos = n_total
    for m in range(L - 1, start - 1, -1):
        n = W_rows[m]
        p = W_cols[m]
        pos -= n
        W = W_flat[W_off[m]:W_off[m + 1]].reshape((n, p))
        b = b_flat[b_off[m]:b_off[m + 1]]
        if relus[m] and not (m == L - 1 and on_pre):
            for i in range(n):
                l_i = los[skip + pos + i]
                h_i = his[skip + pos + i]
                if l_i >= 0.0:
                    su, ou, sl = 1.0, 0.0, 1.0
                elif h_i <= 0.0:
                    su, ou, sl = 0.0, 0.0, 0.0
                else:
                    su = h_i / (h_i - l_i)
                    ou = -su * l_i
                    sl = 1.0 if h_i > -l_i else 0.0
                for r in range(k_rows):
                    if Lam[r, i] >= 0.0:
                        Lam[r, i] *= sl
                    else:
                        const[r] += Lam[r, i] * ou
                        Lam[r, i] *= su
        newLam = np.zeros((k_rows, p))
        for r in range(k_rows):
            for i in range(n):
                a = Lam[r, i]
                if a != 0.0:
                    const[r] += a * b[i]
                    for k in range(p):
                        newLam[r, k] += a * W[i, k]
        Lam = newLam
    n0 = HL.shape[0]
    G = np.zeros((k_rows, d))
    g0 = const.copy()
    for r in range(k_rows):
        for i in range(n0):
            a = Lam[r, i]
            if a >= 0.0:
                g0[r] += a * hL[i]
                for q in range(d):
                    G[r, q] += a * HL[i, q]
            else:
                g0[r] += a * hU[i]
                for q in range(d):
                    G[r, q] += a * HU[i, q]
    lower = _min_over(X, G, g0)
    return lower


@njit(cache=True, nogil=True)
def reach_bounds(X, HL, hL, HU, hU, W_flat, W_off, W_rows, W_cols, b_flat, b_off, relus, start, rows, on_pre):
    """Forward ranges of the last layer's pre-activation and lower bounds of ``rows · v``.

    ``(HL, hL)`` / ``(HU, hU)``: lower/upper affine bounds of the current layer's output in
    ``u`` (equal when it is exact); layers ``start..`` follow it; ``v`` is the last layer's
    pre-activation when ``on_pre`` else its output. Returns ``(lo, hi, lower)``.
    """
    los, his = forward_bounds(X, HL, hL, HU, hU, W_flat, W_off, W_rows, W_cols, b_flat, b_off, relus, start)
    lower = backward_rows(X, HL, hL, HU, hU, W_flat, W_off, W_rows, W_cols, b_flat, b_off, relus, start, rows,
                          on_pre, los, his, 0)
    n_last = W_rows[W_rows.shape[0] - 1]
    return los[los.shape[0] - n_last:], his[his.shape[0] - n_last:], lower
