"""``preimage(..., method="dual-basis")``: the papers' backward procedure gives the forward method's set.

Oracles (independent of both methods): a plain numpy forward pass (``oracles.numpy_forward``)
that recomputes the activity / the target membership of every sampled point and of a dense
grid of the domain; exact polygon areas from the pieces' vertices by ``scipy.spatial.ConvexHull``
against a numpy Monte-Carlo estimate; the generator form of the first step checked by the
forward pass; the unit signs of a numpy forward pass against each piece's pattern.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull

import preimage
from oracles import numpy_forward
from preimage import Activity, Box, Polyhedron
from preimage.activations import LeakyReLU
from preimage.errors import InvalidInputError, UnsupportedLayerError

SAMPLE_TOL = 1e-6  # a sampled point of one method's piece vs the other method's rows (distance)
ACT_TOL = 1e-6  # activity recomputed by the numpy forward pass at a sampled point
MARGIN = 1e-6  # grid points this close to the target's boundary are not classified


def random_specs(seed: int, n: int, widths: list[int]) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    rng = np.random.default_rng(seed)
    specs, d = [], n
    for w in widths:
        specs.append((rng.normal(size=(w, d)), 0.5 * rng.normal(size=w), True))
        d = w
    return specs


def prefix(specs, k):
    return specs[:k]


def both(net, target, layer, box, **kw):
    f = preimage.preimage(net, target, layer=layer, domain=box, **kw)
    b = preimage.preimage(net, target, layer=layer, domain=box, method="dual-basis", **kw)
    assert f.complete and b.complete
    return f, b


def samples(result, per_piece=20, seed=0):
    parts = [p.polyhedron.sample(per_piece, seed=seed) for p in result.set]
    return np.vstack(parts) if parts else np.zeros((0, result.set.ambient_dim))


def check_activity_sets(specs, k, y, f, b):
    """Every sample of either method lies in the other's set and reproduces ``y`` (numpy)."""
    Xf, Xb = samples(f), samples(b)
    assert len(Xb) and len(Xf)
    assert np.all(b.set.contains(Xf, tol=SAMPLE_TOL)), "a forward-method point missing from the dual-basis set"
    assert np.all(f.set.contains(Xb, tol=SAMPLE_TOL)), "a dual-basis point missing from the forward set"
    for X in (Xf, Xb):
        assert np.abs(numpy_forward(prefix(specs, k), X) - y).max() <= ACT_TOL


RANDOM_CASES = [(seed, 2 + seed % 3, [4, 3] if seed % 2 else [4, 3, 3]) for seed in range(8)]


@pytest.mark.parametrize("seed,n,widths", RANDOM_CASES)
def test_activity_preimage_equals_forward_on_random_networks(seed, n, widths):
    specs = random_specs(seed, n, widths)
    net = preimage.Network.from_arrays(specs)
    box = Box(-np.ones(n), np.ones(n))
    rng = np.random.default_rng(100 + seed)
    for k in range(1, len(widths) + 1):
        for x in rng.uniform(-1, 1, size=(2, n)):
            y = numpy_forward(prefix(specs, k), x[None, :])[0]
            f, b = both(net, Activity(y), k, box)
            check_activity_sets(specs, k, y, f, b)
            assert b.set.contains(x, tol=SAMPLE_TOL)  # the example itself is in its preimage
            assert len(b.set) == len(f.set)  # one piece per activation pattern met, in both methods


def grid(n, per_axis):
    axes = [np.linspace(-1, 1, per_axis)] * n
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, n)


def check_grid(specs, k, target: Polyhedron, f, b, per_axis):
    """Grid points clearly inside the target (numpy forward pass) are in both sets, points
    clearly outside are in neither."""
    X = grid(len(specs[0][0][0]), per_axis)
    H = numpy_forward(prefix(specs, k), X)
    slack = (H @ np.asarray(target.A).T - np.asarray(target.b)).max(axis=1)
    inside, outside = slack < -MARGIN, slack > MARGIN
    assert inside.sum() > 10 and outside.sum() > 10  # the test discriminates
    for res in (f, b):
        got = res.set.contains(X, tol=1e-10)
        assert np.all(got[inside]) and not np.any(got[outside])


