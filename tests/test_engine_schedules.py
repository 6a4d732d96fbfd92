"""The engine's contract under every schedule of stops and resumes (``docs/engine.md``).

The oracle is the uninterrupted serial run: whatever sequence of stops — ``max_pieces``,
``time_limit``, SIGINT, SIGTERM, a ``KeyboardInterrupt`` from a progress callback — and
resumes with any number of workers, the final pieces are the same (pattern, disjunct,
domain, and the polyhedron's rows to the bit), none lost, none twice, and every stop
returns what it found, marked incomplete, with a checkpoint.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preimage
from preimage import InvalidInputError
from preimage.engine import runner
from preimage.engine.search import Search as FastRegionSearch
from preimage.specs import load_vnnlib


def key(piece, disjunct=0, domain=0) -> tuple:
    P = piece.polyhedron
    return (domain, np.packbits(piece.pattern).tobytes(), piece.pattern.size, disjunct,
            P.A.tobytes(), P.b.tobytes(), P.C.tobytes(), P.d.tobytes())


def keys(result) -> list[tuple]:
    return [key(p, int(k), int(d)) for p, k, d in zip(result.set, result.disjuncts, result.domain_index)]


@pytest.fixture(scope="module")
def pool():
    """Two worker processes kept for the whole module (a run given an Executor uses it as is)."""
    ex = ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn"), initializer=runner._worker_init)
    yield ex
    ex.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def small_tasks(monkeypatch):
    monkeypatch.setattr(runner, "SERIAL_SECONDS", 0.0)   # farm out at once
    monkeypatch.setattr(runner, "TASK_SECONDS", 0.01)    # tasks hand back what they did not reach
    monkeypatch.setattr(runner, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(FastRegionSearch, "CHUNK", 16)


def random_net(seed: int, d: int, widths: tuple[int, ...], out: int = 2) -> preimage.Network:
    rng = np.random.default_rng(seed)
    layers, n = [], d
    for w in widths:
        layers.append((rng.normal(size=(w, n)), rng.normal(scale=0.5, size=w), True))
        n = w
    layers.append((rng.normal(size=(out, n)), rng.normal(scale=0.1, size=out), False))
    return preimage.Network.from_arrays(layers)


def problem(kind: str, seed: int):
    """(call, kwargs) of one run; ``call(**budgets)`` starts it."""
    d = 2 + seed % 2
    net = random_net(seed, d, (6, 5) if seed % 3 else (5, 4, 4))
    box = preimage.Box(-np.ones(d), np.ones(d))
    if kind == "regions":
        return lambda **kw: preimage.linear_regions(net, box, **kw)
    if kind == "union":  # output 0 is not the smallest of the outputs (two half-spaces -> disjoint parts)
        T = [preimage.Polyhedron(np.array([[1.0, -1.0]]), [0.0]), preimage.Polyhedron(np.array([[-1.0, 1.0]]), [-0.2])]
        return lambda **kw: preimage.preimage(net, T, domain=box, **kw)
    if kind == "lp":
        T = preimage.Polyhedron(np.array([[1.0, 0.0]]), [0.0])
        return lambda **kw: preimage.preimage(net, T, domain=box, backend="lp", **kw)
    x = np.full(d, 0.1)
    y = net.activations(x, layer=2)
    return lambda **kw: preimage.preimage(net, preimage.Activity(y), layer=2, domain=box, **kw)


class Stopper:
    """A progress callback that stops the run at its ``at``-th report: by a real signal to
    this process (SIGINT or SIGTERM), or by raising ``KeyboardInterrupt``."""

    def __init__(self, how: str, at: int) -> None:
        self.how, self.at, self.calls = how, at, 0

    def __call__(self, stats) -> None:
        self.calls += 1
        if self.calls != self.at:
            return
        if self.how == "raise" or threading.current_thread() is not threading.main_thread():
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGINT if self.how == "sigint" else signal.SIGTERM)


STOP = st.one_of(
    st.tuples(st.just("max_pieces"), st.integers(1, 12)),
    st.tuples(st.just("time_limit"), st.sampled_from([0.0, 0.001, 0.01])),
    st.tuples(st.sampled_from(["sigint", "sigterm", "raise"]), st.integers(1, 6)),
)


def run_schedule(start, steps, pool, tmp_path, stream=False):
    """Run ``start`` under the first stop, then resume under each next one, then to the end.

    With ``stream`` the pieces go to a result file (``out=``): the checkpoints then name
    that file instead of holding the pieces, and every stop leaves the file complete."""
    ck = tmp_path / "run.checkpoint"
    out = tmp_path / "run.npz"
    found = 0
    res = None
    for i, ((what, value), parallel) in enumerate(steps):
        kw = {"checkpoint": ck}
        if stream and i == 0:
            kw["out"] = out
        if parallel:
            kw["scheduler"] = pool
        if what == "max_pieces":
            kw["max_pieces"] = found + value  # counts every piece of the result
        elif what == "time_limit":
            kw["time_limit"] = value
        else:
            kw["progress"] = Stopper(what, value)
        res = start(**kw) if i == 0 else preimage.resume(ck, **{k: v for k, v in kw.items() if k != "checkpoint"})
        # a stop returns what it found, marked incomplete, with its checkpoint
        assert res.complete == (res.stopped_by is None)
        if not res.complete:
            assert res.frontier_path == str(ck) and ck.exists()
        assert len(set(keys(res))) == len(res.set)  # never a piece twice
        assert len(res.set) >= found  # nothing found is lost
        if stream:
            assert len(preimage.load_geometry(out)) == len(res.set)  # the file holds every piece found
        found = len(res.set)
        if res.complete:
            return res
    return preimage.resume(ck)


@pytest.mark.parametrize("kind", ["regions", "union", "activity", "lp"])
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 50), steps=st.lists(st.tuples(STOP, st.booleans()), min_size=1, max_size=4),
       stream=st.booleans())
def test_any_schedule_gives_the_serial_answer(kind, seed, steps, stream, pool, small_tasks, tmp_path_factory):
    start = problem(kind, seed)
    serial = start()
    assert serial.complete
    tmp = tmp_path_factory.mktemp("sched")
    res = run_schedule(start, steps, pool, tmp, stream=stream)
    assert res.complete and keys(res) == keys(serial)
    assert res.stats.pieces == serial.stats.pieces
    if stream:  # the file holds the same pieces (read back by load_geometry, which renormalises rows)
        assert same_pieces(file_pieces(tmp / "run.npz"), serial)


def file_pieces(path) -> dict:
    with np.load(path) as z:
        dis, dom = z["disjuncts"], z["domains"]
    S = preimage.load_geometry(path)
    return {(int(d), np.packbits(p.pattern).tobytes(), int(k)): p.polyhedron for p, k, d in zip(S, dis, dom)}


def same_pieces(from_file: dict, result) -> bool:
    mine = {(int(d), np.packbits(p.pattern).tobytes(), int(k)): p.polyhedron
            for p, k, d in zip(result.set, result.disjuncts, result.domain_index)}
    return len(from_file) == len(result.set) and from_file.keys() == mine.keys() and all(
        np.allclose(from_file[k].A, mine[k].A, atol=1e-12) and np.allclose(from_file[k].b, mine[k].b, atol=1e-12)
        and np.allclose(from_file[k].C, mine[k].C, atol=1e-12) for k in mine)


@pytest.fixture(scope="module")
def acas_box(acasxu):
    net = preimage.load(acasxu / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")
    box = load_vnnlib(acasxu / "vnnlib" / "prop_4.vnnlib").cases[0].domain
    return net, box


@pytest.mark.parametrize("chain", [
    [(("max_pieces", 50), True), (("sigint", 2), False), (("max_pieces", 400), True), (("time_limit", 0.01), False)],
    [(("sigterm", 1), True), (("raise", 3), True), (("max_pieces", 1), False), (("max_pieces", 300), True)],
])
def test_acasxu_chains_alternating_workers(acas_box, chain, pool, small_tasks, tmp_path):
    net, box = acas_box
    serial = preimage.linear_regions(net, box)
    res = run_schedule(lambda **kw: preimage.linear_regions(net, box, **kw), chain, pool, tmp_path)
    assert res.complete and len(res.set) == 1087 and keys(res) == keys(serial)


def test_workers_two_with_a_budget_then_resume(acas_box, small_tasks, tmp_path):
    """The issue's reproducer at a small scale: a process pool of its own, a piece budget,
    then a serial resume."""
    net, box = acas_box
    serial = preimage.linear_regions(net, box)
    part = preimage.linear_regions(net, box, max_pieces=500, workers=2, checkpoint=tmp_path / "ck")
    assert not part.complete and part.stopped_by == "max_pieces"
    assert 500 <= len(part.set) < 520  # the budget is shared between the tasks in flight
    done = preimage.resume(tmp_path / "ck")
    assert done.complete and keys(done) == keys(serial)


def test_resume_whose_budget_is_used_up_returns_at_once(acas_box, tmp_path):
    net, box = acas_box
    part = preimage.linear_regions(net, box, max_pieces=10, checkpoint=tmp_path / "ck")
    for workers in (1, 2):
        again = preimage.resume(tmp_path / "ck", max_pieces=10, workers=workers)
        assert not again.complete and again.stopped_by == "max_pieces" and len(again.set) == 10
        assert again.stats.nodes == part.stats.nodes  # no work was done
    at_once = preimage.resume(tmp_path / "ck", time_limit=0)
    assert at_once.stopped_by == "time_limit" and at_once.stats.nodes == part.stats.nodes
    assert preimage.resume(tmp_path / "ck").complete


def test_a_stop_without_a_checkpoint_path_still_leaves_one(acas_box):
    import gc

    net, box = acas_box
    part = preimage.linear_regions(net, box, max_pieces=5)
    assert part.frontier_path is not None and os.path.exists(part.frontier_path)
    done = preimage.resume(part)  # a stopped result resumes directly
    assert done.complete and len(done.set) == 1087
    assert not os.path.exists(part.frontier_path)
    # a temporary checkpoint lives as long as its result: dropping the result removes it
    other = preimage.linear_regions(net, box, max_pieces=5)
    path = other.frontier_path
    assert os.path.exists(path)
    del other
    gc.collect()
    assert not os.path.exists(path)


def test_the_command_line_keeps_a_temporary_checkpoint(acasxu, tmp_path):
    """Without --out or --checkpoint, the checkpoint the command prints outlives the process."""
    import json
    import subprocess
    import sys

    model = str(acasxu / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")
    proc = subprocess.run([sys.executable, "-m", "preimage", "regions", model, "--domain",
                           str(acasxu / "vnnlib" / "prop_4.vnnlib"), "--max-pieces", "7", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    ck = json.loads(proc.stdout)["checkpoint"]
    assert os.path.exists(ck) and f"preimage resume {ck}" in proc.stderr
    done = preimage.resume(ck)
    assert done.complete and len(done.set) == 1087 and not os.path.exists(ck)


def test_verify_stops_and_resumes_to_the_same_verdict(acasxu, tmp_path):
    net = preimage.load(acasxu / "onnx" / "ACASXU_run2a_3_3_batch_2000.onnx")
    spec = load_vnnlib(acasxu / "vnnlib" / "prop_3.vnnlib")
    v = preimage.verify(net, spec, time_limit=0.0, falsify=False, checkpoint=tmp_path / "v.ck")
    assert v.status == "unknown" and v.stopped_by == "time_limit" and v.frontier_path == str(tmp_path / "v.ck")
    v = preimage.resume(v, time_limit=0.05)
    v = preimage.resume(tmp_path / "v.ck") if v.status == "unknown" else v
    assert v.status == "unsat"  # VNN-COMP: property 3 holds on 3_3


@pytest.mark.slow
def test_dask_chain(acas_box, small_tasks, tmp_path):
    """A chain through a real LocalCluster: stop on the cluster, resume locally, finish on it."""
    from distributed import Client, LocalCluster

    net, box = acas_box
    serial = preimage.linear_regions(net, box)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        part = preimage.linear_regions(net, box, scheduler=client, max_pieces=200, checkpoint=tmp_path / "ck")
        assert not part.complete and len(part.set) >= 200
        mid = preimage.resume(tmp_path / "ck", max_pieces=600)
        assert not mid.complete and len(mid.set) >= 600
        done = preimage.resume(tmp_path / "ck", scheduler=client.scheduler.address)
    assert done.complete and keys(done) == keys(serial)


@pytest.mark.slow
def test_dask_all_workers_lost(acas_box, small_tasks, monkeypatch, tmp_path):
    """Every worker gone: a clear error within the stated time, the pieces found kept in a
    checkpoint that a local resume finishes."""
    import time

    from distributed import Client, LocalCluster

    monkeypatch.setattr(runner, "NO_WORKER_SECONDS", 2.0)
    net, box = acas_box
    serial = preimage.linear_regions(net, box)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        state = {"killed": False}

        def kill_workers(stats):
            if not state["killed"] and stats.nodes > 0:
                state["killed"] = True
                cluster.scale(0)

        t0 = time.monotonic()
        with pytest.raises(preimage.WorkersLostError, match="every worker") as info:
            preimage.linear_regions(net, box, scheduler=client, checkpoint=tmp_path / "ck", progress=kill_workers)
        assert time.monotonic() - t0 < 30
    res = info.value.result
    assert not res.complete and res.frontier_path == str(tmp_path / "ck")
    done = preimage.resume(tmp_path / "ck")
    assert done.complete and keys(done) == keys(serial)


def _server(behaviour: str):
    """A local TCP server that is not a Dask scheduler: it never accepts, or answers garbage."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    if behaviour == "garbage":
        def serve():
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                try:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 64)
                except OSError:
                    pass

        threading.Thread(target=serve, daemon=True).start()
    return server, f"tcp://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("behaviour", ["silent", "garbage", "closed"])
