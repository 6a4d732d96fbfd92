"""Paper 002 §3 on trained CNNs: step edges at negative-response locations keep the layer-1 activity.

Oracles, all independent of the library's convolution code and of ``step_edge_members``:

* the dense convolution matrices are built here with numpy loops from the kernel taps of the
  ``.pt`` state dicts (not from ``net.layers[0].dense_weight``);
* forward passes: ``torch.nn.functional.conv1d/conv2d`` in float64 (activity equal to 1e-9) and
  onnxruntime on the ONNX file truncated at its first Relu, in float32 (equal to 1e-5);
* ranks: ``numpy.linalg.matrix_rank`` of the kept rows of that numpy matrix;
* the data: MNIST-1D generated here with ``mnist1d.data.make_dataset()``, the digits split
  recomputed with scikit-learn.

Negative controls (so the tests can fail): a step at a pixel under a positive unit changes the
activity, and a step higher than the admissible interval turns a deleted unit on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

import preimage
from preimage.conv.step_edges import step_edge_members
from preimage.errors import InvalidInputError

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "examples" / "models"
N_SIGNALS = 12          # MNIST-1D test signals used
N_DIGITS = 20           # digits test images used
TOL64, TOL32 = 1e-9, 1e-5


# -- independent data and models ------------------------------------------------------------------
@pytest.fixture(scope="module")
def signals():
    from mnist1d.data import make_dataset

    return np.asarray(make_dataset()["x_test"][:N_SIGNALS], dtype=np.float64)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    idx = np.arange(len(d.target))
    _, i_te = train_test_split(idx, test_size=0.25, random_state=0, stratify=d.target)
    return d.data[i_te[:N_DIGITS]] / 16.0


def _state(name):
    sd = torch.load(MODELS / f"{name}.pt", weights_only=True)
    return sd["0.weight"].double().numpy(), sd["0.bias"].double().numpy()


def conv1d_matrix(w, n):
    """Valid 1-D convolution (cross-correlation) as a dense ``(C·(n−k+1)) × n`` matrix, by loops."""
    C, _, k = w.shape
    L = n - k + 1
    M = np.zeros((C * L, n))
    for c in range(C):
        for t in range(L):
            M[c * L + t, t:t + k] = w[c, 0]
    return M


def conv2d_same_matrix(w, h, wd):
    """3×3 convolution with zero padding 1 on an ``h × wd`` image, as a dense ``(C·h·wd) × (h·wd)`` matrix."""
    C, _, k, _ = w.shape
    p = k // 2
    M = np.zeros((C * h * wd, h * wd))
    for c in range(C):
        for i in range(h):
            for j in range(wd):
                for di in range(k):
                    for dj in range(k):
                        r, s = i + di - p, j + dj - p
                        if 0 <= r < h and 0 <= s < wd:
                            M[c * h * wd + i * wd + j, r * wd + s] = w[c, 0, di, dj]
    return M


@pytest.fixture(scope="module")
def m1d():
    w, b = _state("mnist1d_cnn")
    W = conv1d_matrix(w, 40)
    return {"w": w, "b": b, "W": W, "bias": np.repeat(b, W.shape[0] // len(b)),
            "net": preimage.load(str(MODELS / "mnist1d_cnn.onnx"))}


@pytest.fixture(scope="module")
def steps(m1d, signals):
    return [step_edge_members(m1d["net"], x) for x in signals]


def torch_layer1_1d(w, b, X):
    with torch.no_grad():
        X = torch.tensor(np.array(X), dtype=torch.float64).reshape(-1, 1, 40)
        z = F.conv1d(X, torch.as_tensor(w), torch.as_tensor(b))
    return torch.relu(z).reshape(len(X), -1).numpy()


def ort_layer1(path, X, shape):
    """onnxruntime on the model truncated at its first Relu (made a graph output), in float32."""
    model = onnx.load(str(path))
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    model.graph.output.append(onnx.helper.make_empty_tensor_value_info(relu.output[0]))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = sess.run([relu.output[0]], {"x": np.asarray(X, dtype=np.float32).reshape((-1, *shape))})[0]
    return out.reshape(len(X), -1).astype(np.float64)


# -- MNIST-1D: the step edges are null vectors of the kept kernels ---------------------------------
def test_steps_exist_on_real_signals(steps):
    """Not vacuous: most test signals have free samples, and steps are built on them."""
    with_steps = sum(len(s.regions) > 0 for s in steps)
    assert with_steps >= N_SIGNALS // 2
    assert sum(len(s.regions) for s in steps) >= N_SIGNALS


def test_steps_are_null_vectors_of_the_kept_kernels(m1d, signals, steps):
    W, bias = m1d["W"], m1d["bias"]
    for x, s in zip(signals, steps, strict=True):
        z = W @ x + bias
        J, I = z > 0, z <= 0
        assert np.array_equal(s.positive, J)
        # free samples: every unit covering them (non-zero tap in the numpy matrix) is deleted
        free = ~np.any(W[J] != 0, axis=0)
        assert np.array_equal(s.free, free)
        for S, h, v in zip(s.regions, s.heights, s.steps, strict=True):
            assert free[S].all() and h != 0
            assert np.array_equal(np.flatnonzero(v), np.sort(S)) and np.all(v[S] == h)  # a step of height h on S
            assert np.all(np.diff(np.sort(S)) == 1)  # one run: steps up at one end, down at the other
            assert np.array_equal(W[J] @ v, np.zeros(J.sum()))  # exact null vector of the kept rows
        # the sum of the steps keeps every deleted unit at or below zero
        for xm in s.partial_members():
            assert np.all((W @ xm + bias)[I] <= 0)
        # dim ker W_J, by numpy's rank
        assert s.null_dimension == 40 - np.linalg.matrix_rank(W[J])


def test_members_keep_the_activity_torch_float64(m1d, signals, steps):
    for x, s in zip(signals, steps, strict=True):
        a = torch_layer1_1d(m1d["w"], m1d["b"], x[None])[0]
        A = torch_layer1_1d(m1d["w"], m1d["b"], s.partial_members())
        assert np.abs(A - a).max() <= TOL64
        if len(s.regions):
            assert np.abs(s.member - x).max() > 0.05  # the member really differs from the signal


def test_members_keep_the_activity_onnxruntime_float32(m1d, signals, steps):
    members = np.vstack([s.member for s in steps])
    assert np.abs(ort_layer1(MODELS / "mnist1d_cnn.onnx", members, (1, 40))
                  - ort_layer1(MODELS / "mnist1d_cnn.onnx", signals, (1, 40))).max() <= TOL32


def test_members_lie_in_the_library_preimage(m1d, signals, steps):
    from preimage.conv import local_preimage_piece

    lay = m1d["net"].layers[0]
    for x, s in zip(signals[:4], steps[:4], strict=True):
        a = m1d["net"].activations(x, 1)
        P = preimage.layer_preimage(lay.dense_weight, lay.bias, a, domain=None)
        assert P.contains(s.partial_members()).all()
        assert local_preimage_piece(m1d["net"], x, 1).contains(s.member)


def test_negative_control_step_under_a_positive_unit_changes_the_activity(m1d, signals):
    """A step of the same kind at a positive-response location: the activity changes and the
    library says "not in the preimage"."""
    W, bias, lay = m1d["W"], m1d["bias"], m1d["net"].layers[0]
    for x in signals[:4]:
        J = np.flatnonzero(W @ x + bias > 0)
        p = int(np.flatnonzero(W[J[0]])[0])  # a sample under the first positive unit
        v = np.zeros(40)
        v[max(0, p - 1):p + 2] = 0.5  # a step patch covering it
        a = torch_layer1_1d(m1d["w"], m1d["b"], x[None])[0]
        assert np.abs(torch_layer1_1d(m1d["w"], m1d["b"], (x + v)[None])[0] - a).max() > 1e-3
        assert not preimage.layer_preimage(lay.dense_weight, lay.bias, a, domain=None).contains(x + v)


def test_negative_control_steps_beyond_the_admissible_height_turn_a_unit_on(m1d, signals, steps):
    """The height interval is sharp: three times the chosen height (beyond the endpoint when
    ``fraction = 0.5`` hits a unit's bound) switches a deleted unit on, at least once."""
    turned_on = 0
    for x, s in zip(signals, steps, strict=True):
        a = torch_layer1_1d(m1d["w"], m1d["b"], x[None])[0]
        for S, h in zip(s.regions, s.heights, strict=True):
            v = np.zeros(40)
            v[S] = 3 * h
            turned_on += np.abs(torch_layer1_1d(m1d["w"], m1d["b"], (x + v)[None])[0] - a).max() > 1e-6
    assert turned_on > 0


def test_box_domain_keeps_members_in_the_box(m1d, signals):
    box = preimage.Box(np.full(40, -0.5) + np.minimum(signals[0], 0), np.full(40, 0.5) + np.maximum(signals[0], 0))
    s = step_edge_members(m1d["net"], signals[0], domain=box, fraction=1.0, max_height=10.0)
    assert box.contains(s.partial_members()).all()
    a = torch_layer1_1d(m1d["w"], m1d["b"], signals[:1])[0]
    assert np.abs(torch_layer1_1d(m1d["w"], m1d["b"], s.partial_members()) - a).max() <= TOL64


# -- 2-D: the connectivity of the step regions, and the digits CNN ----------------------------------
def test_two_dimensional_regions_on_a_small_conv2d():
    """A random single-channel Conv2d with zero bias on a sparse binary image (so most units are
    deleted): the regions are the 4-connected components of the free pixels (scipy's labels),
    and the members keep torch's float64 activity."""
    from scipy import ndimage

    torch.manual_seed(3)
    conv = torch.nn.Conv2d(1, 1, 3).double()
    with torch.no_grad():
        conv.bias.fill_(0.0)
    net = preimage.from_torch(torch.nn.Sequential(conv, torch.nn.ReLU()), (1, 9, 9))
    rng = np.random.default_rng(0)
    x = (rng.random((9, 9)) < 0.25).astype(float)
    s = step_edge_members(net, x.reshape(-1))
    assert len(s.regions) >= 2 and 0 < s.positive.sum()
    assert ndimage.label(s.free.reshape(9, 9))[1] == len(s.regions) + s.blocked
    for S in s.regions:
        mask = np.zeros(81, dtype=bool)
        mask[S] = True
        assert ndimage.label(mask.reshape(9, 9))[1] == 1  # one 4-connected component
    with torch.no_grad():
        def act(X):
            return conv(torch.tensor(np.array(X)).reshape(-1, 1, 9, 9)).relu().reshape(len(X), -1).numpy()
        assert np.abs(act(s.partial_members()) - act(x.reshape(1, -1))).max() <= TOL64


def test_digits_cnn_layer1_preimage_is_a_point(digits):
    """The digits CNN (4 channels, 3×3, padding 1, positive biases): the kept rows have rank 64
    on every image used, so P_1(a) = {x} and there is no step edge — no pixel is free."""
    w, b = _state("digits_cnn")
    W = conv2d_same_matrix(w, 8, 8)
    bias = np.repeat(b, 64)
    net = preimage.load(str(MODELS / "digits_cnn.onnx"))
    for x in digits:
        J = W @ x + bias > 0
        assert np.linalg.matrix_rank(W[J]) == 64
        assert np.any(W[J] != 0, axis=0).all()  # every pixel lies under a positive unit
        s = step_edge_members(net, x)
        assert np.array_equal(s.positive, J)
        assert s.null_dimension == 0 and not s.free.any() and len(s.regions) == 0
        assert np.array_equal(s.member, x)


# -- bad input -----------------------------------------------------------------------------------
def test_bad_input(m1d, signals):
    with pytest.raises(InvalidInputError, match="fraction"):
        step_edge_members(m1d["net"], signals[0], fraction=0.0)
    with pytest.raises(InvalidInputError, match="max_height"):
        step_edge_members(m1d["net"], signals[0], max_height=-1.0)
    with pytest.raises(InvalidInputError, match="preimage.Network"):
        step_edge_members(m1d["W"], signals[0])
    with pytest.raises(InvalidInputError, match="Box of dimension 40"):
        step_edge_members(m1d["net"], signals[0], domain=preimage.Box(np.zeros(3), np.ones(3)))
    with pytest.raises(InvalidInputError, match="one input"):
        step_edge_members(m1d["net"], signals[:2])
    lin = preimage.Network.from_arrays([(np.eye(2), [0.0, 0.0], False)])
    with pytest.raises(InvalidInputError, match="ReLU"):
        step_edge_members(lin, [1.0, 2.0])


def test_example_script_checks_pass_on_a_few_signals(signals):
    """``examples/step_edges.py``'s measurement (which writes docs/gallery/step_edges.json) on a few
    signals: its PyTorch float64 and library checks hold."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("step_edges_example", ROOT / "examples" / "step_edges.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    net = preimage.load(str(MODELS / "mnist1d_cnn.onnx"))
    res, st = ex.measure(net, signals[:5], MODELS / "mnist1d_cnn.pt", (1, 40))
    assert st["inputs"] == 5 and st["step_edges_total"] == sum(len(s.regions) for s in res) > 0
    assert st["max_abs_activity_change_torch_float64"] <= TOL64
    assert st["inputs_all_members_in_library_preimage"] == 5
