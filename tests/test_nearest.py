"""Exact distances to preimages (preimage.nearest, preimage.robustness_radius) against
independent oracles:

* brute force written here: every activation pattern of a small network (every branch of every
  unit, enumerated with itertools), its region as a polyhedron built here with numpy, and the
  distance from x to that region by scipy.optimize.linprog (L∞, L1) or an SLSQP QP (L2);
* a separately written MILP (scipy.optimize.milp, its own big-M encoding with its own interval
  bounds) on bigger networks;
* a numpy forward pass written here, for every returned point.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, linprog, milp, minimize

import preimage
from preimage.activations import HardTanh, LeakyReLU, MaxPool, ReLU

TOL = 1e-6


# -- the test's own network model ----------------------------------------------------------------
def random_layers(seed, widths, scale=1.0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(o, i)) * scale, rng.normal(size=o) * 0.5) for i, o in zip(widths[:-1], widths[1:])]


PIECES = {  # (breakpoints, slopes, intercepts) of each activation, written out here
    "relu": ([0.0], [0.0, 1.0], [0.0, 0.0]),
    "leaky": ([0.0], [0.1, 1.0], [0.0, 0.0]),
    "hardtanh": ([-1.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]),
}
ACT = {"relu": ReLU, "leaky": lambda: LeakyReLU(0.1), "hardtanh": lambda: HardTanh(-1.0, 1.0)}


def phi(kind, z):
    t, s, c = PIECES[kind]
    b = np.searchsorted(np.asarray(t), z)  # the piece index of each entry
    return np.asarray(s)[b] * z + np.asarray(c)[b]


def build(layers, kind="relu"):
    return preimage.Network.from_arrays([(W, b, ACT[kind]() if i < len(layers) - 1 else False)
                                         for i, (W, b) in enumerate(layers)])


def forward(layers, x, k=None, kind="relu", pre=False):
    """h_k (or z_k with pre=True) by a numpy pass written here; the last layer is linear."""
    k = len(layers) if k is None else k
    h = np.asarray(x, dtype=float)
    for i, (W, b) in enumerate(layers[:k]):
        z = W @ h + b
        if pre and i == k - 1:
            return z
        h = phi(kind, z) if i < len(layers) - 1 else z
    return h


# -- brute force over activation patterns ----------------------------------------------------------
def regions(layers, k, kind="relu"):
    """Every branch assignment of the units of layers 1..k-1: (G, g, M, c) with the region
    {x : G x <= g} on which z_k = M x + c."""
    t, s, c0 = (np.asarray(a) for a in PIECES[kind])
    n_br = len(s)
    widths = [W.shape[0] for W, _ in layers[: k - 1]]
    n_in = layers[0][0].shape[1]
    for pattern in itertools.product(range(n_br), repeat=sum(widths)):
        M, c = np.eye(n_in), np.zeros(n_in)
        G, g, pos = [], [], 0
        for (W, b), w in zip(layers[: k - 1], widths):
            Mz, cz = W @ M, W @ c + b
            br = np.array(pattern[pos:pos + w])
            pos += w
            for u in range(w):
                lo = -np.inf if br[u] == 0 else t[br[u] - 1]
                hi = np.inf if br[u] == n_br - 1 else t[br[u]]
                if np.isfinite(lo):  # z_u >= lo
                    G.append(-Mz[u]), g.append(cz[u] - lo)
                if np.isfinite(hi):
                    G.append(Mz[u]), g.append(hi - cz[u])
            M, c = s[br][:, None] * Mz, s[br] * cz + c0[br]
        W, b = layers[k - 1]
        yield np.array(G).reshape(-1, n_in), np.array(g), W @ M, W @ c + b


def lp_distance(x0, G, g, E, e, lo, hi, norm):
    """min ‖x − x0‖ (L∞ or L1) over {G x <= g, E x = e, lo <= x <= hi} by linprog (inf if empty)."""
    n = x0.shape[0]
    nt = 1 if norm == "linf" else n
    T = np.ones((n, 1)) if norm == "linf" else np.eye(n)
    A = np.vstack([np.hstack([np.eye(n), -T]), np.hstack([-np.eye(n), -T]), np.hstack([G, np.zeros((len(g), nt))])])
    b = np.concatenate([x0, -x0, g])
    Aeq = np.hstack([E, np.zeros((E.shape[0], nt))]) if E.size else None
    res = linprog(np.concatenate([np.zeros(n), np.ones(nt)]), A_ub=A, b_ub=b, A_eq=Aeq,
                  b_eq=e if E.size else None, bounds=list(zip(lo, hi)) + [(0, None)] * nt, method="highs")
    return res.fun if res.status == 0 else np.inf


def qp_distance(x0, G, g, E, e, lo, hi):
    """min ‖x − x0‖₂ over the region by SLSQP from a linprog feasible point (inf if empty)."""
    n = x0.shape[0]
    feas = linprog(np.zeros(n), A_ub=G if len(g) else None, b_ub=g if len(g) else None,
                   A_eq=E if E.size else None, b_eq=e if E.size else None, bounds=list(zip(lo, hi)), method="highs")
    if feas.status != 0:
        return np.inf
    cons = []
    if len(g):
        cons.append({"type": "ineq", "fun": lambda v: g - G @ v, "jac": lambda v: -G})
    if E.size:
        cons.append({"type": "eq", "fun": lambda v: E @ v - e, "jac": lambda v: E})
    res = minimize(lambda v: np.sum((v - x0) ** 2), feas.x, jac=lambda v: 2 * (v - x0), constraints=cons,
                   bounds=list(zip(lo, hi)), method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    return float(np.sqrt(res.fun))


def brute_activity(layers, k, y, x0, lo, hi, norm, kind="relu"):
    """Nearest point of the preimage of the activity y at hidden layer k (after its activation)."""
    best = np.inf
    t = PIECES[kind][0]
    for G, g, M, c in regions(layers, k, kind):
        rows, rhs, eq, eqr = [G], [g], [], []
        for u, yu in enumerate(y):
            if kind == "relu" and yu <= 0:  # z_u <= 0
                rows.append(M[u:u + 1]), rhs.append([-c[u]])
            else:
                eq.append(M[u]), eqr.append(yu - c[u])
                assert kind == "relu" or not np.isin(yu, phi(kind, np.asarray(t)))
        Gx, gx = np.vstack(rows), np.concatenate(rhs)
        E = np.array(eq).reshape(-1, len(x0))
        d = qp_distance(x0, Gx, gx, E, np.array(eqr), lo, hi) if norm == "l2" else \
            lp_distance(x0, Gx, gx, E, np.array(eqr), lo, hi, norm)
        best = min(best, d)
    return best


def brute_output(layers, A, b, x0, lo, hi, norm, kind="relu"):
    """Nearest point with A y <= b at the (linear) output."""
    best = np.inf
    for G, g, M, c in regions(layers, len(layers), kind):
        Gx, gx = np.vstack([G, A @ M]), np.concatenate([g, b - A @ c])
        E = np.zeros((0, len(x0)))
        d = qp_distance(x0, Gx, gx, E, np.zeros(0), lo, hi) if norm == "l2" else \
            lp_distance(x0, Gx, gx, E, np.zeros(0), lo, hi, norm)
        best = min(best, d)
    return best


def dist(v, norm):
    return {"linf": np.max(np.abs(v)), "l1": np.sum(np.abs(v)), "l2": np.linalg.norm(v)}[norm]


def check_point(res, x0, norm):
    """The result's own consistency: its distance is that of its point; the bound below it."""
    assert res.point is not None
    assert abs(dist(res.point - x0, norm) - res.distance) <= TOL
    assert res.lower_bound <= res.distance + TOL


