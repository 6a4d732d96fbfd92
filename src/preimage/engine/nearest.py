"""Exact distances to preimages: the nearest input with a given activity, and the minimal
adversarial perturbation (:func:`nearest`, :func:`robustness_radius`).

Both search in growing boxes ``‖x' − x‖∞ <= R`` around ``x``: a box holding no point of the
preimage proves the distance exceeds ``R`` (in L∞, hence in L1 and L2); an optimum ``d <= R``
inside it is the optimum; once a point is found the boxes shrink to its distance. Inside a
box, one of two exact methods:

* ``"milp"`` (L∞, L1): the network's MILP (:mod:`preimage.engine.milp`) solved by HiGHS,
  with big-M constants from bounds over the box (interval bounds tightened by LPs); the
  optimum's activation region is then solved as an LP (the MILP with its binaries fixed), so
  the returned point lies in a true region of the preimage; a forward pass checks it.
* ``"pieces"`` (every norm): the engine enumerates the pieces of the preimage in the box
  (:func:`preimage.preimage`) and an LP (L∞, L1) or a QP (L2) per piece measures it. The
  engine's search is far faster than the MILP on low-dimensional inputs (ACAS Xu).

L2 with ``"milp"`` (HiGHS has no MIQP): the L1 optimum ``p₁`` bounds the L2 distance by
``‖p₁ − x‖₂``, the first box of the pieces search.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tolerances
from ..errors import InvalidInputError, SolverError
from ..network import Network
from ..polyhedra import Box, Polyhedron, solver
from .milp import NetworkMILP, tightened_ranges
from .targets import normalize_target

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from numpy.typing import ArrayLike, NDArray

    from ..specs import Spec
    from .targets import Activity, AffineSubspace

__all__ = ["NearestResult", "nearest", "robustness_radius"]

NORMS = ("linf", "l1", "l2")
#: the first search box's radius, as a fraction of the domain's largest half-width
_FIRST_RADIUS_FRACTION = 1.0 / 16.0
#: the search box doubles at most this many times (only an unbounded domain needs a cap)
_MAX_DOUBLINGS = 64


@dataclass(frozen=True, slots=True, eq=False)
class NearestResult:
    """The nearest point of a preimage to ``x``, with a certificate.

    Attributes
    ----------
    point : the nearest point found (``None`` when none was found); it lies in the preimage
        (checked by a forward pass).
    distance : ``‖point − x‖`` in ``norm`` (``inf`` without a point).
    lower_bound : a proven lower bound on the true distance (``lower_bound <= distance``);
        equal to ``distance`` (within :data:`~preimage.tolerances.DISTANCE_MATCH`) when complete.
    complete : ``True`` only when the optimum is proven (or the preimage is proven empty
        in the domain: then ``point`` is ``None`` and ``distance = lower_bound = inf``).
    norm : ``"linf"``, ``"l1"`` or ``"l2"``.
    status : ``"optimal"``, ``"empty"`` or ``"time_limit"``.
    stats : counters: ``milps``, ``nodes``, ``seconds``, ``pieces`` (L2), ...
    adversarial, adversarial_class : for :func:`robustness_radius`, an input strictly past the
        decision boundary and its predicted class (else ``None``).
    """

    point: NDArray[np.float64] | None
    distance: float
    lower_bound: float
    complete: bool
    norm: str
    status: str
    stats: Mapping[str, Any]
    adversarial: NDArray[np.float64] | None = None
    adversarial_class: int | None = None

    @property
    def gap(self) -> float:
        """``distance − lower_bound`` (0 when complete)."""
        return float(self.distance - self.lower_bound) if np.isfinite(self.distance) else np.inf


@dataclass(frozen=True, slots=True, eq=False)
class _Part:
    """One disjunct of the target at layer ``layer``: ``flo <= z_layer <= fhi`` (an activity's
    forced pre-activation) or ``A h <= b, C h = d`` on ``h_layer``."""

    layer: int
    force: tuple[NDArray[np.float64], NDArray[np.float64]] | None
    system: tuple[NDArray[np.float64], ...] | None


@dataclass(frozen=True, slots=True, eq=False)
class _Domain:
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    rows: tuple[NDArray[np.float64], ...] | None  # (A, b, C, d) of a polyhedral domain


@dataclass(eq=False)
class _Search:
    """The shared state of one search: the best point and counters."""

    net: Network
    x: NDArray[np.float64]
    norm: str
    deadline: float | None
    best: NDArray[np.float64] | None = None
    best_value: float = np.inf
    milps: int = 0
    nodes: int = 0
    ranges: dict[tuple[int, bytes, bytes], Any] = field(default_factory=dict)
    best_piece: Any = None  # the engine's piece holding the best point (the pieces method)

    share: int = 1  # the MILP about to run gets 1/share of the time left

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.perf_counter()) / self.share


# -- input checks ----------------------------------------------------------------------------------
def _check_common(net: Any, x: Any, norm: Any, time_limit: Any) -> tuple[Network, NDArray[np.float64], float | None]:
    from .api import _budgets

    if not isinstance(net, Network):
        raise InvalidInputError(f"net must be a preimage.Network, got {type(net).__name__}")
    if norm not in NORMS:
        raise InvalidInputError(f"norm must be one of {', '.join(map(repr, NORMS))}, got {norm!r}")
    try:
        xa = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"x must be an input vector of {net.input_dim} numbers, got {x!r}") from None
    if xa.ndim != 1 or xa.shape[0] != net.input_dim:
        raise InvalidInputError(f"x must be one input of length {net.input_dim} (shape ({net.input_dim},)), "
                                f"got shape {xa.shape}")
    if not np.all(np.isfinite(xa)):
        raise InvalidInputError("x must be finite, but it has NaN or infinite entries")
    return net, xa, _budgets(time_limit, None, None, None)[0]


def _domains(domain: Any, n: int) -> list[_Domain]:
    """The domain (a Box, a Polyhedron, a list of them, or ``None``: all of Rⁿ) as bounding
    boxes with the polyhedra's rows; empty parts are dropped."""
    if domain is None:
        return [_Domain(np.full(n, -np.inf), np.full(n, np.inf), None)]
    items = list(domain) if isinstance(domain, (list, tuple)) else [domain]
    if not items or not all(isinstance(d, (Box, Polyhedron)) for d in items):
        raise InvalidInputError("domain must be a preimage.Box, a Polyhedron or a list of them, "
                                f"got {type(domain).__name__}")
    out = []
    for d in items:
        if d.ambient_dim != n:
            raise InvalidInputError(f"the domain lives in dimension {d.ambient_dim}, the network takes inputs of "
                                    f"width {n}")
        if isinstance(d, Box):
            out.append(_Domain(np.asarray(d.lo, dtype=np.float64), np.asarray(d.hi, dtype=np.float64), None))
            continue
        if d.is_empty():
            continue
        lp = solver.LinearProgram(d.A, d.b, d.C, d.d)
        eye = np.eye(n)
        lo = np.array([lp.minimize(e).value for e in eye])
        hi = np.array([lp.maximize(e).value for e in eye])
        out.append(_Domain(lo, hi, (np.asarray(d.A), np.asarray(d.b), np.asarray(d.C), np.asarray(d.d))))
    return out