def polygon_area(piece):
    V = piece.polyhedron.vertices()
    return ConvexHull(V).volume if len(V) >= 3 and piece.polyhedron.dim == 2 else 0.0


@pytest.mark.parametrize("seed", range(6))
def test_polyhedron_target_equals_forward_on_a_grid_and_in_area(seed):
    n = 2
    specs = random_specs(seed, n, [5, 4, 3])
    net = preimage.Network.from_arrays(specs)
    box = Box(-np.ones(n), np.ones(n))
    rng = np.random.default_rng(seed)
    for k in (2, 3):
        H = numpy_forward(prefix(specs, k), rng.uniform(-1, 1, size=(400, n)))
        lo, hi = np.quantile(H, 0.3, axis=0) - 0.05, np.quantile(H, 0.8, axis=0) + 0.05  # typical activities
        target = Box(lo, hi).as_polyhedron()
        f, b = both(net, target, k, box)
        check_grid(specs, k, target, f, b, per_axis=61)
        area_f = sum(polygon_area(p) for p in f.set)
        area_b = sum(polygon_area(p) for p in b.set)
        assert area_b == pytest.approx(area_f, rel=1e-9, abs=1e-12)
        # Monte-Carlo estimate of the same area with the numpy forward pass (4 standard errors)
        X = rng.uniform(-1, 1, size=(200_000, n))
        Hx = numpy_forward(prefix(specs, k), X)
        frac = np.all((Hx >= lo) & (Hx <= hi), axis=1).mean()
        assert abs(area_b - 4.0 * frac) <= 4 * 4.0 * np.sqrt(frac * (1 - frac) / len(X)) + 1e-3
        for p in b.set:  # each piece's pattern is the numpy sign pattern at its interior points
            if p.polyhedron.dim == n:
                Xp = p.polyhedron.sample(5, seed=1)
                pats = np.hstack([numpy_forward(prefix(specs, j), Xp) - 0.0 > 0 for j in range(1, k + 1)])
                Z = np.hstack([numpy_forward(prefix(specs, j - 1), Xp) @ specs[j - 1][0].T + specs[j - 1][1]
                               for j in range(1, k + 1)])
                clear = np.all(np.abs(Z) > 1e-9, axis=1)
                assert np.all(pats[clear] == p.pattern[None, :])
                assert np.allclose(p.affine_map(Xp), numpy_forward(prefix(specs, k), Xp), atol=1e-9)


def test_union_target_and_affine_output_layer():
    specs = random_specs(3, 3, [4, 4]) + [(np.random.default_rng(9).normal(size=(2, 4)), np.zeros(2), False)]
    net = preimage.Network.from_arrays(specs)
    box = Box(-np.ones(3), np.ones(3))
    union = [Box([-10.0, 0.2], [0.0, 10.0]), Box([-0.5, -10.0], [10.0, 0.5])]
    f, b = both(net, union, None, box)
    X = grid(3, 25)
    Y = numpy_forward(specs, X)
    inside = np.zeros(len(X), bool)
    outside = np.ones(len(X), bool)
    for B in union:
        s = np.maximum(np.asarray(B.lo) - Y, Y - np.asarray(B.hi)).max(axis=1)
        inside |= s < -MARGIN
        outside &= s > MARGIN
    assert inside.sum() > 10 and outside.sum() > 10
    for res in (f, b):
        got = res.set.contains(X, tol=1e-10)
        assert np.all(got[inside]) and not np.any(got[outside])
    assert set(b.disjuncts.tolist()) <= {0, 1, 2}


def test_first_step_is_the_papers_generator_form():
    specs = random_specs(5, 3, [3, 3])
    net = preimage.Network.from_arrays(specs)
    x = np.array([0.2, -0.4, 0.1])
    y = numpy_forward(specs, x[None, :])[0]
    y[np.argmin(y)] = 0.0  # at least one zero output: a cone of generators
    y = np.maximum(y, 0.0)
    res = preimage.preimage(net, Activity(y), layer=2, domain=Box(-np.ones(3), np.ones(3)), method="dual-basis")
    first = res.info["first_step"]
    assert first["form"] == "generators"
    apex, E = np.asarray(first["apex"]), np.asarray(first["directions"])
    W, b = specs[1][0], specs[1][1]
    alpha = np.random.default_rng(0).uniform(0, 3, size=(50, E.shape[1]))
    P = apex[None, :] + alpha @ E.T  # x* − Σ α_i e_i, α >= 0
    assert np.abs(np.maximum(P @ W.T + b, 0.0) - y).max() <= 1e-9  # every generated point has activity y


