"""Accumulated kernels and the null vectors of convolutions (paper 002, §3).

* :func:`effective_kernel` — the kernel ``w^(l) = w0(1) * w0(2) * … * w0(l)`` that maps the
  input directly to layer ``l`` of a stack of (linear, no-ReLU) convolutions, by repeated
  *full* convolution. With the cross-correlation convention of PyTorch/ONNX
  (``y_i = Σ_k w[k]·x[i + k]``) two layers compose as
  ``z_i = Σ_m v[m] Σ_k w[k] x[i + m + k] = Σ_n (w * v)[n] x[i + n]``: the accumulated kernel
  is the ordinary full convolution of the layer kernels, in any order.
* :func:`constant_null_vector` — an "edge-like" kernel (sum 0) annihilates the constant
  vector ``(1, …, 1)``; so does every accumulated kernel built on it
  (``sum(w * v) = sum(w)·sum(v)``).
* :func:`step_edge_null_vector` — deleting rows of a zero-sum convolution so that no
  remaining row straddles position ``i | i+1`` makes the step edge ``(a, …, a, b, …, b)``,
  with the step after position ``i``, a null vector of the remaining rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import tolerances
from .._validation import as_float_array, readonly
from ..errors import AmbiguousGeometryError, InvalidInputError

__all__ = [
    "effective_kernel",
    "effective_bias",
    "constant_null_vector",
    "StepEdge",
    "step_edge_null_vector",
]


def _kernel(name: str, value, ndim: int | None = None) -> np.ndarray:
    K = as_float_array(name, value)
    if K.ndim not in (1, 2) or (ndim is not None and K.ndim != ndim):
        want = f"{ndim}-D" if ndim is not None else "1-D or 2-D"
        raise InvalidInputError(f"{name} must be a {want} kernel, got an array of shape {K.shape}")
    if K.size == 0:
        raise InvalidInputError(f"{name} must have at least one entry, got an empty array of shape {K.shape}")
    return K


def effective_kernel(kernels: Sequence) -> np.ndarray:
    """The accumulated kernel of a stack of convolutions (paper 002, eq. 10).

    Parameters
    ----------
    kernels : sequence of (k,) or (k1, k2) arrays, all 1-D or all 2-D, first layer first.

    Returns
    -------
    ndarray
        The full convolution ``kernels[0] * kernels[1] * …`` (length ``Σ k_l − (L − 1)`` per
        axis), read-only. Computed by direct summation (no FFT), so integer kernels give exact
        integers.

    Examples
    --------
    >>> effective_kernel([[1.0, -1.0], [1.0, -1.0]]).tolist()      # two differences: a second difference
    [1.0, -2.0, 1.0]
    >>> effective_kernel([[[1.0, 1.0]], [[1.0], [1.0]]]).tolist()  # a row and a column: a box
    [[1.0, 1.0], [1.0, 1.0]]
    """
    from scipy.signal import convolve

    ks = list(kernels)
    if not ks:
        raise InvalidInputError("kernels must be a non-empty sequence of 1-D or 2-D kernels, got none")
    first = _kernel("kernels[0]", ks[0])
    out = first
    for i, k in enumerate(ks[1:], start=1):
        out = convolve(out, _kernel(f"kernels[{i}]", k, first.ndim), mode="full", method="direct")
    return readonly(np.array(out, dtype=np.float64))


def effective_bias(kernels: Sequence, biases: Sequence[float]) -> float:
    """The bias of the accumulated (linear) layer: ``b^(l) = b_l + sum(w0(l))·b^(l−1)``.

    >>> effective_bias([[1.0, 1.0], [2.0, -1.0]], [0.5, -1.0])
    -0.5
    """
    ks = list(kernels)
    bs = [float(v) for v in biases]
    if len(ks) != len(bs) or not ks:
        raise InvalidInputError(
            f"kernels and biases must be non-empty and of equal length, got {len(ks)} and {len(bs)}"
        )
    total = 0.0
    for i, (k, b) in enumerate(zip(ks, bs)):
        if not math.isfinite(b):
            raise InvalidInputError(f"biases[{i}] must be finite, got {b}")
        total = b + math.fsum(_kernel(f"kernels[{i}]", k).ravel().tolist()) * total
    return total


def _zero_sum(K: np.ndarray, name: str = "kernel") -> None:
    """Raise unless ``K`` sums to zero (relative to ``‖K‖₁``, with the rank ambiguity band)."""
    a = math.fsum(K.ravel().tolist())
    scale = float(np.abs(K).sum())
    r = abs(a) / scale if scale > 0 else 0.0
    if scale == 0.0:
        raise InvalidInputError(f"{name} must have a non-zero entry, got all zeros of shape {K.shape}")
    if tolerances.RANK_RELATIVE <= r < tolerances.AMBIGUOUS_RANK_RELATIVE:
        raise AmbiguousGeometryError(
            f"{name} sums to {a:.3g} (|sum|/‖{name}‖₁ = {r:.3g}): too close to zero to call whether it is "
            f"edge-like (zero-sum)"
        )
    if r >= tolerances.AMBIGUOUS_RANK_RELATIVE:
        raise InvalidInputError(
            f"{name} must sum to zero (an edge-like kernel) for the constant vector to be a null vector, "
            f"but it sums to {a:.6g}"
        )


def constant_null_vector(kernel, shape=None) -> np.ndarray:
    """The unit constant vector ``1/√d``, a null vector of a zero-sum kernel's convolution.

    For every ('valid') row ``w_r`` of the convolution ``w_r·1 = sum(kernel) = 0``. The
    result is verified by applying the convolution (``scipy.signal.correlate``) to it.

    Parameters
    ----------
    kernel : (k,) or (k1, k2) array_like summing to zero.
    shape : the signal's shape (default: the kernel's own shape, a single row).

    Raises
    ------
    InvalidInputError : the kernel does not sum to zero, or the signal is shorter than the kernel.

    Examples
    --------
    >>> constant_null_vector([1.0, -2.0, 1.0], 4).tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    from scipy.signal import correlate

    K = _kernel("kernel", kernel)
    _zero_sum(K)
    shp = K.shape if shape is None else ((int(shape),) if np.ndim(shape) == 0 else tuple(int(v) for v in shape))
    if len(shp) != K.ndim or any(s < k for s, k in zip(shp, K.shape)):
        raise InvalidInputError(f"shape must have {K.ndim} axes, each at least the kernel's {K.shape}, got {shp}")
    v = np.full(shp, 1.0 / math.sqrt(int(np.prod(shp))))
    residual = float(np.abs(correlate(v, K, mode="valid", method="direct")).max())
    bound = tolerances.AMBIGUOUS_RANK_RELATIVE * float(np.abs(K).sum()) * float(v.flat[0])
    if residual > bound:  # pragma: no cover - guaranteed by the zero-sum check
        raise AmbiguousGeometryError(f"the constant vector leaves a residual {residual:.3g} > {bound:.3g}")
    return readonly(v)


