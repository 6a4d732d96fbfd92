"""Budgets, checkpoints and resume, streaming, executors (process pool, Dask), the command
line, and ACAS Xu verdicts confirmed by onnxruntime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import preimage
from preimage import Activity, InvalidInputError
from preimage.cli import main
from preimage.specs import load_vnnlib


def patterns(result) -> list[bytes]:
    return [np.packbits(p.pattern).tobytes() + bytes([p.pattern.size % 8]) for p in result.set]


@pytest.fixture(scope="module")
def acas(acasxu):
    def get(nid: str):
        return preimage.load(acasxu / "onnx" / f"ACASXU_run2a_{nid}_batch_2000.onnx")
    return get


@pytest.fixture(scope="module")
def small_problem(acasxu):
    net = preimage.load(acasxu / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")
    box = load_vnnlib(acasxu / "vnnlib" / "prop_4.vnnlib").cases[0].domain
    return net, box


# -- budgets, checkpoints, resume ------------------------------------------------------------------------
def test_max_pieces_then_resume_gives_the_uninterrupted_answer(small_problem, tmp_path):
    net, box = small_problem
    full = preimage.linear_regions(net, box)
    assert full.complete and len(full.set) == 1087  # nnenum's count for this box
    out = tmp_path / "regions.npz"
    part = preimage.linear_regions(net, box, max_pieces=300, out=out)
    assert not part.complete and part.stopped_by == "max_pieces"
    assert len(part.set) == 300 and part.frontier_path is not None
    # nothing found is lost: the partial pieces are a subset of the full answer
    assert set(patterns(part)) <= set(patterns(full))
    assert len(preimage.load_geometry(out)) == 300
    done = preimage.resume(part.frontier_path)
    assert done.complete and patterns(done) == patterns(full)
    assert done.stats.pieces == full.stats.pieces
    assert len(preimage.load_geometry(out)) == 1087
    assert not Path(part.frontier_path).exists()


def test_time_limit_returns_what_was_found(small_problem, tmp_path, monkeypatch):
    from preimage.engine.search import Search as FastRegionSearch

    monkeypatch.setattr(FastRegionSearch, "CHUNK", 64)  # a budget is checked between chunks
    net, box = small_problem
    res = preimage.linear_regions(net, box, time_limit=0.0, checkpoint=tmp_path / "ck")
    assert not res.complete and res.stopped_by == "time_limit" and len(res.set) < 1087
    back = preimage.resume(tmp_path / "ck")
    assert back.complete and len(back.set) == 1087


def test_interrupt_keeps_pieces(small_problem, tmp_path, monkeypatch):
    """A Ctrl-C in the middle of the compiled walk returns the pieces found and a checkpoint."""
    from preimage.engine import runner
    from preimage.engine.search import Search as FastRegionSearch

    net, box = small_problem
    monkeypatch.setattr(FastRegionSearch, "CHUNK", 64)
    monkeypatch.setattr(runner, "PROGRESS_SECONDS", 0.0)  # report between every two chunks
    calls = {"n": 0}

    def progress(stats):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt

    res = preimage.linear_regions(net, box, checkpoint=tmp_path / "ck", progress=progress)
    assert not res.complete and res.stopped_by == "interrupt" and 0 < len(res.set) < 1087
    back = preimage.resume(tmp_path / "ck")
    assert back.complete and len(back.set) == 1087
    assert patterns(back) == patterns(preimage.linear_regions(net, box))


def test_interrupt_in_a_targeted_search(small_problem, tmp_path, monkeypatch):
    """The same for a preimage with a target: a KeyboardInterrupt raised by the progress
    callback (between chunks of the walk) stops the run with a checkpoint to resume."""
    from preimage.engine import runner
    from preimage.engine.search import Search

    net, box = small_problem
    T = preimage.Polyhedron(np.eye(5)[:1], [np.median(net.forward(box.sample(500, seed=0))[:, 0])])
    full = preimage.preimage(net, T, domain=box)
    monkeypatch.setattr(Search, "CHUNK", 4)
    monkeypatch.setattr(Search, "CHUNK_SECONDS", 1e-9)  # every chunk is as small as it gets
    monkeypatch.setattr(runner, "PROGRESS_SECONDS", 0.0)  # a report after every chunk
    calls = {"n": 0}

    def progress(p):
        calls["n"] += 1
        if calls["n"] == 20:
            raise KeyboardInterrupt

    res = preimage.preimage(net, T, domain=box, checkpoint=tmp_path / "ck", progress=progress)
    assert not res.complete and res.stopped_by == "interrupt" and len(res.set) < len(full.set)
    back = preimage.resume(tmp_path / "ck")
    assert back.complete and patterns(back) == patterns(full)


def test_resume_rejects_other_files(tmp_path):
    bad = tmp_path / "x.checkpoint"
    bad.write_bytes(b"nope")
    with pytest.raises(InvalidInputError, match="not a preimage checkpoint"):
        preimage.resume(bad)


# -- executors -----------------------------------------------------------------------------------------
def test_process_pool_equals_serial(small_problem, monkeypatch):
    from preimage.engine import runner
    from preimage.engine.search import Search as FastRegionSearch

    monkeypatch.setattr(runner, "SERIAL_SECONDS", 0.0)  # farm out from the start
    monkeypatch.setattr(runner, "TASK_SECONDS", 0.05)    # many small tasks: exercise re-queuing
    monkeypatch.setattr(FastRegionSearch, "CHUNK", 32)
    net, box = small_problem
    serial = preimage.linear_regions(net, box)
    pooled = preimage.linear_regions(net, box, workers=2)
    assert pooled.info["tasks"] > 1
    assert patterns(pooled) == patterns(serial)
    assert pooled.stats.nodes == serial.stats.nodes


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(small_problem, monkeypatch):
    from distributed import Client, LocalCluster

    from preimage.engine import runner
    from preimage.engine.search import Search as FastRegionSearch

    monkeypatch.setattr(runner, "SERIAL_SECONDS", 0.0)
    monkeypatch.setattr(FastRegionSearch, "CHUNK", 32)
    net, box = small_problem
    serial = preimage.linear_regions(net, box)
    x = box.center
    y = net.activations(x, layer=3)
    act_serial = preimage.preimage(net, Activity(y), layer=3, domain=box)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        dist = preimage.linear_regions(net, box, scheduler=client)
        assert dist.info["tasks"] > 1
        act_dist = preimage.preimage(net, Activity(y), layer=3, domain=box, scheduler=client.scheduler.address)
    assert patterns(dist) == patterns(serial)
    assert patterns(act_dist) == patterns(act_serial) and act_dist.set.contains(x)


def test_scheduler_address_that_does_not_answer(small_problem):
    net, box = small_problem
    with pytest.raises(InvalidInputError, match="does not answer"):
        preimage.linear_regions(net, box, scheduler="tcp://127.0.0.1:9", time_limit=5)


# -- ACAS Xu verdicts ---------------------------------------------------------------------------------
# (network, property, verdict): prop 1 holds on every network; 3_3/2_3 props 3 and 4 hold;
# 4_9 prop 2 and 1_9 prop 7 are violated (VNN-COMP 2021 results).
ACAS_CASES = [("1_1", 1, "unsat"), ("2_3", 4, "unsat"), ("3_3", 3, "unsat"), ("4_9", 2, "sat"),
              ("1_9", 7, "sat"), ("2_1", 2, "sat")]


@pytest.mark.parametrize("nid,prop,expected", ACAS_CASES)
def test_acasxu_verdicts(acasxu, nid, prop, expected):
    path = acasxu / "onnx" / f"ACASXU_run2a_{nid}_batch_2000.onnx"
    net = preimage.load(path)
    spec = load_vnnlib(acasxu / "vnnlib" / f"prop_{prop}.vnnlib")
    v = preimage.verify(net, spec, time_limit=100)
    assert v.status == expected
    if expected == "sat":
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        y = sess.run(None, {sess.get_inputs()[0].name: v.counterexample.astype(np.float32).reshape(1, 1, 1, 5)})[0]
        assert spec.is_counterexample(v.counterexample, y.reshape(-1), tol=1e-5)
    else:
        # independent sanity check: no sampled input of the box is a counterexample
        for case in spec.cases:
            X = case.domain.sample(20000, seed=0)
            Y = net.forward(X)
            assert not spec.output_contains(Y, tol=0.0).any()


def test_exact_search_finds_counterexample_without_falsification(acasxu):
    path = acasxu / "onnx" / "ACASXU_run2a_4_9_batch_2000.onnx"
    net = preimage.load(path)
    spec = load_vnnlib(acasxu / "vnnlib" / "prop_2.vnnlib")
    v = preimage.verify(net, spec, falsify=False, time_limit=100)
    assert v.status == "sat" and v.info["found_by"] == "exact search"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: v.counterexample.astype(np.float32).reshape(1, 1, 1, 5)})[0]
    assert spec.is_counterexample(v.counterexample, y.reshape(-1), tol=1e-5)


def test_verify_bad_input(acasxu, acas):
    prop = acasxu / "vnnlib" / "prop_1.vnnlib"
    other = preimage.Network.from_arrays([(np.ones((5, 3)), np.zeros(5)), (np.ones((5, 5)), np.zeros(5), False)])
    with pytest.raises(InvalidInputError, match="spec has 5 inputs"):
        preimage.verify(other, prop)
    wide = preimage.Network.from_arrays([(np.ones((4, 5)), np.zeros(4)), (np.ones((3, 4)), np.zeros(3), False)])
    with pytest.raises(InvalidInputError, match="spec has 5 outputs"):
        preimage.verify(wide, prop)
    with pytest.raises(InvalidInputError, match="does not exist"):
        preimage.verify(acas("1_1"), acasxu / "vnnlib" / "missing.vnnlib")


# -- command line ------------------------------------------------------------------------------------
def test_cli_reach_json_last_line(acasxu, capsys):
    model = str(acasxu / "onnx" / "ACASXU_run2a_4_9_batch_2000.onnx")
    spec = str(acasxu / "vnnlib" / "prop_2.vnnlib")
    assert main(["reach", model, spec, "--json", "--timeout", "60"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) >= {"status", "counterexample", "time_s", "pieces"}
    assert out["status"] == "sat"
    net = preimage.load(model)
    assert load_vnnlib(spec).is_counterexample(out["counterexample"], net.forward(np.array(out["counterexample"])))


def test_cli_activity_regions_resume(acasxu, tmp_path, capsys):
    model = str(acasxu / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")
    x = np.array([0.6, 0.1, 0.1, 0.47, -0.47])
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "act.npz"
    assert main(["activity", model, "--input", str(tmp_path / "x.npy"), "--layer", "2", "--radius", "0.05",
                 "--out", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    S = preimage.load_geometry(out)
    assert res["complete"] and len(S) == res["pieces"] and S.contains(x)
    net = preimage.load(model)
    X = S.sample(50, seed=0)
    assert np.abs(net.activations(X, layer=2) - net.activations(x, layer=2)).max() < 1e-8
    reg = tmp_path / "reg.npz"
    vnn = str(acasxu / "vnnlib" / "prop_4.vnnlib")
    # stopped by its budget: exit code 3, the pieces found saved, resumable
    assert main(["regions", model, "--domain", vnn, "--max-pieces", "100", "--out", str(reg), "--json"]) == 3
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert not res["complete"] and res["pieces"] == 100 and res["checkpoint"]
    assert main(["resume", res["checkpoint"], "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["complete"] and res["pieces"] == 1087
    assert res["saved"] == str(reg) and res["checkpoint"] is None  # the result file, not the deleted checkpoint
    assert len(preimage.load_geometry(reg)) == 1087


def test_cli_regions_through_points(tmp_path, capsys):
    rng = np.random.default_rng(0)
    net = preimage.Network.from_arrays([(rng.normal(size=(8, 6)), rng.normal(size=8), True),
                                        (rng.normal(size=(2, 8)), rng.normal(size=2), False)])
    net.save(tmp_path / "net.npz")
    np.save(tmp_path / "pts.npy", rng.normal(size=(3, 6)))
    assert main(["regions", str(tmp_path / "net.npz"), "--through", str(tmp_path / "pts.npy"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    direct = preimage.linear_regions(net, preimage.Slice.through(np.load(tmp_path / "pts.npy")))
    assert res["pieces"] == len(direct.set) > 1


def test_cli_activity_default_domain_and_regions_needs_one(acasxu, tmp_path, capsys):
    model = str(acasxu / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")
    x = np.array([0.1, 0.0, 0.0, 0.2, -0.1])
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "r.npz"
    # the form: no domain option -> the box x ± 1
    assert main(["activity", model, "--input", str(tmp_path / "x.npy"), "--layer", "1", "--out", str(out),
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    S = preimage.load_geometry(out)
    assert res["complete"] and S.contains(x)
    assert preimage.Box(x - 1, x + 1).contains(S.sample(20, seed=0)).all()
    assert main(["regions", model]) == 2
    assert "bounded domain" in capsys.readouterr().err


def test_a_dying_worker_loses_nothing(small_problem, monkeypatch):
    """Tasks whose worker dies (the future fails) are run again; the answer is unchanged."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from preimage.engine import runner
    from preimage.engine.search import Search as FastRegionSearch

    monkeypatch.setattr(runner, "SERIAL_SECONDS", 0.0)
    monkeypatch.setattr(runner, "TASK_SECONDS", 0.02)
    monkeypatch.setattr(FastRegionSearch, "CHUNK", 32)

    class DyingWorkers(ThreadPoolExecutor):
        def __init__(self):
            super().__init__(max_workers=2)
            self.submitted = 0

        def submit(self, fn, *args, **kwargs):
            self.submitted += 1
            if self.submitted in (1, 2):  # these tasks' worker "dies"
                fut = Future()
                fut.set_exception(RuntimeError("worker process died"))
                return fut
            return super().submit(fn, *args, **kwargs)

    net, box = small_problem
    serial = preimage.linear_regions(net, box)
    with DyingWorkers() as ex:
        res = preimage.linear_regions(net, box, scheduler=ex)
        assert ex.submitted >= 3  # the two failed tasks were run again
    assert res.complete and patterns(res) == patterns(serial)