# -- brute-force oracle ----------------------------------------------------------------------------------
CASES = [(seed, widths, norm) for seed in range(4) for widths, norm in
         [((2, 4, 3, 1), "linf"), ((3, 4, 2, 2), "l1"), ((2, 3, 3, 1), "l2"), ((3, 5, 2), "linf")]]


@pytest.mark.parametrize("method", ["milp", "pieces"])
@pytest.mark.parametrize("seed,widths,norm", CASES)
def test_activity_target_matches_brute_force(seed, widths, norm, method):
    layers = random_layers(seed, widths)
    net = build(layers)
    n = widths[0]
    lo, hi = -2 * np.ones(n), 2 * np.ones(n)
    rng = np.random.default_rng(100 + seed)
    k = len(layers) - 1  # the last hidden layer
    xa = rng.uniform(lo, hi)
    y = forward(layers, xa, k)
    x0 = rng.uniform(lo, hi)
    res = preimage.nearest(net, preimage.Activity(y), x0, layer=k, domain=preimage.Box(lo, hi), norm=norm,
                           method=method)
    oracle = brute_activity(layers, k, y, x0, lo, hi, norm)
    assert res.complete and res.status == "optimal"
    assert abs(res.distance - oracle) <= TOL, (res.distance, oracle)
    check_point(res, x0, norm)
    assert np.allclose(forward(layers, res.point, k), y, atol=1e-7)  # the activity, reproduced
    assert np.all(res.point >= lo - 1e-9) and np.all(res.point <= hi + 1e-9)


