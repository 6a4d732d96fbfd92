"""The search, written once: a depth-first walk over regions on which the activation
pattern is fixed, compiled with numba for both region representations.

A node is a region of the domain's chart (coordinates ``u``) on which layers ``1..l-1``
are on fixed branches, so the pre-activation of layer ``l`` is affine there:
``z_l = Z u + z0``. At a node:

1. the *decisions* of layer ``l``'s activation (affine functions of ``z``, see
   :mod:`preimage.activations.base`; for a ReLU the pre-activations themselves) whose sign
   is constant over the region are fixed (the region operation ``classify``);
2. the first decision that changes sign splits the region in two by its hyperplane (both
   children non-empty; ``split``); each child records the decision and the cutting row;
3. when every decision of layer ``l`` is fixed, its units' branches give the layer's output
   ``h_l = H u + h`` and the map is pushed through the next affine layer; bounds on later
   layers (:mod:`preimage.engine.bounds`) drop regions that provably cannot reach the target;
4. at the target layer the target is applied exactly (an activity forces the branches and
   ``clip``s / ``slice``s the region to the activity's preimage interval of every unit; a
   polyhedron clips and slices it) and what is left is a piece.

The region operations have two implementations, chosen by ``kind``:

* ``VERTICES`` — the region's vertices and their tight constraints (:mod:`~.vpoly`, compiled):
  signs are read at the vertices, cuts follow the crossing edges; a vertex in the ambiguity
  band is settled in exact arithmetic (:mod:`~.exact`, in object mode: rare);
* ``LP`` — the H-representation in one warm-started HiGHS model that follows the walk
  (:mod:`~.region_lp`, called in object mode: each call is an LP anyway).

The walk explores a stack given as flat arrays (:func:`walk`) and returns what is left of it
after ``max_nodes`` nodes or ``max_out`` pieces, so the driver (:mod:`~.search`) can stop,
report progress and checkpoint between calls.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit, objmode
from numba.core.errors import NumbaWarning
from numba.typed import List

from ..activations.base import DONT_CARE, MAX, relax_units, unit_branches
from .bounds import BOX, VERTICES, backward_rows, forward_bounds, layer, min_over, n_layers
from .vpoly import CUT_CLIP, CUT_SLICE, CUT_SPLIT, _classify, _cut, _cut_cls, affine_rank

__all__ = ["walk", "VERTEX_REGIONS", "LP_REGIONS", "T_NONE", "T_FORCE", "T_POLY"]

# the walk holds the GIL again only in object mode; say so once, here
warnings.filterwarnings("ignore", message="Code running in object mode won't allow parallel execution",
                        category=NumbaWarning)

#: region representations
VERTEX_REGIONS = 0
LP_REGIONS = 1
#: target kinds: none (regions), an activity forced unit by unit, a union of polyhedra
T_NONE = 0
T_FORCE = 1
T_POLY = 2


# -- object-mode helpers (the rare exact path, and the LP region) ------------------------------------------------
def _exact(X, T, idx, a, c, dom_A, dom_b, A, cc, E, e):
    from .exact import ExactRows, exact_classes

    return exact_classes(X, T, idx, a, c, ExactRows(dom_A, dom_b, A, cc, E, e)).astype(np.int8)


def _lp(ctx):
    from .region_lp import region

    return region(ctx)


@njit(cache=True, nogil=True)
def _lp_sync(ctx, A, c):
    with objmode():
        _lp(ctx).sync(A, c)


@njit(cache=True, nogil=True)
def _lp_feasible(ctx, A, c, E, e):
    with objmode(alive="boolean", x="float64[::1]", n_lp="int64"):
        alive, x, n_lp = _lp(ctx).feasible(A, c, E, e)
    return alive, x, n_lp


@njit(cache=True, nogil=True)
def _lp_classify(ctx, x, F, f0, dec):
    with objmode(j="int64", x_neg="float64[::1]", x_pos="float64[::1]", n_lp="int64", fixed="int64"):
        j, x_neg, x_pos, n_lp, fixed = _lp(ctx).classify(x, F, f0, dec)
    return j, x_neg, x_pos, n_lp, fixed


@njit(cache=True, nogil=True)
def _exact_sides(X, T, idx, a, c, dom_A, dom_b, A, cc, E, e):
    with objmode(res="int8[:]"):
        res = _exact(X, T, idx, a, c, dom_A, dom_b, A, cc, E, e)
    return res


# -- vertex region: sides of the vertices --------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _sides(X, T, a, c, band_rel, exact, dom_A, dom_b, A, cc, E, e):
    """Side (-1, 0, 1) of every vertex w.r.t. ``a·u + c = 0``, settled exactly in the band
    (``exact``) or, for a target's equality (float data), counted as on it; with the signed
    distances. See :func:`preimage.engine.exact.classes`."""
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
        res = _exact_sides(X, T, idx, a, c, dom_A, dom_b, A, cc, E, e)
        for k in range(n_amb):
            cls[idx[k]] = res[k]
    return cls, s


@njit(cache=True, nogil=True)
def _affine_rank(X, tol):
    """Dimension of the affine hull of the vertices (rare path, in object mode: numba's own
    SVD would load LAPACK through scipy at every start)."""
    with objmode(r="int64"):
        r = affine_rank(X, tol)
    return r


@njit(cache=True, nogil=True)
def _row_map(a, H):
    """``a · H`` (a row through a map), written out: numba's ``@`` would load BLAS through scipy."""
    out = np.zeros(H.shape[1])
    for i in range(H.shape[0]):
        if a[i] != 0.0:
            for q in range(H.shape[1]):
                out[q] += a[i] * H[i, q]
    return out


