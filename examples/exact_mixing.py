"""Class mixing measured exactly (paper 002 §4) on the digits MLP, the digits CNN and the MNIST-1D CNN.

For each model, layer k and pair (a, b) of test examples — b among the ``--pairs`` nearest
examples of another class and of a's own class — the exact distance from b to the whole
preimage of a's layer-k activity (``preimage.analysis.exact_mixing.exact_class_mixing``,
one ``preimage.nearest`` MILP per pair and layer, ``--time-limit`` seconds each; a call that
reaches it is reported as a certified interval). Writes, under ``--gallery`` (default
``docs/gallery``):

- ``mixing_<model>_distances.png`` — per-layer distributions (same-class vs other-class) and
  the fraction of examples whose preimage comes within ε of another class, per layer;
- ``mixing_<model>_members.png`` — a, b and the nearest preimage members, per layer;
- ``exact_mixing.json`` — every figure (tables, per-pair intervals, settings, seconds).

Run from the repository root::

    python examples/exact_mixing.py                 # about 10 minutes on one core
    python examples/exact_mixing.py --models digits_mlp --n 10
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODELS = ("digits_mlp", "digits_cnn", "mnist1d_cnn")
#: seconds per nearest() call: the CNNs' deeper layers need budgets (HiGHS, hundreds of ReLUs)
TIME_LIMITS = {"digits_mlp": 10.0, "digits_cnn": 3.0, "mnist1d_cnn": 3.0}


def _mnist1d():
    spec = importlib.util.spec_from_file_location("train_mnist1d", HERE / "train_mnist1d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(model: str):
    """``(net, X_test, y_test, domain, image_shape, domain text)`` of one model."""
    import preimage
    from preimage.analysis import load_data

    if model.startswith("digits"):
        net = preimage.load(str(HERE / "models" / f"{model}.onnx"))
        X, y = load_data("digits", "test")
        return net, X, y, "unit", (8, 8), "[0, 1]^64 (the pixel range)"
    tm = _mnist1d()
    X_train, X_test, _, y_test = tm.load_split()
    lo, hi = float(X_train.min()), float(X_train.max())
    dom = preimage.Box(np.full(X_test.shape[1], lo), np.full(X_test.shape[1], hi))
    return tm.load_network(), X_test, y_test, dom, None, f"[{lo:.3f}, {hi:.3f}]^40 (the training data's range)"


def pictured_rows(report) -> list[int]:
    """Three other-class pairs: the nearest, the median and the farthest at the last hidden layer."""
    lm = report.layers[-2] if len(report.layers) > 1 else report.layers[-1]
    cross = np.flatnonzero(lm.pairs[:, 2] == 0)
    order = cross[np.argsort(lm.upper[cross], kind="stable")]
    return [int(order[0]), int(order[len(order) // 2]), int(order[-1])]


def run(model: str, n: int, pairs: int, time_limit: float, norm: str, gallery: Path) -> dict:
    from preimage.analysis.exact_mixing import exact_class_mixing, plot_exact_mixing, plot_nearest_members

    net, X, y, dom, shape, dom_text = load(model)
    X, y = X[:n], y[:n]
    t0 = time.perf_counter()
    rep = exact_class_mixing(net, X, y, domain=dom, norm=norm, pairs=pairs, time_limit=time_limit,
                             progress=lambda k, d, m: print(f"\r  {model} layer {k}: {d}/{m}", end="", flush=True))
    print(f"\r  {model}: {time.perf_counter() - t0:.1f} s" + " " * 20)
    for row in rep.table():
        c, s = row["cross"], row["same"]
        print(f"  layer {row['layer']}: other-class median {c['upper']['median']:.4g} ({c['incomplete']} "
              f"intervals), same-class median {s['upper']['median']:.4g} ({s['incomplete']} intervals); within ε: "
              + ", ".join(f"{w['eps']:.3g}: {w['proven']:.2f}–{w['possible']:.2f}" for w in row["within_eps"]))
    gallery.mkdir(parents=True, exist_ok=True)
    plot_exact_mixing(rep, gallery / f"mixing_{model}_distances.png",
                      title=f"{model}: {n} test examples, {pairs} neighbour(s) of each kind, {norm}")
    rows = pictured_rows(rep)
    plot_nearest_members(rep, X, rows, gallery / f"mixing_{model}_members.png", image_shape=shape,
                         title=f"{model}: the member of P_k(h_k(a)) nearest to b ({norm})")
    out = rep.to_dict()
    out.update(domain=dom_text, pictured_pairs=rows, test_examples=f"the first {n} of the test split")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated models (default: all three)")
    ap.add_argument("--n", type=int, default=20, help="test examples per model (default 20)")
    ap.add_argument("--pairs", type=int, default=1, help="neighbours of each kind per example (default 1)")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per nearest() call (default: per model)")
    ap.add_argument("--norm", default="linf", choices=["linf", "l1", "l2"])
    ap.add_argument("--gallery", default=str(ROOT / "docs" / "gallery"), help="where pictures and json go")
    args = ap.parse_args(argv)
    gallery = Path(args.gallery)
    results = {}
    for model in [m for m in args.models.split(",") if m]:
        if model not in MODELS:
            print(f"unknown model {model!r}; choose from {MODELS}", file=sys.stderr)
            return 2
        tl = args.time_limit if args.time_limit is not None else TIME_LIMITS[model]
        results[model] = run(model, args.n, args.pairs, tl, args.norm, gallery)
    path = gallery / "exact_mixing.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update(results)
    path.write_text(json.dumps(old, indent=1))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