def _parts(net: Network, target: Any, layer: int | None) -> list[_Part]:
    tgt = normalize_target(target, net, layer)
    if tgt.force is not None:
        flo, fhi, _ = tgt.force
        return [_Part(tgt.layer, (np.asarray(flo), np.asarray(fhi)), None)]
    return [_Part(tgt.layer, None, tuple(np.asarray(a, dtype=np.float64) for a in sys)) for sys in tgt.polyhedra]


# -- one MILP in one box ---------------------------------------------------------------------------
def _build(search: _Search, part: _Part, dom: _Domain, lo: NDArray[np.float64],
           hi: NDArray[np.float64]) -> tuple[NetworkMILP, NDArray[np.float64]] | None:
    """The MILP of ``part`` over the box ``lo..hi`` (``None`` when the bounds already rule it out)
    and its objective."""
    pad = tolerances.FEASIBILITY * (1.0 + np.maximum(np.abs(lo), np.abs(hi)))
    key = (part.layer, lo.tobytes(), hi.tobytes())
    if key not in search.ranges:  # the same box for every part: its bounds are computed once
        search.ranges.clear()
        search.ranges[key] = tightened_ranges(search.net, part.layer, lo, hi, search.deadline)
    enc = NetworkMILP.encode(search.net, part.layer, lo, hi, last_activation=part.force is None,
                             ranges=search.ranges[key])
    if part.force is not None:
        z = enc.z_cols[part.layer - 1]
        for i, col in enumerate(z):
            enc.lower[col] = max(enc.lower[col], float(part.force[0][i]))
            enc.upper[col] = min(enc.upper[col], float(part.force[1][i]))
            if enc.lower[col] > enc.upper[col] + float(pad.max()):
                return None
            enc.upper[col] = max(enc.upper[col], enc.lower[col])
    else:
        assert part.system is not None
        A, b, C, d = part.system
        h = enc.h_cols[part.layer - 1]
        enc.add_rows(A, h, np.full(A.shape[0], -np.inf), b)
        enc.add_rows(C, h, d, d)
    if dom.rows is not None:
        A, b, C, d = dom.rows
        enc.add_rows(A, enc.x_cols, np.full(A.shape[0], -np.inf), b)
        enc.add_rows(C, enc.x_cols, d, d)
    n = search.x.shape[0]
    t = enc.add_cols(np.zeros(1 if search.norm == "linf" else n), np.full(1 if search.norm == "linf" else n, np.inf))
    for i in range(n):  # -t <= x'_i - x_i <= t
        ti = int(t[0] if search.norm == "linf" else t[i])
        xi = int(enc.x_cols[i])
        enc.add_row([xi, ti], [1.0, -1.0], -np.inf, float(search.x[i]))
        enc.add_row([xi, ti], [-1.0, -1.0], -np.inf, -float(search.x[i]))
    cost = np.zeros(enc.n_cols)
    cost[t] = 1.0
    return enc, cost


