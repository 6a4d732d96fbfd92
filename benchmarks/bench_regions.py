"""Linear regions on 2-D slices through digits test images: preimage vs relucent (issue 6).

Run:  .venv/bin/python benchmarks/bench_regions.py [--slices 5] [--cnn-slices 1] [--repeat 3]

Writes ``benchmarks/results/regions.json``. For every slice (the plane through three random
test images, ``t`` in ``[-margin, 1 + margin]^2``) and layer ``k`` it counts the regions of
the sub-network ``1..k`` twice, on identical networks and slices:

* preimage: :func:`preimage.analysis.slice_regions` (exact, vertex backend, one process);
  the time is the median of ``--repeat`` runs after one warm-up (numba compilation);
* relucent (PyPI; AGPL-3.0 — a benchmark/test dependency only, never imported by the
  library): the same sub-network restricted to the slice — its first layer composed with
  ``x = p0 + D (c + s)``, ``c`` the centre of the ``t``-square — explored by
  ``Complex.bfs(cube_mode="intersect", cube_radius=r)``, which keeps the cells meeting the
  square ``[-r, r]^2`` (certified: ``verify=True``), one worker process.

The counts must be equal. Both models are first passed through
:func:`preimage.analysis.silence_dead_neurons`: the trained MLP has two layer-1 units whose
weights decayed to ~1e-34, whose sign relucent (rightly) refuses to decide in float64
(``AmbiguousGeometryError``); preimage counts the same regions with or without them (checked
and recorded here). relucent is far slower on the CNN (256 + 128 units), so by default the
CNN is compared on ``--cnn-slices`` slices at layer 1 with ``--cnn-margin 0``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import preimage
from preimage.analysis import load_data, silence_dead_neurons, slice_regions
from preimage.analysis.regions import count_by_layer, random_triples

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "regions.json"


# -- relucent on a slice -------------------------------------------------------------------------
def relucent_network(net: preimage.Network, slc: preimage.Slice, layer: int):
    """The sub-network ``1..layer`` on the slice, as a relucent ``ReLUNetwork`` in coordinates
    ``s = t - c`` (``c`` the centre of the slice's square), and the half-width ``r`` of that square."""
    from relucent.model.model import LinearLayer, ReLULayer, ReLUNetwork

    lo, hi = np.asarray(slc.lo), np.asarray(slc.hi)
    half = (hi - lo) / 2
    if not np.allclose(half, half[0], rtol=0, atol=0):
        raise ValueError(f"relucent's cube needs a square slice, got half-widths {half.tolist()}")
    centre = (lo + hi) / 2
    layers = []
    for i, lay in enumerate(net.layers[:layer]):
        W, b = np.array(lay.dense_weight), np.array(lay.bias)
        if i == 0:
            b = W @ (np.asarray(slc.origin) + np.asarray(slc.directions) @ centre) + b
            W = W @ np.asarray(slc.directions)
        layers.append(LinearLayer(np.ascontiguousarray(W), b))
        if lay.relu:
            layers.append(ReLULayer())
    return ReLUNetwork(layers, input_shape=(slc.dim,)), float(half[0])


def relucent_count(net: preimage.Network, slc: preimage.Slice, layer: int, *, nworkers: int = 1,
                   seed: int = 0) -> tuple[int, float, dict]:
    """Number of relucent cells of the sub-network ``1..layer`` meeting the slice's square,
    the seconds the search took, and relucent's search result flags."""
    import relucent

    rnet, r = relucent_network(net, slc, layer)
    rng = np.random.default_rng(seed)
    start = np.zeros(slc.dim)
    for _ in range(10):
        cx = relucent.Complex(rnet)
        t0 = time.perf_counter()
        try:
            res = cx.bfs(start=start, cube_radius=r, cube_mode="intersect", nworkers=nworkers, verbose=0)
        except ValueError as exc:  # the start lies on a hyperplane: move it
            if "hyperplane" not in str(exc):
                raise
            start = rng.uniform(-r, r, size=slc.dim) * 0.5
            continue
        seconds = time.perf_counter() - t0
        return len(cx), seconds, {"complete": bool(res.complete), "verified": bool(res.verified)}
    raise RuntimeError("no start point off the hyperplanes found")


# -- preimage on a slice -------------------------------------------------------------------------
def preimage_count(net: preimage.Network, slc: preimage.Slice, layer: int, repeat: int) -> tuple[int, float, list]:
    slice_regions(net, slc, layer)  # warm-up (numba compilation, caches)
    times, count = [], -1
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = slice_regions(net, slc, layer)
        times.append(time.perf_counter() - t0)
        count = len(res.set)
        assert res.complete
    return count, statistics.median(times), times


def compare(name: str, net: preimage.Network, raw: preimage.Network, X: np.ndarray, triples: np.ndarray,
            layers: list[int], margin: float, repeat: int) -> dict:
    rows = []
    for s, tri in enumerate(triples):
        slc = preimage.Slice.through(X[tri], margin=margin)
        for k in layers:
            ours, med, times = preimage_count(net, slc, k, repeat)
            ours_raw = count_by_layer(slice_regions(raw, slc, k), raw, [k])[k]
            theirs, rsec, flags = relucent_count(net, slc, k)
            row = {
                "slice": s,
                "triple": tri.tolist(),
                "layer": k,
                "preimage_regions": ours,
                "preimage_regions_unsilenced": ours_raw,
                "relucent_regions": theirs,
                "match": ours == theirs,
                "preimage_median_s": med,
                "preimage_runs_s": times,
                "relucent_s": rsec,
                **{f"relucent_{f}": v for f, v in flags.items()},
                "speedup": rsec / med if med > 0 else None,
            }
            rows.append(row)
            print(f"{name} slice {s} layer {k}: preimage {ours} ({med:.3f} s), relucent {theirs} ({rsec:.1f} s)"
                  f" -> {'match' if ours == theirs else 'MISMATCH'}", flush=True)
    return {"margin": margin, "layers": layers, "rows": rows, "all_match": all(r["match"] for r in rows),
            "unsilenced_same": all(r["preimage_regions"] == r["preimage_regions_unsilenced"] for r in rows)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slices", type=int, default=5, help="MLP slices (default 5)")
    ap.add_argument("--cnn-slices", type=int, default=1, help="CNN slices (default 1; relucent is slow there)")
    ap.add_argument("--cnn-layers", default="1", help="CNN layers to compare (default 1)")
    ap.add_argument("--margin", type=float, default=0.25)
    ap.add_argument("--cnn-margin", type=float, default=0.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)

    import relucent

    X, _ = load_data("digits", "test")
    models = {}
    for name in ("mlp", "cnn"):
        raw = preimage.load(ROOT / "examples" / "models" / f"digits_{name}.onnx")
        clean, dead = silence_dead_neurons(raw)
        models[name] = (raw, clean, dead)
    triples = random_triples(X, max(args.slices, args.cnn_slices), args.seed)
    out = {
        "command": "python benchmarks/bench_regions.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "what": "linear regions of the digits models on 2-D slices through 3 test images: preimage vs relucent",
        "platform": platform.platform(), "python": sys.version.split()[0], "numpy": np.__version__,
        "relucent": relucent.__version__, "preimage": preimage.__version__,
        "silenced_units": {name: m[2] for name, m in models.items()},
    }
    t0 = time.perf_counter()
    raw, clean, _ = models["mlp"]
    out["mlp"] = compare("mlp", clean, raw, X, triples[: args.slices], [1, 2], args.margin, args.repeat)
    raw, clean, _ = models["cnn"]
    cnn_layers = [int(v) for v in args.cnn_layers.split(",") if v]
    out["cnn"] = compare("cnn", clean, raw, X, triples[: args.cnn_slices], cnn_layers, args.cnn_margin, args.repeat)
    out["total_s"] = time.perf_counter() - t0
    out["all_match"] = out["mlp"]["all_match"] and out["cnn"]["all_match"]
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}; all counts match: {out['all_match']}")
    return 0 if out["all_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