@dataclass(frozen=True, slots=True)
class StepEdge:
    """The step-edge null vector of a zero-sum convolution with rows deleted (paper 002, §3).

    Attributes
    ----------
    vector : (d,) unit vector ``(a, …, a, b, …, b)`` orthogonal to ``1``: ``a > 0`` on
        positions ``0 … step``, ``b < 0`` on ``step + 1 … d − 1``.
    step : ``i`` — the step lies between positions ``i`` and ``i + 1``.
    left_value, right_value : ``a`` and ``b``.
    deleted_rows : the rows of the valid convolution removed (those straddling the step).
    remaining_rows : how many rows remain.
    null_dimension : ``dim ker`` of the remaining rows, ``d − remaining_rows`` (exact: the rows
        of a valid convolution with a non-zero kernel are linearly independent).
    full_null_dimension : ``dim ker`` of the whole valid convolution, ``k − 1``.
    unique_beyond_constant : ``null_dimension == 2`` — the null space is exactly
        ``span{1, step edge}``. True exactly when ``k = 2`` (kernel ``∝ (1, −1)``), see
        :func:`step_edge_null_vector`.
    residual : ``max |W_remaining · vector|`` (verified to vanish).
    """

    vector: np.ndarray
    step: int
    left_value: float
    right_value: float
    deleted_rows: tuple[int, ...]
    remaining_rows: int
    null_dimension: int
    full_null_dimension: int
    unique_beyond_constant: bool
    residual: float


