"""A piece rebuilt from what is kept of it: its pattern and the origins of its cutting rows.

The walk (:mod:`~preimage.engine.walk`) keeps a piece compactly: the branch of every unit
it passed (the pattern), the *cut code* of each row that cut it (:func:`~.walk.cut_code`:
which decision, window comparison or target row, at which layer, on which side), whether
it is a ``(dim, disjunct)``. Everything else follows from the network and the target, and is
recomputed here on demand with the walk's own arithmetic (:func:`~.walk._branch_map`,
:func:`~.walk._forward`, the same row formulas), so a rebuilt row is bit for bit the row the
walk cut with:

* the pre-activation map ``z_l = Z_l u + z0_l`` of every layer the pattern reaches (each
  layer's output ``H u + h`` on the pattern's branches, pushed through the next affine layer);
* the rows ``A u + c <= 0`` and ``E u + e = 0`` of the piece's cut codes, in their order;
* the target layer's value ``H u + h`` on the piece (an activity target: on its forced branches).

Nothing else is stored: the polyhedron is the domain's constraints plus these rows, the affine
map is ``H``, and vertices are enumerated from the polyhedron when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import types
from numba.typed import List

from .._numba import njit
from .bounds import layer, n_layers
from .walk import (
    ROW_DEC_NEG,
    ROW_DEC_POS,
    ROW_EQ,
    ROW_HI,
    ROW_LO,
    ROW_PAIR,
    ROW_TARGET_EQ,
    ROW_TARGET_INEQ,
    T_FORCE,
    _branch_map,
    _dot,
    _forward,
    _pack1,
    _pack2,
    _row_map,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import TypeAlias

    from numba.typed.typedlist import List as TypedList
    from numpy.typing import NDArray

    from .bounds import Layer, Layers
    from .walk import Target

    #: the rebuilt pieces as flat arrays with offsets: ``(A, A_off, c, E, E_off, e, H, H_off, h)``
    Rebuilt: TypeAlias = tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
                               NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                               NDArray[np.float64]]

__all__ = ["rebuild"]

_F2 = types.float64[:, ::1]
_F1 = types.float64[::1]
_MASK = (1 << 24) - 1


@njit(cache=True, nogil=True)
def _maps(lays: TypedList[Layer], target: Target, Z1: NDArray[np.float64], z1: NDArray[np.float64],
          pat: NDArray[np.int8], Zs: TypedList[NDArray[np.float64]],
          z0s: TypedList[NDArray[np.float64]]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The pre-activation maps of the layers the pattern reaches (into ``Zs``, ``z0s``) and
    the target layer's value map (no rows when the pattern stops before it: a frontier node)."""
    L = len(lays)
    d = Z1.shape[1]
    Z, z0 = Z1, z1
    H = np.zeros((0, d))
    h = np.zeros(0)
    pos = 0
    for l in range(L):
        lay = lays[l]
        Zs.append(Z)
        z0s.append(z0)
        if l == L - 1 and target[0] == T_FORCE:
            return _branch_map(lay, target[3], Z, z0)
        if lay[15]:
            Hl, hl = Z, z0
        else:
            n_units = lay[6].shape[0] - 1
            if pos + n_units > pat.shape[0]:  # the pattern ends here
                return H, h
            Hl, hl = _branch_map(lay, pat[pos:pos + n_units], Z, z0)
            pos += n_units
        if l == L - 1:
            return Hl, hl
        Z, z0 = _forward(lays[l + 1], Hl, hl)
    return H, h