def _solve_box(search: _Search, part: _Part, dom: _Domain,
               R: float) -> tuple[str, NDArray[np.float64] | None, float, float]:
    """Solve ``part`` within the domain and ``‖x' − x‖∞ <= R``: ``(status, point, value, bound)``
    with the point polished in its activation region (``bound``: the MILP's proven bound)."""
    lo = np.maximum(dom.lo, search.x - R)
    hi = np.minimum(dom.hi, search.x + R)
    if np.any(lo > hi):
        return "infeasible", None, np.inf, np.inf
    built = _build(search, part, dom, lo, hi)
    if built is None:
        return "infeasible", None, np.inf, np.inf
    enc, cost = built
    A = enc.matrix()
    res = solver.solve_milp(cost, A, enc.row_lo, enc.row_hi, enc.lower, enc.upper, enc.integer,
                            time_limit=search.remaining())
    search.milps += 1
    search.nodes += res.nodes
    if res.x is None:
        return res.status, None, np.inf, res.bound
    point = res.x[enc.x_cols]
    if enc.n_binaries:  # polish: the LP of the optimum's activation region (binaries fixed)
        flo, fhi = enc.fixed(res.x)
        pol = solver.solve_milp(cost, A, enc.row_lo, enc.row_hi, flo, fhi, np.zeros(enc.n_cols, dtype=bool))
        if pol.status == "optimal" and pol.x is not None and _check_point(search.net, part, pol.x[enc.x_cols]):
            point = pol.x[enc.x_cols]
    if not _check_point(search.net, part, point):
        raise SolverError("the MILP's nearest point fails the forward-pass check of the target")
    return res.status, point, _distance(point - search.x, search.norm), res.bound


def _distance(v: NDArray[np.float64], norm: str) -> float:
    return float(np.max(np.abs(v), initial=0.0) if norm == "linf" else
                 np.sum(np.abs(v)) if norm == "l1" else np.linalg.norm(v))


def _check_point(net: Network, part: _Part, point: NDArray[np.float64], margin: float = 0.0) -> bool:
    """Whether a numpy forward pass puts ``point`` in ``part`` (within ``CONTAINS``, scaled)."""
    if part.force is not None:
        z = net.pre_activations(point, layer=part.layer)
        tol = tolerances.CONTAINS * (1.0 + np.abs(z))
        return bool(np.all(z >= part.force[0] - tol) and np.all(z <= part.force[1] + tol))
    assert part.system is not None
    A, b, C, d = part.system
    h = net.activations(point, layer=part.layer)
    tol = tolerances.CONTAINS * (1.0 + float(np.max(np.abs(h), initial=0.0)))
    norms_a = np.maximum(np.linalg.norm(A, axis=1), 1.0) if A.size else np.zeros(0)
    norms_c = np.maximum(np.linalg.norm(C, axis=1), 1.0) if C.size else np.zeros(0)
    return bool(np.all(A @ h - b <= tol * norms_a - margin) and np.all(np.abs(C @ h - d) <= tol * norms_c))


