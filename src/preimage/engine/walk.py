"""The search, written once: a depth-first walk over regions on which the activation
pattern is fixed, compiled with numba for both region representations.

A node is a region of the domain's chart (coordinates ``u``) on which layers ``1..l-1``
are on fixed branches, so the pre-activation of layer ``l`` is affine there:
``z_l = Z u + z0``. At a node:

1. the *decisions* of layer ``l``'s activation (affine functions of ``z``, see
   :mod:`preimage.activations.base`; for a ReLU the pre-activations themselves) whose sign
   is constant over the region are fixed (the region operation ``classify``);
2. the first decision that changes sign splits the region in two by its hyperplane (both
   children non-empty; ``split``); a max unit branches k ways, one child per window entry
   that can still be the largest; each child records its decisions and cutting rows;
3. when every decision of layer ``l`` is fixed, its units' branches give the layer's output
   ``h_l = H u + h`` and the map is pushed through the next affine layer; bounds on later
   layers (:mod:`preimage.engine.bounds`) drop regions that provably cannot reach the target;
4. at the target layer the target is applied exactly (an activity forces the branches and
   ``clip``s / ``slice``s the region to the activity's preimage interval of every unit; a
   polyhedron clips and slices it) and what is left is a piece.

The region operations have two implementations, chosen by ``kind``:

* ``VERTEX_REGIONS`` — the region's vertices and their tight constraints (:mod:`~.vpoly`,
  compiled): signs are read at the vertices, cuts follow the crossing edges;
* ``LP_REGIONS`` — the H-representation in one warm-started HiGHS model that follows the
  walk (:mod:`~.region_lp`).

What compiled code cannot do — an LP, a sign settled in exact rational arithmetic when a
vertex lies in the ambiguity band (:mod:`~.exact`), the rank of a degenerate vertex set — is
asked of Python: the walk puts the node back on the stack unchanged and returns a
*question*; the driver (:mod:`~.search`) answers it and calls the walk again with the
answers for that node, which it replays (deterministically) up to the next question or its
end. So nothing is compiled while a run works (no object mode), and a node's pieces and
children are committed only when it is complete.

The walk explores a stack given as flat arrays (:func:`walk`) and returns what is left of it
after ``max_nodes`` nodes or ``max_out`` pieces, so the driver can stop, report progress and
checkpoint between calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import types
from numba.typed import List

from .._numba import njit
from ..activations.base import DONT_CARE, MAX, relax_units, unit_branch, unit_branches
from .bounds import BOX, VERTICES, backward_rows, forward_bounds, layer, min_over, n_layers
from .vpoly import CUT_CLIP, CUT_SLICE, CUT_SPLIT, _classify, _cut, _cut_cls

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import Any, TypeAlias, TypeVar

    from numba.typed.typedlist import List as TypedList
    from numpy.typing import NDArray

    from .bounds import AffineBounds, Layer, Layers

    _S = TypeVar("_S", bound=np.generic)

    #: the domain: ``(dom_A, dom_b, box_lo, box_hi, hint)`` (see :func:`walk`)
    Dom: TypeAlias = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                           NDArray[np.float64]]
    #: the target: ``(tkind, f_lo, f_hi, f_branch, P_A, P_b, P_aoff, P_C, P_d, P_coff, rows, rhs, seg, on_pre)``
    Target: TypeAlias = tuple[int, NDArray[np.float64], NDArray[np.float64], NDArray[np.int8],
                              NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                              NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                              NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], bool]
    #: the options: ``(prune, rel, band, tol)``
    Opts: TypeAlias = tuple[bool, float, float, float]
    #: the answers for the node on top of the stack: ``(ints, floats, int offsets, float offsets)``
    Answers: TypeAlias = tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]
    #: a question to Python: ``(kind, M1, U, I, v1, M2, v2, M3, v3, D)`` (see the ``Q_*`` kinds and ``_QUESTION``)
    Question: TypeAlias = tuple[int, NDArray[np.float64], NDArray[np.uint64], NDArray[np.int64], NDArray[np.float64],
                                NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                                NDArray[np.int8]]
    #: where a node puts its question (at most one)
    QuestionBox: TypeAlias = TypedList[Question]
    #: the stack as flat arrays with offsets: ``(X, X_off, T, L, dec, dec_off, pat, pat_off, Z, z0, Z_off, A, A_off,
    #: c, N, cuts)`` (``cuts``: the cut code of each row of ``A``, offsets ``A_off``; see
    #: :class:`preimage.engine.search.Search`)
    Stack: TypeAlias = tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.uint64], NDArray[np.int64],
                             NDArray[np.int8], NDArray[np.int64], NDArray[np.int8], NDArray[np.int64],
                             NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                             NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64],
                             NDArray[np.int64]]
    #: the stack while the walk runs, one typed list per field: ``(X, T, l, dec, pat, Z, z0, A, c, ncons, cuts)``
    StackLists: TypeAlias = tuple[TypedList[NDArray[np.float64]], TypedList[NDArray[np.uint64]], TypedList[int],
                                  TypedList[NDArray[np.int8]], TypedList[NDArray[np.int8]],
                                  TypedList[NDArray[np.float64]], TypedList[NDArray[np.float64]],
                                  TypedList[NDArray[np.float64]], TypedList[NDArray[np.float64]], TypedList[int],
                                  TypedList[NDArray[np.int64]]]
    #: the pieces as flat arrays with offsets: ``(pattern, pattern_off, cuts, cuts_off, meta)``, ``meta[i] =
    #: (dim, disjunct)``: a piece is its pattern and the origins of its cutting rows (see :func:`cut_code`)
    Pieces: TypeAlias = tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64],
                              NDArray[np.int64]]
    #: the pieces while the walk runs, one typed list per field: ``(pattern, cuts, (dim, disjunct))``
    PieceLists: TypeAlias = tuple[TypedList[NDArray[np.int8]], TypedList[NDArray[np.int64]],
                                  TypedList[NDArray[np.int64]]]
    #: :func:`_constrain`'s result ``(alive, X, T, dim, ncons, A, c, E, e, cuts of A, cuts of E)``
    Constrained: TypeAlias = tuple[bool, NDArray[np.float64], NDArray[np.uint64], int, int, NDArray[np.float64],
                                   NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                                   NDArray[np.int64]]
    #: shared empty arrays ``(floats, int8, int64, rows)`` (see :func:`walk`: no allocation per node)
    Empty: TypeAlias = tuple[NDArray[np.float64], NDArray[np.int8], NDArray[np.int64], NDArray[np.float64]]
    #: :func:`_classify_layer`'s result ``(j, eps, s, amb, cls, x_neg, x_pos, cand)``
    LayerDecision: TypeAlias = tuple[int, float, NDArray[np.float64], bool, NDArray[np.int8], NDArray[np.float64],
                                     NDArray[np.float64], NDArray[np.int64]]

__all__ = ["walk", "VERTEX_REGIONS", "LP_REGIONS", "T_NONE", "T_FORCE", "T_POLY", "Q_EXACT", "Q_RANK",
           "Q_LP_CLASSIFY", "Q_LP_FEASIBLE", "cut_code", "ROW_DEC_NEG", "ROW_DEC_POS", "ROW_PAIR", "ROW_HI",
           "ROW_LO", "ROW_EQ", "ROW_TARGET_INEQ", "ROW_TARGET_EQ"]

#: region representations
VERTEX_REGIONS = 0
LP_REGIONS = 1
#: target kinds: none (regions), an activity forced unit by unit, a union of polyhedra
T_NONE = 0
T_FORCE = 1
T_POLY = 2
#: where a cutting row of a piece comes from (its *cut code*, :func:`cut_code`): a piece is kept as
#: its pattern and the codes of its rows, from which :mod:`preimage.engine.rebuild` recomputes the
#: rows exactly as the walk made them. At layer ``l`` (pre-activation ``z = Z u + z0``):
ROW_DEC_NEG = 0      # decision ``a`` (``f = F_a u + f0_a``) on its side ``f <= 0``
ROW_DEC_POS = 1      # decision ``a`` on its side ``f >= 0`` (the row ``-f <= 0``)
ROW_PAIR = 2         # ``z_a - z_b <= 0`` (a max unit's window entry ``b`` is the largest)
ROW_HI = 3           # activity target: ``z_a <= f_hi[a]``
ROW_LO = 4           # activity target: ``z_a >= f_lo[a]``
ROW_EQ = 5           # activity target: ``z_a = f_lo[a]`` (an equality)
ROW_TARGET_INEQ = 6  # polyhedral target: inequality ``a`` (``P_A[a] h <= P_b[a]``, ``h = H u + h0``)
ROW_TARGET_EQ = 7    # polyhedral target: equality ``a`` (``P_C[a] h = P_d[a]``)
_CODE_SHIFT = 24  # bits of ``a`` and of ``b`` in a code (units and rows below 2**24)


@njit(cache=True, nogil=True)
def cut_code(l: int, kind: int, a: int, b: int) -> int:
    """The code of a cutting row: layer ``l``, kind (``ROW_*``) and its two indices."""
    return (((l << 3) | kind) << (2 * _CODE_SHIFT)) | (a << _CODE_SHIFT) | b


# element types of the walk's typed lists (the stack, the pieces, the question box)
_F2 = types.float64[:, ::1]
_F1 = types.float64[::1]
_I1 = types.int8[::1]
_U2 = types.uint64[:, ::1]
_L1 = types.int64[::1]
_QUESTION = types.Tuple((types.int64, _F2, _U2, _L1, _F1, _F2, _F1, _F2, _F1, _I1))

#: questions to Python (see the module docstring and :func:`preimage.engine.search.Search._answer`)
Q_EXACT = 1        # exact sides of vertices in the band: X, T, idx, (a, c), cut rows (A, c), equalities (E, e)
Q_RANK = 2         # the affine rank of vertices X (tolerance in v1)
Q_LP_CLASSIFY = 3  # LP region (rows A, c): fix decisions F u + f0 (dec), from the witness x
Q_LP_FEASIBLE = 4  # LP region (rows A, c) with rows Ai u + ci <= 0 and E u + e = 0: a point


# -- questions and answers ----------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _answer(answers: Answers, qc: NDArray[np.int64]) -> tuple[bool, NDArray[np.int64], NDArray[np.float64]]:
    """The next answer for the node being replayed: ``(found, ints, floats)``."""
    ai, af, aio, afo = answers
    k = qc[0]
    if k < aio.shape[0] - 1:
        qc[0] = k + 1
        return True, ai[aio[k]:aio[k + 1]], af[afo[k]:afo[k + 1]]
    return False, ai[:0], af[:0]


@njit(cache=True, nogil=True)
def _ask(qbox: QuestionBox, kind: int, M1: NDArray[np.float64], U: NDArray[np.uint64], I: NDArray[np.int64],
         v1: NDArray[np.float64], M2: NDArray[np.float64], v2: NDArray[np.float64], M3: NDArray[np.float64],
         v3: NDArray[np.float64], D: NDArray[np.int8]) -> None:
    qbox.append((kind, M1, U, I, v1, M2, v2, M3, v3, D))


@njit(cache=True, nogil=True)
def _no_u(d: int) -> NDArray[np.uint64]:
    return np.zeros((0, d), dtype=np.uint64)


@njit(cache=True, nogil=True)
def _affine_rank(X: NDArray[np.float64], tol: float, answers: Answers, qc: NDArray[np.int64], qbox: QuestionBox) -> int:
    """Dimension of the affine hull of the vertices (asked of Python: numba's SVD would load
    LAPACK through scipy). ``-2`` when asked."""
    found, ints, _ = _answer(answers, qc)
    if found:
        rank: int = ints[0]
        return rank
    d = X.shape[1]
    _ask(qbox, Q_RANK, X, _no_u(1), np.zeros(0, np.int64), np.array([tol]), np.zeros((0, d)), np.zeros(0),
         np.zeros((0, d)), np.zeros(0), np.zeros(0, np.int8))
    return -2


@njit(cache=True, nogil=True)
def _sides(X: NDArray[np.float64], T: NDArray[np.uint64], a: NDArray[np.float64], c: float, band_rel: float,
           exact: bool, A: NDArray[np.float64], cc: NDArray[np.float64], E: NDArray[np.float64], e: NDArray[np.float64],
           answers: Answers, qc: NDArray[np.int64], qbox: QuestionBox) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """Side (-1, 0, 1) of every vertex w.r.t. ``a·u + c = 0``, settled exactly in the band
    (``exact``) or, for a target's equality (float data), counted as on it; with the signed
    distances. See :func:`preimage.engine.exact.classes`. May ask (``Q_EXACT``)."""
    V = X.shape[0]
    d = X.shape[1]
    nrm = 0.0
    for q in range(d):
        nrm += a[q] * a[q]
    cls = np.zeros(V, dtype=np.int8)
    s = np.empty(V)
    if nrm == 0.0:
        sgn = 0 if abs(c) <= band_rel else (1 if c > 0 else -1)
        for v in range(V):
            cls[v] = sgn
            s[v] = c
        return cls, s
    inv = 1.0 / np.sqrt(nrm)
    mx = 0.0
    for v in range(V):
        val = c
        for q in range(d):
            val += X[v, q] * a[q]
        s[v] = val * inv
        if abs(s[v]) > mx:
            mx = abs(s[v])
    band = band_rel * (1.0 + mx)
    n_amb = 0
    for v in range(V):
        if s[v] > band:
            cls[v] = 1
        elif s[v] < -band:
            cls[v] = -1
        else:
            n_amb += 1
    if n_amb and exact:
        idx = np.empty(n_amb, dtype=np.int64)
        k = 0
        for v in range(V):
            if abs(s[v]) <= band:
                idx[k] = v
                k += 1
        found, ints, _ = _answer(answers, qc)
        if found:
            for k in range(n_amb):
                cls[idx[k]] = ints[k]
        else:
            ac = np.empty(d + 1)
            ac[:d] = a
            ac[d] = c
            _ask(qbox, Q_EXACT, X, T, idx, ac, A, cc, E, e, np.zeros(0, np.int8))
    return cls, s


@njit(cache=True, nogil=True)
def _row_map(a: NDArray[np.float64], H: NDArray[np.float64]) -> NDArray[np.float64]:
    """``a · H`` (a row through a map), written out: numba's ``@`` would load BLAS through scipy."""
    out = np.zeros(H.shape[1])
    for i in range(H.shape[0]):
        if a[i] != 0.0:
            for q in range(H.shape[1]):
                out[q] += a[i] * H[i, q]
    return out


