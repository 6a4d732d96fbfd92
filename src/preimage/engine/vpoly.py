"""Vertex-represented polytopes for low input dimension (the engine's fast path).

A region of the input domain is kept as its vertices ``X`` (``V × d``) and, for every
vertex, the set of constraints tight at it (a bitset ``T``, ``V × words`` of uint64). A
neuron's sign over the region is then a sign test at the vertices — no LP — and cutting
the region by a hyperplane only needs the edges that cross it:

* two vertices ``u, v`` are adjacent iff no third vertex is tight on every constraint that
  is tight at both (the combinatorial test of the double-description method); when both are
  simple (exactly ``dim`` tight constraints) and share ``dim - 1``, they are adjacent
  without further test;
* the new vertices are the crossing points of those edges; their tight set is the common
  set plus the new constraint.

The kernels are compiled with numba. The V-representation is an accelerator: pieces are
always reported in H-representation, built from the network's own rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._numba import njit

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import TypeAlias

    from numpy.typing import ArrayLike, NDArray

    #: a cut's result ``(Xa, Ta, Xb, Tb, n_new)`` (see :func:`_cut_cls`)
    CutResult: TypeAlias = tuple[NDArray[np.float64], NDArray[np.uint64], NDArray[np.float64], NDArray[np.uint64], int]
    #: :func:`_classify`'s result ``(j, eps_j, n_fixed, s, amb)``
    Classified: TypeAlias = tuple[int, float, int, NDArray[np.float64], bool]

__all__ = ["cut", "cut_cls", "box_vertices", "affine_rank", "CUT_SPLIT", "CUT_CLIP", "CUT_SLICE", "words_for"]

#: cut modes
CUT_SPLIT = 0  # both sides (s <= 0 and s >= 0)
CUT_CLIP = 1   # keep s <= 0
CUT_SLICE = 2  # keep s == 0


def words_for(n_constraints: int) -> int:
    """Number of uint64 words for a bitset of ``n_constraints`` constraints."""
    return max(1, -(-int(n_constraints) // 64))


@njit(cache=True, nogil=True)
def _popcount(x: np.uint64) -> int:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True, nogil=True)
def _cut(X: NDArray[np.float64], T: NDArray[np.uint64], s: NDArray[np.float64], eps: float, dim: int, bit: int,
         mode: int) -> CutResult:
    """Cut the polytope (X, T) of dimension ``dim`` by ``s(x) = 0``, ``s`` given at the vertices.

    Vertices with ``|s| <= eps`` lie on the hyperplane; see :func:`_cut_cls` (to which the
    sides are passed once settled) for the rest.
    """
    V = X.shape[0]
    cls = np.zeros(V, dtype=np.int8)
    for i in range(V):
        if s[i] < -eps:
            cls[i] = -1
        elif s[i] > eps:
            cls[i] = 1
    return _cut_cls(X, T, cls, s, dim, bit, mode)


@njit(cache=True, nogil=True)
def _cut_cls(X: NDArray[np.float64], T: NDArray[np.uint64], cls: NDArray[np.int8], s: NDArray[np.float64], dim: int,
             bit: int, mode: int) -> CutResult:
    """Cut the polytope (X, T) of dimension ``dim`` by the hyperplane ``s(x) = 0``.

    ``cls`` is the (settled) side of every vertex: ``-1``, ``0`` (on the hyperplane) or
    ``1``; ``s`` its signed distance (used only to place the crossing points).
    Returns ``(Xa, Ta, Xb, Tb, n_new)``: for ``CUT_SPLIT`` the sides ``s <= 0`` (a) and
    ``s >= 0`` (b); for ``CUT_CLIP`` side a only; for ``CUT_SLICE`` the slice in a.
    ``n_new`` is the number of crossing edges (``> 0`` iff vertices lie strictly on both
    sides). The new inequality gets bit number ``bit`` (a slice's equality gets none).
    """
    V = X.shape[0]
    d = X.shape[1]
    W = T.shape[1]
    word = bit // 64
    mask = np.uint64(1) << np.uint64(bit % 64)
    tight = np.zeros(V, dtype=np.int64)
    n_neg = 0
    n_pos = 0
    for i in range(V):
        if cls[i] < 0:
            n_neg += 1
        elif cls[i] > 0:
            n_pos += 1
        c = 0
        for w in range(W):
            c += _popcount(T[i, w])
        tight[i] = c
    # crossing edges
    cap = n_neg * n_pos
    eu = np.empty(cap, dtype=np.int64)
    ev = np.empty(cap, dtype=np.int64)
    n_new = 0
    common = np.empty(W, dtype=np.uint64)
    for u in range(V):
        if cls[u] != -1:
            continue
        for v in range(V):
            if cls[v] != 1:
                continue
            cnt = 0
            for w in range(W):
                common[w] = T[u, w] & T[v, w]
                cnt += _popcount(common[w])
            if cnt < dim - 1:
                continue
            edge = True
            if not (cnt == dim - 1 and tight[u] == dim and tight[v] == dim):
                for z in range(V):
                    if z == u or z == v:
                        continue
                    contains = True
                    for w in range(W):
                        if (common[w] & ~T[z, w]) != 0:
                            contains = False
                            break
                    if contains:
                        edge = False
                        break
            if edge:
                eu[n_new] = u
                ev[n_new] = v
                n_new += 1
    Xn = np.empty((n_new, d))
    Tn = np.empty((n_new, W), dtype=np.uint64)
    for k in range(n_new):
        u = eu[k]
        v = ev[k]
        den = s[u] - s[v]
        t = s[u] / den if den != 0.0 else 0.5
        # sides settled exactly may disagree with the float distances: stay on the edge
        t = min(max(t, 0.0), 1.0)
        for j in range(d):
            Xn[k, j] = X[u, j] + t * (X[v, j] - X[u, j])
        for w in range(W):
            Tn[k, w] = T[u, w] & T[v, w]
        if mode != 2:  # an equality is common to all vertices of a slice: not recorded
            Tn[k, word] |= mask
    n_zero = V - n_neg - n_pos
    if mode == 2:  # slice: zero vertices and crossings
        Xa = np.empty((n_zero + n_new, d))
        Ta = np.empty((n_zero + n_new, W), dtype=np.uint64)
        r = 0
        for i in range(V):
            if cls[i] == 0:
                Xa[r] = X[i]
                Ta[r] = T[i]
                r += 1
        Xa[r:] = Xn
        Ta[r:] = Tn
        return Xa, Ta, Xa[:0], Ta[:0], n_new
    # side a: s <= 0
    Xa = np.empty((n_neg + n_zero + n_new, d))
    Ta = np.empty((n_neg + n_zero + n_new, W), dtype=np.uint64)
    r = 0
    for i in range(V):
        if cls[i] <= 0:
            Xa[r] = X[i]
            Ta[r] = T[i]
            if cls[i] == 0:
                Ta[r, word] |= mask
            r += 1
    Xa[r:] = Xn
    Ta[r:] = Tn
    if mode == 1:
        return Xa, Ta, Xa[:0], Ta[:0], n_new
    Xb = np.empty((n_pos + n_zero + n_new, d))
    Tb = np.empty((n_pos + n_zero + n_new, W), dtype=np.uint64)
    r = 0
    for i in range(V):
        if cls[i] >= 0:
            Xb[r] = X[i]
            Tb[r] = T[i]
            if cls[i] == 0:
                Tb[r, word] |= mask
            r += 1
    Xb[r:] = Xn
    Tb[r:] = Tn
    return Xa, Ta, Xb, Tb, n_new


def cut(X: NDArray[np.float64], T: NDArray[np.uint64], s: ArrayLike, eps: float, dim: int, bit: int,
        mode: int) -> CutResult:
    """Compiled :func:`_cut` (see its docstring)."""
    return _cut(X, T, np.ascontiguousarray(s, dtype=np.float64), float(eps), int(dim), int(bit), int(mode))


def cut_cls(X: NDArray[np.float64], T: NDArray[np.uint64], cls: ArrayLike, s: ArrayLike, dim: int, bit: int,
            mode: int) -> CutResult:
    """Compiled :func:`_cut_cls` (see its docstring)."""
    return _cut_cls(X, T, np.ascontiguousarray(cls, dtype=np.int8), np.ascontiguousarray(s, dtype=np.float64),
                    int(dim), int(bit), int(mode))


def box_vertices(lo: NDArray[np.float64], hi: NDArray[np.float64],
                 words: int) -> tuple[NDArray[np.float64], NDArray[np.uint64]]:
    """Vertices and tight sets of a full-dimensional box; facet ``2j`` is ``x_j <= hi_j``,
    ``2j + 1`` is ``x_j >= lo_j``.
    """
    d = lo.shape[0]
    idx = np.arange(1 << d)
    bits = (idx[:, None] >> np.arange(d)) & 1  # 1 -> upper face
    X = np.where(bits == 1, hi, lo).astype(np.float64)
    facet = 2 * np.arange(d)[None, :] + (1 - bits)  # (V, d) facet ids
    T = np.zeros((1 << d, words), dtype=np.uint64)
    for j in range(d):
        f = facet[:, j]
        np.bitwise_or.at(T, (np.arange(1 << d), f // 64), (np.uint64(1) << (f % 64).astype(np.uint64)))
    return X, T


def affine_rank(X: NDArray[np.float64], tol: float) -> int:
    """Dimension of the affine hull of the rows of ``X`` (``-1`` for none)."""
    if X.shape[0] == 0:
        return -1
    if X.shape[0] == 1:
        return 0
    Y = X[1:] - X[0]
    s = np.linalg.svd(Y, compute_uv=False)
    scale = max(float(np.abs(X).max()), 1.0)
    return int(np.sum(s > tol * scale))


@njit(cache=True, nogil=True)
def _classify(X: NDArray[np.float64], Z: NDArray[np.float64], z0: NDArray[np.float64], dec: NDArray[np.int8],
              rel: float) -> Classified:
    """Fix every undecided neuron whose sign is certainly constant over the vertices (in ``dec``).

    Signs are read on a distance scale: ``s_v = (Z_j·x_v + z0_j) / ‖Z_j‖`` is the signed
    distance of vertex ``v`` to the neuron's hyperplane (the norm is computed once per
    row), and ``|s_v| <= rel * (1 + max_v |s_v|)`` is the ambiguity band (a zero row is
    the constant ``z0_j``, whose sign is exact). A neuron with a vertex in the band is not
    decided here: its float signs could be wrong.

    Returns ``(j, eps_j, n_fixed, s, amb)``: the first neuron that is not certainly stable
    (``-1`` if none) — it takes both signs strictly, or (``amb`` true) it has a vertex in
    the band, to be settled exactly by the caller (:mod:`preimage.engine.exact`) — its
    band's half-width, the number of neurons fixed, and its signed distances at the
    vertices. Later neurons with a vertex in the band are left undecided.
    """
    V = X.shape[0]
    d = X.shape[1]
    n = Z.shape[0]
    first = -1
    eps_first = 0.0
    amb_first = False
    fixed = 0
    for j in range(n):
        if dec[j] >= 0:
            continue
        nrm = 0.0
        for k in range(d):
            nrm += Z[j, k] * Z[j, k]
        if nrm == 0.0:  # constant neuron: its sign is exact
            dec[j] = 1 if z0[j] > 0.0 else 0
            fixed += 1
            continue
        inv = 1.0 / np.sqrt(nrm)
        mn = np.inf
        mx = -np.inf
        mabs = np.inf
        for v in range(V):
            val = z0[j]
            for k in range(d):
                val += X[v, k] * Z[j, k]
            val *= inv
            if val < mn:
                mn = val
            if val > mx:
                mx = val
            if abs(val) < mabs:
                mabs = abs(val)
        eps = rel * (1.0 + max(abs(mn), abs(mx)))
        if mabs <= eps:  # a vertex in the band
            if first < 0:
                first = j
                eps_first = eps
                amb_first = True
        elif mx < 0.0:
            dec[j] = 0
            fixed += 1
        elif mn > 0.0:
            dec[j] = 1
            fixed += 1
        elif first < 0:
            first = j
            eps_first = eps
    s = np.empty(V)
    if first >= 0:
        nrm = 0.0
        for k in range(d):
            nrm += Z[first, k] * Z[first, k]
        inv = 1.0 / np.sqrt(nrm)
        for v in range(V):
            val = z0[first]
            for k in range(d):
                val += X[v, k] * Z[first, k]
            s[v] = val * inv
    return first, eps_first, fixed, s, amb_first


def classify(X: NDArray[np.float64], Z: ArrayLike, z0: ArrayLike, dec: NDArray[np.int8], rel: float) -> Classified:
    """Compiled :func:`_classify` (updates ``dec`` in place)."""
    return _classify(X, np.ascontiguousarray(Z), np.ascontiguousarray(z0), dec, float(rel))
