"""The exact engine against independent oracles: numpy forward passes, dense sampling,
piecewise-linear root finding along lines, and the other backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preimage
from oracles import numpy_forward
from preimage import Activity, AffineSubspace, Box, InvalidInputError, Polyhedron


def random_net(rng, widths, scale=1.0):
    specs = []
    for i in range(len(widths) - 1):
        specs.append((rng.normal(size=(widths[i + 1], widths[i])) * scale, rng.normal(size=widths[i + 1]) * 0.5,
                      i < len(widths) - 2))
    return preimage.Network.from_arrays(specs), specs


def patterns(result) -> list[bytes]:
    return sorted(np.packbits(p.pattern).tobytes() for p in result.set)


def layer_value(specs, X, k):
    return numpy_forward(specs[:k], X)


# -- soundness and completeness on random networks --------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("d", [2, 3])
def test_linear_regions_partition_the_box(seed, d):
    rng = np.random.default_rng(seed)
    net, specs = random_net(rng, [d, 7, 6, 2])
    box = Box(-np.ones(d), np.ones(d))
    R = preimage.linear_regions(net, box)
    assert R.complete
    X = box.sample(5000, seed=seed)
    loc = R.set.locate(X, tol=0.0)
    assert np.all(loc >= 0), "every sample lies in some region"
    # each region's pattern and affine map are the network's there (numpy oracle)
    pat = net.activation_pattern(X)
    for j in range(0, 5000, 50):
        piece = R.set[loc[j]]
        assert np.array_equal(piece.pattern, pat[j])
        assert np.allclose(piece.affine_map(X[j]), numpy_forward(specs, X[j:j + 1])[0], atol=1e-10)
    # pieces meet only on boundaries: interior points lie in exactly one piece
    for piece in list(R.set)[:20]:
        c, r = piece.polyhedron.chebyshev_center()
        if r > 1e-6:
            strictly_inside = [bool((q.polyhedron.slack(c) > 1e-12).all()) for q in R.set]
            assert sum(strictly_inside) == 1


@pytest.mark.parametrize("seed", range(4))
def test_output_polyhedron_preimage_sound_and_complete(seed):
    rng = np.random.default_rng(10 + seed)
    net, specs = random_net(rng, [2, 8, 8, 2])
    box = Box([-1.0, -1.0], [1.0, 1.0])
    X = box.sample(20000, seed=seed)
    Y = numpy_forward(specs, X)
    T = Polyhedron([[1.0, 0.0], [-1.0, 1.0]], [np.median(Y[:, 0]), np.median(Y[:, 1] - Y[:, 0])])
    res = preimage.preimage(net, T, domain=box)
    assert res.complete and len(res.set) > 0
    # soundness: sampled points of every piece map into the target
    S = res.set.sample(40 * len(res.set), seed=seed)
    assert T.contains(numpy_forward(specs, S), tol=1e-8).all()
    # completeness: samples whose output is inside the target (by a margin) are covered
    inside = np.all(Y @ T.A.T <= T.b - 1e-9, axis=1)
    assert inside.sum() > 100
    assert res.set.contains(X[inside], tol=1e-9).all()
    # ... and samples clearly outside are not
    outside = np.any(Y @ T.A.T > T.b + 1e-6, axis=1)
    assert not res.set.contains(X[outside], tol=1e-9).any()


def crossings_along_line(specs, p, q, k, i, yi, t_max=1.0):
    """Exact t in [0, t_max] where z_k,i(p + t q) = yi on a segment where neuron i is active
    and every other neuron of layer k is inactive (piecewise-linear root finding)."""
    out = []
    t = 0.0
    while t < t_max:
        x = p + t * q
        # forward the line's point and direction through the current linear piece
        h, dh = x[None, :], q[None, :]
        nxt = t_max
        pieces = []
        for W, b, r in specs[:k]:
            z = h @ W.T + b
            dz = dh @ W.T
            # where does a neuron of this layer change sign next? (strictly after t)
            with np.errstate(divide="ignore", invalid="ignore"):
                tc = -z / dz
            tc = tc[(tc > 1e-12) & np.isfinite(tc)]
            if tc.size:
                nxt = min(nxt, t + float(tc.min()))
            pieces.append((z, dz))
            if r:
                mask = (z > 0) | ((z == 0) & (dz > 0))
                h, dh = np.where(mask, z, 0.0), np.where(mask, dz, 0.0)
            else:
                h, dh = z, dz
        z, dz = pieces[k - 1]
        zi, dzi = z[0, i], dz[0, i]
        if dzi != 0:
            s = (yi - zi) / dzi
            if 0 <= s <= nxt - t:
                xs = p + (t + s) * q
                zk = numpy_forward(specs[: k - 1], xs[None, :]) @ specs[k - 1][0].T + specs[k - 1][1]
                others = np.delete(zk[0], i)
                if np.all(others <= 0):
                    out.append(xs)
        t = nxt + 1e-12
    return out


@pytest.mark.parametrize("seed", range(3))
def test_activity_preimage_contains_exact_line_crossings(seed):
    rng = np.random.default_rng(20 + seed)
    net, specs = random_net(rng, [3, 6, 5, 2])
    box = Box(-np.ones(3), np.ones(3))
    # an activity with exactly one positive neuron: a codimension-1 preimage
    k, i = 2, None
    X = box.sample(4000, seed=seed)
    H = layer_value(specs, X, k)
    one = np.flatnonzero((H > 0).sum(axis=1) == 1)
    assert one.size
    x0 = X[one[0]]
    i = int(np.flatnonzero(H[one[0]] > 0)[0])
    y = np.zeros(5)
    y[i] = H[one[0], i]
    res = preimage.preimage(net, Activity(y), layer=k, domain=box)
    assert res.set.contains(x0, tol=1e-8)
    # soundness
    S = res.set.sample(30 * len(res.set), seed=seed)
    assert np.abs(layer_value(specs, S, k) - y).max() < 1e-8
    assert all(p.polyhedron.dim <= 2 for p in res.set)
    # completeness along random lines
    found = 0
    for _ in range(60):
        p = box.sample(1, seed=int(rng.integers(1 << 30)))[0]
        q = rng.normal(size=3)
        q /= np.linalg.norm(q)
        # clip the line to the box
        with np.errstate(divide="ignore"):
            t_hi = np.min(np.where(q > 0, (1 - p) / q, np.where(q < 0, (-1 - p) / q, np.inf)))
        for xs in crossings_along_line(specs, p, q, k, i, y[i], t_hi):
            found += 1
            assert res.set.contains(xs, tol=1e-7), "an exact crossing of the preimage is missing"
    assert found > 0


@pytest.mark.parametrize("seed", range(3))
def test_pruning_does_not_change_the_result(seed):
    rng = np.random.default_rng(30 + seed)
    net, specs = random_net(rng, [2, 8, 8, 3])
    box = Box([-1.0, -1.0], [1.0, 1.0])
    Y = numpy_forward(specs, box.sample(2000, seed=0))
    T = Polyhedron([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]], [np.quantile(Y[:, 0], 0.3), -np.quantile(Y[:, 1], 0.6)])
    a = preimage.preimage(net, T, domain=box, prune=True)
    b = preimage.preimage(net, T, domain=box, prune=False)
    assert patterns(a) == patterns(b)
    assert a.stats.nodes <= b.stats.nodes


@pytest.mark.parametrize("seed", range(3))
def test_vertex_and_lp_backends_agree(seed):
    rng = np.random.default_rng(40 + seed)
    net, specs = random_net(rng, [3, 6, 6, 2])
    box = Box(-np.ones(3), np.ones(3))
    a = preimage.linear_regions(net, box, backend="vertex")
    b = preimage.linear_regions(net, box, backend="lp")
    assert patterns(a) == patterns(b) and b.stats.lps > 0 and a.stats.lps == 0
    x = box.sample(1, seed=seed)[0]
    y = net.activations(x, layer=2)
    a = preimage.preimage(net, Activity(y), layer=2, domain=box, backend="vertex")
    b = preimage.preimage(net, Activity(y), layer=2, domain=box, backend="lp")
    assert patterns(a) == patterns(b) and a.set.contains(x) and b.set.contains(x)


def test_affine_subspace_target():
    rng = np.random.default_rng(5)
    net, specs = random_net(rng, [3, 5, 5, 3])
    box = Box(-np.ones(3), np.ones(3))
    G = np.ones((1, 5))
    H = layer_value(specs, box.sample(2000, seed=1), 2)
    g = np.array([np.median(H.sum(axis=1))])
    res = preimage.preimage(net, AffineSubspace(G, g), layer=2, domain=box)
    S = res.set.sample(20 * len(res.set), seed=0)
    assert np.allclose(layer_value(specs, S, 2) @ G.T, g, atol=1e-8)


@given(st.integers(0, 10_000))
@settings(max_examples=25)
def test_integer_networks_hypothesis(seed):
    """Tiny integer networks: every piece of the preimage of an output half-space is sound."""
    rng = np.random.default_rng(seed)
    specs = [(rng.integers(-2, 3, size=(4, 2)).astype(float), rng.integers(-1, 2, size=4).astype(float), True),
             (rng.integers(-2, 3, size=(1, 4)).astype(float), rng.integers(-1, 2, size=1).astype(float), False)]
    net = preimage.Network.from_arrays(specs)
    box = Box([-2.0, -2.0], [2.0, 2.0])
    T = Polyhedron([[-1.0]], [-0.5])  # output >= 0.5
    res = preimage.preimage(net, T, domain=box)
    X = box.sample(3000, seed=seed)
    out = numpy_forward(specs, X)[:, 0]
    assert res.set.contains(X[out >= 0.5 + 1e-9], tol=1e-9).all()
    assert not res.set.contains(X[out <= 0.5 - 1e-6], tol=1e-9).any()


# -- domains ---------------------------------------------------------------------------------------------
def test_flat_box_and_polyhedron_domains():
    rng = np.random.default_rng(6)
    net, specs = random_net(rng, [3, 6, 2])
    flat = Box([-1.0, 0.25, -1.0], [1.0, 0.25, 1.0])
    R = preimage.linear_regions(net, flat)
    X = flat.sample(3000, seed=0)
    assert R.set.contains(X, tol=1e-9).all()
    assert all(p.polyhedron.dim <= 2 for p in R.set)
    # a triangle domain
    tri = Polyhedron([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]],
                     [0.0, 0.0, 1.0, 0.5, 0.5])
    R2 = preimage.linear_regions(net, tri)
    Xt = tri.sample(2000, seed=0)
    assert R2.set.contains(Xt, tol=1e-9).all()
    # a union of two boxes
    R3 = preimage.linear_regions(net, [Box(-np.ones(3), np.zeros(3)), Box(np.zeros(3), np.ones(3))])
    assert set(R3.domain_index.tolist()) == {0, 1}


def test_slice_domain_regions_in_slice_coordinates():
    rng = np.random.default_rng(7)
    net, specs = random_net(rng, [10, 8, 8, 2])
    pts = rng.normal(size=(3, 10))
    sl = preimage.Slice.through(pts)
    R = preimage.linear_regions(net, sl)
    T = Box(sl.lo, sl.hi).sample(3000, seed=0)
    loc = R.set.locate(T, tol=0.0)
    assert np.all(loc >= 0)
    pat = net.activation_pattern(sl.to_input(T))
    assert all(np.array_equal(R.set[loc[j]].pattern, pat[j]) for j in range(0, 3000, 30))


# -- bad input ---------------------------------------------------------------------------------------------
def test_engine_bad_input():
    rng = np.random.default_rng(8)
    net, _ = random_net(rng, [2, 4, 2])
    box = Box([-1.0, -1.0], [1.0, 1.0])
    with pytest.raises(InvalidInputError, match="length 3, but layer 1 has width 4"):
        preimage.preimage(net, Activity(np.ones(3)), layer=1, domain=box)
    with pytest.raises(InvalidInputError, match="non-negative"):
        preimage.preimage(net, Activity(-np.ones(4)), layer=1, domain=box)
    with pytest.raises(InvalidInputError, match="layer must be an integer between 1 and 2"):
        preimage.preimage(net, Activity(np.ones(4)), layer=3, domain=box)
    with pytest.raises(InvalidInputError, match="bounded"):
        preimage.preimage(net, Polyhedron([[1.0, 0.0]], [0.0]), domain=Polyhedron([[1.0, 0.0]], [1.0]))
    with pytest.raises(InvalidInputError, match="network takes 2 inputs"):
        preimage.linear_regions(net, Box(np.zeros(3), np.ones(3)))
    with pytest.raises(InvalidInputError, match="dimension 3, but layer 2 has width 2"):
        preimage.preimage(net, Polyhedron(np.eye(3), np.ones(3)), domain=box)
    with pytest.raises(InvalidInputError, match="target must be"):
        preimage.preimage(net, "y", domain=box)


def _numpy_activation(name, Z):
    """Each activation written out independently with numpy (the oracle of the bounds test)."""
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "leaky":
        return np.where(Z > 0, Z, 0.2 * Z)
    if name == "hardtanh":
        return np.minimum(np.maximum(Z, -0.5), 0.7)
    if name == "maxpool":  # windows of 2 over 8 units, stride 2
        return Z.reshape(Z.shape[0], 4, 2).max(axis=2)
    return Z


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("act", ["relu", "leaky", "hardtanh", "maxpool"])
def test_bounds_are_sound_for_every_activation(seed, act):
    """The compiled bounds (forward ranges of every layer and back-substituted lower bounds of
    target rows, over a box) enclose the true values, found by dense sampling and an
    independent numpy forward pass; with the vertex concretiser too."""
    from preimage.activations import HardTanh, LeakyReLU, MaxPool, ReLU
    from preimage.engine.bounds import BOX, VERTICES, backward_rows, forward_bounds, layer_bounds, pack_layers

    make = {"relu": ReLU(), "leaky": LeakyReLU(0.2), "hardtanh": HardTanh(-0.5, 0.7),
            "maxpool": MaxPool((1, 8), kernel=2)}[act]
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(8, 3)), rng.normal(size=8) * 0.5
    n1 = make.out_dim(8)
    W2, b2 = rng.normal(size=(6, n1)), rng.normal(size=6) * 0.5
    W3, b3 = rng.normal(size=(4, 6)), rng.normal(size=4) * 0.5
    acts = [make, ReLU(), preimage.activations.Identity()]
    layers = pack_layers([W1, W2, W3], [b1, b2, b3], [a.table(W.shape[0]) for a, W in zip(acts, [W1, W2, W3])])
    box = Box(-np.ones(3), np.ones(3))
    X = box.sample(40000, seed=seed)
    Z1 = X @ W1.T + b1
    H1 = _numpy_activation(act, Z1)
    Z2 = H1 @ W2.T + b2
    Z3 = np.maximum(Z2, 0.0) @ W3.T + b3
    ranges = layer_bounds(layers, box.lo, box.hi)
    for (lo, hi), Zk in zip(ranges, [Z1, Z2, Z3]):
        assert np.all(Zk >= lo - 1e-9) and np.all(Zk <= hi + 1e-9)
    rows = rng.normal(size=(5, 4))
    eye, zero = np.eye(3), np.zeros(3)
    V = np.ascontiguousarray(box.vertices())
    for kind, Xc in ((BOX, np.zeros((0, 3))), (VERTICES, V)):
        lo, hi = np.array(box.lo), np.array(box.hi)  # writable, as the engine passes them
        los, his = forward_bounds(kind, Xc, lo, hi, eye, zero, eye, zero, layers, 0)
        lower = backward_rows(kind, Xc, lo, hi, eye, zero, eye, zero, layers, 0, rows, True, los, his)
        assert np.all((Z3 @ rows.T).min(axis=0) >= lower - 1e-9)
        # the bounds are not vacuous: within a few times the true spread
        true = (Z3 @ rows.T).min(axis=0)
        assert np.all(lower > true - 50 * (np.abs(true) + 1))


def test_union_target_pieces_meet_only_on_boundaries():
    rng = np.random.default_rng(11)
    net, specs = random_net(rng, [2, 6, 6, 2])
    box = Box([-1.0, -1.0], [1.0, 1.0])
    Y = numpy_forward(specs, box.sample(3000, seed=0))
    m0, m1 = np.median(Y[:, 0]), np.median(Y[:, 1])
    # two overlapping half-planes of the output
    T1 = Polyhedron([[1.0, 0.0]], [m0])
    T2 = Polyhedron([[0.0, 1.0]], [m1])
    res = preimage.preimage(net, [T1, T2], domain=box)
    X = box.sample(20000, seed=1)
    out = numpy_forward(specs, X)
    inside = (out[:, 0] <= m0 - 1e-9) | (out[:, 1] <= m1 - 1e-9)
    assert res.set.contains(X[inside], tol=1e-9).all()
    assert not res.set.contains(X[(out[:, 0] > m0 + 1e-6) & (out[:, 1] > m1 + 1e-6)], tol=1e-9).any()
    # interior points lie in exactly one piece, even where the two half-planes overlap
    for piece in res.set:
        c, r = piece.polyhedron.chebyshev_center()
        if r > 1e-6:
            assert sum(bool((q.polyhedron.slack(c) > 1e-12).all()) for q in res.set) == 1


@pytest.mark.parametrize("backend", ["vertex", "lp"])
def test_near_orders_the_search_but_not_the_answer(backend):
    rng = np.random.default_rng(12)
    net, specs = random_net(rng, [3, 8, 8, 2])
    box = Box(-np.ones(3), np.ones(3))
    Y = numpy_forward(specs, box.sample(2000, seed=0))
    T = Polyhedron([[1.0, 0.0]], [np.quantile(Y[:, 0], 0.8)])
    full = preimage.preimage(net, T, domain=box, backend=backend)
    inside = [x for x in box.sample(500, seed=1) if T.contains(numpy_forward(specs, x[None, :]))[0]]
    x = inside[0]
    first = preimage.preimage(net, T, domain=box, backend=backend, near=x, max_pieces=1)
    assert not first.complete and first.set.contains(x)  # the piece holding x comes first
    again = preimage.preimage(net, T, domain=box, backend=backend, near=x)
    assert patterns(again) == patterns(full)