def step_edge_null_vector(kernel, d: int, i: int) -> StepEdge:
    """The step edge with its step after position ``i``: a null vector of a zero-sum 1-D
    convolution once the rows straddling the step are deleted (paper 002, §3, eqs. 11–12).

    The valid convolution of a kernel of length ``k`` on ``d`` points has rows
    ``r = 0 … d − k``, row ``r`` covering positions ``r … r + k − 1``. The paper deletes "a
    specific kernel (i) so that no overlap occurs between kernels (i − 1) and (i + 1)"; for
    ``k = 2`` that is exactly row ``i``. For ``k > 2`` one deleted row is not enough (rows
    ``i − 1`` and ``i + 1`` would still overlap), so all rows ``r`` with
    ``r <= i < r + k − 1`` — at most ``k − 1`` of them — are deleted; then every remaining
    row lies entirely on one side of the step, where the step edge is constant, and a
    zero-sum row annihilates it.

    **When is the null space exactly one-dimensional beyond the constant?** The remaining
    rows are linearly independent, so their null space has dimension
    ``d − remaining = (k − 1) + (number deleted)``, which is at least ``k``. It equals 2 —
    ``span{1, step edge}`` — if and only if ``k = 2``, i.e. the kernel is a multiple of
    ``(1, −1)``, for every ``d >= 2`` and every ``0 <= i <= d − 2``. For ``k >= 3`` the step
    edge is still a null vector but not the only new one: the null space also holds the
    block-wise null vectors of the kernel on each side (e.g. the linear ramps of
    ``(1, −2, 1)``), ``2(k − 1)`` dimensions in the interior. ``k`` counts all entries,
    including zero end taps.

    Parameters
    ----------
    kernel : (k,) array_like summing to zero, ``2 <= k <= d``.
    d : signal length.
    i : the step lies between positions ``i`` and ``i + 1`` (``0 <= i <= d − 2``).

    Examples
    --------
    >>> s = step_edge_null_vector([1.0, -1.0], 4, 1)
    >>> s.deleted_rows, s.unique_beyond_constant, (s.vector > 0).tolist()
    ((1,), True, [True, True, False, False])
    """
    from scipy.signal import correlate

    K = _kernel("kernel", kernel, 1)
    _zero_sum(K)
    k = K.shape[0]
    d = int(d)
    i = int(i)
    if k < 2:
        raise InvalidInputError(f"kernel must have at least 2 entries (a zero-sum kernel of 1 entry is 0), got {k}")
    if d < k:
        raise InvalidInputError(f"d must be at least the kernel length {k}, got d = {d}")
    if not 0 <= i <= d - 2:
        raise InvalidInputError(f"i must lie in 0 … d − 2 = {d - 2} (the step is between i and i + 1), got {i}")
    rows = np.arange(d - k + 1)
    deleted = rows[(rows <= i) & (rows + k - 1 >= i + 1)]
    keep = np.setdiff1d(rows, deleted)
    n_left, n_right = i + 1, d - i - 1
    a, bval = math.sqrt(n_right / (d * n_left)), -math.sqrt(n_left / (d * n_right))  # unit norm, mean 0
    v = np.concatenate([np.full(n_left, a), np.full(n_right, bval)])
    W_v = correlate(v, K, mode="valid", method="direct")  # all rows of the valid convolution
    residual = float(np.abs(W_v[keep]).max()) if keep.size else 0.0
    bound = tolerances.AMBIGUOUS_RANK_RELATIVE * float(np.abs(K).sum()) * max(abs(a), abs(bval))
    if residual > bound:  # pragma: no cover - guaranteed by construction
        raise AmbiguousGeometryError(f"the step edge leaves a residual {residual:.3g} > {bound:.3g}")
    null_dim = d - int(keep.size)
    return StepEdge(
        vector=readonly(v),
        step=i,
        left_value=a,
        right_value=bval,
        deleted_rows=tuple(int(r) for r in deleted),
        remaining_rows=int(keep.size),
        null_dimension=null_dim,
        full_null_dimension=k - 1,
        unique_beyond_constant=null_dim == 2,
        residual=residual,
    )