def test_results_are_immutable_snapshots(small_problem):
    import dataclasses

    net, box = small_problem
    res = preimage.linear_regions(net, box, max_pieces=20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.stats.nodes = 0
    with pytest.raises(TypeError):
        res.info["tasks"] = 1
    assert not res.vertices[0].flags.writeable
    with pytest.raises(ValueError):
        res.set[0].polyhedron.A[0, 0] = 1.0
    prop = Path(__file__).parent.parent / "benchmarks" / "acasxu" / "vnnlib" / "prop_4.vnnlib"
    v = preimage.verify(net, load_vnnlib(prop), time_limit=0.0, falsify=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.stats.seconds = 0.0


def test_checkpoints_of_earlier_versions_are_refused_clearly(tmp_path):
    """A version-2 checkpoint (nodes with boolean patterns, before activations were a protocol)
    gets a clear error naming the versions, not a traceback from inside the engine."""
    import pickle

    from preimage.engine.runner import CHECKPOINT_VERSION

    path = tmp_path / "old.checkpoint"
    path.write_bytes(pickle.dumps({"format": "preimage.checkpoint", "version": 2, "state": None, "pieces": {}}))
    with pytest.raises(preimage.InvalidInputError, match=f"version 2, expected {CHECKPOINT_VERSION}"):
        preimage.resume(path)
