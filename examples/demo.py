"""The preimage demonstration: exact one-layer geometry on a paper example and on ACAS Xu.

Run with ``make demo`` (or ``python examples/demo.py --out demo_out``). It prints what it
computes and saves every result under ``--out``:

1. Paper 002, Fig. 3 — a 3-node layer: hyperplanes Π1..Π3, dual basis e1..e3, and the
   preimages of a point on a plane (a ray), on a line (a 2-D cone) and of the origin.
2. ACAS Xu network 1_1 — the dual basis of hidden layer 2 (50×50) and the exact preimage,
   inside the orthant, of the layer-2 activity of a real input: a 40-odd dimensional
   polyhedron; points sampled from it reproduce the activity under an independent
   forward pass (onnxruntime).
3. The engine on ACAS Xu — the exact preimage of a real input's layer-1 activity; the exact
   set of inputs of property 4's box where the advisory is "strong left" (its volume, from
   the pieces, against onnxruntime on 200,000 samples); every linear region of network 2_3
   in that box (1,087 regions); and two VNN-LIB properties decided (one violated, with a
   counterexample confirmed by onnxruntime; one proved).
4. A circulant layer (paper 000 §4–5): apex on the identity line, angle, cyclic symmetry,
   dual basis by FFT, nesting radius.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import preimage

HERE = Path(__file__).resolve().parent
ACAS = HERE.parent / "benchmarks" / "acasxu"  # a copy of the public VNN-COMP files


def find_acas() -> Path | None:
    for root in (ACAS, HERE.parent.parent / "shared" / "benchmarks" / "acasxu"):
        p = root / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx"
        if p.exists():
            return p
    return None


def relu(z):
    return np.maximum(z, 0.0)


def paper_example(out: Path) -> dict:
    print("== Paper 002, Fig. 3: one 3-node layer ==")
    # three planes in general position through a common point; the weights are ours
    W = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
    b = np.array([-0.5, -0.4, -0.3])
    D = preimage.dual_basis(W, b)
    print("common point of Π1, Π2, Π3 (apex):", np.round(D.apex, 4))
    for i in range(3):
        print(f"e{i + 1} = {np.round(D.vectors[:, i], 4)}   (w_j·e{i + 1} = {np.round(W @ D.vectors[:, i], 12)})")
    cases = {
        "point on plane Π3 (y3 = 0): a ray": np.array([0.7, 0.5, 0.0]),
        "point on the line Π2 ∩ Π3 (y2 = y3 = 0): a 2-D cone": np.array([0.6, 0.0, 0.0]),
        "the origin (all outputs zero): a 3-D cone": np.zeros(3),
    }
    results = {"W": W, "b": b, "dual_basis": D.vectors, "apex": D.apex, "preimages": []}
    for title, y in cases.items():
        P = preimage.layer_preimage(W, b, y, domain=None)
        X = P.point(np.abs(np.random.default_rng(0).normal(size=(P.directions.shape[1],))))
        sample = P.polyhedron.intersect(preimage.Box.cube(3, 10.0)).sample(200, seed=1)
        err = float(np.abs(relu(sample @ W.T + b) - y).max())
        print(f"- {title}: y = {y}, apex x* = {np.round(P.apex, 4)}, "
              f"dimension {P.dim}; 200 sampled points reproduce y to {err:.1e}")
        results["preimages"].append({
            "title": title, "y": y, "apex": P.apex, "directions": P.directions,
            "dim": P.dim, "max_error_of_samples": err, "example_point": X,
        })
        P.polyhedron.save(out / f"paper_fig3_preimage_{len(results['preimages'])}.json")
    return results


def acas_example(out: Path) -> dict:
    path = find_acas()
    if path is None:
        print("ACAS Xu networks not found next to the checkout; skipping that part")
        return {}
    print(f"\n== ACAS Xu {path.name}: hidden layer 2 ==")
    t0 = time.perf_counter()
    net = preimage.load(path)  # checked against onnxruntime on random inputs
    print(f"imported {net} in {time.perf_counter() - t0:.2f} s (checked against onnxruntime)")
    x = np.array([0.64, 0.0, 0.0, 0.475, -0.475])  # the centre of property 1's input box
    h1 = net.activations(x, layer=1)
    y2 = net.activations(x, layer=2)
    layer = net.layers[1]
    W, b = layer.dense_weight, layer.bias
    t0 = time.perf_counter()
    D = preimage.dual_basis(W, b, y2)
    P = preimage.layer_preimage(W, b, y2, domain="orthant")
    dt = time.perf_counter() - t0
    print(f"dual basis + preimage of the 50×50 layer: {dt * 1e3:.1f} ms; max |W E - I| = "
          f"{np.abs(W @ D.vectors - np.eye(50)).max():.1e}")
    print(f"activity y2: {int(P.positive.sum())} positive, {int(P.zero.sum())} zero outputs")
    print(f"preimage in the orthant: dimension {P.dim}, empty: {P.is_empty()}, "
          f"contains the true layer-1 activity: {P.contains(h1)}")
    # sample the preimage (bounded by a box around the true activity) and check with onnxruntime
    box = preimage.Box(np.zeros(50), h1 + 5.0)
    pts = P.polyhedron.intersect(box).sample(500, seed=0)
    ours = relu(pts @ W.T + b)
    err_numpy = float(np.abs(ours - y2).max())
    err_ort = _check_with_onnxruntime(path, pts, y2)
    print(f"500 points sampled from the preimage map to y2: max error {err_numpy:.1e} (numpy), "
          f"{err_ort:.1e} (onnxruntime, float32 truncated model)")
    np.savez_compressed(out / "acas_1_1_layer2_dual_basis.npz", vectors=D.vectors, apex=D.apex)
    P.polyhedron.save(out / "acas_1_1_layer2_preimage.npz")
    return {"model": path.name, "input": x, "y2": y2, "dim": P.dim, "positive": int(P.positive.sum()),
            "seconds": dt, "max_error_numpy": err_numpy, "max_error_onnxruntime": err_ort}


def _check_with_onnxruntime(path: Path, H1: np.ndarray, y2: np.ndarray) -> float:
    """Run layer 2 of the original ONNX graph (an independent runtime) on layer-1 activities."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    model = onnx.load(path)
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes = [n for n in g.node if n.name in ("Operation_2_MatMul", "Operation_2_Add", "relu_2")]
    inp = helper.make_tensor_value_info("relu_1", onnx.TensorProto.FLOAT, [None, 50])
    outp = helper.make_tensor_value_info("relu_2", onnx.TensorProto.FLOAT, [None, 50])
    used = [inits[n] for n in ("Operation_2_MatMul_W", "Operation_2_Add_B")]
    sub = helper.make_model(helper.make_graph(nodes, "layer2", [inp], [outp], used),
                            opset_imports=model.opset_import, ir_version=model.ir_version)
    sess = ort.InferenceSession(sub.SerializeToString(), providers=["CPUExecutionProvider"])
    res = sess.run(None, {"relu_1": H1.astype(np.float32)})[0]
    return float(np.abs(res - y2).max())


