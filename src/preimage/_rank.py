"""Rank decisions with the library's ambiguity band, against a stated scale.

:func:`preimage.layer.dual_basis.rank_decision` measures singular values against the
largest one *of the same matrix*, so a matrix whose entries are all rounding noise (the
restriction of a map to a subspace on which it vanishes, e.g. ``1e-17``) gets full rank.
Here the reference is ``max(s_max, scale)``, with ``scale`` the size of the map the matrix
was cut from; the bands are the library's: below ``RANK_RELATIVE`` zero, from
``AMBIGUOUS_RANK_RELATIVE`` non-zero, in between :class:`AmbiguousGeometryError`.
"""

from __future__ import annotations

import numpy as np

from . import tolerances
from .errors import AmbiguousGeometryError

__all__ = ["decide_rank", "null_space"]


def _decide(s: np.ndarray, shape: tuple[int, int], scale: float, what: str) -> int:
    ref = max(float(s.max(initial=0.0)), float(scale))
    if ref == 0.0:
        return 0
    ratio = s / ref
    ambiguous = (ratio >= tolerances.RANK_RELATIVE) & (ratio < tolerances.AMBIGUOUS_RANK_RELATIVE)
    if np.any(ambiguous):
        raise AmbiguousGeometryError(
            f"{what} ({shape[0]}×{shape[1]}) is nearly rank-deficient: a singular value relative to "
            f"{ref:.3g} is {ratio[ambiguous].min():.3g}, inside the ambiguity band "
            f"[{tolerances.RANK_RELATIVE:.0e}, {tolerances.AMBIGUOUS_RANK_RELATIVE:.0e}); its rank is too close to call"
        )
    return int(np.sum(ratio >= tolerances.AMBIGUOUS_RANK_RELATIVE))


def decide_rank(M: np.ndarray, what: str, *, scale: float = 0.0) -> int:
    """Rank of ``M``, singular values measured against ``max(s_max, scale)``.

    >>> decide_rank(np.array([[1e-17, 0.0]]), "noise", scale=1.0), decide_rank(np.array([[1e-17, 0.0]]), "M")
    (0, 1)
    """
    if M.shape[0] == 0 or M.shape[1] == 0:
        return 0
    return _decide(np.linalg.svd(M, compute_uv=False), M.shape, scale, what)


def null_space(M: np.ndarray, what: str, *, scale: float = 0.0) -> tuple[int, np.ndarray]:
    """Rank of ``M`` (as :func:`decide_rank`) and an orthonormal basis (columns) of its null space."""
    n = M.shape[1]
    if M.shape[0] == 0:
        return 0, np.eye(n)
    _, s, vt = np.linalg.svd(M, full_matrices=True)
    r = _decide(s, M.shape, scale, what)
    return r, vt[r:].T