@njit(cache=True, nogil=True)
def _row(lays: TypedList[Layer], target: Target, Zs: TypedList[NDArray[np.float64]],
         z0s: TypedList[NDArray[np.float64]], H: NDArray[np.float64], h: NDArray[np.float64],
         code: int) -> tuple[NDArray[np.float64], float, bool]:
    """The row of one cut code, as the walk made it: ``(a, c, is_equality)``."""
    l = code >> 51
    kind = (code >> 48) & 7
    a = (code >> 24) & _MASK
    b = code & _MASK
    Z, z0 = Zs[l], z0s[l]
    if kind == ROW_DEC_NEG or kind == ROW_DEC_POS:
        lay = lays[l]
        if lay[14]:
            F = Z[a].copy()
            f0 = z0[a]
        else:
            p, q = lay[2][a], lay[3][a]
            F = Z[p].copy()
            f0 = z0[p] + lay[4][a]
            if q >= 0:
                f0 -= z0[q]
                for r in range(F.shape[0]):
                    F[r] -= Z[q, r]
        if kind == ROW_DEC_NEG:
            return F, f0, False
        return -F, -f0, False
    if kind == ROW_PAIR:
        return Z[a] - Z[b], z0[a] - z0[b], False
    f_lo, f_hi = target[1], target[2]
    if kind == ROW_HI:
        return Z[a].copy(), z0[a] - f_hi[a], False
    if kind == ROW_LO:
        return -Z[a], f_lo[a] - z0[a], False
    if kind == ROW_EQ:
        return Z[a].copy(), z0[a] - f_lo[a], True
    if kind == ROW_TARGET_INEQ:
        return _row_map(target[4][a], H), _dot(target[4][a], h) - target[5][a], False
    assert kind == ROW_TARGET_EQ
    return _row_map(target[7][a], H), _dot(target[7][a], h) - target[8][a], True


@njit(cache=True, nogil=True)
def rebuild(layers: Layers, target: Target, Z1: NDArray[np.float64], z1: NDArray[np.float64],
            pat_flat: NDArray[np.int8], pat_off: NDArray[np.int64], cut_flat: NDArray[np.int64],
            cut_off: NDArray[np.int64]) -> Rebuilt:
    """The rows and maps of pieces kept as ``(pattern, cut codes)`` (flat, with offsets).

    ``layers``: :func:`~preimage.engine.bounds.pack_layers`; ``target``: the walk's target
    tuple; ``Z1 u + z1``: the first layer's pre-activation in the chart's coordinates ``u``.
    Returns ``(A, A_off, c, E, E_off, e, H, H_off, h)``: per piece its inequalities
    ``A u + c <= 0``, equalities ``E u + e = 0`` and target-layer map ``H u + h``.
    """
    d = Z1.shape[1]
    lays = List()
    for i in range(n_layers(layers)):
        lays.append(layer(layers, i))
    As = List.empty_list(_F2)
    cs = List.empty_list(_F1)
    Es = List.empty_list(_F2)
    es = List.empty_list(_F1)
    Hs = List.empty_list(_F2)
    hs = List.empty_list(_F1)
    for i in range(pat_off.shape[0] - 1):
        Zs = List.empty_list(_F2)
        z0s = List.empty_list(_F1)
        H, h = _maps(lays, target, Z1, z1, pat_flat[pat_off[i]:pat_off[i + 1]], Zs, z0s)
        cuts = cut_flat[cut_off[i]:cut_off[i + 1]]
        n_eq = 0
        for k in range(cuts.shape[0]):
            kind = (cuts[k] >> 48) & 7
            if kind == ROW_EQ or kind == ROW_TARGET_EQ:
                n_eq += 1
        A = np.empty((cuts.shape[0] - n_eq, d))
        c = np.empty(cuts.shape[0] - n_eq)
        E = np.empty((n_eq, d))
        e = np.empty(n_eq)
        ia = 0
        ie = 0
        for k in range(cuts.shape[0]):
            a, cc, eq = _row(lays, target, Zs, z0s, H, h, cuts[k])
            if eq:
                E[ie] = a
                e[ie] = cc
                ie += 1
            else:
                A[ia] = a
                c[ia] = cc
                ia += 1
        As.append(A)
        cs.append(c)
        Es.append(E)
        es.append(e)
        Hs.append(np.ascontiguousarray(H))
        hs.append(np.ascontiguousarray(h))
    A_all, A_off = _pack2(As, d)
    c_all, _ = _pack1(cs, np.zeros(0))
    E_all, E_off = _pack2(Es, d)
    e_all, _ = _pack1(es, np.zeros(0))
    H_all, H_off = _pack2(Hs, d)
    h_all, _ = _pack1(hs, np.zeros(0))
    return A_all, A_off, c_all, E_all, E_off, e_all, H_all, H_off, h_all
