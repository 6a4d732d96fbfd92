"""Peak memory of region enumeration, measured from outside the process.

``preimage regions MODEL --domain PROP.vnnlib --out R.npz`` runs as a subprocess; its peak
resident set size is read from the kernel when it ends (``wait4``'s ``ru_maxrss``, one fresh
child per run, so the figure is that process's own maximum). Also sampled from outside
(``VmHWM`` in ``/proc/PID/status``, every 20 ms): the peak it had reached when the final
join of its result file began, to tell the search's peak from the join's. Cases: the
1,087-region box of ACAS Xu 2_3 / prop_4 (the baseline) and the 341,669-region box of
3_3 / prop_2. Also recorded: the result file's size, the peak RSS and time of a fresh process
that reads every region back from it (``load_geometry(path, lazy=True)``, memory-mapped, each
piece rebuilt from its pattern and cut codes), and the peak RSS of the same run without
``out=`` (every piece kept in memory, as its pattern and cut codes).

    python benchmarks/bench_memory.py [--repeat 3]

Writes ``benchmarks/results/memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ACAS = ROOT / "benchmarks" / "acasxu"
CASES = [("2_3", "prop_4", 1087), ("3_3", "prop_2", 341669)]
#: the issue's targets: the large case peaks at most this much above the small one, and this much in all
GROWTH_TARGET_MB, PEAK_TARGET_MB = 64, 300


def _hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def peak_rss_mb(argv: list[str], watch: Path | None = None) -> tuple[float, str, float | None]:
    """Run ``argv`` in a fresh child: its peak RSS (MB, from the kernel when it ends), its
    output, and the peak it had reached when ``watch`` first appeared (``None``: not seen)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        before = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if watch is not None and before is None and watch.exists():
                before = _hwm_mb(proc.pid)
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} exited with {proc.returncode}: {err.read()[-2000:]}")
        return usage.ru_maxrss / 1024.0, out.read(), before


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
            peaks, before_join = [], []
            for _ in range(args.repeat):
                mb, stdout, before = peak_rss_mb(argv, result.with_name(result.name + ".tmp.npz"))
                peaks.append(mb)
                before_join.append(before)
                report = json.loads(stdout)
                assert report["complete"] and report["pieces"] == expected, report
                with np.load(result) as z:
                    assert z["pattern_lengths"].shape[0] == expected
            # every region retrievable afterwards: a fresh process reads them all from the file, lazily
            reader = ("import sys, preimage; S = preimage.load_geometry(sys.argv[1], lazy=True); "
                      "n = sum(1 for p in S if p.pattern is not None and p.polyhedron.A.shape[1] == S.ambient_dim); "
                      "print(n)")
            t_read = time.perf_counter()
            read_mb, read_out, _ = peak_rss_mb([sys.executable, "-c", reader, str(result)])
            t_read = time.perf_counter() - t_read
            assert int(read_out.strip()) == expected
            # the same run without out=: every piece kept in memory (compactly: pattern and cut codes)
            keeper = ("import sys, preimage; from preimage.specs import load_vnnlib; "
                      "net = preimage.load(sys.argv[1]); dom = load_vnnlib(sys.argv[2]).cases[0].domain; "
                      "r = preimage.linear_regions(net, dom); print(len(r.set))")
            mem_mb, mem_out, _ = peak_rss_mb([sys.executable, "-c", keeper, argv[4], argv[6]])
            assert int(mem_out.strip()) == expected
            rows.append({"case": f"ACAS Xu {nid}, box of {prop}", "regions": expected, "peak_rss_mb": peaks,
                         "median_peak_rss_mb": statistics.median(peaks), "peak_rss_when_join_began_mb": before_join,
                         "result_file_mb": result.stat().st_size / 2**20, "read_all_pieces_peak_rss_mb": read_mb,
                         "read_all_pieces_seconds": t_read, "in_memory_run_peak_rss_mb": mem_mb})
            seen = [b for b in before_join if b is not None]
            print(f"{rows[-1]['case']}: {expected} regions, peak RSS {statistics.median(peaks):.0f} MB "
                  f"(runs {', '.join(f'{p:.0f}' for p in peaks)}; "
                  f"{statistics.median(seen) if seen else float('nan'):.0f} MB when the join began), "
                  f"result file {rows[-1]['result_file_mb']:.0f} MB; "
                  f"reading every piece back (rebuilt): peak RSS {read_mb:.0f} MB, {t_read:.1f} s; "
                  f"the run without out= (pieces kept in memory): peak RSS {mem_mb:.0f} MB",
                  flush=True)
    summary = {"command": " ".join(["python", *sys.argv]), "rows": rows,
               "growth_mb": rows[1]["median_peak_rss_mb"] - rows[0]["median_peak_rss_mb"],
               "targets_mb": {"growth": GROWTH_TARGET_MB, "peak": PEAK_TARGET_MB},
               "python": sys.version.split()[0], "cpus": os.cpu_count(), "ru_maxrss_unit": "KiB (Linux)"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=1))
    ok = summary["growth_mb"] <= GROWTH_TARGET_MB and rows[1]["median_peak_rss_mb"] <= PEAK_TARGET_MB
    print(f"growth with the answer: {summary['growth_mb']:.0f} MB (targets: <= {GROWTH_TARGET_MB} MB, "
          f"peak <= {PEAK_TARGET_MB} MB: {'met' if ok else 'NOT met'}); written to {args.out}")


if __name__ == "__main__":
    main()