@pytest.mark.parametrize("method", ["milp", "pieces"])
@pytest.mark.parametrize("seed", [0, 1, 2, 4, 5])  # seed 0: empty in the domain; the others: x0 outside, finite
@pytest.mark.parametrize("norm", ["linf", "l1", "l2"])
def test_output_union_target_matches_brute_force(seed, norm, method):
    layers = random_layers(seed, (2, 3, 3, 2))
    net = build(layers)
    lo, hi = -np.ones(2), np.ones(2)
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(lo, hi)
    Y = forward(layers, rng.uniform(lo, hi))
    P1 = preimage.Polyhedron([[1.0, 0.0]], [Y[0] - 0.3])  # y_0 <= ...
    P2 = preimage.Polyhedron([[-1.0, 1.0]], [-0.5])  # y_1 - y_0 <= -0.5
    res = preimage.nearest(net, [P1, P2], x0, domain=preimage.Box(lo, hi), norm=norm, method=method)
    oracle = min(brute_output(layers, np.array([[1.0, 0.0]]), np.array([Y[0] - 0.3]), x0, lo, hi, norm),
                 brute_output(layers, np.array([[-1.0, 1.0]]), np.array([-0.5]), x0, lo, hi, norm))
    assert res.complete
    if not np.isfinite(oracle):
        assert res.point is None and res.status == "empty"
        return
    assert oracle > 0.1
    assert abs(res.distance - oracle) <= TOL, (res.distance, oracle)
    check_point(res, x0, norm)
    y = forward(layers, res.point)
    assert y[0] <= Y[0] - 0.3 + 1e-7 or y[1] - y[0] <= -0.5 + 1e-7


@pytest.mark.parametrize("method", ["milp", "pieces"])
@pytest.mark.parametrize("kind", ["leaky", "hardtanh"])
@pytest.mark.parametrize("seed", range(3))
def test_other_activations_match_brute_force(kind, seed, method):
    layers = random_layers(seed, (2, 3, 3, 1))
    net = build(layers, kind)
    lo, hi = -2 * np.ones(2), 2 * np.ones(2)
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(lo, hi)
    c = float(forward(layers, rng.uniform(lo, hi), kind=kind)[0])
    res = preimage.nearest(net, preimage.Box([c], [c + 0.25]), x0, domain=preimage.Box(lo, hi), norm="linf",
                           method=method)
    A, b = np.array([[1.0], [-1.0]]), np.array([c + 0.25, -c])
    oracle = brute_output(layers, A, b, x0, lo, hi, "linf", kind)
    assert res.complete and abs(res.distance - oracle) <= TOL, (res.distance, oracle)
    y = forward(layers, res.point, kind=kind)[0]
    assert c - 1e-7 <= y <= c + 0.25 + 1e-7


