"""Stops of the real command line: SIGINT / SIGTERM mid-run, and ``--timeout`` with ``--out``.

``preimage regions`` on ACAS Xu 3_3 with the box of property 2 (341,669 regions) is started
as a subprocess; after ``--after`` seconds of running it gets SIGINT (then, in a second run,
SIGTERM). Measured from outside: the time from the signal to the process's exit, its exit
code, the size of the checkpoint and of the result file it leaves, and the pieces in that
file. Then the same command with ``--timeout T --out F``: the wall time of the whole
process and the engine time it reports (``stats.seconds``), against ``T``.

    python benchmarks/bench_stops.py [--after 25] [--timeout 10] [--repeat 3]

Writes ``benchmarks/results/stops.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ACAS = ROOT / "benchmarks" / "acasxu"
MODEL = ACAS / "onnx" / "ACASXU_run2a_3_3_batch_2000.onnx"
SPEC = ACAS / "vnnlib" / "prop_2.vnnlib"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "preimage.cli", *args]


def pieces_in(path: Path) -> int | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        return int(z["pattern_lengths"].shape[0])


def default_signals() -> None:
    """The child reacts to SIGINT even when this script runs where SIGINT is ignored (``&``)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_run(sig: signal.Signals, after: float, workdir: Path) -> dict:
    out = workdir / f"regions_{sig.name}.npz"
    proc = subprocess.Popen(cli("regions", str(MODEL), "--domain", str(SPEC), "--out", str(out), "--quiet", "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
    time.sleep(after)
    t_sig = time.monotonic()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate()
    t_exit = time.monotonic() - t_sig
    report = json.loads(stdout) if stdout.strip() else {}
    ck = Path(str(out) + ".checkpoint")
    return {
        "signal": sig.name, "after_s": after, "signal_to_exit_s": round(t_exit, 3), "exit_code": proc.returncode,
        "pieces": report.get("pieces"), "stopped_by": report.get("stopped_by"), "pieces_in_file": pieces_in(out),
        "checkpoint_bytes": ck.stat().st_size if ck.exists() else None,
        "result_bytes": out.stat().st_size if out.exists() else None,
        "stderr_tail": stderr.strip().splitlines()[-2:],
    }


def timeout_run(limit: float, workdir: Path) -> dict:
    out = workdir / "regions_timeout.npz"
    t0 = time.monotonic()
    proc = subprocess.run(cli("regions", str(MODEL), "--domain", str(SPEC), "--out", str(out), "--timeout",
                              str(limit), "--quiet", "--json"), capture_output=True, text=True)
    wall = time.monotonic() - t0
    report = json.loads(proc.stdout)
    return {"timeout_s": limit, "wall_s": round(wall, 3), "engine_s": round(report["stats"]["seconds"], 3),
            "exit_code": proc.returncode, "pieces": report["pieces"], "stopped_by": report["stopped_by"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--after", type=float, default=25.0, help="seconds before the signal (default 25)")
    ap.add_argument("--timeout", type=float, default=10.0, help="the --timeout to check (default 10)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (medians are reported)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "stops.json"))
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {"SIGINT": [], "SIGTERM": [], "timeout": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for sig in (signal.SIGINT, signal.SIGTERM):
                r = signal_run(sig, args.after, Path(tmp))
                print(json.dumps(r), flush=True)
                runs[sig.name].append(r)
                for f in Path(tmp).iterdir():
                    if f.is_file():
                        f.unlink()
            r = timeout_run(args.timeout, Path(tmp))
            print(json.dumps(r), flush=True)
            runs["timeout"].append(r)

    def med(rows, k):
        vals = [r[k] for r in rows if r.get(k) is not None]
        return statistics.median(vals) if vals else None

    summary = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "case": "preimage regions ACAS Xu 3_3, box of prop_2 (341,669 regions)",
        "medians": {
            name: {k: med(rows, k) for k in ("signal_to_exit_s", "checkpoint_bytes", "result_bytes", "pieces",
                                             "wall_s", "engine_s")}
            for name, rows in runs.items()
        },
        "runs": runs,
        "cpu_count": os.cpu_count(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary["medians"], indent=1))


if __name__ == "__main__":
    main()
