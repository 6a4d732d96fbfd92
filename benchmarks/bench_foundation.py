"""Speed figures of the foundation (issue: geometry core, import, one-layer geometry).

Run:  .venv/bin/python benchmarks/bench_foundation.py   (or ``make bench``)

Writes ``benchmarks/results/foundation.json``; every figure is the median of ``--repeat``
runs. Targets:
- dual basis + one-layer preimage of a dense 1000×1000 layer: < 0.5 s
- ``contains`` for 10^6 points against a 5-D polyhedron of 300 rows: < 1 s
- a warm feasibility LP on a 5-D polyhedron of 300 rows: < 1 ms
- ``import preimage``: < 0.5 s
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import preimage
from preimage.polyhedra import solver

OUT = Path(__file__).resolve().parent / "results" / "foundation.json"


def median_time(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def bench_dual_basis(repeat: int) -> dict:
    rng = np.random.default_rng(0)
    W = rng.normal(size=(1000, 1000))
    b = rng.normal(size=1000)
    y = np.maximum(W @ np.abs(rng.normal(size=1000)) + b, 0.0)

    def run():
        D = preimage.dual_basis(W, b, y)
        P = preimage.layer_preimage(W, b, y, domain="orthant")
        return D, P

    D, P = run()
    residual = float(np.abs(W @ D.vectors - np.eye(1000)).max())
    med, times = median_time(run, repeat)
    return {"what": "dual_basis + layer_preimage, dense 1000x1000", "median_s": med, "runs_s": times,
            "target_s": 0.5, "max_abs_WE_minus_I": residual, "zero_outputs": int(P.zero.sum())}


def polytope_5d_300(seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(300, 5))
    b = rng.uniform(0.5, 1.5, size=300)
    return preimage.Polyhedron(A, b)


def bench_contains(repeat: int) -> dict:
    P = polytope_5d_300()
    X = np.random.default_rng(1).uniform(-1, 1, size=(1_000_000, 5))
    inside = P.contains(X)
    med, times = median_time(lambda: P.contains(X), repeat)
    return {"what": "contains, 10^6 points, 5-D polyhedron with 300 rows", "median_s": med, "runs_s": times,
            "target_s": 1.0, "fraction_inside": float(inside.mean())}


def bench_warm_lp(repeat: int) -> dict:
    P = polytope_5d_300()
    lp = solver.LinearProgram(P.A, P.b)
    lp.is_feasible()  # cold solve
    rng = np.random.default_rng(2)
    rows = rng.integers(0, 300, size=2000)
    per_solve = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for k, i in enumerate(rows):
            lp.set_upper([i], P.b[i] * (0.5 if k % 2 else 1.0))  # change one constraint, re-decide
            lp.is_feasible()
        per_solve.append((time.perf_counter() - t0) / len(rows))
    return {"what": "warm feasibility LP (one row changed, re-solved), 5-D, 300 rows",
            "median_s": statistics.median(per_solve), "runs_s": per_solve, "target_s": 1e-3}


def bench_import(repeat: int) -> dict:
    code = "import time; t=time.perf_counter(); import preimage; print(time.perf_counter()-t)"
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip()))
    return {"what": "import preimage (fresh interpreter)", "median_s": statistics.median(times),
            "runs_s": times, "target_s": 0.5}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    results = {
        "command": f"python benchmarks/bench_foundation.py --repeat {args.repeat:d}",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "cpus": __import__("os").cpu_count()},
        "date": time.strftime("%Y-%m-%d"),
        "benchmarks": [bench_dual_basis(args.repeat), bench_contains(args.repeat),
                       bench_warm_lp(args.repeat), bench_import(args.repeat)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    for r in results["benchmarks"]:
        ok = "ok " if r["median_s"] < r["target_s"] else "MISS"
        print(f"[{ok}] {r['what']}: median {r['median_s'] * 1e3:.3f} ms (target {r['target_s'] * 1e3:.1f} ms)")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
