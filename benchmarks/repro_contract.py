"""The measured failures of the engine's contract (the issue "Nothing lost, nothing wrong"),
re-run: each against the uninterrupted serial answer.

1. ACAS Xu 2_3, box of prop_9: ``max_pieces=50000, workers=2`` then ``resume`` (was:
   156,790 of 207,334 regions, ``complete=True``).
2. 2_3, box of prop_4, many small tasks (``TASK_SECONDS=0.05``, ``CHUNK=32``), three times
   with a budget then resume (was: 48, 292 and 321 of 1,087 lost).
3. 3_3, box of prop_3, a union target (output 0 is not the minimum), stopped every 1,133
   pieces and resumed in a chain alternating 1 and 2 workers (was: 1,110 of 7,935 lost);
   one stop at ``max_pieces = n - 1`` then resume, serial and with 2 workers (was: 1 lost).
4. A resume whose piece budget is already used up, 1 and 2 workers (was: an internal
   error, or a hang).
5. The badly scaled networks: the LP backend on a 3-D network with rows of norm 1e5 and
   1e-5 (was: 6 of 7 regions), and a corner cut off by a neuron of scale 1e-6 (was: 1 of 2).

    python benchmarks/repro_contract.py

Writes ``benchmarks/results/contract.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import preimage
from preimage.engine import runner
from preimage.engine.search import Search as FastRegionSearch
from preimage.specs import load_vnnlib

ROOT = Path(__file__).resolve().parent.parent
ACAS = ROOT / "benchmarks" / "acasxu"


def net_(nid: str):
    return preimage.load(ACAS / "onnx" / f"ACASXU_run2a_{nid}_batch_2000.onnx")


def box_(prop: int):
    return load_vnnlib(ACAS / "vnnlib" / f"prop_{prop}.vnnlib").cases[0].domain


def keys(res) -> list[tuple]:
    return sorted((int(d), np.packbits(p.pattern).tobytes(), int(k))
                  for p, k, d in zip(res.set, res.disjuncts, res.domain_index))


def case(name: str, out: dict, **fields) -> None:
    out[name] = fields
    print(name, json.dumps(fields), flush=True)


def main() -> None:
    out: dict = {}
    tmp = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp")
    # 1
    net, box = net_("2_3"), box_(9)
    serial = preimage.linear_regions(net, box)
    t = time.perf_counter()
    part = preimage.linear_regions(net, box, max_pieces=50000, workers=2, checkpoint=tmp / "c1.ck")
    done = preimage.resume(tmp / "c1.ck")
    case("workers2_budget_then_resume_2_3_prop9", out, serial=len(serial.set), stopped_at=len(part.set),
         stopped_by=part.stopped_by, resumed=len(done.set), complete=done.complete,
         identical=keys(done) == keys(serial), seconds=round(time.perf_counter() - t, 2))
    # 2
    net, box = net_("2_3"), box_(4)
    serial = preimage.linear_regions(net, box)
    saved = runner.SERIAL_SECONDS, runner.TASK_SECONDS, FastRegionSearch.CHUNK
    runner.SERIAL_SECONDS, runner.TASK_SECONDS, FastRegionSearch.CHUNK = 0.0, 0.05, 32
    try:
        lost = []
        for budget in (300, 500, 800):
            preimage.linear_regions(net, box, max_pieces=budget, workers=2, checkpoint=tmp / "c2.ck")
            done = preimage.resume(tmp / "c2.ck", workers=2)
            lost.append(len(serial.set) - len(done.set) if keys(done) == keys(serial) else "different")
    finally:
        runner.SERIAL_SECONDS, runner.TASK_SECONDS, FastRegionSearch.CHUNK = saved
    case("small_tasks_2_3_prop4", out, serial=len(serial.set), lost_per_run=lost)
    # 3
    net, box = net_("3_3"), box_(3)
    E = np.eye(5)
    T = [preimage.Polyhedron((E[j] - E[0])[None, :], [0.0]) for j in range(1, 5)]
    serial = preimage.preimage(net, T, domain=box)
    res = preimage.preimage(net, T, domain=box, max_pieces=1133, checkpoint=tmp / "c3.ck")
    steps, n = 1, 1133
    while not res.complete:
        n += 1133
        steps += 1
        res = preimage.resume(tmp / "c3.ck", max_pieces=n, workers=1 + steps % 2)
    N = len(serial.set)
    single = []
    for workers in (1, 2):
        preimage.preimage(net, T, domain=box, max_pieces=N - 1, checkpoint=tmp / "c3b.ck", workers=workers)
        single.append(len(preimage.resume(tmp / "c3b.ck", workers=workers).set))
    case("union_target_chain_3_3_prop3", out, serial=N, chain_steps=steps, chain_result=len(res.set),
         identical=keys(res) == keys(serial), stop_at_n_minus_1_then_resume=single)
    # 4
    net, box = net_("2_3"), box_(4)
    preimage.linear_regions(net, box, max_pieces=10, checkpoint=tmp / "c4.ck")
    timings = []
    for workers in (1, 2):
        t = time.perf_counter()
        again = preimage.resume(tmp / "c4.ck", max_pieces=10, workers=workers)
        timings.append((workers, again.stopped_by, len(again.set), round(time.perf_counter() - t, 4)))
    case("resume_with_budget_used_up", out, runs=timings)
    # 5
    W1 = np.array([[212504.84856159208, -421736.1197231287, 281009.3182827264],
                   [-9.293401528464255, -5.328686848204316, 6.0615025198587595],
                   [-4.3334334515514846e-05, -8.310598071931384e-06, 1.3262675857349696e-05]])
    b1 = np.array([-185483.07574999932, 0.09046872040612798, -1.226196073849089e-05])
    net = preimage.Network.from_arrays([(W1, b1, True), (np.ones((1, 3)), np.zeros(1), False)])
    cube = preimage.Box(-np.ones(3), np.ones(3))
    counts = {b: len(preimage.linear_regions(net, cube, backend=b).set) for b in ("vertex", "lp")}
    net1 = preimage.Network.from_arrays([(1e-6 * np.array([[1.0, 1.0]]), [-1e-6 * (2 - 1e-3)], True),
                                         (np.ones((1, 1)), np.zeros(1), False)])
    sq = preimage.Box([-1.0, -1.0], [1.0, 1.0])
    corner = {b: len(preimage.linear_regions(net1, sq, backend=b).set) for b in ("vertex", "lp")}
    case("badly_scaled", out, regions_of_the_3d_net=counts, truth_3d=7, corner_cut=corner, truth_corner=2)
    path = ROOT / "benchmarks" / "results" / "contract.json"
    path.write_text(json.dumps({"command": "python benchmarks/repro_contract.py", "results": out}, indent=1))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
