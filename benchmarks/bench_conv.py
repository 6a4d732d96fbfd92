"""Speed figures of the convolutional geometry (issue 4: circulant layers, cones, nesting).

Run:  .venv/bin/python benchmarks/bench_conv.py [--repeat N]

Writes ``benchmarks/results/conv.json``; every figure is the median of ``--repeat`` runs,
each on a freshly built layer (nothing cached between runs). Targets:
- circulant dual basis (``e_0`` by FFT, invertibility check included) for d = 2^20: < 1 s
- nesting radius for d = 10^6: < 1 s
- literal nesting check (the §5 definition, all subsets up to rotation, by LPs) for d = 8: < 10 s
- cell map (every cell of a layer's arrangement in a box of the orthant, with its coordinate
  faces and the contraction verdict) for d <= 8: < 10 s
- contraction profile of 200 digits test images (64 inputs, box [0, 1]^64) through the
  digits CNN and MLP: < 30 s

It also records, once each (budget-bound, not timed against a target): the Fig. 4 pullback
and the exact activity preimages of one digits test image at every layer of the CNN and
the MLP under a per-layer budget.
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
from preimage import Box
from preimage.conv import (
    activity_preimages_by_layer,
    cell_map,
    circulant,
    cone_geometry,
    contraction_profile,
    conv_vs_circulant,
    literal_nesting,
    nesting_radius,
    paper_fig3_identity,
    paper_fig3_wide_cone,
    paper_fig4_pullback,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "results" / "conv.json"


def median_time(fn, repeat: int) -> tuple[float, list[float], object]:
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, value


def bench_dual_basis(repeat: int) -> dict:
    d = 1 << 20
    k = np.array([1.0, -0.4, 0.25, -0.1, 0.05])

    def run():
        layer = circulant(k, d, bias=-0.1)
        return layer, layer.dual_vector()

    med, times, (layer, e0) = median_time(run, repeat)
    delta = np.zeros(d)
    delta[0] = 1.0
    residual = float(np.abs(layer.matvec(e0) - delta).max())
    return {"what": "circulant dual basis e_0 (FFT, with the invertibility check), d = 2^20, kernel of 5",
            "d": d, "median_s": med, "runs_s": times, "target_s": 1.0, "max_abs_C_e0_minus_delta0": residual}


def bench_nesting_radius(repeat: int) -> dict:
    d = 10**6
    k = np.array([1.0, 0.3, -0.2, 0.1, 0.05])

    def run():
        return nesting_radius(circulant(k, d, bias=-0.45))

    med, times, r = median_time(run, repeat)
    return {"what": "nesting radius (closed form, layer construction included), d = 10^6", "d": d,
            "median_s": med, "runs_s": times, "target_s": 1.0, "radius": r.radius}


def bench_literal(repeat: int) -> dict:
    out = {}
    cases = {
        "orthant_nested": (np.array([1.0, -0.4, -0.3]), -0.2, float("inf")),
        "box_radius_0.5x": (np.array([1.0, 0.3, -0.2]), -0.3, None),
    }
    for name, (k, b, R) in cases.items():
        layer = circulant(k, 8, bias=b)
        if R is None:
            R = 0.5 * nesting_radius(layer).radius

        def run(k=k, b=b, R=R):
            return literal_nesting(circulant(k, 8, bias=b), R)

        med, times, res = median_time(run, repeat)
        out[name] = {
            "kernel": k.tolist(),
            "bias": b,
            "radius": R if np.isfinite(R) else "inf",
            "median_s": med,
            "runs_s": times,
            "target_s": 10.0,
            "nested": res.nested,
            "no_other_subset": res.no_other_subset,
            "contains_element": res.contains_element,
            "operational_holds": nesting_radius(layer).holds_at(R),
            "orbits": len(res.subsets),
            "lps": res.lp_count,
        }
    return {"what": "literal nesting check (paper 000 §5), d = 8, subsets up to rotation", "d": 8, **out}


def bench_cone_summary(repeat: int) -> dict:
    d = 1 << 20
    k = np.array([1.0, -0.5, 0.2])

    def run():
        return cone_geometry(circulant(k, d, bias=-0.1))

    med, times, g = median_time(run, repeat)
    return {"what": "cone_geometry (apex, angle, invertibility, symmetry check by structure, nesting), d = 2^20",
            "d": d, "median_s": med, "runs_s": times, "symmetry_max_deviation": g.symmetry.max_deviation}


def bench_conv_vs_circulant(repeat: int) -> dict:
    k = [-0.3, 1.0, 0.2]
    rows = []
    for d in (64, 1024, 16384):
        med, times, r = median_time(lambda d=d: conv_vs_circulant(k, d, "same", bias=-0.5), repeat)
        rows.append({"d": d, "median_s": med, "boundary_fraction": r.boundary_fraction,
                     "relative_frobenius": r.relative_frobenius, "apex_relative_distance": r.apex_relative_distance,
                     "max_angle_difference": r.max_angle_difference})
    return {"what": "real zero-padded convolution vs its circulant, kernel [-0.3, 1, 0.2]", "rows": rows}


def bench_cell_map(repeat: int) -> dict:
    out = {}
    med, times, cm = median_time(paper_fig3_identity, repeat)
    out["fig3_identity_d3"] = {"median_s": med, "runs_s": times, "cells": len(cm), "contracts": cm.contracts}
    med, times, cm = median_time(paper_fig3_wide_cone, repeat)
    out["fig3_wide_cone_d3"] = {"median_s": med, "runs_s": times, "cells": len(cm), "contracts": cm.contracts,
                                "failing_cells": len(cm.failing_cells)}
    k, b = np.array([1.0, -0.3, 0.2]), -0.2
    for d in (6, 8):
        R = nesting_radius(circulant(k, d, bias=b)).radius
        for label, r in (("0.5x", 0.5 * R), ("2x", 2.0 * R)):
            def run(d=d, r=r):
                L = circulant(k, d, bias=b)
                return cell_map(np.array(L.dense()), np.full(d, b), Box(np.zeros(d), np.full(d, r)))

            med, times, cm = median_time(run, repeat)
            out[f"circulant_d{d}_radius_{label}"] = {
                "kernel": k.tolist(), "bias": b, "box": [0.0, r], "median_s": med, "runs_s": times, "target_s": 10.0,
                "cells": len(cm), "faces": sum(len(c.faces) for c in cm), "contracts": cm.contracts,
                "zeros_preserved": cm.zeros_preserved, "failing_cells": len(cm.failing_cells)}
    return {"what": "cell map: every cell of one layer's arrangement in a box of the orthant, with its "
                    "coordinate faces and the contraction verdict (engine + vertices)", **out}


def _digits():
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_digits", ROOT / "examples" / "train_digits.py")
    td = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(td)
    return td.load_split()[1]


def bench_contraction(repeat: int, X_test: np.ndarray) -> dict:
    out = {}
    box = Box(np.zeros(64), np.ones(64))
    X = X_test[:200]
    for name in ("cnn", "mlp"):
        net = preimage.load(ROOT / "examples" / "models" / f"digits_{name}.onnx")
        med, times, p = median_time(lambda net=net: contraction_profile(net, X, domain=box), repeat)
        d = p.to_dict()
        out[name] = {"widths": list(net.widths), "median_s": med, "runs_s": times, "target_s": 30.0,
                     "fraction_non_increasing": d["fraction_non_increasing"], "step_fractions": d["step_fractions"],
                     "mean_nonzero": [L["mean_nonzero"] for L in d["layers"]],
                     "mean_local_dim": [L["mean_local_dim"] for L in d["layers"]],
                     "lp_route": [L["lp_route"] for L in d["layers"]],
                     "on_region_boundary": [L["on_region_boundary"] for L in d["layers"]],
                     "undecided": [L["undecided"] for L in d["layers"]]}
    return {"what": "contraction profile of the first 200 digits test images in [0, 1]^64", "n_samples": 200, **out}


def bench_fig4(repeat: int) -> dict:
    med, times, man = median_time(paper_fig4_pullback, repeat)
    return {"what": "pullback of the plane y1 + y2 + y3 = 0.5 through the Fig. 4 network on [0, 1]^3 (engine, "
                    "piece dimensions, gluing graph)", "median_s": med, "runs_s": times, "pieces": len(man),
            "gluings": len(man.gluings), "by_target_dim": {str(k): len(v) for k, v in man.by_target_dim().items()},
            "connected": man.is_connected(), "complete": man.complete}


def bench_activity_preimages(X_test: np.ndarray) -> dict:
    out = {}
    box = Box(np.zeros(64), np.ones(64))
    for name in ("cnn", "mlp"):
        net = preimage.load(ROOT / "examples" / "models" / f"digits_{name}.onnx")
        r = activity_preimages_by_layer(net, X_test[0], box, time_limit_per_layer=5.0, max_pieces=50)
        out[name] = r.to_dict()
    return {"what": "exact activity preimage of digits test image 0 at every layer, box [0, 1]^64, budget "
                    "5 s and 50 pieces per layer (complete=false: the budget ran out, pieces = what was found)",
            **out}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    results = {
        "command": f".venv/bin/python benchmarks/bench_conv.py --repeat {args.repeat}",
        "repeat": args.repeat,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "dual_basis_2_20": bench_dual_basis(args.repeat),
        "nesting_radius_10_6": bench_nesting_radius(args.repeat),
        "literal_nesting_d8": bench_literal(args.repeat),
        "cone_geometry_2_20": bench_cone_summary(args.repeat),
        "conv_vs_circulant": bench_conv_vs_circulant(max(1, args.repeat // 2)),
        "cell_map": bench_cell_map(args.repeat),
        "fig4_pullback": bench_fig4(max(1, args.repeat // 2)),
    }
    X_test = _digits()
    results["contraction_profile_digits"] = bench_contraction(max(1, args.repeat // 2), X_test)
    results["activity_preimages_digits"] = bench_activity_preimages(X_test)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    for key in ("dual_basis_2_20", "nesting_radius_10_6", "cone_geometry_2_20"):
        print(f"{key}: {results[key]['median_s'] * 1e3:.1f} ms")
    for name, row in results["literal_nesting_d8"].items():
        if isinstance(row, dict):
            print(
                f"literal_nesting_d8/{name}: {row['median_s'] * 1e3:.1f} ms ({row['lps']} LPs, nested={row['nested']})"
            )
    for name, row in results["cell_map"].items():
        if isinstance(row, dict):
            print(f"cell_map/{name}: {row['median_s'] * 1e3:.1f} ms "
                  f"({row['cells']} cells, contracts={row['contracts']})")
    fig4 = results["fig4_pullback"]
    print(f"fig4_pullback: {fig4['median_s'] * 1e3:.1f} ms ({fig4['pieces']} pieces)")
    for name in ("cnn", "mlp"):
        row = results["contraction_profile_digits"][name]
        print(f"contraction_profile_digits/{name}: {row['median_s']:.2f} s for 200 images")
        layers = results["activity_preimages_digits"][name]["layers"]
        print(f"activity_preimages_digits/{name}: " + ", ".join(
            f"layer {L['layer']}: {L['pieces']} pieces{'' if L['complete'] else ' (incomplete)'}, "
            f"local dim {L['local_dim']}" for L in layers))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