def test_budgets_mark_incomplete_results():
    specs = random_specs(2, 4, [6, 5, 4])
    net = preimage.Network.from_arrays(specs)
    box = Box(-np.ones(4), np.ones(4))
    target = Box(np.zeros(4), np.full(4, 0.5))
    full = preimage.preimage(net, target, layer=3, domain=box, method="dual-basis")
    assert full.complete and len(full.set) > 3
    part = preimage.preimage(net, target, layer=3, domain=box, method="dual-basis", max_pieces=2)
    assert not part.complete and part.stopped_by == "max_pieces" and len(part.set) == 2
    keys = {p.pattern.tobytes() for p in full.set}
    assert all(p.pattern.tobytes() in keys for p in part.set)  # what was found is part of the answer
    exact = preimage.preimage(net, target, layer=3, domain=box, method="dual-basis", max_pieces=len(full.set))
    assert exact.complete
    none = preimage.preimage(net, target, layer=3, domain=box, method="dual-basis", time_limit=0)
    assert not none.complete and none.stopped_by == "time_limit"


def test_invalid_uses_raise_clear_errors(tmp_path):
    specs = random_specs(0, 2, [3, 2])
    net = preimage.Network.from_arrays(specs)
    box = Box(-np.ones(2), np.ones(2))
    y = Activity(np.zeros(2))
    with pytest.raises(InvalidInputError, match="method must be 'forward' or 'dual-basis'"):
        preimage.preimage(net, y, domain=box, method="backward")
    for kw in ({"out": tmp_path / "r.npz"}, {"checkpoint": tmp_path / "c"}, {"workers": 2}, {"backend": "lp"}):
        with pytest.raises(InvalidInputError, match="method='dual-basis' does not take"):
            preimage.preimage(net, y, domain=box, method="dual-basis", **kw)
    with pytest.raises(InvalidInputError, match="a Slice needs method='forward'"):
        preimage.preimage(net, y, domain=preimage.Slice([0.0, 0.0], np.eye(2), [-1, -1], [1, 1]),
                          method="dual-basis")
    leaky = preimage.Network.from_arrays([(specs[0][0], specs[0][1], LeakyReLU(0.1)), (specs[1][0], specs[1][1])])
    with pytest.raises(UnsupportedLayerError, match="layer 1"):
        preimage.preimage(leaky, Box([-1.0, -1.0], [1.0, 1.0]), domain=box, method="dual-basis")


# -- ACAS Xu hidden layers ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def acas_net(acasxu):
    return preimage.load(acasxu / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")


def acas_specs(net, k):
    return [(np.asarray(lay.dense_weight), np.asarray(lay.bias), lay.relu) for lay in net.layers[:k]]


@pytest.mark.parametrize("k", [1, 2])
def test_acasxu_hidden_activity_preimage_equals_forward(acas_net, k):
    rng = np.random.default_rng(k)
    x = rng.uniform(-0.3, 0.3, size=5)
    box = Box(x - 0.05, x + 0.05)
    specs = acas_specs(acas_net, k)
    y = numpy_forward(specs, x[None, :])[0]
    f, b = both(acas_net, Activity(y), k, box)
    check_activity_sets(specs, k, y, f, b)
    assert b.set.contains(x, tol=SAMPLE_TOL)


def test_acasxu_layer2_box_target_equals_forward(acas_net):
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.3, 0.3, size=5)
    box = Box(x - 0.02, x + 0.02)
    specs = acas_specs(acas_net, 2)
    H = numpy_forward(specs, box.sample(2000, seed=0))
    q_lo, q_hi = np.quantile(H, 0.15, axis=0), np.quantile(H, 0.85, axis=0)
    units = np.argsort(q_hi - q_lo)[-6:]  # constrain the six most varying units: a full-dimensional preimage
    lo, hi = np.full(H.shape[1], -1.0), np.full(H.shape[1], 1e3)
    lo[units], hi[units] = q_lo[units], q_hi[units]
    target = Box(lo, hi).as_polyhedron()
    f, b = both(acas_net, target, 2, box)
    X = box.sample(20000, seed=1)
    Hx = numpy_forward(specs, X)
    slack = np.maximum(lo - Hx, Hx - hi).max(axis=1)
    inside, outside = slack < -MARGIN, slack > MARGIN
    assert inside.sum() > 50 and outside.sum() > 50
    for res in (f, b):
        got = res.set.contains(X, tol=1e-10)
        assert np.all(got[inside]) and not np.any(got[outside])


