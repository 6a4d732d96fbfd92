"""Exact class mixing (``preimage.analysis.exact_mixing``) and the gradient inversion run to its
tolerance, against independent oracles: the preimage's pieces enumerated by the engine with one
LP per piece written here (``scipy.optimize.linprog``), numpy forward passes written here, and
distances worked out by hand."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from scipy.optimize import linprog

import preimage
from preimage import InvalidInputError
from preimage.analysis import gradient_inversion
from preimage.analysis.cli import register
from preimage.analysis.exact_mixing import (
    exact_class_mixing,
    input_distances,
    mixing_fractions,
    neighbour_pairs,
    pair_distance,
)

BOX3 = preimage.Box(np.zeros(3), np.ones(3))


def small_net(seed: int = 3) -> preimage.Network:
    rng = np.random.default_rng(seed)
    return preimage.Network.from_arrays([
        (rng.normal(size=(5, 3)), rng.normal(scale=0.3, size=5), True),
        (rng.normal(size=(4, 5)), rng.normal(scale=0.3, size=4), True),
        (rng.normal(size=(2, 4)), rng.normal(scale=0.3, size=2), False),
    ])


def numpy_activity(net: preimage.Network, x: np.ndarray, k: int) -> np.ndarray:
    """The layer-k activity by a forward pass written here (dense weights, ReLU flags)."""
    h = np.asarray(x, dtype=np.float64)
    for lay in net.layers[:k]:
        h = np.asarray(lay.dense_weight) @ h + np.asarray(lay.bias)
        if lay.relu:
            h = np.maximum(h, 0.0)
    return h


def lp_distance(A, b, C, d, p, norm: str) -> float:
    """min ‖x − p‖ (L∞ or L1) over {A x <= b, C x = d} ∩ [0, 1]^n, by scipy's linprog."""
    n = p.shape[0]
    m = 1 if norm == "linf" else n
    T = np.ones((n, 1)) if norm == "linf" else np.eye(n)
    # x − p <= t, p − x <= t
    A_ub = np.vstack([np.hstack([np.eye(n), -T]), np.hstack([-np.eye(n), -T]),
                      np.hstack([A, np.zeros((A.shape[0], m))])])
    b_ub = np.concatenate([p, -p, b])
    A_eq = np.hstack([C, np.zeros((C.shape[0], m))]) if C.shape[0] else None
    res = linprog(np.r_[np.zeros(n), np.ones(m)], A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=d if C.shape[0] else None,
                  bounds=[(0.0, 1.0)] * n + [(0.0, None)] * m, method="highs")
    return float(res.fun) if res.status == 0 else np.inf


def brute_force_distance(net, a, b, k, norm):
    """min over the enumerated pieces of P_k(h_k(a)) ∩ [0,1]^3 of an LP distance to b."""
    res = preimage.preimage(net, preimage.Activity(numpy_activity(net, a, k)), layer=k, domain=BOX3)
    assert res.complete
    best = np.inf
    for piece in res.set:
        P = piece.polyhedron
        best = min(best, lp_distance(np.asarray(P.A), np.asarray(P.b), np.asarray(P.C), np.asarray(P.d), b, norm))
    return best


@pytest.mark.parametrize("norm", ["linf", "l1"])
def test_pair_distance_matches_brute_force_over_the_pieces(norm):
    net = small_net()
    rng = np.random.default_rng(11)
    pts = rng.uniform(0, 1, size=(6, 3))
    checked = 0
    for a, b in zip(pts[:3], pts[3:]):
        for k in (1, 2, 3):
            oracle = brute_force_distance(net, a, b, k, norm)
            for method in ("pieces", "milp"):
                r = pair_distance(net, a, b, k, domain=BOX3, norm=norm, time_limit=None, method=method)
                assert r.complete and r.lower == r.upper
                assert r.upper == pytest.approx(oracle, abs=1e-7)
                # the nearest member: same layer-k activity as a, inside the domain, at that distance
                assert np.abs(numpy_activity(net, r.point, k) - numpy_activity(net, a, k)).max() <= 1e-7
                assert np.all(r.point >= -1e-9) and np.all(r.point <= 1 + 1e-9)
                dv = np.abs(r.point - b)
                assert (dv.max() if norm == "linf" else dv.sum()) == pytest.approx(r.upper, abs=1e-9)
                checked += 1
    assert checked == 18


def test_budgeted_answers_are_intervals_around_the_truth():
    net = small_net(5)
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    oracle = brute_force_distance(net, a, b, 2, "linf")
    for limit in (1e-4, 1e-3, 0.05):
        r = pair_distance(net, a, b, 2, domain=BOX3, time_limit=limit, method="milp")
        assert r.lower - 1e-9 <= oracle <= r.upper + 1e-9
        assert r.complete == (r.upper - r.lower <= 1e-6 * (1 + r.upper))
        assert r.upper <= np.abs(a - b).max() + 1e-12      # a itself is a witness
        assert np.abs(numpy_activity(net, r.point, 2) - numpy_activity(net, a, 2)).max() <= 1e-7