# -- the growing box ----------------------------------------------------------------------------------
def _first_radius(search: _Search, domains: Sequence[_Domain]) -> float:
    width = max(float(np.max(d.hi - d.lo)) for d in domains)
    scale = width / 2.0 if np.isfinite(width) else max(1.0, float(np.max(np.abs(search.x))))
    return max(_FIRST_RADIUS_FRACTION * scale, tolerances.FEASIBILITY)


def _step(search: _Search, part: _Part, dom: _Domain, R: float, proven: float) -> tuple[float, bool | None]:
    """One box of radius ``min(R, best)`` for one part: ``(proven bound, outcome)`` with outcome
    ``True`` (finished), ``False`` (stopped by the time limit) or ``None`` (grow the box)."""
    reach = float(np.max(np.maximum(np.abs(search.x - dom.lo), np.abs(dom.hi - search.x))))
    r = min(R, search.best_value)
    covers = r >= reach  # the box holds the whole domain
    status, point, value, bound = _solve_box(search, part, dom, r)
    if point is not None and value < search.best_value:
        search.best, search.best_value = point, value
    if status == "time_limit":
        return max(proven, bound if covers else min(bound, r)), False
    if status == "infeasible":
        if covers:
            return np.inf, True
        return max(proven, r), True if r >= search.best_value else None
    if covers or value <= r:
        return max(proven, bound), True
    return max(proven, r), None  # a point farther than r: the next box (radius best) decides


def _search_parts(search: _Search, parts: Sequence[_Part], domains: Sequence[_Domain]) -> tuple[float, bool]:
    """Every part in every domain, in growing boxes ``‖x' − x‖∞ <= R`` (every part at one
    radius before the next radius; once a point is found, the boxes shrink to its distance):
    ``(lower bound on the distance, all finished)``."""
    items = [(p, d) for p in parts for d in domains]
    proven = [0.0] * len(items)
    active = list(range(len(items)))
    done = True
    R = _first_radius(search, domains)
    for _ in range(_MAX_DOUBLINGS):
        still = []
        for i in active:
            if proven[i] >= search.best_value:
                continue  # pruned by the best point
            if search.deadline is not None and time.perf_counter() >= search.deadline:
                done = False
                continue
            search.share = len(active) - active.index(i)  # a fair share of the time left to each part
            proven[i], outcome = _step(search, items[i][0], items[i][1], R, proven[i])
            search.share = 1
            if outcome is None:
                still.append(i)
            done = done and outcome is not False
        active = still
        if not active:
            break
        R *= 2.0
    else:
        done = False
    lower = min(proven, default=np.inf)
    return min(lower, search.best_value), done


def _linear(search: _Search, parts: Sequence[_Part], domains: Sequence[_Domain], t0: float) -> NearestResult:
    lower, done = _search_parts(search, parts, domains)
    stats = {"milps": search.milps, "nodes": search.nodes, "seconds": time.perf_counter() - t0}
    if search.best is None:
        return NearestResult(None, np.inf, lower, done, search.norm, "empty" if done else "time_limit",
                             MappingProxyType(stats))
    d = search.best_value
    complete = done and d - lower <= tolerances.DISTANCE_MATCH * (1.0 + d)
    return NearestResult(search.best.copy(), d, min(lower, d), complete, search.norm,
                         "optimal" if complete else "time_limit", MappingProxyType(stats))


# -- L2: pieces of the preimage near x, a QP per piece ----------------------------------------------
def _clip_domain(domain: Any, x: NDArray[np.float64], R: float) -> list[Box | Polyhedron]:
    """The parts of ``domain`` within ``‖x' − x‖∞ <= R`` (non-empty ones)."""
    items = [None] if domain is None else (list(domain) if isinstance(domain, (list, tuple)) else [domain])
    out: list[Box | Polyhedron] = []
    for d in items:
        ball = Box(x - R, x + R)
        if d is None:
            out.append(ball)
        elif isinstance(d, Box):
            lo, hi = np.maximum(d.lo, ball.lo), np.minimum(d.hi, ball.hi)
            if np.all(lo <= hi):
                out.append(Box(lo, hi))
        else:
            P = d.intersect(ball.as_polyhedron())
            if not P.is_empty():
                out.append(P)
    return out


