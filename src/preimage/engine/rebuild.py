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
          pat: NDArray[np.int8], Zs: TypedList[NDArray[np.float64]], z0s: TypedList[NDArray[np.float64]],
          prev_Zs: TypedList[NDArray[np.float64]], prev_z0s: TypedList[NDArray[np.float64]],
          same: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The pre-activation maps of the layers the pattern reaches (into ``Zs``, ``z0s``) and
    the target layer's value map (no rows when the pattern stops before it: a frontier node).

    A layer's map depends only on the branches of the layers before it: where those are the
    previous piece's (its first ``same`` pattern entries are this one's), its map
    (``prev_Zs``) is reused — pieces in canonical order share long prefixes."""
    L = len(lays)
    d = Z1.shape[1]
    Z, z0 = Z1, z1
    Hl, hl = Z1, z1
    pos = 0
    for l in range(L):
        lay = lays[l]
        if l > 0:
            if l < len(prev_Zs) and pos <= same:
                Z, z0 = prev_Zs[l], prev_z0s[l]
            else:
                Z, z0 = _forward(lay, Hl, hl)
        Zs.append(Z)
        z0s.append(z0)
        if l == L - 1 and target[0] == T_FORCE:
            return _branch_map(lay, target[3], Z, z0)
        if lay[15]:
            Hl, hl = Z, z0
        else:
            n_units = lay[6].shape[0] - 1
            if pos + n_units > pat.shape[0]:  # the pattern ends here
                return np.zeros((0, d)), np.zeros(0)
            Hl, hl = _branch_map(lay, pat[pos:pos + n_units], Z, z0)
            pos += n_units
    return Hl, hl


@njit(cache=True, nogil=True)
def _is_equality(code: int) -> bool:
    kind = (code >> 48) & 7
    return kind == ROW_EQ or kind == ROW_TARGET_EQ


@njit(cache=True, nogil=True)
def _fill(lays: TypedList[Layer], plain: NDArray[np.int64], target: Target, Zs: TypedList[NDArray[np.float64]],
          z0s: TypedList[NDArray[np.float64]], H: NDArray[np.float64], h: NDArray[np.float64], code: int,
          row: NDArray[np.float64]) -> float:
    """Write the row of one cut code into ``row``, as the walk made it; return its constant
    (``plain[l]``: layer ``l``'s decisions are its pre-activations)."""
    l = code >> 51
    kind = (code >> 48) & 7
    a = (code >> 24) & _MASK
    b = code & _MASK
    Z, z0 = Zs[l], z0s[l]
    d = row.shape[0]
    if kind == ROW_DEC_NEG or kind == ROW_DEC_POS:
        if plain[l]:
            p, q, f0 = a, -1, z0[a]
        else:
            lay = lays[l]
            p, q = lay[2][a], lay[3][a]
            f0 = z0[p] + lay[4][a]
            if q >= 0:
                f0 -= z0[q]
        for r in range(d):
            row[r] = Z[p, r]
            if q >= 0:
                row[r] -= Z[q, r]
        if kind == ROW_DEC_NEG:
            return float(f0)
        for r in range(d):
            row[r] = -row[r]
        return float(-f0)
    if kind == ROW_PAIR:
        for r in range(d):
            row[r] = Z[a, r] - Z[b, r]
        return float(z0[a] - z0[b])
    if kind == ROW_HI or kind == ROW_EQ:
        row[:] = Z[a]
        return float(z0[a] - (target[2][a] if kind == ROW_HI else target[1][a]))
    if kind == ROW_LO:
        for r in range(d):
            row[r] = -Z[a, r]
        return float(target[1][a] - z0[a])
    P, rhs = (target[4], target[5]) if kind == ROW_TARGET_INEQ else (target[7], target[8])
    row[:] = _row_map(P[a], H)
    return float(_dot(P[a], h) - rhs[a])


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
    plain = layers[2][:, 0].copy()
    As = List.empty_list(_F2)
    cs = List.empty_list(_F1)
    Es = List.empty_list(_F2)
    es = List.empty_list(_F1)
    Hs = List.empty_list(_F2)
    hs = List.empty_list(_F1)
    Zs = List.empty_list(_F2)
    z0s = List.empty_list(_F1)
    prev = pat_flat[:0]
    for i in range(pat_off.shape[0] - 1):
        pat = pat_flat[pat_off[i]:pat_off[i + 1]]
        same = 0
        while same < pat.shape[0] and same < prev.shape[0] and pat[same] == prev[same]:
            same += 1
        prev_Zs, prev_z0s = Zs, z0s
        Zs = List.empty_list(_F2)
        z0s = List.empty_list(_F1)
        H, h = _maps(lays, target, Z1, z1, pat, Zs, z0s, prev_Zs, prev_z0s, same)
        prev = pat
        cuts = cut_flat[cut_off[i]:cut_off[i + 1]]
        n_eq = 0
        for k in range(cuts.shape[0]):
            n_eq += _is_equality(cuts[k])
        A = np.empty((cuts.shape[0] - n_eq, d))
        c = np.empty(cuts.shape[0] - n_eq)
        E = np.empty((n_eq, d))
        e = np.empty(n_eq)
        ia = 0
        ie = 0
        for k in range(cuts.shape[0]):
            if _is_equality(cuts[k]):
                e[ie] = _fill(lays, plain, target, Zs, z0s, H, h, cuts[k], E[ie])
                ie += 1
            else:
                c[ia] = _fill(lays, plain, target, Zs, z0s, H, h, cuts[k], A[ia])
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
