"""Class mixing measured exactly: the distance from an example ``b`` to the whole preimage of
another example's activity (paper 002 §4).

"If the preimage set of a certain activity in the network contains elements from more than
one class it means that these classes are irreversibly mixed." For a layer ``k`` and a pair
of examples ``(a, b)`` this module measures

    d_k(a, b) = min { ‖x − b‖ : x ∈ domain, h_k(x) = h_k(a) }

— the distance from ``b`` to the preimage ``P_k(h_k(a))`` of ``a``'s layer-``k`` activity, the
*whole* preimage (every activation pattern), by :func:`preimage.nearest` (a MILP through HiGHS,
or the engine's pieces on small inputs). ``d_k(a, b) = 0`` means that the network cannot tell
``b`` from ``a`` at layer ``k``; small values for pairs of different classes mean the classes
nearly mix. The same figure for same-class pairs is the yardstick.

Two facts make the answers checkable and tighten budgeted ones:

* ``a`` lies in its own preimage, so ``d_k(a, b) <= ‖a − b‖``; and ``P_j(h_j(a)) ⊆ P_k(h_k(a))``
  for ``j < k`` (``h_k`` is a function of ``h_j``), so ``d_k <= d_j``: the nearest point found
  at layer ``j`` is a witness at every later layer, and a lower bound proven at layer ``k``
  holds at every earlier layer.
* When a budget (``time_limit`` per call) ends the search, the answer is a certified interval
  ``[lower, upper]`` (``upper`` with a witness point in the preimage, ``lower`` proven), never
  a single number; ``complete`` says which answers are exact.

Pairs: for each example ``a``, its ``pairs`` nearest examples of another class and its
``pairs`` nearest examples of the same class, by plain input distance in the same norm (ties
by index). These are the pairs most likely to mix, and the count stays ``2 · pairs · n`` per
layer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import tolerances
from ..errors import InvalidInputError
from ..network import Network
from ..polyhedra import Box, Polyhedron
from . import check_data
from .mixing import _check_network, _figure, _freeze, _groups, _pair_counts, resolve_domain

__all__ = ["input_distances", "neighbour_pairs", "pair_distance", "exact_class_mixing", "ExactLayerMixing",
           "ExactMixingReport", "mixing_fractions", "plot_exact_mixing", "plot_nearest_members", "NORMS"]

log = logging.getLogger(__name__)

NORMS = ("linf", "l1", "l2")
#: the default thresholds ε, as fractions of the median distance from an example to its nearest
#: example of another class (in the input space, same norm)
EPS_FRACTIONS = (0.1, 0.25, 0.5)


def _check_norm(norm: Any) -> str:
    if norm not in NORMS:
        raise InvalidInputError(f"norm must be one of {', '.join(map(repr, NORMS))}, got {norm!r}")
    return str(norm)


def input_distances(X, norm: str = "linf") -> np.ndarray:
    """The ``(n, n)`` matrix of distances ``‖X_i − X_j‖`` in ``norm``.

    >>> input_distances([[0.0, 0.0], [3.0, 4.0]], "l2").tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    >>> float(input_distances([[0.0, 0.0], [3.0, 4.0]], "l1")[0, 1]), float(input_distances([[0, 0], [3, 4]])[0, 1])
    (7.0, 4.0)
    """
    norm = _check_norm(norm)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InvalidInputError(f"X must be a 2-D array of examples, got shape {X.shape}")
    diff = np.abs(X[:, None, :] - X[None, :, :])
    if norm == "linf":
        return np.max(diff, axis=2, initial=0.0)
    if norm == "l1":
        return np.sum(diff, axis=2)
    return np.sqrt(np.sum(diff ** 2, axis=2))


def neighbour_pairs(X, y, pairs: int = 2, norm: str = "linf") -> np.ndarray:
    """For each example ``a``: its ``pairs`` nearest examples of another class, then its
    ``pairs`` nearest of the same class (``a`` excluded), by input distance in ``norm``, ties
    by index. Returns rows ``(a, b, same_class)``; fewer when a class has fewer examples.

    >>> neighbour_pairs([[0.0], [1.0], [3.0], [10.0]], [0, 0, 1, 1], pairs=1, norm="l1").tolist()
    [[0, 2, 0], [0, 1, 1], [1, 2, 0], [1, 0, 1], [2, 1, 0], [2, 3, 1], [3, 1, 0], [3, 2, 1]]
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(y).reshape(-1)
    if isinstance(pairs, bool) or not isinstance(pairs, (int, np.integer)) or pairs < 1:
        raise InvalidInputError(f"pairs must be a positive integer (neighbours per example and kind), got {pairs!r}")
    if labels.shape[0] != X.shape[0]:
        raise InvalidInputError(f"y must give one label per example ({X.shape[0]}), got {labels.shape[0]}")
    D = input_distances(X, norm)
    rows = []
    for i in range(X.shape[0]):
        order = np.argsort(D[i], kind="stable")
        other = [int(j) for j in order if labels[j] != labels[i]][: int(pairs)]
        same = [int(j) for j in order if labels[j] == labels[i] and j != i][: int(pairs)]
        rows += [(i, j, 0) for j in other] + [(i, j, 1) for j in same]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


