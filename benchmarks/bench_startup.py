"""Start-up cost of the CLI: whole-process wall time minus the engine's own time.

Run:  .venv/bin/python benchmarks/bench_startup.py [--runs 7]

Runs ``preimage reach MODEL SPEC --json`` as a subprocess ``--runs`` times (after one untimed
run that warms the kernel and onnxruntime caches), reads ``time_s`` (the engine's time, measured
inside the process) from the JSON line, and writes the medians of wall, engine and start-up
(wall - engine, per run) to ``benchmarks/results/startup.json`` with the command line.
Target: start-up <= 0.5 s (nnenum's is about 0.9 s). The machine's load average and each
process's CPU time (user + system, steadier than wall time on a busy machine) are recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "startup.json"
MODEL = HERE / "acasxu" / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx"
SPEC = HERE / "acasxu" / "vnnlib" / "prop_1.vnnlib"


def cli() -> list[str]:
    """The ``preimage`` console script of this interpreter's environment (as a user runs it)."""
    script = Path(sys.executable).parent / "preimage"
    if script.exists():
        return [str(script)]
    found = shutil.which("preimage")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from preimage.cli import main; sys.exit(main())"]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def child_env() -> dict[str, str]:
    """This environment, with Python's bytecode cache on (as users run it; the warm-up run
    writes the ``.pyc`` files). With ``PYTHONDONTWRITEBYTECODE`` set and no ``.pyc`` files,
    every module of the package is compiled from source at each start (about 60 ms here)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_once(cmd: list[str]) -> tuple[float, float, float]:
    """``(wall, engine, cpu)``: the process's wall time, its ``time_s``, its user + system CPU time."""
    c0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env())
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - c0
    if proc.returncode not in (0, 1):  # reach: 0 unsat, 1 sat (both answers)
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    line = proc.stdout.strip().splitlines()[-1]
    return wall, float(json.loads(line)["time_s"]), cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--model", default=str(MODEL))
    ap.add_argument("--spec", default=str(SPEC))
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    cmd = cli() + ["reach", args.model, args.spec, "--json"]
    run_once(cmd)  # warm-up: kernel cache, onnxruntime reference cache, OS file cache
    runs = []
    for _ in range(args.runs):
        wall, engine, cpu = run_once(cmd)
        runs.append({"wall_s": round(wall, 4), "engine_s": round(engine, 4), "startup_s": round(wall - engine, 4),
                     "cpu_s": round(cpu, 4)})
        print(f"wall {wall:.3f} s  engine {engine:.3f} s  start-up {wall - engine:.3f} s  (process CPU {cpu:.3f} s)",
              flush=True)
    result = {
        "command": " ".join(Path(c).name if i == 0 else os.path.relpath(c, HERE.parent) if os.path.exists(c) else c
                            for i, c in enumerate(cmd)),
        "argv": cmd,
        "runs": args.runs,
        "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 4),
        "median_engine_s": round(statistics.median(r["engine_s"] for r in runs), 4),
        "median_startup_s": round(statistics.median(r["startup_s"] for r in runs), 4),
        "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 4),
        "target_startup_s": 0.5,
        "all": runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "bytecode_cache": True,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"median: wall {result['median_wall_s']:.3f} s, engine {result['median_engine_s']:.3f} s, "
          f"start-up {result['median_startup_s']:.3f} s  -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
