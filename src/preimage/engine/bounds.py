"""Sound bounds on later layers over a region: symbolic interval propagation, compiled.

Given the current layer's output on a region, exactly (``h_l = H u + h``) or between two
affine functions of ``u``, later pre-activations are enclosed between linear functions of
``u``: ``L_m(u) <= z_m <= U_m(u)`` (forward), and the target's rows are bounded below by
back-substitution (DeepPoly / CROWN). Every activation enters through the one-source
relaxation of its units (:func:`preimage.activations.base.relax_units`: exact on a branch,
the chord above and the better of the pieces' lines below for an elementwise unit, the
largest-lower-bound entry below and the largest upper bound above for a max unit).

Linear functions are minimised over the region by its *concretiser*: exactly at its
vertices (``kind = VERTICES``, the vertex backend) or over the box ``lo <= u <= hi``
enclosing it (``kind = BOX``, the LP backend). This module is the only place that computes
bounds; the walk (:mod:`preimage.engine.walk`) prunes with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._numba import njit
from ..activations.base import relax_units

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import TypeAlias

    from numpy.typing import ArrayLike, DTypeLike, NDArray

    from ..activations import UnitTable

    #: the layers as :func:`pack_layers` packs them: 28 flat arrays (weights, biases and the 12
    #: table arrays, each followed by its int64 offsets; typed as a tuple of any length, as
    #: pack_layers builds it), the weights' shapes ``(L, 2)`` and the flags ``(L, 2)``
    Layers: TypeAlias = tuple[tuple[NDArray[Any], ...], np.ndarray[tuple[int, int], np.dtype[np.int64]],
                              np.ndarray[tuple[int, int], np.dtype[np.int64]]]
    #: layer ``l``'s view (:func:`layer`): ``(W, b, dec_p, dec_q, dec_delta, dec_unit, unit_off, kind, br_src,
    #: br_slope, br_icpt, req_off, req_dec, req_val, plain, identity)``, the last two from the flags
    Layer: TypeAlias = tuple[NDArray[np.float64], NDArray[np.float64],
                             NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64],
                             NDArray[np.int64], NDArray[np.int8],
                             NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
                             NDArray[np.int64], NDArray[np.int64], NDArray[np.int8],
                             np.int64, np.int64]
    #: affine bounds ``(L, l, U, u)``: ``L x + l <= v <= U x + u``
    AffineBounds: TypeAlias = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]

__all__ = ["VERTICES", "BOX", "pack_layers", "layer", "n_layers", "forward_bounds", "backward_rows", "min_over",
           "layer_bounds"]

VERTICES = 0
BOX = 1


def pack_layers(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], tables: Sequence[UnitTable]) -> Layers:
    """The layers as one tuple of flat arrays with offsets (one type whatever the depth, and no
    numba container to build from Python); :func:`layer` gives layer ``l``'s view of it,
    ``(W, b, *table arrays, plain, identity)`` (``tables``: each layer's
    :class:`~preimage.activations.UnitTable`)."""
    def flat(parts: Sequence[ArrayLike], dtype: DTypeLike) -> tuple[NDArray[Any], NDArray[np.int64]]:
        arrays = [np.asarray(p, dtype=dtype).reshape(-1) for p in parts]
        return (np.ascontiguousarray(np.concatenate(arrays)) if arrays else np.zeros(0, dtype),
                np.concatenate([[0], np.cumsum([p.size for p in arrays])]).astype(np.int64))

    fields = [flat(weights, np.float64), flat(biases, np.float64)]
    dtypes = (np.int64, np.int64, np.float64, np.int64, np.int64, np.int8, np.int64, np.float64, np.float64,
              np.int64, np.int64, np.int8)
    for k, dt in enumerate(dtypes):
        fields.append(flat([t.arrays()[k] for t in tables], dt))
    shapes = np.array([np.shape(W) for W in weights], dtype=np.int64).reshape(-1, 2)
    flags = np.array([[t.plain, t.n_decisions == 0 and bool(np.all(t.br_slope == 1.0))
                       and bool(np.all(t.br_icpt == 0.0)) and t.n_units == np.shape(W)[0]
                       and bool(np.all(t.br_src == np.arange(t.n_units)))] for W, t in zip(weights, tables)],
                     dtype=np.int64).reshape(-1, 2)
    return (tuple(a for pair in fields for a in pair), np.ascontiguousarray(shapes), np.ascontiguousarray(flags))


@njit(cache=True, nogil=True)
def n_layers(net: Layers) -> int:
    return net[1].shape[0]


@njit(cache=True, nogil=True)
def layer(net: Layers, l: int) -> Layer:
    """Layer ``l`` of :func:`pack_layers`: ``(W, b, dec_p, dec_q, dec_delta, dec_unit, unit_off, kind,
    br_src, br_slope, br_icpt, req_off, req_dec, req_val, plain, identity)`` as views."""
    a, shapes, flags = net
    W = a[0][a[1][l]:a[1][l + 1]].reshape((shapes[l, 0], shapes[l, 1]))
    return (W, a[2][a[3][l]:a[3][l + 1]],
            a[4][a[5][l]:a[5][l + 1]], a[6][a[7][l]:a[7][l + 1]], a[8][a[9][l]:a[9][l + 1]],
            a[10][a[11][l]:a[11][l + 1]], a[12][a[13][l]:a[13][l + 1]], a[14][a[15][l]:a[15][l + 1]],
            a[16][a[17][l]:a[17][l + 1]], a[18][a[19][l]:a[19][l + 1]], a[20][a[21][l]:a[21][l + 1]],
            a[22][a[23][l]:a[23][l + 1]], a[24][a[25][l]:a[25][l + 1]], a[26][a[27][l]:a[27][l + 1]],
            flags[l, 0], flags[l, 1])


@njit(cache=True, nogil=True)
def min_over(kind: int, X: NDArray[np.float64], lo: NDArray[np.float64], hi: NDArray[np.float64],
             G: NDArray[np.float64], g0: NDArray[np.float64]) -> NDArray[np.float64]:
    """Row-wise ``min (G u + g0)`` over the region (its vertices ``X``, or the box ``lo, hi``)."""
    k = G.shape[0]
    d = G.shape[1]
    out = np.empty(k)
    for i in range(k):
        if kind == VERTICES:
            best = np.inf
            for v in range(X.shape[0]):
                val = g0[i]
                for q in range(d):
                    val += G[i, q] * X[v, q]
                if val < best:
                    best = val
            out[i] = best
        else:
            val = g0[i]
            for q in range(d):
                a = G[i, q]
                val += a * lo[q] if a >= 0.0 else a * hi[q]
            out[i] = val
    return out


@njit(cache=True, nogil=True)
def _through(Lh: NDArray[np.float64], lh: NDArray[np.float64], Uh: NDArray[np.float64], uh: NDArray[np.float64],
             W: NDArray[np.float64], b: NDArray[np.float64]) -> AffineBounds:
    """Bounds of ``z = W h + b`` from bounds of ``h`` (weights split by sign)."""
    n, p = W.shape
    d = Lh.shape[1]
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
    return Lz, lz, Uz, uz


@njit(cache=True, nogil=True)
def _relax_forward(Lz: NDArray[np.float64], lz: NDArray[np.float64], Uz: NDArray[np.float64], uz: NDArray[np.float64],
                   src_l: NDArray[np.int64], a_l: NDArray[np.float64], c_l: NDArray[np.float64],
                   src_u: NDArray[np.int64], a_u: NDArray[np.float64], c_u: NDArray[np.float64]) -> AffineBounds:
    """Bounds of the activation's output from bounds of its input and the units' relaxations."""
    n = src_l.shape[0]
    d = Lz.shape[1]
    Lh = np.empty((n, d))
    Uh = np.empty((n, d))
    lh = np.empty(n)
    uh = np.empty(n)
    for u in range(n):
        s, a = src_l[u], a_l[u]
        if a >= 0.0:
            for q in range(d):
                Lh[u, q] = a * Lz[s, q]
            lh[u] = a * lz[s] + c_l[u]
        else:
            for q in range(d):
                Lh[u, q] = a * Uz[s, q]
            lh[u] = a * uz[s] + c_l[u]
        s, a = src_u[u], a_u[u]
        if a >= 0.0:
            for q in range(d):
                Uh[u, q] = a * Uz[s, q]
            uh[u] = a * uz[s] + c_u[u]
        else:
            for q in range(d):
                Uh[u, q] = a * Lz[s, q]
            uh[u] = a * lz[s] + c_u[u]
    return Lh, lh, Uh, uh


@njit(cache=True, nogil=True)
def forward_bounds(kind: int, X: NDArray[np.float64], blo: NDArray[np.float64], bhi: NDArray[np.float64],
                   HL: NDArray[np.float64], hL: NDArray[np.float64], HU: NDArray[np.float64], hU: NDArray[np.float64],
                   layers: Layers, start: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ranges of the pre-activations of layers ``start..`` (0-based) over the region, flat
    ``(los, his)``, given bounds ``(HL, hL) <= h <= (HU, hU)`` of the layer before ``start``."""
    L = n_layers(layers)
    n_total = 0
    for m in range(start, L):
        n_total += layers[1][m, 0]
    los = np.empty(n_total)
    his = np.empty(n_total)
    Lh, lh, Uh, uh = HL, hL, HU, hU
    pos = 0
    for m in range(start, L):
        lay = layer(layers, m)
        W, b = lay[0], lay[1]
        n = W.shape[0]
        Lz, lz, Uz, uz = _through(Lh, lh, Uh, uh, W, b)
        lo = min_over(kind, X, blo, bhi, Lz, lz)
        hi = -min_over(kind, X, blo, bhi, -Uz, -uz)
        los[pos:pos + n] = lo
        his[pos:pos + n] = hi
        pos += n
        if m == L - 1:
            break
        if lay[15]:  # the identity
            Lh, lh, Uh, uh = Lz, lz, Uz, uz
        else:
            rel = relax_units(lay[2], lay[3], lay[4], lay[5], lay[6], lay[7], lay[8], lay[9], lay[10], lay[11],
                              lay[12], lay[13], lo, hi)
            Lh, lh, Uh, uh = _relax_forward(Lz, lz, Uz, uz, rel[0], rel[1], rel[2], rel[3], rel[4], rel[5])
    return los, his