@dataclass(frozen=True)
class PairDistance:
    """``d_k(a, b)``, the distance from ``b`` to the preimage of ``h_k(a)``, as a certified interval.

    ``lower <= d_k(a, b) <= upper``; ``point`` is a member of the preimage at distance ``upper``
    (checked by a forward pass); ``complete`` when ``upper − lower <= DISTANCE_MATCH·(1 + upper)``.
    ``status``: ``"optimal"`` (proven by :func:`preimage.nearest`), ``"witness"`` (proven because
    the lower bound reached a known witness: ``a`` or an earlier layer's point) or
    ``"time_limit"`` (an interval).
    """

    lower: float
    upper: float
    point: np.ndarray
    complete: bool
    status: str
    seconds: float

    def __post_init__(self) -> None:
        _freeze(self)


def _distance(v: np.ndarray, norm: str) -> float:
    a = np.abs(v)
    return float(a.max(initial=0.0) if norm == "linf" else a.sum() if norm == "l1" else np.sqrt(np.sum(a ** 2)))


def pair_distance(net: Network, a, b, layer: int, *, domain, norm: str = "linf", time_limit: float | None = 10.0,
                  witness=None, lower: float = 0.0, method: str = "auto") -> PairDistance:
    """The distance from ``b`` to the preimage of ``a``'s layer-``layer`` activity within ``domain``.

    One call of :func:`preimage.nearest` (``target = Activity(h_layer(a))``), combined with the
    witnesses known for free: ``a`` itself and ``witness`` (a point with the same layer activity
    as ``a``, e.g. the nearest point of an earlier layer's preimage), and with ``lower`` (a
    proven lower bound, e.g. from a later layer).

    Parameters
    ----------
    net, a, b, layer : the network, the two inputs and the layer ``1..depth``.
    domain : ``"unit"``, a :class:`~preimage.Box` or a :class:`~preimage.Polyhedron` (required).
    norm : ``"linf"``, ``"l1"`` or ``"l2"``.
    time_limit : seconds for the call (``None``: no limit); when it ends the answer is an interval.
    witness, lower : optional extra knowledge (see above).
    method : as for :func:`preimage.nearest`.

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from preimage.analysis.exact_mixing import pair_distance
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, 1.0]]), np.array([0.0]), True)])
    >>> r = pair_distance(net, [0.5, 0.5], [0.0, 0.0], 1, domain="unit", norm="l1")   # x1 + x2 = 1
    >>> r.complete, round(r.upper, 9), round(r.lower, 9)
    (True, 1.0, 1.0)
    >>> r = pair_distance(net, [0.0, 0.0], [0.2, 0.1], 1, domain="unit", norm="linf")  # x1 + x2 <= 0
    >>> r.complete, round(r.upper, 9), r.point.round(9).tolist()
    (True, 0.2, [0.0, 0.0])
    """
    from ..engine.nearest import nearest
    from ..engine.targets import Activity

    t0 = time.perf_counter()
    net = _check_network(net)
    norm = _check_norm(norm)
    k = net._check_layer(layer, allow_input=False)
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape[0] != net.input_dim or b.shape[0] != net.input_dim:
        raise InvalidInputError(f"a and b must be inputs of width {net.input_dim}, got {a.shape[0]} and {b.shape[0]}")
    dom = resolve_domain(domain, net.input_dim)
    if dom is None:
        raise InvalidInputError("domain is required: 'unit', a Box or a Polyhedron of inputs")
    if not bool(np.all(dom.contains(a[None, :]))):
        raise InvalidInputError("a must lie in the domain (it is the witness of its own preimage)")
    best, upper = a.copy(), _distance(a - b, norm)
    if witness is not None:
        w = np.asarray(witness, dtype=np.float64).reshape(-1)
        if _distance(w - b, norm) < upper:
            best, upper = w.copy(), _distance(w - b, norm)
    res = nearest(net, Activity(net.activations(a, layer=k)), b, layer=k, domain=dom, norm=norm,
                  time_limit=time_limit, method=method)
    if res.point is not None and res.distance < upper:
        best, upper = np.asarray(res.point, dtype=np.float64).copy(), float(res.distance)
    low = min(max(float(res.lower_bound), float(lower), 0.0), upper)
    done = upper - low <= tolerances.DISTANCE_MATCH * (1.0 + upper)
    status = "optimal" if res.complete and upper >= res.distance else ("witness" if done else "time_limit")
    if done:
        low = upper
    return PairDistance(low, upper, best, bool(done), status, time.perf_counter() - t0)


