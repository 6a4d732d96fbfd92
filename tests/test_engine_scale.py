"""The engine's sign decisions do not depend on the scale of a neuron's weights (issue 9, item 3).

Metamorphic oracles: scaling neuron j of layer l (row and bias) by c and column j of layer
l+1 by 1/c leaves the network function unchanged, so region patterns, preimages and verdicts
must not change — on both backends. Duplicating a neuron duplicates a pattern bit; permuting
neurons permutes the pattern. Independent oracles: dense sampling of patterns and (2-D) piece
areas summing to the box's area. Plus the measured regressions of the issue.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preimage
from preimage import Box
from preimage.specs import parse_vnnlib

BACKENDS = ["vertex", "lp"]


def rand_specs(seed, widths):
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(len(widths) - 1):
        specs.append((rng.normal(size=(widths[i + 1], widths[i])), rng.normal(size=widths[i + 1]) * 0.5,
                      i < len(widths) - 2))
    return specs


def net_of(specs):
    return preimage.Network.from_arrays([(np.array(W), np.array(b), r) for W, b, r in specs])


def forward(specs, X):
    H = np.atleast_2d(X)
    for W, b, r in specs:
        H = H @ np.asarray(W).T + b
        if r:
            H = np.maximum(H, 0.0)
    return H


def pattern_set(res) -> set[tuple]:
    return {tuple(int(v) for v in p.pattern) for p in res.set}


def sample_patterns(specs, X) -> set[tuple]:
    out, H = [], np.atleast_2d(X)
    for W, b, r in specs:
        Z = H @ np.asarray(W).T + b
        if r:
            out.append(Z > 0)
            H = np.maximum(Z, 0.0)
        else:
            H = Z
    P = np.hstack(out)
    return {tuple(int(v) for v in row) for row in P}


def scale_neuron(specs, l, j, c):
    """Multiply neuron j of layer l by c and column j of layer l+1 by 1/c (same function)."""
    specs = [(np.array(W, dtype=float), np.array(b, dtype=float), r) for W, b, r in specs]
    W, b, r = specs[l]
    W[j] *= c
    b[j] *= c
    specs[l + 1][0][:, j] /= c
    return specs


def polygon_area(V):
    V = np.asarray(V)
    if V.shape[0] < 3:
        return 0.0
    c = V.mean(axis=0)
    V = V[np.argsort(np.arctan2(V[:, 1] - c[1], V[:, 0] - c[0]))]
    x, y = V[:, 0], V[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def perm_pattern(p, perm, l, widths):
    """Pattern of the original net, seen in the net whose layer l is permuted by ``perm``."""
    start = sum(widths[:l])
    q = list(p)
    q[start:start + len(perm)] = [p[start + k] for k in perm]
    return tuple(q)


# -- the measured regressions ------------------------------------------------------------------------
W1 = np.array([[212504.84856159208, -421736.1197231287, 281009.3182827264],
               [-9.293401528464255, -5.328686848204316, 6.0615025198587595],
               [-4.3334334515514846e-05, -8.310598071931384e-06, 1.3262675857349696e-05]])
B1 = np.array([-185483.07574999932, 0.09046872040612798, -1.226196073849089e-05])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_scale_neurons_keep_every_region(backend):
    net = net_of([(W1, B1, True), (np.ones((1, 3)), np.zeros(1), False)])
    res = preimage.linear_regions(net, Box(-np.ones(3), np.ones(3)), backend=backend)
    assert len(res.set) == 7 and (0, 0, 1) in pattern_set(res)
    X = Box(-np.ones(3), np.ones(3)).sample(20000, seed=0)
    assert sample_patterns([(W1, B1, True)], X) <= pattern_set(res)


def test_mixed_scale_neurons_in_12d_auto_backend_and_preimage():
    W = np.hstack([W1, np.zeros((3, 9))])
    specs = [(W, B1, True), (np.ones((1, 3)), np.zeros(1), False)]
    net, dom = net_of(specs), Box(-np.ones(12), np.ones(12))
    assert len(preimage.linear_regions(net, dom, backend="auto").set) == 7
    res = preimage.preimage(net, Box([5e-6], [1.0]), domain=dom)
    assert res.complete
    X = dom.sample(3000, seed=1)
    y = forward(specs, X)[:, 0]
    truth = (y >= 5e-6) & (y <= 1.0)
    got = np.asarray(res.set.contains(X))
    assert truth.sum() > 100 and np.all(got[truth]) and not np.any(got[~truth])


@pytest.mark.parametrize("backend", BACKENDS)
def test_tiny_weights_cut_a_tiny_corner(backend):
    # z = 1e-6 (x + y - (2 - 1e-3)) cuts off the triangle with legs 1e-3 at (1, 1)
    specs = [(1e-6 * np.array([[1.0, 1.0]]), np.array([-1e-6 * (2 - 1e-3)]), True), (np.eye(1), np.zeros(1), False)]
    res = preimage.linear_regions(net_of(specs), Box(-np.ones(2), np.ones(2)), backend=backend)
    assert pattern_set(res) == {(0,), (1,)}
    if backend == "vertex":
        areas = {tuple(int(v) for v in p.pattern): polygon_area(p.polyhedron.vertices()) for p in res.set}
        assert areas[(1,)] == pytest.approx(0.5e-6, rel=1e-6)
        assert sum(areas.values()) == pytest.approx(4.0, rel=1e-12)


# -- metamorphic: scaling a neuron ------------------------------------------------------------------
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), d=st.integers(2, 3), l=st.integers(0, 1), log_c=st.floats(-6, 6),
       backend=st.sampled_from(BACKENDS))
def test_scaling_a_neuron_changes_no_region(seed, d, l, log_c, backend):
    rng = np.random.default_rng(seed)
    widths = [d, int(rng.integers(3, 7)), int(rng.integers(3, 7)), 2]
    specs = rand_specs(seed, widths)
    j = int(rng.integers(widths[l + 1]))
    scaled = scale_neuron(specs, l, j, 10.0 ** log_c)
    box = Box(-np.ones(d), np.ones(d))
    a = preimage.linear_regions(net_of(specs), box, backend=backend)
    b = preimage.linear_regions(net_of(scaled), box, backend=backend)
    assert pattern_set(a) == pattern_set(b)
    assert sample_patterns(specs, box.sample(4000, seed=seed)) <= pattern_set(a)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), l=st.integers(0, 1), log_c=st.floats(-6, 6), backend=st.sampled_from(BACKENDS))
def test_scaling_a_neuron_changes_no_preimage(seed, l, log_c, backend):
    rng = np.random.default_rng(seed)
    widths = [2, int(rng.integers(3, 7)), int(rng.integers(3, 7)), 1]
    specs = rand_specs(seed, widths)
    scaled = scale_neuron(specs, l, int(rng.integers(widths[l + 1])), 10.0 ** log_c)
    box = Box(-np.ones(2), np.ones(2))
    X = box.sample(3000, seed=seed)
    y = forward(specs, X)[:, 0]
    target = Box([np.quantile(y, 0.3)], [np.quantile(y, 0.7)])
    truth = (y >= target.lo[0]) & (y <= target.hi[0])
    sets = []
    for sp in (specs, scaled):
        res = preimage.preimage(net_of(sp), target, domain=box, backend=backend)
        assert res.complete
        got = np.asarray(res.set.contains(X))
        # membership agrees with a numpy forward pass (points within 1e-9 of the boundary aside)
        margin = np.minimum(np.abs(y - target.lo[0]), np.abs(y - target.hi[0])) > 1e-9
        assert np.all(got[truth & margin]) and not np.any(got[~truth & margin])
        sets.append(pattern_set(res))
    assert sets[0] == sets[1]


@pytest.mark.parametrize("log_c", [-6.0, 6.0])
def test_scaling_a_neuron_changes_no_verdict(log_c):
    specs = rand_specs(7, [3, 5, 4, 2])
    X = Box(-np.ones(3), np.ones(3)).sample(4000, seed=0)
    Y = forward(specs, X)
    thr_hit, thr_miss = np.quantile(Y[:, 0], 0.99), Y[:, 0].max() + 1.0
    for d_in in (3, 12):  # 3 inputs: vertex backend; 12 (zero-weight extras): LP backend
        head = "".join(f"(declare-const X_{i} Real)\n" for i in range(d_in)) + \
            "(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
        box = "".join(f"(assert (>= X_{i} -1))\n(assert (<= X_{i} 1))\n" for i in range(d_in))
        for thr, expected in ((thr_hit, "sat"), (thr_miss, "unsat")):
            text = head + box + f"(assert (>= Y_0 {float(thr)!r}))\n"
            for sp in (specs, scale_neuron(specs, 0, 2, 10.0 ** log_c), scale_neuron(specs, 1, 1, 10.0 ** log_c)):
                sp = [(np.hstack([sp[0][0], np.zeros((sp[0][0].shape[0], d_in - 3))]), sp[0][1], True)] + list(sp[1:])
                v = preimage.verify(net_of(sp), parse_vnnlib(text), falsify=False, time_limit=60)
                assert v.status == expected


# -- metamorphic: duplicating and permuting neurons --------------------------------------------------
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), l=st.integers(0, 1), backend=st.sampled_from(BACKENDS))
def test_duplicating_a_neuron_duplicates_its_bit(seed, l, backend):
    rng = np.random.default_rng(seed)
    widths = [2, int(rng.integers(3, 6)), int(rng.integers(3, 6)), 2]
    specs = rand_specs(seed, widths)
    j = int(rng.integers(widths[l + 1]))
    W, b, r = specs[l]
    W2, b2, r2 = specs[l + 1]
    dup = list(specs)
    dup[l] = (np.vstack([W, W[j]]), np.append(b, b[j]), r)
    half = W2.copy()
    half[:, j] *= 0.5  # the copy carries the other half of neuron j's outgoing weight
    dup[l + 1] = (np.hstack([half, half[:, j:j + 1]]), b2, r2)
    box = Box(-np.ones(2), np.ones(2))
    a = preimage.linear_regions(net_of(specs), box, backend=backend)
    b_ = preimage.linear_regions(net_of(dup), box, backend=backend)
    end = sum(widths[1:l + 2])
    expected = {p[:end] + (p[sum(widths[1:l + 1]) + j],) + p[end:] for p in pattern_set(a)}
    assert pattern_set(b_) == expected


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), l=st.integers(0, 1), backend=st.sampled_from(BACKENDS))
def test_permuting_neurons_permutes_the_pattern(seed, l, backend):
    rng = np.random.default_rng(seed)
    widths = [2, int(rng.integers(3, 6)), int(rng.integers(3, 6)), 2]
    specs = rand_specs(seed, widths)
    perm = rng.permutation(widths[l + 1])
    W, b, r = specs[l]
    W2, b2, r2 = specs[l + 1]
    pspecs = list(specs)
    pspecs[l] = (W[perm], b[perm], r)
    pspecs[l + 1] = (W2[:, perm], b2, r2)
    box = Box(-np.ones(2), np.ones(2))
    a = preimage.linear_regions(net_of(specs), box, backend=backend)
    b_ = preimage.linear_regions(net_of(pspecs), box, backend=backend)
    assert pattern_set(b_) == {perm_pattern(p, perm, l, widths[1:]) for p in pattern_set(a)}


# -- independent oracle for counts -----------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_areas_sum_to_the_box_and_samples_find_only_result_patterns(seed):
    specs = rand_specs(100 + seed, [2, 8, 6, 2])
    box = Box(-np.ones(2), np.ones(2))
    res = preimage.linear_regions(net_of(specs), box, backend="vertex")
    areas = [polygon_area(p.polyhedron.vertices()) for p in res.set]
    assert sum(areas) == pytest.approx(4.0, rel=1e-9) and min(areas) > 0
    X = box.sample(20000, seed=seed)
    assert sample_patterns(specs, X) <= pattern_set(res)
    assert pattern_set(preimage.linear_regions(net_of(specs), box, backend="lp")) == pattern_set(res)
