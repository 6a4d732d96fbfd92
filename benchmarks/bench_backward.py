"""Timings of the two preimage methods: forward enumeration vs the papers' backward procedure.

Run:  .venv/bin/python benchmarks/bench_backward.py [--repeat 3] [--cnn-seconds 60] [--images 2]

Writes ``benchmarks/results/backward.json`` and ``backward.md``. For each case both
``preimage(..., method="forward")`` and ``preimage(..., method="dual-basis")`` run on the same
target and domain; the figures are the median of ``--repeat`` runs (the first call compiles
the engine's kernels outside the clock). Cases:

- random ReLU networks (3 inputs, three hidden layers of 8, box [-1, 1]^3): the layer-3
  activity of a random input, and a box of typical layer-3 activities;
- ACAS Xu network 2_3: the layer-1 and layer-2 activities of random inputs, in a box of
  radius 0.05 around them, and a box target on six layer-2 units (radius 0.02);
- the digits CNN (``examples/models/digits_cnn.onnx``, pixel box [0, 1]^64): the layer-2 and
  layer-3 activity preimages of test images, each method once under ``--cnn-seconds``
  (``near`` = the image), with the piece count over time.

Each case also checks that both sets agree where both complete (every sampled point of
each method's pieces lies in the other's set).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import preimage
from preimage import Activity, Box

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "results" / "backward.json"
ACAS = next((p for p in (ROOT / "benchmarks" / "acasxu", ROOT.parent / "shared" / "benchmarks" / "acasxu")
             if (p / "onnx").is_dir()), None)
METHODS = ("forward", "dual-basis")
GROWTH_AT = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0)


def agree(a, b) -> bool | None:
    """Every sampled point of each result's pieces lies in the other's set (None: not both complete)."""
    if not (a.complete and b.complete):
        return None
    for p, q in ((a, b), (b, a)):
        for piece in p.set:
            if not np.all(q.set.contains(piece.polyhedron.sample(10, seed=0), tol=1e-6)):
                return False
    return True


def timed(net, target, layer, box, repeat, **kw) -> dict:
    row: dict = {}
    results = {}
    for m in METHODS:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = preimage.preimage(net, target, layer=layer, domain=box, method=m, **kw)
            times.append(time.perf_counter() - t0)
        results[m] = res
        row[m] = {"median_s": statistics.median(times), "times_s": times, "pieces": len(res.set),
                  "complete": res.complete, "nodes": res.stats.nodes, "lps": res.stats.lps}
    row["same_set"] = agree(results["forward"], results["dual-basis"])
    return row


def random_cases(repeat: int) -> list[dict]:
    out = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        specs, d = [], 3
        for w in (8, 8, 8):
            specs.append((rng.normal(size=(w, d)), 0.5 * rng.normal(size=w), True))
            d = w
        net = preimage.Network.from_arrays(specs)
        box = Box(-np.ones(3), np.ones(3))
        x = rng.uniform(-1, 1, 3)
        row = timed(net, Activity(net.activations(x, 3)), 3, box, repeat)
        out.append({"case": f"random seed {seed}, 3-8-8-8, layer-3 activity", **row})
        H = net.activations(box.sample(500, seed=seed), 3)
        target = Box(np.quantile(H, 0.3, axis=0) - 0.05, np.quantile(H, 0.8, axis=0) + 0.05)
        row = timed(net, target, 3, box, repeat)
        out.append({"case": f"random seed {seed}, 3-8-8-8, layer-3 box", **row})
    return out


def acas_cases(repeat: int) -> list[dict]:
    if ACAS is None:
        return [{"case": "ACAS Xu", "skipped": "benchmarks/acasxu not found"}]
    net = preimage.load(ACAS / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")
    out = []
    rng = np.random.default_rng(0)
    for i, x in enumerate(rng.uniform(-0.3, 0.3, size=(3, 5))):
        box = Box(x - 0.05, x + 0.05)
        for k in (1, 2):
            row = timed(net, Activity(net.activations(x, k)), k, box, repeat)
            out.append({"case": f"ACAS Xu 2_3, input {i}, layer-{k} activity, box radius 0.05", **row})
    x = np.random.default_rng(7).uniform(-0.3, 0.3, size=5)
    box = Box(x - 0.02, x + 0.02)
    H = net.activations(box.sample(2000, seed=0), 2)
    q_lo, q_hi = np.quantile(H, 0.15, axis=0), np.quantile(H, 0.85, axis=0)
    units = np.argsort(q_hi - q_lo)[-6:]
    lo, hi = np.full(50, -1.0), np.full(50, 1e3)
    lo[units], hi[units] = q_lo[units], q_hi[units]
    row = timed(net, Box(lo, hi), 2, box, repeat)
    out.append({"case": "ACAS Xu 2_3, layer-2 box on six units, box radius 0.02", **row})
    return out


def growth(times: list[float]) -> dict[str, int]:
    t = np.asarray(times)
    return {f"{s:g}s": int(np.count_nonzero(t <= s)) for s in GROWTH_AT}


def cnn_cases(seconds: float, images: int) -> list[dict]:
    spec = importlib.util.spec_from_file_location("train_digits", ROOT / "examples" / "train_digits.py")
    td = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(td)
    X = td.load_split()[1]
    net = preimage.load(ROOT / "examples" / "models" / "digits_cnn.onnx")
    box = Box(np.zeros(64), np.ones(64))
    out = []
    for i in range(images):
        x = X[i]
        for k in (2, 3):
            y = net.activations(x, k)
            what = (f"{np.count_nonzero(y)} of {y.size} units positive" if net.layers[k - 1].relu
                    else f"the {y.size} logits of the linear output layer")
            row: dict = {"case": f"digits CNN, test image {i}, layer-{k} activity ({what}), box [0,1]^64, "
                                 f"budget {seconds:g} s"}
            for m in METHODS:
                stamps: list[float] = []
                t0 = time.perf_counter()

                def note(stats, stamps=stamps):
                    stamps.append((stats.seconds, stats.pieces))
                res = preimage.preimage(net, Activity(y), layer=k, domain=box, method=m, time_limit=seconds,
                                        near=x, progress=note)
                wall = time.perf_counter() - t0
                if m == "dual-basis":
                    found = [float(s) for s in np.asarray(res.info["piece_seconds"])]
                else:  # the forward engine reports (seconds, pieces) through its progress callback
                    found = []
                    for s, p in stamps:
                        found.extend([s] * (p - len(found)))
                    found.extend([wall] * (len(res.set) - len(found)))
                row[m] = {"seconds": wall, "pieces": len(res.set), "complete": res.complete,
                          "stopped_by": res.stopped_by, "nodes": res.stats.nodes, "lps": res.stats.lps,
                          "first_piece_s": found[0] if found else None, "pieces_by_time": growth(found),
                          "contains_image": bool(res.set.contains(x, tol=1e-6)) if len(res.set) else False}
                if m == "dual-basis":
                    first = res.info.get("first_step")
                    row[m]["first_step_form"] = None if first is None else first["form"]
                print(f"  {row['case']} [{m}]: {row[m]['pieces']} pieces, complete={res.complete}", flush=True)
            out.append(row)
    return out


def markdown(data: dict) -> str:
    lines = ["# Forward enumeration vs the papers' backward procedure (`method=\"dual-basis\"`)", "",
             f"Command: `{data['command']}`  ", f"Machine: {data['machine']}", "",
             f"## Timed cases (median of {data['repeat']} runs)", "",
             "| case | forward s | pieces | dual-basis s | pieces | same set |", "|---|---|---|---|---|---|"]
    for r in data["random"] + data["acasxu"]:
        if "skipped" in r:
            lines.append(f"| {r['case']} | skipped: {r['skipped']} | | | | |")
            continue
        f, b = r["forward"], r["dual-basis"]
        lines.append(f"| {r['case']} | {f['median_s']:.4f} | {f['pieces']} | {b['median_s']:.4f} | {b['pieces']} "
                     f"| {r['same_set']} |")
    lines += ["", "## Digits CNN activity preimages under a budget", "",
              "| case | method | complete | pieces | first piece s | pieces by time | contains image |",
              "|---|---|---|---|---|---|---|"]
    for r in data["cnn"]:
        for m in METHODS:
            v = r[m]
            first = "-" if v["first_piece_s"] is None else f"{v['first_piece_s']:.2f}"
            by = ", ".join(f"{t}: {n}" for t, n in v["pieces_by_time"].items())
            lines.append(f"| {r['case']} | {m} | {v['complete']} ({v['stopped_by']}) | {v['pieces']} | {first} "
                         f"| {by} | {v['contains_image']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cnn-seconds", type=float, default=60.0)
    ap.add_argument("--images", type=int, default=2)
    args = ap.parse_args(argv)
    warm = preimage.Network.from_arrays([(np.eye(2), np.zeros(2), True)])
    preimage.preimage(warm, Activity([1.0, 0.0]), domain=Box([-1, -1], [1, 1]))  # compile the kernels
    t0 = time.perf_counter()
    data = {"command": "python benchmarks/bench_backward.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
            "repeat": args.repeat}
    print("random networks", flush=True)
    data["random"] = random_cases(args.repeat)
    print("ACAS Xu", flush=True)
    data["acasxu"] = acas_cases(args.repeat)
    print("digits CNN", flush=True)
    data["cnn"] = cnn_cases(args.cnn_seconds, args.images)
    data["total_s"] = time.perf_counter() - t0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    OUT.with_suffix(".md").write_text(markdown(data))
    print(markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