def mixing_fractions(a_index, lower, upper, same, eps: Sequence[float]) -> list[dict[str, Any]]:
    """For each ``ε``: the fraction of examples ``a`` whose preimage comes within ``ε`` of an
    example of another class — ``proven`` (some cross pair with ``upper <= ε``) and ``possible``
    (some cross pair with ``lower <= ε``; the two differ only through budgeted answers).

    Examples ``a`` are those that appear in a cross-class pair (``same == False``).

    >>> rows = mixing_fractions([0, 0, 1, 1], [0.1, 0.5, 0.3, 0.4], [0.1, 0.5, 0.6, 0.4],
    ...                         [False, False, False, True], [0.2, 0.5])
    >>> [(r["eps"], r["proven"], r["possible"], r["examples"]) for r in rows]
    [(0.2, 0.5, 0.5, 2), (0.5, 0.5, 1.0, 2)]
    """
    ai = np.asarray(a_index, dtype=np.int64)
    lo, up = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    cross = ~np.asarray(same, dtype=bool)
    ids = np.unique(ai[cross])
    out = []
    for e in eps:
        proven = sum(bool(np.any(up[cross & (ai == i)] <= e)) for i in ids)
        possible = sum(bool(np.any(lo[cross & (ai == i)] <= e)) for i in ids)
        n = max(len(ids), 1)
        out.append({"eps": float(e), "proven": proven / n, "possible": possible / n, "examples": int(len(ids))})
    return out


def _quartiles(v: np.ndarray) -> dict[str, float | None]:
    if v.size == 0:
        return {"q1": None, "median": None, "q3": None}
    q = np.quantile(v, [0.25, 0.5, 0.75])
    return {"q1": float(q[0]), "median": float(q[1]), "q3": float(q[2])}