def _piece_distance(P: Polyhedron, x: NDArray[np.float64], norm: str) -> NDArray[np.float64] | None:
    """The point of the polyhedron ``P`` nearest to ``x`` (an LP for L∞ / L1, a QP for L2)."""
    n = x.shape[0]
    if norm == "l2":
        return solver.minimize_quadratic(2.0 * np.eye(n), -2.0 * x, P.A, P.b, P.C, P.d).x
    nt = 1 if norm == "linf" else n
    T = np.ones((n, 1)) if norm == "linf" else np.eye(n)
    A = np.vstack([np.hstack([np.asarray(P.A), np.zeros((P.n_inequalities, nt))]),
                   np.hstack([np.eye(n), -T]), np.hstack([-np.eye(n), -T])])
    b = np.concatenate([np.asarray(P.b), x, -x])
    C = np.hstack([np.asarray(P.C), np.zeros((P.n_equalities, nt))])
    cost = np.concatenate([np.zeros(n), np.ones(nt)])
    res = solver.optimize(cost, A, b, C, np.asarray(P.d))
    return None if res.x is None else res.x[:n]


def _piece_lower(piece: Any, x: NDArray[np.float64], norm: str) -> float:
    """A lower bound on the distance from ``x`` to a piece: to the box around its kept vertices
    (0 when the engine kept none)."""
    V = piece.kept_vertices
    if V is None or not len(V):
        return 0.0
    return _distance(np.maximum(0.0, np.maximum(V.min(axis=0) - x, x - V.max(axis=0))), norm)


def _measure_pieces(search: _Search, pieces: list[Any]) -> tuple[int, bool]:
    """Best first: the pieces in the order of :func:`_piece_lower`, an LP / QP each until the
    bound reaches the best distance; ``(pieces measured, stopped by the deadline)``."""
    x, norm = search.x, search.norm
    lower = np.array([_piece_lower(p, x, norm) for p in pieces])
    done = 0
    for i in np.argsort(lower, kind="stable"):
        if lower[i] >= search.best_value:
            break
        if search.deadline is not None and time.perf_counter() >= search.deadline:
            return done, True
        point = _piece_distance(pieces[i].polyhedron, x, norm)
        done += 1
        if point is not None and _distance(point - x, norm) < search.best_value:
            search.best, search.best_value = point, _distance(point - x, norm)
            search.best_piece = pieces[i]
    return done, False


def _by_pieces(net: Network, question: tuple[Any, int | None, Any], parts: Sequence[_Part],
               domains: Sequence[_Domain], search: _Search, t0: float, first: float | None = None) -> NearestResult:
    """The pieces of the preimage in growing boxes ``‖x' − x‖∞ <= R`` (the engine,
    :func:`preimage.preimage`), an LP or QP per piece; ``first``: the first radius."""
    from .api import preimage

    target, layer, domain = question
    x, norm = search.x, search.norm
    reach = max(float(np.max(np.maximum(np.abs(x - d.lo), np.abs(d.hi - x)))) for d in domains)
    R = _first_radius(search, domains) if first is None else first
    proven, finished, pieces, nodes = 0.0, False, 0, 0
    for _ in range(_MAX_DOUBLINGS):
        r = min(R, search.best_value)
        if r <= 0.0:  # x itself is in the preimage
            proven, finished = 0.0, True
            break
        complete = True
        for sub in _clip_domain(domain, x, r):
            res = preimage(net, target, layer=layer, domain=sub, time_limit=search.remaining(), near=x)
            nodes += res.stats.nodes
            measured, stopped = _measure_pieces(search, list(res.set))
            pieces += measured
            complete = complete and res.complete and not stopped
        if not complete:
            break
        if r >= reach or search.best_value <= r:  # the box holds the domain, or the nearest point
            proven, finished = search.best_value, True
            break
        proven = r  # nothing in the box is nearer than r... and nothing outside it
        R = search.best_value if np.isfinite(search.best_value) else 2.0 * R
    if search.best is not None and not any(_check_point(net, part, search.best) for part in parts):
        raise SolverError("the nearest piece's point fails the forward-pass check of the target")
    stats = {"pieces": pieces, "engine_nodes": nodes, "milps": search.milps, "nodes": search.nodes,
             "seconds": time.perf_counter() - t0}
    if search.best is None:
        return NearestResult(None, np.inf, proven, finished, norm, "empty" if finished else "time_limit",
                             MappingProxyType(stats))
    d = search.best_value
    return NearestResult(search.best.copy(), d, min(proven, d), finished, norm,
                         "optimal" if finished else "time_limit", MappingProxyType(stats))


