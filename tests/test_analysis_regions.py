"""Region statistics on 2-D slices (issue 6, item 4): counts against dense pattern sampling
on the slice (an independent numpy forward pass), per-layer counts against separate
enumerations, and against the relucent package on identical networks and slices."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

import preimage
from preimage import InvalidInputError
from preimage.analysis import (
    count_by_layer,
    load_data,
    plot_slice_regions,
    region_counts,
    silence_dead_neurons,
    slice_regions,
    truncate,
)
from test_analysis_mixing import MODELS, ROOT, specs_of


@pytest.fixture(scope="module")
def digits():
    return load_data("digits", "test")


@pytest.fixture(scope="module")
def mlp():
    return preimage.load(MODELS / "digits_mlp.onnx")


def small_net(seed: int = 3) -> preimage.Network:
    rng = np.random.default_rng(seed)
    return preimage.Network.from_arrays([(rng.normal(size=(6, 5)), rng.normal(size=6) * 0.5, True),
                                         (rng.normal(size=(5, 6)), rng.normal(size=5) * 0.5, True),
                                         (rng.normal(size=(2, 5)), rng.normal(size=2), False)])


def sampled_patterns(net: preimage.Network, slc: preimage.Slice, layer: int, n: int):
    """Distinct activation patterns of layers 1..layer at an n × n grid of the slice (numpy oracle)."""
    t1 = np.linspace(slc.lo[0], slc.hi[0], n)
    t2 = np.linspace(slc.lo[1], slc.hi[1], n)
    T = np.stack(np.meshgrid(t1, t2, indexing="ij"), axis=-1).reshape(-1, 2)
    H = slc.origin + T @ np.asarray(slc.directions).T
    bits = []
    for W, b, relu in specs_of(net)[:layer]:
        Z = H @ W.T + b
        if relu:
            bits.append(Z > 0)
        H = np.maximum(Z, 0.0) if relu else Z
    P = np.hstack(bits)
    return {r.tobytes() for r in np.unique(P, axis=0)}, (t1[1] - t1[0])


def test_counts_match_dense_pattern_sampling():
    net = small_net()
    rng = np.random.default_rng(0)
    slc = preimage.Slice.through(rng.normal(size=(3, 5)), margin=0.25)
    for layer in (1, 2):
        res = slice_regions(net, slc, layer)
        assert res.complete
        enumerated = {np.asarray(p.pattern, dtype=bool).tobytes() for p in res.set}
        assert len(enumerated) == len(res.set)  # one piece per pattern
        sampled, h = sampled_patterns(net, slc, layer, 700)
        assert sampled <= enumerated
        # a region holding a disc of radius h/sqrt(2) must contain a grid point
        radii = np.array([p.polyhedron.chebyshev_center()[1] for p in res.set])
        big = {np.asarray(p.pattern, dtype=bool).tobytes() for p, r in zip(res.set, radii) if r > h / np.sqrt(2)}
        assert big <= sampled
        # on this small network every region is that wide: the counts are equal
        assert radii.min() > h / np.sqrt(2)
        assert sampled == enumerated


def test_per_layer_counts_from_pattern_prefixes(mlp, digits):
    X = digits[0]
    for net, tri in ((small_net(), None), (mlp, [0, 1, 2])):
        pts = np.random.default_rng(1).normal(size=(3, net.input_dim)) if tri is None else X[tri]
        slc = preimage.Slice.through(pts)
        deep = slice_regions(net, slc)
        by = count_by_layer(deep, net, list(range(1, net.depth + 1)))
        for k in range(1, net.depth + 1):
            assert by[k] == len(slice_regions(truncate(net, k), slc).set)
        assert by[net.depth] == by[net.depth - 1]  # a layer without ReLU adds no region


def test_silencing_dead_units_changes_no_count(mlp, digits):
    clean, dead = silence_dead_neurons(mlp)
    assert dead and all(k == 1 for k, _ in dead)
    X = digits[0]
    assert np.abs(clean.forward(X) - mlp.forward(X)).max() < 1e-12
    for tri in ([0, 1, 2], [10, 20, 30]):
        slc = preimage.Slice.through(X[tri])
        assert len(slice_regions(clean, slc, 2).set) == len(slice_regions(mlp, slc, 2).set)


def test_region_counts_per_architecture(digits, tmp_path):
    X = digits[0]
    nets = {name: preimage.load(MODELS / f"digits_{name}.onnx") for name in ("mlp", "cnn")}
    st = region_counts(nets, X, n_slices=2, seed=5)
    again = region_counts({"mlp": nets["mlp"]}, X, n_slices=2, seed=5)
    assert np.array_equal(st.triples, again.triples) and np.array_equal(st.counts["mlp"], again.counts["mlp"])
    for name in nets:
        assert st.layers[name] == (1, 2) and st.counts[name].shape == (2, 2)
        assert np.all(st.counts[name][:, 1] >= st.counts[name][:, 0]) and st.complete[name].all()
        for s, tri in enumerate(st.triples):
            slc = preimage.Slice.through(X[tri])
            assert st.counts[name][s, 0] == len(slice_regions(nets[name], slc, 1).set)
    rows = st.table()
    assert {(r["model"], r["layer"]) for r in rows} == {("mlp", 1), ("mlp", 2), ("cnn", 1), ("cnn", 2)}
    json.dumps(st.to_dict())
    res = slice_regions(nets["mlp"], X[st.triples[0]], 1)
    artists = plot_slice_regions(res, out=tmp_path / "slice.png")
    assert len(artists) == 2 and len(artists[0].get_paths()) == len(res.set)
    assert (tmp_path / "slice.png").stat().st_size > 0


# -- relucent ------------------------------------------------------------------------------------------
def bench_module():
    spec = importlib.util.spec_from_file_location("bench_regions", ROOT / "benchmarks" / "bench_regions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_counts_match_relucent_on_identical_networks_and_slices(mlp, digits):
    pytest.importorskip("relucent", reason="relucent (PyPI, pinned for the tests) is not installed")
    bench = bench_module()
    X = digits[0]
    clean, _ = silence_dead_neurons(mlp)
    cases = [(small_net(), preimage.Slice.through(np.random.default_rng(2).normal(size=(3, 5))), (1, 2)),
             (clean, preimage.Slice.through(X[[3, 50, 100]]), (1, 2))]
    for net, slc, layers in cases:
        for k in layers:
            ours = len(slice_regions(net, slc, k).set)
            theirs, _, flags = bench.relucent_count(net, slc, k)
            assert flags == {"complete": True, "verified": True}
            assert ours == theirs, f"layer {k}: preimage {ours}, relucent {theirs}"


# -- bad input ------------------------------------------------------------------------------------------
def test_bad_inputs(mlp, digits):
    X = digits[0]
    with pytest.raises(InvalidInputError, match="width 63, but the model takes inputs of width 64"):
        region_counts(mlp, X[:, :63], n_slices=1)
    with pytest.raises(InvalidInputError, match="n_slices must be a positive integer"):
        region_counts(mlp, X, n_slices=0)
    with pytest.raises(InvalidInputError, match="layer must be an integer between 1 and 3"):
        region_counts(mlp, X, n_slices=1, layers=[5])
    with pytest.raises(InvalidInputError, match="3 points of width 64"):
        slice_regions(mlp, X[:2])
    with pytest.raises(InvalidInputError, match="at least 3 examples"):
        region_counts(mlp, X[:2], n_slices=1)
