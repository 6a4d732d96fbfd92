"""Saving and loading geometry: ``.npz`` (any size) and ``.json`` (small results).

The formats are documented in ``docs/formats.md``. In short, an ``.npz`` file holds

* ``format`` — ``"preimage.Polyhedron"``, ``"preimage.Box"`` or ``"preimage.PolyhedralSet"``;
* ``version`` — ``1``;
* ``ambient_dim`` — ``n``;
* for a set: ``A`` (stacked rows of every piece), ``b``, ``A_offsets`` (piece ``i`` owns rows
  ``A_offsets[i]:A_offsets[i+1]``), likewise ``C``, ``d``, ``C_offsets``; optionally
  ``patterns`` (one row per piece: ``uint8`` 0/1 for boolean patterns, padded with ``255``;
  ``int8`` branch indices, padded with ``-1``; ``pattern_lengths`` gives each row's length, ``-1``:
  absent) and ``M``/``c``/``M_offsets``
  for the affine maps (a piece without a map has an empty block);
* for a polyhedron: ``A``, ``b``, ``C``, ``d``; for a box: ``lo``, ``hi``.

JSON files hold the same content as nested lists (``to_dict``).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from .box import Box
from .polyhedral_set import AffineMap, Piece, PolyhedralSet
from .polyhedron import Polyhedron

__all__ = ["save", "load_geometry", "set_to_arrays", "set_from_arrays", "concat_set_arrays", "pattern_dtype"]

VERSION = 1


def _suffix(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".npz", ".json"):
        raise InvalidInputError(f"path must end in .npz or .json, got {str(path)!r}")
    return suffix


def set_to_arrays(S: PolyhedralSet) -> dict[str, np.ndarray]:
    """Flatten a :class:`PolyhedralSet` into the arrays of the ``.npz`` format."""
    n = S.ambient_dim
    A = [p.polyhedron.A for p in S] or [np.zeros((0, n))]
    b = [p.polyhedron.b for p in S] or [np.zeros(0)]
    C = [p.polyhedron.C for p in S] or [np.zeros((0, n))]
    d = [p.polyhedron.d for p in S] or [np.zeros(0)]
    out: dict[str, np.ndarray] = {
        "format": np.array("preimage.PolyhedralSet"),
        "version": np.array(VERSION),
        "ambient_dim": np.array(n),
        "A": np.vstack(A),
        "b": np.concatenate(b),
        "A_offsets": np.concatenate([[0], np.cumsum([p.polyhedron.n_inequalities for p in S])]).astype(np.int64),
        "C": np.vstack(C),
        "d": np.concatenate(d),
        "C_offsets": np.concatenate([[0], np.cumsum([p.polyhedron.n_equalities for p in S])]).astype(np.int64),
    }
    if any(p.pattern is not None for p in S):
        width = max((len(p.pattern) for p in S if p.pattern is not None), default=0)
        branches = any(p.pattern is not None and p.pattern.dtype != np.bool_ for p in S)
        pats = np.full((len(S), width), -1, dtype=np.int8) if branches else np.full((len(S), width), 255, np.uint8)
        for i, p in enumerate(S):
            if p.pattern is not None:
                pats[i, : len(p.pattern)] = p.pattern
        out["patterns"] = pats
        out["pattern_lengths"] = np.array(
            [-1 if p.pattern is None else len(p.pattern) for p in S], dtype=np.int64
        )
    if any(p.affine_map is not None for p in S):
        out_dim = next(p.affine_map.out_dim for p in S if p.affine_map is not None)
        Ms = [p.affine_map.M if p.affine_map is not None else np.zeros((0, n)) for p in S]
        cs = [p.affine_map.c if p.affine_map is not None else np.zeros(0) for p in S]
        out["M"] = np.vstack(Ms)
        out["c"] = np.concatenate(cs)
        out["M_offsets"] = np.concatenate([[0], np.cumsum([m.shape[0] for m in Ms])]).astype(np.int64)
        out["map_dim"] = np.array(out_dim)
    return out


def concat_set_arrays(parts: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One set's arrays from the arrays of several sets of one ambient space (the pieces in
    order); the parts hold patterns and maps alike (all or none)."""
    parts = [p for p in parts if len(p["A_offsets"]) > 1] or parts[:1]
    first = parts[0]
    out: dict[str, np.ndarray] = {k: first[k] for k in ("format", "version", "ambient_dim")}
    for rows, vecs, off in (("A", "b", "A_offsets"), ("C", "d", "C_offsets"), ("M", "c", "M_offsets")):
        if off not in first:
            continue
        out[rows] = np.concatenate([p[rows] for p in parts])
        out[vecs] = np.concatenate([p[vecs] for p in parts])
        shifts = np.cumsum([0] + [int(p[off][-1]) for p in parts[:-1]])
        out[off] = np.concatenate([[0]] + [p[off][1:] + s for p, s in zip(parts, shifts)]).astype(np.int64)
    if "map_dim" in first:
        out["map_dim"] = first["map_dim"]
    for extra in ("disjuncts", "domains"):  # per-piece integers of engine results
        if all(extra in p for p in parts):
            out[extra] = np.concatenate([p[extra] for p in parts])
    if "patterns" in first:
        width = max(p["patterns"].shape[1] for p in parts)
        branches = any(p["patterns"].dtype == np.int8 for p in parts)
        out["patterns"] = np.concatenate([
            np.pad(np.asarray(p["patterns"], dtype=np.int8 if branches else np.uint8),
                   ((0, 0), (0, width - p["patterns"].shape[1])), constant_values=-1 if branches else 255)
            for p in parts])
        out["pattern_lengths"] = np.concatenate([p["pattern_lengths"] for p in parts])
    return out