@njit(cache=True, nogil=True)
def _dot(a, b):
    t = 0.0
    for i in range(a.shape[0]):
        t += a[i] * b[i]
    return t


@njit(cache=True, nogil=True)
def _append_row(A, c, a, cc):
    k, d = A.shape
    A2 = np.empty((k + 1, d))
    c2 = np.empty(k + 1)
    A2[:k] = A
    c2[:k] = c
    A2[k] = a
    c2[k] = cc
    return A2, c2


@njit(cache=True, nogil=True)
def _constrain(X, T, dim, ncons, A, c, E, e, a, cc, mode, exact, rel, band_rel, dom_A, dom_b):
    """Clip (``a·u + cc <= 0``) or slice (``= 0``) a vertex region, recording the row.

    Returns ``(alive, X, T, dim, ncons, A, c, E, e)``; a clip that removes nothing records no
    row, an empty result is ``alive = False``."""
    cls, s = _sides(X, T, a, cc, band_rel, exact, dom_A, dom_b, A, c, E, e)
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
            return True, X, T, dim, ncons, A, c, E, e
        if not (has_neg or has_zero):
            return False, X, T, dim, ncons, A, c, E, e
        Xa, Ta, _, _, n_new = _cut_cls(X, T, cls, s, dim, ncons, CUT_CLIP)
        if n_new == 0:  # no vertex strictly inside: only a face survives
            dim = _affine_rank(Xa, rel)
        A, c = _append_row(A, c, a, cc)
        return Xa.shape[0] > 0, Xa, Ta, dim, ncons + 1, A, c, E, e
    # slice
    if not (has_neg or has_zero) or not (has_pos or has_zero):
        return False, X, T, dim, ncons, A, c, E, e
    E, e = _append_row(E, e, a, cc)
    if not has_neg and not has_pos:  # already on the hyperplane
        return True, X, T, dim, ncons, A, c, E, e
    Xa, Ta, _, _, n_new = _cut_cls(X, T, cls, s, dim, ncons, CUT_SLICE)
    dim = dim - 1 if n_new > 0 else _affine_rank(Xa, rel)
    return Xa.shape[0] > 0, Xa, Ta, dim, ncons, A, c, E, e