def test_exact_class_mixing_hand_made_case():
    # h = relu(x1 − x2): examples 0 and 1 share h = 0 (classes 0 and 1: mixed), example 2 has h = 0.7
    net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([0.0]), True)])
    X = np.array([[0.2, 0.6], [0.1, 0.9], [0.8, 0.1]])
    rep = exact_class_mixing(net, X, [0, 1, 1], pairs=1, eps=[0.1, 0.6])
    lm = rep[1]
    # by hand (L∞ in the unit square): b in {x1 <= x2} -> 0; (0.8, 0.1) to x1 <= x2: 0.35;
    # to x1 − x2 = 0.7 from (0.2, 0.6): 0.55; from (0.1, 0.9): 0.75
    assert lm.pairs.tolist() == [[0, 1, 0], [1, 0, 0], [1, 2, 1], [2, 0, 0], [2, 1, 1]]
    assert lm.upper == pytest.approx([0.0, 0.0, 0.35, 0.55, 0.75], abs=1e-9)
    assert lm.lower == pytest.approx(lm.upper, abs=1e-9) and lm.complete.all()
    row = rep.table()[0]
    assert row["cross"]["pairs"] == 3 and row["cross"]["zero"] == 2
    assert row["cross"]["upper"]["median"] == pytest.approx(0.0, abs=1e-9)
    assert row["cross"]["upper"]["q3"] == pytest.approx(0.275, abs=1e-9)   # quartile of (0, 0, 0.55)
    assert row["same"]["upper"]["median"] == pytest.approx(0.55, abs=1e-9)  # of (0.35, 0.75)
    # within 0.1: a = 0 and 1 (distance 0), not 2 (0.55); within 0.6: all three
    assert [(w["eps"], w["proven"], w["possible"]) for w in row["within_eps"]] == [
        (0.1, pytest.approx(2 / 3), pytest.approx(2 / 3)), (0.6, 1.0, 1.0)]
    # the old sanity check: one identical cross-class pair (0, 1)
    assert row["identical_cross_class_pairs"] == 1 and row["identical_same_class_pairs"] == 0
    json.dumps(rep.to_dict(points=True))


def test_exact_class_mixing_depth_facts_on_a_deeper_net():
    """d_k(a, b) <= ‖a − b‖ and d_k is non-increasing in k (P_j ⊆ P_k); every point checked."""
    net = small_net(7)
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, size=(6, 3))
    y = np.array([0, 1, 0, 1, 0, 1])
    rep = exact_class_mixing(net, X, y, pairs=1, time_limit=None, domain=BOX3)
    ab = np.abs(X[rep.layers[0].pairs[:, 0]] - X[rep.layers[0].pairs[:, 1]]).max(axis=1)
    assert rep.input_distance == pytest.approx(ab)
    prev = ab
    for lm in rep.layers:
        assert lm.complete.all()
        assert np.all(lm.upper <= prev + 1e-9)
        prev = lm.upper
        for (a, b, _), p, d in zip(lm.pairs, lm.points, lm.upper):
            assert np.abs(numpy_activity(net, p, lm.layer) - numpy_activity(net, X[a], lm.layer)).max() <= 1e-7
            assert np.abs(p - X[b]).max() == pytest.approx(d, abs=1e-9)
    # spot-check one layer against the brute force
    a, b, _ = rep.layers[1].pairs[0]
    assert rep.layers[1].upper[0] == pytest.approx(brute_force_distance(net, X[a], X[b], 2, "linf"), abs=1e-7)


def test_pairs_distances_and_fractions_by_hand():
    X = [[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]]
    assert input_distances(X, "l2")[0, 1] == 5.0 and input_distances(X, "l1")[0, 1] == 7.0
    assert input_distances(X, "linf")[1, 2] == 4.0
    P = neighbour_pairs(X, [0, 1, 0], pairs=2, norm="l2")
    assert P.tolist() == [[0, 1, 0], [0, 2, 1], [1, 2, 0], [1, 0, 0], [2, 1, 0], [2, 0, 1]]
    fr = mixing_fractions([0, 0, 1], [0.0, 0.2, 0.3], [0.1, 0.2, 0.5], [False, False, False], [0.15, 0.4])
    assert [(f["proven"], f["possible"]) for f in fr] == [(0.5, 0.5), (0.5, 1.0)]


def test_bad_inputs():
    net = small_net()
    X = np.full((2, 3), 0.5)
    with pytest.raises(InvalidInputError, match="norm must be one of"):
        exact_class_mixing(net, X, [0, 1], norm="l3")
    with pytest.raises(InvalidInputError, match="pairs must be a positive integer"):
        exact_class_mixing(net, X, [0, 1], pairs=0)
    with pytest.raises(InvalidInputError, match="needs a bounded domain"):
        exact_class_mixing(net, X, [0, 1], domain=None)
    with pytest.raises(InvalidInputError, match="outside the domain"):
        exact_class_mixing(net, X + 1.0, [0, 1])
    with pytest.raises(InvalidInputError, match="time_limit must be a positive"):
        exact_class_mixing(net, X, [0, 1], time_limit=0)
    with pytest.raises(InvalidInputError, match="a must lie in the domain"):
        pair_distance(net, [2.0, 0.0, 0.0], [0.0, 0.0, 0.0], 1, domain="unit")


