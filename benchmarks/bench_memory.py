"""Peak memory of region enumeration, measured from outside the process.

``preimage regions MODEL --domain PROP.vnnlib --out R.npz`` runs as a subprocess; its peak
resident set size is read from the kernel when it ends (``getrusage(RUSAGE_CHILDREN)``,
one fresh child per run, so the figure is that process's own maximum). Cases: the
1,087-region box of ACAS Xu 2_3 / prop_4 (the baseline) and the 341,669-region box of
3_3 / prop_2. Also recorded: the result file's size, and the peak RSS of a fresh process
that reads every region back from it (``load_geometry(path, lazy=True)``, memory-mapped).

    python benchmarks/bench_memory.py [--repeat 3]

Writes ``benchmarks/results/memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ACAS = ROOT / "benchmarks" / "acasxu"
CASES = [("2_3", "prop_4", 1087), ("3_3", "prop_2", 341669)]


def peak_rss_mb(argv: list[str]) -> tuple[float, str]:
    """Run ``argv`` in a fresh child (via a tiny launcher, so the figure is that child's own)."""
    launcher = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(p.returncode);"
                "sys.stdout.write(p.stdout)")
    out = subprocess.run([sys.executable, "-c", launcher, *argv], capture_output=True, text=True, check=True)
    kb, rc, *rest = out.stdout.splitlines()
    if int(rc) != 0:
        raise SystemExit(f"{argv} exited with {rc}")
    return int(kb) / 1024.0, "\n".join(rest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "memory.json"))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for nid, prop, expected in CASES:
            result = Path(tmp) / f"{nid}.npz"
            argv = [
                sys.executable,
                "-m",
                "preimage",
                "regions",
                str(ACAS / "onnx" / f"ACASXU_run2a_{nid}_batch_2000.onnx"),
                "--domain",
                str(ACAS / "vnnlib" / f"{prop}.vnnlib"),
                "--out",
                str(result),
                "--json",
                "--quiet",
            ]
            peaks = []
            for _ in range(args.repeat):
                mb, stdout = peak_rss_mb(argv)
                peaks.append(mb)
                report = json.loads(stdout)
                assert report["complete"] and report["pieces"] == expected, report
                with np.load(result) as z:
                    assert z["A_offsets"].shape[0] - 1 == expected
            # every region retrievable afterwards: a fresh process reads them all from the file, lazily
            reader = ("import sys, preimage; S = preimage.load_geometry(sys.argv[1], lazy=True); "
                      "n = sum(1 for p in S if p.pattern is not None and p.polyhedron.A.shape[1] == S.ambient_dim); "
                      "print(n)")
            read_mb, read_out = peak_rss_mb([sys.executable, "-c", reader, str(result)])
            assert int(read_out.strip()) == expected
            rows.append({"case": f"ACAS Xu {nid}, box of {prop}", "regions": expected, "peak_rss_mb": peaks,
                         "median_peak_rss_mb": statistics.median(peaks),
                         "result_file_mb": result.stat().st_size / 2**20, "read_all_pieces_peak_rss_mb": read_mb})
            print(f"{rows[-1]['case']}: {expected} regions, peak RSS {statistics.median(peaks):.0f} MB "
                  f"(runs {', '.join(f'{p:.0f}' for p in peaks)}), result file {rows[-1]['result_file_mb']:.0f} MB; "
                  f"reading every piece back: peak RSS {read_mb:.0f} MB",
                  flush=True)
    summary = {"command": " ".join(["python", *sys.argv]), "rows": rows,
               "growth_mb": rows[1]["median_peak_rss_mb"] - rows[0]["median_peak_rss_mb"],
               "python": sys.version.split()[0], "cpus": os.cpu_count(), "ru_maxrss_unit": "KiB (Linux)",
               "resource_module": resource.__name__}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=1))
    print(f"growth with the answer: {summary['growth_mb']:.0f} MB; written to {args.out}")


if __name__ == "__main__":
    main()
