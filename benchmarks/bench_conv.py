"""Speed figures of the convolutional geometry (issue 4: circulant layers, cones, nesting).

Run:  .venv/bin/python benchmarks/bench_conv.py [--repeat N]

Writes ``benchmarks/results/conv.json``; every figure is the median of ``--repeat`` runs,
each on a freshly built layer (nothing cached between runs). Targets:
- circulant dual basis (``e_0`` by FFT, invertibility check included) for d = 2^20: < 1 s
- nesting radius for d = 10^6: < 1 s
- literal nesting check (the §5 definition, all subsets up to rotation, by LPs) for d = 8: < 10 s
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

from preimage.conv import circulant, cone_geometry, conv_vs_circulant, literal_nesting, nesting_radius

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
        out[name] = {"kernel": k.tolist(), "bias": b, "radius": R if np.isfinite(R) else "inf",
                     "median_s": med, "runs_s": times, "target_s": 10.0, "nested": res.nested,
                     "no_other_subset": res.no_other_subset, "contains_element": res.contains_element,
                     "operational_holds": nesting_radius(layer).holds_at(R), "orbits": len(res.subsets), "lps": res.lp_count}
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
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    for key in ("dual_basis_2_20", "nesting_radius_10_6", "cone_geometry_2_20"):
        print(f"{key}: {results[key]['median_s'] * 1e3:.1f} ms")
    for name, row in results["literal_nesting_d8"].items():
        if isinstance(row, dict):
            print(f"literal_nesting_d8/{name}: {row['median_s'] * 1e3:.1f} ms ({row['lps']} LPs, nested={row['nested']})")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