# -- the activation of a layer on a region ----------------------------------------------------------------
@njit(cache=True, nogil=True)
def _decision_map(lay, Z, z0):
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


@njit(cache=True, nogil=True)
def _branch_map(lay, branches, Z, z0):
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
def _partial_bounds(lay, dec, Z, z0, lo, hi):
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
    one = np.empty(1, dtype=np.int64)
    for u in range(n_units):
        if not decided[u]:
            continue
        # the unit's own branch: the first whose requirements hold
        for r in range(unit_off[u], unit_off[u + 1]):
            good = True
            for i in range(req_off[r], req_off[r + 1]):
                v = dec[req_dec[i]]
                if v != req_val[i] and v != DONT_CARE:
                    good = False
                    break
            if good:
                src_l[u] = lay[8][r]
                src_u[u] = lay[8][r]
                a_l[u] = lay[9][r]
                a_u[u] = lay[9][r]
                c_l[u] = lay[10][r]
                c_u[u] = lay[10][r]
                break
    one[0] = 0
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
def _unit_decisions(lay, j):
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
def _position(srcs, z):
    for i in range(srcs.shape[0]):
        if srcs[i] == z:
            return i
    return -1


@njit(cache=True, nogil=True)
def _candidates(lay, dec, j):
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
def _settle_max(lay, dec, j, winner):
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
def _reachable(kind, X, blo, bhi, HL, hL, HU, hU, layers, start, tkind, rows, rhs, seg, on_pre, f_lo, f_hi, tol):
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
def _offsets(sizes):
    off = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    for i in range(sizes.shape[0]):
        off[i + 1] = off[i] + sizes[i]
    return off


