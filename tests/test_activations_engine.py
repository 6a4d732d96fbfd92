"""Preimages, regions and verdicts through every activation, against independent oracles:
each activation written out with numpy (below, not the library's), dense sampling, exact
line crossings of a 1-D domain, interval arithmetic, and the other region representation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

import preimage
from preimage import Activity, Box, Polyhedron
from preimage.activations import HardTanh, Identity, LeakyReLU, MaxPool, ReLU
from preimage.specs.vnnlib import parse_vnnlib

# -- the oracle: each activation and its branch, independently --------------------------------------------------


def act_numpy(kind: str, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(output, branch)`` of each activation, written out with numpy."""
    if kind == "relu":
        return np.maximum(Z, 0), (Z > 0).astype(int)
    if kind == "leaky":
        return np.where(Z > 0, Z, -0.3 * Z), (Z > 0).astype(int)  # a negative slope: not monotone
    if kind == "leaky+":
        return np.where(Z > 0, Z, 0.1 * Z), (Z > 0).astype(int)
    if kind == "hardtanh":
        return np.clip(Z, -0.5, 0.8), (Z > -0.5).astype(int) + (Z > 0.8).astype(int)
    if kind == "maxpool1d":  # 6 units, kernel 3, stride 2, padding 1 -> windows {0,1}, {1,2,3}, {3,4,5}
        wins = [[0, 1], [1, 2, 3], [3, 4, 5]]
    elif kind == "maxpool2d":  # 2 channels of 2x3, kernel 2, stride 1 -> 2 x 1 x 2 outputs
        wins = []
        for c in range(2):
            for j in range(2):
                wins.append([c * 6 + r * 3 + j + dj for r in range(2) for dj in range(2)])
    else:
        return Z, np.zeros(Z.shape, dtype=int)
    out = np.stack([Z[:, w].max(axis=1) for w in wins], axis=1)
    br = np.stack([Z[:, w].argmax(axis=1) for w in wins], axis=1)
    return out, br


def library_act(kind: str):
    return {"relu": ReLU(), "leaky": LeakyReLU(-0.3), "leaky+": LeakyReLU(0.1), "hardtanh": HardTanh(-0.5, 0.8),
            "maxpool1d": MaxPool((1, 6), kernel=3, stride=2, padding=1),
            "maxpool2d": MaxPool((2, 2, 3), kernel=2, stride=1), "identity": Identity()}[kind]


KINDS = ["relu", "leaky", "leaky+", "hardtanh", "maxpool1d", "maxpool2d"]


def make_net(kind: str, d: int, seed: int):
    """input d -> 12 (kind) -> 6 (kind, or ReLU for pools) -> 2 (identity)."""
    rng = np.random.default_rng(seed)
    first = library_act(kind)
    n1 = 6 if kind == "maxpool1d" else (12 if kind != "maxpool2d" else 12)
    W1, b1 = rng.normal(size=(n1, d)), rng.normal(size=n1) * 0.5
    m1 = first.out_dim(n1)
    second = ReLU() if kind.startswith("maxpool") else library_act(kind)
    W2, b2 = rng.normal(size=(6, m1)), rng.normal(size=6) * 0.5
    W3, b3 = rng.normal(size=(2, 6)), rng.normal(size=2) * 0.5
    net = preimage.Network.from_arrays([(W1, b1, first), (W2, b2, second), (W3, b3, Identity())])
    second_kind = "relu" if kind.startswith("maxpool") else kind

    def forward(X, upto=3, with_branches=False):
        Z1 = X @ W1.T + b1
        H1, B1 = act_numpy(kind, Z1)
        Z2 = H1 @ W2.T + b2
        H2, B2 = act_numpy(second_kind, Z2)
        out = {1: H1, 2: H2, 3: H2 @ W3.T + b3}[upto]
        return (out, np.hstack([B1, B2])) if with_branches else out

    return net, forward


