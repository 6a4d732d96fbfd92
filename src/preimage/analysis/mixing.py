"""Class mixing (paper 002 §4): do the preimages of different classes mix?

"If the preimage set of a certain activity in the network contains elements from more than
one class it means that these classes are irreversibly mixed." For a labelled data set and
each layer ``k`` this module reports

* the pairs of examples of different classes whose layer-``k`` activities are *identical*
  (exact float64 equality: they lie in one preimage, so no later layer can separate them),
  and separately the pairs that are equal only within the activity tolerances of
  :mod:`preimage.tolerances`;
* the dimension of each example's **local preimage** — the piece of the preimage of its
  layer-``k`` activity that contains it (:func:`local_preimage`);
* the distance from each example's local preimage to the nearest example of another class
  (a QP per candidate, through :mod:`preimage.polyhedra.solver`).

The local preimage is *one piece* of the preimage: the inputs with the example's activation
pattern on layers ``1..k-1`` and the same layer-``k`` activity. The whole preimage is the
union of such pieces over every pattern that reaches the activity, and may have many more;
distances and dimensions here are those of the example's own piece.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .. import tolerances
from .._validation import as_vector, require_relu_layers
from ..errors import AmbiguousGeometryError, InvalidInputError, SolverError
from ..network import Network
from ..polyhedra import AffineMap, Box, Piece, Polyhedron, solver
from . import check_data, unit_box

__all__ = ["local_preimage", "class_mixing", "LayerMixing", "MixingReport", "plot_mixing", "PieceProgram",
           "piece_dim", "nearest_in_set", "resolve_domain"]

log = logging.getLogger(__name__)

#: Rows per block when pairs of activities are compared (bounds the temporary memory).
_PAIR_BLOCK_ELEMENTS = 1 << 21


def _freeze(obj) -> None:
    """Mark the arrays of a result dataclass read-only (also those inside dict fields)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        items = value.values() if isinstance(value, dict) else [value]
        for v in items:
            if isinstance(v, np.ndarray):
                v.setflags(write=False)


def _check_network(net) -> Network:
    if not isinstance(net, Network):
        raise InvalidInputError(f"net must be a preimage.Network, got {type(net).__name__}")
    return net


def resolve_domain(domain, n: int):
    """``"unit"`` → ``[0, 1]^n``; ``None`` → no domain (all of ``R^n``); a Box/Polyhedron as is."""
    if isinstance(domain, str):
        if domain != "unit":
            raise InvalidInputError(f"domain must be 'unit', None, a Box or a Polyhedron, got {domain!r}")
        return unit_box(n)
    if domain is None:
        return None
    if isinstance(domain, (Box, Polyhedron)):
        if domain.ambient_dim != n:
            raise InvalidInputError(f"the domain lives in dimension {domain.ambient_dim}, the network takes {n} inputs")
        return domain
    raise InvalidInputError(f"domain must be 'unit', None, a Box or a Polyhedron, got {type(domain).__name__}")