def _solve(net: Network, question: tuple[Any, int | None, Any], parts: Sequence[_Part], domains: Sequence[_Domain],
           search: _Search, method: str, t0: float) -> NearestResult:
    """Dispatch on the norm and the method (see :func:`nearest`)."""
    from .api import VERTEX_BACKEND_MAX_DIM

    small = search.x.shape[0] <= VERTEX_BACKEND_MAX_DIM
    if search.norm != "l2":
        if method == "pieces" or (method == "auto" and small):
            return _by_pieces(net, question, parts, domains, search, t0)
        return _linear(search, parts, domains, t0)
    if method == "milp" or (method == "auto" and not small):  # the L1 optimum bounds the L2 distance
        l1 = _linear(_Search(net, search.x, "l1", search.deadline), parts, domains, t0)
        search.milps, search.nodes = int(l1.stats["milps"]), int(l1.stats["nodes"])
        if l1.point is None:
            return NearestResult(None, np.inf, l1.lower_bound / np.sqrt(search.x.shape[0]), l1.complete, "l2",
                                 l1.status, l1.stats)
        search.best, search.best_value = l1.point, float(np.linalg.norm(l1.point - search.x))
        res = _by_pieces(net, question, parts, domains, search, t0, search.best_value)
        weak = min(l1.lower_bound / np.sqrt(search.x.shape[0]), res.distance)  # ‖v‖₂ >= ‖v‖₁ / √n
        if res.complete or weak <= res.lower_bound:
            return res
        return NearestResult(res.point, res.distance, weak, False, "l2", res.status, res.stats)
    return _by_pieces(net, question, parts, domains, search, t0)


# -- public functions -----------------------------------------------------------------------------------
def nearest(net: Network, target: Activity | Polyhedron | Box | AffineSubspace | Sequence[Polyhedron | Box] | Spec,
            x: ArrayLike, *, layer: int | None = None, domain: Box | Polyhedron | Sequence[Box | Polyhedron],
            norm: str = "linf", time_limit: float | None = None, method: str = "auto") -> NearestResult:
    """The exact nearest point to ``x`` of the preimage of ``target`` at ``layer``, within ``domain``.

    Parameters
    ----------
    net : the network.
    target : as for :func:`preimage.preimage`: an :class:`~preimage.Activity` (then the point's
        activity at ``layer`` equals it exactly), a polyhedron or box in the layer's space, an
        :class:`~preimage.AffineSubspace`, a list of polyhedra (a union), or a VNN-LIB
        :class:`~preimage.Spec` (its output sets).
    x : the input to measure from (length ``net.input_dim``; it need not lie in ``domain``).
    layer : the target layer (default: the last), counted as in :func:`preimage.preimage`.
    domain : a :class:`~preimage.Box`, a :class:`~preimage.Polyhedron`, or a list of them.
    norm : ``"linf"``, ``"l1"`` or ``"l2"``.
    time_limit : seconds (the whole call); when reached the best point found is returned with
        a proven lower bound, ``complete=False``.
    method : ``"milp"`` (L∞ / L1: a MILP through HiGHS; L2: the L1 optimum bounds the search
        box, then pieces), ``"pieces"`` (the engine's pieces of the preimage in growing boxes
        around ``x``, an LP or QP per piece), or ``"auto"``: pieces for inputs of dimension
        up to 10 (where the engine's search beats the MILP by far), else the MILP.

    Returns
    -------
    NearestResult — ``point`` (checked by a forward pass), ``distance``, ``lower_bound``
    (HiGHS's proven dual bound; ``== distance`` when ``complete``), ``complete``; when the
    preimage is empty in the domain, ``point=None``, ``distance=inf``, ``status="empty"``.

    Examples
    --------
    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, 1.0]]), np.array([0.0]), True),
    ...                                     (np.array([[1.0]]), np.array([0.0]), False)])
    >>> res = preimage.nearest(net, preimage.Activity([2.0]), [0.0, 0.0], domain=preimage.Box([-3, -3], [3, 3]))
    >>> res.complete, round(res.distance, 9), (res.point.round(9) + 0.0).tolist()   # x₁ + x₂ = 2
    (True, 1.0, [1.0, 1.0])
    >>> float(net.forward(res.point)[0])
    2.0
    """
    t0 = time.perf_counter()
    net, xa, limit = _check_common(net, x, norm, time_limit)
    if domain is None:
        raise InvalidInputError("domain is required: a Box or Polyhedron of inputs (or a list of them)")
    _check_method(method)
    parts = _parts(net, target, layer)
    domains = _domains(domain, net.input_dim)
    search = _Search(net, xa, norm, None if limit is None else t0 + limit)
    return _solve(net, (target, layer, domain), parts, domains, search, method, t0)


