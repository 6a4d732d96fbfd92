"""Hyperplanes and the dual basis of one layer ``y = relu(W x + b)`` (both papers, §2–3).

This is the geometry of a ReLU layer: :func:`dual_basis` takes the layer's ``activation``
(default: a ReLU) and refuses any other one with :class:`~preimage.errors.InvalidInputError`
(its apex solves the ReLU's equations ``w_j·x + b_j = y_j`` / ``= 0``). The exact one-layer
preimage for other elementwise activations is :func:`preimage.layer_preimage`'s.

The hyperplane of node ``i`` is ``Π_i = {x : w_i·x + b_i = 0}``. For ``W`` of full row
rank the dual basis vectors ``e_i`` satisfy ``w_j·e_i = δ_ij``: ``e_i`` runs along the
intersection of all hyperplanes but ``Π_i`` (paper 002 §2, paper 000 eq. 10). For square
``W`` they are the columns of ``W⁻¹``; for wide ``W`` (fewer rows than columns) they are
the columns of the pseudo-inverse, and the null space of ``W`` adds free directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import tolerances
from .._rank import _decide
from .._validation import as_matrix, as_vector, readonly, require_relu
from ..errors import InvalidInputError

__all__ = ["Hyperplanes", "DualBasis", "hyperplanes", "dual_basis", "check_activity", "rank_decision"]


@dataclass(frozen=True, slots=True, eq=False)
class Hyperplanes:
    """The hyperplanes ``Π_i = {x : normals[i]·x + offsets[i] = 0}`` with unit normals.

    ``degenerate[i]`` marks rows ``w_i = 0`` (no hyperplane: the node is constant).
    """

    normals: np.ndarray
    offsets: np.ndarray
    degenerate: np.ndarray

    def signed_distance(self, X) -> np.ndarray:
        """``(N, m)`` signed distances of points to each hyperplane (positive side: ``w·x + b > 0``)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return X @ self.normals.T + self.offsets

    def __len__(self) -> int:
        return int(self.normals.shape[0])


def hyperplanes(W, b) -> Hyperplanes:
    """The hyperplanes of the layer ``relu(W x + b)``.

    >>> H = hyperplanes([[3.0, 4.0]], [5.0])
    >>> H.normals.tolist(), H.offsets.tolist()
    ([[0.6, 0.8]], [1.0])
    """
    W = as_matrix("W", W)
    b = as_vector("b", b, length=W.shape[0])
    norms = np.linalg.norm(W, axis=1)
    degenerate = norms <= tolerances.ZERO_ROW
    safe = np.where(degenerate, 1.0, norms)
    return Hyperplanes(readonly(W / safe[:, None]), readonly(b / safe), readonly(degenerate))


@dataclass(frozen=True, slots=True, eq=False)
class RankDecision:
    """Outcome of deciding the row rank of ``W`` (singular values relative to the largest)."""

    rank: int
    full_row_rank: bool
    smallest_ratio: float


def rank_decision(W: np.ndarray, what: str = "W", *, scale: float = 0.0) -> RankDecision:
    """Row rank of ``W`` with an explicit ambiguity band.

    Singular values are measured against ``max(s_max, scale)``: below ``RANK_RELATIVE`` they
    are zero, from ``AMBIGUOUS_RANK_RELATIVE`` non-zero, and one in between raises
    :class:`AmbiguousGeometryError` — the rank is too close to call.

    >>> rank_decision(np.array([[1.0, 0.0], [1.0, 1e-13]])).rank
    1
    """
    m, n = W.shape
    if m == 0:
        return RankDecision(0, True, 1.0)
    s = np.linalg.svd(W, compute_uv=False)
    smax = max(float(s.max(initial=0.0)), float(scale))
    if smax == 0.0:
        return RankDecision(0, False, 0.0)
    rank = _decide(s, W.shape, scale, what)
    return RankDecision(rank, rank == m, float((s / smax).min()) if s.size else 1.0)


