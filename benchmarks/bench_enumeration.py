"""Exact enumeration speed: ACAS Xu input boxes and a 2-D slice of a random MLP.

Run:  .venv/bin/python benchmarks/bench_enumeration.py [--repeat 5]

Writes ``benchmarks/results/enumeration.json``. One process, medians of ``--repeat`` runs
after one warm-up run (numba kernels loaded). Reference figures (nnenum, 1 process, this
kind of 2-core machine, from the issue):

- net 2_3, box of prop_4:  1,087 regions in 0.6 s
- net 3_3, box of prop_3:  7,938 regions in 4.8 s
- net 1_1, box of prop_1: 39,835 regions in 23.7 s
- 2-D: MLP 2→64→64→64 (PyTorch default init, seed 0) on [-1, 1]²: 6,668 regions,
  0.25 s by an edge-subdivision method (float32), 2.1 s by nnenum.

"time" is the whole call of :func:`preimage.linear_regions` (the result's pieces are built
on first use); "with pieces" adds building every piece's input-space polyhedron, as the
figures before the result set became lazy did; "search" is the walk alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


import preimage  # noqa: E402
from preimage.specs import load_vnnlib  # noqa: E402

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "enumeration.json"

ACAS_CASES = [("2_3", "prop_4", 1087, 0.6), ("3_3", "prop_3", 7938, 4.8), ("1_1", "prop_1", 39835, 23.7)]


def mlp_2d():
    import torch

    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                            torch.nn.Linear(64, 64), torch.nn.ReLU()).double()
    return preimage.from_torch(m, (2,))


def measure(net, domain, repeat: int) -> dict:
    preimage.linear_regions(net, domain)  # warm-up
    totals, built, searches, counts = [], [], [], set()
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = preimage.linear_regions(net, domain)
        totals.append(time.perf_counter() - t0)
        counts.add(len(res.set.pieces))  # builds every piece
        built.append(time.perf_counter() - t0)
        searches.append(res.stats.seconds)
    assert len(counts) == 1
    n = counts.pop()
    med = statistics.median(totals)
    return {"regions": n, "median_s": med, "runs_s": totals, "median_search_s": statistics.median(searches),
            "median_with_pieces_s": statistics.median(built), "regions_per_s": n / med}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = []
    for nid, prop, ref_regions, ref_s in ACAS_CASES:
        net = preimage.load(ROOT / "acasxu" / "onnx" / f"ACASXU_run2a_{nid}_batch_2000.onnx")
        box = load_vnnlib(ROOT / "acasxu" / "vnnlib" / f"{prop}.vnnlib").cases[0].domain
        r = measure(net, box, args.repeat)
        r.update(
            {
                "case": f"ACAS Xu {nid}, box of {prop}",
                "nnenum_regions": ref_regions,
                "nnenum_s": ref_s,
                "nnenum_regions_per_s": ref_regions / ref_s,
                "speedup_rate": (r["regions_per_s"]) / (ref_regions / ref_s),
            }
        )
        rows.append(r)
        print(f"{r['case']}: {r['regions']} regions (nnenum {ref_regions}) in {r['median_s']:.3f} s "
              f"({r['regions_per_s']:.0f}/s, {r['speedup_rate']:.1f}x nnenum's rate; with pieces built "
              f"{r['median_with_pieces_s']:.3f} s)", flush=True)
    net = mlp_2d()
    r = measure(net, preimage.Box([-1.0, -1.0], [1.0, 1.0]), args.repeat)
    r.update({"case": "2-D: MLP 2-64-64-64 (torch seed 0) on [-1,1]^2", "reference_regions": 6668,
              "reference_s": 0.25, "nnenum_s": 2.1})
    rows.append(r)
    print(f"{r['case']}: {r['regions']} regions in {r['median_s']:.3f} s (search {r['median_search_s']:.3f} s; "
          f"with pieces built {r['median_with_pieces_s']:.3f} s; target <= 0.25 s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": f"python benchmarks/bench_enumeration.py --repeat {args.repeat}",
        "date": time.strftime("%Y-%m-%d"), "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": rows}, indent=1))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