def test_bad_scheduler_addresses_fail_fast(acas_box, behaviour):
    import time

    net, box = acas_box
    server, address = _server("silent" if behaviour == "closed" else behaviour)
    if behaviour == "closed":
        server.close()
    try:
        t0 = time.monotonic()
        with pytest.raises(InvalidInputError, match="does not answer as a Dask scheduler"):
            preimage.linear_regions(net, box, scheduler=address)
        assert time.monotonic() - t0 < 10
    finally:
        server.close()


def test_scheduler_address_format(acas_box):
    net, box = acas_box
    with pytest.raises(InvalidInputError, match="like 'tcp://host:8786'"):
        preimage.linear_regions(net, box, scheduler="not an address")


@pytest.mark.parametrize("kwargs,match", [
    ({"max_pieces": 0}, "max_pieces must be a whole number >= 1"),
    ({"max_pieces": -3}, "max_pieces must be a whole number >= 1"),
    ({"max_pieces": 2.5}, "max_pieces must be a whole number >= 1"),
    ({"workers": 0}, "workers must be a whole number >= 1"),
    ({"time_limit": float("nan")}, "time_limit must be a finite number"),
    ({"time_limit": -5}, "time_limit must be a finite number"),
    ({"time_limit": "soon"}, "time_limit must be a number"),
    ({"out": "/proc/no/such/dir/r.npz"}, "out '/proc/no/such/dir/r.npz'"),
    ({"scheduler": 42}, "scheduler must be a dask"),
])
def test_bad_run_options_fail_before_any_work(acas_box, kwargs, match):
    import time

    net, box = acas_box
    t0 = time.perf_counter()
    with pytest.raises(InvalidInputError, match=match):
        preimage.linear_regions(net, box, **kwargs)
    assert time.perf_counter() - t0 < 0.5