# -- a separately written MILP (scipy.optimize.milp) ------------------------------------------------------
def scipy_milp_distance(layers, x0, lo, hi, norm, out_row, out_rhs):
    """min ‖x − x0‖ s.t. out_row · y <= out_rhs, y the output of the ReLU net, x in [lo, hi]:
    variables [x, (z, h, δ) per hidden layer, t]; big-M from plain interval arithmetic."""
    n = x0.shape[0]
    nt = 1 if norm == "linf" else n
    hidden = layers[:-1]
    sizes = [W.shape[0] for W, _ in hidden]
    nv = n + 3 * sum(sizes) + nt
    rows, rlo, rhi = [], [], []
    vlo, vhi = list(lo), list(hi)
    integ = [0] * n
    hl, hh = np.asarray(lo, float), np.asarray(hi, float)
    prev = list(range(n))
    off = n
    for (W, b), w in zip(hidden, sizes):
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        L, U = Wp @ hl + Wn @ hh + b, Wp @ hh + Wn @ hl + b
        z, h, d = range(off, off + w), range(off + w, off + 2 * w), range(off + 2 * w, off + 3 * w)
        off += 3 * w
        vlo += list(L) + [0.0] * w + [0.0] * w
        vhi += list(U) + list(np.maximum(U, 0)) + [1.0] * w
        integ += [0] * (2 * w) + [1] * w
        for u in range(w):
            r = np.zeros(nv)
            r[list(prev)] = W[u]
            r[z[u]] = -1.0
            rows.append(r), rlo.append(-b[u]), rhi.append(-b[u])
            r = np.zeros(nv); r[h[u]], r[z[u]] = 1, -1  # noqa: E702
            rows.append(r), rlo.append(0), rhi.append(np.inf)
            r = np.zeros(nv); r[h[u]], r[z[u]], r[d[u]] = 1, -1, -L[u]  # noqa: E702
            rows.append(r), rlo.append(-np.inf), rhi.append(-L[u])
            r = np.zeros(nv); r[h[u]], r[d[u]] = 1, -max(U[u], 0)  # noqa: E702
            rows.append(r), rlo.append(-np.inf), rhi.append(0)
        hl, hh = np.maximum(L, 0), np.maximum(U, 0)
        prev = list(h)
    W, b = layers[-1]
    r = np.zeros(nv)
    r[prev] = out_row @ W
    rows.append(r), rlo.append(-np.inf), rhi.append(out_rhs - out_row @ b)
    t0 = off
    vlo += [0.0] * nt
    vhi += [np.inf] * nt
    integ += [0] * nt
    for i in range(n):
        ti = t0 if norm == "linf" else t0 + i
        for sgn in (1, -1):
            r = np.zeros(nv); r[i], r[ti] = sgn, -1  # noqa: E702
            rows.append(r), rlo.append(-np.inf), rhi.append(sgn * x0[i])
    cost = np.zeros(nv)
    cost[t0:] = 1
    res = milp(cost, constraints=LinearConstraint(np.array(rows), rlo, rhi), integrality=integ,
               bounds=Bounds(vlo, vhi), options={"mip_rel_gap": 0})
    return res.fun if res.status == 0 else np.inf


@pytest.mark.parametrize("method", ["milp", "pieces"])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_robustness_radius_matches_scipy_milp(seed, norm, method):
    layers = random_layers(seed, (5, 10, 8, 3))
    net = build(layers)
    lo, hi = -np.ones(5), np.ones(5)
    x0 = np.random.default_rng(seed).uniform(-0.5, 0.5, size=5)
    y0 = forward(layers, x0)
    label = int(np.argmax(y0))
    res = preimage.robustness_radius(net, x0, label=label, norm=norm, domain=preimage.Box(lo, hi), method=method)
    oracle = min(scipy_milp_distance(layers, x0, lo, hi, norm, np.eye(3)[label] - np.eye(3)[j], 0.0)
                 for j in range(3) if j != label)
    assert res.complete and abs(res.distance - oracle) <= TOL, (res.distance, oracle)
    check_point(res, x0, norm)
    yp = forward(layers, res.point)  # on the boundary: some other class ties the label
    assert max(yp[j] for j in range(3) if j != label) >= yp[label] - 1e-7
    ya = forward(layers, res.adversarial)  # strictly past it
    assert int(np.argmax(ya)) != label and int(np.argmax(ya)) == res.adversarial_class
    assert res.distance - TOL <= dist(res.adversarial - x0, norm) <= res.distance * (1 + 1e-3) + 1e-5


@pytest.mark.parametrize("seed", range(2))
def test_nearest_output_matches_scipy_milp(seed):
    layers = random_layers(seed, (6, 12, 10, 1))
    net = build(layers)
    lo, hi = -np.ones(6), np.ones(6)
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(lo, hi)
    c = float(forward(layers, x0)[0]) + 1.0
    res = preimage.nearest(net, preimage.Polyhedron([[-1.0]], [-c]), x0, domain=preimage.Box(lo, hi), method="milp")
    oracle = scipy_milp_distance(layers, x0, lo, hi, "linf", np.array([-1.0]), -c)
    if not np.isfinite(oracle):
        assert res.complete and res.point is None
        return
    assert res.complete and abs(res.distance - oracle) <= TOL, (res.distance, oracle)
    assert forward(layers, res.point)[0] >= c - 1e-7


