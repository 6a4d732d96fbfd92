"""Circulant layers: the periodic model of a single-channel convolution (paper 000, §4).

A convolution with a small kernel on a long signal is, except for a few boundary rows,
the circulant matrix ``C`` whose row ``i`` is the kernel cyclically shifted to position
``i``. This module represents that matrix implicitly — by its kernel — and computes its
geometry exactly or by FFT in ``O(d log d)``: eigenvalues, invertibility, the dual basis
``e_i`` (``C e_i = δ_i``), the apex ``−(b/a)·1`` of the regular polyhedral cone formed by
the hyperplanes ``Π_i = {x : c_i·x + b = 0}``, the angle of those hyperplanes to the
identity line, and a numerical check of the cyclic symmetry.

Convention
----------
Cross-correlation, as in PyTorch's and ONNX's ``Conv``, on a periodic signal::

    (C x)_i = Σ_k kernel[k] · x[(i + k − origin) mod d]

with ``origin = 0`` by default, so that the rows ``0 … d−k`` of ``C`` are exactly the rows
of the real ("valid", unpadded) convolution. ``origin = (k−1)//2`` aligns the kernel's
centre tap with position ``i`` — the rows of a ``padding='same'`` convolution. In 2-D the
same formula holds per axis on an ``(h, w)`` image, flattened in C order (as
``torch.flatten``). The first row of ``C`` is therefore the vector ``c`` with
``c[(k − origin) mod d] = kernel[k]`` and ``C[i, j] = c[(j − i) mod d]``; every method below
(``matvec``, ``dense``, ``sparse``, ``eigenvalues``, ``dual_vector``) derives from that one
vector, so they agree by construction and the tests check them against independent
computations (``conv_matrix``, ``numpy.linalg``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .. import tolerances
from .._validation import as_float_array, describe, readonly
from ..errors import AmbiguousGeometryError, InvalidInputError


class _LazyFFT:
    """``scipy.fft``, imported on first use (keeps the command line's start-up short)."""

    def __getattr__(self, name: str):
        import scipy.fft

        return getattr(scipy.fft, name)


_fft = _LazyFFT()

__all__ = [
    "CirculantLayer",
    "InvertibilityCheck",
    "SymmetryCheck",
    "ConvCirculantComparison",
    "circulant",
    "conv_vs_circulant",
    "MAX_DENSE_SIZE",
]

log = logging.getLogger(__name__)

#: Largest signal size ``d`` for which :meth:`CirculantLayer.dense` builds the ``d × d`` matrix
#: (a size limit, not a tolerance: 4096² float64 entries are 128 MiB).
MAX_DENSE_SIZE: int = 4096

#: Largest ``d`` for which :meth:`CirculantLayer.verify_cyclic_symmetry` checks every
#: hyperplane on the dense matrix; above it, sampled rows and the operator are checked.
_DENSE_SYMMETRY_SIZE: int = 512


def _shape_tuple(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        out = tuple(int(v) for v in shape)
    except TypeError as exc:
        raise InvalidInputError(
            f"shape must be a signal length d, a tuple (d,) or an image size (h, w), got {describe(shape)}"
        ) from exc
    if len(out) not in (1, 2) or any(v < 1 for v in out) or any(float(v) != float(s) for v, s in zip(out, shape)):
        raise InvalidInputError(
            f"shape must be (d,) or (h, w) with positive integer sizes, got {tuple(shape)!r}"
        )
    return out


def _short(array: np.ndarray, limit: int = 8) -> str:
    flat = np.asarray(array).ravel()
    body = ", ".join(f"{v:.6g}" for v in flat[:limit])
    return f"[{body}{', …' if flat.size > limit else ''}]"


def _uniform_bias(bias: Any, size: int) -> float:
    arr = as_float_array("bias", bias)
    if arr.size == 0:
        raise InvalidInputError("bias must be one number (the same bias b in every row), got an empty array")
    if arr.size not in (1, size):
        raise InvalidInputError(
            f"bias must be one number, or {size} equal numbers (one per row), got {arr.size} values"
        )
    flat = arr.ravel()
    if np.any(flat != flat[0]):
        raise InvalidInputError(
            f"bias must be uniform: the cone analysis (apex −(b/a)·1, cyclic symmetry of the "
            f"hyperplanes) needs the same bias b in every row, but the given bias ranges from "
            f"{flat.min():.6g} to {flat.max():.6g}"
        )
    return float(flat[0])


@dataclass(frozen=True, slots=True)
class InvertibilityCheck:
    """Outcome of deciding whether a circulant is invertible from its spectrum.

    The singular values of a circulant are the moduli ``|λ_m|`` of its eigenvalues, so the
    decision is the library's rank rule applied to them: ``|λ_m| < RANK_RELATIVE·max|λ|`` is
    a zero eigenvalue (singular), and a ratio in ``[RANK_RELATIVE, AMBIGUOUS_RANK_RELATIVE)``
    raises :class:`AmbiguousGeometryError` instead of a verdict.

    Attributes
    ----------
    invertible : whether every eigenvalue is non-zero.
    smallest_ratio : ``min|λ| / max|λ|`` (the inverse condition number).
    frequency : the frequency ``(m,)`` or ``(m1, m2)`` of the smallest ``|λ|``.
    eigenvalue : that eigenvalue.
    nullity : how many eigenvalues count as zero (the dimension of ``ker C``).
    """

    invertible: bool
    smallest_ratio: float
    frequency: tuple[int, ...]
    eigenvalue: complex
    nullity: int


@dataclass(frozen=True, slots=True)
class SymmetryCheck:
    """Outcome of :meth:`CirculantLayer.verify_cyclic_symmetry`.

    Attributes
    ----------
    max_deviation : the largest deviation found, relative to the scale of what was compared
        (see the method's notes); ``0`` means exact.
    holds : ``max_deviation <= FEASIBILITY``.
    method : ``"dense"`` (every hyperplane of the dense matrix) or ``"structure"`` (sampled
        rows and random vectors through the FFT operator, for large ``d``).
    checks : how many individual comparisons were made.
    """

    max_deviation: float
    holds: bool
    method: Literal["dense", "structure"]
    checks: int


@dataclass(frozen=True, slots=True, eq=False)
class CirculantLayer:
    """The layer ``y = relu(C x + b·1)`` with ``C`` circulant (kernel on a periodic signal).

    Build with :func:`circulant`. The matrix ``C`` is never formed unless asked for
    (:meth:`dense`, :meth:`sparse`); products, eigenvalues and the dual basis use the FFT.

    Attributes
    ----------
    kernel : (k,) or (k1, k2) read-only float64 array.
    shape : (d,) or (h, w) — the signal's shape.
    bias : the uniform bias ``b``.
    origin : the kernel index on the diagonal of ``C`` (per axis), see the module notes.

    Examples
    --------
    >>> L = circulant([2.0, -1.0], 4, bias=-1.0)
    >>> L.dense().tolist()
    [[2.0, -1.0, 0.0, 0.0], [0.0, 2.0, -1.0, 0.0], [0.0, 0.0, 2.0, -1.0], [-1.0, 0.0, 0.0, 2.0]]
    >>> L.matvec([1.0, 0.0, 0.0, 0.0]).tolist()
    [2.0, 0.0, 0.0, -1.0]
    >>> L.kernel_sum, L.apex.tolist()          # a = 1, apex −(b/a)·1
    (1.0, [1.0, 1.0, 1.0, 1.0])
    >>> e0 = L.dual_vector()                   # C e_0 = δ_0
    >>> (np.round(L.matvec(e0), 12) + 0.0).tolist()
    [1.0, 0.0, 0.0, 0.0]
    """

    kernel: np.ndarray
    shape: tuple[int, ...]
    bias: float
    origin: tuple[int, ...]
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __init__(self, kernel, shape, bias: Any = 0.0, origin: int | Sequence[int] = 0) -> None:
        shp = _shape_tuple(shape)
        K = as_float_array("kernel", kernel)
        while K.ndim > len(shp) and K.shape[0] == 1:  # accept (1, 1, k) slices of conv weights
            K = K[0]
        if K.ndim != len(shp):
            raise InvalidInputError(
                f"kernel must have {len(shp)} axis{'es' if len(shp) > 1 else ''} to act on a signal of "
                f"shape {shp}, got {describe(K)}"
            )
        if K.size == 0:
            raise InvalidInputError(f"kernel must have at least one entry, got an empty array of shape {K.shape}")
        for ax, (k, n) in enumerate(zip(K.shape, shp)):
            if k > n:
                raise InvalidInputError(
                    f"kernel is longer than the signal along axis {ax}: length {k} > signal length {n} "
                    f"(a circulant row of length {n} holds at most {n} taps)"
                )
        if not np.any(K):
            raise InvalidInputError(
                f"kernel must have a non-zero entry: the all-zero kernel of shape {K.shape} has no hyperplanes"
            )
        org = (int(origin),) * len(shp) if np.isscalar(origin) else tuple(int(v) for v in origin)  # type: ignore[arg-type]
        if len(org) != len(shp) or any(not 0 <= o < k for o, k in zip(org, K.shape)):
            raise InvalidInputError(
                f"origin must be a kernel index per axis (0 <= origin < {K.shape}), got {origin!r}"
            )
        object.__setattr__(self, "kernel", readonly(np.ascontiguousarray(K)))
        object.__setattr__(self, "shape", shp)
        object.__setattr__(self, "bias", _uniform_bias(bias, int(np.prod(shp))))
        object.__setattr__(self, "origin", org)
        object.__setattr__(self, "_cache", {})

    # -- shape -------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """``d``, the number of positions (``h·w`` for an image)."""
        return int(np.prod(self.shape))

    @property
    def ndim(self) -> int:
        """1 for signals, 2 for images."""
        return len(self.shape)

    def __repr__(self) -> str:
        return (f"CirculantLayer(kernel={_short(self.kernel)}, shape={self.shape}, bias={self.bias:g}"
                + (f", origin={self.origin}" if any(self.origin) else "") + ")")

    # -- the first row and the spectrum ------------------------------------------------------
    @property
    def first_row(self) -> np.ndarray:
        """``c`` of the signal's shape: ``C[i, j] = c[(j − i) mod shape]`` (row 0 of ``C``)."""
        if "row" not in self._cache:
            c = np.zeros(self.shape)
            c[tuple(slice(0, k) for k in self.kernel.shape)] = self.kernel
            c = np.roll(c, tuple(-o for o in self.origin), axis=tuple(range(self.ndim)))
            self._cache["row"] = readonly(c)
        return self._cache["row"]

    def _half_spectrum(self) -> np.ndarray:
        """Eigenvalues for the frequencies of ``rfftn`` (the other half are their conjugates)."""
        if "half" not in self._cache:
            self._cache["half"] = readonly(np.conj(_fft.rfftn(self.first_row, workers=-1)))
        return self._cache["half"]

    def eigenvalues(self) -> np.ndarray:
        """The eigenvalues ``λ_m`` of ``C``, an array of the signal's shape indexed by frequency.

        ``λ_m`` belongs to the Fourier mode ``v_m[j] = exp(2πi·j·m/d)`` (``C v_m = λ_m v_m``),
        and ``λ_m = Σ_k c_k exp(2πi·k·m/d)`` — the DFT of ``C``'s first column (equivalently the
        conjugate of the DFT of its first row). ``λ_0`` is the kernel sum ``a``.

        >>> lam = circulant([1.0, 1.0], 4).eigenvalues()      # 1 + exp(2πi·m/4)
        >>> (np.round(lam.real, 12) + 0.0).tolist(), (np.round(lam.imag, 12) + 0.0).tolist()
        ([2.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, -1.0])
        """
        return readonly(np.conj(_fft.fftn(self.first_row, workers=-1)))

    def check_invertible(self) -> InvertibilityCheck:
        """Decide from the spectrum whether ``C`` is invertible (see :class:`InvertibilityCheck`).

        Raises
        ------
        AmbiguousGeometryError
            When ``min|λ|/max|λ|`` lies in ``[RANK_RELATIVE, AMBIGUOUS_RANK_RELATIVE)``.
        """
        if "inv" not in self._cache:
            lam = self._half_spectrum()
            mod = np.abs(lam)
            smax = float(mod.max())
            ratio = mod / smax
            flat = int(np.argmin(ratio))
            where = tuple(int(v) for v in np.unravel_index(flat, lam.shape))
            r = float(ratio.flat[flat])
            if tolerances.RANK_RELATIVE <= r < tolerances.AMBIGUOUS_RANK_RELATIVE:
                raise AmbiguousGeometryError(
                    f"the circulant of kernel {_short(self.kernel)} on shape {self.shape} is nearly "
                    f"singular: its eigenvalue at frequency {_freq(where)} has |λ|/max|λ| = {r:.3g}, inside "
                    f"the ambiguity band [{tolerances.RANK_RELATIVE:.0e}, {tolerances.AMBIGUOUS_RANK_RELATIVE:.0e}); "
                    f"whether it is invertible is too close to call"
                )
            full = np.abs(self.eigenvalues()) / smax
            nullity = int(np.sum(full < tolerances.RANK_RELATIVE))
            self._cache["inv"] = InvertibilityCheck(
                invertible=r >= tolerances.AMBIGUOUS_RANK_RELATIVE,
                smallest_ratio=r,
                frequency=where,
                eigenvalue=complex(lam.flat[flat]),
                nullity=nullity,
            )
        return self._cache["inv"]

    @property
    def invertible(self) -> bool:
        """Whether ``C`` is invertible (:meth:`check_invertible`; may raise ambiguity)."""
        return self.check_invertible().invertible

    # -- products --------------------------------------------------------------------------------
    def _signal(self, name: str, x: Any) -> tuple[np.ndarray, bool]:
        arr = as_float_array(name, x)
        n, d = self.ndim, self.size
        if arr.ndim >= n and arr.shape[arr.ndim - n:] == self.shape:
            return arr, False
        if arr.ndim >= 1 and arr.shape[-1] == d:
            return arr.reshape(arr.shape[:-1] + self.shape), True
        raise InvalidInputError(
            f"{name} must be a signal of shape {self.shape} or a flat vector of length {d} "
            f"(optionally with leading batch axes), got an array of shape {arr.shape}"
        )

    def _apply(self, name: str, x: Any, spectrum: np.ndarray) -> np.ndarray:
        X, flat = self._signal(name, x)
        axes = tuple(range(-self.ndim, 0))
        Y = _fft.irfftn(_fft.rfftn(X, axes=axes, workers=-1) * spectrum, s=self.shape, axes=axes, workers=-1)
        return Y.reshape(Y.shape[: Y.ndim - self.ndim] + (self.size,)) if flat else Y

    def matvec(self, x) -> np.ndarray:
        """``C x`` by FFT (without the bias); ``x`` flat or of the signal's shape, same layout out."""
        return self._apply("x", x, self._half_spectrum())

    def rmatvec(self, y) -> np.ndarray:
        """``Cᵀ y`` by FFT (``Cᵀ`` is the circulant with the conjugate spectrum)."""
        return self._apply("y", y, np.conj(self._half_spectrum()))

    def __call__(self, x) -> np.ndarray:
        """The layer's output ``relu(C x + b)``."""
        return np.maximum(self.matvec(x) + self.bias, 0.0)

    # -- explicit matrices (small d) --------------------------------------------------------------
    def _check_dense(self, what: str) -> None:
        if self.size > MAX_DENSE_SIZE:
            raise InvalidInputError(
                f"{what} builds a d×d matrix, but d = {self.size} exceeds MAX_DENSE_SIZE = {MAX_DENSE_SIZE}; "
                f"use matvec/rmatvec/dual_vector (FFT) or sparse() instead"
            )

    def dense(self) -> np.ndarray:
        """The ``d × d`` matrix ``C`` (read-only; only for ``d <= MAX_DENSE_SIZE``)."""
        self._check_dense("dense()")
        idx = np.indices(self.shape).reshape(self.ndim, self.size)
        sizes = np.array(self.shape).reshape(-1, 1, 1)
        diff = (idx[:, None, :] - idx[:, :, None]) % sizes  # (axis, i, j): j − i
        return readonly(self.first_row[tuple(diff)])

    def sparse(self):
        """``C`` as a ``scipy.sparse.csr_array`` with ``d·(non-zero taps)`` entries (any ``d``)."""
        import scipy.sparse as sp

        d = self.size
        rows = np.arange(d)
        idx = np.stack(np.unravel_index(rows, self.shape))
        taps = np.argwhere(self.kernel != 0)
        r_all, c_all, v_all = [], [], []
        for t in taps:
            pos = (idx + (t - np.array(self.origin)).reshape(-1, 1)) % np.array(self.shape).reshape(-1, 1)
            r_all.append(rows)
            c_all.append(np.ravel_multi_index(tuple(pos), self.shape))
            v_all.append(np.full(d, self.kernel[tuple(t)]))
        return sp.csr_array((np.concatenate(v_all), (np.concatenate(r_all), np.concatenate(c_all))), shape=(d, d))

    def hyperplanes(self):
        """The hyperplanes ``Π_i = {x : c_i·x + b = 0}`` (unit normals; small ``d`` only)."""
        from ..layer.dual_basis import hyperplanes

        return hyperplanes(self.dense(), np.full(self.size, self.bias))

    # -- the dual basis --------------------------------------------------------------------------
    def _singular_message(self, chk: InvertibilityCheck) -> str:
        return (
            f"the circulant of kernel {_short(self.kernel)} on shape {self.shape} is singular: its "
            f"eigenvalue at frequency {_freq(chk.frequency)} is {abs(chk.eigenvalue):.3g} "
            f"(|λ|/max|λ| = {chk.smallest_ratio:.3g} < RANK_RELATIVE = {tolerances.RANK_RELATIVE:.0e}; "
            f"{chk.nullity} zero eigenvalue{'s' if chk.nullity != 1 else ''}), so its hyperplanes are not "
            f"in general position and no dual basis exists"
        )

    def dual_vector(self) -> np.ndarray:
        """``e_0``, the first dual basis vector, as an array of the signal's shape.

        ``C e_0 = δ_0``; the other dual basis vectors are its cyclic shifts
        (:meth:`dual_basis_vector`), since ``C⁻¹`` is circulant. Computed as the inverse DFT
        of ``1/λ`` in ``O(d log d)``.

        Raises
        ------
        InvalidInputError
            When ``C`` is singular (the message names the frequency of the zero eigenvalue).
        AmbiguousGeometryError
            When invertibility is too close to call.
        """
        if "e0" not in self._cache:
            chk = self.check_invertible()
            if not chk.invertible:
                raise InvalidInputError(self._singular_message(chk))
            axes = tuple(range(-self.ndim, 0))
            e0 = _fft.irfftn(1.0 / self._half_spectrum(), s=self.shape, axes=axes, workers=-1)
            self._cache["e0"] = readonly(e0)
        return self._cache["e0"]

    def dual_basis_vector(self, i: int | Sequence[int]) -> np.ndarray:
        """``e_i`` (flat index or multi-index), the cyclic shift of :meth:`dual_vector` by ``i``.

        ``C e_i = δ_i``: ``e_i`` runs along the intersection of all hyperplanes but ``Π_i``
        and points to the positive side of ``Π_i`` (``c_i·e_i = 1``).
        """
        e0 = self.dual_vector()
        shift = self._index(i)
        return readonly(np.roll(e0, shift, axis=tuple(range(self.ndim))))

    def dual_basis_matrix(self) -> np.ndarray:
        """``E = C⁻¹``, column ``i`` the flattened ``e_i`` (small ``d`` only)."""
        self._check_dense("dual_basis_matrix()")
        e0 = self.dual_vector().ravel()
        # E[j, i] = e_i[j] = e_0[(j − i) mod shape]
        idx = np.indices(self.shape).reshape(self.ndim, self.size)
        sizes = np.array(self.shape).reshape(-1, 1, 1)
        diff = (idx[:, :, None] - idx[:, None, :]) % sizes
        return readonly(e0.reshape(self.shape)[tuple(diff)])

    def _index(self, i: int | Sequence[int]) -> tuple[int, ...]:
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            if not 0 <= int(i) < self.size:
                raise InvalidInputError(f"i must be a position 0 <= i < {self.size}, got {i}")
            return tuple(int(v) for v in np.unravel_index(int(i), self.shape))
        try:
            out = tuple(int(v) for v in i)  # type: ignore[union-attr]
        except TypeError as exc:
            raise InvalidInputError(f"i must be a flat position or a multi-index, got {describe(i)}") from exc
        if len(out) != self.ndim or any(not 0 <= v < n for v, n in zip(out, self.shape)):
            raise InvalidInputError(f"i must be a multi-index within {self.shape}, got {i!r}")
        return out

    # -- the cone: apex and angle -------------------------------------------------------------
    @property
    def kernel_sum(self) -> float:
        """``a``, the sum of the kernel (= every row sum of ``C`` = ``λ_0``), correctly rounded."""
        return math.fsum(self.kernel.ravel().tolist())

    def _kernel_sum_is_zero(self) -> bool:
        """``a = 0`` by the same rule as a zero eigenvalue (``λ_0 = a``, scale ``max|λ|``)."""
        smax = float(np.abs(self._half_spectrum()).max())
        r = abs(self.kernel_sum) / smax
        if tolerances.RANK_RELATIVE <= r < tolerances.AMBIGUOUS_RANK_RELATIVE:
            raise AmbiguousGeometryError(
                f"the kernel sum a = {self.kernel_sum:.3g} is too close to zero to call "
                f"(|a|/max|λ| = {r:.3g} in [{tolerances.RANK_RELATIVE:.0e}, "
                f"{tolerances.AMBIGUOUS_RANK_RELATIVE:.0e})): "
                f"whether the cone has an apex is undecided"
            )
        return r < tolerances.RANK_RELATIVE

    @property
    def apex(self) -> np.ndarray | None:
        """The apex ``−(b/a)·1`` of the cone, of the signal's shape; ``None`` when ``a = 0``.

        Every row of ``C`` sums to ``a``, so ``−(b/a)·1`` lies on every hyperplane and on the
        identity line. When ``a = 0`` there is no apex: with ``b = 0`` every hyperplane contains
        the whole identity line, with ``b ≠ 0`` the hyperplanes have no common point at all.
        :attr:`apex_reason` says which case holds (and whether the apex is the unique common
        point, i.e. ``C`` is invertible).
        """
        if self._kernel_sum_is_zero():
            return None
        return readonly(np.full(self.shape, -self.bias / self.kernel_sum))

    @property
    def apex_reason(self) -> str:
        """Why :attr:`apex` is what it is, in words."""
        a, b = self.kernel_sum, self.bias
        if self._kernel_sum_is_zero():
            if b == 0.0:
                return ("kernel sum a = 0 and b = 0: C·1 = 0, so every hyperplane contains the whole "
                        "identity line; there is no single apex")
            return (f"kernel sum a = 0 and b = {b:g} ≠ 0: the hyperplanes have no common point "
                    f"(1ᵀ(Cx + b·1) = d·b ≠ 0 for every x), so there is no apex")
        chk = self.check_invertible()
        if chk.invertible:
            return (f"−(b/a)·1 with a = {a:.6g}, b = {b:g}: the unique common point of all "
                    f"{self.size} hyperplanes, on the identity line")
        return (f"−(b/a)·1 with a = {a:.6g}, b = {b:g} lies on every hyperplane, but C is singular "
                f"({chk.nullity} zero eigenvalue{'s' if chk.nullity != 1 else ''}, e.g. at frequency "
                f"{_freq(chk.frequency)}): the hyperplanes meet in an affine subspace of dimension "
                f"{chk.nullity} through it, and −(b/a)·1 is its point on the identity line")

    @property
    def angle(self) -> float:
        """The angle (radians) between every hyperplane ``Π_i`` and the identity line.

        ``arcsin(|c_i·1| / (‖c_i‖·√d)) = arcsin(|a| / (‖kernel‖·√d))``, the same for every
        ``i`` by the cyclic symmetry. ``0`` when ``a = 0`` (the hyperplanes contain the
        direction ``1``); ``π/2`` would mean a hyperplane orthogonal to ``1`` (only ``d = 1``).
        """
        ratio = abs(self.kernel_sum) / (float(np.linalg.norm(self.kernel)) * math.sqrt(self.size))
        return math.asin(min(ratio, 1.0))

    # -- cyclic symmetry ----------------------------------------------------------------------
    def verify_cyclic_symmetry(self, *, seed: int = 0, samples: int = 4) -> SymmetryCheck:
        """Check numerically that the cyclic shift ``P`` maps ``Π_i`` onto ``Π_{i+1}``.

        ``P`` is ``x_i ↦ x_{i+1}`` (``np.roll(x, 1)``; in 2-D the shifts along each axis).
        ``P Π_i = Π_{i+1}`` for every ``i`` is equivalent to ``c_{i+1} = P c_i`` (rows) and
        equal biases, i.e. to ``C P = P C`` — paper 000, eq. (18).

        For ``d <= 512`` (``method="dense"``) this measures, on the dense matrix: the largest
        ``|c_{i+1} − P c_i|`` over all rows and axes, relative to ``max|kernel|``; and, for a
        random point ``x_i`` on each ``Π_i``, the distance of ``P x_i`` from ``Π_{i+1}`` (the
        product evaluated through the FFT operator), relative to ``1 + ‖x_i‖``. For larger
        ``d`` (``method="structure"``) it checks ``samples`` rows obtained as ``Cᵀ δ_i`` by FFT
        and the commutation ``C P x = P C x`` on random ``x`` (relative to ``‖kernel‖₁·max|x|``),
        plus the point test on the sampled rows. Nothing is assumed from the construction.
        """
        rng = np.random.default_rng(seed)
        d = self.size
        sizes = np.array(self.shape)
        scale_k = float(np.abs(self.kernel).max())
        dev, checks = 0.0, 0
        if d <= _DENSE_SYMMETRY_SIZE:
            method: Literal["dense", "structure"] = "dense"
            rows = np.arange(d)
            dense = np.array(self.dense())
            R = dense  # R[pos] is row rows[pos] of C
        else:
            method = "structure"
            rows = np.unique(rng.integers(0, d, size=samples))
            R = self.rmatvec(_deltas(rows, d))  # row i of C is Cᵀ δ_i, by FFT
            X = rng.normal(size=(samples,) + self.shape)
            scale = float(np.abs(self.kernel).sum()) * float(np.abs(X).max())
            CX = self.matvec(X)
            for ax in range(self.ndim):  # C P x = P C x on random x
                lhs = self.matvec(np.roll(X, 1, axis=1 + ax))
                dev = max(dev, float(np.abs(lhs - np.roll(CX, 1, axis=1 + ax)).max()) / scale)
                checks += samples
        multi = np.stack(np.unravel_index(rows, self.shape))
        norms = np.linalg.norm(R, axis=1)
        for ax in range(self.ndim):
            step = (np.arange(self.ndim) == ax).astype(int).reshape(-1, 1)
            targets = np.ravel_multi_index(tuple((multi + step) % sizes.reshape(-1, 1)), self.shape)
            R_next = dense[targets] if method == "dense" else self.rmatvec(_deltas(targets, d))
            # the normals: c_{i+1} = P c_i
            shifted = np.roll(R.reshape((-1,) + self.shape), 1, axis=1 + ax).reshape(len(rows), d)
            dev = max(dev, float(np.abs(R_next - shifted).max()) / scale_k)
            checks += len(rows)
            # the points: x on Π_i  =>  P x on Π_{i+1} (evaluated through the FFT operator)
            U = rng.normal(size=(len(rows), d)) * (1.0 + abs(self.bias))
            X = U - ((np.einsum("ij,ij->i", R, U) + self.bias) / norms**2)[:, None] * R
            PX = np.roll(X.reshape((-1,) + self.shape), 1, axis=1 + ax)
            CPX = self.matvec(PX).reshape(len(rows), d)
            dist = np.abs(CPX[np.arange(len(rows)), targets] + self.bias) / norms
            dev = max(dev, float(np.max(dist / (1.0 + np.linalg.norm(X, axis=1)))))
            checks += len(rows)
        log.debug("cyclic symmetry of %r: max deviation %.3g (%s, %d checks)", self, dev, method, checks)
        return SymmetryCheck(dev, dev <= tolerances.FEASIBILITY, method, checks)

    # -- degrees of freedom -------------------------------------------------------------------------
    @property
    def rotational_degrees_of_freedom(self) -> int:
        """Free parameters left for the cone's rotation by this kernel: ``max(k − 2, 0)``.

        A layer ``(kernel, b)`` with ``k`` kernel entries has ``k + 1`` numbers; scaling both by
        a positive factor leaves the hyperplanes unchanged, leaving ``k`` parameters for the
        arrangement. The apex (``b/a``) and the angle (``a/‖kernel‖``) take one each, so
        ``k − 2`` remain for the multidimensional rotation of the cone (paper 000, §4; for an
        unrestricted circulant ``k = d`` and this is :attr:`max_rotational_degrees_of_freedom`
        ``= d − 2``). For ``k <= 2`` nothing is left (``k = 1``: the coordinate cone, whose
        angle is fixed too).

        This is a *parameter count* — an upper bound on the dimension of the family of cones a
        kernel of this support can produce. Zero entries inside the kernel count as free. The
        rotation itself (orientation parameters from the eigenvalues' magnitudes and phases) is
        :func:`preimage.conv.cone_orientation`, and :func:`preimage.conv.orientation_freedom`
        measures this count as a Jacobian rank (``at_fixed_angle``).
        """
        return max(int(self.kernel.size) - 2, 0)

    @property
    def max_rotational_degrees_of_freedom(self) -> int:
        """``d − 2``: the rotational freedom of an unrestricted circulant (paper 000, §4)."""
        return max(self.size - 2, 0)

    def nesting_radius(self):
        """Shortcut for :func:`preimage.conv.nesting_radius` of this layer."""
        from .nesting import nesting_radius

        return nesting_radius(self)


def _deltas(rows: np.ndarray, d: int) -> np.ndarray:
    """Unit vectors ``δ_i`` for ``i`` in ``rows``, one per row of the result."""
    E = np.zeros((len(rows), d))
    E[np.arange(len(rows)), rows] = 1.0
    return E


def _freq(where: tuple[int, ...]) -> str:
    return f"k={where[0]}" if len(where) == 1 else f"(k1, k2)=({where[0]}, {where[1]})"


def circulant(kernel, shape, bias: Any = 0.0, *, origin: int | Sequence[int] = 0) -> CirculantLayer:
    """The circulant layer of a 1-D kernel on a periodic signal, or a 2-D kernel on an image.

    Parameters
    ----------
    kernel : (k,) or (k1, k2) array_like
        Finite, not all zero, not longer than the signal along any axis. Leading axes of
        length 1 are dropped (a ``(1, 1, k)`` conv weight is accepted).
    shape : int, (d,) or (h, w)
        The signal's shape.
    bias : float
        The bias ``b`` shared by every row (a constant array is accepted; a non-uniform one
        raises :class:`InvalidInputError`: the cone analysis needs a uniform bias).
    origin : int or (int, int)
        The kernel index on the diagonal of ``C`` (default 0, see the module notes).

    Returns
    -------
    CirculantLayer

    Examples
    --------
    >>> L = circulant([[1.0, 0.5], [0.25, 0.0]], (3, 3), bias=-0.5)
    >>> L.size, L.kernel_sum, float(L.apex[0, 0])
    (9, 1.75, 0.2857142857142857)
    """
    return CirculantLayer(kernel, shape, bias, origin)


# -- the real convolution against its circulant ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class ConvCirculantComparison:
    """How far a real (zero-padded or valid) convolution is from its circulant.

    Attributes
    ----------
    mode : ``"valid"`` or ``"same"`` (zero padding, output as long as the input).
    shape : the signal's shape.
    conv_rows : rows of the real convolution; each is compared with the circulant row of the
        same output position (circulant ``origin`` = the padding at the start).
    boundary_rows : circulant rows that the real convolution does not reproduce exactly
        (rows it lacks, plus rows truncated by the zero padding).
    boundary_fraction : ``boundary_rows / d``.
    relative_frobenius : ``‖W − C_rows‖_F / ‖C_rows‖_F`` on the rows they share.
    apex_distance : distance from the least-squares (minimum-norm) solution ``x_ls`` of
        ``W x + b·1 = 0`` to the circulant apex ``−(b/a)·1``.
    apex_relative_distance : ``apex_distance / ‖apex‖``.
    residual : ``max_i |w_i·x_ls + b| / ‖w_i‖`` — 0 when the convolution's hyperplanes have a
        common point (``x_ls`` is then one), positive when they have none.
    max_angle_difference, mean_angle_difference : ``|angle(Π_i^conv) − angle(Π^circ)|`` over
        the convolution's rows (angles to the identity line, radians).

    Rows of the real convolution whose taps all fall into the zero padding are zero: they
    count as boundary rows but have no hyperplane, so they are left out of ``residual`` and
    the angles. ``apex_relative_distance`` is ``nan`` without an apex (``a = 0``).
    """

    mode: str
    shape: tuple[int, ...]
    conv_rows: int
    boundary_rows: int
    boundary_fraction: float
    relative_frobenius: float
    apex_distance: float
    apex_relative_distance: float
    residual: float
    max_angle_difference: float
    mean_angle_difference: float


def conv_vs_circulant(kernel, shape, mode: str = "valid", *, bias: float = 1.0) -> ConvCirculantComparison:
    """Measure how far the real convolution's geometry is from the circulant one.

    The real convolution (cross-correlation, built independently by
    :func:`preimage.network.conv_matrix`) with ``mode="valid"`` (no padding) or
    ``mode="same"``/``"zero"`` (zero padding ``(k−1)//2`` at the start, ``k//2`` at the end,
    as PyTorch's ``padding='same'``) is compared row by row with the circulant of the same
    kernel whose ``origin`` is the start padding. Paper 000, §4 calls the difference
    "negligible for small kernels in large d": the boundary fraction, the relative Frobenius
    difference and the relative apex distance decay like ``1/d`` or ``1/√d`` for a fixed
    kernel — *provided* the least-squares point is well conditioned. For ``"same"`` the
    truncated boundary rows move the common point; when the convolution matrix is badly
    conditioned (e.g. ``[1, 2]``, whose triangular Toeplitz inverse grows like ``2^d``) the
    apex distance does not decay, and the comparison says so rather than hiding it.

    Parameters
    ----------
    kernel : (k,) or (k1, k2) array_like
    shape : int, (d,) or (h, w)
    mode : ``"valid"``, ``"same"`` or ``"zero"`` (an alias of ``"same"``)
    bias : the uniform bias used for the apex comparison (default 1).

    Examples
    --------
    >>> r = conv_vs_circulant([1.0, -0.25], 8)
    >>> r.conv_rows, r.boundary_rows, r.relative_frobenius
    (7, 1, 0.0)
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import norm as sparse_norm

    from ..network.convolution import conv_matrix

    if mode not in ("valid", "same", "zero"):
        raise InvalidInputError(f"mode must be 'valid', 'same' or 'zero', got {mode!r}")
    shp = _shape_tuple(shape)
    K = as_float_array("kernel", kernel)
    if K.ndim != len(shp):
        raise InvalidInputError(f"kernel must have {len(shp)} axes for shape {shp}, got {describe(K)}")
    pads = tuple(((k - 1) // 2, k // 2) if mode != "valid" else (0, 0) for k in K.shape)
    layer = CirculantLayer(K, shp, bias, tuple(p[0] for p in pads))
    W, info = conv_matrix(K.reshape((1, 1) + K.shape), (1,) + shp, padding=pads)
    W = sp.csr_array(W)
    out_sp = info.out_shape[1:]
    out_idx = np.stack(np.unravel_index(np.arange(int(np.prod(out_sp))), out_sp))
    circ_rows = np.ravel_multi_index(tuple(out_idx), shp)  # same multi-index position
    C = layer.sparse()[circ_rows]
    D = (W - C).tocsr()
    D.eliminate_zeros()
    differing = int(np.count_nonzero(np.diff(D.indptr)))
    boundary = (layer.size - W.shape[0]) + differing
    rel_fro = float(sparse_norm(D) / sparse_norm(C))
    # least-squares (minimum-norm) common point of the real convolution's hyperplanes
    rhs = np.full(W.shape[0], -float(bias))
    x = _sparse_min_norm_solution(W, rhs)
    if x is None:
        if layer.size > MAX_DENSE_SIZE:
            raise InvalidInputError(
                f"the convolution matrix on shape {shp} is (nearly) singular and d = {layer.size} is too "
                f"large for a dense least-squares solve (MAX_DENSE_SIZE = {MAX_DENSE_SIZE})"
            )
        x = np.linalg.lstsq(W.toarray(), rhs, rcond=None)[0]
    row_norms = np.sqrt(np.asarray((W.multiply(W)).sum(axis=1))).ravel()
    live = row_norms > 0  # a boundary row whose taps all fall into the padding has no hyperplane
    residual = float(np.max(np.abs(W @ x - rhs)[live] / row_norms[live]))
    apex = layer.apex
    if apex is None:
        apex_dist = apex_rel = float("nan")
    else:
        apex_dist = float(np.linalg.norm(x - apex.ravel()))
        apex_norm = float(np.linalg.norm(apex))
        apex_rel = apex_dist / apex_norm if apex_norm > 0 else (0.0 if apex_dist == 0 else math.inf)
    row_sums = np.asarray(W.sum(axis=1)).ravel()[live]
    angles = np.arcsin(np.minimum(np.abs(row_sums) / (row_norms[live] * math.sqrt(layer.size)), 1.0))
    diff_angle = np.abs(angles - layer.angle)
    return ConvCirculantComparison(
        mode="valid" if mode == "valid" else "same",
        shape=shp,
        conv_rows=int(W.shape[0]),
        boundary_rows=int(boundary),
        boundary_fraction=boundary / layer.size,
        relative_frobenius=rel_fro,
        apex_distance=apex_dist,
        apex_relative_distance=apex_rel,
        residual=residual,
        max_angle_difference=float(diff_angle.max()),
        mean_angle_difference=float(diff_angle.mean()),
    )


def _sparse_min_norm_solution(W, rhs: np.ndarray) -> np.ndarray | None:
    """The minimum-norm solution of ``W x = rhs`` by a sparse factorisation, or ``None``.

    Square ``W``: ``x = W⁻¹ rhs``; wide ``W`` (full row rank): ``x = Wᵀ (W Wᵀ)⁻¹ rhs``.
    ``None`` when the factorisation fails or the solution does not solve the system (a
    singular ``W``); the caller then falls back to a dense least-squares solve.
    """
    import warnings

    import scipy.sparse.linalg as spla

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            if W.shape[0] == W.shape[1]:
                x = spla.spsolve(W.tocsc(), rhs)
            else:
                x = W.T @ spla.spsolve((W @ W.T).tocsc(), rhs)
        except (RuntimeError, ValueError, np.linalg.LinAlgError):
            return None
        if not np.all(np.isfinite(x)):
            return None
        if float(np.abs(W @ x - rhs).max()) > tolerances.CONTAINS * (1.0 + float(np.abs(x).max())):
            return None
    return np.asarray(x, dtype=np.float64)
