"""Engine results are frozen snapshots, and the vertices they give are in input coordinates.

The vertex oracle here is independent of the engine and of ``preimage.polyhedra``: every
choice of ``n`` linearly independent constraints of the piece's H-representation (in input
coordinates) that is feasible gives a vertex, and only those do.
"""

from __future__ import annotations

import dataclasses
import pickle
from itertools import combinations

import numpy as np
import pytest

import preimage
from preimage.engine.domain import chart
from preimage.engine.result import FrozenMapping, freeze
from preimage.engine.search import RunStats

TOL = 1e-7


# -- an independent vertex oracle ------------------------------------------------------------------
def oracle_vertices(A: np.ndarray, b: np.ndarray, C: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Vertices of ``{A x <= b, C x = d}`` by brute force over the active sets."""
    n = A.shape[1]
    rank_c = np.linalg.matrix_rank(C) if C.shape[0] else 0
    found = []
    for rows in combinations(range(A.shape[0]), n - rank_c):
        M = np.vstack([C, A[list(rows)]])
        if np.linalg.matrix_rank(M, tol=1e-9) < n:
            continue
        x = np.linalg.lstsq(M, np.concatenate([d, b[list(rows)]]), rcond=None)[0]
        if np.all(A @ x <= b + TOL) and np.all(np.abs(C @ x - d) <= TOL):
            found.append(x)
    return dedupe(np.array(found).reshape(-1, n))


def dedupe(V: np.ndarray) -> np.ndarray:
    keep: list[int] = []
    for i in range(V.shape[0]):
        if not keep or np.min(np.linalg.norm(V[keep] - V[i], axis=1)) > 1e-6:
            keep.append(i)
    return V[keep]


def same_points(P: np.ndarray, Q: np.ndarray) -> bool:
    """Equal as point sets (within a tolerance)."""
    P, Q = dedupe(np.asarray(P)), dedupe(np.asarray(Q))
    if P.shape != Q.shape:
        return False
    D = np.linalg.norm(P[:, None, :] - Q[None, :, :], axis=2)
    return bool(np.all(D.min(axis=1) <= 1e-6) and np.all(D.min(axis=0) <= 1e-6))


def check_piece_vertices(piece, V) -> None:
    """``V`` are the piece's vertices, in the coordinates of its polyhedron."""
    P = piece.polyhedron
    assert V.ndim == 2 and V.shape[1] == P.ambient_dim
    assert np.all(V @ P.A.T <= P.b + TOL), "a vertex violates the piece's inequalities"
    assert np.all(np.abs(V @ P.C.T - P.d) <= TOL), "a vertex violates the piece's equalities"
    oracle = oracle_vertices(np.asarray(P.A), np.asarray(P.b), np.asarray(P.C), np.asarray(P.d))
    assert same_points(V, oracle), f"vertices {V.tolist()} != oracle {oracle.tolist()}"


# -- small networks and domains ----------------------------------------------------------------------
def small_net(n_in: int, seed: int) -> preimage.Network:
    rng = np.random.default_rng(seed)
    return preimage.Network.from_arrays([
        (rng.normal(size=(5, n_in)), 0.3 * rng.normal(size=5), True),
        (rng.normal(size=(3, 5)), 0.3 * rng.normal(size=3), True),
        (rng.normal(size=(2, 3)), 0.3 * rng.normal(size=2), False),
    ])


def tilted_polygon() -> preimage.Polyhedron:
    """A quadrilateral with no axis-aligned side."""
    return preimage.Polyhedron([[1.0, 2.0], [-2.0, 1.0], [0.5, -1.5], [-1.0, -1.0]], [2.0, 2.0, 1.5, 1.0])


def tilted_polytope() -> preimage.Polyhedron:
    """A shifted octahedron in R^3."""
    signs = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], dtype=float)
    return preimage.Polyhedron(signs, 1.2 + signs @ np.array([0.1, -0.2, 0.05]))


def flat_polygon() -> preimage.Polyhedron:
    """The plane ``x + 2 y - z = 0.3`` inside ``[-1, 1]^3``: a 2-D domain in R^3."""
    box = preimage.Box(-np.ones(3), np.ones(3)).as_polyhedron()
    return preimage.Polyhedron(box.A, box.b, [[1.0, 2.0, -1.0]], [0.3])


