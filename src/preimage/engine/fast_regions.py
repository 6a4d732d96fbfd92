"""A compiled depth-first enumeration of linear regions (vertex backend, no target).

:func:`preimage.linear_regions` on a low-dimensional domain spends almost all its time in
tiny per-region steps; this module runs the whole walk of :class:`~preimage.engine.search.Search`
(sign tests at the vertices, the first unstable neuron splits the region, the map is pushed
through decided layers) inside one numba function. The stack crosses the Python boundary
as flat arrays with offsets (everything else stays inside the compiled, disk-cached code),
so the walk can stop after a number of nodes (budgets, progress, interrupts) and be turned
back into ordinary :class:`~preimage.engine.search.Node` objects (checkpoints, executors).
It produces exactly the pieces of the Python walk, in the same order.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from numba import njit, objmode
from numba.core.errors import NumbaWarning
from numba.typed import List

from .. import tolerances
from .exact import ExactRows, exact_classes
from .search import Node, RawPiece, Search, _Rows
from .vpoly import CUT_SPLIT, _classify, _cut, _cut_cls

__all__ = ["FastRegionSearch"]

# the walk holds the GIL again only on its rare exact path (object mode); say so once, here
warnings.filterwarnings("ignore", message="Code running in object mode won't allow parallel execution",
                        category=NumbaWarning)


@njit(cache=True, nogil=True)
def _offsets(sizes):
    off = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    for i in range(sizes.shape[0]):
        off[i + 1] = off[i] + sizes[i]
    return off


def _settle_walk(X, T, s, eps, a, c, dom_A, dom_b, A, cc):
    """Exact sides of the vertices of ``(X, T)`` w.r.t. ``a·u + c = 0`` (called from the
    compiled walk, in object mode, for a neuron with a vertex in the ambiguity band)."""
    cls = np.where(s > eps, 1, np.where(s < -eps, -1, 0)).astype(np.int8)
    amb = np.flatnonzero(np.abs(s) <= eps)
    if amb.size:
        cls[amb] = exact_classes(X, T, amb, a, c, ExactRows(dom_A, dom_b, A, cc))
    return cls


@njit(cache=True, nogil=True)
def _walk(W_flat, W_off, W_rows, b_flat, b_off, relus,
          X_flat, X_off, T_flat, L_in, dec_flat, dec_off, pat_flat, pat_off, Z_flat, z0_flat, A_flat, A_off,
          c_flat, N_in, d, rel, max_nodes, max_out):
    """Walk the stack given as flat arrays; see :class:`FastRegionSearch`.

    Returns ``(counters, stack arrays..., piece arrays...)``. ``b_flat`` carries, after the
    biases (``b_flat[b_off[-1]:]``), the domain's facets ``dom_A u <= dom_b`` (rows then
    right-hand sides), needed to settle a sign in the ambiguity band exactly.
    """
    tail = b_flat[b_off[b_off.shape[0] - 1]:]
    m_dom = tail.shape[0] // (d + 1)
    dom_A = tail[: m_dom * d].copy().reshape((m_dom, d))
    dom_b = tail[m_dom * d:].copy()
    # unpack the stack (bottom first)
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
    n_in = L_in.shape[0]
    for i in range(n_in):
        sX.append(X_flat[X_off[i]:X_off[i + 1]].copy())
        sT.append(T_flat[X_off[i]:X_off[i + 1]].copy())
        sL.append(L_in[i])
        sDec.append(dec_flat[dec_off[i]:dec_off[i + 1]].copy())
        sPat.append(pat_flat[pat_off[i]:pat_off[i + 1]].copy())
        sZ.append(Z_flat[dec_off[i]:dec_off[i + 1]].copy())
        sz0.append(z0_flat[dec_off[i]:dec_off[i + 1]].copy())
        sA.append(A_flat[A_off[i]:A_off[i + 1]].copy())
        sc.append(c_flat[A_off[i]:A_off[i + 1]].copy())
        sN.append(N_in[i])
    oPat = List()
    oA = List()
    oc = List()
    oH = List()
    oh = List()
    oX = List()
    L = relus.shape[0]
    nodes = 0
    splits = 0
    fixed_total = 0
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
        while True:
            n = Z.shape[0]
            if relus[l]:
                cls = np.zeros(0, dtype=np.int8)
                while True:
                    j, eps, fixed, s, amb = _classify(X, Z, z0, dec, rel)
                    fixed_total += fixed
                    if j < 0 or not amb:
                        break
                    # a vertex in the ambiguity band: its side is settled exactly (rare path)
                    zj = Z[j].copy()
                    cj = z0[j]
                    with objmode(cls="int8[:]"):
                        cls = _settle_walk(X, T, s, eps, zj, cj, dom_A, dom_b, A, c)
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
                if j >= 0:
                    if amb:
                        Xa, Ta, Xb, Tb, _ = _cut_cls(X, T, cls, s, d, ncons, CUT_SPLIT)
                    else:
                        Xa, Ta, Xb, Tb, _ = _cut(X, T, s, eps, d, ncons, CUT_SPLIT)
                    splits += 1
                    k = A.shape[0]
                    An = np.empty((k + 1, d))
                    Ap = np.empty((k + 1, d))
                    An[:k] = A
                    Ap[:k] = A
                    cn = np.empty(k + 1)
                    cp = np.empty(k + 1)
                    cn[:k] = c
                    cp[:k] = c
                    for q in range(d):
                        An[k, q] = Z[j, q]
                        Ap[k, q] = -Z[j, q]
                    cn[k] = z0[j]
                    cp[k] = -z0[j]
                    dn = dec.copy()
                    dn[j] = 0
                    dp = dec.copy()
                    dp[j] = 1
                    # push neg then pos: pos is explored first, as in the Python walk
                    sX.append(Xa)
                    sT.append(Ta)
                    sL.append(l)
                    sDec.append(dn)
                    sPat.append(pat)
                    sZ.append(Z)
                    sz0.append(z0)
                    sA.append(An)
                    sc.append(cn)
                    sN.append(ncons + 1)
                    sX.append(Xb)
                    sT.append(Tb)
                    sL.append(l)
                    sDec.append(dp)
                    sPat.append(pat)
                    sZ.append(Z)
                    sz0.append(z0)
                    sA.append(Ap)
                    sc.append(cp)
                    sN.append(ncons + 1)
                    break
                H = np.empty((n, d))
                h = np.empty(n)
                for i in range(n):
                    a = 1.0 if dec[i] == 1 else 0.0
                    h[i] = z0[i] * a
                    for q in range(d):
                        H[i, q] = Z[i, q] * a
                newpat = np.empty(pat.shape[0] + n, dtype=np.int8)
                newpat[: pat.shape[0]] = pat
                for i in range(n):
                    newpat[pat.shape[0] + i] = 1 if dec[i] == 1 else 0
                pat = newpat
            else:
                H = Z
                h = z0
            if l == L - 1:
                oPat.append(pat)
                oA.append(A)
                oc.append(c)
                oH.append(H)
                oh.append(h)
                oX.append(X)
                break
            m = W_rows[l + 1]
            W = W_flat[W_off[l + 1]:W_off[l + 2]].reshape((m, n))
            b = b_flat[b_off[l + 1]:b_off[l + 2]]
            Z2 = np.zeros((m, d))
            z2 = b.copy()
            for k2 in range(n):
                if relus[l] and dec[k2] != 1:
                    continue  # an inactive neuron passes nothing on
                for i in range(m):
                    w = W[i, k2]
                    z2[i] += w * h[k2]
                    for q in range(d):
                        Z2[i, q] += w * H[k2, q]
            Z = Z2
            z0 = z2
            dec = np.full(m, -1, dtype=np.int8)
            l += 1
    counters = np.array([nodes, splits, fixed_total], dtype=np.int64)
    # pack the remaining stack
    ns = len(sX)
    sizes = np.empty(ns, dtype=np.int64)
    for i in range(ns):
        sizes[i] = sX[i].shape[0]
    rX_off = _offsets(sizes)
    words = T_flat.shape[1]
    rX = np.empty((rX_off[-1], d))
    rT = np.empty((rX_off[-1], words), dtype=np.uint64)
    for i in range(ns):
        rX[rX_off[i]:rX_off[i + 1]] = sX[i]
        rT[rX_off[i]:rX_off[i + 1]] = sT[i]
    rL = np.empty(ns, dtype=np.int64)
    rN = np.empty(ns, dtype=np.int64)
    for i in range(ns):
        rL[i] = sL[i]
        rN[i] = sN[i]
        sizes[i] = sDec[i].shape[0]
    rdec_off = _offsets(sizes)
    rdec = np.empty(rdec_off[-1], dtype=np.int8)
    rZ = np.empty((rdec_off[-1], d))
    rz0 = np.empty(rdec_off[-1])
    for i in range(ns):
        rdec[rdec_off[i]:rdec_off[i + 1]] = sDec[i]
        rZ[rdec_off[i]:rdec_off[i + 1]] = sZ[i]
        rz0[rdec_off[i]:rdec_off[i + 1]] = sz0[i]
    for i in range(ns):
        sizes[i] = sPat[i].shape[0]
    rpat_off = _offsets(sizes)
    rpat = np.empty(rpat_off[-1], dtype=np.int8)
    for i in range(ns):
        rpat[rpat_off[i]:rpat_off[i + 1]] = sPat[i]
    for i in range(ns):
        sizes[i] = sA[i].shape[0]
    rA_off = _offsets(sizes)
    rA = np.empty((rA_off[-1], d))
    rc = np.empty(rA_off[-1])
    for i in range(ns):
        rA[rA_off[i]:rA_off[i + 1]] = sA[i]
        rc[rA_off[i]:rA_off[i + 1]] = sc[i]
    # pack the pieces
    npc = len(oPat)
    psz = np.empty(npc, dtype=np.int64)
    for i in range(npc):
        psz[i] = oPat[i].shape[0]
    pPat_off = _offsets(psz)
    pPat = np.empty(pPat_off[-1], dtype=np.int8)
    for i in range(npc):
        pPat[pPat_off[i]:pPat_off[i + 1]] = oPat[i]
    for i in range(npc):
        psz[i] = oA[i].shape[0]
    pA_off = _offsets(psz)
    pA = np.empty((pA_off[-1], d))
    pc = np.empty(pA_off[-1])
    for i in range(npc):
        pA[pA_off[i]:pA_off[i + 1]] = oA[i]
        pc[pA_off[i]:pA_off[i + 1]] = oc[i]
    for i in range(npc):
        psz[i] = oH[i].shape[0]
    pH_off = _offsets(psz)
    pH = np.empty((pH_off[-1], d))
    ph = np.empty(pH_off[-1])
    for i in range(npc):
        pH[pH_off[i]:pH_off[i + 1]] = oH[i]
        ph[pH_off[i]:pH_off[i + 1]] = oh[i]
    for i in range(npc):
        psz[i] = oX[i].shape[0]
    pX_off = _offsets(psz)
    pX = np.empty((pX_off[-1], d))
    for i in range(npc):
        pX[pX_off[i]:pX_off[i + 1]] = oX[i]
    return (counters, rX, rX_off, rT, rL, rdec, rdec_off, rpat, rpat_off, rZ, rz0, rA, rA_off, rc, rN,
            pPat, pPat_off, pA, pA_off, pc, pH, pH_off, ph, pX, pX_off)


class FastRegionSearch(Search):
    """:class:`Search` for region enumeration with the compiled walk (same pieces, same order)."""

    #: at most this many nodes per call into the compiled walk (between checks of budgets,
    #: stops and progress); fewer when a call would take longer than ``CHUNK_SECONDS``
    CHUNK = 8192
    CHUNK_SECONDS = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        pb = self.problem
        ch = pb.chart
        mats = [pb.weights[0] @ ch.B] + [np.asarray(W) for W in pb.weights[1:]]
        vecs = [pb.weights[0] @ ch.x0 + pb.biases[0]] + [np.asarray(b) for b in pb.biases[1:]]
        dom_A, dom_b = ch.u_constraints()  # carried after the biases (see _walk)
        self._W_flat = np.ascontiguousarray(np.concatenate([m.reshape(-1) for m in mats]), dtype=np.float64)
        self._W_off = np.concatenate([[0], np.cumsum([m.size for m in mats])]).astype(np.int64)
        self._W_rows = np.array([m.shape[0] for m in mats], dtype=np.int64)
        self._b_off = np.concatenate([[0], np.cumsum([v.size for v in vecs])]).astype(np.int64)
        self._b_flat = np.ascontiguousarray(np.concatenate(vecs + [np.asarray(dom_A, dtype=np.float64).reshape(-1),
                                                                   np.asarray(dom_b, dtype=np.float64)]),
                                            dtype=np.float64)
        self._relus = np.array(pb.relus, dtype=np.bool_)
        self._relu_widths = [W.shape[0] for W, r in zip(pb.weights, pb.relus) if r]

    def _pack(self, nodes: list[Node]):
        d = self.problem.chart.dim
        words = self.problem.words
        rows = [_Rows.collect(n.rows, d) for n in nodes]
        pats = [np.concatenate([np.asarray(p, dtype=np.int8) for p in n.done]) if n.done else np.zeros(0, np.int8)
                for n in nodes]

        def cat(parts, shape, dtype):
            return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(shape, dtype), dtype=dtype)

        def off(sizes):
            return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

        return (
            cat([n.X for n in nodes], (0, d), np.float64), off([n.X.shape[0] for n in nodes]),
            cat([n.T for n in nodes], (0, words), np.uint64),
            np.array([n.layer - 1 for n in nodes], dtype=np.int64),
            cat([n.dec for n in nodes], (0,), np.int8), off([n.dec.shape[0] for n in nodes]),
            cat(pats, (0,), np.int8), off([p.shape[0] for p in pats]),
            cat([n.Z for n in nodes], (0, d), np.float64), cat([n.z0 for n in nodes], (0,), np.float64),
            cat([r[0].reshape(-1, d) for r in rows], (0, d), np.float64), off([r[1].shape[0] for r in rows]),
            cat([r[1] for r in rows], (0,), np.float64),
            np.array([n.ncons for n in nodes], dtype=np.int64),
        )

    def _unpack(self, rX, rX_off, rT, rL, rdec, rdec_off, rpat, rpat_off, rZ, rz0, rA, rA_off, rc, rN) -> list[Node]:
        d = self.problem.chart.dim
        bounds = np.cumsum(self._relu_widths)[:-1]
        out = []
        for i in range(rL.shape[0]):
            rows = None
            for a, cc in zip(rA[rA_off[i]:rA_off[i + 1]], rc[rA_off[i]:rA_off[i + 1]]):
                rows = _Rows(rows, a.copy(), float(cc))
            pat = rpat[rpat_off[i]:rpat_off[i + 1]].astype(bool)
            done = tuple(p for p in np.split(pat, bounds) if p.size)[: self._n_done(pat.size)]
            out.append(Node(int(rL[i]) + 1, rX[rX_off[i]:rX_off[i + 1]].copy(), rT[rX_off[i]:rX_off[i + 1]].copy(),
                            d, int(rN[i]), rZ[rdec_off[i]:rdec_off[i + 1]].copy(),
                            rz0[rdec_off[i]:rdec_off[i + 1]].copy(), rdec[rdec_off[i]:rdec_off[i + 1]].copy(),
                            done, rows, 0))
        return out

    def _n_done(self, length: int) -> int:
        total, k = 0, 0
        for w in self._relu_widths:
            if total >= length:
                break
            total += w
            k += 1
        return k

    def run(self, stack: list[Node]) -> list[Node]:
        """Walk the nodes of ``stack``; on return (or an interrupt) ``stack`` holds what is left."""
        d = self.problem.chart.dim
        packed = self._pack(stack)
        t0 = time.perf_counter()
        first = True
        chunk = min(self.CHUNK, 256)  # grows while calls are quick
        try:
            while packed[3].shape[0]:
                if not first and self.should_stop():  # always make some progress
                    break
                first = False
                budget = self.piece_budget - self.stats.pieces if self.piece_budget is not None else 1 << 62
                if budget <= 0:
                    break
                t_call = time.perf_counter()
                res = _walk(self._W_flat, self._W_off, self._W_rows, self._b_flat, self._b_off, self._relus,
                            *packed, d, tolerances.VERTEX_SIGN, chunk, budget)
                spent = time.perf_counter() - t_call
                if spent > self.CHUNK_SECONDS:  # keep stops and progress prompt
                    chunk = max(16, int(chunk * self.CHUNK_SECONDS / spent))
                elif spent < self.CHUNK_SECONDS / 4:
                    chunk = min(self.CHUNK, 2 * chunk)
                counters, packed, out = res[0], res[1:15], res[15:]
                self.stats.nodes += int(counters[0])
                self.stats.splits += int(counters[1])
                self.stats.fixed_by_bounds += int(counters[2])
                pPat, pPat_off, pA, pA_off, pc, pH, pH_off, ph, pX, pX_off = out
                n = pPat_off.shape[0] - 1
                pieces = [RawPiece(pPat[pPat_off[i]:pPat_off[i + 1]].astype(bool), pA[pA_off[i]:pA_off[i + 1]],
                                   pc[pA_off[i]:pA_off[i + 1]], np.zeros((0, d)), np.zeros(0),
                                   pH[pH_off[i]:pH_off[i + 1]], ph[pH_off[i]:pH_off[i + 1]],
                                   pX[pX_off[i]:pX_off[i + 1]], d, 0, self.problem.domain_index) for i in range(n)]
                self.stats.pieces += len(pieces)
                stop = False
                for i, piece in enumerate(pieces):
                    try:
                        if not self.sink(piece):
                            stop = True
                    except BaseException:
                        for rest in pieces[i + 1:]:  # nothing produced is lost
                            self.sink(rest)
                        raise
                if self.on_node is not None:
                    self.stats.seconds += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    self.on_node(self.stats)
                if stop:
                    break
        finally:
            self.stats.seconds += time.perf_counter() - t0
            stack[:] = self._unpack(*packed)
        return stack