def local_preimage(net: Network, x, layer: int, domain=None) -> Piece:
    """The piece of the preimage of ``x``'s layer-``layer`` activity that contains ``x``.

    With ``y = h_layer(x)`` and the activation pattern of ``x`` on layers ``1..layer-1``
    fixed, the network is affine, ``h_layer(x') = M x' + c``; the piece is::

        {x' in domain : z_l(x') >= 0 where x is active, z_l(x') <= 0 where it is inactive
                        (l < layer),  h_layer(x') = y}

    (after a ReLU, ``h = y`` means ``z_i = y_i`` where ``y_i > 0`` and ``z_i <= 0``
    elsewhere). It is built directly from the pattern — no enumeration. Layers ``1..layer``
    must have a ReLU or no activation (other activations raise :class:`InvalidInputError`). The full preimage
    is the union of such pieces over all patterns that reach ``y``; this is the one holding
    ``x`` (``x`` lies in it up to rounding).

    Parameters
    ----------
    net : the network.
    x : one input, ``(input_dim,)``.
    layer : ``1..net.depth``.
    domain : a :class:`~preimage.Box` or :class:`~preimage.Polyhedron` the piece is cut to,
        or ``None`` (all of ``R^n``).

    Returns
    -------
    Piece — its ``polyhedron``, ``pattern`` (one boolean per ReLU of layers ``1..layer``,
    ``z > 0``) and ``affine_map`` (``h_layer`` on the piece).

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from preimage.analysis import local_preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, 1.0], [1.0, -1.0]]), np.zeros(2), True)])
    >>> P = local_preimage(net, [1.0, 2.0], layer=1, domain=preimage.Box([-5, -5], [5, 5]))
    >>> P.polyhedron.dim, P.pattern.tolist()            # z = (3, -1): x1 + x2 = 3, x1 <= x2
    (1, [True, False])
    >>> X = P.polyhedron.sample(20, seed=0)
    >>> bool(np.allclose(net.activations(X, layer=1), [3.0, 0.0]))
    True
    """
    net = _check_network(net)
    k = net._check_layer(layer, allow_input=False)
    require_relu_layers(net, "local_preimage", k)
    n = net.input_dim
    x = as_vector("x", x, length=n)
    dom = resolve_domain(domain, n)
    y = net.activations(x, layer=k)
    M, c = np.eye(n), np.zeros(n)
    rows_A, rows_b, pattern = [], [], []
    C = d = None
    for l, lay in enumerate(net.layers[:k], start=1):
        Mz = np.asarray(lay.weight @ M)
        cz = np.asarray(lay.weight @ c).reshape(-1) + lay.bias
        z = Mz @ x + cz
        if l < k:
            if lay.relu:
                act = z > 0
                pattern.append(act)
                rows_A.append(np.where(act[:, None], -Mz, Mz))
                rows_b.append(np.where(act, cz, -cz))
                M, c = Mz * act[:, None], cz * act
            else:
                M, c = Mz, cz
            continue
        if lay.relu:
            act = y > 0
            pattern.append(act)
            rows_A.append(Mz[~act])
            rows_b.append(-cz[~act])
            C, d = Mz[act], y[act] - cz[act]
            M, c = Mz * act[:, None], cz * act
        else:
            C, d = Mz, y - cz
            M, c = Mz, cz
    A = np.vstack(rows_A) if rows_A else np.zeros((0, n))
    b = np.concatenate(rows_b) if rows_b else np.zeros(0)
    P = Polyhedron(A, b, C, d)
    if dom is not None:
        P = P.intersect(dom)
    pat = np.concatenate(pattern) if pattern else np.zeros(0, dtype=bool)
    return Piece(P, pat, AffineMap(M, c))