# -- regions ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ["vertex", "lp"])
def test_regions_partition_the_box_for_every_activation(kind, backend):
    net, forward = make_net(kind, 2, seed=len(kind))
    box = Box([-1.5, -1.5], [1.5, 1.5])
    R = preimage.linear_regions(net, box, backend=backend)
    assert R.complete and len(R.set) > 1
    X = box.sample(3000, seed=1)
    Y, B = forward(X, with_branches=True)
    assert np.array_equal(net.activation_pattern(X).astype(int), B)  # the library's own forward pattern
    loc = R.set.locate(X, tol=0.0)
    assert np.all(loc >= 0), "every sample lies in some region"
    for j in range(0, 3000, 23):
        piece = R.set[loc[j]]
        # away from boundaries, the piece's pattern and map are the network's there
        if piece.polyhedron.slack(X[j]).min() > 1e-7:
            assert np.array_equal(np.asarray(piece.pattern).astype(int), B[j])
        assert np.allclose(piece.affine_map(X[j]), Y[j], atol=1e-9)
    # interiors are disjoint
    for piece in list(R.set)[:12]:
        c, r = piece.polyhedron.chebyshev_center()
        if r > 1e-6:
            assert sum(bool((q.polyhedron.slack(c) > 1e-12).all()) for q in R.set) == 1


def test_patterns_of_three_branch_units_are_branch_indices():
    net, forward = make_net("hardtanh", 2, seed=3)
    R = preimage.linear_regions(net, Box([-2, -2], [2, 2]))
    pats = np.array([p.pattern for p in R.set])
    assert pats.dtype == np.int8 and set(np.unique(pats)) == {0, 1, 2}
    net2, _ = make_net("relu", 2, seed=3)
    assert preimage.linear_regions(net2, Box([-1, -1], [1, 1])).set[0].pattern.dtype == bool


def line_pieces(forward, a, b, t_grid=20001):
    """The exact breakpoints of the network along the segment a→b (1-D root finding on a fine
    grid, refined by bisection on the branch pattern): an independent count of the regions a
    line crosses."""
    t = np.linspace(0.0, 1.0, t_grid)
    _, B = forward(a + t[:, None] * (b - a), with_branches=True)
    change = np.flatnonzero(np.any(B[1:] != B[:-1], axis=1))
    return len(change) + 1


@pytest.mark.parametrize("kind", KINDS)
def test_one_dimensional_domain_regions_are_the_exact_line_pieces(kind):
    """On a segment the regions are intervals; their number is that of the pattern changes
    along it (grid plus bisection oracle), and each region's map is the forward pass."""
    net, forward = make_net(kind, 1, seed=7)
    box = Box([-3.0], [3.0])
    R = preimage.linear_regions(net, box)
    n_line = line_pieces(lambda X, **k: forward(X, **k), np.array([-3.0]), np.array([3.0]))
    lengths = [p.polyhedron.bounding_box().widths[0] for p in R.set]
    assert len([w for w in lengths if w > 1e-9]) == n_line
    X = np.linspace(-3, 3, 997)[:, None]
    loc = R.set.locate(X, tol=0.0)
    assert np.all(loc >= 0)
    for j in range(0, 997, 11):
        assert np.allclose(R.set[loc[j]].affine_map(X[j]), forward(X[j:j + 1])[0], atol=1e-9)


# -- preimages -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ["vertex", "lp"])
def test_activity_preimage_through_every_activation(kind, backend):
    """The preimage of the layer-1 and layer-2 activity of a point contains the point, and
    every sampled member has exactly that activity (numpy forward pass)."""
    net, forward = make_net(kind, 3, seed=11)
    box = Box(-np.ones(3), np.ones(3))
    x0 = box.sample(5, seed=2)[3]
    for k in (1, 2):
        y = forward(x0[None, :], upto=k)[0]
        res = preimage.preimage(net, Activity(y), layer=k, domain=box, backend=backend)
        assert res.complete and res.set.contains(x0, tol=1e-7)
        S = res.set.sample(20 * len(res.set), seed=0)
        assert np.abs(forward(S, upto=k) - y).max() < 1e-7