@dataclass(frozen=True)
class ExactLayerMixing:
    """The pair distances ``d_k(a, b)`` at one layer ``k``.

    Attributes
    ----------
    layer, width : the layer and its number of units.
    pairs : ``(m, 3)`` rows ``(a, b, same_class)``.
    lower, upper : ``(m,)`` the certified interval of each ``d_k(a, b)``.
    complete : ``(m,)`` which answers are exact.
    points : ``(m, input_dim)`` the nearest preimage member found (at distance ``upper``).
    seconds : ``(m,)`` time per pair.
    n_identical_cross, n_identical_same : the old sanity check — pairs of examples (among
        all ``n``) with float64-identical layer activity and different / equal labels.
    """

    layer: int
    width: int
    pairs: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    complete: np.ndarray
    points: np.ndarray
    seconds: np.ndarray
    n_identical_cross: int
    n_identical_same: int

    def __post_init__(self) -> None:
        _freeze(self)

    def summary(self, eps: Sequence[float]) -> dict[str, Any]:
        """One table row: quartiles of ``upper`` and ``lower`` for cross- and same-class pairs,
        the incomplete counts and the fractions of :func:`mixing_fractions`."""
        same = self.pairs[:, 2].astype(bool)
        row: dict[str, Any] = {"layer": self.layer, "width": self.width}
        for name, sel in (("cross", ~same), ("same", same)):
            row[name] = {"pairs": int(sel.sum()), "incomplete": int(np.sum(sel & ~self.complete)),
                         "upper": _quartiles(self.upper[sel]), "lower": _quartiles(self.lower[sel]),
                         "zero": int(np.sum(sel & (self.upper <= tolerances.DISTANCE_MATCH)))}
        row["within_eps"] = mixing_fractions(self.pairs[:, 0], self.lower, self.upper, same, eps)
        row["identical_cross_class_pairs"] = self.n_identical_cross
        row["identical_same_class_pairs"] = self.n_identical_same
        row["seconds"] = round(float(self.seconds.sum()), 3)
        return row


@dataclass(frozen=True)
class ExactMixingReport:
    """:func:`exact_class_mixing` over the layers: ``layers`` (one :class:`ExactLayerMixing`
    each), the data's ``labels``, the ``norm``, the thresholds ``eps`` and how they were chosen."""

    model: str
    n: int
    labels: np.ndarray
    norm: str
    eps: tuple[float, ...]
    layers: tuple[ExactLayerMixing, ...]
    input_distance: np.ndarray  # (m,) ‖a − b‖ of each pair
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze(self)

    def __getitem__(self, layer: int) -> ExactLayerMixing:
        for lm in self.layers:
            if lm.layer == layer:
                return lm
        raise KeyError(f"layer {layer} was not analysed (layers {[lm.layer for lm in self.layers]})")

    def table(self) -> list[dict[str, Any]]:
        """One summary row per layer (:meth:`ExactLayerMixing.summary`)."""
        return [lm.summary(self.eps) for lm in self.layers]

    def to_dict(self, points: bool = False) -> dict[str, Any]:
        """JSON-ready: the table, the per-pair intervals and (``points=True``) the nearest members."""
        out: dict[str, Any] = {
            "model": self.model, "n": self.n, "norm": self.norm, "eps": list(self.eps),
            "classes": sorted(int(v) for v in np.unique(self.labels)), "seconds": round(self.seconds, 3),
            "info": self.info, "table": self.table(),
            "pairs": self.layers[0].pairs.tolist() if self.layers else [],
            "input_distance": self.input_distance.tolist(),
            "layers": [{"layer": lm.layer, "lower": lm.lower.tolist(), "upper": lm.upper.tolist(),
                        "complete": lm.complete.tolist(), "seconds": np.round(lm.seconds, 4).tolist()}
                       for lm in self.layers],
        }
        if points:
            for d, lm in zip(out["layers"], self.layers):
                d["points"] = lm.points.tolist()
        return out


def _check_args(pairs: Any, time_limit: Any, eps: Any) -> None:
    if isinstance(pairs, bool) or not isinstance(pairs, (int, np.integer)) or pairs < 1:
        raise InvalidInputError(f"pairs must be a positive integer, got {pairs!r}")
    if time_limit is not None and (not isinstance(time_limit, (int, float)) or not time_limit > 0):
        raise InvalidInputError(f"time_limit must be a positive number of seconds or None, got {time_limit!r}")
    if eps is not None and (not all(isinstance(e, (int, float)) and e >= 0 for e in eps) or not len(eps)):
        raise InvalidInputError(f"eps must be a non-empty list of non-negative numbers, got {eps!r}")


