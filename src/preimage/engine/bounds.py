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

from dataclasses import dataclass
from typing import Callable

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
    stop_pre: bool = True,
) -> list[SymbolicBounds]:
    """Bounds on the pre-activations of each layer in ``layers``.

    Parameters
    ----------
    H, h : the current layer's output ``h_l = H u + h`` (exact on the region).
    layers : sequence of ``(W, b, relu)`` for layers ``l+1, l+2, ...``.
    minimize : ``minimize(G, g0)`` returns ``min_u (G u + g0)`` row-wise over the region.

    Returns one :class:`SymbolicBounds` per layer, for its pre-activation ``z``.
    """
    out: list[SymbolicBounds] = []
    Lh, lh, Uh, uh = H, h, H, h
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