def pattern_dtype(patterns: np.ndarray | None) -> type:
    """How the ``patterns`` array of a file is read: ``int8`` branch indices when it is stored as
    ``int8``, booleans otherwise (``uint8`` 0/1, as every file before multi-branch activations)."""
    return np.int8 if patterns is not None and patterns.dtype == np.int8 else bool


def set_from_arrays(data: Mapping[str, np.ndarray]) -> PolyhedralSet:
    """Rebuild a :class:`PolyhedralSet` from the arrays of the ``.npz`` format."""
    n = int(data["ambient_dim"])
    A, b, Ao = data["A"], data["b"], data["A_offsets"]
    C, d, Co = data["C"], data["d"], data["C_offsets"]
    pats = data["patterns"] if "patterns" in data else None
    plen = data["pattern_lengths"] if "pattern_lengths" in data else None
    kind = pattern_dtype(pats)
    maps = "M" in data
    pieces = []
    for i in range(len(Ao) - 1):
        P = Polyhedron(A[Ao[i] : Ao[i + 1]].reshape(-1, n), b[Ao[i] : Ao[i + 1]],
                       C[Co[i] : Co[i + 1]].reshape(-1, n), d[Co[i] : Co[i + 1]])
        pattern: np.ndarray | None = None
        if pats is not None and plen is not None and plen[i] >= 0:
            pattern = pats[i, : plen[i]].astype(kind)
        amap = None
        if maps:
            Mo = data["M_offsets"]
            if Mo[i + 1] > Mo[i]:
                amap = AffineMap(data["M"][Mo[i] : Mo[i + 1]], data["c"][Mo[i] : Mo[i + 1]])
        pieces.append(Piece(P, pattern, amap))
    return PolyhedralSet(pieces, n)


def save(obj: Polyhedron | Box | PolyhedralSet, path: str | os.PathLike[str]) -> None:
    """Save a :class:`Polyhedron`, :class:`Box` or :class:`PolyhedralSet` to ``path``.

    The suffix chooses the format: ``.npz`` (compressed arrays) or ``.json``.
    """
    suffix = _suffix(path)
    path = os.fspath(path)
    if suffix == ".json":
        if isinstance(obj, PolyhedralSet):
            data = obj.to_dict()
        elif isinstance(obj, Polyhedron):
            data = {"format": "preimage.Polyhedron", "version": VERSION, **obj.to_dict()}
        elif isinstance(obj, Box):
            data = {"format": "preimage.Box", "version": VERSION, **obj.to_dict()}
        else:
            raise InvalidInputError(f"cannot save a {type(obj).__name__}")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        return
    if isinstance(obj, PolyhedralSet):
        arrays = set_to_arrays(obj)
    elif isinstance(obj, Polyhedron):
        arrays = {"format": np.array("preimage.Polyhedron"), "version": np.array(VERSION),
                  "ambient_dim": np.array(obj.ambient_dim), "A": obj.A, "b": obj.b, "C": obj.C, "d": obj.d}
    elif isinstance(obj, Box):
        arrays = {"format": np.array("preimage.Box"), "version": np.array(VERSION),
                  "ambient_dim": np.array(obj.ambient_dim), "lo": obj.lo, "hi": obj.hi}
    else:
        raise InvalidInputError(f"cannot save a {type(obj).__name__}")
    # numpy's stub lets a ``**`` mapping of arrays fill the keyword ``allow_pickle: bool``
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load_geometry(path: str | os.PathLike[str], *, lazy: bool = False) -> Polyhedron | Box | PolyhedralSet:
    """Load what :func:`save` wrote (a Polyhedron, Box or PolyhedralSet).

    With ``lazy=True`` a set in an ``.npz`` file comes back as a
    :class:`~preimage.polyhedra.set_file.SetFileView`: its arrays are memory-mapped and a
    piece is built only when used (for results with very many pieces).
    """
    suffix = _suffix(path)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InvalidInputError(f"path {path!r} does not exist")
    if lazy and suffix == ".npz":
        from .set_file import SetFileView

        try:
            return SetFileView(path)
        except (OSError, ValueError, zipfile.BadZipFile, KeyError) as exc:
            raise InvalidInputError(f"{path!r} is not a preimage geometry file: {exc}") from exc
    try:
        if suffix == ".json":
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            kind = data.get("format")
        else:
            with np.load(path, allow_pickle=False) as npz:
                data = {k: npz[k] for k in npz.files}
            kind = str(data["format"]) if "format" in data else None
    except (OSError, ValueError, zipfile.BadZipFile, json.JSONDecodeError, KeyError) as exc:
        raise InvalidInputError(f"{path!r} is not a preimage geometry file: {exc}") from exc
    if kind == "preimage.PolyhedralSet":
        return PolyhedralSet.from_dict(data) if suffix == ".json" else set_from_arrays(data)
    if kind == "preimage.Polyhedron":
        n = int(data["ambient_dim"])
        return Polyhedron(np.asarray(data["A"]).reshape(-1, n), data["b"],
                          np.asarray(data["C"]).reshape(-1, n), data["d"])
    if kind == "preimage.Box":
        return Box(data["lo"], data["hi"])
    if kind == "preimage.EngineResult":  # its pieces are rebuilt by the engine
        raise InvalidInputError(f"{path!r} is an engine result file: load it with preimage.load_geometry")
    raise InvalidInputError(f"{path!r} has unknown format {kind!r}; expected a preimage geometry file")