# -- the gradient inversion, run to its tolerance -------------------------------------------------------
def test_gradient_inversion_reaches_the_tolerance_or_says_so():
    rng = np.random.default_rng(0)
    net = preimage.Network.from_arrays([(rng.normal(size=(6, 8)), rng.normal(scale=0.2, size=6), True),
                                        (rng.normal(size=(4, 6)), rng.normal(scale=0.2, size=4), True)])
    x = rng.uniform(0, 1, 8)
    target = numpy_activity(net, x, 2)
    g = gradient_inversion(net, x, 2, "l2", steps=400, domain="unit", image_shape=(1, 1, 8))
    err = np.abs(numpy_activity(net, g.x, 2) - target).max()
    assert g.reached and err <= 1e-3 and g.activity_error == pytest.approx(err, abs=1e-12)
    assert np.all(g.x >= 0) and np.all(g.x <= 1)
    tight = gradient_inversion(net, x, 2, "l2", steps=400, tol=1e-6, image_shape=(1, 1, 8))
    assert tight.reached and np.abs(numpy_activity(net, tight.x, 2) - target).max() <= 1e-6
    short = gradient_inversion(net, x, 2, "l2", steps=2, max_phases=1, image_shape=(1, 1, 8))
    err = np.abs(numpy_activity(net, short.x, 2) - target).max()
    assert not short.reached and err > 1e-3 and short.activity_error == pytest.approx(err, abs=1e-12)
    assert short.to_dict()["reached"] is False
    with pytest.raises(InvalidInputError, match="tol must be a positive"):
        gradient_inversion(net, x, 2, tol=0.0, image_shape=(1, 1, 8))
    with pytest.raises(InvalidInputError, match="max_phases must be a positive"):
        gradient_inversion(net, x, 2, max_phases=0, image_shape=(1, 1, 8))


# -- the command line -----------------------------------------------------------------------------------
def test_cli_exact_json(tmp_path, capsys):
    net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([0.0]), True)])
    net.save(tmp_path / "net.npz")
    np.savez(tmp_path / "data.npz", X=np.array([[0.2, 0.6], [0.1, 0.9], [0.8, 0.1]]), y=np.array([0, 1, 1]))
    p = argparse.ArgumentParser(prog="preimage")
    register(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(["mixing", str(tmp_path / "net.npz"), "--data", str(tmp_path / "data.npz"), "--exact",
                         "--pairs", "1", "--norm", "linf", "--time-limit", "5", "--eps", "0.1,0.6", "--json",
                         "--plot", str(tmp_path / "d.png")])
    assert args.func(args) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["norm"] == "linf" and d["eps"] == [0.1, 0.6] and d["pairs"][3] == [2, 0, 0]
    assert d["layers"][0]["upper"] == pytest.approx([0.0, 0.0, 0.35, 0.55, 0.75], abs=1e-9)
    assert d["table"][0]["identical_cross_class_pairs"] == 1
    assert (tmp_path / "d.png").stat().st_size > 0
    args = p.parse_args(["mixing", str(tmp_path / "net.npz"), "--data", str(tmp_path / "data.npz"), "--exact",
                         "--pairs", "1"])
    assert args.func(args) == 0
    assert "exact class mixing" in capsys.readouterr().out


def test_cli_invert_flags_an_unreached_tolerance(tmp_path, capsys):
    rng = np.random.default_rng(1)
    net = preimage.Network.from_arrays([(rng.normal(size=(5, 4)), rng.normal(scale=0.2, size=5), True)])
    net.save(tmp_path / "net.npz")
    X = rng.uniform(0, 1, size=(3, 4))
    np.savez(tmp_path / "data.npz", X=X, y=np.array([0, 1, 0]))
    p = argparse.ArgumentParser(prog="preimage")
    register(p.add_subparsers(dest="command", required=True))
    base = ["invert", str(tmp_path / "net.npz"), "--data", str(tmp_path / "data.npz"), "--index", "1", "--layer", "1",
            "--reference", "zero", "--timeout", "2"]
    args = p.parse_args(base + ["--steps", "1", "--max-phases", "1", "--json"])
    assert args.func(args) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (row,) = d["table"]
    x_g = np.array(d["gradient"][0]["x"])
    err = np.abs(numpy_activity(net, x_g, 1) - numpy_activity(net, X[1], 1)).max()
    assert err > 1e-3 and row["gradient_reached"] is False and row["comparable"] is False
    args = p.parse_args(base + ["--steps", "300"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "not comparable" not in out and "did not reach" not in out