def exact_class_mixing(
    net: Network,
    X,
    y,
    *,
    layers: Sequence[int] | None = None,
    domain: str | Box | Polyhedron = "unit",
    norm: str = "linf",
    pairs: int = 2,
    time_limit: float | None = 5.0,
    eps: Sequence[float] | None = None,
    method: str = "auto",
    progress: Callable[[int, int, int], None] | None = None,
) -> ExactMixingReport:
    """The exact distances ``d_k(a, b)`` from examples ``b`` to the preimages of other examples'
    activities, per layer, for neighbouring pairs of different and of equal classes.

    Parameters
    ----------
    net : the network; ``X`` ``(n, input_dim)`` examples in ``domain`` with integer labels ``y``.
    layers : the layers ``k`` (default: every layer ``1..depth``).
    domain : ``"unit"`` (``[0, 1]^n``, default), a Box or a Polyhedron holding the data.
    norm : ``"linf"`` (default), ``"l1"`` or ``"l2"``.
    pairs : per example ``a``, this many nearest examples of another class and of its own
        class (by input distance in ``norm``; :func:`neighbour_pairs`).
    time_limit : seconds per :func:`preimage.nearest` call (``None``: none); a call that reaches
        it gives a certified interval, reported as such.
    eps : the thresholds of :func:`mixing_fractions`; default :data:`EPS_FRACTIONS` times the
        median over ``a`` of the input distance to its nearest example of another class.
    method : as for :func:`preimage.nearest`.
    progress : called as ``progress(layer, done, total)`` after each pair.

    Layers are processed in increasing order so that each pair's nearest point at layer ``j``
    is a witness at the next layer (``P_j ⊆ P_k``), and at the end every lower bound proven at
    layer ``k`` is carried to the earlier layers (``d_j >= d_k``).

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from preimage.analysis.exact_mixing import exact_class_mixing
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([0.0]), True)])
    >>> X = np.array([[0.2, 0.6], [0.1, 0.9], [0.8, 0.1]])      # h = 0, 0, 0.7
    >>> rep = exact_class_mixing(net, X, [0, 1, 1], pairs=1)
    >>> rep[1].pairs.tolist()                                # rows (a, b, same class)
    [[0, 1, 0], [1, 0, 0], [1, 2, 1], [2, 0, 0], [2, 1, 1]]
    >>> rep[1].upper.round(9).tolist(), bool(rep[1].complete.all())   # 0 and 1 mix: distance 0
    ([0.0, 0.0, 0.35, 0.55, 0.75], True)
    """
    t_all = time.perf_counter()
    net = _check_network(net)
    X, labels = check_data(net, X, y)
    if labels is None:
        raise InvalidInputError("exact_class_mixing needs the labels y of the examples")
    norm = _check_norm(norm)
    _check_args(pairs, time_limit, eps)
    dom = resolve_domain(domain, net.input_dim)
    if dom is None:
        raise InvalidInputError("exact_class_mixing needs a bounded domain ('unit', a Box or a Polyhedron)")
    outside = np.flatnonzero(~np.asarray(dom.contains(X)))
    if outside.size:
        raise InvalidInputError(f"{outside.size} examples lie outside the domain (first: index {int(outside[0])})")
    ks = sorted({net._check_layer(k, allow_input=False) for k in (layers or range(1, net.depth + 1))})
    P = neighbour_pairs(X, labels, int(pairs), norm)
    D = input_distances(X, norm)
    dist_ab = D[P[:, 0], P[:, 1]] if P.size else np.zeros(0)
    if eps is None:
        nn_other = np.array([D[i, labels != labels[i]].min() for i in range(X.shape[0]) if np.any(labels != labels[i])])
        scale = float(np.median(nn_other)) if nn_other.size else 0.0
        eps_t = tuple(f * scale for f in EPS_FRACTIONS)
        eps_info = {"eps_rule": "fractions of the median input distance to the nearest other-class example",
                    "eps_fractions": list(EPS_FRACTIONS), "eps_scale": scale}
    else:
        eps_t, eps_info = tuple(float(e) for e in eps), {"eps_rule": "given"}
    m = P.shape[0]
    witness = np.array(X[P[:, 0]]) if m else np.zeros((0, net.input_dim))
    out = []
    for k in ks:
        lo, up, comp = np.zeros(m), np.zeros(m), np.zeros(m, dtype=bool)
        pts, secs = np.zeros((m, net.input_dim)), np.zeros(m)
        for r in range(m):
            res = pair_distance(net, X[P[r, 0]], X[P[r, 1]], k, domain=dom, norm=norm, time_limit=time_limit,
                                witness=witness[r], method=method)
            lo[r], up[r], comp[r], pts[r], secs[r] = res.lower, res.upper, res.complete, res.point, res.seconds
            if progress is not None:
                progress(k, r + 1, m)
        witness = pts.copy()
        group, _ = _groups(net.activations(X, layer=k))
        n_cross, n_same, _ = _pair_counts(group, labels, 0)
        out.append([k, net.layers[k - 1].out_dim, lo, up, comp, pts, secs, n_cross, n_same])
        log.info("layer %d: %d pairs, %d incomplete", k, m, int(np.sum(~comp)))
    for i in range(len(out) - 2, -1, -1):  # d_j >= d_k for j < k: carry the lower bounds back
        lo, up = out[i][2], out[i][3]
        lo[:] = np.minimum(np.maximum(lo, out[i + 1][2]), up)
        out[i][4] = out[i][4] | (up - lo <= tolerances.DISTANCE_MATCH * (1.0 + up))
    info = {"pairs_per_example": int(pairs), "time_limit": time_limit, "method": method,
            "domain": type(dom).__name__, **eps_info}
    return ExactMixingReport(net.name or "network", X.shape[0], labels, norm, eps_t,
                             tuple(ExactLayerMixing(k, w, P, *rest) for k, w, *rest in out),
                             dist_ab, time.perf_counter() - t_all, info)


