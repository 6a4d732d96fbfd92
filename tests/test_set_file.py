"""A saved set read lazily (memory-mapped) is the same set as one read eagerly; engine
results streamed to a file are such views (their pieces rebuilt from patterns and cut codes)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import preimage
from preimage.engine.result_file import EngineResultView


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    rng = np.random.default_rng(3)
    net = preimage.Network.from_arrays([(rng.normal(size=(10, 2)), rng.normal(size=10), True),
                                        (rng.normal(size=(8, 10)), rng.normal(size=8), True),
                                        (rng.normal(size=(2, 8)), rng.normal(size=2), False)])
    box = preimage.Box([-2.0, -2.0], [2.0, 2.0])
    out = tmp_path_factory.mktemp("sf") / "regions.npz"
    res = preimage.linear_regions(net, box, out=out)
    return net, box, out, res


def test_streamed_result_is_a_file_view_equal_to_the_in_memory_answer(streamed):
    net, box, out, res = streamed
    assert isinstance(res.set, EngineResultView) and len(res.set) > 50
    mem = preimage.linear_regions(net, box)  # not streamed: built from memory
    assert len(mem.set) == len(res.set)
    for a, b in zip(res.set, mem.set):  # same order, same bits
        assert np.array_equal(a.pattern, b.pattern)
        assert a.polyhedron.A.tobytes() == b.polyhedron.A.tobytes()
        assert a.polyhedron.b.tobytes() == b.polyhedron.b.tobytes()
        assert np.array_equal(a.affine_map.M, b.affine_map.M) and np.array_equal(a.affine_map.c, b.affine_map.c)


def test_lazy_and_eager_loading_agree(streamed):
    net, box, out, _ = streamed
    lazy = preimage.load_geometry(out, lazy=True)
    eager = preimage.load_geometry(out)
    assert isinstance(lazy, EngineResultView) and len(lazy) == len(eager)
    assert np.array_equal(lazy[-1].pattern, eager[len(eager) - 1].pattern)
    with pytest.raises(IndexError):
        lazy[len(lazy)]
    X = box.sample(2000, seed=1)
    # the partition: every sample lies in exactly the piece whose pattern a forward pass gives
    assert np.array_equal(lazy.locate(X), eager.locate(X))
    assert lazy.contains(X).all()
    S = lazy.sample(40, seed=0)
    assert eager.contains(S).all()
    again = pickle.loads(pickle.dumps(lazy))
    assert len(again) == len(lazy) and np.array_equal(again[3].polyhedron.A, lazy[3].polyhedron.A)
    assert not lazy[0].polyhedron.A.flags.writeable


def test_a_saved_set_is_read_lazily_too(streamed, tmp_path):
    from preimage.polyhedra.set_file import SetFileView

    net, box, out, res = streamed
    res.set.save(tmp_path / "saved.npz")  # a plain PolyhedralSet file (the format before engine results)
    lazy = preimage.load_geometry(tmp_path / "saved.npz", lazy=True)
    assert isinstance(lazy, SetFileView) and len(lazy) == len(res.set)
    X = box.sample(500, seed=2)
    assert np.array_equal(lazy.locate(X), res.set.locate(X))
    with pytest.raises(preimage.InvalidInputError, match="engine result"):
        from preimage.polyhedra.io import load_geometry

        load_geometry(out)  # the polyhedra layer cannot rebuild pieces: a clear error


def test_compressed_files_are_read_not_mapped(tmp_path):
    S = preimage.PolyhedralSet([preimage.Box([0.0, 0.0], [1.0, 1.0]), preimage.Box([2.0, 0.0], [3.0, 1.0])])
    S.save(tmp_path / "s.npz")  # save() compresses
    lazy = preimage.load_geometry(tmp_path / "s.npz", lazy=True)
    assert len(lazy) == 2 and lazy.contains([[0.5, 0.5], [1.5, 0.5], [2.5, 0.5]]).tolist() == [True, False, True]
    box_file = tmp_path / "b.npz"
    from preimage.polyhedra.io import save

    save(preimage.Box([0.0], [1.0]), box_file)  # a box, not a set
    with pytest.raises(preimage.InvalidInputError):
        preimage.load_geometry(box_file, lazy=True)
