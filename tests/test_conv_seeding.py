"""Paper 000 §6 by seeding (preimage.conv.seeding) against independent computations.

Oracles: the engine's forward enumeration (:func:`preimage.conv.pullback` — the opposite
direction, a different algorithm); SciPy's ``linprog`` (mutual containment of the pieces with
equal activation patterns, an LP interface the library never uses); a plain numpy forward pass
(sampled points of every piece map into ``M ∩ R^d_+``); exact crossings of ``M`` along random
segments by piecewise-linear root finding (every crossing lies on a seeded piece); SciPy's
``nnls`` and cdd's double description for the generator form of the spans.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog, nnls

from oracles import numpy_forward
from preimage import Box, InvalidInputError, Network
from preimage.conv import paper_fig4_network, paper_fig4_pullback, pullback
from preimage.conv.seeding import orthant_face, paper_fig4_seeding, seed_pullback
from test_conv_pullback import crossings, specs_of

TOL = 1e-7


def contained_by_lp(P, Q) -> bool:
    """P ⊆ Q, for polyhedra in H-form: max of every row of Q over P is within its bound (linprog)."""
    Aeq = P.C if P.n_equalities else None
    beq = P.d if P.n_equalities else None
    for rows, rhs, eq in ((Q.A, Q.b, False), (Q.C, Q.d, True)):
        for a, r in zip(rows, rhs):
            signs = (1.0, -1.0) if eq else (1.0,)
            for s in signs:
                res = linprog(-s * a, A_ub=P.A, b_ub=P.b, A_eq=Aeq, b_eq=beq, bounds=[(None, None)] * P.ambient_dim,
                              method="highs")
                assert res.status == 0, res.message
                if -res.fun > s * r + 1e-7:
                    return False
    return True


def engine_vs_seeding(net, G, g, box):
    man = pullback(net, G, g, box)
    seeded = seed_pullback(net, G, g, box)
    assert man.complete
    return man, seeded


def check_same_manifold(man, seeded, net, G, g, box, seed=0):
    top = man.dim
    eng = {tuple(p.pattern.astype(int)): p.polyhedron for p in man}
    sd = {}
    for i, (_, P) in enumerate(seeded.pieces):
        key = tuple(seeded.pattern(i).astype(int))
        assert key not in sd, "a pattern seeded twice"
        sd[key] = P
    full = {k for k, P in sd.items() if P.dim == top}
    assert {k for k, p in zip(eng, man) if p.dim == top} == full
    # same pieces: mutual containment by LP (linprog), pattern by pattern
    for k in eng:
        assert k in sd
        assert contained_by_lp(eng[k], sd[k]) and contained_by_lp(sd[k], eng[k])
    # every seeded piece (lower-dimensional ones too) maps into M ∩ orthant and lies in the box
    specs = specs_of(net)
    for i, (_, P) in enumerate(seeded.pieces):
        X = P.sample(12, seed=seed + i, burn_in=50, thin=3)
        H = numpy_forward(specs, X)
        assert np.allclose(H @ np.asarray(G).T, g, atol=1e-7) and np.all(H >= -1e-9)
        assert np.all(box.contains(X, 1e-9))
        assert np.all(man.contains(X))
    # every crossing of M along random segments of the box lies on a seeded piece
    rng = np.random.default_rng(seed)
    lo, hi = np.asarray(box.lo), np.asarray(box.hi)
    found = 0
    for _ in range(40):
        p = rng.uniform(lo, hi)
        q = rng.uniform(lo, hi) - p
        for x in crossings(specs, np.asarray(G)[0], float(np.asarray(g)[0]), p, q):
            found += 1
            assert seeded.contains(x, 1e-6)[0]
    assert found > 0


def test_fig4_same_manifold_as_the_engine():
    net = paper_fig4_network()
    box = Box(np.zeros(3), np.full(3, 2.0))
    man = paper_fig4_pullback(c=0.5, radius=2.0)
    seeded = paper_fig4_seeding(c=0.5, radius=2.0)
    assert len(seeded) == len(man) == 37
    check_same_manifold(man, seeded, net, np.ones((1, 3)), [0.5], box)


def test_fig4_seeds_at_the_last_layer_are_the_triangle_its_edges_and_corners():
    seeded = paper_fig4_seeding()
    top = [seeded.spans[i] for i in seeded.spans_at(3)]
    zs = sorted(s.zero for s in top)
    assert zs == [(), (0,), (0, 1), (0, 2), (1,), (1, 2), (2,)]
    for s in top:  # each seed: dimension 2 − |Z|, vertices the corners 0.5·e_i it contains
        assert s.seed.dim == 2 - len(s.zero)
        V = s.seed.vertices()
        corners = [0.5 * np.eye(3)[i] for i in range(3) if i not in s.zero]
        assert len(V) == len(corners)
        assert all(np.min(np.linalg.norm(V - c, axis=1)) < 1e-9 for c in corners)


def test_spans_in_generator_form_match_their_h_form():
    """conv(seed vertices mapped back) + S₊(−e_i, i ∈ Z): the seeds' images are vertices of the
    span (cdd), each dual-basis direction lies in its recession cone, and each of its rays is a
    non-negative combination (nnls) of the directions."""
    net = paper_fig4_network()
    seeded = paper_fig4_seeding()
    for s in seeded.spans[:20]:
        pts, dirs = s.generators()
        W = np.asarray(net.layers[s.layer - 1].dense_weight)
        b = np.asarray(net.layers[s.layer - 1].bias)
        for e, i in zip(s.directions, s.zero):  # −e_i: W(−e_i) = −δ_i
            assert np.allclose(W @ e, -np.eye(3)[i], atol=1e-12)
        P = s.polyhedron
        assert np.all(P.contains(pts, 1e-9))
        Vh = P.vertices()
        assert len(Vh) == len(pts) and all(np.min(np.linalg.norm(pts - v, axis=1)) < 1e-8 for v in Vh)
        for dvec in dirs:
            assert np.all(P.A @ dvec <= 1e-9) and np.allclose(P.C @ dvec, 0.0, atol=1e-9)
        for r in P.rays():
            coef, res = nnls(dirs.T, r)
            assert res < 1e-8
        # points of the span map, through layer s.layer, into the seed
        rng = np.random.default_rng(1)
        lam = rng.dirichlet(np.ones(len(pts)), size=20)
        X = lam @ pts + (rng.uniform(0, 1, size=(20, len(dirs))) @ dirs if len(dirs) else 0.0)
        Y = np.maximum(X @ W.T + b, 0.0)
        assert np.all(s.seed.contains(Y, 1e-9))


@pytest.mark.parametrize("seed", [2, 4, 7])
def test_random_square_nets_same_manifold_as_the_engine(seed):
    rng = np.random.default_rng(100 + seed)
    specs = [(np.eye(3) + 0.6 * rng.normal(size=(3, 3)), 0.3 * rng.normal(size=3), True) for _ in range(3)]
    net = Network.from_arrays(specs)
    box = Box(-2.0 * np.ones(3), 2.0 * np.ones(3))
    X = rng.uniform(-2, 2, size=(4096, 3))
    s = net.forward(X).sum(axis=1)
    c = float(np.quantile(s[s > 0], 0.3))
    man, seeded = engine_vs_seeding(net, np.ones((1, 3)), [c], box)
    assert len(man) >= 12 and man.dim == 2
    check_same_manifold(man, seeded, net, np.ones((1, 3)), [c], box, seed=seed)


def test_random_four_node_net_same_manifold_as_the_engine():
    rng = np.random.default_rng(7)
    specs = [(np.eye(4) + 0.5 * rng.normal(size=(4, 4)), 0.3 * rng.normal(size=4), True) for _ in range(2)]
    net = Network.from_arrays(specs)
    box = Box(-np.ones(4), np.ones(4))
    X = rng.uniform(-1, 1, size=(4096, 4))
    s = net.forward(X).sum(axis=1)
    c = float(np.quantile(s[s > 0], 0.4))
    man, seeded = engine_vs_seeding(net, np.ones((1, 4)), [c], box)
    assert len(man) >= 4 and man.dim == 3
    check_same_manifold(man, seeded, net, np.ones((1, 4)), [c], box, seed=11)


def test_orthant_face_and_errors():
    F = orthant_face(3, (1, 2))
    assert F.dim == 1 and bool(F.contains([2.0, 0.0, 0.0])) and not bool(F.contains([2.0, 0.1, 0.0]))
    box = Box(np.zeros(2), np.ones(2))
    with pytest.raises(InvalidInputError, match="square"):
        seed_pullback(Network.from_arrays([(np.ones((1, 2)), [0.0], True)]), [[1.0]], [1.0], box)
    with pytest.raises(InvalidInputError, match="rank"):
        seed_pullback(Network.from_arrays([(np.ones((2, 2)), [0.0, 0.0], True)]), [[1.0, 1.0]], [1.0], box)
    with pytest.raises(InvalidInputError, match="ReLU"):
        seed_pullback(Network.from_arrays([(np.eye(2), [0.0, 0.0], False)]), [[1.0, 1.0]], [1.0], box)
    with pytest.raises(InvalidInputError, match="domain"):
        seed_pullback(Network.from_arrays([(np.eye(2), [0.0, 0.0], True)]), [[1.0, 1.0]], [1.0],
                      Box(np.zeros(3), np.ones(3)))
    with pytest.raises(InvalidInputError):
        orthant_face(2, (3,))