def test_face_pieces_are_the_dual_basis_form():
    """A piece with zero units ``I`` is ``E (F_I − b) − cone{e_i : i ∈ I}`` (in the domain), with
    ``E = W⁻¹`` (numpy) and ``F_I = Q ∩ {h_I = 0, h_J >= 0}``: checked both ways by numpy."""
    rng = np.random.default_rng(11)
    W, b = rng.normal(size=(3, 3)), 0.3 * rng.normal(size=3)
    net = preimage.Network.from_arrays([(W, b, True), (np.eye(3), np.zeros(3), False)])
    target = Box([-1.0, -1.0, -1.0], [0.8, 0.6, 0.7])  # meets several faces of the orthant
    box = Box(-5 * np.ones(3), 5 * np.ones(3))
    res = preimage.preimage(net, target, layer=1, domain=box, method="dual-basis")
    E = np.linalg.inv(W)
    faces = set()
    for p in res.set:
        zero = ~p.pattern
        faces.add(tuple(zero))
        # piece -> generators: h = relu(Wx + b) in F_I, alpha = -(Wx + b)_I >= 0, x = E(h - b) - E_I alpha
        X = p.polyhedron.sample(30, seed=2)
        Z = X @ W.T + b
        Hh = np.maximum(Z, 0.0)
        assert np.all(Hh[:, zero] == 0.0) and np.all(Hh <= np.asarray(target.hi) + 1e-9)
        alpha = -Z[:, zero]
        assert np.all(alpha >= -1e-9)
        assert np.allclose((Hh - b) @ E.T - alpha @ E[:, zero].T, X, atol=1e-9)
        # generators -> piece: any h of the face and alpha >= 0 give a point of the piece
        F = Polyhedron(np.vstack([np.eye(3), -np.eye(3)[~zero]]), np.concatenate([target.hi, np.zeros((~zero).sum())]),
                       np.eye(3)[zero], np.zeros(zero.sum()))
        Hs = F.sample(30, seed=3)
        G = (Hs - b) @ E.T - rng.uniform(0, 2, size=(30, zero.sum())) @ E[:, zero].T
        G = G[np.all(np.abs(G) <= 5, axis=1)]
        assert len(G) and np.all(p.polyhedron.contains(G, tol=1e-7))
    assert len(faces) >= 3  # several faces of the orthant are met


def test_polyhedron_domain_gives_no_empty_piece_and_the_forward_set():
    specs = random_specs(4, 2, [5, 4])
    net = preimage.Network.from_arrays(specs)
    triangle = Polyhedron([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [1.0, 1.0, 0.5])  # x >= -1, y >= -1, x + y <= 0.5
    H = numpy_forward(specs, Box([-1, -1], [1, 1]).sample(400, seed=0))
    target = Box(np.quantile(H, 0.2, axis=0) - 0.05, np.quantile(H, 0.9, axis=0) + 0.05).as_polyhedron()
    f, b = both(net, target, 2, triangle)
    assert len(b.set) and not any(p.polyhedron.is_empty() for p in b.set)
    X = grid(2, 81)
    inside_dom = np.asarray(triangle.contains(X, tol=0.0)) & np.all(X @ np.asarray(triangle.A).T
                                                                     - np.asarray(triangle.b) < -1e-9, axis=1)
    Hx = numpy_forward(specs, X)
    slack = (Hx @ np.asarray(target.A).T - np.asarray(target.b)).max(axis=1)
    inside, outside = inside_dom & (slack < -MARGIN), (slack > MARGIN) | ~np.asarray(triangle.contains(X, tol=1e-9))
    assert inside.sum() > 10 and outside.sum() > 10
    for res in (f, b):
        got = res.set.contains(X, tol=1e-10)
        assert np.all(got[inside]) and not np.any(got[outside])
