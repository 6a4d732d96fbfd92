"""Complete nesting (paper 000, §5): every reading the text admits, side by side.

The layer is ``y = relu(C x + b·1)``, ``C`` circulant with rows ``c_i``, hyperplanes
``Π_i = {x : c_i·x + b = 0}``, dual basis ``E = C⁻¹`` (columns ``E_i``, ``c_i·E_j = δ_ij``),
apex ``x₀ = −(b/a)·1``. The preceding cone is the orthant ``R^d_+`` with the coordinate
hyperplanes ``Π'_i = {x_i = 0}`` (the input of a first layer, or the output of any ReLU layer).
Four readings are implemented; :func:`nesting_report` evaluates all of them.

**1. As written** (:func:`nested_as_written`). The definition, verbatim:

    *Take a subset i1 … ip of these hyperplanes and form the intersection subset
    M_{i1…ip} = Π_i1 ∩ … ∩ Π_ip. If for each x in M_{i1…ip} the positive span S+(e_j1 … e_jq)
    of the associated dual basis contains an element in the corresponding intersection subset
    Π'_i1 ∩ … ∩ Π'_ip and thereby in each subset of planes with these indexes, but no other
    subset, we say that the cone formed by the hyperplanes Π is completely nested in the cone
    formed by the hyperplanes Π'.*

Formalised, for every non-empty ``I = {i1 … ip}`` with complement ``J = {j1 … jq}``:

* ``M_I = {x ∈ D : (Cx + b)_I = 0}`` with ``D = R^d_+`` (the definition places the Π "in
  R^d_+"); as an extension, ``D = [0, R]^d`` gives the radius below.
* "the positive span … for each x": the cone ``x + S+(σ·E_J)`` translated to ``x``, with the
  paper's orientation ``σ = −1`` (§3: *"We now define the positive direction of the vector e_i
  as that associated with the negative side of the plane Π_i"*; this library's ``E_i`` point to
  the positive side) or ``σ = +1`` (``orientation="positive"``). By eq. (12)–(13) it lies in
  ``M_I``: in output terms it is ``{z ∈ M_I : σ·((Cz + b)_J − (Cx + b)_J) >= 0}``.
* **W1** "contains an element in Π'_I": some ``z`` of that cone in ``D`` has ``z_I = 0``.
* "but no other subset", two readings (``clause``): ``"exact"`` — the element can be chosen
  in no other ``Π'_k`` (``z_J > 0``: its zero set is exactly ``I``); ``"exclusive"`` — the
  cone meets no ``Π'_k``, ``k ∈ J``, at all. The verdict is W1 and the clause, for every ``I``.

``x`` ranges over a polyhedron ``B_I = M_I`` (pointed: it lies in the orthant), so the
``∀x ∃z`` condition is decided exactly on its vertices and extreme rays (enumerated by exact
linear algebra): the largest margin ``t(x) = max{ t : z in the cone, z ∈ D, z_I = 0,
z_J >= t }`` is a concave function of ``x`` (an LP value with ``x`` in the right-hand side),
so its minimum over ``conv(vertices)`` is at a vertex, and along an extreme ray ``r`` it is
bounded below (then non-decreasing) iff some ``ρ >= 0`` with ``ρ_I = 0``, ``C_I ρ = 0``,
``σ·C_J(ρ − r) >= 0`` exists. W1 holds iff every such LP is feasible, "exact" iff moreover
every vertex margin exceeds the tolerance. "exclusive" fails iff ``B_I`` meets some
``{x_k = 0}``, ``k ∈ J`` (``x`` is in its own cone, and the cone stays in ``B_I``), i.e. iff some
vertex has a zero coordinate in ``J`` — no LP. Literally read, the definition is very
demanding: with ``I = {1 … d}``, ``M = {x₀}`` and the cone is ``{x₀}``, so it can hold only when
``b = 0`` or the apex lies outside the orthant (``M`` empty, the condition vacuous).

**2. Operational** (:func:`preimage.conv.nesting_radius`, kept): what the paper says complete
nesting *implies*, *"all elements of the complete intersection subset Π'_i1 ∩ … ∩ Π'_ip and
thereby in each subset are mapped to the intersection subset M_i1…ip"*: a zero input
coordinate stays zero, ``x_i = 0 ⇒ (Cx + b)_i <= 0`` on ``[0, R]^d``; on the orthant a sign
test, ``b <= 0`` and every off-diagonal tap ``<= 0``. (The library's earlier reading through the
preimage cones of eq. (15), :func:`preimage.conv.literal_nesting`, equals it on the orthant.)

**3. Containment** (:func:`cone_containment`): *"this definition implies that the cone formed
by planes Π is completely contained in that formed by the planes Π'"*. The cone formed by the
``Π_i`` around the identity line, on the side where the coordinate cone is the orthant
``{I x >= 0}``, is ``K = {x : Cx + b >= 0} = x₀ + S+(E_1 … E_d)`` (apex and the dual basis as
generators; it opens along ``+1`` iff ``a > 0``). ``K ⊆ R^d_+`` iff ``x₀ >= 0`` and every
``E_i >= 0`` — exact linear algebra on the generators (the radius below is an LP).

**4. Angle relation** (:func:`cone_containment`, ``narrower``): Fig. 2's criterion, *"the
black lines represent data where the succeeding cone has a wider angle than its predecessor"*:
nested iff the angle of the planes to the identity line is at most the preceding cone's
(``arcsin(1/√d)`` for the orthant). Containment implies it (the largest round cone about the
axis inside ``K`` has that half-angle, and it must fit in the preceding one); not conversely —
the rotation (:mod:`preimage.conv.rotation`) can push a narrower cone's generators out.

**Radii** (:class:`NestingReport`): the largest input radius up to which each reading holds.
Operational: the largest ``R`` with the property on ``[0, R]^d`` (closed form, exact).
Containment: ``sup{R : K ∩ [−R, R]^d ⊆ R^d_+}`` — the max-norm distance from the origin at
which the cone first leaves the orthant ("beyond the intersections the non increasing
contraction property ceases", Fig. 3), one LP (exact up to the solver's tolerance). Angle:
scale-free (``inf`` or never). As written: the largest ``R`` with the definition holding on
``D = [0, R]^d``, by bisection on that exact predicate (monotonicity in ``R`` is not proven;
the tests check the predicate on both sides of the value).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from itertools import combinations, product
from typing import Literal

import numpy as np

from .. import tolerances
from ..errors import InvalidInputError
from .circulant import CirculantLayer
from .nesting import _orbits, nesting_radius
from .rotation import ConeOrientation, cone_orientation

__all__ = [
    "MAX_AS_WRITTEN_SIZE",
    "AUTO_RADII_SIZE",
    "AsWrittenSubset",
    "AsWrittenNesting",
    "nested_as_written",
    "as_written_radius",
    "ConeContainment",
    "cone_containment",
    "Reading",
    "NestingReport",
    "nesting_report",
    "QUOTES",
]

log = logging.getLogger(__name__)

#: Largest ``d`` for :func:`nested_as_written` (all ``2^d − 1`` subsets, up to rotation).
MAX_AS_WRITTEN_SIZE: int = 10

#: Largest ``d`` for which :func:`nesting_report` computes the as-written radii by default.
AUTO_RADII_SIZE: int = 6

#: The sentence of paper 000 each reading formalises.
QUOTES: dict[str, str] = {
    "as_written": ("If for each x in M_{i1...ip} the positive span S+(e_j1 ... e_jq) of the associated dual "
                   "basis contains an element in the corresponding intersection subset Π'_i1 ∩ ... ∩ Π'_ip "
                   "and thereby in each subset of planes with these indexes, but no other subset, we say "
                   "that the cone formed by the hyperplanes Π is completely nested in the cone formed by "
                   "the hyperplanes Π'."),
    "operational": ("Complete nesting implies contraction of data from one layer to the next which can be "
                    "seen from the fact that all elements of the complete intersection subset Π'_i1 ∩ ... "
                    "∩ Π'_ip and thereby in each subset are mapped to the intersection subset M_i1...ip."),
    "containment": ("We see that this definition implies that the cone formed by planes Π is completely "
                    "contained in that formed by the planes Π'."),
    "angle": ("The red lines represent data that is associated with layer cones that are completely "
              "nested inside its predecessors, while the black lines represent data where the "
              "succeeding cone has a wider angle than its predecessor."),
}

Orientation = Literal["paper", "positive"]
Clause = Literal["exact", "exclusive"]


# -- 1. as written ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AsWrittenSubset:
    """The definition's conditions for one subset ``I`` (and its rotation orbit).

    Attributes
    ----------
    subset, orbit_size : the orbit representative ``I`` and the number of its rotations.
    vacuous : ``M_I ∩ D`` is empty — nothing to check.
    contains_element : W1 for every ``x ∈ M_I ∩ D``.
    exact : the element can moreover be chosen with zero set exactly ``I`` (``z_J > 0``).
    exclusive : the cones meet no ``Π'_k``, ``k ∉ I``.
    witness : a point ``x ∈ M_I ∩ D`` (a vertex) where W1 or "exact" fails, else ``None``.
    witness_ray : an extreme ray of ``M_I ∩ D`` along which W1 fails, else ``None``.
    """

    subset: tuple[int, ...]
    orbit_size: int
    vacuous: bool
    contains_element: bool
    exact: bool
    exclusive: bool
    witness: np.ndarray | None
    witness_ray: np.ndarray | None

    def holds(self, clause: Clause) -> bool:
        return self.contains_element and (self.exact if clause == "exact" else self.exclusive)


@dataclass(frozen=True, slots=True)
class AsWrittenNesting:
    """Result of :func:`nested_as_written`.

    Attributes
    ----------
    radius : the domain ``D = [0, radius]^d`` (``inf``: the orthant of the definition).
    orientation : ``"paper"`` (``σ = −1``) or ``"positive"`` (``σ = +1``).
    subsets : one :class:`AsWrittenSubset` per rotation orbit of non-empty subsets, in order of
        size; with ``stop_early`` it ends at the first subset failing both clauses.
    lp_count : LPs solved.
    """

    radius: float
    orientation: str
    subsets: tuple[AsWrittenSubset, ...]
    lp_count: int

    def holds(self, clause: Clause = "exact") -> bool:
        """The definition with the chosen reading of "but no other subset"."""
        return all(s.holds(clause) for s in self.subsets)

    @property
    def nested(self) -> bool:
        """``holds("exact")``."""
        return self.holds("exact")

    @property
    def contains_element(self) -> bool:
        return all(s.contains_element for s in self.subsets)

    def first_failure(self, clause: Clause = "exact") -> AsWrittenSubset | None:
        return next((s for s in self.subsets if not s.holds(clause)), None)


def _dedupe(points: list[np.ndarray], scale: float) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for p in points:
        if all(np.max(np.abs(p - q)) > tolerances.FEASIBILITY * scale for q in out):
            out.append(p)
    return out


def _full_rank(M: np.ndarray) -> bool:
    s = np.linalg.svd(M, compute_uv=False)
    return bool(s[-1] > tolerances.AMBIGUOUS_RANK_RELATIVE * max(float(s[0]), tolerances.EPS))


def _vertices(C_I: np.ndarray, b: float, d: int, R: float) -> list[np.ndarray]:
    """Vertices of ``{x : C_I x = −b, 0 <= x <= R}``: ``d`` independent active constraints."""
    p = C_I.shape[0]
    scale = max(1.0, abs(b), R if math.isfinite(R) else 1.0)
    levels = (0.0,) if not math.isfinite(R) else (0.0, R)
    found: list[np.ndarray] = []
    for K in combinations(range(d), d - p):
        M = np.vstack([C_I, np.eye(d)[list(K)]])
        if not _full_rank(M):
            continue
        for vals in product(levels, repeat=len(K)):
            x = np.linalg.solve(M, np.concatenate([np.full(p, -b), vals]))
            if np.all(x >= -tolerances.FEASIBILITY * scale) and np.all(x <= R + tolerances.FEASIBILITY * scale):
                found.append(np.clip(x, 0.0, R))
    return _dedupe(found, scale)


def _rays(C_I: np.ndarray, d: int) -> list[np.ndarray]:
    """Extreme rays of ``{r >= 0 : C_I r = 0}``: ``d − 1`` independent active constraints."""
    p = C_I.shape[0]
    found: list[np.ndarray] = []
    if p >= d:
        return found
    for K in combinations(range(d), d - p - 1):
        M = np.vstack([C_I, np.eye(d)[list(K)]])
        _, s, vt = np.linalg.svd(M)
        if s[-1] <= tolerances.AMBIGUOUS_RANK_RELATIVE * max(float(s[0]), tolerances.EPS):
            continue  # fewer than d − 1 independent constraints
        r = vt[-1] / np.max(np.abs(vt[-1]))
        if np.all(r >= -tolerances.FEASIBILITY):
            found.append(np.clip(r, 0.0, None))
        elif np.all(r <= tolerances.FEASIBILITY):
            found.append(np.clip(-r, 0.0, None))
    return _dedupe(found, 1.0)


def _check_subset(C: np.ndarray, b: float, I: list[int], R: float, sigma: float,
                  eps: float) -> tuple[bool, bool, bool, bool, np.ndarray | None, np.ndarray | None, int]:
    """(vacuous, W1, exact, exclusive, witness, witness ray, LPs) for one subset — see the notes."""
    from ..polyhedra import solver

    d = C.shape[0]
    J = [j for j in range(d) if j not in I]
    C_I, C_J = C[I], C[J]
    verts = _vertices(C_I, b, d, R)
    if not verts:
        return True, True, True, True, None, None, 0
    scale = max(1.0, abs(b), R if math.isfinite(R) else 1.0)
    exclusive = not any(np.any(v[J] <= tolerances.FEASIBILITY * scale) for v in verts)
    # variables (z, t): max t s.t. z_I = 0, C_I z = −b, σ C_J z >= σ C_J v, z_J >= t, t <= 1, 0 <= z <= R
    Aeq = np.vstack([np.hstack([np.eye(d)[I], np.zeros((len(I), 1))]), np.hstack([C_I, np.zeros((len(I), 1))])])
    beq = np.concatenate([np.zeros(len(I)), np.full(len(I), -b)])
    A = np.vstack([np.hstack([-sigma * C_J, np.zeros((len(J), 1))]),
                   np.hstack([-np.eye(d)[J], np.ones((len(J), 1))]),
                   np.eye(1, d + 1, d)])
    lower = np.concatenate([np.zeros(d), [-np.inf]])
    upper = np.concatenate([np.full(d, R), [np.inf]])
    obj = np.eye(1, d + 1, d).ravel()
    n_lp = 0
    exact = True
    witness = None
    for v in verts:
        n_lp += 1
        rhs = np.concatenate([-sigma * (C_J @ v), np.zeros(len(J)), [1.0]])
        res = solver.optimize(obj, A, rhs, Aeq, beq, lower, upper, sense="max")
        if res.status == "infeasible":
            return False, False, False, exclusive, v, None, n_lp
        if exact and res.value <= eps * scale:
            exact, witness = False, v
    if not math.isfinite(R):
        # rays r of B_I: some ρ >= 0, ρ_I = 0, C_I ρ = 0, σ C_J (ρ − r) >= 0
        for r in _rays(C_I, d):
            n_lp += 1
            res = solver.optimize(np.zeros(d), -sigma * C_J, -sigma * (C_J @ r),
                                  np.vstack([np.eye(d)[I], C_I]), np.zeros(2 * len(I)),
                                  np.zeros(d), np.full(d, np.inf))
            if res.status == "infeasible":
                return False, False, False, exclusive, None, r, n_lp
    return False, True, exact, exclusive, witness, None, n_lp


def _validate(layer: CirculantLayer, radius: float, orientation: str, max_size: int) -> float:
    if not isinstance(layer, CirculantLayer):
        raise InvalidInputError(f"layer must be a CirculantLayer, got {type(layer).__name__}")
    if layer.size > max_size:
        raise InvalidInputError(
            f"the definition as written enumerates all 2^d − 1 subsets: d = {layer.size} exceeds "
            f"MAX_AS_WRITTEN_SIZE = {max_size}"
        )
    if orientation not in ("paper", "positive"):
        raise InvalidInputError(f"orientation must be 'paper' or 'positive', got {orientation!r}")
    R = float(radius)
    if math.isnan(R) or R < 0:
        raise InvalidInputError(f"radius must be non-negative (the domain [0, radius]^d) or inf, got {radius!r}")
    layer.dual_vector()  # raises InvalidInputError for a singular C (no dual basis)
    return R


def nested_as_written(layer: CirculantLayer, radius: float = math.inf, *, orientation: Orientation = "paper",
                      stop_early: bool = False, tol: float | None = None) -> AsWrittenNesting:
    """Decide paper 000's §5 definition of complete nesting as written (module notes, reading 1).

    Parameters
    ----------
    layer : a :class:`CirculantLayer` with ``d <= MAX_AS_WRITTEN_SIZE`` and ``C`` invertible.
    radius : the domain ``D = [0, radius]^d``; ``inf`` (default) is the definition's ``R^d_+``.
    orientation : ``"paper"`` (dual basis vectors toward the negative sides, §3) or ``"positive"``.
    stop_early : stop at the first subset that fails under both clauses.
    tol : the margin (relative to ``max(1, |b|, radius)``) above which ``z_J > 0`` counts as
        strict (default ``tolerances.FEASIBILITY``).

    Examples
    --------
    >>> from preimage.conv import circulant
    >>> res = nested_as_written(circulant([1.0, -0.5], 2, bias=-0.1))   # apex 0.2·1: M_{0,1} = {apex}
    >>> res.holds("exact"), [s.subset for s in res.subsets if not s.contains_element]
    (False, [(0,), (0, 1)])
    >>> res = nested_as_written(circulant([1.0, -2.0], 2, bias=-0.1))   # apex −0.1·1
    >>> res.holds("exact"), res.subsets[0].witness.tolist(), res.subsets[-1].vacuous
    (False, [0.1, 0.0], True)
    """
    R = _validate(layer, radius, orientation, MAX_AS_WRITTEN_SIZE)
    eps = tolerances.resolve(tol, tolerances.FEASIBILITY)
    sigma = -1.0 if orientation == "paper" else 1.0
    C = np.array(layer.dense())
    b = float(layer.bias)
    out: list[AsWrittenSubset] = []
    lp_count = 0
    for subset, orbit_size in _orbits(layer.shape):
        if not subset:
            continue
        vac, w1, ex, excl, wit, ray, n = _check_subset(C, b, list(subset), R, sigma, eps)
        lp_count += n
        out.append(AsWrittenSubset(subset, orbit_size, vac, w1, ex, excl, wit, ray))
        if stop_early and not out[-1].holds("exact") and not out[-1].holds("exclusive"):
            break
    log.debug("as-written nesting of %r on [0, %g]^d: %d subsets, %d LPs", layer, R, len(out), lp_count)
    return AsWrittenNesting(R, orientation, tuple(out), lp_count)


def as_written_radius(layer: CirculantLayer, *, clause: Clause = "exact", orientation: Orientation = "paper",
                      rel_tol: float | None = None) -> float:
    """The largest ``R`` such that the definition holds on ``[0, R]^d`` (bisection; module notes).

    The search bracket is ``[0, R_hi]`` with ``R_hi = 8·max(1, ‖x₀‖∞, |b|/‖kernel‖)``; if the
    definition holds at ``R_hi`` and on the whole orthant the result is ``inf``; if it fails at
    every positive ``R`` tried (down to ``rel_tol·R_hi``), ``0``. Bisection stops when the bracket
    is narrower than ``rel_tol`` (default :data:`preimage.tolerances.RADIUS_BISECTION`) times
    its upper end (or that end is below ``rel_tol·R_hi``); the
    lower end (where it held, or 0) is returned.

    >>> from preimage.conv import circulant
    >>> as_written_radius(circulant([1.0, 0.0, 0.0], 3, bias=0.3))   # vacuous: M_I misses R^d_+
    inf
    >>> round(as_written_radius(circulant([1.0, 0.0, 0.0], 3, bias=-0.5)), 2)   # M_{0} = {x_0 = 0.5}
    0.5
    """
    _validate(layer, math.inf, orientation, MAX_AS_WRITTEN_SIZE)
    if rel_tol is None:
        rel_tol = tolerances.RADIUS_BISECTION
    if clause not in ("exact", "exclusive"):
        raise InvalidInputError(f"clause must be 'exact' or 'exclusive', got {clause!r}")

    def holds(R: float) -> bool:
        return nested_as_written(layer, R, orientation=orientation, stop_early=True).holds(clause)

    apex = layer.apex
    scale = max(1.0, 0.0 if apex is None else float(np.abs(apex).max()),
                abs(layer.bias) / float(np.linalg.norm(layer.kernel)))
    hi = 8.0 * scale
    if holds(hi):
        return math.inf if holds(math.inf) else hi
    lo, floor = 0.0, rel_tol * hi
    while hi - lo > rel_tol * hi and hi > floor:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if holds(mid) else (lo, mid)
    return lo


# -- 3./4. containment and angle ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ConeContainment:
    """Result of :func:`cone_containment` (module notes, readings 3 and 4).

    Attributes
    ----------
    contained : ``K = {Cx + b >= 0}`` lies in the orthant (apex and every generator inside).
    apex_inside : ``x₀ >= 0``.
    generators_inside : ``E_i >= 0`` (one verdict: the generators are cyclic shifts of each other).
    radius : ``sup{R : K ∩ [−R, R]^d ⊆ R^d_+}`` (``inf`` when contained).
    exit_point : a point of ``K`` on the boundary of the orthant's complement at that distance
        (``None`` when contained).
    angle, preceding_angle : angles (radians) of the planes to the identity line.
    narrower : ``angle <= preceding_angle`` — the angle relation.
    opens_along_identity : ``a > 0`` (``K`` contains the direction ``+1``).

    Examples
    --------
    >>> from preimage.conv import circulant
    >>> c = cone_containment(circulant([1.0, 0.5], 2, bias=-1.0))   # planes cross the axes at 2
    >>> c.contained, round(c.radius, 9), c.narrower
    (False, 2.0, False)
    """

    contained: bool
    apex_inside: bool
    generators_inside: bool
    radius: float
    exit_point: np.ndarray | None
    angle: float
    preceding_angle: float
    narrower: bool
    opens_along_identity: bool


def cone_containment(layer: CirculantLayer) -> ConeContainment:
    """Containment of the layer's cone in the orthant, its radius, and the angle relation.

    The verdict is exact linear algebra on the generators (apex ``x₀``, dual basis ``E = C⁻¹``);
    the radius is one LP through :mod:`preimage.polyhedra.solver`: ``min t`` over ``x ∈ K``,
    ``x_0 <= 0``, ``|x_j| <= t`` (by the cyclic symmetry the first coordinate stands for all).

    Raises
    ------
    InvalidInputError : not a :class:`CirculantLayer`, ``C`` singular, or ``a = 0`` (no apex).
    """
    from ..polyhedra import solver

    if not isinstance(layer, CirculantLayer):
        raise InvalidInputError(f"layer must be a CirculantLayer, got {type(layer).__name__}")
    apex = layer.apex
    if apex is None:
        raise InvalidInputError(f"the layer's cone has no apex: {layer.apex_reason}")
    E = np.array(layer.dual_basis_matrix())
    d = layer.size
    x0 = float(apex.flat[0])
    gscale = float(np.abs(E).max())
    apex_in = x0 >= -tolerances.FEASIBILITY * max(1.0, abs(x0))
    gen_in = bool(np.all(E >= -tolerances.FEASIBILITY * gscale))
    contained = apex_in and gen_in
    C = np.array(layer.dense())
    # variables (x, t): min t s.t. −Cx <= b, x_0 <= 0, x_j − t <= 0, −x_j − t <= 0
    A = np.vstack([np.hstack([-C, np.zeros((d, 1))]), np.eye(1, d + 1, 0),
                   np.hstack([np.eye(d), -np.ones((d, 1))]), np.hstack([-np.eye(d), -np.ones((d, 1))])])
    rhs = np.concatenate([np.full(d, layer.bias), [0.0], np.zeros(2 * d)])
    res = solver.optimize(np.eye(1, d + 1, d).ravel(), A, rhs)
    radius, exit_point = math.inf, None
    if not contained:
        if res.status != "optimal" or res.x is None:
            raise InvalidInputError(f"the containment radius LP ended with status {res.status!r}")
        radius, exit_point = float(res.value), res.x[:d].copy()
    angle = layer.angle
    pre = math.asin(1.0 / math.sqrt(d))
    return ConeContainment(contained, apex_in, gen_in, radius, exit_point, angle, pre,
                           angle <= pre + tolerances.FEASIBILITY, layer.kernel_sum > 0)


# -- the report ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Reading:
    """One reading's verdict on the orthant and its radius (see the module notes).

    ``radius`` is ``inf`` (every radius), a finite ``R >= 0``, ``-inf`` (never) or ``nan``
    (not computed);
    ``radius_method`` says how it was obtained; ``quote`` is the sentence it formalises.
    """

    name: str
    holds: bool
    radius: float
    radius_method: str
    quote: str


@dataclass(frozen=True, slots=True, eq=False)
class NestingReport:
    """Every reading of complete nesting for one layer (:func:`nesting_report`).

    Attributes
    ----------
    layer : the layer.
    readings : ``as_written`` (the "exact" clause, paper orientation), ``as_written_exclusive``,
        ``operational``, ``containment``, ``angle`` — in that order.
    containment_detail : the :class:`ConeContainment`.
    as_written_detail : the :class:`AsWrittenNesting` on the orthant (``None`` for large ``d``).
    orientation : the cone's rotation parameters (:func:`cone_orientation`; ``None`` in 2-D).
    """

    layer: CirculantLayer
    readings: tuple[Reading, ...]
    containment_detail: ConeContainment
    as_written_detail: AsWrittenNesting | None
    orientation: ConeOrientation | None

    def __getitem__(self, name: str) -> Reading:
        for r in self.readings:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def verdicts(self) -> dict[str, bool]:
        return {r.name: r.holds for r in self.readings}

    def __str__(self) -> str:
        L = self.layer
        c = self.containment_detail
        lines = [f"nesting of kernel {np.round(L.kernel.ravel(), 6).tolist()}, b = {L.bias:g}, d = {L.size}: "
                 f"apex {-L.bias / L.kernel_sum if L.kernel_sum else float('nan'):.6g}·1, angle "
                 f"{math.degrees(c.angle):.2f}° (orthant {math.degrees(c.preceding_angle):.2f}°)"]
        for r in self.readings:
            rad = ("every radius" if r.radius == math.inf else "never" if r.radius == -math.inf
                   else "—" if math.isnan(r.radius) else f"R <= {r.radius + 0.0:.6g}")
            lines.append(f"  {r.name:<21} {'holds' if r.holds else 'fails':<6} {rad:<18} ({r.radius_method})")
        if self.orientation is not None:
            o = self.orientation
            lines.append("  rotation: |ω_m| = " + ", ".join(f"{v:.3f}" for v in o.magnitudes)
                         + "; arg ω_m = " + ", ".join(f"{v:.3f}" for v in o.phases))
        return "\n".join(lines)


def _radius_of(value: float, holds_everywhere: bool) -> float:
    return math.inf if holds_everywhere else value


def nesting_report(layer: CirculantLayer, *, as_written_radii: bool | None = None) -> NestingReport:
    """Which readings of complete nesting hold for ``layer``, and up to which input radius.

    Parameters
    ----------
    layer : a :class:`CirculantLayer` with an apex (``a ≠ 0``) and ``C`` invertible.
    as_written_radii : compute the as-written radii by bisection (each step enumerates the
        vertices of ``M_I ∩ [0, R]^d``: seconds for ``d <= 6``, minutes for ``d = 10``). Default
        ``None``: only when ``d <= AUTO_RADII_SIZE``; otherwise their radius is ``nan`` ("not
        computed"). For ``d > MAX_AS_WRITTEN_SIZE`` the as-written readings are left out.

    Examples
    --------
    >>> from preimage.conv import circulant
    >>> rep = nesting_report(circulant([1.0, -2.0], 2, bias=-0.1))
    >>> rep.verdicts["operational"], rep.verdicts["containment"], rep.verdicts["as_written"]
    (True, False, False)
    >>> round(rep["containment"].radius, 9), rep["angle"].holds
    (0.1, True)
    """
    nr = nesting_radius(layer)
    cont = cone_containment(layer)
    readings: list[Reading] = []
    detail = None
    if as_written_radii is None:
        as_written_radii = layer.size <= AUTO_RADII_SIZE
    if layer.size <= MAX_AS_WRITTEN_SIZE:
        detail = nested_as_written(layer)
        for name, clause in (("as_written", "exact"), ("as_written_exclusive", "exclusive")):
            holds = detail.holds(clause)  # type: ignore[arg-type]
            if as_written_radii:
                rad, how = as_written_radius(layer, clause=clause), "bisection on the exact predicate, box [0,R]^d"  # type: ignore[arg-type]
            else:
                rad, how = math.nan, "radius not computed"
            readings.append(Reading(name, holds, rad, how, QUOTES["as_written"]))
    readings.append(Reading("operational", nr.radius == math.inf, nr.radius, "closed form −b/P, box [0,R]^d",
                            QUOTES["operational"]))
    readings.append(Reading("containment", cont.contained, cont.radius, "LP, max-norm ball around the origin",
                            QUOTES["containment"]))
    readings.append(Reading("angle", cont.narrower, math.inf if cont.narrower else -math.inf, "scale-free",
                            QUOTES["angle"]))
    orientation = None
    if layer.ndim == 1 and layer.size >= 2 and float(np.ptp(layer.first_row)) > 0.0:
        orientation = cone_orientation(layer)
    return NestingReport(layer, tuple(readings), cont, detail, orientation)
