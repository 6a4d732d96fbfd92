"""The rotation of a circulant layer's cone (paper 000, §4): its orientation beyond apex and angle.

Paper 000, §4: *"Geometrically, the cone is determined by the apex location, the angle of the
planes to the central identity line and its rotation in d-dimensional space. Apex location and
angle are two parameters which leaves d − 2 parameters for the multidimensional rotation in
R^d. [...] The finite support of the convolution weights in CNN:s will heavily restrict
rotations of the cone."*

The hyperplanes are ``Π_i = {x : c_i·x + b = 0}`` with ``c_i`` the cyclic shifts of the first
row ``c_0``. Up to a positive scale, the arrangement is fixed by the unit normal
``c_0/‖c_0‖ ∈ S^{d−1}``. Split it along the identity line: ``c_0 = (a/d)·1 + w`` with
``w ⊥ 1``. The ratio ``a/‖c_0‖`` is the angle (``sin θ = |a|/(‖c_0‖√d)``), the apex is
``−(b/a)·1``, and what remains is the **orientation** ``u = w/‖w‖``, a point of the unit sphere
``S^{d−2}`` of ``1^⊥`` — the ``d − 2`` rotational parameters.

The circulant's eigenvectors are the Fourier modes ``v_m[j] = exp(2πi·j·m/d)`` whatever the
kernel, so the orientation is carried by the eigenvalues ``λ_m`` (``m ≠ 0``; ``λ_0 = a``):
:func:`cone_orientation` returns ``ω_m = λ_m / (Σ_{m≠0} |λ_m|²)^{1/2}`` for
``m = 1 … ⌊d/2⌋`` as magnitudes ``|ω_m|`` and phases ``arg ω_m``, and ``u`` itself as the real
unit vector ``(√2·Re ω_1, √2·Im ω_1, …, [ω_{d/2}])`` (Parseval: ``‖u‖ = 1``). Relabelling the
planes (``Π_i → Π_{i+s}``) adds ``2π·m·s/d`` to the phase of ``ω_m`` and gives the same cone.

**Short kernels restrict the rotation.** A kernel of ``k`` taps spans a ``k``-dimensional
subspace ``V`` of first rows. For ``k < d``, ``1 ∉ V``, so ``c ↦ w`` is injective on ``V`` and
the reachable orientations form a ``(k − 1)``-dimensional subset of ``S^{d−2}``; but then the
angle is a function of the orientation, and at a fixed angle only ``k − 2`` orientation
parameters are free, against ``d − 2`` for an unrestricted circulant. :func:`orientation_freedom`
measures these dimensions as Jacobian ranks at a given kernel (an SVD rank decision), instead of
counting parameters (:attr:`CirculantLayer.rotational_degrees_of_freedom`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .. import tolerances
from .._validation import as_float_array, readonly
from ..errors import InvalidInputError
from .circulant import CirculantLayer

__all__ = ["ConeOrientation", "cone_orientation", "OrientationFreedom", "orientation_freedom"]


@dataclass(frozen=True, slots=True, eq=False)
class ConeOrientation:
    """The orientation of a circulant layer's cone (see the module notes).

    Attributes
    ----------
    frequencies : ``m = 1 … ⌊d/2⌋``.
    magnitudes : ``|ω_m|``, the normalised eigenvalue magnitudes.
    phases : ``arg ω_m`` in ``(−π, π]`` (``0`` where ``|ω_m| = 0``).
    vector : ``u ∈ S^{d−2}``, the unit vector of real Fourier coordinates of the orientation.
    angle : the angle (radians) of the planes to the identity line (as :attr:`CirculantLayer.angle`).
    degrees_of_freedom : ``d − 2``, the dimension of the sphere ``u`` lives on.

    Examples
    --------
    >>> from preimage.conv import circulant
    >>> o = cone_orientation(circulant([1.0, 0.5], 4))     # λ_m = 1 + 0.5·i^m
    >>> o.frequencies, [round(float(p), 6) for p in o.phases]
    ((1, 2), [0.463648, 0.0])
    >>> round(float(np.linalg.norm(o.vector)), 12), o.degrees_of_freedom
    (1.0, 2)
    """

    frequencies: tuple[int, ...]
    magnitudes: np.ndarray
    phases: np.ndarray
    vector: np.ndarray
    angle: float
    degrees_of_freedom: int


def _real_fourier(lam: np.ndarray, d: int) -> np.ndarray:
    """``(√2·Re λ_1, √2·Im λ_1, …, [λ_{d/2}])``: an isometry of ``1^⊥`` onto ``R^{d−1}``
    (up to the factor ``√d``) in the eigenvalue coordinates."""
    out: list[float] = []
    for m in range(1, (d - 1) // 2 + 1):
        out += [math.sqrt(2.0) * float(lam[m].real), math.sqrt(2.0) * float(lam[m].imag)]
    if d % 2 == 0:
        out.append(float(lam[d // 2].real))
    return np.array(out)


def cone_orientation(layer: CirculantLayer) -> ConeOrientation:
    """The orientation parameters of ``layer``'s cone beyond apex and angle (1-D layers).

    Raises
    ------
    InvalidInputError : not a 1-D :class:`CirculantLayer`, or ``d < 2``.
    InvalidInputError : also when the normals are parallel to ``1`` (``λ_m = 0`` for all
        ``m ≠ 0``, a constant first row):
        there is no orientation.
    """
    if not isinstance(layer, CirculantLayer):
        raise InvalidInputError(f"layer must be a CirculantLayer, got {type(layer).__name__}")
    if layer.ndim != 1 or layer.size < 2:
        raise InvalidInputError(f"cone_orientation needs a 1-D layer with d >= 2, got shape {layer.shape}")
    d = layer.size
    lam = np.asarray(layer.eigenvalues())
    rest = math.sqrt(float(np.sum(np.abs(lam[1:]) ** 2)))
    if rest <= tolerances.RANK_RELATIVE * float(np.abs(lam).max(initial=0.0)):
        raise InvalidInputError(
            "the hyperplane normals are parallel to the identity line (λ_m = 0 for every m ≠ 0): "
            "the cone has no orientation"
        )
    omega = lam / rest
    freqs = tuple(range(1, d // 2 + 1))
    mags = np.abs(omega[list(freqs)])
    phases = np.where(mags > tolerances.RANK_RELATIVE, np.angle(omega[list(freqs)]), 0.0)
    return ConeOrientation(freqs, readonly(mags), readonly(phases), readonly(_real_fourier(omega, d)),
                           layer.angle, d - 2)


@dataclass(frozen=True, slots=True)
class OrientationFreedom:
    """Dimensions of the cones reachable near one kernel (Jacobian ranks; module notes).

    Attributes
    ----------
    d, taps : signal size and number of free kernel taps ``k``.
    direction_rank : rank of ``taps ↦ c_0/‖c_0‖ ∈ S^{d−1}`` (angle and orientation together):
        ``k − 1``.
    orientation_rank : rank of ``taps ↦ u ∈ S^{d−2}``: ``k − 1`` for ``k < d``, ``d − 2`` for ``k = d``.
    at_fixed_angle : ``direction_rank − 1``: orientation parameters free at a fixed angle
        (``k − 2``; the paper's ``d − 2`` when ``k = d``).
    max_at_fixed_angle : ``d − 2``.
    singular_values : of the direction Jacobian (the rank decision's evidence).

    Examples
    --------
    >>> f = orientation_freedom([1.0, -0.3, 0.2], 12)
    >>> f.direction_rank, f.orientation_rank, f.at_fixed_angle, f.max_at_fixed_angle
    (2, 2, 1, 10)
    """

    d: int
    taps: int
    direction_rank: int
    orientation_rank: int
    at_fixed_angle: int
    max_at_fixed_angle: int
    singular_values: np.ndarray


def _rank(J: np.ndarray, scale: float) -> tuple[int, np.ndarray]:
    """Rank of ``J`` relative to ``scale``, the size of its entries' natural unit (``1/‖c‖``)."""
    s = np.linalg.svd(J, compute_uv=False)
    return int(np.sum(s > tolerances.AMBIGUOUS_RANK_RELATIVE * scale)), s


def orientation_freedom(kernel: ArrayLike, d: int) -> OrientationFreedom:
    """Measure how many cone parameters a 1-D kernel of ``k`` taps can move (module notes).

    The maps are linear-then-normalised, so their Jacobians are exact:
    ``d(c/‖c‖) = (I − ĉĉᵀ)/‖c‖ · S`` with ``S`` placing the taps into the first row, and
    ``du = (I − uuᵀ)/‖w‖ · (I − 11ᵀ/d) · S``. Ranks are decided by SVD with
    ``tolerances.AMBIGUOUS_RANK_RELATIVE`` relative to ``1/‖c_0‖`` (resp. ``1/‖w‖``), the scale
    of the Jacobians' entries (the columns of ``S`` are unit vectors).

    Parameters
    ----------
    kernel : the 1-D kernel (``k <= d`` taps; all of them are free parameters).
    d : signal size.
    """
    K = as_float_array("kernel", kernel)
    if K.ndim != 1 or K.size == 0:
        raise InvalidInputError(f"kernel must be a non-empty 1-D array, got shape {K.shape}")
    if not isinstance(d, (int, np.integer)) or d < 2 or K.size > d:
        raise InvalidInputError(f"d must be an integer >= max(2, len(kernel)) = {max(2, K.size)}, got {d!r}")
    d = int(d)
    k = K.size
    layer = CirculantLayer(K, d)
    S = np.zeros((d, k))
    row = np.asarray(layer.first_row, dtype=np.float64)
    for t in range(k):  # the first row as a linear function of the taps
        e = np.zeros(k)
        e[t] = 1.0
        S[:, t] = np.asarray(CirculantLayer(e, d).first_row)
    c_norm = float(np.linalg.norm(row))
    if c_norm == 0.0:
        raise InvalidInputError("kernel must not be all zeros")
    c_hat = row / c_norm
    Jdir = (np.eye(d) - np.outer(c_hat, c_hat)) @ S / c_norm
    w = row - row.mean()
    w_norm = float(np.linalg.norm(w))
    if w_norm <= tolerances.RANK_RELATIVE * c_norm:
        raise InvalidInputError("the first row is constant: the cone has no orientation")
    u = w / w_norm
    Jori = (np.eye(d) - np.outer(u, u)) @ (np.eye(d) - np.full((d, d), 1.0 / d)) @ S / w_norm
    rdir, s = _rank(Jdir, 1.0 / c_norm)
    rori, _ = _rank(Jori, 1.0 / w_norm)
    return OrientationFreedom(d, k, rdir, rori, max(rdir - 1, 0), max(d - 2, 0), readonly(s))