def _check_method(method: Any) -> None:
    if method not in ("auto", "milp", "pieces"):
        raise InvalidInputError(f"method must be 'auto', 'milp' or 'pieces', got {method!r}")


def robustness_radius(net: Network, x: ArrayLike, *, label: int, norm: str = "linf",
                      domain: Box | Polyhedron | Sequence[Box | Polyhedron] | None = None,
                      time_limit: float | None = None, method: str = "auto") -> NearestResult:
    """The exact minimal perturbation of ``x`` that changes the predicted class away from ``label``.

    The radius is ``min_{j ≠ label} min {‖x' − x‖ : x' ∈ domain, y_j(x') >= y_label(x')}``
    (``y`` the network's output), solved as in :func:`nearest`: one search per class ``j``,
    the classes with the smallest logit gap at ``x`` first, each later class searched only
    within the best distance so far.

    Parameters
    ----------
    net : a classifier (its output is the logits; the predicted class is the ``argmax``).
    x : the input; ``label`` its class (usually the predicted one; if ``x`` is already not
        classified as ``label`` the radius is 0).
    norm : ``"linf"``, ``"l1"`` or ``"l2"``.
    domain : the valid inputs (a Box, Polyhedron or a list of them), default all of Rⁿ.
    time_limit : seconds for the whole call, the adversarial input's search included (then
        possibly ``complete=False`` with a proven lower bound).
    method : as for :func:`nearest`.

    Returns
    -------
    NearestResult — ``distance`` is the radius and ``point`` a nearest input on the decision
    boundary (a tie ``y_j = y_label``: its predicted class may still be ``label``).
    ``adversarial`` is an input strictly past the boundary whose predicted class
    ``adversarial_class = argmax y`` differs from ``label``, confirmed by a numpy forward pass:
    the first of ``x + (1 + s)(point − x)``, ``s = 10⁻⁹, 10⁻⁸, …, 10⁻³``, that is misclassified,
    else the nearest input (same norm; L1 for L2) with ``y_j − y_label >= m``,
    ``m = ADVERSARIAL_MARGIN · (1 + max |y(x)|)``. Its distance is ``stats["adversarial_distance"]``
    (``adversarial`` is ``None`` only if neither is found, e.g. without a point).

    Examples
    --------
    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2), False)])
    >>> res = preimage.robustness_radius(net, [1.0, 0.0], label=0, norm="linf")
    >>> res.complete, round(res.distance, 9)          # x₂ - x₁ >= 0 is L∞-distance 0.5 away
    (True, 0.5)
    >>> int(np.argmax(net.forward(res.adversarial))) != 0, res.adversarial_class
    (True, 1)
    """
    t0 = time.perf_counter()
    net, xa, limit = _check_common(net, x, norm, time_limit)
    m = net.output_dim
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < m:
        raise InvalidInputError(f"label must be a class index between 0 and {m - 1}, got {label!r}")
    if m < 2:
        raise InvalidInputError(f"robustness_radius needs a classifier with at least 2 outputs, got {m}")
    y = net.forward(xa)
    order = [int(j) for j in np.argsort(y[label] - y, kind="stable") if j != label]
    systems = [_class_system(m, int(label), j, 0.0) for j in order]
    parts = [_Part(net.depth, None, sysj) for sysj in systems]
    _check_method(method)
    domains = _domains(domain, net.input_dim)
    polys = [Polyhedron(A, b) for A, b, _, _ in systems]
    search = _Search(net, xa, norm, None if limit is None else t0 + limit)
    res = _solve(net, (polys, None, domain), parts, domains, search, method, t0)
    margin = tolerances.ADVERSARIAL_MARGIN * (1.0 + float(np.max(np.abs(y))))
    return _with_adversarial(net, int(label), res, search, margin, (domain, domains, method))