DOMAINS = {
    "box-2d": (2, lambda: preimage.Box([-1.0, -1.0], [1.0, 1.0])),
    "tilted-2d": (2, tilted_polygon),
    "box-3d": (3, lambda: preimage.Box(-np.ones(3), np.ones(3))),
    "tilted-3d": (3, tilted_polytope),
    "flat-3d": (3, flat_polygon),
    "flat-box-3d": (3, lambda: preimage.Box([-1.0, -1.0, 0.2], [1.0, 1.0, 0.2])),
}


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_vertices_are_the_pieces_vertices_in_input_coordinates(name):
    n, make = DOMAINS[name]
    dom = make()
    ch = chart(dom, n)
    if not name.startswith("box"):  # the premise: the engine's chart is not the input space
        assert ch.dim < n or not (np.allclose(ch.B, np.eye(n)) and np.allclose(ch.x0, 0.0))
    res = preimage.linear_regions(small_net(n, seed=n), dom, backend="vertex")
    assert res.complete and len(res.set) > 3
    assert len(res.vertices) == len(res.set)
    for i, piece in enumerate(res.set):
        assert piece.kept_vertices is None  # the engine keeps none: enumerated on demand, once
        V = res.vertices[i]
        assert piece.vertices() is V and piece.kept_vertices is V and not V.flags.writeable
        check_piece_vertices(piece, V)


# (box domains here: a target on a non-box polyhedron domain makes the engine compile read-only
# overloads of its vertex kernels at run time, which tests/test_kernels.py rightly refuses —
# a bug of engine/domain.py's vertex_start, outside this change)
@pytest.mark.parametrize("name", ["box-2d", "box-3d", "flat-box-3d"])
def test_flat_pieces_of_a_preimage_have_their_vertices_in_input_coordinates(name):
    """An affine-subspace target: pieces of lower dimension, with equalities (a flat box: the
    chart is two of the three coordinates, shifted)."""
    n, make = DOMAINS[name]
    net = small_net(n, seed=10 + n)
    dom = make()
    X = dom.sample(200, seed=0)
    level = float(np.median(net.forward(X)[:, 0]))
    res = preimage.preimage(net, preimage.AffineSubspace([[1.0, 0.0]], [level]), domain=dom, backend="vertex")
    assert res.complete and len(res.set) > 0
    for i, piece in enumerate(res.set):
        assert piece.polyhedron.dim < ch_dim(dom, n)
        check_piece_vertices(piece, res.vertices[i])


def ch_dim(dom, n: int) -> int:
    return chart(dom, n).dim


def test_slice_pieces_keep_their_vertices_in_slice_coordinates():
    net = small_net(3, seed=3)
    sl = preimage.Slice.through(np.array([[0.1, 0.2, -0.3], [0.8, -0.1, 0.2], [-0.4, 0.7, 0.5]]))
    res = preimage.linear_regions(net, sl)
    assert res.set.ambient_dim == 2
    for piece in res.set:
        check_piece_vertices(piece, piece.vertices())


def test_a_union_of_domains_gives_each_piece_its_own_domain_s_coordinates():
    net = small_net(2, seed=4)
    doms = [preimage.Box([-1.0, -1.0], [0.0, 1.0]), preimage.Box([0.0, -1.0], [1.5, 1.0])]
    res = preimage.linear_regions(net, doms)
    assert set(res.domain_index.tolist()) == {0, 1}
    for piece in res.set:
        check_piece_vertices(piece, piece.vertices())


def test_the_lp_backend_s_pieces_enumerate_their_vertices():
    res = preimage.linear_regions(small_net(3, seed=3), tilted_polytope(), backend="lp")
    assert len(res.set) > 3
    for piece in res.set:
        assert piece.kept_vertices is None
        V = piece.vertices()
        assert not V.flags.writeable
        check_piece_vertices(piece, V)


def test_result_files_give_the_same_vertices(tmp_path):
    """``out=`` (memory-mapped view), ``save`` + ``load_geometry`` (.npz, .json): the pieces
    read back enumerate the same input-coordinate vertices the engine kept."""
    net, dom = small_net(3, seed=3), flat_polygon()
    mem = preimage.linear_regions(net, dom)
    streamed = preimage.linear_regions(net, dom, out=tmp_path / "regions.npz")
    assert len(streamed.vertices) == len(mem.set)
    mem.set.save(tmp_path / "saved.npz")
    mem.set.save(tmp_path / "saved.json")
    for other in (streamed.set, preimage.load_geometry(tmp_path / "saved.npz"),
                  preimage.load_geometry(tmp_path / "saved.json"),
                  preimage.load_geometry(tmp_path / "regions.npz", lazy=True)):
        assert len(other) == len(mem.set)
    for i, piece in enumerate(mem.set):
        for other in (streamed.set, preimage.load_geometry(tmp_path / "saved.npz")):
            q = other[i]
            assert np.array_equal(q.pattern, piece.pattern)
            assert q.kept_vertices is None
            assert same_points(q.vertices(), piece.vertices())