@njit(cache=True, nogil=True)
def _dot(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    t = 0.0
    for i in range(a.shape[0]):
        t += a[i] * b[i]
    return t


@njit(cache=True, nogil=True)
def _append_row(A: NDArray[np.float64], c: NDArray[np.float64], a: NDArray[np.float64],
                cc: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    k, d = A.shape
    A2 = np.empty((k + 1, d))
    c2 = np.empty(k + 1)
    A2[:k] = A
    c2[:k] = c
    A2[k] = a
    c2[k] = cc
    return A2, c2


@njit(cache=True, nogil=True)
def _append_cut(t: NDArray[np.int64], code: int) -> NDArray[np.int64]:
    k = t.shape[0]
    t2 = np.empty(k + 1, dtype=np.int64)
    t2[:k] = t
    t2[k] = code
    return t2


@njit(cache=True, nogil=True, inline="always")
def _decision_map(lay: Layer, Z: NDArray[np.float64],
                  z0: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if lay[14]:
        return Z, z0
    p, q, delta = lay[2], lay[3], lay[4]
    n = p.shape[0]
    d = Z.shape[1]
    F = np.empty((n, d))
    f0 = np.empty(n)
    for k in range(n):
        f0[k] = z0[p[k]] + delta[k]
        for r in range(d):
            F[k, r] = Z[p[k], r]
        if q[k] >= 0:
            f0[k] -= z0[q[k]]
            for r in range(d):
                F[k, r] -= Z[q[k], r]
    return F, f0


@njit(cache=True, nogil=True, inline="always")
def _branch_map(lay: Layer, branches: NDArray[np.int8], Z: NDArray[np.float64],
                z0: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``h = H u + h0`` on the given branches of ``z = Z u + z0``."""
    unit_off, br_src, br_slope, br_icpt = lay[6], lay[8], lay[9], lay[10]
    n = branches.shape[0]
    d = Z.shape[1]
    H = np.empty((n, d))
    h = np.empty(n)
    for u in range(n):
        r = unit_off[u] + branches[u]
        s = br_slope[r]
        src = br_src[r]
        for q in range(d):
            H[u, q] = s * Z[src, q]
        h[u] = s * z0[src] + br_icpt[r]
    return H, h


@njit(cache=True, nogil=True)
def _partial_bounds(lay: Layer, dec: NDArray[np.int8], Z: NDArray[np.float64], z0: NDArray[np.float64],
                    lo: NDArray[np.float64], hi: NDArray[np.float64]) -> AffineBounds:
    """Lower and upper affine bounds of a partly decided layer's output over a region on which
    its pre-activation ``Z u + z0`` ranges over ``[lo, hi]``: decided units exactly, the others
    by their relaxation."""
    dec_unit, unit_off, req_off, req_dec, req_val = lay[5], lay[6], lay[11], lay[12], lay[13]
    n_units = unit_off.shape[0] - 1
    rel = relax_units(lay[2], lay[3], lay[4], lay[5], lay[6], lay[7], lay[8], lay[9], lay[10], lay[11], lay[12],
                      lay[13], lo, hi)
    src_l, a_l, c_l, src_u, a_u, c_u = rel
    decided = np.ones(n_units, dtype=np.bool_)
    for k in range(dec.shape[0]):
        if dec[k] < 0:
            decided[dec_unit[k]] = False
    for u in range(n_units):
        if not decided[u]:
            continue
        r = unit_branch(unit_off, req_off, req_dec, req_val, dec, u)  # the unit's own branch: exact
        if r >= 0:
            src_l[u] = lay[8][r]
            src_u[u] = lay[8][r]
            a_l[u] = lay[9][r]
            a_u[u] = lay[9][r]
            c_l[u] = lay[10][r]
            c_u[u] = lay[10][r]
    d = Z.shape[1]
    HL = np.empty((n_units, d))
    HU = np.empty((n_units, d))
    hL = np.empty(n_units)
    hU = np.empty(n_units)
    for u in range(n_units):
        for q in range(d):
            HL[u, q] = a_l[u] * Z[src_l[u], q]
            HU[u, q] = a_u[u] * Z[src_u[u], q]
        hL[u] = a_l[u] * z0[src_l[u]] + c_l[u]
        hU[u] = a_u[u] * z0[src_u[u]] + c_u[u]
    return HL, hL, HU, hU


@njit(cache=True, nogil=True)
def _unit_decisions(lay: Layer, j: int) -> tuple[int, int, int]:
    """The range of decisions of the unit of decision ``j`` (decisions are grouped by unit)."""
    dec_unit = lay[5]
    u = dec_unit[j]
    k0 = j
    while k0 > 0 and dec_unit[k0 - 1] == u:
        k0 -= 1
    k1 = j
    while k1 < dec_unit.shape[0] and dec_unit[k1] == u:
        k1 += 1
    return u, k0, k1


@njit(cache=True, nogil=True)
def _position(srcs: NDArray[np.int64], z: int) -> int:
    for i in range(srcs.shape[0]):
        if srcs[i] == z:
            return i
    return -1


@njit(cache=True, nogil=True)
def _candidates(lay: Layer, dec: NDArray[np.int8], j: int) -> NDArray[np.int64]:
    """The window positions of the max unit of decision ``j`` that no decided comparison
    shows smaller than another entry: those that can still be the largest."""
    u, k0, k1 = _unit_decisions(lay, j)
    srcs = lay[8][lay[6][u]:lay[6][u + 1]]
    out = np.zeros(srcs.shape[0], dtype=np.bool_)
    for k in range(k0, k1):
        if dec[k] == 1:  # z_p >= z_q: q is not the largest
            out[_position(srcs, lay[3][k])] = True
        elif dec[k] == 0:
            out[_position(srcs, lay[2][k])] = True
    n = 0
    for i in range(srcs.shape[0]):
        if not out[i]:
            n += 1
    cand = np.empty(n, dtype=np.int64)
    n = 0
    for i in range(srcs.shape[0]):
        if not out[i]:
            cand[n] = i
            n += 1
    return cand


@njit(cache=True, nogil=True)
def _settle_max(lay: Layer, dec: NDArray[np.int8], j: int, winner: int) -> None:
    """Close the open comparisons of the max unit of decision ``j``: those with the window
    position ``winner`` (if any) in its favour, the others as not mattering."""
    u, k0, k1 = _unit_decisions(lay, j)
    srcs = lay[8][lay[6][u]:lay[6][u + 1]]
    for k in range(k0, k1):
        if dec[k] >= 0:
            continue
        if winner >= 0 and _position(srcs, lay[2][k]) == winner:
            dec[k] = 1
        elif winner >= 0 and _position(srcs, lay[3][k]) == winner:
            dec[k] = 0
        else:
            dec[k] = DONT_CARE


# -- target reachability (pruning) ----------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _reachable(kind: int, X: NDArray[np.float64], blo: NDArray[np.float64], bhi: NDArray[np.float64],
               HL: NDArray[np.float64], hL: NDArray[np.float64], HU: NDArray[np.float64], hU: NDArray[np.float64],
               layers: Layers, start: int, tkind: int, rows: NDArray[np.float64], rhs: NDArray[np.float64],
               seg: NDArray[np.int64], on_pre: bool, f_lo: NDArray[np.float64], f_hi: NDArray[np.float64],
               tol: float) -> bool:
    """Whether bounds leave the target reachable from a region whose layer ``start - 1`` output
    lies between ``(HL, hL)`` and ``(HU, hU)`` (``False``: prune). A bound must miss the target
    by more than its rounding scale (relative to the magnitudes involved)."""
    L = n_layers(layers)
    if start >= L or rows.shape[0] == 0:
        return True
    los, his = forward_bounds(kind, X, blo, bhi, HL, hL, HU, hU, layers, start)
    n_last = layers[1][L - 1, 0]
    if tkind == T_FORCE:
        base = los.shape[0] - n_last
        for u in range(n_last):
            lo, hi = los[base + u], his[base + u]
            m = max(abs(lo), abs(hi))
            if np.isfinite(f_hi[u]) and lo > f_hi[u] + tol * (1.0 + abs(f_hi[u]) + m):
                return False
            if np.isfinite(f_lo[u]) and hi < f_lo[u] - tol * (1.0 + abs(f_lo[u]) + m):
                return False
    lower = backward_rows(kind, X, blo, bhi, HL, hL, HU, hU, layers, start, rows, on_pre, los, his)
    for g in range(seg.shape[0] - 1):
        ok = True
        for r in range(seg[g], seg[g + 1]):
            if lower[r] > rhs[r] + tol * (1.0 + abs(rhs[r])) + tol * abs(lower[r]):
                ok = False
                break
        if ok:
            return True
    return False


# -- the walk ----------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _offsets(sizes: NDArray[np.int64]) -> NDArray[np.int64]:
    off = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    for i in range(sizes.shape[0]):
        off[i + 1] = off[i] + sizes[i]
    return off


@njit(cache=True, nogil=True)
def _pack2(items: TypedList[NDArray[np.float64]], d: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    n = len(items)
    sizes = np.empty(n, dtype=np.int64)
    for i in range(n):
        sizes[i] = items[i].shape[0]
    off = _offsets(sizes)
    out = np.empty((off[-1], d))
    for i in range(n):
        out[off[i]:off[i + 1]] = items[i]
    return out, off


@njit(cache=True, nogil=True)
def _pack1(items: TypedList[NDArray[_S]], dtype_example: NDArray[_S]) -> tuple[NDArray[_S], NDArray[np.int64]]:
    n = len(items)
    sizes = np.empty(n, dtype=np.int64)
    for i in range(n):
        sizes[i] = items[i].shape[0]
    off = _offsets(sizes)
    out = np.empty(off[-1], dtype=dtype_example.dtype)
    for i in range(n):
        out[off[i]:off[i + 1]] = items[i]
    return out, off



@njit(cache=True, nogil=True)
def _constrain(X: NDArray[np.float64], T: NDArray[np.uint64], dim: int, ncons: int, A: NDArray[np.float64],
               c: NDArray[np.float64], E: NDArray[np.float64], e: NDArray[np.float64], tA: NDArray[np.int64],
               tE: NDArray[np.int64], a: NDArray[np.float64], cc: float, code: int, mode: int, exact: bool, rel: float,
               band_rel: float, answers: Answers, qc: NDArray[np.int64], qbox: QuestionBox) -> Constrained:
    """Clip (``a·u + cc <= 0``) or slice (``= 0``) a vertex region, recording the row and its
    cut code (``code``, in ``tA`` or ``tE``).

    Returns ``(alive, X, T, dim, ncons, A, c, E, e, tA, tE)``; a clip that removes nothing records
    no row, an empty result is ``alive = False`` (as is a question asked: see ``qbox``)."""
    cls, s = _sides(X, T, a, cc, band_rel, exact, A, c, E, e, answers, qc, qbox)
    if len(qbox):
        return False, X, T, dim, ncons, A, c, E, e, tA, tE
    has_neg = False
    has_pos = False
    has_zero = False
    for v in range(cls.shape[0]):
        if cls[v] < 0:
            has_neg = True
        elif cls[v] > 0:
            has_pos = True
        else:
            has_zero = True
    if mode == CUT_CLIP:
        if not has_pos:
            return True, X, T, dim, ncons, A, c, E, e, tA, tE
        if not (has_neg or has_zero):
            return False, X, T, dim, ncons, A, c, E, e, tA, tE
        Xa, Ta, _, _, n_new = _cut_cls(X, T, cls, s, dim, ncons, CUT_CLIP)
        if n_new == 0:  # no vertex strictly inside: only a face survives
            dim = _affine_rank(Xa, rel, answers, qc, qbox)
        A, c = _append_row(A, c, a, cc)
        return Xa.shape[0] > 0, Xa, Ta, dim, ncons + 1, A, c, E, e, _append_cut(tA, code), tE
    # slice
    if not (has_neg or has_zero) or not (has_pos or has_zero):
        return False, X, T, dim, ncons, A, c, E, e, tA, tE
    E, e = _append_row(E, e, a, cc)
    tE = _append_cut(tE, code)
    if not has_neg and not has_pos:  # already on the hyperplane
        return True, X, T, dim, ncons, A, c, E, e, tA, tE
    Xa, Ta, _, _, n_new = _cut_cls(X, T, cls, s, dim, ncons, CUT_SLICE)
    dim = dim - 1 if n_new > 0 else _affine_rank(Xa, rel, answers, qc, qbox)
    return Xa.shape[0] > 0, Xa, Ta, dim, ncons, A, c, E, e, tA, tE


@njit(cache=True, nogil=True)
def _lp_feasible(X: NDArray[np.float64], A: NDArray[np.float64], c: NDArray[np.float64], Ai: NDArray[np.float64],
                 ci: NDArray[np.float64], E: NDArray[np.float64], e: NDArray[np.float64], answers: Answers,
                 qc: NDArray[np.int64], qbox: QuestionBox, cnt: NDArray[np.int64]) -> tuple[bool, NDArray[np.float64]]:
    """LP region: a point of the region cut by ``Ai u + ci <= 0``, ``E u + e = 0`` (asked)."""
    d = X.shape[1]
    found, ints, floats = _answer(answers, qc)
    if not found:
        _ask(qbox, Q_LP_FEASIBLE, E, _no_u(1), np.zeros(0, np.int64), e, A, c, Ai, ci, np.zeros(0, np.int8))
        return False, X
    cnt[4] += ints[1]
    if ints[0] == 0:
        return False, X
    return True, floats[:d].copy().reshape((1, d))


# -- the pieces of a node, committed when the node is complete -------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _emit(O: PieceLists, pat: NDArray[np.int8], tA: NDArray[np.int64], tE: NDArray[np.int64], dim: int,
          g: int) -> None:
    """A piece: its pattern, the cut codes of its rows (inequalities, then equalities) and
    ``(dim, disjunct)`` — what cannot be recomputed (see :mod:`preimage.engine.rebuild`)."""
    cuts = np.empty(tA.shape[0] + tE.shape[0], dtype=np.int64)
    cuts[: tA.shape[0]] = tA
    cuts[tA.shape[0]:] = tE
    O[0].append(pat)
    O[1].append(cuts)
    O[2].append(np.array([dim, g], dtype=np.int64))


@njit(cache=True, nogil=True, inline="always")
def _push(S: StackLists, X: NDArray[np.float64], T: NDArray[np.uint64], l: int, dec: NDArray[np.int8],
          pat: NDArray[np.int8], Z: NDArray[np.float64], z0: NDArray[np.float64], A: NDArray[np.float64],
          c: NDArray[np.float64], n: int, tA: NDArray[np.int64]) -> None:
    S[0].append(X)
    S[1].append(T)
    S[2].append(l)
    S[3].append(dec)
    S[4].append(pat)
    S[5].append(Z)
    S[6].append(z0)
    S[7].append(A)
    S[8].append(c)
    S[9].append(n)
    S[10].append(tA)


@njit(cache=True, nogil=True)
def _cut_back(lst: TypedList[Any], n: int) -> None:
    while len(lst) > n:
        lst.pop()


@njit(cache=True, nogil=True)
def _truncate_stack(S: StackLists, n: int) -> None:
    _cut_back(S[0], n)
    _cut_back(S[1], n)
    _cut_back(S[2], n)
    _cut_back(S[3], n)
    _cut_back(S[4], n)
    _cut_back(S[5], n)
    _cut_back(S[6], n)
    _cut_back(S[7], n)
    _cut_back(S[8], n)
    _cut_back(S[9], n)
    _cut_back(S[10], n)


@njit(cache=True, nogil=True)
def _truncate_out(O: PieceLists, n: int) -> None:
    _cut_back(O[0], n)
    _cut_back(O[1], n)
    _cut_back(O[2], n)


# -- the steps of a node ------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _force_activity(kind: int, lay: Layer, l: int, target: Target, opts: Opts, X: NDArray[np.float64],
                    T: NDArray[np.uint64], A: NDArray[np.float64], c: NDArray[np.float64], tA: NDArray[np.int64],
                    ncons: int, Z: NDArray[np.float64], z0: NDArray[np.float64], pat: NDArray[np.int8], O: PieceLists,
                    answers: Answers, qc: NDArray[np.int64], qbox: QuestionBox, cnt: NDArray[np.int64]) -> None:
    """The activity target: each unit clipped/sliced to its preimage interval, the branches forced."""
    f_lo, f_hi, f_branch = target[1], target[2], target[3]
    rel, band = opts[1], opts[2]
    d = X.shape[1]
    E = np.zeros((0, d))
    e = np.zeros(0)
    tE = np.zeros(0, dtype=np.int64)
    alive = True
    dim = d
    if kind == VERTEX_REGIONS:
        for pass_eq in range(2):  # the clips first, then the equalities
            for u in range(Z.shape[0]):
                eq = f_lo[u] == f_hi[u]
                if eq != (pass_eq == 1):
                    continue
                if eq:
                    alive, X, T, dim, ncons, A, c, E, e, tA, tE = _constrain(
                        X, T, dim, ncons, A, c, E, e, tA, tE, Z[u].copy(), z0[u] - f_lo[u], cut_code(l, ROW_EQ, u, 0),
                        CUT_SLICE, False, rel, band, answers, qc, qbox)
                else:
                    if np.isfinite(f_hi[u]) and alive:
                        alive, X, T, dim, ncons, A, c, E, e, tA, tE = _constrain(
                            X, T, dim, ncons, A, c, E, e, tA, tE, Z[u].copy(), z0[u] - f_hi[u],
                            cut_code(l, ROW_HI, u, 0), CUT_CLIP, True, rel, band, answers, qc, qbox)
                    if np.isfinite(f_lo[u]) and alive:
                        alive, X, T, dim, ncons, A, c, E, e, tA, tE = _constrain(
                            X, T, dim, ncons, A, c, E, e, tA, tE, -Z[u], f_lo[u] - z0[u], cut_code(l, ROW_LO, u, 0),
                            CUT_CLIP, True, rel, band, answers, qc, qbox)
                if not alive:
                    break
            if not alive:
                break
    else:
        n_in = 0
        n_eq = 0
        for u in range(Z.shape[0]):
            if f_lo[u] == f_hi[u]:
                n_eq += 1
            else:
                n_in += int(np.isfinite(f_hi[u])) + int(np.isfinite(f_lo[u]))
        Ai = np.empty((n_in, d))
        ci = np.empty(n_in)
        ti = np.empty(n_in, dtype=np.int64)
        E = np.empty((n_eq, d))
        e = np.empty(n_eq)
        tE = np.empty(n_eq, dtype=np.int64)
        i = 0
        k = 0
        for u in range(Z.shape[0]):
            if f_lo[u] == f_hi[u]:
                E[k] = Z[u]
                e[k] = z0[u] - f_lo[u]
                tE[k] = cut_code(l, ROW_EQ, u, 0)
                k += 1
            else:
                if np.isfinite(f_hi[u]):
                    Ai[i] = Z[u]
                    ci[i] = z0[u] - f_hi[u]
                    ti[i] = cut_code(l, ROW_HI, u, 0)
                    i += 1
                if np.isfinite(f_lo[u]):
                    Ai[i] = -Z[u]
                    ci[i] = f_lo[u] - z0[u]
                    ti[i] = cut_code(l, ROW_LO, u, 0)
                    i += 1
        alive, X = _lp_feasible(X, A, c, Ai, ci, E, e, answers, qc, qbox, cnt)
        if alive:
            A = np.vstack((A, Ai))
            c = np.concatenate((c, ci))
            tA = np.concatenate((tA, ti))
            dim = -1
    if len(qbox):
        return
    if not alive:
        cnt[3] += 1
        return
    newpat = np.empty(pat.shape[0] + f_branch.shape[0], dtype=np.int8)
    newpat[: pat.shape[0]] = pat
    newpat[pat.shape[0]:] = f_branch
    _emit(O, newpat, tA, tE, dim, 0)


@njit(cache=True, nogil=True)
def _disjuncts(kind: int, l: int, target: Target, opts: Opts, X: NDArray[np.float64], T: NDArray[np.uint64],
               A: NDArray[np.float64], c: NDArray[np.float64], tA: NDArray[np.int64], ncons: int,
               H: NDArray[np.float64], h: NDArray[np.float64], pat: NDArray[np.int8], O: PieceLists, answers: Answers,
               qc: NDArray[np.int64], qbox: QuestionBox, cnt: NDArray[np.int64]) -> None:
    """The decided region at the target layer, cut by each disjunct of a polyhedral target."""
    P_A, P_b, P_aoff, P_C, P_d, P_coff = target[4], target[5], target[6], target[7], target[8], target[9]
    rel, band = opts[1], opts[2]
    d = X.shape[1]
    for g in range(P_aoff.shape[0] - 1):
        Xg, Tg, Ag, cg, tAg = X, T, A, c, tA
        Eg = np.zeros((0, d))
        eg = np.zeros(0)
        tEg = np.zeros(0, dtype=np.int64)
        ng = ncons
        dim = d
        alive = True
        if kind == VERTEX_REGIONS:
            for r in range(P_aoff[g], P_aoff[g + 1]):
                alive, Xg, Tg, dim, ng, Ag, cg, Eg, eg, tAg, tEg = _constrain(
                    Xg, Tg, dim, ng, Ag, cg, Eg, eg, tAg, tEg, _row_map(P_A[r], H), _dot(P_A[r], h) - P_b[r],
                    cut_code(l, ROW_TARGET_INEQ, r, 0), CUT_CLIP, True, rel, band, answers, qc, qbox)
                if not alive:
                    break
            if alive:
                for r in range(P_coff[g], P_coff[g + 1]):
                    alive, Xg, Tg, dim, ng, Ag, cg, Eg, eg, tAg, tEg = _constrain(
                        Xg, Tg, dim, ng, Ag, cg, Eg, eg, tAg, tEg, _row_map(P_C[r], H), _dot(P_C[r], h) - P_d[r],
                        cut_code(l, ROW_TARGET_EQ, r, 0), CUT_SLICE, False, rel, band, answers, qc, qbox)
                    if not alive:
                        break
        else:
            k_in = P_aoff[g + 1] - P_aoff[g]
            k_eq = P_coff[g + 1] - P_coff[g]
            Ai = np.empty((k_in, d))
            ci = np.empty(k_in)
            ti = np.empty(k_in, dtype=np.int64)
            Eg = np.empty((k_eq, d))
            eg = np.empty(k_eq)
            tEg = np.empty(k_eq, dtype=np.int64)
            for r in range(k_in):
                Ai[r] = _row_map(P_A[P_aoff[g] + r], H)
                ci[r] = _dot(P_A[P_aoff[g] + r], h) - P_b[P_aoff[g] + r]
                ti[r] = cut_code(l, ROW_TARGET_INEQ, P_aoff[g] + r, 0)
            for r in range(k_eq):
                Eg[r] = _row_map(P_C[P_coff[g] + r], H)
                eg[r] = _dot(P_C[P_coff[g] + r], h) - P_d[P_coff[g] + r]
                tEg[r] = cut_code(l, ROW_TARGET_EQ, P_coff[g] + r, 0)
            alive, Xg = _lp_feasible(X, A, c, Ai, ci, Eg, eg, answers, qc, qbox, cnt)
            if alive:
                Ag = np.vstack((A, Ai))
                cg = np.concatenate((c, ci))
                tAg = np.concatenate((tA, ti))
                dim = -1
        if len(qbox):
            return
        if alive:
            _emit(O, pat, tAg, tEg, dim, g)


@njit(cache=True, nogil=True, inline="always")
def _classify_layer(kind: int, lay: Layer, opts: Opts, X: NDArray[np.float64], T: NDArray[np.uint64],
                    A: NDArray[np.float64], c: NDArray[np.float64], F: NDArray[np.float64], f0: NDArray[np.float64],
                    dec: NDArray[np.int8], answers: Answers, qc: NDArray[np.int64], qbox: QuestionBox,
                    cnt: NDArray[np.int64], empty: Empty) -> LayerDecision:
    """Fix the layer's decisions that are constant on the region; return the first that is
    not, ``(j, eps, s, amb, cls, x_neg, x_pos, cand)`` (``j = -1``: all fixed; ``cand``: for a
    max unit, the window entries that can still be the largest, to branch on)."""
    rel = opts[1]
    d = X.shape[1]
    j = -1
    eps = 0.0
    no_c, cls, cand, no_rows = empty  # shared empty arrays (no allocation per node)
    s = no_c
    amb = False
    x_neg = no_c
    x_pos = no_c
    while True:
        if kind == VERTEX_REGIONS:
            while True:
                j, eps, fixed, s, amb = _classify(X, F, f0, dec, rel)
                cnt[2] += fixed
                if j < 0 or not amb:
                    break
                # a vertex in the ambiguity band: its side is settled exactly (rare path)
                cls, _ = _sides(X, T, F[j].copy(), f0[j], rel, True, A, c, no_rows, no_c, answers, qc, qbox)
                if len(qbox):
                    return j, eps, s, amb, cls, x_neg, x_pos, cand
                has_neg = False
                has_pos = False
                for v in range(cls.shape[0]):
                    if cls[v] < 0:
                        has_neg = True
                    elif cls[v] > 0:
                        has_pos = True
                if has_neg and has_pos:
                    break
                dec[j] = 1 if has_pos else 0
                cnt[2] += 1
        else:
            found, ints, floats = _answer(answers, qc)
            if not found:
                _ask(qbox, Q_LP_CLASSIFY, no_rows, _no_u(1), np.zeros(0, np.int64), X[0].copy(), A, c, F, f0, dec)
                return j, eps, s, amb, cls, x_neg, x_pos, cand
            j = ints[0]
            cnt[4] += ints[1]
            cnt[2] += ints[2]
            dec[:] = ints[3:].astype(np.int8)
            if j >= 0:
                x_neg = floats[:d].copy()
                x_pos = floats[d:2 * d].copy()
        if j < 0 or lay[7][lay[5][j]] != MAX:
            return j, eps, s, amb, cls, x_neg, x_pos, cand
        # a max unit: branch on the entries that can still be its largest (a k-way branch);
        # when only one can, its other comparisons do not matter here
        cand = _candidates(lay, dec, j)
        if cand.shape[0] >= 2:
            return j, eps, s, amb, cls, x_neg, x_pos, cand
        _settle_max(lay, dec, j, -1)


@njit(cache=True, nogil=True)
def _branch_kway(kind: int, lay: Layer, opts: Opts, hint: NDArray[np.float64], X: NDArray[np.float64],
                 T: NDArray[np.uint64], l: int, dec: NDArray[np.int8], pat: NDArray[np.int8], Z: NDArray[np.float64],
                 z0: NDArray[np.float64], A: NDArray[np.float64], c: NDArray[np.float64], tA: NDArray[np.int64],
                 ncons: int, j: int, cand: NDArray[np.int64], S: StackLists, answers: Answers, qc: NDArray[np.int64],
                 qbox: QuestionBox, cnt: NDArray[np.int64]) -> None:
    """One child per candidate entry ``c`` of a max unit: the region where ``z_c`` is the largest
    (a tie of measure zero is left to its neighbours); the hint's own largest is explored first."""
    rel, band = opts[1], opts[2]
    d = X.shape[1]
    u = lay[5][j]
    srcs = lay[8][lay[6][u]:lay[6][u + 1]]
    order = cand.copy()
    if hint.shape[0] == d:
        best = -np.inf
        at = 0
        for i in range(cand.shape[0]):
            val = z0[srcs[cand[i]]] + _dot(Z[srcs[cand[i]]], hint)
            if val > best:
                best = val
                at = i
        order[at], order[0] = cand[0], cand[at]
    for ii in range(order.shape[0] - 1, -1, -1):
        cw = order[ii]
        Xc, Tc, Ac, cc_, tc, nc = X, T, A, c, tA, ncons
        Ec = np.zeros((0, d))
        ec = np.zeros(0)
        tEc = np.zeros(0, dtype=np.int64)
        dim = d
        alive = True
        if kind == VERTEX_REGIONS:
            for i in range(cand.shape[0]):
                if cand[i] == cw:
                    continue
                alive, Xc, Tc, dim, nc, Ac, cc_, Ec, ec, tc, tEc = _constrain(
                    Xc, Tc, dim, nc, Ac, cc_, Ec, ec, tc, tEc, Z[srcs[cand[i]]] - Z[srcs[cw]],
                    z0[srcs[cand[i]]] - z0[srcs[cw]], cut_code(l, ROW_PAIR, srcs[cand[i]], srcs[cw]), CUT_CLIP, True,
                    rel, band, answers, qc, qbox)
                if not alive:
                    break
            alive = alive and dim == d  # a tie of measure zero is covered by its neighbours
        else:
            Ai = np.empty((cand.shape[0] - 1, d))
            ci = np.empty(cand.shape[0] - 1)
            ti = np.empty(cand.shape[0] - 1, dtype=np.int64)
            r = 0
            for i in range(cand.shape[0]):
                if cand[i] != cw:
                    Ai[r] = Z[srcs[cand[i]]] - Z[srcs[cw]]
                    ci[r] = z0[srcs[cand[i]]] - z0[srcs[cw]]
                    ti[r] = cut_code(l, ROW_PAIR, srcs[cand[i]], srcs[cw])
                    r += 1
            alive, Xc = _lp_feasible(X, A, c, Ai, ci, np.zeros((0, d)), np.zeros(0), answers, qc, qbox, cnt)
            if alive:
                Ac = np.vstack((A, Ai))
                cc_ = np.concatenate((c, ci))
                tc = np.concatenate((tA, ti))
                nc = ncons + Ai.shape[0]
        if len(qbox):
            return
        if not alive:
            continue
        dc = dec.copy()
        _settle_max(lay, dc, j, cw)
        _push(S, Xc, Tc, l, dc, pat, Z, z0, Ac, cc_, nc, tc)


@njit(cache=True, nogil=True, inline="always")
def _split(kind: int, hint: NDArray[np.float64], X: NDArray[np.float64], T: NDArray[np.uint64], l: int,
           dec: NDArray[np.int8], pat: NDArray[np.int8], Z: NDArray[np.float64], z0: NDArray[np.float64],
           A: NDArray[np.float64], c: NDArray[np.float64], tA: NDArray[np.int64], ncons: int, F: NDArray[np.float64],
           f0: NDArray[np.float64], j: int, eps: float, s: NDArray[np.float64], amb: bool, cls: NDArray[np.int8],
           x_neg: NDArray[np.float64], x_pos: NDArray[np.float64], S: StackLists) -> None:
    """Split by decision ``j``'s hyperplane into ``f_j <= 0`` and ``f_j >= 0`` (both non-empty);
    the side of the hint is explored first, else the positive side."""
    d = X.shape[1]
    if kind == VERTEX_REGIONS:
        if amb:
            Xa, Ta, Xb, Tb, _ = _cut_cls(X, T, cls, s, d, ncons, CUT_SPLIT)
        else:
            Xa, Ta, Xb, Tb, _ = _cut(X, T, s, eps, d, ncons, CUT_SPLIT)
    else:
        Xa = x_neg.reshape((1, d))
        Xb = x_pos.reshape((1, d))
        Ta = T
        Tb = T
    An, cn = _append_row(A, c, F[j], f0[j])
    Ap, cp = _append_row(A, c, -F[j], -f0[j])
    tn = _append_cut(tA, cut_code(l, ROW_DEC_NEG, j, 0))
    tp = _append_cut(tA, cut_code(l, ROW_DEC_POS, j, 0))
    dn = dec.copy()
    dn[j] = 0
    dp = dec.copy()
    dp[j] = 1
    neg_first = hint.shape[0] == d and f0[j] + _dot(F[j], hint) <= 0.0
    if neg_first:
        _push(S, Xb, Tb, l, dp, pat, Z, z0, Ap, cp, ncons + 1, tp)
        _push(S, Xa, Ta, l, dn, pat, Z, z0, An, cn, ncons + 1, tn)
    else:
        _push(S, Xa, Ta, l, dn, pat, Z, z0, An, cn, ncons + 1, tn)
        _push(S, Xb, Tb, l, dp, pat, Z, z0, Ap, cp, ncons + 1, tp)


@njit(cache=True, nogil=True, inline="always")
def _forward(nxt: Layer, H: NDArray[np.float64],
             h: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The next layer's pre-activation map ``W (H u + h) + b`` (units that pass nothing skipped)."""
    W, b = nxt[0], nxt[1]
    m = W.shape[0]
    n, d = H.shape
    Z2 = np.zeros((m, d))
    z2 = b.copy()
    for k2 in range(n):
        nz = h[k2] != 0.0
        if not nz:
            for q in range(d):
                if H[k2, q] != 0.0:
                    nz = True
                    break
        if not nz:
            continue
        for i in range(m):
            w = W[i, k2]
            z2[i] += w * h[k2]
            for q in range(d):
                Z2[i, q] += w * H[k2, q]
    return Z2, z2


@njit(cache=True, nogil=True, inline="always")
def _node(kind: int, layers: Layers, dom: Dom, target: Target, opts: Opts, X: NDArray[np.float64],
          T: NDArray[np.uint64], l: int, dec: NDArray[np.int8], pat: NDArray[np.int8], Z: NDArray[np.float64],
          z0: NDArray[np.float64], A: NDArray[np.float64], c: NDArray[np.float64], tA: NDArray[np.int64], ncons: int,
          S: StackLists, O: PieceLists, answers: Answers, qc: NDArray[np.int64], qbox: QuestionBox,
          cnt: NDArray[np.int64], empty: Empty, lays: TypedList[Layer]) -> None:
    """Advance one node through its layers until it splits, is pruned or ends as pieces
    (children go to ``S``, pieces to ``O``; a question to ``qbox``). ``lays``: each layer's
    view of ``layers`` (made once per call of the walk)."""
    blo, bhi, hint = dom[2], dom[3], dom[4]
    tkind, f_lo, f_hi = target[0], target[1], target[2]
    rows, rhs, seg, on_pre = target[10], target[11], target[12], target[13]
    prune, tol = opts[0], opts[3]
    d = X.shape[1]
    L = n_layers(layers)
    while True:
        lay = lays[l]
        is_target = l == L - 1
        if is_target and tkind == T_FORCE:
            _force_activity(kind, lay, l, target, opts, X, T, A, c, tA, ncons, Z, z0, pat, O, answers, qc, qbox, cnt)
            return
        if not lay[15]:
            # -- decide the layer's activation on the region
            F, f0 = _decision_map(lay, Z, z0)
            j, eps, s, amb, cls, x_neg, x_pos, cand = _classify_layer(kind, lay, opts, X, T, A, c, F, f0, dec,
                                                                      answers, qc, qbox, cnt, empty)
            if len(qbox):
                return
            if j >= 0:
                if prune and tkind != T_NONE and not is_target:
                    # a partly decided layer: check the target is still in reach first
                    ck = VERTICES if kind == VERTEX_REGIONS else BOX
                    lo = min_over(ck, X, blo, bhi, Z, z0)
                    hi = -min_over(ck, X, blo, bhi, -Z, -z0)
                    HL, hL, HU, hU = _partial_bounds(lay, dec, Z, z0, lo, hi)
                    if not _reachable(kind, X, blo, bhi, HL, hL, HU, hU, layers, l + 1, tkind, rows, rhs, seg,
                                      on_pre, f_lo, f_hi, tol):
                        cnt[3] += 1
                        return
                cnt[1] += 1
                if cand.shape[0] >= 2:
                    _branch_kway(kind, lay, opts, hint, X, T, l, dec, pat, Z, z0, A, c, tA, ncons, j, cand, S,
                                 answers, qc, qbox, cnt)
                else:
                    _split(kind, hint, X, T, l, dec, pat, Z, z0, A, c, tA, ncons, F, f0, j, eps, s, amb, cls, x_neg,
                           x_pos, S)
                return
            n_units = lay[6].shape[0] - 1
            branches = np.empty(n_units, dtype=np.int8)
            unit_branches(lay[6], lay[11], lay[12], lay[13], dec, branches)
            H, h = _branch_map(lay, branches, Z, z0)
            newpat = np.empty(pat.shape[0] + n_units, dtype=np.int8)
            newpat[: pat.shape[0]] = pat
            newpat[pat.shape[0]:] = branches
            pat = newpat
        else:
            H = Z
            h = z0
        if is_target:
            # -- the region is decided: emit it, cut by each target disjunct
            if tkind == T_NONE:
                _emit(O, pat, tA, np.zeros(0, dtype=np.int64), d if kind == VERTEX_REGIONS else -1, 0)
            else:
                _disjuncts(kind, l, target, opts, X, T, A, c, tA, ncons, H, h, pat, O, answers, qc, qbox, cnt)
            return
        if prune and tkind != T_NONE and not _reachable(kind, X, blo, bhi, H, h, H, h, layers, l + 1, tkind, rows,
                                                        rhs, seg, on_pre, f_lo, f_hi, tol):
            cnt[3] += 1
            return
        # -- push the map through the next affine layer
        nxt = lays[l + 1]
        Z, z0 = _forward(nxt, H, h)
        dec = np.full(nxt[2].shape[0] if not nxt[14] else Z.shape[0], -1, dtype=np.int8)
        l += 1


@njit(cache=True, nogil=True)
def walk(kind: int, layers: Layers, dom: Dom, target: Target, opts: Opts, stack: Stack, answers: Answers,
         max_nodes: int, max_out: int) -> tuple[NDArray[np.int64], Stack, Pieces, Question]:
    """Walk the stack (see the module docstring); returns ``(counters, stack, pieces, question)``.

    ``dom = (dom_A, dom_b, box_lo, box_hi, hint)``: the chart's facets, a box enclosing it
    (the LP region's concretiser) and a point whose side is explored first (empty: none).
    ``target = (tkind, f_lo, f_hi, f_branch, P_A, P_b, P_aoff, P_C, P_d, P_coff, rows, rhs,
    seg, on_pre)``. ``opts = (prune, rel, band, tol)``. ``answers = (ints, floats, int offsets,
    float offsets)``: the answers to the questions of the node on top of the stack, in order.
    ``stack`` and the pieces are flat arrays with offsets (see
    :class:`preimage.engine.search.Search`). ``counters = (nodes, splits, fixed, pruned, lps,
    asked, asked_by_first)``: a question (``question``, see the ``Q_*`` kinds) was asked when
    ``asked`` is 1; ``asked_by_first`` says it came from the first node of this call (whose
    answers were given).
    """
    (X_flat, X_off, T_flat, L_in, dec_flat, dec_off, pat_flat, pat_off, Z_flat, z0_flat, Z_off, A_flat, A_off,
     c_flat, N_in, t_flat) = stack
    d = X_flat.shape[1]
    words = T_flat.shape[1]
    S: StackLists = (List.empty_list(_F2), List.empty_list(_U2), List.empty_list(types.int64), List.empty_list(_I1),
                     List.empty_list(_I1), List.empty_list(_F2), List.empty_list(_F1), List.empty_list(_F2),
                     List.empty_list(_F1), List.empty_list(types.int64), List.empty_list(_L1))
    for i in range(L_in.shape[0]):
        _push(S, X_flat[X_off[i]:X_off[i + 1]].copy(), T_flat[X_off[i]:X_off[i + 1]].copy(), L_in[i],
              dec_flat[dec_off[i]:dec_off[i + 1]].copy(), pat_flat[pat_off[i]:pat_off[i + 1]].copy(),
              Z_flat[Z_off[i]:Z_off[i + 1]].copy(), z0_flat[Z_off[i]:Z_off[i + 1]].copy(),
              A_flat[A_off[i]:A_off[i + 1]].copy(), c_flat[A_off[i]:A_off[i + 1]].copy(), N_in[i],
              t_flat[A_off[i]:A_off[i + 1]].copy())
    O: PieceLists = (List.empty_list(_I1), List.empty_list(_L1), List.empty_list(_L1))
    qbox: QuestionBox = List.empty_list(_QUESTION)
    no_answers = (answers[0][:0], answers[1][:0], answers[2][:1], answers[3][:1])
    totals = np.zeros(7, dtype=np.int64)
    cnt = np.zeros(5, dtype=np.int64)
    qc = np.zeros(1, dtype=np.int64)
    empty = (np.zeros(0), np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int64), np.zeros((0, d)))
    lays = List()
    for i in range(n_layers(layers)):
        lays.append(layer(layers, i))
    first = True
    while len(S[0]) > 0 and totals[0] < max_nodes and len(O[0]) < max_out:
        X = S[0].pop()
        T = S[1].pop()
        l = S[2].pop()
        dec = S[3].pop()
        pat = S[4].pop()
        Z = S[5].pop()
        z0 = S[6].pop()
        A = S[7].pop()
        c = S[8].pop()
        ncons = S[9].pop()
        tA = S[10].pop()
        n_stack = len(S[0])
        n_out = len(O[0])
        cnt[:] = 0
        qc[0] = 0
        _node(kind, layers, dom, target, opts, X, T, l, dec.copy(), pat, Z, z0, A, c, tA, ncons, S, O,
              answers if first else no_answers, qc, qbox, cnt, empty, lays)
        if len(qbox):  # a question: the node goes back unchanged, with nothing it produced
            _truncate_stack(S, n_stack)
            _truncate_out(O, n_out)
            _push(S, X, T, l, dec, pat, Z, z0, A, c, ncons, tA)
            totals[5] = 1
            totals[6] = 1 if first else 0
            break
        cnt[0] = 1
        totals[:5] += cnt
        first = False
    i8 = np.zeros(0, dtype=np.int8)
    no_c = np.zeros(0)
    rX, rX_off = _pack2(S[0], d)
    rT = np.empty((rX_off[-1], words), dtype=np.uint64)
    for i in range(len(S[1])):
        rT[rX_off[i]:rX_off[i + 1]] = S[1][i]
    ns = len(S[2])
    rL = np.empty(ns, dtype=np.int64)
    rN = np.empty(ns, dtype=np.int64)
    for i in range(ns):
        rL[i] = S[2][i]
        rN[i] = S[9][i]
    rdec, rdec_off = _pack1(S[3], i8)
    rpat, rpat_off = _pack1(S[4], i8)
    rZ, rZ_off = _pack2(S[5], d)
    rz0, _ = _pack1(S[6], no_c)
    rA, rA_off = _pack2(S[7], d)
    rc, _ = _pack1(S[8], no_c)
    i64 = np.zeros(0, dtype=np.int64)
    rt, _ = _pack1(S[10], i64)
    rest = (rX, rX_off, rT, rL, rdec, rdec_off, rpat, rpat_off, rZ, rz0, rZ_off, rA, rA_off, rc, rN, rt)
    pPat, pPat_off = _pack1(O[0], i8)
    pCut, pCut_off = _pack1(O[1], i64)
    meta = np.empty((len(O[2]), 2), dtype=np.int64)
    for i in range(len(O[2])):
        meta[i] = O[2][i]
    pieces = (pPat, pPat_off, pCut, pCut_off, meta)
    if len(qbox):
        question = qbox[0]
    else:
        question = (0, np.zeros((0, d)), _no_u(words), np.zeros(0, np.int64), np.zeros(0), np.zeros((0, d)),
                    np.zeros(0), np.zeros((0, d)), np.zeros(0), np.zeros(0, np.int8))
    return totals, rest, pieces, question