# -- invariance, budgets, domains, bad input -------------------------------------------------------------
@pytest.mark.parametrize("method", ["milp", "pieces"])
@pytest.mark.parametrize("scale", [1e-4, 1e4])
def test_badly_scaled_neuron_same_distance(scale, method):
    layers = random_layers(8, (3, 6, 5, 2))
    x0 = np.array([0.2, -0.1, 0.3])
    lo, hi = -np.ones(3), np.ones(3)
    label = int(np.argmax(forward(layers, x0)))
    base = preimage.robustness_radius(build(layers), x0, label=label, domain=preimage.Box(lo, hi), method=method)
    scaled = [(W.copy(), b.copy()) for W, b in layers]
    for u in (0, 3):  # a neuron of the first hidden layer, its function unchanged (ReLU is homogeneous)
        scaled[0][0][u] *= scale
        scaled[0][1][u] *= scale
        scaled[1][0][:, u] /= scale
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, 3))
    assert np.allclose([forward(scaled, v) for v in X], [forward(layers, v) for v in X], atol=1e-8)
    res = preimage.robustness_radius(build(scaled), x0, label=label, domain=preimage.Box(lo, hi), method=method)
    assert base.complete and res.complete and np.isfinite(base.distance)
    assert abs(res.distance - base.distance) <= TOL
    assert int(np.argmax(forward(scaled, res.adversarial))) != label


def test_time_limit_gives_an_honest_gap():
    layers = random_layers(3, (20, 60, 60, 60, 10))
    net = build(layers)
    x0 = np.random.default_rng(3).uniform(0.2, 0.8, size=20)
    label = int(np.argmax(forward(layers, x0)))
    res = preimage.robustness_radius(net, x0, label=label, domain=preimage.Box(np.zeros(20), np.ones(20)),
                                     time_limit=0.05)
    assert not res.complete and res.status == "time_limit"
    assert res.lower_bound <= res.distance
    if res.point is not None:
        assert abs(dist(res.point - x0, "linf") - res.distance) <= TOL


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_time_limit_pieces_gives_an_honest_gap(norm):
    layers = random_layers(5, (3, 12, 12, 4))
    x0 = np.array([0.1, 0.2, -0.3])
    label = int(np.argmax(forward(layers, x0)))
    box = preimage.Box(-np.ones(3), np.ones(3))
    res = preimage.robustness_radius(build(layers), x0, label=label, norm=norm, method="pieces", domain=box,
                                     time_limit=0.0)
    assert not res.complete and res.status == "time_limit"
    assert res.lower_bound <= res.distance
    full = preimage.robustness_radius(build(layers), x0, label=label, norm="linf", method="milp", domain=box)
    assert full.complete and np.isfinite(full.distance)
    assert res.lower_bound <= full.distance + TOL  # the bound is proven: never above the true radius


@pytest.mark.parametrize("method", ["milp", "pieces"])
def test_polyhedral_domain_and_empty_preimage(method):
    layers = random_layers(1, (2, 4, 1))
    net = build(layers)
    tri = preimage.Polyhedron([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])  # a triangle
    x0 = np.array([2.0, 2.0])
    ys = [forward(layers, v)[0] for v in tri.sample(200, seed=0)]
    c = float(np.median(ys))
    res = preimage.nearest(net, preimage.Polyhedron([[-1.0]], [-c]), x0, domain=tri, norm="l1", method=method)
    G = np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]])
    best = np.inf
    for Gr, gr, M, cc in regions(layers, 2):
        best = min(best, lp_distance(x0, np.vstack([Gr, G, -M]), np.concatenate([gr, [0, 0, 1], cc - c]),
                                     np.zeros((0, 2)), np.zeros(0), [-5, -5], [5, 5], "l1"))
    assert res.complete and abs(res.distance - best) <= TOL
    assert np.all(G @ res.point <= [1e-9, 1e-9, 1 + 1e-9])
    far = preimage.nearest(net, preimage.Polyhedron([[-1.0]], [-(max(ys) + 100.0)]), x0, domain=tri, method=method)
    assert far.complete and far.point is None and far.status == "empty" and far.distance == np.inf


@pytest.mark.parametrize("method", ["milp", "pieces"])
def test_radius_zero_when_misclassified(method):
    layers = random_layers(2, (3, 5, 3))
    x0 = np.array([0.1, 0.2, -0.3])
    y = forward(layers, x0)
    other = int(np.argsort(y)[0])  # a class that x is not
    res = preimage.robustness_radius(build(layers), x0, label=other, method=method)
    assert res.complete and res.distance <= TOL
    assert int(np.argmax(forward(layers, res.adversarial))) != other


