"""The LP backend on a small 8-D problem: an activity preimage at layer 2 and 200 pieces of an
output half-space (medians of 3 after a warm-up). Run: ``python benchmarks/bench_lp_backend.py``.

Measured 2026-12-01 (one walk, questions answered by the driver): activity 15 pieces, 5,620
LPs, 2.48 s; half-space 200 pieces, 1,541 LPs, 0.395 s. The previous session's Python LP walk
(commit 4c3022d, same minutes): 2.16 s and 0.273 s: each LP is now a question, a return from
the compiled walk and a replay of its node.
"""

import time

import numpy as np

import preimage
from preimage import Box


def median_time(run, repeat: int = 3):
    run()  # warm-up
    times, res = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        res = run()
        times.append(time.perf_counter() - t)
    return res, sorted(times)[len(times) // 2]


def main() -> None:
    rng = np.random.default_rng(0)
    d = 8
    net = preimage.Network.from_arrays([(rng.normal(size=(12, d)), rng.normal(size=12) * 0.5, True),
                                        (rng.normal(size=(10, 12)), rng.normal(size=10) * 0.5, True),
                                        (rng.normal(size=(3, 10)), rng.normal(size=3) * 0.5, False)])
    box = Box(-np.ones(d), np.ones(d))
    x = box.sample(1, seed=1)[0]
    y = net.activations(x[None], layer=2)[0]
    res, t = median_time(lambda: preimage.preimage(net, preimage.Activity(y), layer=2, domain=box, backend="lp"))
    print(f"activity preimage: {len(res.set)} pieces, {res.stats.lps} LPs, {t:.3f} s")
    half = preimage.Polyhedron([[1.0, 0.0, 0.0]], [float(net.forward(x[None])[0, 0])])
    small = Box(-0.3 * np.ones(d), 0.3 * np.ones(d))
    res, t = median_time(lambda: preimage.preimage(net, half, domain=small, backend="lp", max_pieces=200))
    print(f"half-space preimage: {len(res.set)} pieces, {res.stats.lps} LPs, {res.stats.nodes} nodes, {t:.3f} s")


if __name__ == "__main__":
    main()
