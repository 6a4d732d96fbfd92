"""Exact-constrained natural preimages (issue 6, item 3): the minimiser reproduces the
activity under an independent forward pass, is optimal on its piece (KKT certificate, an
independent LP, random feasible points), and is the least over a union of pieces."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import linprog

import preimage
from preimage import InvalidInputError
from preimage.analysis import (
    compare_inversions,
    gradient_inversion,
    load_data,
    local_preimage,
    natural_preimage,
    plot_inversions,
    regulariser_value,
)
from preimage.analysis.natural import tv_operator
from test_analysis_mixing import MODELS, kkt_residual, oracle_activations

UNIT = preimage.Box(np.zeros(64), np.ones(64))


@pytest.fixture(scope="module")
def digits():
    return load_data("digits", "test")


@pytest.fixture(scope="module")
def mean_image():
    return load_data("digits", "train")[0].mean(axis=0)


@pytest.fixture(scope="module")
def mlp():
    return preimage.load(MODELS / "digits_mlp.onnx")


@pytest.fixture(scope="module")
def cnn():
    return preimage.load(MODELS / "digits_cnn.onnx")


def independent_tv(x: np.ndarray, side: int = 8) -> float:
    img = x.reshape(side, side)
    return float(np.abs(np.diff(img, axis=1)).sum() + np.abs(np.diff(img, axis=0)).sum())


def test_regularisers():
    x = np.random.default_rng(0).random(64)
    assert regulariser_value(x, "tv") == pytest.approx(independent_tv(x), abs=1e-12)
    assert regulariser_value(x, "TV") == pytest.approx(independent_tv(x), abs=1e-12)
    assert regulariser_value(x, "l2", reference=np.ones(64)) == pytest.approx(np.sum((x - 1) ** 2))
    D = tv_operator((2, 3, 4))
    assert D.shape == (2 * (3 * 3 + 2 * 4), 24)
    assert np.all(np.abs(D).sum(axis=1) == 2) and np.all(D.sum(axis=1) == 0)


# -- the activity is reproduced exactly ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "cnn"])
@pytest.mark.parametrize("regulariser", ["l2", "tv"])
def test_forward_pass_reproduces_the_activity(request, digits, mean_image, name, regulariser):
    net = request.getfixturevalue(name)
    x = digits[0][3]
    for layer in range(1, net.depth + 1):
        # (layer 1 is one piece: a budget that a loaded machine cannot cut short)
        res = natural_preimage(net, x, layer, regulariser, reference=mean_image, time_limit=0.3 if layer > 1 else 10.0)
        y = oracle_activations(net, x[None], layer)[0]
        err = np.abs(oracle_activations(net, res.x[None], layer)[0] - y).max()
        assert err <= 1e-6 and res.activity_error <= 1e-6
        assert np.all(res.x >= -1e-7) and np.all(res.x <= 1 + 1e-7)
        ref_val = regulariser_value(x, regulariser, reference=mean_image)
        assert res.value <= ref_val + 1e-6  # x itself is a feasible point
        assert res.value <= res.local_value + 1e-12
        assert res.pieces_examined >= 1
        if layer == 1 and net.layers[0].relu:
            assert res.complete  # one layer: the pattern is fixed by y, one piece


# -- optimal on its piece ------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [1, 2, 3])
def test_l2_minimiser_satisfies_kkt_and_beats_random_points(mlp, digits, mean_image, layer):
    x = digits[0][11]
    res = natural_preimage(mlp, x, layer, "l2", reference=mean_image, max_pieces=0)
    assert res.from_local_piece and not res.complete
    P = local_preimage(mlp, x, layer, UNIT).polyhedron
    assert P.contains(res.x, tol=1e-7)
    assert kkt_residual(P, mean_image, res.x) < 1e-5
    S = P.sample(200, seed=layer)
    vals = np.sum((S - mean_image) ** 2, axis=1)
    assert vals.min() >= res.value - 1e-7


@pytest.mark.parametrize("layer", [1, 2])
def test_tv_minimiser_matches_an_independent_lp(mlp, digits, layer):
    x = digits[0][11]
    res = natural_preimage(mlp, x, layer, "tv", max_pieces=0)
    P = local_preimage(mlp, x, layer, UNIT).polyhedron
    D = np.vstack([np.kron(np.eye(8), np.diff(np.eye(8), axis=0)), np.kron(np.diff(np.eye(8), axis=0), np.eye(8))])
    m = D.shape[0]
    # min 1·s  s.t.  ±D x <= s,  A x <= b,  C x = d   (scipy's linprog, all variables explicit)
    A_ub = np.block([[D, -np.eye(m)], [-D, -np.eye(m)], [P.A, np.zeros((P.A.shape[0], m))]])
    b_ub = np.concatenate([np.zeros(2 * m), P.b])
    A_eq = np.hstack([P.C, np.zeros((P.C.shape[0], m))])
    lp = linprog(np.r_[np.zeros(64), np.ones(m)], A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=P.d,
                 bounds=[(None, None)] * 64 + [(0, None)] * m, method="highs")
    assert lp.status == 0
    assert res.value == pytest.approx(lp.fun, abs=1e-6)
    assert res.value == pytest.approx(independent_tv(res.x), abs=1e-12)
    S = P.sample(200, seed=layer)
    assert min(independent_tv(s) for s in S) >= res.value - 1e-7


def test_minimum_over_a_union_of_pieces():
    """h2 = relu(|x0| - 0.5) on [-1, 1]^2: the preimage of 0.3 is the two lines x0 = ±0.8.
    From x = (0.8, 0) with reference (-0.8, 0.5), the best point lies on the other line."""
    net = preimage.Network.from_arrays([(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.zeros(2), True),
                                        (np.array([[1.0, 1.0]]), np.array([-0.5]), True)])
    box = preimage.Box([-1.0, -1.0], [1.0, 1.0])
    ref = np.array([-0.8, 0.5])
    res = natural_preimage(net, [0.8, 0.0], 2, "l2", reference=ref, domain=box)
    assert res.complete and res.pieces_examined == 2 and not res.from_local_piece
    assert res.x == pytest.approx(ref, abs=1e-7) and res.value == pytest.approx(0.0, abs=1e-12)
    assert res.local_value == pytest.approx(1.6**2, abs=1e-7)  # at (0.8, 0.5)
    assert net.activations(res.x, 2) == pytest.approx([0.3], abs=1e-12)
    only_local = natural_preimage(net, [0.8, 0.0], 2, "l2", reference=ref, domain=box, max_pieces=0)
    assert only_local.x == pytest.approx([0.8, 0.5], abs=1e-7) and not only_local.complete
    # the union's minimum: no point of the (complete) preimage does better
    full = preimage.preimage(net, preimage.Activity([0.3]), layer=2, domain=box)
    S = full.set.sample(100, seed=0)
    assert np.all(np.sum((S - ref) ** 2, axis=1) >= res.value - 1e-9)


# -- gradient-based inversion --------------------------------------------------------------------------
def test_gradient_inversion_is_seeded_and_inexact(mlp, digits, mean_image):
    x = digits[0][3]
    a = gradient_inversion(mlp, x, 2, "l2", reference=mean_image, steps=150, seed=1)
    b = gradient_inversion(mlp, x, 2, "l2", reference=mean_image, steps=150, seed=1)
    assert np.array_equal(a.x, b.x)
    assert np.all(a.x >= 0) and np.all(a.x <= 1)
    h = oracle_activations(mlp, a.x[None], 2)[0]
    assert a.activity_error == pytest.approx(np.abs(h - oracle_activations(mlp, x[None], 2)[0]).max(), abs=1e-12)
    assert a.activity_error > 1e-6  # the penalty method matches the activity only approximately
    assert a.value == pytest.approx(np.sum((a.x - mean_image) ** 2))
    t = gradient_inversion(mlp, x, 1, "tv", steps=50)
    assert t.value == pytest.approx(independent_tv(t.x))


def test_compare_and_picture_grid(tmp_path, mlp, digits, mean_image):
    x = digits[0][5]
    cmp = compare_inversions(mlp, x, None, "l2", reference=mean_image, time_limit=0.3, steps=100)
    rows = cmp.table()
    assert [r["layer"] for r in rows] == [1, 2, 3]
    assert all(r["exact_activity_error"] <= 1e-6 for r in rows)
    assert all(r["gradient_activity_error"] > r["exact_activity_error"] for r in rows)
    json.dumps(cmp.to_dict())
    artists = plot_inversions(cmp, out=tmp_path / "grid.png")
    assert len(artists) == 9 and (tmp_path / "grid.png").stat().st_size > 0


# -- bad input ------------------------------------------------------------------------------------------
def test_bad_inputs(mlp, digits):
    x = digits[0][0]
    with pytest.raises(InvalidInputError, match=r"regulariser must be one of \['l2', 'tv'\].*'l1'"):
        natural_preimage(mlp, x, 1, "l1")
    with pytest.raises(InvalidInputError, match="regulariser must be one of"):
        gradient_inversion(mlp, x, 1, "entropy")
    with pytest.raises(InvalidInputError, match="layer must be an integer between 1 and 3"):
        natural_preimage(mlp, x, 4)
    with pytest.raises(InvalidInputError, match="layer must be an integer between 1 and 3"):
        compare_inversions(mlp, x, [0])
    with pytest.raises(InvalidInputError, match="width 63, but the model takes inputs of width 64"):
        natural_preimage(mlp, x[:63], 1)
    odd = preimage.Network.from_arrays([(np.ones((2, 5)), np.zeros(2), True)])
    with pytest.raises(InvalidInputError, match="image_shape"):
        natural_preimage(odd, np.full(5, 0.5), 1, "tv")
    res = natural_preimage(odd, np.full(5, 0.5), 1, "tv", image_shape=(1, 1, 5))
    assert res.activity_error <= 1e-6
    with pytest.raises(InvalidInputError, match="reference must have length 64"):
        natural_preimage(mlp, x, 1, "l2", reference=np.zeros(10))
