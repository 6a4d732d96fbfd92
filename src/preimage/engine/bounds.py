"""Sound bounds on later layers over a region: symbolic interval propagation.

Given the exact affine map ``h_l = H u + h`` of the current layer on a region (its
activation pattern up to layer ``l`` is fixed), later pre-activations are enclosed between
linear functions of ``u``: ``L_m(u) <= z_m <= U_m(u)``. ReLUs that the bounds prove stable
pass their bounds on unchanged (or zero them); unstable ones use the triangle relaxation
(upper: the chord ``ub (z - lb) / (ub - lb)``; lower: ``z`` or ``0``, whichever has the
smaller area). Linear functions are minimised exactly over the region: at its vertices
(vertex backend) or by the region's box of ``u`` (an outer enclosure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["SymbolicBounds", "propagate"]


@dataclass(slots=True)
class SymbolicBounds:
    """Linear bounds ``L u + l0 <= value <= U u + u0`` and their concrete ranges."""

    L: np.ndarray
    l0: np.ndarray
    U: np.ndarray
    u0: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def linear_lower(self, a: np.ndarray) -> tuple[np.ndarray, float]:
        """A linear lower bound ``g·u + g0`` of ``a·value``."""
        ap, an = np.maximum(a, 0.0), np.minimum(a, 0.0)
        return ap @ self.L + an @ self.U, float(ap @ self.l0 + an @ self.u0)


def propagate(
    H: np.ndarray,
    h: np.ndarray,
    layers,
    minimize: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    upper: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[SymbolicBounds]:
    """Bounds on the pre-activations of each layer in ``layers``.

    Parameters
    ----------
    H, h : the current layer's output ``h_l = H u + h`` (exact on the region), or its lower
        linear bound when ``upper = (Hu, hu)`` gives an upper one.
    layers : sequence of ``(W, b, relu)`` for layers ``l+1, l+2, ...``.
    minimize : ``minimize(G, g0)`` returns ``min_u (G u + g0)`` row-wise over the region.

    Returns one :class:`SymbolicBounds` per layer, for its pre-activation ``z``.
    """
    out: list[SymbolicBounds] = []
    Lh, lh, Uh, uh = (H, h, H, h) if upper is None else (H, h, upper[0], upper[1])
    for W, b, relu in layers:
        Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
        Lz = Wp @ Lh + Wn @ Uh
        lz = Wp @ lh + Wn @ uh + b
        Uz = Wp @ Uh + Wn @ Lh
        uz = Wp @ uh + Wn @ lh + b
        lo = minimize(Lz, lz)
        hi = -minimize(-Uz, -uz)
        out.append(SymbolicBounds(Lz, lz, Uz, uz, lo, hi))
        if not relu:
            Lh, lh, Uh, uh = Lz, lz, Uz, uz
            continue
        # relaxation of relu(z) given lo <= z <= hi
        active = lo >= 0
        inactive = hi <= 0
        unstable = ~(active | inactive)
        slope_u = np.where(unstable, hi / np.where(unstable, hi - lo, 1.0), active.astype(float))
        off_u = np.where(unstable, -slope_u * lo, 0.0)
        slope_l = np.where(unstable, (hi > -lo).astype(float), active.astype(float))
        Uh = slope_u[:, None] * Uz
        uh = slope_u * uz + off_u
        Lh = slope_l[:, None] * Lz
        lh = slope_l * lz
    return out


def backward_lower(
    rows: np.ndarray,
    on_pre: bool,
    bounds: list[SymbolicBounds],
    layers,
    H: np.ndarray,
    h: np.ndarray,
    minimize: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    upper: tuple[np.ndarray, np.ndarray] | None = None,
    start_bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Lower bounds of ``rows · v`` over the region by back-substitution (DeepPoly/CROWN).

    ``v`` is the last layer's pre-activation (``on_pre=True``) or its output. ``bounds``
    are the forward bounds of every layer's pre-activation (from :func:`propagate`), used
    to relax the ReLUs; the relaxation of each ReLU is chosen by the sign of its coefficient.
    The current layer is ``H u + h`` (exact), or lies between ``(H, h)`` and ``upper``.
    """
    Lam = np.array(rows, dtype=np.float64, copy=True)  # (k, n_last)
    const = np.zeros(Lam.shape[0])
    for m in range(len(layers) - 1, -1, -1):
        W, b, relu = layers[m]
        if relu and not (m == len(layers) - 1 and on_pre):
            lo, hi = bounds[m].lo, bounds[m].hi
            Lam, const = _relax_backward(Lam, const, lo, hi)
        const = const + Lam @ b
        Lam = Lam @ W
    # the current layer: exact, or between a lower and an upper affine function of u
    if upper is None:
        G = Lam @ H
        g0 = const + Lam @ h
    else:
        Lp, Ln = np.maximum(Lam, 0.0), np.minimum(Lam, 0.0)
        G = Lp @ H + Ln @ upper[0]
        g0 = const + Lp @ h + Ln @ upper[1]
    return minimize(G, g0)


def _relax_backward(Lam: np.ndarray, const: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Replace ``Lam · relu(z)`` by a linear lower bound in ``z`` given ``lo <= z <= hi``."""
    active = lo >= 0
    inactive = hi <= 0
    unstable = ~(active | inactive)
    su = np.where(unstable, hi / np.where(unstable, hi - lo, 1.0), active.astype(float))
    off_u = np.where(unstable, -su * lo, 0.0)
    sl = np.where(unstable, (hi > -lo).astype(float), active.astype(float))
    pos = Lam >= 0
    slope = np.where(pos, sl[None, :], su[None, :])
    const = const + np.where(pos, 0.0, Lam * off_u[None, :]).sum(axis=1)
    return Lam * slope, const
