"""The preimage of one layer's activity: ``P(y) = Π* ∩ X⁻ ∩ domain`` (paper 000 eq. 9).

With ``J = {j : y_j > 0}`` and ``I = {i : y_i = 0}``:

* ``Π* = {x : w_j·x + b_j = y_j, j ∈ J}`` — the hyperplanes of the positive outputs,
  translated by their outputs;
* ``X⁻ = {x : w_i·x + b_i <= 0, i ∈ I}`` — the negative sides of the zero outputs;
* ``domain`` — the layer's input range: the orthant ``Rⁿ₊`` for a hidden layer (its
  input is a ReLU output), all of ``Rⁿ``, or any polyhedron/box.

When ``W`` has full row rank the set before the domain also has the papers' generator
form ``x* − Σ_{i ∈ I} α_i e_i + N β`` with ``α >= 0`` (paper 002 §2, paper 000 eq. 15),
``N`` spanning ``ker W`` (only when ``W`` is wide).

Other activations (``activation=``). The papers' construction is about ReLU layers; the same
exact set exists for every *elementwise* continuous piecewise-linear activation ``φ``
(:class:`~preimage.activations.PiecewiseLinear`: LeakyReLU, HardTanh, ReLU6, one-sided clips)
whose level set ``{z : φ(z) = y_i}`` is one interval for every unit — then ``P(y) =
{x : w_i·x + b_i ∈ φ⁻¹(y_i)} ∩ domain``: an equality where the level set is a point (a unit on
a strictly monotone piece: for a LeakyReLU with a positive slope, every unit, so ``P(y)`` is
an affine subspace — one point for square invertible ``W``), a half-space where it is a
half-line (a flat piece at the end: a ReLU's zero, a HardTanh at ``lo`` or ``hi``), a slab
where it is a bounded interval. The generator form is then ``x* + Σ ± α_i e_i + N β``
(``−e_i`` for ``(−∞, t]``, ``+e_i`` for ``[t, ∞)``). A level set of several intervals (a
non-monotone φ, e.g. a LeakyReLU with a negative slope: ``y > 0`` comes from ``z = y`` and
from ``z = y / slope``) makes ``P(y)`` a union, and a MaxPool mixes units: both raise
:class:`~preimage.errors.InvalidInputError` (the engine, :func:`preimage.preimage`, computes
such preimages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._validation import as_matrix, as_vector, readonly
from ..errors import InvalidInputError
from ..polyhedra import Box, Polyhedron
from .dual_basis import RankDecision, _dual_vectors, check_activity

__all__ = ["LayerPreimage", "layer_preimage"]


@dataclass(frozen=True, slots=True, eq=False)
class LayerPreimage:
    """The exact preimage of an activity through one layer.

    Attributes
    ----------
    polyhedron : the set ``Π* ∩ X⁻ ∩ domain`` (always exact).
    form : ``"generators"`` when the dual-basis form below exists, else ``"h-representation"``.
    note : a sentence saying which form was returned and why.
    apex : ``x*`` (generator form only).
    directions : ``(n, p)`` — the columns ``-e_i`` for the zero outputs ``i`` (cone generators).
    lineality : ``(n, n - m)`` — null-space directions (free in both signs).
    positive, zero : boolean masks of the outputs with ``y > 0`` and ``y = 0`` (for another
        activation: the units whose pre-activation is fixed — a point level set — and the
        others, on a flat piece).
    """

    polyhedron: Polyhedron
    form: Literal["generators", "h-representation"]
    note: str
    apex: np.ndarray | None
    directions: np.ndarray | None
    lineality: np.ndarray | None
    positive: np.ndarray
    zero: np.ndarray

    def point(self, alpha=None, beta=None) -> np.ndarray:
        """``x* − Σ α_i e_i + N β`` (``α >= 0``): a point of ``Π* ∩ X⁻`` in generator form."""
        if self.apex is None or self.directions is None or self.lineality is None:
            raise InvalidInputError(f"no generator form: {self.note}")
        a = (
            np.zeros(self.directions.shape[1])
            if alpha is None
            else as_vector("alpha", alpha, length=self.directions.shape[1])
        )
        if np.any(a < 0):
            raise InvalidInputError("alpha must be non-negative: the cone is spanned by positive combinations")
        bt = (
            np.zeros(self.lineality.shape[1])
            if beta is None
            else as_vector("beta", beta, length=self.lineality.shape[1])
        )
        return self.apex + self.directions @ a + self.lineality @ bt

    # geometry questions go to the polyhedron
    def contains(self, X, tol: float | None = None):
        return self.polyhedron.contains(X, tol)

    def is_empty(self) -> bool:
        return self.polyhedron.is_empty()

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        return self.polyhedron.sample(n, seed=seed)

    @property
    def dim(self) -> int:
        return self.polyhedron.dim


def _domain(domain, n: int) -> Polyhedron | None:
    if domain is None:
        return None
    if isinstance(domain, str):
        if domain == "orthant":
            return Polyhedron.orthant(n)
        raise InvalidInputError(f"domain must be 'orthant', None, a Polyhedron or a Box, got {domain!r}")
    if isinstance(domain, Box):
        domain = domain.as_polyhedron()
    if not isinstance(domain, Polyhedron):
        raise InvalidInputError(
            f"domain must be 'orthant', None, a Polyhedron or a Box, got {type(domain).__name__}"
        )
    if domain.ambient_dim != n:
        raise InvalidInputError(
            f"domain lives in dimension {domain.ambient_dim}, but the layer takes inputs of width {n}"
        )
    return domain


def layer_preimage(W, b, y, domain="orthant", *, activation=None) -> LayerPreimage:
    """The set of layer inputs ``x`` in ``domain`` with ``relu(W x + b) = y``.

    Parameters
    ----------
    W : (m, n) weight, b : (m,) bias.
    y : (m,) activity, non-negative.
    domain : ``"orthant"`` (default: the input is itself a ReLU output), ``None`` (all of
        ``Rⁿ``), or a :class:`Polyhedron` / :class:`Box` in the layer's input space.
    activation : the layer's activation (e.g. ``net.layers[k].activation``); ``None`` or a
        ReLU is the papers' case. An elementwise piecewise-linear one whose level sets are
        single intervals (LeakyReLU with a positive slope, HardTanh, ReLU6, ...) gives
        ``{x : φ(W x + b) = y}`` the same way (module docstring); any other one (MaxPool, a
        non-monotone φ such as a LeakyReLU with a negative slope) raises
        :class:`InvalidInputError`.

    Returns
    -------
    LayerPreimage — ``.polyhedron`` is exact for every ``W`` (square, wide, tall,
    rank-deficient); the generator form is added when ``W`` has full row rank.

    Raises
    ------
    AmbiguousGeometryError : ``W`` is so nearly singular that whether the generator form
        exists is too close to call.

    Examples
    --------
    >>> P = layer_preimage([[1.0, 0.0], [0.0, 1.0]], [0.0, -1.0], [2.0, 0.0], domain=None)
    >>> P.form, P.apex.tolist(), P.directions.tolist()
    ('generators', [2.0, 1.0], [[-0.0], [-1.0]])
    >>> P.contains([[2.0, 0.5], [2.0, 1.5]]).tolist()
    [True, False]
    """
    from ..activations import ReLU

    if activation is not None and not isinstance(activation, ReLU):
        return _elementwise_preimage(W, b, y, domain, activation)
    W = as_matrix("W", W)
    m, n = W.shape
    b = as_vector("b", b, length=m)
    y = check_activity(y, m)
    dom = _domain(domain, n)
    pos = y > 0
    zero = ~pos
    P = Polyhedron(W[zero], -b[zero], W[pos], y[pos] - b[pos])
    if dom is not None:
        P = P.intersect(dom)
    if m > n:
        return LayerPreimage(
            P, "h-representation",
            f"W has more rows ({m}) than columns ({n}): no dual basis; the H-representation is returned",
            None, None, None, readonly(pos), readonly(zero),
        )
    vectors = _dual_vectors(W)
    if isinstance(vectors, RankDecision):
        return LayerPreimage(
            P, "h-representation",
            f"W has rank {vectors.rank} < {m} rows: its hyperplanes are not in general position, so "
            f"there is no dual basis; the H-representation is returned",
            None, None, None, readonly(pos), readonly(zero),
        )
    E, N = vectors
    apex = E @ (y - b)
    where = "" if dom is None else " (the generators describe Π* ∩ X⁻ before the domain is applied)"
    note = (f"generator form x* - sum alpha_i e_i over {int(zero.sum())} zero outputs"
            + (f", plus {N.shape[1]} null-space directions" if N.shape[1] else "") + where)
    return LayerPreimage(
        P, "generators", note, readonly(apex), readonly(-E[:, zero]), readonly(N),
        readonly(pos), readonly(zero),
    )


def _level_set(activation, v: float) -> list[tuple[float, float]]:
    """``{z : φ(z) = v}`` for a continuous piecewise-linear ``φ``: its maximal intervals, in order."""
    t, s, c = activation.breakpoints, activation.slopes, activation.intercepts
    m = t.shape[0]
    parts = []
    for k in range(m + 1):
        lo = -np.inf if k == 0 else float(t[k - 1])
        hi = np.inf if k == m else float(t[k])
        if s[k] == 0.0:
            if c[k] == v:
                parts.append((lo, hi))
        else:
            z = (v - float(c[k])) / float(s[k])
            if lo <= z <= hi:
                parts.append((z, z))
    parts.sort()
    merged: list[tuple[float, float]] = []
    for lo, hi in parts:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _elementwise_preimage(W, b, y, domain, activation) -> LayerPreimage:
    """``{x ∈ domain : φ(W x + b) = y}`` for an elementwise piecewise-linear ``φ`` other than the
    ReLU (see the module docstring)."""
    from ..activations import PiecewiseLinear

    if not isinstance(activation, PiecewiseLinear):
        raise InvalidInputError(
            f"layer_preimage covers elementwise activations (ReLU, LeakyReLU, HardTanh, ...), got {activation!r}: "
            f"its units mix several pre-activations; preimage.preimage computes the preimage through such a layer")
    W = as_matrix("W", W)
    m, n = W.shape
    b = as_vector("b", b, length=m)
    y = as_vector("y", y)
    if y.shape[0] != m:
        raise InvalidInputError(f"y must be an activity of length {m} (one entry per node), got length {y.shape[0]}")
    dom = _domain(domain, n)
    lo, hi = np.empty(m), np.empty(m)
    for i in range(m):
        parts = _level_set(activation, float(y[i]))
        if not parts:
            raise InvalidInputError(f"y[{i}] = {float(y[i])} is not a value of {activation!r}: no input gives it")
        if len(parts) > 1:
            raise InvalidInputError(
                f"y[{i}] = {float(y[i])} comes from {len(parts)} separate intervals of pre-activations under "
                f"{activation!r} (it is not monotone there), so the preimage is a union of polyhedra, not one; "
                f"preimage.preimage computes it")
        lo[i], hi[i] = parts[0]
    point = lo == hi
    below, above = ~point & np.isfinite(hi), ~point & np.isfinite(lo)
    A = np.vstack([W[below], -W[above]])
    rhs = np.concatenate([hi[below] - b[below], b[above] - lo[above]])
    P = Polyhedron(A, rhs, W[point], lo[point] - b[point])
    if dom is not None:
        P = P.intersect(dom)
    fixed, flat = point, ~point
    if m > n:
        return LayerPreimage(
            P, "h-representation",
            f"W has more rows ({m}) than columns ({n}): no dual basis; the H-representation is returned",
            None, None, None, readonly(fixed), readonly(flat))
    if np.any(below & above) or np.any(~point & ~np.isfinite(lo) & ~np.isfinite(hi)):
        return LayerPreimage(
            P, "h-representation",
            "a level set of the activation is a bounded interval or the whole line (not a point or a half-line): "
            "no cone generators; the H-representation is returned",
            None, None, None, readonly(fixed), readonly(flat))
    vectors = _dual_vectors(W)
    if isinstance(vectors, RankDecision):
        return LayerPreimage(
            P, "h-representation",
            f"W has rank {vectors.rank} < {m} rows: its hyperplanes are not in general position, so "
            f"there is no dual basis; the H-representation is returned",
            None, None, None, readonly(fixed), readonly(flat))
    E, N = vectors
    target = np.where(point | below, hi, lo)  # the level set's finite end
    apex = E @ (target - b)
    sign = np.where(below, -1.0, 1.0)
    where = "" if dom is None else " (the generators describe the set before the domain is applied)"
    note = (f"generator form x* + sum alpha_i (±e_i) over {int(flat.sum())} units on a flat piece of {activation!r}"
            + (f", plus {N.shape[1]} null-space directions" if N.shape[1] else "") + where)
    return LayerPreimage(P, "generators", note, readonly(apex), readonly(E[:, flat] * sign[flat]), readonly(N),
                         readonly(fixed), readonly(flat))