@pytest.mark.parametrize("kind", KINDS)
def test_output_polyhedron_preimage_through_every_activation(kind):
    net, forward = make_net(kind, 2, seed=5)
    box = Box([-1.0, -1.0], [1.0, 1.0])
    X = box.sample(20000, seed=3)
    Y = forward(X)
    T = Polyhedron([[1.0, 0.0], [-1.0, 1.0]], [np.quantile(Y[:, 0], 0.7), np.quantile(Y[:, 1] - Y[:, 0], 0.7)])
    res = preimage.preimage(net, T, domain=box)
    assert res.complete
    S = res.set.sample(30 * len(res.set), seed=0)
    assert T.contains(forward(S), tol=1e-8).all()
    inside = np.all(Y @ T.A.T <= T.b - 1e-9, axis=1)
    assert inside.sum() > 100 and res.set.contains(X[inside], tol=1e-9).all()
    outside = np.any(Y @ T.A.T > T.b + 1e-6, axis=1)
    assert not res.set.contains(X[outside], tol=1e-9).any()


# -- verdicts ------------------------------------------------------------------------------------------------------
def interval_upper(kind, net, forward, lo, hi):
    """An upper bound of output 0 over the box by plain interval arithmetic (written here)."""
    l, h = lo.copy(), hi.copy()
    for k, lay in enumerate(net.layers, start=1):
        W, b = lay.dense_weight, lay.bias
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        zl, zh = Wp @ l + Wn @ h + b, Wp @ h + Wn @ l + b
        name = kind if k == 1 else ("relu" if kind.startswith("maxpool") else kind)
        if k == 3:
            return zh[0]
        if name == "leaky":  # non-monotone: both ends and 0
            cand = np.stack([act_numpy(name, v[None, :])[0][0] for v in (zl, zh, np.clip(0, zl, zh))])
            l, h = cand.min(axis=0), cand.max(axis=0)
        else:  # monotone: the ends
            l, h = act_numpy(name, zl[None, :])[0][0], act_numpy(name, zh[None, :])[0][0]
    raise AssertionError


@pytest.mark.parametrize("kind", KINDS)
def test_verdicts_through_every_activation(kind):
    """``output_0 >= t`` is sat below the sampled maximum (the counterexample checked by a
    forward pass) and unsat above an interval-arithmetic upper bound; in between the verdict
    agrees with the exact maximum over the regions' vertices."""
    net, forward = make_net(kind, 2, seed=13)
    box = Box([-1.0, -1.0], [1.0, 1.0])
    X = box.sample(20000, seed=0)
    top = forward(X)[:, 0].max()
    upper = interval_upper(kind, net, forward, box.lo, box.hi)
    for t, expect in ((top - 0.05, "sat"), (upper + 0.05, "unsat")):
        text = (f"(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"
                f"(declare-const Y_1 Real)\n(assert (>= X_0 -1.0))\n(assert (<= X_0 1.0))\n"
                f"(assert (>= X_1 -1.0))\n(assert (<= X_1 1.0))\n(assert (>= Y_0 {float(t)!r}))\n")
        for falsify in (False, True):  # the exact search alone, and after falsification (gradients, bounds)
            v = preimage.verify(net, parse_vnnlib(text), falsify=falsify)
            assert v.status == expect
            if expect == "sat":
                assert forward(np.asarray(v.counterexample)[None, :])[0, 0] >= t - 1e-7