@njit(cache=True, nogil=True)
def _pack2(items, d):
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
def _pack1(items, dtype_example):
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
def walk(kind, ctx, layers, dom, target, opts, stack, max_nodes, max_out):
    """Walk the stack (see the module docstring); returns ``(counters, stack, pieces)``.

    ``dom = (dom_A, dom_b, box_lo, box_hi, hint)``: the chart's facets (for exact settling),
    a box enclosing it (the LP region's concretiser) and a point whose side is explored first
    (empty: none). ``target = (tkind, f_lo, f_hi, f_branch, P_A, P_b, P_aoff, P_C, P_d, P_coff,
    rows, rhs, seg, on_pre)``. ``opts = (prune, rel, band, tol)``. ``stack`` and the pieces are
    flat arrays with offsets (see :class:`preimage.engine.search.Search`).
    """
    dom_A, dom_b, blo, bhi, hint = dom
    tkind, f_lo, f_hi, f_branch, P_A, P_b, P_aoff, P_C, P_d, P_coff, rows, rhs, seg, on_pre = target
    prune, rel, band, tol = opts
    (X_flat, X_off, T_flat, L_in, dec_flat, dec_off, pat_flat, pat_off, Z_flat, z0_flat, Z_off, A_flat, A_off,
     c_flat, N_in) = stack
    d = X_flat.shape[1]
    words = T_flat.shape[1]
    L = n_layers(layers)
    sX = List()
    sT = List()
    sL = List()
    sDec = List()
    sPat = List()
    sZ = List()
    sz0 = List()
    sA = List()
    sc = List()
    sN = List()
    for i in range(L_in.shape[0]):
        sX.append(X_flat[X_off[i]:X_off[i + 1]].copy())
        sT.append(T_flat[X_off[i]:X_off[i + 1]].copy())
        sL.append(L_in[i])
        sDec.append(dec_flat[dec_off[i]:dec_off[i + 1]].copy())
        sPat.append(pat_flat[pat_off[i]:pat_off[i + 1]].copy())
        sZ.append(Z_flat[Z_off[i]:Z_off[i + 1]].copy())
        sz0.append(z0_flat[Z_off[i]:Z_off[i + 1]].copy())
        sA.append(A_flat[A_off[i]:A_off[i + 1]].copy())
        sc.append(c_flat[A_off[i]:A_off[i + 1]].copy())
        sN.append(N_in[i])
    oPat = List()
    oA = List()
    oc = List()
    oE = List()
    oe = List()
    oH = List()
    oh = List()
    oX = List()
    oMeta = List()  # (dim, disjunct)
    nodes = 0
    splits = 0
    fixed_total = 0
    pruned = 0
    lps = 0
    no_rows = np.zeros((0, d))
    no_c = np.zeros(0)
    while len(sX) > 0 and nodes < max_nodes and len(oPat) < max_out:
        X = sX.pop()
        T = sT.pop()
        l = sL.pop()
        dec = sDec.pop()
        pat = sPat.pop()
        Z = sZ.pop()
        z0 = sz0.pop()
        A = sA.pop()
        c = sc.pop()
        ncons = sN.pop()
        nodes += 1
        if kind == LP_REGIONS:
            _lp_sync(ctx, A, c)
        while True:
            lay = layer(layers, l)
            is_target = l == L - 1
            if is_target and tkind == T_FORCE:
                # -- the activity: each unit's preimage interval, then the forced branches
                E = no_rows
                e = no_c
                alive = True
                dim = d
                if kind == VERTEX_REGIONS:
                    for pass_eq in range(2):  # the clips first, then the equalities
                        for u in range(Z.shape[0]):
                            eq = f_lo[u] == f_hi[u]
                            if eq != (pass_eq == 1):
                                continue
                            if eq:
                                alive, X, T, dim, ncons, A, c, E, e = _constrain(
                                    X, T, dim, ncons, A, c, E, e, Z[u].copy(), z0[u] - f_lo[u], CUT_SLICE, False,
                                    rel, band, dom_A, dom_b)
                            else:
                                if np.isfinite(f_hi[u]) and alive:
                                    alive, X, T, dim, ncons, A, c, E, e = _constrain(
                                        X, T, dim, ncons, A, c, E, e, Z[u].copy(), z0[u] - f_hi[u], CUT_CLIP, True,
                                        rel, band, dom_A, dom_b)
                                if np.isfinite(f_lo[u]) and alive:
                                    alive, X, T, dim, ncons, A, c, E, e = _constrain(
                                        X, T, dim, ncons, A, c, E, e, -Z[u], f_lo[u] - z0[u], CUT_CLIP, True,
                                        rel, band, dom_A, dom_b)
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
                    E = np.empty((n_eq, d))
                    e = np.empty(n_eq)
                    i = 0
                    k = 0
                    for u in range(Z.shape[0]):
                        if f_lo[u] == f_hi[u]:
                            E[k] = Z[u]
                            e[k] = z0[u] - f_lo[u]
                            k += 1
                        else:
                            if np.isfinite(f_hi[u]):
                                Ai[i] = Z[u]
                                ci[i] = z0[u] - f_hi[u]
                                i += 1
                            if np.isfinite(f_lo[u]):
                                Ai[i] = -Z[u]
                                ci[i] = f_lo[u] - z0[u]
                                i += 1
                    alive, x, n_lp = _lp_feasible(ctx, Ai, ci, E, e)
                    lps += n_lp
                    if alive:
                        A = np.vstack((A, Ai))
                        c = np.concatenate((c, ci))
                        X = x.reshape((1, d))
                        dim = -1
                if not alive:
                    pruned += 1
                    break
                H, h = _branch_map(lay, f_branch, Z, z0)
                newpat = np.empty(pat.shape[0] + f_branch.shape[0], dtype=np.int8)
                newpat[: pat.shape[0]] = pat
                newpat[pat.shape[0]:] = f_branch
                oPat.append(newpat)
                oA.append(A)
                oc.append(c)
                oE.append(E)
                oe.append(e)
                oH.append(H)
                oh.append(h)
                oX.append(X)
                oMeta.append(np.array([dim, 0], dtype=np.int64))
                break
            n_units = lay[6].shape[0] - 1
            if not lay[15]:
                # -- decide the layer's activation on the region
                F, f0 = _decision_map(lay, Z, z0)
                j = -1
                eps = 0.0
                s = np.empty(0)
                cls = np.zeros(0, dtype=np.int8)
                amb = False
                x_neg = np.empty(0)
                x_pos = np.empty(0)
                kway = False
                cand = np.zeros(0, dtype=np.int64)
                while True:
                    if kind == VERTEX_REGIONS:
                        while True:
                            j, eps, fixed, s, amb = _classify(X, F, f0, dec, rel)
                            fixed_total += fixed
                            if j < 0 or not amb:
                                break
                            # a vertex in the ambiguity band: its side is settled exactly (rare path)
                            cls, s2 = _sides(X, T, F[j].copy(), f0[j], rel, True, dom_A, dom_b, A, c, no_rows, no_c)
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
                            fixed_total += 1
                    else:
                        j, x_neg, x_pos, n_lp, fixed = _lp_classify(ctx, X[0].copy(), F, f0, dec)
                        lps += n_lp
                        fixed_total += fixed
                    if j < 0 or lay[7][lay[5][j]] != MAX:
                        break
                    # a max unit: branch on the entries that can still be its largest (a k-way
                    # branch); when only one can, its other comparisons do not matter here
                    cand = _candidates(lay, dec, j)
                    if cand.shape[0] >= 2:
                        kway = True
                        break
                    _settle_max(lay, dec, j, -1)
                if j >= 0:
                    if prune and tkind != T_NONE and not is_target:
                        # a partly decided layer: check the target is still in reach first
                        if kind == VERTEX_REGIONS:
                            lo = min_over(VERTICES, X, blo, bhi, Z, z0)
                            hi = -min_over(VERTICES, X, blo, bhi, -Z, -z0)
                        else:
                            lo = min_over(BOX, X, blo, bhi, Z, z0)
                            hi = -min_over(BOX, X, blo, bhi, -Z, -z0)
                        HL, hL, HU, hU = _partial_bounds(lay, dec, Z, z0, lo, hi)
                        if not _reachable(kind, X, blo, bhi, HL, hL, HU, hU, layers, l + 1, tkind, rows, rhs, seg,
                                          on_pre, f_lo, f_hi, tol):
                            pruned += 1
                            break
                    if kway:
                        # -- one child per candidate entry c: the region where z_c is the largest
                        splits += 1
                        u = lay[5][j]
                        srcs = lay[8][lay[6][u]:lay[6][u + 1]]
                        order = cand.copy()
                        if hint.shape[0] == d:  # the hint's own largest entry is explored first
                            best = -np.inf
                            at = 0
                            for i in range(cand.shape[0]):
                                val = z0[srcs[cand[i]]]
                                for q in range(d):
                                    val += Z[srcs[cand[i]], q] * hint[q]
                                if val > best:
                                    best = val
                                    at = i
                            order[at], order[0] = cand[0], cand[at]
                        for ii in range(order.shape[0] - 1, -1, -1):
                            cw = order[ii]
                            Xc, Tc, Ac, cc_, nc = X, T, A, c, ncons
                            Ec = no_rows
                            ec = no_c
                            dim = d
                            alive = True
                            if kind == VERTEX_REGIONS:
                                for i in range(cand.shape[0]):
                                    if cand[i] == cw:
                                        continue
                                    a_r = Z[srcs[cand[i]]] - Z[srcs[cw]]
                                    c_r = z0[srcs[cand[i]]] - z0[srcs[cw]]
                                    alive, Xc, Tc, dim, nc, Ac, cc_, Ec, ec = _constrain(
                                        Xc, Tc, dim, nc, Ac, cc_, Ec, ec, a_r, c_r, CUT_CLIP, True, rel, band, dom_A,
                                        dom_b)
                                    if not alive:
                                        break
                                alive = alive and dim == d  # a tie of measure zero is covered by its neighbours
                            else:
                                Ai = np.empty((cand.shape[0] - 1, d))
                                ci = np.empty(cand.shape[0] - 1)
                                r = 0
                                for i in range(cand.shape[0]):
                                    if cand[i] != cw:
                                        Ai[r] = Z[srcs[cand[i]]] - Z[srcs[cw]]
                                        ci[r] = z0[srcs[cand[i]]] - z0[srcs[cw]]
                                        r += 1
                                alive, x, n_lp = _lp_feasible(ctx, Ai, ci, no_rows, no_c)
                                lps += n_lp
                                if alive:
                                    Ac = np.vstack((A, Ai))
                                    cc_ = np.concatenate((c, ci))
                                    nc = ncons + Ai.shape[0]
                                    Xc = x.reshape((1, d))
                            if not alive:
                                continue
                            dc = dec.copy()
                            _settle_max(lay, dc, j, cw)
                            sX.append(Xc)
                            sT.append(Tc)
                            sL.append(l)
                            sDec.append(dc)
                            sPat.append(pat)
                            sZ.append(Z)
                            sz0.append(z0)
                            sA.append(Ac)
                            sc.append(cc_)
                            sN.append(nc)
                        break
                    # -- split by the decision's hyperplane; the side of the hint is explored first
                    splits += 1
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
                    dn = dec.copy()
                    dn[j] = 0
                    dp = dec.copy()
                    dp[j] = 1
                    neg_first = False
                    if hint.shape[0] == d:
                        val = f0[j]
                        for q in range(d):
                            val += F[j, q] * hint[q]
                        neg_first = val <= 0.0
                    for side in range(2):
                        put_neg = (side == 0) != neg_first
                        sX.append(Xa if put_neg else Xb)
                        sT.append(Ta if put_neg else Tb)
                        sL.append(l)
                        sDec.append(dn if put_neg else dp)
                        sPat.append(pat)
                        sZ.append(Z)
                        sz0.append(z0)
                        sA.append(An if put_neg else Ap)
                        sc.append(cn if put_neg else cp)
                        sN.append(ncons + 1)
                    break
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
                    oPat.append(pat)
                    oA.append(A)
                    oc.append(c)
                    oE.append(no_rows)
                    oe.append(no_c)
                    oH.append(H)
                    oh.append(h)
                    oX.append(X)
                    oMeta.append(np.array([d if kind == VERTEX_REGIONS else -1, 0], dtype=np.int64))
                    break
                for g in range(P_aoff.shape[0] - 1):
                    Xg, Tg, Ag, cg = X, T, A, c
                    Eg = no_rows
                    eg = no_c
                    ng = ncons
                    dim = d
                    alive = True
                    if kind == VERTEX_REGIONS:
                        for r in range(P_aoff[g], P_aoff[g + 1]):
                            a_u = _row_map(P_A[r], H)
                            c_u = _dot(P_A[r], h) - P_b[r]
                            alive, Xg, Tg, dim, ng, Ag, cg, Eg, eg = _constrain(
                                Xg, Tg, dim, ng, Ag, cg, Eg, eg, a_u, c_u, CUT_CLIP, True, rel, band, dom_A, dom_b)
                            if not alive:
                                break
                        if alive:
                            for r in range(P_coff[g], P_coff[g + 1]):
                                a_u = _row_map(P_C[r], H)
                                c_u = _dot(P_C[r], h) - P_d[r]
                                alive, Xg, Tg, dim, ng, Ag, cg, Eg, eg = _constrain(
                                    Xg, Tg, dim, ng, Ag, cg, Eg, eg, a_u, c_u, CUT_SLICE, False, rel, band, dom_A,
                                    dom_b)
                                if not alive:
                                    break
                    else:
                        k_in = P_aoff[g + 1] - P_aoff[g]
                        k_eq = P_coff[g + 1] - P_coff[g]
                        Ai = np.empty((k_in, d))
                        ci = np.empty(k_in)
                        Eg = np.empty((k_eq, d))
                        eg = np.empty(k_eq)
                        for r in range(k_in):
                            Ai[r] = P_A[P_aoff[g] + r] @ H
                            ci[r] = P_A[P_aoff[g] + r] @ h - P_b[P_aoff[g] + r]
                        for r in range(k_eq):
                            Eg[r] = P_C[P_coff[g] + r] @ H
                            eg[r] = P_C[P_coff[g] + r] @ h - P_d[P_coff[g] + r]
                        alive, x, n_lp = _lp_feasible(ctx, Ai, ci, Eg, eg)
                        lps += n_lp
                        if alive:
                            Ag = np.vstack((A, Ai))
                            cg = np.concatenate((c, ci))
                            Xg = x.reshape((1, d))
                            dim = -1
                    if not alive:
                        continue
                    oPat.append(pat)
                    oA.append(Ag)
                    oc.append(cg)
                    oE.append(Eg)
                    oe.append(eg)
                    oH.append(H)
                    oh.append(h)
                    oX.append(Xg)
                    oMeta.append(np.array([dim, g], dtype=np.int64))
                break
            if prune and tkind != T_NONE and not _reachable(kind, X, blo, bhi, H, h, H, h, layers, l + 1, tkind,
                                                            rows, rhs, seg, on_pre, f_lo, f_hi, tol):
                pruned += 1
                break
            # -- push the map through the next affine layer
            nxt = layer(layers, l + 1)
            W, b = nxt[0], nxt[1]
            m = W.shape[0]
            n = H.shape[0]
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
                    continue  # a unit that passes nothing on
                for i in range(m):
                    w = W[i, k2]
                    z2[i] += w * h[k2]
                    for q in range(d):
                        Z2[i, q] += w * H[k2, q]
            Z = Z2
            z0 = z2
            dec = np.full(nxt[2].shape[0] if not nxt[14] else m, -1, dtype=np.int8)
            l += 1
    counters = np.array([nodes, splits, fixed_total, pruned, lps], dtype=np.int64)
    i8 = np.zeros(0, dtype=np.int8)
    rX, rX_off = _pack2(sX, d)
    rT = np.empty((rX_off[-1], words), dtype=np.uint64)
    for i in range(len(sT)):
        rT[rX_off[i]:rX_off[i + 1]] = sT[i]
    ns = len(sL)
    rL = np.empty(ns, dtype=np.int64)
    rN = np.empty(ns, dtype=np.int64)
    for i in range(ns):
        rL[i] = sL[i]
        rN[i] = sN[i]
    rdec, rdec_off = _pack1(sDec, i8)
    rpat, rpat_off = _pack1(sPat, i8)
    rZ, rZ_off = _pack2(sZ, d)
    rz0, _ = _pack1(sz0, no_c)
    rA, rA_off = _pack2(sA, d)
    rc, _ = _pack1(sc, no_c)
    rest = (rX, rX_off, rT, rL, rdec, rdec_off, rpat, rpat_off, rZ, rz0, rZ_off, rA, rA_off, rc, rN)
    pPat, pPat_off = _pack1(oPat, i8)
    pA, pA_off = _pack2(oA, d)
    pc, _ = _pack1(oc, no_c)
    pE, pE_off = _pack2(oE, d)
    pe, _ = _pack1(oe, no_c)
    pH, pH_off = _pack2(oH, d)
    ph, _ = _pack1(oh, no_c)
    pX, pX_off = _pack2(oX, d)
    meta = np.empty((len(oMeta), 2), dtype=np.int64)
    for i in range(len(oMeta)):
        meta[i] = oMeta[i]
    pieces = (pPat, pPat_off, pA, pA_off, pc, pE, pE_off, pe, pH, pH_off, ph, pX, pX_off, meta)
    return counters, rest, pieces