# -- pictures --------------------------------------------------------------------------------------
def plot_exact_mixing(report: ExactMixingReport, out=None, title: str | None = None):
    """Per layer: the distances ``d_k(a, b)`` of same-class and other-class pairs (dots: exact;
    bars: certified intervals of budgeted answers), the input distances ``‖a − b‖`` as the
    leftmost column, and the thresholds ``ε`` as dotted lines. Returns the figure.

    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([0.0]), True)])
    >>> rep = exact_class_mixing(net, [[0.2, 0.6], [0.1, 0.9], [0.8, 0.1]], [0, 1, 1], pairs=1)
    >>> fig = plot_exact_mixing(rep)
    >>> [ax.get_xticklabels()[1].get_text() for ax in fig.axes[:1]], len(fig.axes)
    (['layer 1'], 2)
    """
    L = len(report.layers)
    fig, axes = _figure(1, 2, (3.0 + 1.6 * (L + 1), 3.6))
    ax = axes[0, 0]
    same = report.layers[0].pairs[:, 2].astype(bool) if L else np.zeros(0, dtype=bool)
    rng = np.random.default_rng(0)
    cols = [("input", report.input_distance, report.input_distance)] + [
        (f"layer {lm.layer}", lm.lower, lm.upper) for lm in report.layers]
    for c, (_, lo, up) in enumerate(cols):
        for kind, sel, colour, dx in (("same class", same, "tab:blue", -0.18), ("other class", ~same, "tab:red", 0.18)):
            xs = c + dx + rng.uniform(-0.1, 0.1, int(sel.sum()))
            exact = up[sel] - lo[sel] <= tolerances.DISTANCE_MATCH * (1.0 + up[sel])
            ax.scatter(xs[exact], up[sel][exact], s=9, color=colour, alpha=0.7,
                       label=kind if c == 0 else None)
            if np.any(~exact):
                ax.vlines(xs[~exact], lo[sel][~exact], up[sel][~exact], color=colour, alpha=0.5, lw=1.2)
            ax.hlines(np.median(up[sel]) if sel.any() else np.nan, c + dx - 0.15, c + dx + 0.15, color="k", lw=2)
    for e in report.eps:
        ax.axhline(e, color="gray", ls=":", lw=0.8)
    ax.set_xticks(range(len(cols)), [c[0] for c in cols], fontsize=8)
    ax.set_ylabel(f"distance from b to P_k(h_k(a)) ({report.norm})", fontsize=8)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
    ax.set_title("pair distances (bars: certified intervals)", fontsize=9)
    ax = axes[0, 1]
    rows = report.table()
    xs = [r["layer"] for r in rows]
    for j, e in enumerate(report.eps):
        prov = [r["within_eps"][j]["proven"] for r in rows]
        poss = [r["within_eps"][j]["possible"] for r in rows]
        line = ax.plot(xs, prov, marker="o", label=f"ε = {e:.3g}")[0]
        ax.fill_between(xs, prov, poss, color=line.get_color(), alpha=0.2)
    ax.set_xticks(xs)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("layer k", fontsize=8)
    ax.set_ylabel("fraction of examples a", fontsize=8)
    ax.set_title("P_k(h_k(a)) within ε of another class", fontsize=9)
    ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    if out is not None:
        fig.savefig(out, dpi=120)
    return fig


