"""Seeded hit-and-run sampling inside a polyhedron, in its affine hull.

The walk runs in the coordinates ``u`` of the affine hull ``x = p + N u`` (``N`` with
orthonormal columns), so lower-dimensional pieces — the preimages of activities, which
satisfy equalities — are sampled as easily as full-dimensional ones. Several chains run
side by side, vectorised; each step picks a random direction, the segment of the line
inside the polyhedron, and a uniform point on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInputError

if TYPE_CHECKING:  # pragma: no cover - annotations only (and polyhedron imports this module)
    from numpy.typing import NDArray

    from .polyhedron import Polyhedron

__all__ = ["hit_and_run"]

#: Number of chains walked side by side.
_CHAINS = 16


def hit_and_run(
    P: Polyhedron, n: int, *, seed: int | None = None, burn_in: int = 200, thin: int = 10
) -> NDArray[np.float64]:
    """Return ``n`` points of the polyhedron ``P`` (bounded, non-empty), as an ``(n, d)`` array.

    The chains start at a relative-interior point; after ``burn_in`` steps each chain
    keeps every ``thin``-th point. Same ``seed``, same points.
    """
    n = int(n)
    if n < 0:
        raise InvalidInputError(f"n must be a non-negative number of samples, got {n}")
    if burn_in < 0 or thin < 1:
        raise InvalidInputError(f"burn_in must be >= 0 and thin >= 1, got {burn_in} and {thin}")
    if P.is_empty():
        raise InvalidInputError("cannot sample from an empty polyhedron")
    if not P.is_bounded():
        raise InvalidInputError(
            "cannot sample uniformly from an unbounded polyhedron; intersect it with a Box first"
        )
    hull = P.affine_hull()
    dim_a = P.ambient_dim
    if n == 0:
        return np.zeros((0, dim_a))
    if hull.dim == 0:
        return np.tile(hull.point, (n, 1))
    rng = np.random.default_rng(seed)
    free = ~hull.implicit
    A = P.A[free]
    b = P.b[free]
    AN = A @ hull.basis  # (m, k)
    k = hull.dim
    chains = min(_CHAINS, n)
    U = np.zeros((chains, k))  # coordinates relative to the interior point
    base_slack = b - A @ hull.point  # > 0 on free rows
    per_chain = -(-n // chains)
    total_steps = burn_in + per_chain * thin
    out = np.empty((chains, per_chain, k))
    kept = 0
    for step in range(total_steps):
        D = rng.standard_normal((chains, k))
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        slack = base_slack[None, :] - U @ AN.T  # (c, m) distance to each free row
        rate = D @ AN.T  # (c, m)  how fast each row is approached
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = slack / rate
        upper = np.where(rate > 0, ratio, np.inf).min(axis=1, initial=np.inf)
        lower = np.where(rate < 0, ratio, -np.inf).max(axis=1, initial=-np.inf)
        upper = np.maximum(upper, 0.0)
        lower = np.minimum(lower, 0.0)
        if not (np.all(np.isfinite(upper)) and np.all(np.isfinite(lower))):  # pragma: no cover
            raise InvalidInputError("the polyhedron is unbounded along a sampled direction")
        t = lower + rng.random(chains) * (upper - lower)
        U = U + t[:, None] * D
        if step >= burn_in and (step - burn_in) % thin == thin - 1:
            out[:, kept] = U
            kept += 1
    # interleave chains so that a prefix of the result mixes every chain
    order = np.arange(chains * per_chain).reshape(chains, per_chain).T.reshape(-1)[:n]
    return hull.point + out.reshape(-1, k)[order] @ hull.basis.T