@dataclass(frozen=True, slots=True, eq=False)
class DualBasis:
    """The dual basis of a layer.

    Attributes
    ----------
    vectors : (n, m) — column ``i`` is ``e_i``, with ``W @ vectors = I``.
    apex : (n,) — ``x*``: on ``Π*_j`` for positive outputs and on ``Π_i`` for zero outputs
        when an activity was given; otherwise the common point of all hyperplanes
        (``W x* + b = 0``; the minimum-norm one when ``W`` is wide).
    null_space : (n, n - m) — orthonormal basis of ``ker W`` (empty for square ``W``).
    """

    vectors: np.ndarray
    apex: np.ndarray
    null_space: np.ndarray

    @property
    def is_square(self) -> bool:
        return self.null_space.shape[1] == 0

    def coordinates(self, X) -> np.ndarray:
        """Dual coordinates ``α`` of points: ``x = apex + Σ α_i e_i + (null-space part)``."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        # w_j·(x - apex) = α_j because w_j·e_i = δ_ij and W kills the null space
        return np.linalg.lstsq(self.vectors, (X - self.apex).T, rcond=None)[0].T


def _dual_vectors(W: np.ndarray) -> tuple[np.ndarray, np.ndarray] | RankDecision:
    """``(E, N)``: right inverse with ``W E = I`` and an orthonormal null-space basis.

    Returns the :class:`RankDecision` instead when ``W`` (``m <= n``) lacks full row rank,
    and raises :class:`AmbiguousGeometryError` when that is too close to call. The fast
    path inverts first and certifies full rank by the Frobenius condition number
    (``κ₂ <= κ_F``); only when that certificate fails are singular values computed.
    """
    import scipy.linalg as sl

    m, n = W.shape
    E = N = None
    try:
        with np.errstate(all="ignore"):
            if m == n:
                E, N = np.linalg.inv(W), np.zeros((n, 0))
                kappa = np.linalg.norm(W) * np.linalg.norm(E)
            else:
                Q, R = sl.qr(W.T, mode="full", check_finite=False)  # Wᵀ = Q R
                Rinv = sl.solve_triangular(R[:m, :m], np.eye(m), lower=False, check_finite=False)
                E, N = Q[:, :m] @ Rinv.T, Q[:, m:].copy()
                kappa = np.linalg.norm(R[:m, :m]) * np.linalg.norm(Rinv)
    except (np.linalg.LinAlgError, sl.LinAlgError):
        kappa = np.inf
    if np.isfinite(kappa) and kappa * tolerances.AMBIGUOUS_RANK_RELATIVE < 1.0:
        return E, N  # type: ignore[return-value]
    decision = rank_decision(W)  # exact decision from singular values (may raise)
    if not decision.full_row_rank:
        return decision
    if E is None or not np.all(np.isfinite(E)):  # pragma: no cover - full rank implies invertible
        E = np.linalg.pinv(W)
        N = sl.null_space(W)
    return E, N  # type: ignore[return-value]


def dual_basis(W, b, y=None, *, activation=None) -> DualBasis:
    """The dual basis ``e_i`` (``w_j·e_i = δ_ij``) and apex ``x*`` of the layer ``relu(W x + b)``.

    Parameters
    ----------
    W : (m, n) weight with full row rank (``m <= n``).
    b : (m,) bias.
    y : (m,) optional activity (non-negative). With ``y`` the apex solves
        ``w_j·x + b_j = y_j`` for ``y_j > 0`` and ``w_i·x + b_i = 0`` for ``y_i = 0``.
    activation : the layer's :class:`~preimage.activations.Activation` (e.g.
        ``net.layers[k].activation``); ``None`` or a ReLU. The dual basis of the papers is
        that of a ReLU layer: any other activation raises :class:`InvalidInputError`.

    Raises
    ------
    InvalidInputError : ``W`` has more rows than columns, or is rank-deficient (no dual basis
        exists; :func:`~preimage.layer_preimage` still returns the exact set); or
        ``activation`` is not a ReLU.
    AmbiguousGeometryError : ``W`` is so nearly singular that its rank is too close to call.

    Examples
    --------
    >>> D = dual_basis([[1.0, 1.0], [0.0, 1.0]], [0.0, -1.0])
    >>> D.vectors.tolist()
    [[1.0, -1.0], [0.0, 1.0]]
    >>> D.apex.tolist()          # the common point of both hyperplanes
    [-1.0, 1.0]
    """
    require_relu(activation, "the dual basis of papers 000/002", "this layer")
    W = as_matrix("W", W)
    m, n = W.shape
    b = as_vector("b", b, length=m)
    if m > n:
        raise InvalidInputError(
            f"W has more rows ({m}) than columns ({n}): no dual basis exists (w_j·e_i = δ_ij needs "
            f"rows <= columns); layer_preimage still returns the exact preimage as an H-representation"
        )
    target = -b if y is None else check_activity(y, m) - b
    vectors = _dual_vectors(W)
    if isinstance(vectors, RankDecision):
        raise InvalidInputError(
            f"W ({m}×{n}) has rank {vectors.rank} < {m}: its hyperplanes are not in general position "
            f"and no dual basis exists; layer_preimage still returns the exact preimage"
        )
    E, N = vectors
    apex = E @ target
    return DualBasis(readonly(E), readonly(apex), readonly(N))


def check_activity(y, m: int, name: str = "y") -> np.ndarray:
    """An activity after a ReLU: finite, non-negative, of length ``m``."""
    y = as_vector(name, y)
    if y.shape[0] != m:
        raise InvalidInputError(
            f"{name} must be an activity of length {m} (one entry per node), got length {y.shape[0]}"
        )
    neg = np.flatnonzero(y < 0)
    if neg.size:
        raise InvalidInputError(
            f"{name} must be non-negative (it is the output of a ReLU), but {name}[{neg[0]}] = {float(y[neg[0]])}"
            + (f" and {neg.size - 1} more entries are negative" if neg.size > 1 else "")
        )
    return y
