"""Activation patterns of networks whose units have more than two branches: ``int8`` branch
indices kept by :class:`~preimage.Piece`, saved and loaded (``.npz`` eager and lazy, ``.json``)
unchanged, while boolean patterns — and old files, which hold only boolean ones — stay boolean.

Oracles: the patterns written are compared with the patterns read back element by element;
an "old" file is written here with the arrays of the format before int8 patterns (uint8 0/1,
255-padded); counts of distinct prefixes are checked against a Python set of tuples.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import preimage
from preimage import InvalidInputError, Piece, PolyhedralSet
from preimage.activations import HardTanh, LeakyReLU, MaxPool
from preimage.analysis.regions import count_by_layer, pattern_offsets
from preimage.polyhedra import load_geometry, save
from preimage.polyhedra.io import concat_set_arrays, set_from_arrays, set_to_arrays


def square(lo: float, hi: float) -> preimage.Polyhedron:
    return preimage.Box([lo, lo], [hi, hi]).as_polyhedron()


def branch_set() -> PolyhedralSet:
    return PolyhedralSet([
        Piece(square(0, 1), np.array([0, 2, 1], dtype=np.int8), (np.eye(2), np.zeros(2))),
        Piece(square(1, 2), [1, 1, 0, 3, 2], (2 * np.eye(2), np.ones(2))),  # another length
        Piece(square(2, 3)),                                                   # no pattern
    ])


def test_piece_keeps_integers_as_int8_and_booleans_as_bool():
    P = square(0, 1)
    assert Piece(P, [True, False]).pattern.dtype == np.bool_
    assert Piece(P, np.array([1, 0], dtype=bool)).pattern.tolist() == [True, False]
    p = Piece(P, [0, 2, 1])
    assert p.pattern.dtype == np.int8 and p.pattern.tolist() == [0, 2, 1]
    assert Piece(P, np.array([3, 0], dtype=np.uint8)).pattern.dtype == np.int8
    assert not p.pattern.flags.writeable
    assert Piece._trusted(P, np.array([0, 2], dtype=np.int64), None).pattern.dtype == np.int8
    assert Piece._trusted(P, np.array([True]), None).pattern.dtype == np.bool_
    assert Piece(P, []).pattern.dtype == np.bool_
    with pytest.raises(InvalidInputError, match="0..127"):
        Piece(P, [0, 200])
    with pytest.raises(InvalidInputError, match="booleans or integer"):
        Piece(P, [0.5, 1.0])


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_int8_patterns_round_trip(tmp_path, suffix):
    S = branch_set()
    path = tmp_path / f"s{suffix}"
    save(S, path)
    back = load_geometry(path)
    for a, b in zip(S, back):
        if a.pattern is None:
            assert b.pattern is None
        else:
            assert b.pattern.dtype == np.int8 and np.array_equal(a.pattern, b.pattern)
    if suffix == ".npz":
        lazy = load_geometry(path, lazy=True)
        assert [None if p.pattern is None else (p.pattern.dtype, p.pattern.tolist()) for p in lazy] == \
               [None if p.pattern is None else (np.dtype(np.int8), p.pattern.tolist()) for p in S]
        with np.load(path) as z:
            assert z["patterns"].dtype == np.int8 and z["patterns"][0, 3] == -1  # padding
    else:
        data = json.loads(path.read_text())
        assert data["pieces"][0]["pattern_dtype"] == "int8"


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_boolean_patterns_stay_boolean(tmp_path, suffix):
    S = PolyhedralSet([Piece(square(0, 1), [True, False, True]), Piece(square(1, 2), [False])])
    save(S, tmp_path / f"b{suffix}")
    back = load_geometry(tmp_path / f"b{suffix}")
    assert [p.pattern.dtype for p in back] == [np.bool_, np.bool_]
    assert [p.pattern.tolist() for p in back] == [[True, False, True], [False]]
    if suffix == ".npz":
        with np.load(tmp_path / "b.npz") as z:
            assert z["patterns"].dtype == np.uint8 and z["patterns"][1, 1] == 255


def test_old_files_with_boolean_patterns_load_as_bool(tmp_path):
    # written as files were before int8 patterns: uint8 0/1 rows padded with 255, no marker
    n = 2
    arrays = {
        "format": np.array("preimage.PolyhedralSet"), "version": np.array(1), "ambient_dim": np.array(n),
        "A": np.vstack([square(0, 1).A, square(1, 2).A]), "b": np.concatenate([square(0, 1).b, square(1, 2).b]),
        "A_offsets": np.array([0, 4, 8]), "C": np.zeros((0, n)), "d": np.zeros(0), "C_offsets": np.array([0, 0, 0]),
        "patterns": np.array([[1, 0, 1], [0, 255, 255]], dtype=np.uint8), "pattern_lengths": np.array([3, 1]),
    }
    np.savez(tmp_path / "old.npz", **arrays)
    for S in (load_geometry(tmp_path / "old.npz"), load_geometry(tmp_path / "old.npz", lazy=True)):
        assert [p.pattern.dtype for p in S] == [np.bool_, np.bool_]
        assert [p.pattern.tolist() for p in S] == [[True, False, True], [False]]
    old_json = {"format": "preimage.PolyhedralSet", "version": 1, "ambient_dim": n,
                "pieces": [dict(square(0, 1).to_dict(), pattern=[1, 0])]}
    (tmp_path / "old.json").write_text(json.dumps(old_json))
    (p,) = load_geometry(tmp_path / "old.json")
    assert p.pattern.dtype == np.bool_ and p.pattern.tolist() == [True, False]


def test_concatenating_boolean_and_int8_parts_keeps_the_branches():
    a = set_to_arrays(PolyhedralSet([Piece(square(0, 1), [True, False])]))
    b = set_to_arrays(branch_set())
    joined = set_from_arrays(concat_set_arrays([a, b]))
    assert [None if p.pattern is None else p.pattern.tolist() for p in joined] == \
           [[1, 0], [0, 2, 1], [1, 1, 0, 3, 2], None]
    assert joined[1].pattern.dtype == np.int8


def test_pattern_offsets_and_count_by_layer_on_branch_patterns():
    rng = np.random.default_rng(0)
    net = preimage.Network.from_arrays([
        (rng.normal(size=(4, 2)), rng.normal(size=4), HardTanh(-0.5, 0.5)),
        (rng.normal(size=(4, 4)), rng.normal(size=4), MaxPool((1, 4), 2)),
        (rng.normal(size=(3, 2)), rng.normal(size=3), LeakyReLU(0.1)),
        (rng.normal(size=(1, 3)), rng.normal(size=1), False),
    ])
    assert pattern_offsets(net).tolist() == [0, 4, 6, 9, 9]
    X = rng.normal(size=(300, 2)) * 2
    P = net.activation_pattern(X)
    assert P.dtype == np.int8 and P.shape == (300, 9)

    class Result:  # what count_by_layer reads of an engine result: .set
        set = PolyhedralSet([Piece(square(0, 1), row) for row in P])

    counts = count_by_layer(Result(), net, [1, 2, 3])
    for k, m in ((1, 4), (2, 6), (3, 9)):
        assert counts[k] == len({tuple(row[:m]) for row in P.tolist()})
    assert counts[1] > 2  # HardTanh branches 0, 1, 2 make more than binary prefixes


def test_explorer_and_colours_show_branch_indices():
    pytest.importorskip("matplotlib")
    from preimage.plotting._style import pattern_colours
    from preimage.plotting.explore import _pattern_text, explorer_data

    assert _pattern_text(np.array([True, False, True])) == "101"
    assert _pattern_text(np.array([0, 2, 1], dtype=np.int8)) == "021"
    assert _pattern_text(np.array([0, 12, 1], dtype=np.int8)) == "0.12.1"
    c = pattern_colours([np.array([0, 2, 1], np.int8), np.array([0, 1, 1], np.int8), np.array([0, 2, 1], np.int8)])
    assert c[0] == c[2] and c[0] != c[1]
    old = pattern_colours([np.array([True, False])])  # booleans: as before (packed bits)
    assert old == pattern_colours([[True, False]])
    data = explorer_data(PolyhedralSet([Piece(square(0, 1), np.array([0, 2], np.int8)),
                                        Piece(square(1, 2), [True, False])]))
    assert [(p["pattern"], p["binary"]) for p in data["pieces"]] == [("02", False), ("10", True)]
