"""Pieces are kept compactly — their pattern and the cut codes of the rows that cut them — and
rebuilt on demand (engine/rebuild.py) exactly as the walk made them.

Oracles: the rows the walk itself carries on its stack (a node left on the frontier holds its
rows ``(A, c)`` beside its cut codes: rebuilding them from the codes and the pattern must give
the same bits); numpy forward passes written here (every sampled point of a rebuilt piece has
the piece's pattern; the rebuilt affine map is the network's value there); and the size of a
result file, which must not carry rows, maps or vertices.
"""

from __future__ import annotations

import numpy as np
import pytest

import preimage
from preimage import Activity, Box
from preimage.engine.api import build_problems
from preimage.engine.search import make_search, rebuilt, root_nodes
from preimage.engine.targets import normalize_target
from test_activations_engine import KINDS, make_net  # (the module pytest imported: one registry)


def _frontier(net, target, layer, box, backend, budget):
    tgt = None if target is None else normalize_target(target, net, layer)
    (pb,) = build_problems(net, tgt, box, backend=backend)
    found = []
    search = make_search(pb, lambda p: found.append(p) or True, piece_budget=budget)
    left = search.run(root_nodes(pb))
    return pb, found, left


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ["vertex", "lp"])
def test_rows_rebuilt_from_cut_codes_are_the_walk_s_own_rows(kind, backend):
    """Every node the walk leaves on its stack carries its cutting rows; rebuilding them from
    the node's pattern and cut codes gives them bit for bit (decisions, max-unit comparisons)."""
    net, _ = make_net(kind, 3, seed=7)
    box = Box(-np.ones(3), np.ones(3))
    pb, found, left = _frontier(net, None, None, box, backend, budget=5)
    assert found and left, "the budget must leave a frontier to compare with"
    nodes = [n for n in left if n.cuts is not None and n.cuts.shape[0]]
    assert nodes
    raws = [type(found[0])(n.done.astype(bool) if pb.binary else n.done, n.cuts, -1) for n in nodes]
    for node, rows in zip(nodes, rebuilt(pb, raws)):
        A, c = node.rows
        assert rows.A.tobytes() == np.ascontiguousarray(A).tobytes()
        assert rows.c.tobytes() == np.ascontiguousarray(c).tobytes()


@pytest.mark.parametrize("kind", ["relu", "hardtanh", "maxpool1d"])
def test_rebuilt_pieces_have_their_pattern_and_map(kind):
    """Activity preimages (equalities and clips of the target) and plain regions: each rebuilt
    piece's sampled points have its pattern and its affine map's value (numpy forward pass)."""
    net, forward = make_net(kind, 3, seed=13)
    box = Box(-np.ones(3), np.ones(3))
    x0 = box.sample(3, seed=1)[1]
    for target, layer in ((None, None), (Activity(forward(x0[None, :], upto=1)[0]), 1)):
        res = (preimage.linear_regions(net, box) if target is None
               else preimage.preimage(net, target, layer=layer, domain=box))
        assert res.complete and len(res.set) > 0
        for piece in list(res.set)[:40]:
            S = piece.sample(5, seed=0)
            upto = 3 if layer is None else layer
            out, branches = forward(S, upto=upto, with_branches=True)
            assert np.abs(piece.affine_map(S) - out).max() < 1e-8
            if layer is None:  # regions: the whole pattern is the sampled points' branches
                assert all(np.array_equal(np.asarray(piece.pattern, dtype=np.int8), b.astype(np.int8))
                           for b in branches)


def test_a_result_file_keeps_patterns_and_cut_codes_only(tmp_path):
    """The file holds the problem once and per piece its pattern and cut codes: far less than
    the rows, maps and vertices it stood for (which every piece read back still has)."""
    rng = np.random.default_rng(0)
    net = preimage.Network.from_arrays([(rng.normal(size=(40, 3)), rng.normal(size=40), True),
                                        (rng.normal(size=(30, 40)), rng.normal(size=30), True),
                                        (rng.normal(size=(2, 30)), rng.normal(size=2), False)])
    box = Box(-np.ones(3), np.ones(3))
    res = preimage.linear_regions(net, box, out=tmp_path / "r.npz")
    n = len(res.set)
    assert n > 500
    with np.load(tmp_path / "r.npz") as z:
        assert str(z["format"]) == "preimage.EngineResult"
        assert not {"A", "b", "M", "c", "X"} & set(z.files)
        piece_bytes = sum(z[k].nbytes for k in ("patterns", "pattern_lengths", "cuts", "cut_offsets", "dims",
                                                "disjuncts", "domains"))
        cuts_per_piece = z["cuts"].shape[0] / n
    full_bytes = 0  # what the rows, maps and vertices of the pieces take when built
    for piece in res.set:
        full_bytes += piece.polyhedron.A.nbytes + piece.polyhedron.b.nbytes + piece.affine_map.M.nbytes
    assert piece_bytes < full_bytes / 3
    assert piece_bytes / n <= -(-70 // 8) + 8 * cuts_per_piece + 8 * 6  # pattern bits, codes, five integers


def test_a_stopped_streamed_run_resumes_from_its_compact_file(tmp_path):
    """Budget, then resume: the checkpoint refers to the compact file, the final file holds every
    region once (the same set as one serial run: patterns compared)."""
    rng = np.random.default_rng(1)
    net = preimage.Network.from_arrays([(rng.normal(size=(12, 2)), rng.normal(size=12), True),
                                        (rng.normal(size=(8, 12)), rng.normal(size=8), True),
                                        (rng.normal(size=(2, 8)), rng.normal(size=2), False)])
    box = Box([-2.0, -2.0], [2.0, 2.0])
    serial = preimage.linear_regions(net, box)
    out = tmp_path / "r.npz"
    part = preimage.linear_regions(net, box, out=out, max_pieces=len(serial.set) // 3)
    assert not part.complete
    done = preimage.resume(part.frontier_path)
    assert done.complete and len(done.set) == len(serial.set)
    back = preimage.load_geometry(out)
    key = sorted(np.packbits(p.pattern).tobytes() for p in back)
    assert key == sorted(np.packbits(p.pattern).tobytes() for p in serial.set)
    X = box.sample(1000, seed=0)
    assert np.array_equal(back.locate(X) >= 0, np.ones(1000, bool))