def test_bad_input_raises_clear_errors():
    net = build(random_layers(0, (2, 3, 2)))
    box = preimage.Box([-1, -1], [1, 1])
    act = preimage.Activity([0.0, 1.0, 0.5])
    with pytest.raises(preimage.InvalidInputError, match="x must be one input of length 2"):
        preimage.nearest(net, act, [0.0, 0.0, 0.0], layer=1, domain=box)
    with pytest.raises(preimage.InvalidInputError, match="norm must be one of"):
        preimage.nearest(net, act, [0.0, 0.0], layer=1, domain=box, norm="l3")
    with pytest.raises(preimage.InvalidInputError, match="layer must be an integer between 1 and 2"):
        preimage.nearest(net, act, [0.0, 0.0], layer=5, domain=box)
    with pytest.raises(preimage.InvalidInputError, match="domain lives in dimension 3"):
        preimage.nearest(net, act, [0.0, 0.0], layer=1, domain=preimage.Box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(preimage.InvalidInputError, match="domain is required"):
        preimage.nearest(net, act, [0.0, 0.0], layer=1, domain=None)
    with pytest.raises(preimage.InvalidInputError, match="label must be a class index between 0 and 1"):
        preimage.robustness_radius(net, [0.0, 0.0], label=2)
    with pytest.raises(preimage.InvalidInputError, match="time_limit must be"):
        preimage.robustness_radius(net, [0.0, 0.0], label=0, time_limit=-1)
    with pytest.raises(preimage.InvalidInputError, match="method must be 'auto', 'milp' or 'pieces'"):
        preimage.nearest(net, act, [0.0, 0.0], layer=1, domain=box, method="simplex")
    with pytest.raises(preimage.InvalidInputError, match="x must be finite"):
        preimage.robustness_radius(net, [np.nan, 0.0], label=0)


def test_max_units_milp_refuses_pieces_answer():
    W = np.random.default_rng(0).normal(size=(4, 2))
    net = preimage.Network.from_arrays([(W, np.zeros(4), MaxPool((1, 4), kernel=2)),
                                        (np.ones((1, 2)), np.zeros(1), False)])
    box, x0, target = preimage.Box([-1, -1], [1, 1]), np.array([0.1, -0.2]), preimage.Box([1.0], [1.5])
    with pytest.raises(preimage.UnsupportedLayerError, match="max units"):
        preimage.nearest(net, target, x0, domain=box, method="milp")
    res = preimage.nearest(net, target, x0, domain=box, method="pieces")  # the engine handles max units

    def f(X):  # the network written here: max over pairs of W x, then the sum
        Z = X @ W.T
        return np.maximum(Z[:, 0], Z[:, 1]) + np.maximum(Z[:, 2], Z[:, 3])

    g = np.linspace(-1, 1, 801)
    X = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    inside = X[(f(X) >= 1.0) & (f(X) <= 1.5)]
    sampled = np.min(np.max(np.abs(inside - x0), axis=1))
    assert res.complete and res.distance <= sampled + 1e-12  # nothing sampled is nearer
    assert sampled - res.distance <= 2 * (g[1] - g[0])  # and the grid comes close to it
    assert 1.0 - 1e-7 <= f(res.point[None, :])[0] <= 1.5 + 1e-7


@pytest.mark.parametrize("method", ["milp", "pieces"])
def test_vnnlib_spec_target(method):
    from preimage.specs.vnnlib import parse_vnnlib

    layers = random_layers(4, (2, 4, 3, 2))
    net = build(layers)
    text = """(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(assert (>= X_0 -1.0))
(assert (<= X_0 1.0))
(assert (>= X_1 -1.0))
(assert (<= X_1 1.0))
(assert (or (and (>= Y_0 -1.0)) (and (>= Y_1 -0.5))))
"""
    spec = parse_vnnlib(text)
    lo, hi = -np.ones(2), np.ones(2)
    x0 = np.array([0.3, -0.4])
    res = preimage.nearest(net, spec, x0, domain=preimage.Box(lo, hi), method=method)
    oracle = min(brute_output(layers, np.array([[-1.0, 0.0]]), np.array([1.0]), x0, lo, hi, "linf"),
                 brute_output(layers, np.array([[0.0, -1.0]]), np.array([0.5]), x0, lo, hi, "linf"))
    assert np.isfinite(oracle) and oracle > 0.1  # (x0 is outside: a real question)
    assert res.complete and abs(res.distance - oracle) <= TOL
    y = forward(layers, res.point)
    assert spec.is_counterexample(res.point, y, tol=1e-7)
