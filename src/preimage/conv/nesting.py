"""Nested cones (paper 000, §5): the literal definition for small ``d`` and the operational
property it implies, for any ``d``.

The layer is ``y = relu(C x + b·1)`` with ``C`` circulant (:class:`CirculantLayer`); its input
lies in the non-negative orthant (the output of a previous ReLU layer), whose coordinate
hyperplanes ``Π'_i = {x_i = 0}`` form the "input cone". Two checks live here.

**Operational** (:func:`nesting_radius`, any ``d``, ``O(k)``): on inputs ``x ∈ [0, R]^d`` a
zero input coordinate stays zero at the output — ``x_i = 0 ⇒ (C x + b)_i <= 0``. With the
convention ``(C x)_i = Σ_k kernel[k]·x[(i + k − origin) mod d]`` the entry of row ``i`` that
multiplies ``x_i`` is ``kernel[origin]`` (the only ``k`` with ``k − origin ≡ 0 mod d``, as the
kernel is not longer than the signal); every other entry multiplies a different coordinate.
Hence::

    max { (C x + b)_i : x ∈ [0, R]^d, x_i = 0 } = b + R · P,   P = Σ_{k ≠ origin} max(kernel[k], 0)

and the largest ``R`` with ``b + R·P <= 0`` is ``∞`` when ``b <= 0`` and ``P = 0``, ``−b/P``
when ``b <= 0 < P`` (0 when ``b = 0``), and *never* when ``b > 0`` (already ``x = 0`` gives
output ``b > 0``). This is the "contraction" the paper draws from complete nesting: inputs
in a coordinate intersection ``Π'_I`` are mapped into ``M_I = ∩_{i∈I} Π_i`` (their outputs
``I`` are zero).

**Literal** (:func:`literal_nesting`, ``d <= 8``): the §5 definition, decided by linear
programs through :class:`preimage.Polyhedron`. The definition text reads:

    *Take a subset i1 … ip of these hyperplanes and form the intersection subset
    M = Π_i1 ∩ … ∩ Π_ip. If for each x in M the positive span S+(e_j1 … e_jq) of the
    associated dual basis contains an element in the corresponding intersection subset
    Π'_i1 ∩ … ∩ Π'_ip and thereby in each subset of planes with these indexes, but no other
    subset, we say that the cone formed by the hyperplanes Π is completely nested in the
    cone formed by the hyperplanes Π'.*

It is ambiguous in three places; our precise reading, for a subset ``I`` (``J`` its
complement) and an input domain ``D`` — the orthant ``R^d_+`` of the definition, or, as our
extension, the box ``[0, R]^d`` (the paper notes that nesting "ceases" beyond the cone's
intersections with the coordinate axes; its "restricted nesting", which relaxes the condition
to some subsets, is what :meth:`LiteralNesting.by_size` reports per subset size):

1. *"the positive span of the associated dual basis"* at ``x ∈ M_I`` is the preimage cone of
   eq. (15): ``P(x) = {x − Σ_{i∈I} α_i e_i : α >= 0}`` — the dual basis vectors of the zero
   outputs ``I``, pointing to the negative sides of ``Π_i`` (the paper orients ``e_i`` that
   way; this library orients ``e_i`` with ``c_i·e_i = +1``, hence the minus). This is what
   the paper's next sentence describes ("all elements of Π'_I … are mapped to M_I"). The
   other reading, the complementary vectors ``e_J`` (the ``j`` indices of the text), spans
   ``M_I`` itself: the cone ``x + S+(e_J)`` stays inside ``M_I`` and has nothing to do with
   which inputs the layer maps to ``x``, so we do not use it here. That reading — the
   definition as written — is :func:`preimage.conv.nested_as_written`, and
   :func:`preimage.conv.nesting_report` sets every reading side by side.
2. *"for each x in M"* ranges over the points of the face ``F_I = M_I ∩ {(Cx + b)_J > 0}``
   that are outputs of some input of ``D`` (``P(x) ∩ D ≠ ∅``). Quantifying over all of
   ``M_I`` is impossible to satisfy (points of ``M_I`` with negative ``(Cx + b)_J`` have no
   preimage in the orthant at all); points that no input reaches say nothing about the data.
   The subset ``I = ∅`` (``M = R^d``, ``P(x) = {x}``) is included.
3. *"contains an element in Π'_I … but no other subset"* is read as two conditions on
   ``P(x) ∩ D``: **(N1)** it contains a point ``z`` with ``z_I = 0`` — every output with zero
   set ``I`` is produced by an input whose zero coordinates include ``I``; and **(N2)** it
   contains no point of ``Π'_k`` for any ``k ∈ J`` — no input of ``D`` with ``z_k = 0``
   produces a positive output ``k``.

The union over ``I`` of the preimage cones ``P(x)``, ``x ∈ F_I``, is all of ``D`` (each input
lies in exactly one: that of its own zero-output set), so **N2 over all subsets is exactly the
operational property on D**. N1 is an extra surjectivity condition. On the orthant
(``R = ∞``) it follows from the operational property: that property forces ``b <= 0`` and
``C`` to have non-positive off-diagonal entries (a Z-matrix); a reachable zero set ``I``
gives ``C_JJ v > 0`` for some ``v >= 0``, so ``C_JJ`` is a non-singular M-matrix with
``C_JJ⁻¹ >= 0``, and the input ``z_J = C_JJ⁻¹(y_J − b) >= 0``, ``z_I = 0`` reproduces ``y``.
So on the orthant the literal and operational checks agree exactly: the tests confirm it
with hypothesis, and a stress run over 1356 random invertible kernels (``d <= 6``, integer
and real taps, several biases and origins) found no disagreement.

On a bounded box ``[0, R]^d`` — our extension towards the paper's "restricted nesting"; the
definition itself is stated on the orthant — they can disagree, in one direction only. N2
still equals the operational property exactly, so *literal ⇒ operational* always holds; but
N1 can fail while zeros are preserved: with a positive off-diagonal tap (which is what makes
the radius finite), setting ``z_I = 0`` must be compensated by a larger ``z_J``, which may
leave the box. Example: kernel ``(1, 0.1, 0)``, ``b = −0.5``, ``d = 3`` has nesting radius 5,
yet N1 fails at ``R = 4``. This is common, not exotic: over 384 random kernels N1 failed for
31 % at ``R = 0.3·radius`` and for 95 % at ``R = 0.8·radius``. Both conditions are therefore
reported separately (:attr:`LiteralNesting.no_other_subset`,
:attr:`LiteralNesting.contains_element`).

Decisions on LP optima use ``tolerances.FEASIBILITY`` as a distance (rows are normalised): a
strict inequality ``(Cx + b)_J > 0`` counts as satisfiable when its largest margin exceeds it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from itertools import product

import numpy as np

from .. import tolerances
from .._validation import as_float_array, as_vector, readonly
from ..errors import AmbiguousGeometryError, InvalidInputError
from .circulant import CirculantLayer

__all__ = [
    "NestingRadius",
    "nesting_radius",
    "row_nesting_radii",
    "restricted_nesting_fraction",
    "SubsetNesting",
    "LiteralNesting",
    "literal_nesting",
    "element_map",
    "MAX_LITERAL_SIZE",
]

log = logging.getLogger(__name__)

#: Largest ``d`` for the literal check (it enumerates the ``2^d`` subsets up to rotation).
MAX_LITERAL_SIZE: int = 8


# -- operational -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NestingRadius:
    """The largest ``R`` such that zeros are preserved on ``[0, R]^d`` (see the module notes).

    Attributes
    ----------
    radius : ``inf`` (every ``R``), a finite ``R >= 0``, or ``-inf`` meaning *never* (``b > 0``).
    bias : ``b``.
    positive_coupling : ``P = Σ_{k ≠ origin} max(kernel[k], 0)``, the largest growth rate of
        ``(C x)_i`` over ``x ∈ [0, 1]^d`` with ``x_i = 0``.
    diagonal_tap : the kernel index that multiplies ``x_i`` in row ``i`` (the layer's origin).

    Examples
    --------
    >>> from preimage.conv import circulant
    >>> r = nesting_radius(circulant([1.0, 0.25, -0.5], 16, bias=-0.5))
    >>> r.radius, r.status, r.holds_at(1.9), r.holds_at(2.1)
    (2.0, 'finite', True, False)
    >>> nesting_radius(circulant([1.0, -0.5], 16, bias=-0.1)).to_json()
    'inf'
    """

    radius: float
    bias: float
    positive_coupling: float
    diagonal_tap: tuple[int, ...]

    @property
    def status(self) -> str:
        """``"unbounded"``, ``"finite"`` or ``"never"``."""
        if self.radius == math.inf:
            return "unbounded"
        return "never" if self.radius == -math.inf else "finite"

    def holds_at(self, R) -> bool | np.ndarray:
        """Whether zeros are preserved on ``[0, R]^d`` (``R >= 0``; vectorised over ``R``)."""
        arr = as_float_array("R", R, finite=False)
        if np.any(np.isnan(arr)) or np.any(arr < 0):
            raise InvalidInputError(f"R must be non-negative (a box [0, R]^d), got {R!r}")
        out = arr <= self.radius
        return bool(out) if out.ndim == 0 else out

    def to_json(self) -> float | str:
        """``radius`` for JSON: a number, the string ``"inf"``, or the string ``"never"``."""
        if self.radius == math.inf:
            return "inf"
        return "never" if self.radius == -math.inf else self.radius


def nesting_radius(layer: CirculantLayer) -> NestingRadius:
    """The largest ``R`` for which ``x ∈ [0, R]^d, x_i = 0 ⇒ (C x + b)_i <= 0`` for every ``i``.

    Closed form (module notes): ``R = −b / P`` with ``P`` the sum of the positive kernel
    entries off the diagonal tap; ``∞`` when ``b <= 0`` and ``P = 0``; ``−∞`` (*never*) when
    ``b > 0``. It depends only on the kernel (``O(k)``, any ``d``); ``P`` is summed with
    correct rounding and ``R`` is one division, so the radius is exact up to one rounding.

    Parameters
    ----------
    layer : CirculantLayer

    Returns
    -------
    NestingRadius
    """
    if not isinstance(layer, CirculantLayer):
        raise InvalidInputError(f"layer must be a CirculantLayer (see circulant()), got {type(layer).__name__}")
    off = np.array(layer.kernel, copy=True)
    off[layer.origin] = 0.0
    P = math.fsum(np.maximum(off, 0.0).ravel().tolist())
    b = layer.bias
    if b > 0:
        radius = -math.inf
    elif P == 0.0:
        radius = math.inf
    else:
        radius = -b / P
    return NestingRadius(float(radius), b, P, layer.origin)


def row_nesting_radii(W, b) -> np.ndarray:
    """Per-row nesting radii of a square layer ``relu(W x + b)`` (any square matrix).

    Row ``i`` preserves a zero ``x_i = 0`` on ``[0, R]^n`` iff ``b_i + R·Σ_{j≠i} max(W_ij, 0) <= 0``;
    its radius is ``inf``, ``−b_i / P_i`` or ``−inf`` (never), as in :func:`nesting_radius`.
    For a real, zero-padded convolution the boundary rows have truncated kernels and may
    differ from the interior (circulant) rows.

    >>> row_nesting_radii([[1.0, 0.5], [-1.0, 1.0]], [-1.0, -1.0]).tolist()
    [2.0, inf]
    """
    if hasattr(W, "tocsr") and not isinstance(W, np.ndarray):
        import scipy.sparse as sp

        M = sp.csr_array(W, dtype=np.float64)
        if M.shape[0] != M.shape[1]:
            raise InvalidInputError(f"W must be square (zero input i ↔ output i), got shape {M.shape}")
        M = M.copy()
        M.setdiag(0.0)
        P = np.asarray(M.maximum(0).sum(axis=1)).ravel()
        n = M.shape[0]
    else:
        A = as_float_array("W", W)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise InvalidInputError(f"W must be a square matrix (zero input i ↔ output i), got shape {A.shape}")
        n = A.shape[0]
        np.fill_diagonal(A, 0.0)
        P = np.maximum(A, 0.0).sum(axis=1)
    bb = as_vector("b", np.broadcast_to(np.asarray(b, dtype=np.float64), (n,)) if np.ndim(b) == 0 else b, length=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.where(P > 0, -bb / np.where(P > 0, P, 1.0), np.inf)
    R = np.where(bb > 0, -np.inf, R)
    return readonly(R.astype(np.float64))


def restricted_nesting_fraction(W, b, radius: float) -> float:
    """Fraction of coordinates whose zeros are preserved on ``[0, radius]^n`` (restricted nesting).

    For a circulant every coordinate behaves alike (the fraction is 0 or 1); for a real,
    zero-padded convolution the boundary rows may differ.

    >>> restricted_nesting_fraction([[1.0, 0.5], [-1.0, 1.0]], [-1.0, -1.0], 3.0)
    0.5
    """
    if isinstance(W, CirculantLayer):
        return 1.0 if nesting_radius(W).holds_at(radius) else 0.0
    R = float(radius)
    if not R >= 0:
        raise InvalidInputError(f"radius must be non-negative, got {radius!r}")
    return float(np.mean(row_nesting_radii(W, b) >= R))


# -- literal ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SubsetNesting:
    """The literal §5 conditions for one subset ``I`` (and its whole rotation orbit).

    Attributes
    ----------
    subset : the orbit representative ``I`` (flat indices).
    orbit_size : how many subsets its cyclic rotations give.
    reachable : some input of the domain has zero-output set exactly ``I``; if not, both
        conditions hold vacuously.
    contains_element : N1 — every reachable output point ``x ∈ F_I`` has an input with
        ``z_I = 0`` in its preimage cone (``None``: undecided, ``E_II`` singular).
    no_other_subset : N2 — no input with ``z_k = 0``, ``k ∉ I``, lies in those preimage cones.
    violating_coordinate : a ``k ∉ I`` for which N2 fails (``None`` if it holds).
    nested : ``no_other_subset and (not reachable or contains_element)``.
    """

    subset: tuple[int, ...]
    orbit_size: int
    reachable: bool
    contains_element: bool | None
    no_other_subset: bool
    violating_coordinate: int | None

    @property
    def nested(self) -> bool | None:
        if not self.no_other_subset:
            return False
        if not self.reachable:
            return True
        return self.contains_element


@dataclass(frozen=True, slots=True)
class LiteralNesting:
    """Result of :func:`literal_nesting`.

    Attributes
    ----------
    radius : the domain ``[0, radius]^d`` (``inf``: the orthant, the paper's setting).
    subsets : one :class:`SubsetNesting` per rotation orbit of subsets ``I`` (``I = ∅`` included).
    lp_count : how many LPs were solved.
    """

    radius: float
    shape: tuple[int, ...]
    subsets: tuple[SubsetNesting, ...]
    lp_count: int

    @property
    def nested(self) -> bool | None:
        """Completely nested (both conditions for every subset); ``None`` if undecided."""
        verdicts = [s.nested for s in self.subsets]
        if any(v is False for v in verdicts):
            return False
        return None if any(v is None for v in verdicts) else True

    @property
    def no_other_subset(self) -> bool:
        """N2 for every subset — equivalent to the operational property on the domain."""
        return all(s.no_other_subset for s in self.subsets)

    @property
    def contains_element(self) -> bool | None:
        """N1 for every reachable subset (``None`` if some subset is undecided)."""
        vals = [s.contains_element for s in self.subsets if s.reachable]
        if any(v is False for v in vals):
            return False
        return None if any(v is None for v in vals) else True

    @property
    def complete(self) -> bool:
        """Whether every subset was decided."""
        return all(s.nested is not None for s in self.subsets)

    @property
    def n_subsets(self) -> int:
        return sum(s.orbit_size for s in self.subsets)

    def by_size(self) -> dict[int, dict[str, float]]:
        """Restricted-nesting statistics per subset size ``p``: the fraction of the ``C(d, p)``
        subsets that are reachable, satisfy N1, N2, and both (orbits weighted by their size;
        an undecided N1 counts as not satisfied)."""
        out: dict[int, dict[str, float]] = {}
        for s in self.subsets:
            row = out.setdefault(len(s.subset), {"subsets": 0, "reachable": 0.0, "contains_element": 0.0,
                                                 "no_other_subset": 0.0, "nested": 0.0})
            w = s.orbit_size
            row["subsets"] += w
            row["reachable"] += w * s.reachable
            row["contains_element"] += w * bool(s.contains_element or not s.reachable)
            row["no_other_subset"] += w * s.no_other_subset
            row["nested"] += w * bool(s.nested)
        for row in out.values():
            n = row["subsets"]
            for key in ("reachable", "contains_element", "no_other_subset", "nested"):
                row[key] /= n
        return dict(sorted(out.items()))


def _solve(sense: str, c: np.ndarray, A: np.ndarray, b: np.ndarray, d: int, R: float,
           Ceq: np.ndarray | None = None, deq: np.ndarray | None = None):
    """Optimise ``c·v`` over ``{A v <= b, Ceq v = deq, 0 <= v_j <= R for j < d}``.

    ``v`` is ``z ∈ R^d`` followed by any extra free variables. The question is asked through
    :class:`preimage.Polyhedron`, with the box as rows. HiGHS, which the solver module runs
    without presolve, occasionally ends with status 'Unknown' on such LPs (free columns, an
    unbounded feasible set); the same question is then asked again through
    :func:`preimage.polyhedra.solver.optimize` with the box as column bounds.
    """
    from ..errors import SolverError
    from ..polyhedra import Polyhedron, solver

    n = A.shape[1]
    eye = np.eye(d, n)
    box_A = -eye if not math.isfinite(R) else np.vstack([-eye, eye])
    box_b = np.zeros(d) if not math.isfinite(R) else np.concatenate([np.zeros(d), np.full(d, R)])
    P = Polyhedron(np.vstack([box_A, A]), np.concatenate([box_b, b]), Ceq, deq)
    try:
        return P.minimize(c) if sense == "min" else P.maximize(c)
    except SolverError:
        log.debug("HiGHS gave up on an LP with the box as rows; asking again with column bounds")
        lower = np.concatenate([np.zeros(d), np.full(n - d, -np.inf)])
        upper = np.concatenate([np.full(d, R), np.full(n - d, np.inf)])
        return solver.optimize(c, A, b, Ceq, deq, lower, upper, sense=sense)


def _orbits(shape: tuple[int, ...]) -> list[tuple[tuple[int, ...], int]]:
    """Representatives (lexicographically least rotation) of the subsets of positions under
    the cyclic shifts of ``shape``, with their orbit sizes."""
    d = int(np.prod(shape))
    idx = np.stack(np.unravel_index(np.arange(d), shape))
    sizes = np.array(shape).reshape(-1, 1)
    shifts = [np.ravel_multi_index(tuple((idx + np.array(s).reshape(-1, 1)) % sizes), shape)
              for s in product(*(range(n) for n in shape))]
    seen: dict[tuple[int, ...], int] = {}
    for mask in range(1 << d):
        subset = tuple(i for i in range(d) if mask >> i & 1)
        images = {tuple(sorted(int(perm[i]) for i in subset)) for perm in shifts}
        rep = min(images)
        seen.setdefault(rep, len(images))
    return sorted(seen.items(), key=lambda item: (len(item[0]), item[0]))


def literal_nesting(layer: CirculantLayer, radius: float = math.inf, *, tol: float | None = None) -> LiteralNesting:
    """Decide the paper's *completely nested* definition literally (``d <= 8``), by LPs.

    See the module notes for the precise reading (conditions N1 and N2 per subset ``I``).
    Subsets are enumerated up to the cyclic symmetry: ``C`` commutes with the shifts and the
    domain is shift-invariant, so a subset and its rotations have the same verdicts. Per orbit
    the LPs are: one for reachability (the largest margin of ``(Cz + b)_J > 0`` over inputs
    with ``(Cz + b)_I <= 0``), one per ``k ∈ J`` for N2 (the same with ``z_k = 0``), and, when
    reachable, up to ``2|J| + |I|`` for N1: with the dual basis ``E = C⁻¹`` the element of
    the preimage cone with ``z_I = 0`` is ``z = z' − E_{:,I} E_II⁻¹ z'_I`` for any input ``z'``
    producing the output (:func:`element_map`), and N1 asks ``0 <= z_J <= R`` and
    ``(Cz + b)_I <= 0`` over all such ``z'`` — linear forms minimised or maximised over a
    polyhedron.

    Parameters
    ----------
    layer : CirculantLayer with ``d <= MAX_LITERAL_SIZE`` and ``C`` invertible.
    radius : the domain is ``[0, radius]^d``; ``inf`` (default) is the orthant ``R^d_+``.
    tol : distance tolerance for the LP decisions (default ``tolerances.FEASIBILITY``).

    Raises
    ------
    InvalidInputError : ``d`` too large, ``radius`` negative, or ``C`` singular (no dual basis).

    Examples
    --------
    >>> from preimage.conv import circulant
    >>> res = literal_nesting(circulant([1.0, -0.5, -0.25], 3, bias=-0.1))
    >>> res.nested, res.no_other_subset
    (True, True)
    >>> literal_nesting(circulant([1.0, 0.5, -0.25], 3, bias=-0.1)).nested   # radius 0.2 < inf
    False
    """
    if not isinstance(layer, CirculantLayer):
        raise InvalidInputError(f"layer must be a CirculantLayer, got {type(layer).__name__}")
    d = layer.size
    if d > MAX_LITERAL_SIZE:
        raise InvalidInputError(
            f"literal_nesting enumerates all 2^d subsets: d = {d} exceeds MAX_LITERAL_SIZE = "
            f"{MAX_LITERAL_SIZE}; use nesting_radius (the operational property) for large d"
        )
    R = float(radius)
    if math.isnan(R) or R < 0:
        raise InvalidInputError(f"radius must be non-negative (the domain [0, radius]^d) or inf, got {radius!r}")
    eps = tolerances.resolve(tol, tolerances.FEASIBILITY)
    C = np.array(layer.dense())
    layer.dual_vector()  # the dual basis must exist: raises InvalidInputError for a singular C
    wn = float(np.linalg.norm(layer.kernel))  # every row of C has this norm
    Cn, bn = C / wn, layer.bias / wn  # rows normalised: (Cn z + bn)_i is a signed distance
    lp_count = 0

    def margin_lp(I: list[int], J: list[int], zero: int | None) -> float:
        """max t s.t. z ∈ D, (Cn z + bn)_I <= 0, (Cn z + bn)_J >= t, t <= 1 [, z_zero = 0]."""
        nonlocal lp_count
        lp_count += 1
        A = np.vstack([
            np.hstack([Cn[I], np.zeros((len(I), 1))]),
            np.hstack([-Cn[J], np.ones((len(J), 1))]),
            np.eye(1, d + 1, d),
        ])
        rhs = np.concatenate([np.full(len(I), -bn), np.full(len(J), bn), [1.0]])
        Ceq = None if zero is None else np.eye(1, d + 1, zero)
        res = _solve("max", np.eye(1, d + 1, d).ravel(), A, rhs, d, R, Ceq, None if zero is None else np.zeros(1))
        return -math.inf if res.status == "infeasible" else float(res.value)

    verdicts: list[SubsetNesting] = []
    ambiguous: list[str] = []
    for subset, orbit_size in _orbits(layer.shape):
        I = list(subset)
        J = [j for j in range(d) if j not in subset]
        reachable = margin_lp(I, J, None) > eps
        violating = None
        contains: bool | None = True
        if reachable:
            for k in J:
                if margin_lp(I, J, k) > eps:
                    violating = k
                    break
            # I = ∅: P(x) = {x}, and the input itself is the element (no LP needed)
            try:
                contains, n_lp = _contains_element(I, J, C, Cn, bn, R, eps) if I else (True, 0)
            except AmbiguousGeometryError as exc:
                contains, n_lp = None, 0
                ambiguous.append(str(exc))
            lp_count += n_lp
        verdicts.append(SubsetNesting(subset, orbit_size, reachable, contains, violating is None, violating))
    result = LiteralNesting(R, layer.shape, tuple(verdicts), lp_count)
    if result.nested is None and ambiguous:
        raise AmbiguousGeometryError(f"literal nesting is undecided: {ambiguous[0]}")
    log.debug("literal nesting of %r on [0, %g]^d: nested=%s (%d LPs)", layer, R, result.nested, lp_count)
    return result


def element_map(C: np.ndarray, I: list[int]) -> np.ndarray | None:
    """The matrix ``G`` with ``z = G z'``: the element of the preimage cone with ``z_I = 0``.

    For an input ``z'`` producing the output point ``x``, the preimage cone is
    ``P(x) = z' + span(e_I)`` cut by ``(Cz + b)_I <= 0``; its element with ``z_I = 0`` is
    ``z = z' − E_{:,I} E_II⁻¹ z'_I`` (``E = C⁻¹``, the dual basis). The block-inverse identity
    ``−E_JI E_II⁻¹ = C_JJ⁻¹ C_JI`` turns this into ``z_J = z'_J + C_JJ⁻¹ C_JI z'_I``, evaluated
    here from the exact entries of ``C``; ``E_II`` is invertible exactly when ``C_JJ`` is
    (``det E_II = det C_JJ / det C``), so ``C_JJ``'s rank decides (``None`` when singular;
    :class:`AmbiguousGeometryError` when too close to call).
    """
    from ..layer.dual_basis import rank_decision

    d = C.shape[0]
    J = [j for j in range(d) if j not in set(I)]
    G = np.zeros((d, d))
    if not J:
        return G
    C_JJ = C[np.ix_(J, J)]
    if not rank_decision(C_JJ, "the principal submatrix C_JJ").full_row_rank:
        return None
    G[np.ix_(J, J)] = np.eye(len(J))
    if I:
        G[np.ix_(J, I)] = np.linalg.solve(C_JJ, C[np.ix_(J, I)])
    return G


def _contains_element(I: list[int], J: list[int], C: np.ndarray, Cn: np.ndarray, bn: float,
                      R: float, eps: float) -> tuple[bool | None, int]:
    """N1 for one reachable, non-empty subset (see :func:`literal_nesting`); returns
    ``(verdict, LPs solved)``, the verdict ``None`` when ``C_JJ`` (equivalently ``E_II``) is
    singular."""
    d = C.shape[0]
    G = element_map(C, I)
    if G is None:
        return None, 0
    # Q: the closure of the inputs z' whose zero-output set is I
    A = np.vstack([Cn[I], -Cn[J]])
    rhs = np.concatenate([np.full(len(I), -bn), np.full(len(J), bn)])

    def lp(sense: str, c: np.ndarray):
        return _solve(sense, c, A, rhs, d, R)

    n_lp = 0
    for j in J:
        n_lp += 1
        lo = lp("min", G[j])
        if lo.status == "unbounded" or lo.value < -eps:
            return False, n_lp
        if math.isfinite(R):
            n_lp += 1
            hi = lp("max", G[j])
            if hi.status == "unbounded" or hi.value > R + eps * max(1.0, R):
                return False, n_lp
    # (C z + b)_I <= 0 on the element: rows C_I G, as distances
    for i in I:
        n_lp += 1
        hi = lp("max", Cn[i] @ G)
        if hi.status == "unbounded" or hi.value + bn > eps:
            return False, n_lp
    return True, n_lp