def plot_nearest_members(report: ExactMixingReport, X, rows: Sequence[int], out=None, image_shape=None,
                         title: str | None = None):
    """For each pair ``rows[i]`` (a row of ``report.layers[0].pairs``): ``a``, ``b`` and, per
    layer, the member of ``P_k(h_k(a))`` nearest to ``b`` (same layer-``k`` activity as ``a``).
    Images when ``image_shape`` (``(h, w)``) is given, else signals. Returns the figure.

    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([0.0]), True)])
    >>> X = np.array([[0.2, 0.6], [0.1, 0.9], [0.8, 0.1]])
    >>> rep = exact_class_mixing(net, X, [0, 1, 1], pairs=1)
    >>> fig = plot_nearest_members(rep, X, [0, 3])        # rows (0, 1) and (2, 0): d = 0 and 0.55
    >>> [fig.axes[i].get_title() for i in (2, 5)]
    ['layer 1: d = 0', 'layer 1: d = 0.55']
    """
    X = np.asarray(X, dtype=np.float64)
    L = len(report.layers)
    P = report.layers[0].pairs
    fig, axes = _figure(len(rows), L + 2, (1.7 * (L + 2), 1.9 * len(rows)))
    lo, hi = float(X.min()), float(X.max())
    for r, row in enumerate(rows):
        a, b, same = (int(v) for v in P[row])
        cells = [(X[a], f"a: #{a}, class {report.labels[a]}"), (X[b], f"b: #{b}, class {report.labels[b]}")]
        for lm in report.layers:
            tag = f"{lm.upper[row]:.3g}" if lm.complete[row] else f"[{lm.lower[row]:.3g}, {lm.upper[row]:.3g}]"
            cells.append((lm.points[row], f"layer {lm.layer}: d = {tag}"))
        for c, (v, text) in enumerate(cells):
            ax = axes[r, c]
            if image_shape is not None:
                ax.imshow(v.reshape(image_shape), cmap="gray_r", vmin=lo, vmax=hi, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                if c >= 2:
                    ax.plot(X[b], color="tab:red", lw=0.8, alpha=0.6)
                    ax.plot(X[a], color="tab:blue", lw=0.8, alpha=0.6)
                ax.plot(v, color="k", lw=1.2)
                ax.set_ylim(lo, hi)
                ax.set_xticks([])
                ax.tick_params(labelsize=6)
            ax.set_title(text, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    if out is not None:
        fig.savefig(out, dpi=120)
    return fig