# -- pairs -----------------------------------------------------------------------------------------
def _groups(H: np.ndarray) -> tuple[np.ndarray, int]:
    """Group index of each row (rows equal as float64 share a group; -0.0 == 0.0)."""
    if H.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), 0
    _, inv = np.unique(H + 0.0, axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    return inv.astype(np.int64), int(inv.max()) + 1


def _pair_counts(group: np.ndarray, y: np.ndarray, max_pairs: int) -> tuple[int, int, np.ndarray]:
    """(cross-class pairs, same-class pairs, listed cross-class pairs ``(i, j)``, ``i < j``)."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    n_cross = n_same = 0
    listed: list[tuple[int, int]] = []
    for s, e in zip(starts, ends):
        if e - s < 2:
            continue
        members = np.sort(order[s:e])
        _, counts = np.unique(y[members], return_counts=True)
        size = int(e - s)
        total = size * (size - 1) // 2
        same = int(np.sum(counts * (counts - 1) // 2))
        n_same += same
        n_cross += total - same
        if len(listed) < max_pairs and total > same:
            for a in range(len(members)):
                for bb in range(a + 1, len(members)):
                    if y[members[a]] != y[members[bb]]:
                        listed.append((int(members[a]), int(members[bb])))
                        if len(listed) >= max_pairs:
                            break
                if len(listed) >= max_pairs:
                    break
    return int(n_cross), int(n_same), np.array(listed, dtype=np.int64).reshape(-1, 2)


def _near_pairs(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``i < j`` whose activities agree within the activity tolerances, elementwise
    ``|h_i - h_j| <= ACTIVITY_ABSOLUTE + ACTIVITY_RELATIVE * max(|h_i|, |h_j|)``."""
    n, w = H.shape
    block = max(1, _PAIR_BLOCK_ELEMENTS // max(1, n * max(w, 1)))
    I, J = [], []
    absH = np.abs(H)
    for s in range(0, n, block):
        Hb = H[s:s + block]
        diff = np.abs(Hb[:, None, :] - H[None, :, :])
        tol = tolerances.ACTIVITY_ABSOLUTE + tolerances.ACTIVITY_RELATIVE * np.maximum(
            absH[s : s + block, None, :], absH[None, :, :]
        )
        close = np.all(diff <= tol, axis=2)
        ii, jj = np.nonzero(close)
        ii = ii + s
        keep = ii < jj
        I.append(ii[keep])
        J.append(jj[keep])
    return (np.concatenate(I) if I else np.zeros(0, np.int64)), (np.concatenate(J) if J else np.zeros(0, np.int64))


# -- distances -------------------------------------------------------------------------------------
def _lower_bounds(P: Polyhedron, Xc: np.ndarray) -> np.ndarray:
    """Lower bounds on ``dist(x_j, P)``: the distance to each halfspace (rows are unit) and to
    the affine space ``C x = d`` — ``P`` lies in all of them."""
    lb = np.zeros(Xc.shape[0])
    if P.A.shape[0]:
        lb = np.maximum(lb, np.max(Xc @ P.A.T - P.b, axis=1))
    if P.C.shape[0]:
        U, s, _ = np.linalg.svd(P.C, full_matrices=False)
        r = int(np.sum(s > tolerances.RANK_RELATIVE * max(float(s.max(initial=0.0)), 1.0)))
        if r:
            R = Xc @ P.C.T - P.d
            lb = np.maximum(lb, np.linalg.norm((R @ U[:, :r]) / s[:r], axis=1))
    return lb


class PieceProgram:
    """Convex quadratic and ℓ1 questions over one polyhedron ``P``, given a point ``x0`` of it.

    The equalities ``C x = d`` are eliminated: ``x = x0 + N v`` with ``N`` an orthonormal
    basis of the null space of ``C``, so answers satisfy them to rounding (what the activity
    error of a preimage point depends on) and the solver sees inequalities only. Every
    solve goes through :mod:`preimage.polyhedra.solver`. When HiGHS's QP solver fails on the
    reduced problem (it sometimes reports a "solve error" because its answer violates a row by
    a little more than ``SOLVER_FEASIBILITY``), the full problem, then the problem shifted to
    put the target at the origin, are tried before :class:`~preimage.SolverError` is raised.
    """

    __slots__ = ("P", "x0", "N", "AN", "bN", "fallbacks")

    def __init__(self, P: Polyhedron, x0) -> None:
        self.P = P
        self.x0 = np.asarray(x0, dtype=np.float64)
        n = P.ambient_dim
        if P.C.shape[0]:
            _, s, vt = np.linalg.svd(P.C, full_matrices=True)
            r = int(np.sum(s > tolerances.RANK_RELATIVE * max(float(s.max(initial=0.0)), 1.0)))
            self.N = vt[r:].T.copy()
        else:
            self.N = np.eye(n)
        self.AN = P.A @ self.N
        self.bN = P.b - P.A @ self.x0
        self.fallbacks = 0

    @property
    def dim_bound(self) -> int:
        """Dimension of the affine space ``C x = d`` (an upper bound on ``P.dim``)."""
        return int(self.N.shape[1])

    def minimize(self, c) -> np.ndarray:
        """``argmin ½‖x‖² + c·x`` over ``P`` (the projection of ``-c`` onto ``P``)."""
        c = np.asarray(c, dtype=np.float64)
        k = self.N.shape[1]
        if k == 0:  # P is the single point x0
            return self.x0.copy()
        try:
            res = solver.minimize_quadratic(np.eye(k), self.N.T @ (self.x0 + c), self.AN, self.bN)
            if res.status == "optimal" and res.x is not None:
                return self.x0 + self.N @ res.x
        except SolverError as exc:
            log.debug("reduced QP failed (%s); trying the full problem", exc)
        self.fallbacks += 1
        P, n = self.P, self.P.ambient_dim
        try:
            res = solver.minimize_quadratic(np.eye(n), c, P.A, P.b, P.C, P.d)
            if res.status == "optimal" and res.x is not None:
                return res.x
        except SolverError as exc:
            log.debug("full QP failed (%s); trying the shifted problem", exc)
        shift = -c  # x = shift + u: min ½‖u‖² over P - shift
        res = solver.minimize_quadratic(np.eye(n), np.zeros(n), P.A, P.b - P.A @ shift, P.C, P.d - P.C @ shift)
        if res.status == "optimal" and res.x is not None:
            return shift + res.x
        raise SolverError(f"the QP over the piece ended with status {res.status!r} in all three formulations")

    def minimize_abs(self, D) -> np.ndarray:
        """``argmin ‖D x‖₁`` over ``P`` — an LP with one auxiliary variable per row of ``D``.

        In the reduced variables: ``min Σ s`` s.t. ``±(D N v + D x0) <= s``, ``A N v <= b - A x0``.
        """
        D = np.asarray(D, dtype=np.float64)
        k, m = self.N.shape[1], D.shape[0]
        if k == 0:
            return self.x0.copy()
        DN, Dx0 = D @ self.N, D @ self.x0
        eye = np.eye(m)
        A = np.vstack(
            [np.hstack([DN, -eye]), np.hstack([-DN, -eye]), np.hstack([self.AN, np.zeros((self.AN.shape[0], m))])]
        )
        b = np.concatenate([-Dx0, Dx0, self.bN])
        cost = np.concatenate([np.zeros(k), np.ones(m)])
        lower = np.concatenate([np.full(k, -np.inf), np.zeros(m)])
        try:
            res = solver.optimize(cost, A, b, lower=lower)
            if res.status == "optimal" and res.x is not None:
                return self.x0 + self.N @ res.x[:k]
        except SolverError as exc:
            log.debug("reduced LP failed (%s); trying the full problem", exc)
        self.fallbacks += 1
        P, n = self.P, self.P.ambient_dim
        A = np.vstack([np.hstack([D, -eye]), np.hstack([-D, -eye]), np.hstack([P.A, np.zeros((P.A.shape[0], m))])])
        b = np.concatenate([np.zeros(2 * m), P.b])
        C = np.hstack([P.C, np.zeros((P.C.shape[0], m))])
        res = solver.optimize(np.concatenate([np.zeros(n), np.ones(m)]), A, b, C, P.d,
                              lower=np.concatenate([np.full(n, -np.inf), np.zeros(m)]))
        if res.status == "optimal" and res.x is not None:
            return res.x[:n]
        raise SolverError(f"the LP over the piece ended with status {res.status!r}")

    def project(self, p) -> np.ndarray:
        """The point of ``P`` nearest to ``p``."""
        return self.minimize(-np.asarray(p, dtype=np.float64))

    def distance(self, p) -> float:
        p = np.asarray(p, dtype=np.float64)
        return float(np.linalg.norm(self.project(p) - p))


def piece_dim(qp: PieceProgram) -> int:
    """Dimension of ``qp.P``: that of its equality space when the reduced polytope has an
    inscribed ball of radius above ``INTERIOR`` (one LP), else :attr:`Polyhedron.dim`."""
    k = qp.dim_bound
    if k == 0:
        return 0
    _, radius = solver.chebyshev_center(qp.AN, qp.bN)
    if radius > tolerances.INTERIOR:
        return k
    return qp.P.dim


def nearest_in_set(P: Polyhedron, Xc: np.ndarray, x0=None) -> tuple[float, int, int]:
    """``min_j dist(x_j, P)`` over the rows of ``Xc``, exactly, with few QPs.

    Candidates are visited in order of a lower bound on their distance (to the halfspaces
    and the affine hull of ``P``); each visited one costs a QP, and the walk stops when the
    next lower bound is no smaller than the best distance found. ``x0`` is a point of ``P``
    (default: a relative-interior point, found by LP). Returns ``(distance, index into Xc,
    number of QPs)``; ``(inf, -1, 0)`` when ``Xc`` is empty.
    """
    if Xc.shape[0] == 0:
        return float("inf"), -1, 0
    qp = PieceProgram(P, P.relative_interior_point() if x0 is None else x0)
    lb = _lower_bounds(P, Xc)
    order = np.argsort(lb, kind="stable")
    best, arg, qps = float("inf"), -1, 0
    for j in order:
        if lb[j] >= best:
            break
        dist = qp.distance(Xc[j])
        qps += 1
        if dist < best:
            best, arg = dist, int(j)
    return best, arg, qps


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerMixing:
    """Class mixing at one layer.

    Attributes
    ----------
    layer, width : the layer ``k`` and its number of units.
    group : ``(n,)`` — examples with identical activity (float64 equality) share a group id.
    n_groups : number of distinct activities.
    n_cross_pairs, n_same_pairs : pairs ``i < j`` with identical activity and different /
        equal labels (exact counts).
    cross_pairs : ``(p, 2)`` — the identical cross-class pairs (at most ``max_pairs`` listed).
    n_near_cross_pairs, n_near_same_pairs : pairs whose activities differ, but only within
        the activity tolerances (``ACTIVITY_ABSOLUTE + ACTIVITY_RELATIVE·|h|``, elementwise).
    near_cross_pairs : ``(q, 2)`` — those cross-class pairs (at most ``max_pairs``).
    dims : ``(n,)`` — dimension of each example's local preimage (``-2``: too close to call,
        :class:`~preimage.AmbiguousGeometryError`); ``None`` if not computed.
    distances : ``(n,)`` — distance from each local preimage to the nearest example of another
        class (``inf`` if there is none); ``None`` if not computed.
    nearest : ``(n,)`` — index of that example (``-1`` if none).
    qps : number of QPs solved for the distances.
    seconds : time spent on this layer.
    """

    layer: int
    width: int
    group: np.ndarray
    n_groups: int
    n_cross_pairs: int
    n_same_pairs: int
    cross_pairs: np.ndarray
    n_near_cross_pairs: int
    n_near_same_pairs: int
    near_cross_pairs: np.ndarray
    dims: np.ndarray | None = None
    distances: np.ndarray | None = None
    nearest: np.ndarray | None = None
    qps: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        _freeze(self)

    @property
    def mixed_examples(self) -> np.ndarray:
        """Indices of the examples that share their activity with one of another class."""
        if self.n_cross_pairs == 0:
            return np.zeros(0, dtype=np.int64)
        return np.unique(self.cross_pairs)

    def summary(self) -> dict[str, Any]:
        """One table row: counts and the spread of dimensions and distances."""
        row: dict[str, Any] = {
            "layer": self.layer,
            "width": self.width,
            "distinct_activities": self.n_groups,
            "identical_cross_class_pairs": self.n_cross_pairs,
            "identical_same_class_pairs": self.n_same_pairs,
            "near_cross_class_pairs": self.n_near_cross_pairs,
            "near_same_class_pairs": self.n_near_same_pairs,
        }
        if self.dims is not None:
            ok = self.dims[self.dims >= 0]
            row.update(dim_min=int(ok.min()) if ok.size else None, dim_median=float(np.median(ok)) if ok.size else None,
                       dim_max=int(ok.max()) if ok.size else None, dim_undecided=int(np.sum(self.dims < 0)))
        if self.distances is not None:
            fin = self.distances[np.isfinite(self.distances)]
            row.update(distance_min=float(fin.min()) if fin.size else None,
                       distance_median=float(np.median(fin)) if fin.size else None,
                       distance_max=float(fin.max()) if fin.size else None, qps=self.qps)
        row["seconds"] = round(self.seconds, 3)
        return row

    def to_dict(self) -> dict[str, Any]:
        out = self.summary()
        out["cross_pairs"] = self.cross_pairs.tolist()
        out["near_cross_pairs"] = self.near_cross_pairs.tolist()
        out["group"] = self.group.tolist()
        out["dims"] = None if self.dims is None else self.dims.tolist()
        out["distances"] = None if self.distances is None else [
            float(v) if np.isfinite(v) else None for v in self.distances]
        out["nearest"] = None if self.nearest is None else self.nearest.tolist()
        return out


@dataclass(frozen=True)
class MixingReport:
    """Class mixing over the layers of a network on a labelled data set.

    ``layers`` holds one :class:`LayerMixing` per analysed layer; ``labels`` the classes of
    the ``n`` examples; ``domain`` describes the input domain the local preimages are cut to.
    """

    model: str
    n: int
    labels: np.ndarray
    layers: tuple[LayerMixing, ...]
    domain: str
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze(self)

    def __getitem__(self, layer: int) -> LayerMixing:
        for lm in self.layers:
            if lm.layer == layer:
                return lm
        raise KeyError(f"layer {layer} was not analysed (layers {[lm.layer for lm in self.layers]})")

    def table(self) -> list[dict[str, Any]]:
        """One summary row per layer (see :meth:`LayerMixing.summary`)."""
        return [lm.summary() for lm in self.layers]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n": self.n,
            "classes": sorted(int(v) for v in np.unique(self.labels)),
            "domain": self.domain,
            "seconds": round(self.seconds, 3),
            "table": self.table(),
            "layers": [lm.to_dict() for lm in self.layers],
            "info": self.info,
        }


def class_mixing(
    net: Network,
    X,
    y,
    *,
    layers: Sequence[int] | None = None,
    domain="unit",
    dims: bool = True,
    distances: bool = True,
    max_pairs: int = 1000,
    progress: Callable[[int, int, int], None] | None = None,
) -> MixingReport:
    """Which examples of different classes does each layer mix, and how close do they come?

    Parameters
    ----------
    net : the network; ``X`` ``(n, input_dim)`` examples with integer labels ``y``.
    layers : the layers ``k`` to analyse (default: every layer ``1..depth``).
    domain : the input domain local preimages are cut to: ``"unit"`` (``[0, 1]^n``, the
        pixel range; default), ``None`` (all of ``R^n``), a Box or a Polyhedron. The examples
        must lie in it.
    dims : compute the dimension of each example's local preimage (one affine-hull
        computation, a few LPs, per example and layer).
    distances : compute the distance from each example's local preimage to the nearest
        example of another class: exact over the whole data set, with QPs only for the
        candidates a lower bound cannot rule out (see :func:`nearest_in_set`).
    max_pairs : list at most this many pairs per kind and layer (counts are always exact).
    progress : called as ``progress(layer, done, n)`` while local preimages are processed.

    Returns
    -------
    MixingReport

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from preimage.analysis import class_mixing
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([0.0]), True)])
    >>> X = np.array([[0.2, 0.6], [0.1, 0.9], [0.8, 0.1]])      # the first two map to 0
    >>> rep = class_mixing(net, X, [0, 1, 1])
    >>> rep[1].n_cross_pairs, rep[1].cross_pairs.tolist(), rep[1].dims.tolist()
    (1, [[0, 1]], [2, 2, 1])
    """
    t_all = time.perf_counter()
    net = _check_network(net)
    X, labels = check_data(net, X, y)
    if labels is None:
        raise InvalidInputError("class_mixing needs the labels y of the examples")
    if isinstance(max_pairs, bool) or not isinstance(max_pairs, (int, np.integer)) or max_pairs < 0:
        raise InvalidInputError(f"max_pairs must be a non-negative integer, got {max_pairs!r}")
    ks = list(range(1, net.depth + 1)) if layers is None else [net._check_layer(k, allow_input=False) for k in layers]
    if (dims or distances) and ks:
        require_relu_layers(net, "class_mixing's local preimages (dims=True or distances=True)", max(ks))
    dom = resolve_domain(domain, net.input_dim)
    if dom is not None and X.shape[0]:
        outside = np.flatnonzero(~np.asarray(dom.contains(X)))
        if outside.size:
            raise InvalidInputError(
                f"{outside.size} examples lie outside the domain (first: index {int(outside[0])}); "
                "pass a domain that holds the data, or domain=None"
            )
    n = X.shape[0]
    out = []
    for k in ks:
        t0 = time.perf_counter()
        H = net.activations(X, layer=k)
        group, n_groups = _groups(H)
        n_cross, n_same, cross = _pair_counts(group, labels, int(max_pairs))
        I, J = _near_pairs(H)
        not_exact = group[I] != group[J]
        I, J = I[not_exact], J[not_exact]
        diff = labels[I] != labels[J]
        near = np.stack([I[diff], J[diff]], axis=1)[: int(max_pairs)]
        dim_arr = np.full(n, -2, dtype=np.int64) if dims else None
        dist_arr = np.full(n, np.inf) if distances else None
        near_idx = np.full(n, -1, dtype=np.int64) if distances else None
        qps = 0
        if dims or distances:
            for i in range(n):
                piece = local_preimage(net, X[i], k, dom)
                P = piece.polyhedron
                if dim_arr is not None:
                    try:
                        dim_arr[i] = piece_dim(PieceProgram(P, X[i]))
                    except AmbiguousGeometryError as exc:
                        log.warning("layer %d, example %d: local preimage dimension too close to call (%s)", k, i, exc)
                if dist_arr is not None and near_idx is not None:
                    others = np.flatnonzero(labels != labels[i])
                    try:
                        dist, j, q = nearest_in_set(P, X[others], x0=X[i])
                    except SolverError as exc:
                        log.warning("layer %d, example %d: distance not computed (%s)", k, i, exc)
                        dist, j, q = float("nan"), -1, 0
                    qps += q
                    dist_arr[i] = dist
                    near_idx[i] = int(others[j]) if j >= 0 else -1
                if progress is not None:
                    progress(k, i + 1, n)
        out.append(LayerMixing(
            k, net.layers[k - 1].out_dim, group, n_groups, n_cross, n_same, cross,
            int(diff.sum()), int((~diff).sum()), near, dim_arr, dist_arr, near_idx, qps,
            time.perf_counter() - t0,
        ))
        log.info("layer %d: %d distinct activities, %d identical cross-class pairs, %d QPs", k, n_groups, n_cross, qps)
    dom_text = "R^n" if dom is None else ("[0, 1]^n" if isinstance(domain, str) else type(dom).__name__)
    return MixingReport(net.name or "network", n, labels, tuple(out), dom_text, time.perf_counter() - t_all)


# -- pictures --------------------------------------------------------------------------------------
def _figure(nrows: int, ncols: int, size: tuple[float, float]):
    """A matplotlib Figure with an Agg canvas (pyplot's global state is left alone)."""
    from .._optional import require

    FigureCanvasAgg = require("matplotlib.backends.backend_agg", "pictures").FigureCanvasAgg
    Figure = require("matplotlib.figure", "pictures").Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def plot_mixing(report: MixingReport, out=None, axes=None) -> list:
    """Histograms per layer: local preimage dimensions (top row) and distances to the nearest
    example of another class (bottom row).

    ``axes`` is a ``(2, n_layers)`` array of matplotlib axes (made on a new figure when
    ``None``); with ``out`` the figure is saved there. Returns the artists (bar containers).
    """
    L = len(report.layers)
    fig = None
    if axes is None:
        fig, axes = _figure(2, L, (3.2 * L, 5.0))
    axes = np.asarray(axes).reshape(2, L)
    artists = []
    for c, lm in enumerate(report.layers):
        ax = axes[0, c]
        if lm.dims is not None and np.any(lm.dims >= 0):
            d = lm.dims[lm.dims >= 0]
            bins = np.arange(d.min() - 0.5, d.max() + 1.5)
            artists.append(ax.hist(d, bins=bins, color="tab:blue")[2])
        ax.set_title(f"layer {lm.layer}: {lm.n_cross_pairs} mixed pairs", fontsize=9)
        ax.set_xlabel("local preimage dimension", fontsize=8)
        ax = axes[1, c]
        if lm.distances is not None and np.any(np.isfinite(lm.distances)):
            artists.append(ax.hist(lm.distances[np.isfinite(lm.distances)], bins=30, color="tab:orange")[2])
        ax.set_xlabel("distance to nearest other class", fontsize=8)
    if fig is None:
        fig = axes[0, 0].figure
    if out is not None:
        fig.savefig(out, dpi=120)
    return artists
