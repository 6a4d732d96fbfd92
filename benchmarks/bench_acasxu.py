"""Run the 186 ACAS Xu instances of VNN-COMP and record verdict, time, pieces and nodes.

Run:  .venv/bin/python benchmarks/bench_acasxu.py [--timeout 116] [--only 3_3:2,4_9:2]

Writes ``benchmarks/results/acasxu.csv`` (one row per instance) and prints a summary.
Times are wall-clock seconds of :func:`preimage.verify` in one process (network import and
spec parsing excluded; they are recorded separately), on one core.
"""

from __future__ import annotations

import argparse
import csv
import os
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
ACAS = ROOT / "acasxu"
OUT = ROOT / "results" / "acasxu.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=float, default=None, help="override the per-instance timeout of instances.csv")
    ap.add_argument("--only", default="", help="comma-separated net:prop pairs, e.g. 3_3:2,4_9:2")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = list(csv.reader(open(ACAS / "instances.csv")))
    only = {tuple(s.split(":")) for s in args.only.split(",") if s}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with open(args.out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["network", "property", "status", "time_s", "timeout_s", "pieces", "nodes", "lps",
                    "splits", "pruned", "found_by", "load_s"])
        for onnx_name, prop_name, timeout in rows:
            nid = onnx_name.split("_")[2] + "_" + onnx_name.split("_")[3]
            pid = prop_name.split("_")[1].split(".")[0]
            if only and (nid, pid) not in only:
                continue
            t0 = time.perf_counter()
            net = preimage.load(ACAS / "onnx" / onnx_name)
            spec = load_vnnlib(ACAS / "vnnlib" / prop_name)
            load_s = time.perf_counter() - t0
            limit = float(timeout) if args.timeout is None else args.timeout
            t0 = time.perf_counter()
            v = preimage.verify(net, spec, time_limit=limit)
            dt = time.perf_counter() - t0
            if v.status == "sat":  # confirm the counterexample with onnxruntime
                import onnxruntime as ort

                sess = ort.InferenceSession(str(ACAS / "onnx" / onnx_name), providers=["CPUExecutionProvider"])
                y = sess.run(
                    None, {sess.get_inputs()[0].name: v.counterexample.astype(np.float32).reshape(1, 1, 1, 5)}
                )[0]
                if not spec.is_counterexample(v.counterexample, y.reshape(-1), tol=1e-4):
                    print(f"  WARNING: onnxruntime does not confirm the counterexample of {nid} prop {pid}")
            st = v.stats
            w.writerow([nid, pid, v.status, f"{dt:.3f}", timeout, st.pieces, st.nodes, st.lps, st.splits,
                        st.pruned, v.info.get("found_by", ""), f"{load_s:.3f}"])
            fh.flush()
            results.append((nid, pid, v.status, dt))
            print(f"{nid} prop_{pid}: {v.status:7s} {dt:8.2f} s  nodes {st.nodes}", flush=True)
    decided = [r for r in results if r[2] in ("sat", "unsat")]
    times = [r[3] for r in results]
    print(f"decided {len(decided)}/{len(results)}; sat {sum(r[2] == 'sat' for r in results)}, "
          f"unsat {sum(r[2] == 'unsat' for r in results)}; median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s, total {sum(times):.1f} s")


if __name__ == "__main__":
    sys.exit(main())