def test_verify_bad_spec_and_budget(acas_box, acasxu):
    net, _ = acas_box
    with pytest.raises(InvalidInputError, match="spec must be a preimage.Spec"):
        preimage.verify(net, 42)
    with pytest.raises(InvalidInputError, match="time_limit must be a finite number"):
        preimage.verify(net, acasxu / "vnnlib" / "prop_1.vnnlib", time_limit=float("nan"))


def test_progress_during_a_serial_run(acasxu):
    """Progress reaches the callback while a serial run works, with growing counts."""
    net = preimage.load(acasxu / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx")
    box = load_vnnlib(acasxu / "vnnlib" / "prop_1.vnnlib").cases[0].domain
    seen = []
    res = preimage.linear_regions(net, box, progress=lambda s: seen.append((s.seconds, s.pieces, s.nodes)))
    assert len(seen) >= 2
    during = [s for s in seen[:-1] if s[1] > 0]
    assert during, "counts grow while the run works, not only at its end"
    assert all(b[1] >= a[1] and b[2] >= a[2] for a, b in zip(seen, seen[1:]))
    gaps = np.diff([0.0] + [s[0] for s in seen])
    assert gaps.max() < 1.5  # every 0.5 s plus one compiled chunk (a loaded CI machine is slower)
    assert seen[-1][1] == len(res.set) == 39835
