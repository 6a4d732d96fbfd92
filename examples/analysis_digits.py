"""Paper 002 §4 on a real data set: class mixing, natural preimages and linear regions of the
shipped digits models (``examples/models/digits_{mlp,cnn}.onnx``).

Run with ``python examples/analysis_digits.py [--out demo_out/analysis_digits] [--quick]``.
It prints the tables and writes under ``--out``:

- ``mixing_{mlp,cnn}.json`` / ``mixing_{mlp,cnn}.png`` — per layer: test images of different
  classes with identical activity (irreversibly mixed), the dimension of each image's local
  preimage (the piece of its activity's preimage that contains it) and its distance to the
  nearest test image of another class (histograms);
- ``invert_{model}_{regulariser}_{index}.png`` and ``inversions.json`` — exact-constrained
  natural preimages (activity reproduced exactly, L2 distance to the training mean or total
  variation minimised over the preimage) against gradient-based inversion à la Mahendran &
  Vedaldi, per layer;
- ``regions.json`` / ``regions_slices.png`` — linear regions in random 2-D slices through
  triples of test images, per layer and architecture, and one slice coloured by region;
- ``summary.json`` — all tables.

``--quick`` uses fewer images, slices and a shorter enumeration budget (about a minute).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import preimage
from preimage.analysis import (
    class_mixing,
    compare_inversions,
    load_data,
    plot_inversions,
    plot_mixing,
    plot_slice_regions,
    region_counts,
    slice_regions,
)

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"


def fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def print_table(rows: list[dict], keys: list[str]) -> None:
    widths = [max(len(k), *(len(fmt(r.get(k))) for r in rows)) for k in keys]
    print("  " + "  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for r in rows:
        print("  " + "  ".join(fmt(r.get(k)).rjust(w) for k, w in zip(keys, widths)))


def mixing(nets: dict, X, y, out: Path, n: int) -> dict:
    print(f"== Class mixing on {n} digits test images ==")
    res = {}
    for name, net in nets.items():
        t0 = time.perf_counter()
        rep = class_mixing(net, X[:n], y[:n])
        print(f"{name} ({time.perf_counter() - t0:.1f} s):")
        print_table(rep.table(), ["layer", "width", "distinct_activities", "identical_cross_class_pairs",
                                  "near_cross_class_pairs", "dim_min", "dim_median", "dim_max",
                                  "distance_min", "distance_median", "qps"])
        (out / f"mixing_{name}.json").write_text(json.dumps(rep.to_dict()) + "\n")
        plot_mixing(rep, out=out / f"mixing_{name}.png")
        res[name] = rep.table()
    return res


def inversions(nets: dict, X, y, mean, out: Path, indices: list[int], time_limit: float, steps: int) -> dict:
    print(f"== Natural preimages of test images {indices} (exact vs gradient-based) ==")
    res = {}
    for name, net in nets.items():
        for reg in ("l2", "tv"):
            for i in indices:
                cmp = compare_inversions(net, X[i], None, reg, reference=mean if reg == "l2" else None,
                                         time_limit=time_limit, steps=steps)
                plot_inversions(cmp, out=out / f"invert_{name}_{reg}_{i}.png")
                rows = cmp.table()
                print(f"{name}, {reg}, image {i} (class {y[i]}):")
                print_table(rows, ["layer", "exact_activity_error", "exact_value", "exact_complete", "exact_pieces",
                                   "gradient_activity_error", "gradient_reached", "gradient_value", "comparable",
                                   "original_value"])
                res[f"{name}/{reg}/{i}"] = rows
    (out / "inversions.json").write_text(json.dumps(res) + "\n")
    return res


def regions(nets: dict, X, out: Path, n_slices: int) -> dict:
    print(f"== Linear regions on {n_slices} random slices through 3 test images ==")
    st = region_counts(nets, X, n_slices=n_slices, seed=0)
    print_table(st.table(), ["model", "layer", "slices", "mean", "median", "min", "max", "seconds_per_slice"])
    (out / "regions.json").write_text(json.dumps(st.to_dict()) + "\n")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2)
    for r, (name, net) in enumerate(nets.items()):
        for c, k in enumerate((1, 2)):
            res = slice_regions(net, X[st.triples[0]], k)
            plot_slice_regions(res, ax=axes[r, c])
            axes[r, c].set_title(f"{name}, layers 1..{k}: {len(res.set)} regions", fontsize=9)
    fig.savefig(out / "regions_slices.png", dpi=120)
    return {"table": st.table(), "triples": st.triples.tolist()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="demo_out/analysis_digits", help="output folder")
    ap.add_argument("--quick", action="store_true", help="fewer images and slices, shorter budgets")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_data("digits", "test")
    mean = load_data("digits", "train")[0].mean(axis=0)
    nets = {name: preimage.load(MODELS / f"digits_{name}.onnx") for name in ("mlp", "cnn")}
    t0 = time.perf_counter()
    summary = {
        "mixing": mixing(nets, X, y, out, 60 if args.quick else len(y)),
        "inversions": inversions(nets, X, y, mean, out, [0] if args.quick else [0, 3],
                                 2.0 if args.quick else 10.0, 500 if args.quick else 2000),
        "regions": regions(nets, X, out, 3 if args.quick else 20),
    }
    summary["seconds"] = time.perf_counter() - t0
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"done in {summary['seconds']:.0f} s; results in {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