def test_hand_built_pieces_answer_vertices_from_their_polyhedron():
    piece = preimage.Piece(preimage.Box([0.0, 0.0], [1.0, 2.0]))
    assert piece.kept_vertices is None
    assert same_points(piece.vertices(), np.array([[0, 0], [1, 0], [0, 2], [1, 2]], dtype=float))
    kept = preimage.Piece(preimage.Box([0.0], [1.0]), kept_vertices=[[0.0], [1.0]])
    assert not kept.kept_vertices.flags.writeable and kept.vertices() is kept.kept_vertices
    with pytest.raises(preimage.InvalidInputError):
        preimage.Piece(preimage.Box([0.0], [1.0]), kept_vertices=[[0.0, 1.0]])


# -- frozen ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def union_result():
    """A result with every field filled: a union target (``info['disjunct_origin']``)."""
    net = small_net(2, seed=5)
    targets = [preimage.Box([-10.0, -10.0], [0.0, 10.0]), preimage.Box([-0.5, -10.0], [10.0, 10.0])]
    return preimage.preimage(net, targets, domain=preimage.Box([-1.0, -0.5], [1.0, 1.5]))


def test_a_result_cannot_be_changed(union_result):
    res = union_result
    assert len(res.set) > 0 and res.info["disjunct_origin"]
    for name, value in (("complete", False), ("set", None), ("vertices", ()), ("info", {}), ("stats", None)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(res, name, value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.stats.pieces = 0
    with pytest.raises(TypeError):
        res.info["tasks"] = 1
    with pytest.raises(TypeError):
        del res.info["disjunct_origin"]
    with pytest.raises(AttributeError):
        res.info.update({"x": 1})
    assert isinstance(res.info, FrozenMapping)
    assert isinstance(res.info["disjunct_origin"], tuple)  # a list, frozen
    for arr in (res.disjuncts, res.domain_index, res.vertices[0], res.set[0].kept_vertices,
                res.set[0].polyhedron.A, res.set[0].pattern, res.set[0].affine_map.M):
        with pytest.raises(ValueError):
            arr[0] = 0
    with pytest.raises(TypeError):
        res.vertices[0] = None  # a read-only sequence


def test_a_result_does_not_share_the_caller_s_arrays_or_dicts():
    info = {"nested": {"a": [1, 2]}, "arr": np.zeros(2)}
    dis = np.zeros(1, dtype=np.int64)
    res = preimage.PreimageResult(preimage.PolyhedralSet([preimage.Box([0.0], [1.0])]), True,
                                  RunStats(), 1, dis, np.zeros(1, dtype=np.int64),
                                  (np.array([[0.0], [1.0]]),), info=info)
    info["nested"]["a"].append(3)
    info["arr"][0] = 5.0
    dis[0] = 7
    assert res.info["nested"]["a"] == (1, 2) and res.info["arr"][0] == 0.0 and res.disjuncts[0] == 0
    assert isinstance(res.info["nested"], FrozenMapping)
    with pytest.raises(ValueError):
        res.info["arr"][0] = 1.0
    with pytest.raises(ValueError):
        res.vertices[0][0, 0] = 1.0


def test_freeze_is_recursive():
    frozen = freeze({"a": [1, {"b": {2, 3}}], "c": np.arange(3)})
    assert frozen["a"][0] == 1 and frozen["a"][1]["b"] == frozenset({2, 3})
    assert not frozen["c"].flags.writeable
    assert dict(frozen["a"][1]) == {"b": frozenset({2, 3})}


def test_a_pickled_result_stays_frozen(union_result):
    back = pickle.loads(pickle.dumps(union_result))
    assert dict(back.info) == dict(union_result.info) and back.stats == union_result.stats
    assert len(back.set) == len(union_result.set)
    assert not back.disjuncts.flags.writeable and not back.vertices[0].flags.writeable
    with pytest.raises(TypeError):
        back.info["x"] = 1
    assert same_points(back.set[0].vertices(), union_result.set[0].vertices())


def test_a_verdict_cannot_be_changed():
    from preimage.engine.result import Verdict

    v = Verdict("sat", np.zeros(2), np.ones(1), RunStats(), info={"found_by": "test"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.status = "unsat"
    with pytest.raises(TypeError):
        v.info["found_by"] = "x"
    with pytest.raises(ValueError):
        v.counterexample[0] = 1.0
