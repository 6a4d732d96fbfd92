"""A :class:`~preimage.PolyhedralSet` read lazily from its ``.npz`` file.

Engine results can hold hundreds of thousands of pieces. Their files are stored uncompressed,
so every array of the file can be memory-mapped: :class:`SetFileView` knows its length at
once, and builds a piece (from views of the mapped arrays, bit for bit as written) only when
it is indexed or reached by iteration — ``len``, indexing, iteration, ``contains``,
``locate`` and ``sample`` never hold more than one piece's arrays. Compressed members and
small ones are read into memory instead.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._validation import readonly
from ..errors import InvalidInputError
from .io import pattern_dtype
from .polyhedral_set import AffineMap, Piece, PolyhedralSet
from .polyhedron import Polyhedron

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from numpy.typing import NDArray

__all__ = ["LazySetView", "SetFileView", "map_arrays"]

#: members smaller than this are read into memory rather than mapped
_MAP_MIN_BYTES = 1 << 16


def map_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file at ``path``: memory-mapped (read-only) where stored
    uncompressed, read otherwise."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[:-4]
            if info.compress_type != zipfile.ZIP_STORED or info.file_size < _MAP_MIN_BYTES:
                with zf.open(info) as member:
                    out[key] = readonly(np.lib.format.read_array(member, allow_pickle=False))
                continue
            fh.seek(info.header_offset)
            local = fh.read(30)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            major, _ = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(fh)
            out[key] = np.memmap(path, dtype=dtype, mode="r", offset=fh.tell(), shape=shape,
                                 order="F" if fortran else "C")
    return out


class LazySetView(PolyhedralSet):
    """A set whose pieces are read from a file when used: the file's length at once, a piece
    (or a batch, :meth:`_pieces`) built when indexed or reached by iteration. Subclasses say
    how the rows ``js`` of the file become pieces; ``order`` (optional) lists the file's pieces
    in the order the view presents them."""

    #: pieces built per call of :meth:`_pieces` while iterating
    BATCH = 1024

    # set in _open (the instance has a __dict__: the base class's slots stay unset)
    _path: str
    _arrays: dict[str, np.ndarray]
    _order: NDArray[np.int64] | None
    _n: int

    def _open(self, path: str | os.PathLike[str], arrays: dict[str, np.ndarray], n_file: int, ambient_dim: int,
              order: np.ndarray | None) -> None:
        order = None if order is None else np.asarray(order, dtype=np.int64)
        in_range = order is None or not n_file or 0 <= order.min() <= order.max() < n_file
        if order is not None and (order.shape[0] != n_file or not in_range):
            raise InvalidInputError(f"order must list the {n_file} pieces of {str(path)!r}")
        object.__setattr__(self, "ambient_dim", int(ambient_dim))
        object.__setattr__(self, "_path", str(Path(path)))
        object.__setattr__(self, "_arrays", arrays)
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_n", n_file)

    def _pieces(self, js: list[int]) -> list[Piece]:
        """The pieces of the file's rows ``js``."""
        raise NotImplementedError

    def _file_row(self, i: int) -> int:
        return int(self._order[i]) if self._order is not None else i % self._n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> Piece:
        i = int(i)
        if not -self._n <= i < self._n:
            raise IndexError(f"piece index {i} out of range for {self._n} pieces")
        return self._pieces([self._file_row(i)])[0]

    def __iter__(self) -> Iterator[Piece]:
        for start in range(0, self._n, self.BATCH):
            yield from self._pieces([self._file_row(i) for i in range(start, min(self._n, start + self.BATCH))])

    def __getattr__(self, name: str) -> tuple[Piece, ...]:
        if name == "pieces":  # the whole tuple, built once on demand (e.g. for code that needs it)
            pieces = tuple(self)
            object.__setattr__(self, "pieces", pieces)
            return pieces
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._n} pieces in R^{self.ambient_dim}, file {self._path!r})"

    def __reduce__(self) -> tuple[type[LazySetView], tuple[str, NDArray[np.int64] | None]]:
        return type(self), (self._path, self._order)


class SetFileView(LazySetView):
    """The pieces of a saved set, read from its file when used (see the module docstring).

    ``order`` (optional) lists the file's pieces in the order the view presents them.
    """

    def __init__(self, path: str | os.PathLike[str], order: np.ndarray | None = None) -> None:  # noqa: D107 - see the class
        arrays = map_arrays(path)
        if str(arrays.get("format", "")) != "preimage.PolyhedralSet":
            raise InvalidInputError(f"{str(path)!r} does not hold a preimage.PolyhedralSet")
        self._open(path, arrays, int(arrays["A_offsets"].shape[0] - 1), int(arrays["ambient_dim"]), order)

    def _pieces(self, js: list[int]) -> list[Piece]:
        return [self._piece(j) for j in js]

    def _piece(self, j: int) -> Piece:
        a, n = self._arrays, self.ambient_dim
        Ao, Co = a["A_offsets"], a["C_offsets"]
        P = Polyhedron._from_views(a["A"][Ao[j]:Ao[j + 1]].reshape(-1, n), a["b"][Ao[j]:Ao[j + 1]],
                                   a["C"][Co[j]:Co[j + 1]].reshape(-1, n), a["d"][Co[j]:Co[j + 1]])
        pattern = None
        if "patterns" in a and a["pattern_lengths"][j] >= 0:
            row = np.asarray(a["patterns"][j, : a["pattern_lengths"][j]])
            pattern = readonly(row.astype(pattern_dtype(a["patterns"])))
        amap = None
        if "M" in a:
            Mo = a["M_offsets"]
            if Mo[j + 1] > Mo[j]:
                amap = AffineMap._from_views(a["M"][Mo[j]:Mo[j + 1]].reshape(-1, n), a["c"][Mo[j]:Mo[j + 1]])
        return Piece._from_views(P, pattern, amap)
