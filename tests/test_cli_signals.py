"""SIGINT and SIGTERM sent to the real command line mid-run, then ``preimage resume``.

Each command runs as its own process (``python -m preimage -v ...``); the signal goes once
the engine has logged that its run started. Whatever the signal, the command exits with
130, leaves its checkpoint (and, with ``--out``, the result file holding every piece found
so far), and ``preimage resume`` finishes it to the answer of an uninterrupted in-process
run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import preimage
from preimage.specs import load_vnnlib

ACAS = Path(__file__).resolve().parent.parent / "benchmarks" / "acasxu"
X = np.array([0.6, 0.1, 0.1, 0.47, -0.47])


def model(nid: str) -> str:
    return str(ACAS / "onnx" / f"ACASXU_run2a_{nid}_batch_2000.onnx")


def _default_signals() -> None:  # the child reacts to SIGINT even if this process ignores it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_and_signal(args: list[str], sig: signal.Signals, delay: float = 0.3) -> tuple[int, dict, str]:
    """Start ``preimage -v ARGS --json``; send ``sig`` ``delay`` s after the run started."""
    proc = subprocess.Popen([sys.executable, "-m", "preimage", "-v", *args, "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if "run started" in line:
            time.sleep(delay)
            proc.send_signal(sig)
            break
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert time.monotonic() - t0 < 60, "the stopped command took too long to exit"
    docs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(docs) == 1, out  # stdout holds exactly one JSON document
    return proc.returncode, docs[0], err


def cli(*args: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "preimage", *args, "--json"], capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, json.loads(proc.stdout)


def pattern_set(S) -> list[bytes]:
    return sorted(np.packbits(p.pattern).tobytes() for p in S)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_regions_stopped_then_resumed(sig, tmp_path):
    out = tmp_path / "regions.npz"
    spec = str(ACAS / "vnnlib" / "prop_1.vnnlib")
    rc, doc, err = run_and_signal(["regions", model("1_1"), "--domain", spec, "--out", str(out)], sig)
    assert rc == 130, err[-3000:]
    assert doc["stopped_by"] == "interrupt" and not doc["complete"] and doc["pieces"] > 0
    ck = Path(doc["checkpoint"])
    assert ck == Path(str(out) + ".checkpoint") and ck.exists()
    assert len(preimage.load_geometry(out)) == doc["pieces"]  # everything found is in the file
    assert "preimage resume" in err
    rc, done = cli("resume", str(ck))
    assert rc == 0 and done["complete"] and done["pieces"] == 39835
    assert not ck.exists()
    net = preimage.load(model("1_1"))
    serial = preimage.linear_regions(net, load_vnnlib(spec).cases[0].domain)
    assert pattern_set(preimage.load_geometry(out)) == pattern_set(serial.set)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_activity_stopped_then_resumed(sig, tmp_path):
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "act.npz"
    rc, doc, err = run_and_signal(["activity", model("3_3"), "--input", str(tmp_path / "x.npy"), "--layer", "3",
                                   "--radius", "0.3", "--out", str(out)], sig, delay=0.1)
    assert rc == 130, err[-3000:]
    assert doc["stopped_by"] == "interrupt" and Path(doc["checkpoint"]).exists()
    rc, done = cli("resume", doc["checkpoint"])
    assert rc == 0 and done["complete"]
    net = preimage.load(model("3_3"))
    direct = preimage.preimage(net, preimage.Activity(net.activations(X, layer=3)), layer=3,
                               domain=preimage.Box(X - 0.3, X + 0.3))
    S = preimage.load_geometry(out)
    assert pattern_set(S) == pattern_set(direct.set) and S.contains(X)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_reach_stopped_then_resumed(sig, tmp_path):
    ck = tmp_path / "reach.checkpoint"
    rc, doc, err = run_and_signal(["reach", model("3_3"), str(ACAS / "vnnlib" / "prop_2.vnnlib"),
                                   "--checkpoint", str(ck)], sig, delay=0.5)
    assert rc == 130, err[-3000:]
    assert doc["status"] == "unknown" and doc["stopped_by"] == "interrupt" and doc["checkpoint"] == str(ck)
    rc, done = cli("resume", str(ck))
    assert rc == 0 and done["status"] == "unsat"  # VNN-COMP 2021: 3_3 prop_2 holds
    assert not ck.exists()
