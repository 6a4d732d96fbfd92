"""Exact minimal adversarial distortions (L∞) with :func:`preimage.robustness_radius`.

Run:  .venv/bin/python benchmarks/bench_nearest.py [--points 20] [--acas-time-limit 15] [--digits-time-limit 15]
      [--acas 1_1,2_1,3_3] [--acas-milp-points 5] [--mnist-fc 0]

* ACAS Xu (VNN-COMP onnx files, found as ``bench_acasxu.py`` finds them): for each network,
  ``--points`` inputs drawn uniformly (seed 0) from the **property-1 input box** (the box of
  ``prop_1.vnnlib``, in the networks' normalised coordinates), which is also the domain. The
  advisory of ACAS Xu is the output with the *smallest* score, so the radius is that of the
  network with its last layer negated (``argmax`` of ``−y`` is the ``argmin`` of ``y``).
  ``method="auto"`` picks the engine's pieces (5 inputs); the first ``--acas-milp-points``
  points of the first network are also run with ``method="milp"`` (HiGHS). Adversarial inputs
  are confirmed by onnxruntime on the original file (its argmin).
* The digits MLP (``examples/models/digits_mlp.onnx``, 64-32-16-10): the first ``--points``
  test images of its split (``digits_models.json``: ``load_digits``, ``X / 16``), domain
  ``[0, 1]^64``, label = the predicted class; ``method="auto"`` picks the MILP (64 inputs).

* Optionally (``--mnist-fc N``) a VNN-COMP ``mnist_fc``-style 784-256-256-10 net trained here
  on the digits upsampled to 28×28 (see :func:`mnist_fc`), ``N`` test images, the MILP.

Each point gets its time limit (seconds, the whole call); an incomplete answer is counted with its gap. Writes
``benchmarks/results/nearest.json`` and ``nearest.md``. One process, one core
(``OMP_NUM_THREADS=1``); HiGHS's MIP solver is serial here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import preimage  # noqa: E402
from preimage.specs import load_vnnlib  # noqa: E402

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
OUT = ROOT / "results" / "nearest.json"
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "examples"))


def acas_dir() -> Path:
    from conftest import acasxu_dir  # the benchmarks' one place that knows where the files lie

    d = acasxu_dir()
    if d is None:
        raise SystemExit("the ACAS Xu benchmark is missing; set PREIMAGE_ACASXU")
    return d


def negated(net: preimage.Network) -> preimage.Network:
    """``net`` with its last (linear) layer negated: argmax of the new net = argmin of the old."""
    layers = [(lay.dense_weight, lay.bias, lay.activation) for lay in net.layers]
    W, b, act = layers[-1]
    layers[-1] = (-np.asarray(W), -np.asarray(b), act)
    return preimage.Network.from_arrays(layers)


def run_points(name: str, net: preimage.Network, X: np.ndarray, domain: preimage.Box, limit: float,
               method: str = "auto", confirm=None) -> dict:
    """``confirm(x) -> class``: an independent forward pass (onnxruntime) of the adversarial."""
    rows = []
    for i, x in enumerate(X):
        label = int(np.argmax(net.forward(x)))
        t0 = time.perf_counter()
        res = preimage.robustness_radius(net, x, label=label, norm="linf", domain=domain, time_limit=limit,
                                         method=method)
        dt = time.perf_counter() - t0
        ok = res.adversarial is not None and int(np.argmax(net.forward(res.adversarial))) != label
        if ok and confirm is not None:
            ok = confirm(res.adversarial) != label
        rows.append({"point": i, "label": label, "radius": res.distance, "lower_bound": res.lower_bound,
                     "complete": res.complete, "seconds": dt, "milps": res.stats["milps"],
                     "nodes": res.stats["nodes"], "pieces": res.stats.get("pieces", 0),
                     "adversarial_confirmed": ok})
        print(f"{name} [{method}] #{i:2d}: radius {res.distance:.6g} (lb {res.lower_bound:.6g}, complete "
              f"{res.complete}) {dt:7.2f} s, {res.stats['milps']} MILPs, {res.stats['nodes']} nodes, "
              f"{res.stats.get('pieces', 0)} pieces, adversarial confirmed {ok}", flush=True)
    times = [r["seconds"] for r in rows]
    done = [r for r in rows if r["complete"]]
    radii = [r["radius"] for r in done if np.isfinite(r["radius"])]
    return {"network": name, "method": method, "time_limit_s": limit, "points": len(rows), "complete": len(done),
            "median_s": statistics.median(times), "max_s": max(times), "total_s": sum(times),
            "median_radius": statistics.median(radii) if radii else None,
            "min_radius": min(radii) if radii else None, "max_radius": max(radii) if radii else None,
            "no_adversarial_in_domain": sum(1 for r in done if not np.isfinite(r["radius"])),
            "all_adversarials_confirmed": all(r["adversarial_confirmed"] for r in rows
                                              if np.isfinite(r["radius"])),
            "rows": rows}


def acas(ids: list[str], n: int, limit: float, milp_points: int) -> list[dict]:
    import onnxruntime as ort

    d = acas_dir()
    spec = load_vnnlib(d / "vnnlib" / "prop_1.vnnlib")
    box = spec.cases[0].domain
    assert isinstance(box, preimage.Box)
    out = []
    for nid in ids:
        path = d / "onnx" / f"ACASXU_run2a_{nid}_batch_2000.onnx"
        net = negated(preimage.load(path))
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        def confirm(x: np.ndarray, sess=sess) -> int:  # the advisory (argmin), onnxruntime, original file
            y = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32).reshape(1, 1, 1, 5)})[0]
            return int(np.argmin(y.reshape(-1)))

        X = np.random.default_rng(0).uniform(box.lo, box.hi, size=(n, 5))
        out.append(run_points(f"ACAS Xu {nid}", net, X, box, limit, "auto", confirm))
        if milp_points and nid == ids[0]:  # the same points through the MILP (HiGHS)
            out.append(run_points(f"ACAS Xu {nid}", net, X[:milp_points], box, limit, "milp", confirm))
    return out


def digits(n: int, limit: float) -> dict:
    from train_digits import load_split

    net = preimage.load(REPO / "examples" / "models" / "digits_mlp.onnx")
    _, X_test, _, _ = load_split()
    return run_points("digits MLP", net, X_test[:n], preimage.Box(np.zeros(64), np.ones(64)), limit)


def mnist_fc(n: int, limit: float, epochs: int) -> dict:
    """A VNN-COMP ``mnist_fc``-style 784-256-256-10 ReLU MLP, trained here (seed 0, Adam, one
    thread) on the digits split upsampled to 28×28 (``scipy.ndimage.zoom``, linear, clipped
    to [0, 1]); domain ``[0, 1]^784``; the first ``n`` test images."""
    import torch
    from scipy.ndimage import zoom
    from train_digits import load_split

    torch.manual_seed(0)
    torch.set_num_threads(1)
    X_train, X_test, y_train, y_test = load_split()

    def up(X: np.ndarray) -> np.ndarray:
        return np.clip(zoom(X.reshape(-1, 8, 8), (1, 3.5, 3.5), order=1), 0.0, 1.0).reshape(-1, 784)

    Xtr, Xte = up(X_train), up(X_test)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                torch.nn.ReLU(), torch.nn.Linear(256, 10)).double()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.tensor(Xtr), torch.tensor(y_train)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(yt))
        for i in range(0, len(yt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    train_s = time.perf_counter() - t0
    net = preimage.from_torch(model, input_shape=(784,))
    acc = float(np.mean(np.argmax(net.forward(Xte), axis=1) == y_test))
    print(f"mnist_fc-style net: trained in {train_s:.1f} s, test accuracy {acc:.4f}", flush=True)
    out = run_points("mnist_fc-style 784-256-256-10", net, Xte[:n], preimage.Box(np.zeros(784), np.ones(784)), limit)
    out.update({"train_seconds": train_s, "test_accuracy": acc, "epochs": epochs})
    return out


def write_md(path: Path, results: list[dict], args: argparse.Namespace) -> None:
    lines = ["# Exact minimal L∞ adversarial distortions (robustness_radius, HiGHS)", "",
             f"`{' '.join(sys.argv)}` — {args.points} points per network, at most {args.acas_time_limit:g} s "
             f"(ACAS Xu) / {args.digits_time_limit:g} s (digits) per point, one core.", "",
             "| network | method | points | complete | median s | max s | radius median | radius min–max |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        rad = "—" if r["median_radius"] is None else f"{r['median_radius']:.4g}"
        rng = "—" if r["min_radius"] is None else f"{r['min_radius']:.4g}–{r['max_radius']:.4g}"
        lines.append(f"| {r['network']} | {r['method']} | {r['points']} | {r['complete']} | {r['median_s']:.2f} | "
                     f"{r['max_s']:.2f} | {rad} | {rng} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--acas-time-limit", type=float, default=15.0)
    ap.add_argument("--digits-time-limit", type=float, default=15.0)
    ap.add_argument("--acas", default="1_1,2_1,3_3")
    ap.add_argument("--acas-milp-points", type=int, default=5, help="points of the first ACAS net also run "
                    "with method='milp'")
    ap.add_argument("--mnist-fc", type=int, default=0, help="also this many points of a 784-256-256-10 net")
    ap.add_argument("--mnist-fc-time-limit", type=float, default=60.0)
    ap.add_argument("--mnist-fc-epochs", type=int, default=20)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    t0 = time.perf_counter()
    results = acas([s for s in args.acas.split(",") if s], args.points, args.acas_time_limit, args.acas_milp_points)
    results.append(digits(args.points, args.digits_time_limit))
    if args.mnist_fc:
        results.append(mnist_fc(args.mnist_fc, args.mnist_fc_time_limit, args.mnist_fc_epochs))
    total = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"command": " ".join(sys.argv), "points": args.points, "acas_time_limit_s": args.acas_time_limit,
            "digits_time_limit_s": args.digits_time_limit,
            "total_s": total, "python": platform.python_version(), "machine": platform.machine(),
            "acas_domain": "property-1 input box of prop_1.vnnlib (normalised inputs); last layer negated",
            "digits_domain": "[0, 1]^64, first test images of digits_models.json's split"}
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    write_md(args.out.with_suffix(".md"), results, args)
    for r in results:
        print(f"{r['network']} [{r['method']}]: {r['complete']}/{r['points']} complete, median {r['median_s']:.2f} s, "
              f"max {r['max_s']:.2f} s, radius median {r['median_radius']}")
    print(f"total {total:.1f} s")


if __name__ == "__main__":
    main()