def _class_system(m: int, label: int, j: int, margin: float) -> tuple[NDArray[np.float64], ...]:
    """``y_label − y_j <= −margin`` as ``(A, b, C, d)`` on the output."""
    A = np.zeros((1, m))
    A[0, label], A[0, j] = 1.0, -1.0
    return A, np.array([-margin]), np.zeros((0, m)), np.zeros(0)


def _with_adversarial(net: Network, label: int, res: NearestResult, search: _Search, margin: float,
                      where: tuple[Any, Sequence[_Domain], str]) -> NearestResult:
    """``res`` with an input strictly past the decision boundary (see :func:`robustness_radius`):
    the ray past the point, else the point's piece with the margin, else a search with it."""
    if res.point is None:
        return res
    x, (domain, domains, method) = search.x, where
    adv = None
    for s in 10.0 ** np.arange(-9, -2):
        cand = x + (1.0 + s) * (res.point - x)
        if all(_in_domain(d, cand) for d in domains) and int(np.argmax(net.forward(cand))) != label:
            adv = cand
            break
    m = net.output_dim
    if adv is None and search.best_piece is not None and search.best_piece.affine_map is not None:
        adv = _margin_in_piece(net, label, search.best_piece, x, res.norm, margin)
    if adv is None and (search.deadline is None or time.perf_counter() < search.deadline):
        systems = [_class_system(m, label, j, margin) for j in range(m) if j != label]
        again = _Search(net, x, res.norm, search.deadline)
        found = _solve(net, ([Polyhedron(A, b) for A, b, _, _ in systems], None, domain),
                       [_Part(net.depth, None, sysj) for sysj in systems], domains, again, method, time.perf_counter())
        if found.point is not None and int(np.argmax(net.forward(found.point))) != label:
            adv = found.point
    stats = dict(res.stats)
    if adv is None:
        return NearestResult(res.point, res.distance, res.lower_bound, res.complete, res.norm, res.status,
                             MappingProxyType(stats))
    stats["adversarial_distance"] = _distance(adv - x, res.norm)
    return NearestResult(res.point, res.distance, res.lower_bound, res.complete, res.norm, res.status,
                         MappingProxyType(stats), np.array(adv), int(np.argmax(net.forward(adv))))


def _margin_in_piece(net: Network, label: int, piece: Any, x: NDArray[np.float64], norm: str,
                     margin: float) -> NDArray[np.float64] | None:
    """The nearest point of ``piece`` (a piece of the output's preimage, with its affine map
    ``y = M x + c``) where some ``y_j >= y_label + margin`` and the class is not ``label``."""
    M, c = np.asarray(piece.affine_map.M), np.asarray(piece.affine_map.c)
    best, best_d = None, np.inf
    for j in range(net.output_dim):
        if j == label:
            continue
        P = piece.polyhedron.add_constraints((M[label] - M[j])[None, :], [c[j] - c[label] - margin])
        point = _piece_distance(P, x, norm)
        if point is not None and _distance(point - x, norm) < best_d and \
                int(np.argmax(net.forward(point))) != label:
            best, best_d = point, _distance(point - x, norm)
    return best


def _in_domain(dom: _Domain, point: NDArray[np.float64]) -> bool:
    if np.any(point < dom.lo) or np.any(point > dom.hi):
        return False
    if dom.rows is None:
        return True
    A, b, C, d = dom.rows
    return bool(np.all(A @ point <= b + tolerances.CONTAINS) and np.all(np.abs(C @ point - d) <= tolerances.CONTAINS))