def engine_example(out: Path) -> dict:
    acas = find_acas()
    if acas is None:
        return {}
    root = acas.parent.parent
    print("\n== The exact engine on ACAS Xu ==")
    import onnxruntime as ort

    net = preimage.load(acas)
    spec1 = preimage.load_vnnlib(root / "vnnlib" / "prop_1.vnnlib")
    box = spec1.cases[0].domain
    x = box.center
    results = {}
    y = net.activations(x, layer=1)
    res = preimage.preimage(net, preimage.Activity(y), layer=1, domain=box)
    print(f"the layer-1 activity of the box centre ({int((y > 0).sum())} of 50 active): {len(res.set)} piece of "
          f"dimension {res.set[0].polyhedron.dim} (22 equations in 5 unknowns: a single input), contains x: "
          f"{res.set.contains(x)}")
    results["activity_layer1_pieces"] = len(res.set)
    # the inputs of property 4's box for which the advisory is "strong left" (output 3 lowest)
    net23 = preimage.load(root / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")
    box4 = preimage.load_vnnlib(root / "vnnlib" / "prop_4.vnnlib").cases[0].domain
    A = np.array([[1.0 if i == 3 else (-1.0 if i == j else 0.0) for i in range(5)] for j in (0, 1, 2, 4)])
    advisory = preimage.Polyhedron(A, np.zeros(4))
    res = preimage.preimage(net23, advisory, domain=box4)
    from scipy.spatial import ConvexHull

    free = box4.widths > 0  # the box is flat in one input: volumes in the others
    volume = sum(ConvexHull(p.vertices()[:, free]).volume for p in res.set)   # exact, from the pieces' vertices
    box_volume = float(np.prod(box4.widths[free]))
    X = box4.sample(200_000, seed=0)
    Y = _onnxruntime_batch(root / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx", X)
    hit = Y.argmin(axis=1) == 3
    print(
        f"network 2_3, box of property 4, advisory 'strong left': {len(res.set)} pieces in {res.stats.seconds:.2f} s, "
        f"exact volume fraction {volume / box_volume:.5f}; onnxruntime on 200,000 samples: {hit.mean():.5f}, "
        f"of which {res.set.contains(X[hit]).mean():.1%} lie in the pieces"
    )
    results["strong_left_pieces"] = len(res.set)
    results["strong_left_volume_fraction"] = volume / box_volume
    res.set.save(out / "acas_2_3_prop4_strong_left.npz")
    R = preimage.linear_regions(net23, box4)
    print(f"network 2_3, box of property 4: {len(R.set)} linear regions in {R.stats.seconds:.2f} s")
    results["regions_2_3_prop_4"] = len(R.set)
    for nid, prop in (("4_9", 2), ("3_3", 3)):
        path = root / "onnx" / f"ACASXU_run2a_{nid}_batch_2000.onnx"
        spec = preimage.load_vnnlib(root / "vnnlib" / f"prop_{prop}.vnnlib")
        v = preimage.verify(preimage.load(path), spec, time_limit=100)
        line = f"network {nid}, property {prop}: {v.status} in {v.stats.seconds:.2f} s"
        if v.status == "sat":
            s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            y = s.run(None, {s.get_inputs()[0].name: v.counterexample.astype(np.float32).reshape(1, 1, 1, 5)})[0]
            line += (f"; counterexample {np.round(v.counterexample, 5)} confirmed by onnxruntime: "
                     f"{spec.is_counterexample(v.counterexample, y.reshape(-1), tol=1e-5)}")
        print(line)
        results[f"verify_{nid}_prop_{prop}"] = v.as_dict()
    return results


def _onnxruntime_batch(path: Path, X: np.ndarray) -> np.ndarray:
    """The original ONNX graph run by onnxruntime on a batch (its batch size 1 made symbolic)."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(path)
    inits = {i.name for i in model.graph.initializer}
    inp = next(i for i in model.graph.input if i.name not in inits)
    for vi in (inp, model.graph.output[0]):
        vi.type.tensor_type.shape.dim[0].dim_param = "N"
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = sess.run(None, {inp.name: X.astype(np.float32).reshape(-1, 1, 1, X.shape[1])})[0]
    return out.reshape(X.shape[0], -1)


def conv_example() -> dict:
    from preimage import conv

    print("\n== A circulant layer (paper 000 §4-5) ==")
    layer = conv.circulant([1.0, -0.5, 0.2], (64,), bias=-0.1)
    E = np.stack([layer.dual_basis_vector(i) for i in range(64)], axis=1)
    C = layer.dense()
    sym = layer.verify_cyclic_symmetry()
    radius = conv.nesting_radius(layer)
    print(f"kernel [1, -0.5, 0.2] on 64 samples, bias -0.1: apex -(b/a)·1 = {layer.apex[0]:.4f}·1 "
          f"(on every hyperplane: {np.abs(C @ layer.apex - 0.1).max():.1e}), angle to the identity line "
          f"{np.degrees(layer.angle):.2f}°, cyclic symmetry deviation {sym.max_deviation:.1e}, "
          f"|C E - I| = {np.abs(C @ E - np.eye(64)).max():.1e} (dual basis by FFT), nesting radius {radius.radius}")
    return {"apex": float(layer.apex[0]), "angle": float(layer.angle), "nesting_radius": radius.radius}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="demo_out", help="folder for the results")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"paper_002_fig3": paper_example(out), "acasxu": acas_example(out),
               "engine": engine_example(out), "circulant": conv_example()}
    with open(out / "summary.json", "w") as fh:
        json.dump(summary, fh, indent=1, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))
    print(f"\nresults saved in {out}/")


if __name__ == "__main__":
    main()