@njit(cache=True, nogil=True)
def backward_rows(kind: int, X: NDArray[np.float64], blo: NDArray[np.float64], bhi: NDArray[np.float64],
                  HL: NDArray[np.float64], hL: NDArray[np.float64], HU: NDArray[np.float64], hU: NDArray[np.float64],
                  layers: Layers, start: int, rows: NDArray[np.float64], on_pre: bool, los: NDArray[np.float64],
                  his: NDArray[np.float64]) -> NDArray[np.float64]:
    """Lower bounds of ``rows · v`` over the region by back-substitution, ``v`` the last
    layer's pre-activation (``on_pre``) or output; each activation is relaxed with the ranges
    ``los, his`` of :func:`forward_bounds` (its coefficient's sign picks the lower or upper line)."""
    L = n_layers(layers)
    n_total = 0
    for m in range(start, L):
        n_total += layers[1][m, 0]
    k_rows = rows.shape[0]
    Lam = rows.copy()
    const = np.zeros(k_rows)
    pos = n_total
    for m in range(L - 1, start - 1, -1):
        lay = layer(layers, m)
        W, b = lay[0], lay[1]
        n, p = W.shape
        pos -= n
        if not lay[15] and not (m == L - 1 and on_pre):
            rel = relax_units(lay[2], lay[3], lay[4], lay[5], lay[6], lay[7], lay[8], lay[9], lay[10], lay[11],
                              lay[12], lay[13], los[pos:pos + n], his[pos:pos + n])
            src_l, a_l, c_l, src_u, a_u, c_u = rel
            Lz = np.zeros((k_rows, n))
            for r in range(k_rows):
                for u in range(src_l.shape[0]):
                    a = Lam[r, u]
                    if a > 0.0:
                        Lz[r, src_l[u]] += a * a_l[u]
                        const[r] += a * c_l[u]
                    elif a < 0.0:
                        Lz[r, src_u[u]] += a * a_u[u]
                        const[r] += a * c_u[u]
            Lam = Lz
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
    d = HL.shape[1]
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
    return min_over(kind, X, blo, bhi, G, g0)


def layer_bounds(layers: Layers, lo: ArrayLike, hi: ArrayLike) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Ranges of every layer's pre-activation over the box ``lo <= x <= hi`` of the input
    (``layers`` from :func:`pack_layers`), for users of the bounds outside the walk."""
    lo = np.array(lo, dtype=np.float64)  # writable copies: the kernels' one signature
    hi = np.array(hi, dtype=np.float64)
    d = lo.shape[0]
    eye = np.eye(d)
    zero = np.zeros(d)
    los, his = forward_bounds(BOX, np.zeros((0, d)), lo, hi, eye, zero, eye, zero, layers, 0)
    out, pos = [], 0
    for n in layers[1][:, 0]:
        out.append((los[pos:pos + n], his[pos:pos + n]))
        pos += n
    return out
