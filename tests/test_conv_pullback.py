"""Affine-manifold pullbacks (paper 000 §6, Fig. 4) against independent computations.

Oracles: a plain numpy forward pass (every piece maps into ``M``), exact crossings of ``M``
along random lines found by piecewise-linear root finding written here (every crossing is
covered), ranks of sampled points and images (dimensions), and SciPy's ``linprog`` — an
interface to the solver that the library never uses — for the gluing graph (pairs claimed
apart are strictly separated, pairs claimed glued do meet).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import linprog

from oracles import numpy_forward
from preimage import Box, InvalidInputError, Network, Polyhedron
from preimage.conv import paper_fig4_network, paper_fig4_pullback, pullback, random_pullback_example


def specs_of(net):
    return [(np.asarray(lay.dense_weight), np.asarray(lay.bias), lay.relu) for lay in net.layers]


def crossings(specs, G, g, p, q):
    """Every t in [0, 1] where G h(p + t q) = g, with h piecewise linear along the segment:
    walk the breakpoints (sign changes of any pre-activation) and solve on each linear part."""
    out = []
    t = 0.0
    while t < 1.0:
        h, dh = (p + t * q)[None, :], q[None, :]
        nxt = 1.0
        for W, b, r in specs:
            z, dz = h @ W.T + b, dh @ W.T
            with np.errstate(divide="ignore", invalid="ignore"):
                tc = -z / dz
            tc = tc[(tc > 1e-12) & np.isfinite(tc)]
            if tc.size:
                nxt = min(nxt, t + float(tc.min()))
            if r:
                on = (z > 0) | ((z == 0) & (dz > 0))
                h, dh = np.where(on, z, 0.0), np.where(on, dz, 0.0)
            else:
                h, dh = z, dz
        f0, df = float((G @ h[0]) - g), float(G @ dh[0])
        if df != 0.0:
            s = -f0 / df
            if 0.0 <= s <= nxt - t:
                out.append(p + (t + s) * q)
        t = nxt + 1e-12
    return out


def check_pieces_map_into_M(man, net, G, g, per_piece=15):
    specs = specs_of(net)
    for i, mp in enumerate(man):
        X = mp.polyhedron.sample(max(per_piece, mp.dim + 4), seed=i, burn_in=50, thin=3)
        H = numpy_forward(specs, X)
        assert np.abs(H @ G.T - g).max() < 1e-9
        assert H.min() >= 0.0
        assert np.all(H[:, list(mp.zero_outputs)] == 0.0)
        assert np.all(np.abs(H[:, [j for j in range(H.shape[1]) if j not in mp.zero_outputs]]).max(axis=0) > 0) or \
            mp.output_subspace_dim == 0
        # dimensions: of the piece and of its image, from the samples
        assert rank(X) == mp.dim
        assert rank(H) == mp.image_dim <= mp.target_dim


def rank(X, rel=1e-7):
    if X.shape[0] < 2:
        return 0
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    return int(np.sum(s > rel * max(1.0, float(np.abs(X).max())) * np.sqrt(X.shape[0])))


def separation(P: Polyhedron, Q: Polyhedron) -> float:
    """min t >= 0 such that both H-representations, relaxed by t, meet (SciPy's linprog);
    ``inf`` when their equalities cannot hold together."""
    n = P.ambient_dim
    A = np.vstack([P.A, Q.A])
    b = np.concatenate([P.b, Q.b])
    C = np.vstack([P.C, Q.C])
    d = np.concatenate([P.d, Q.d])
    A_ub = np.hstack([A, -np.ones((A.shape[0], 1))])
    A_eq = np.hstack([C, np.zeros((C.shape[0], 1))]) if C.shape[0] else None
    res = linprog(np.eye(n + 1)[n], A_ub=A_ub, b_ub=b, A_eq=A_eq, b_eq=d if C.shape[0] else None,
                  bounds=[(None, None)] * n + [(0, None)], method="highs")
    return float(res.fun) if res.status == 0 else np.inf


def check_gluing_graph(man, max_apart=None, seed=0):
    """Every claimed gluing, and (all, or ``max_apart`` random) pairs claimed apart."""
    glued = {(gl.i, gl.j): gl for gl in man.gluings}
    pairs = [(i, j) for i in range(len(man)) for j in range(i + 1, len(man))]
    apart = [pq for pq in pairs if pq not in glued]
    if max_apart is not None and len(apart) > max_apart:
        keep = np.random.default_rng(seed).choice(len(apart), size=max_apart, replace=False)
        apart = [apart[k] for k in keep]
    for i, j in list(glued) + apart:
        P, Q = man[i].polyhedron, man[j].polyhedron
        if (i, j) in glued:
            gl = glued[(i, j)]
            assert P.contains(gl.point, tol=1e-7) and Q.contains(gl.point, tol=1e-7)
            assert separation(P, Q) < 1e-7
            # the shared face's dimension, from points sampled on it
            S = P.intersect(Q).sample(12, seed=i * 1000 + j, burn_in=30, thin=3)
            assert rank(S) == gl.dim
            assert gl.dim <= min(man[i].dim, man[j].dim)
        else:
            assert separation(P, Q) > 1e-9, (i, j)


@pytest.fixture(scope="module")
def fig4():
    return paper_fig4_network(), paper_fig4_pullback()


def test_fig4_pieces_map_into_the_triangle(fig4):
    net, man = fig4
    assert man.complete and man.stopped_by is None
    check_pieces_map_into_M(man, net, np.ones((1, 3)), np.array([0.5]))
    # the paper's patches: corners (two zero outputs), edges (one), the inside (none)
    groups = man.by_target_dim()
    assert set(groups) == {0, 1, 2}
    for mp in man:
        assert mp.target_dim == 2 - len(mp.zero_outputs)
        assert mp.dim == 2  # a piecewise-planar input manifold
    # corner pieces map onto the corner c·e_i of the triangle
    specs = specs_of(net)
    for i in groups[0]:
        H = numpy_forward(specs, man[i].polyhedron.sample(5, seed=i))
        (live,) = [j for j in range(3) if j not in man[i].zero_outputs]
        assert np.allclose(H[:, live], 0.5, atol=1e-12)


def test_fig4_dense_crossings_of_M_are_covered(fig4):
    net, man = fig4
    specs = specs_of(net)
    rng = np.random.default_rng(0)
    found = 0
    for _ in range(60):
        a, b = rng.uniform(0, 1, size=(2, 3))
        for x in crossings(specs, np.ones(3), 0.5, a, b - a):
            found += 1
            assert man.contains(x, tol=1e-7), x
    assert found > 20


def test_fig4_gluing_graph_and_continuity(fig4):
    _, man = fig4
    check_gluing_graph(man)
    # continuity: the 2-D pieces are glued along common edges into one connected manifold
    assert man.is_connected() and man.is_connected(0)
    assert any(gl.dim == 1 for gl in man.gluings)
    # every corner patch links to some other patch along an edge
    for i in man.by_target_dim()[0]:
        assert 1 in man.neighbours(i).values()
    json.dumps(man.to_dict())


def test_fig4_network_is_circulant_and_completely_nested():
    from preimage.conv import circulant, nesting_radius
    from preimage.conv.pullback import PAPER_FIG4_LAYERS

    net = paper_fig4_network()
    for lay, (kernel, bias) in zip(net.layers, PAPER_FIG4_LAYERS):
        L = circulant(kernel, 3, bias=bias)
        np.testing.assert_array_equal(lay.dense_weight, L.dense())
        assert nesting_radius(L).radius == np.inf


@pytest.mark.parametrize("seed", [0, 1])
def test_general_network_pullback(seed):
    man = random_pullback_example(seed)
    rng = np.random.default_rng(seed)
    widths = (3, 6, 5, 3)
    specs = [(rng.normal(size=(widths[i + 1], widths[i])), 0.3 * rng.normal(size=widths[i + 1]), True)
             for i in range(3)]
    c = float(np.median(numpy_forward(specs, rng.uniform(-1.0, 1.0, size=(4096, 3))).sum(axis=1)))
    assert man.g[0] == pytest.approx(c)
    net = Network.from_arrays(specs)
    assert man.complete and len(man) > 5
    check_pieces_map_into_M(man, net, np.ones((1, 3)), np.array([c]), per_piece=8)
    found = 0
    for _ in range(40):
        a, b = rng.uniform(-1, 1, size=(2, 3))
        for x in crossings(specs, np.ones(3), c, a, b - a):
            found += 1
            assert man.contains(x, tol=1e-7), x
    assert found > 10
    check_gluing_graph(man, max_apart=120, seed=seed)


def test_budget_is_reported_and_inputs_are_checked():
    net = paper_fig4_network()
    man = pullback(net, np.ones((1, 3)), [0.5], Box(np.zeros(3), np.ones(3)), max_pieces=3)
    assert not man.complete and man.stopped_by == "max_pieces" and len(man) == 3
    with pytest.raises(InvalidInputError, match="columns"):
        pullback(net, np.ones((1, 4)), [0.5], Box(np.zeros(3), np.ones(3)))
    with pytest.raises(InvalidInputError, match="length"):
        pullback(net, np.ones((1, 3)), [0.5, 1.0], Box(np.zeros(3), np.ones(3)))
    empty = pullback(net, np.ones((1, 3)), [-1.0], Box(np.zeros(3), np.ones(3)))
    assert len(empty) == 0 and empty.complete and empty.dim == -1 and not np.any(empty.contains([[0.1, 0.1, 0.1]]))


def test_pullback_in_twelve_dimensions_uses_the_lp_backend():
    rng = np.random.default_rng(5)
    specs = [(rng.normal(size=(3, 12)), 0.2 * rng.normal(size=3), True)]
    net = Network.from_arrays(specs)
    box = Box(-np.ones(12), np.ones(12))
    man = pullback(net, np.ones((1, 3)), [0.8], box)
    assert man.complete and len(man) >= 3
    check_pieces_map_into_M(man, net, np.ones((1, 3)), np.array([0.8]), per_piece=6)
    check_gluing_graph(man)
    assert all(p.dim == 11 for p in man)
    assert man.is_connected()