@pytest.mark.parametrize("kind", ["hardtanh", "maxpool2d"])
def test_budget_workers_resume_and_streaming_with_branch_patterns(kind, tmp_path):
    """Integer branch patterns through the runner: a budget, a resume with two workers, a
    result streamed to a file and read back lazily — the same pieces as one serial run, in the
    same order."""
    net, forward = make_net(kind, 2, seed=17)
    box = Box([-2.0, -2.0], [2.0, 2.0])
    full = preimage.linear_regions(net, box)
    n = len(full.set)
    assert n > 20
    part = preimage.linear_regions(net, box, max_pieces=n // 3, checkpoint=tmp_path / "ck", out=tmp_path / "r.npz")
    assert not part.complete and len(part.set) == n // 3
    back = preimage.resume(tmp_path / "ck", workers=2)
    assert back.complete and len(back.set) == n
    for a, b in zip(full.set, back.set):  # the resumed result views the file in canonical order
        assert a.pattern.dtype == b.pattern.dtype and np.array_equal(a.pattern, b.pattern)
        assert np.allclose(a.affine_map.M, b.affine_map.M)
    loaded = preimage.load_geometry(tmp_path / "r.npz")  # the file itself, in the order found
    assert sorted(p.pattern.tobytes() for p in loaded) == sorted(p.pattern.tobytes() for p in full.set)
    X = box.sample(500, seed=0)
    loc = loaded.locate(X, tol=0.0)
    assert np.all(loc >= 0)
    for j in range(0, 500, 37):
        assert np.allclose(loaded[loc[j]].affine_map(X[j]), forward(X[j:j + 1])[0], atol=1e-9)


class AbsoluteValue(preimage.activations.PiecewiseLinear):
    """``|z|``: a new activation written as a user would, in a few lines (two pieces, not monotone)."""

    name = "test_abs"

    def __init__(self) -> None:
        super().__init__([0.0], [-1.0, 1.0], [0.0, 0.0])

    def spec(self):
        return {"name": self.name}


def test_a_new_activation_is_one_class():
    """A piecewise-linear activation defined outside the library runs through the engine (regions,
    an activity preimage with two pieces per unit, a verdict), saves and loads, against numpy."""
    rng = np.random.default_rng(3)
    W1, b1 = rng.normal(size=(5, 2)), rng.normal(size=5) * 0.5
    W2, b2 = rng.normal(size=(2, 5)), rng.normal(size=2) * 0.5
    net = preimage.Network.from_arrays([(W1, b1, AbsoluteValue()), (W2, b2, False)])

    def forward(X, upto=2):
        H = np.abs(X @ W1.T + b1)
        return H if upto == 1 else H @ W2.T + b2

    box = Box([-1.0, -1.0], [1.0, 1.0])
    R = preimage.linear_regions(net, box)
    X = box.sample(2000, seed=0)
    loc = R.set.locate(X, tol=0.0)
    assert np.all(loc >= 0)
    for j in range(0, 2000, 41):
        assert np.allclose(R.set[loc[j]].affine_map(X[j]), forward(X[j:j + 1])[0], atol=1e-9)
    x0 = X[7]
    y = forward(x0[None, :], upto=1)[0]
    res = preimage.preimage(net, Activity(y), layer=1, domain=box)
    assert res.set.contains(x0, tol=1e-7)
    S = res.set.sample(10 * len(res.set), seed=1)
    assert np.abs(forward(S, upto=1) - y).max() < 1e-7
    with tempfile.TemporaryDirectory() as d:  # the network saves and loads with its activation
        net.save(Path(d) / "n.npz")
        back = preimage.Network.load_npz(Path(d) / "n.npz")
    assert isinstance(back.layers[0].activation, AbsoluteValue)
    assert np.allclose(back.forward(X[:20]), forward(X[:20]))


@pytest.mark.parametrize("kind", ["leaky+", "maxpool1d"])
@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_rescaling_units_changes_no_answer(kind, scale):
    """A metamorphic oracle: for positively homogeneous activations (LeakyReLU, MaxPool),
    scaling the rows feeding the first layer's units by ``c`` and the columns that read them by
    ``1/c`` leaves the function, hence every region and its map, unchanged."""
    net, forward = make_net(kind, 2, seed=21)
    box = Box([-1.5, -1.5], [1.5, 1.5])
    (W1, b1), (W2, b2), (W3, b3) = [(lay.dense_weight, lay.bias) for lay in net.layers]
    act1 = net.layers[0].activation
    scaled = preimage.Network.from_arrays([(W1 * scale, b1 * scale, act1),
                                           (W2 / scale, b2, net.layers[1].activation), (W3, b3, Identity())])
    a = preimage.linear_regions(net, box)
    b = preimage.linear_regions(scaled, box)
    assert len(a.set) == len(b.set)
    assert [p.pattern.tolist() for p in a.set] == [p.pattern.tolist() for p in b.set]
    X = box.sample(400, seed=2)
    loc = b.set.locate(X, tol=0.0)
    assert np.all(loc >= 0)
    for j in range(0, 400, 13):
        assert np.allclose(b.set[loc[j]].affine_map(X[j]), forward(X[j:j + 1])[0], rtol=1e-8, atol=1e-8)
