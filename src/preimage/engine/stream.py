"""Streaming pieces to a result file while a search runs.

Pieces are appended in chunks to ``OUT.parts/chunk_NNNNN.npz`` — the first chunk holds the
problem, every chunk its pieces' patterns and cut codes (the format of
:mod:`~preimage.engine.result_file`, see ``docs/formats.md``) — so a crash loses at most the
last chunk's worth of time. When the run ends — complete or stopped — the chunks are
joined into ``OUT`` (pieces in the order they were found) and removed. A resumed run
starts with the pieces found before as its first chunk (the earlier result file, or the
checkpoint's pieces), so ``OUT`` always holds every piece of the result. Chunks and the
joined file are built from the raw pieces' arrays (a piece is its pattern and cut codes: a
few bytes per unit and cut row), without a Python object per piece, and stored uncompressed
(writing is then as fast as the disk). Memory does not grow with the answer: a chunk is a
few MB whatever its pieces (``CHUNK_BYTES``), and the join holds one chunk's array at a time
plus three integers and one index a piece (:func:`join_chunks`).
"""

from __future__ import annotations

import os
import shutil
import struct
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..polyhedra import PolyhedralSet
from .result_file import FORMAT, PROBLEM, piece_arrays, problem_arrays
from .search import Problem, RawPiece

__all__ = ["PieceStream"]

#: a chunk holds at most ``CHUNK_PIECES`` pieces and about ``CHUNK_BYTES`` bytes of arrays
#: (the pieces a chunk holds follow from the size of the last chunk's pieces; the first one
#: holds ``FIRST_CHUNK_PIECES``): the pieces waiting to be written (and the compiled walk's
#: output they are views of) and the arrays built to write them are all the memory the
#: stream needs, whatever the size of a piece. ``CHUNK_SECONDS``: the longest a found piece
#: waits before it is written
CHUNK_PIECES = 2000
CHUNK_BYTES = 2 << 20
FIRST_CHUNK_PIECES = 256
MIN_CHUNK_PIECES = 16
CHUNK_SECONDS = 5.0
#: the final join takes about this share of the time the chunks took to write (measured on
#: ACAS Xu 3_3, box of prop_2: 1.6 s to join 341,669 pieces written in 3.5 s, 396 chunks),
#: plus a fixed part
JOIN_SHARE = 0.5
FINISH_MIN_SECONDS = 0.05


class PieceStream:
    """Collects raw pieces and writes them out in chunks (see the module docstring)."""

    def __init__(self, out: str | os.PathLike[str], problems: list[Problem], existing: Iterable[RawPiece] = (),
                 stored: dict[str, Any] | None = None) -> None:
        self.out = Path(out)
        if self.out.suffix.lower() not in (".npz", ".json"):
            self.out = self.out.with_suffix(".npz")
        self.parts = Path(str(self.out) + ".parts")
        shutil.rmtree(self.parts, ignore_errors=True)  # left by a crash: the checkpoint's pieces replace it
        self.parts.mkdir(parents=True, exist_ok=True)
        self.problems = {pb.domain_index: pb for pb in problems}
        self.bits = problems[0].binary  # boolean patterns: stored as bits
        self.count = 0
        self.write_seconds = 0.0  # time spent writing chunks (the final join takes about half)
        if stored is not None:  # the pieces of the earlier runs: their file is the first chunk
            self._adopt(Path(stored["path"]), int(stored["count"]))
        else:  # the problem, once (and no piece): the first chunk
            self._write({**problem_arrays(problems), **piece_arrays([], self.bits)})
        self.limit = FIRST_CHUNK_PIECES  # pieces in the next chunk (see CHUNK_BYTES)
        self.buffer: list[RawPiece] = list(existing)
        self.last = time.monotonic()
        self.flush()

    def _adopt(self, path: Path, count: int) -> None:
        from ..errors import InvalidInputError

        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["format"]) != FORMAT:
                    raise ValueError(f"it is not a {FORMAT} file")
                found = int(z["pattern_lengths"].shape[0])
        except (OSError, KeyError, ValueError) as exc:
            raise InvalidInputError(
                f"the checkpoint's pieces are in {str(path)!r}, which cannot be read: {exc}"
            ) from None
        if found != count:
            raise InvalidInputError(f"the checkpoint's pieces are in {str(path)!r}, which holds {found} pieces, "
                                    f"not the {count} it had when the run stopped (was it changed?)")
        target = self.parts / f"chunk_{self.count:05d}.npz"
        if path.resolve() == self.out.resolve():
            os.replace(path, target)  # it is rewritten whole by finish()
        else:
            shutil.copyfile(path, target)
        self.count += 1

    def add(self, piece: RawPiece) -> None:
        self.buffer.append(piece)
        if len(self.buffer) >= self.limit or time.monotonic() - self.last > CHUNK_SECONDS:
            self.flush()

    def finish_seconds(self) -> float:
        """An estimate of :meth:`finish`'s time: joining reads and writes every chunk once,
        about half the time their writing took (measured), plus the last chunk."""
        return JOIN_SHARE * self.write_seconds + FINISH_MIN_SECONDS

    def _write(self, arrays: dict[str, np.ndarray]) -> None:
        tmp = self.parts / f"chunk_{self.count:05d}.tmp.npz"
        # numpy's stub lets a ``**`` mapping of arrays fill the keyword ``allow_pickle: bool``
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, self.parts / f"chunk_{self.count:05d}.npz")
        self.count += 1

    def flush(self) -> None:
        t0 = time.perf_counter()
        start = 0
        while start < len(self.buffer):
            part = self.buffer[start:start + self.limit]
            arrays = piece_arrays(part, self.bits)
            self._write(arrays)
            size = sum(a.nbytes for a in arrays.values())
            self.limit = max(MIN_CHUNK_PIECES, min(CHUNK_PIECES, len(part) * CHUNK_BYTES // max(size, 1)))
            start += len(part)
            del arrays, part
        self.buffer = []
        self.last = time.monotonic()
        self.write_seconds += time.perf_counter() - t0

    def finish(self) -> Joined:
        """Join the chunks into ``out`` (atomically; one chunk's arrays in memory at a time),
        remove them, and return the pieces' canonical order and their disjuncts and domains."""
        self.flush()
        chunks = sorted(self.parts.glob("chunk_*[0-9].npz"), key=lambda c: int(c.stem.split("_")[-1]))
        if self.out.suffix.lower() == ".json":  # small results, as JSON: the pieces rebuilt
            from ..polyhedra.io import save
            from .result_file import EngineResultView

            joined_npz = self.parts / "joined.npz"
            result = join_chunks(chunks, joined_npz)
            view = EngineResultView(joined_npz)
            tmp = self.out.with_name(self.out.name + ".tmp.json")
            save(PolyhedralSet(tuple(view), view.ambient_dim), tmp)
            del view
            os.replace(tmp, self.out)
        else:
            tmp = self.out.with_name(self.out.name + ".tmp.npz")
            result = join_chunks(chunks, tmp)
            os.replace(tmp, self.out)
        shutil.rmtree(self.parts, ignore_errors=True)
        return result


class Joined(NamedTuple):
    """What :meth:`PieceStream.finish` learnt while joining: the pieces' canonical order,
    their disjuncts and domains (file order), and the ambient dimension."""

    order: np.ndarray
    disjuncts: np.ndarray
    domains: np.ndarray
    ambient_dim: int


_SCALARS = ("format", "version", "ambient_dim", "map_dim")
_OFFSETS = {"A_offsets": "A", "C_offsets": "C", "M_offsets": "M", "cut_offsets": "cuts"}


def _is_header(key: str) -> bool:
    """Arrays of the file as a whole (in the first chunk that has them), not one entry per piece."""
    return key in _SCALARS or key.startswith(PROBLEM)


class _Member(NamedTuple):
    """One array of a chunk file: its shape and type, and where its data start in the file
    (``None`` when it cannot be read in place: compressed, or Fortran order)."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    offset: int | None


def _members(path: Path) -> dict[str, _Member]:
    """The arrays of the ``.npz`` file ``path``, in file order (their headers only)."""
    out: dict[str, _Member] = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as fh:
                major, _ = np.lib.format.read_magic(fh)
                read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read(fh)
                header = fh.tell()
            offset = None
            if info.compress_type == zipfile.ZIP_STORED and not fortran and not dtype.hasobject:
                raw.seek(info.header_offset + 26)
                name_len, extra_len = struct.unpack("<HH", raw.read(4))
                offset = info.header_offset + 30 + name_len + extra_len + header
            out[info.filename[:-4]] = _Member(tuple(shape), dtype, offset)
    return out


def _read(path: Path, key: str, member: _Member) -> np.ndarray:
    """One array of a chunk file, read into memory (straight from its place in the file:
    no zip directory parsed again, no memory map counted in the resident set)."""
    arr: np.ndarray
    if member.offset is None:
        with np.load(path, allow_pickle=False) as z:
            arr = z[key]
            return arr
    with open(path, "rb") as fh:
        fh.seek(member.offset)
        count = int(np.prod(member.shape, dtype=np.int64))
        arr = np.fromfile(fh, dtype=member.dtype, count=count)
    if arr.shape[0] != count:
        raise OSError(f"{str(path)!r}: {key} is cut short")
    return arr.reshape(member.shape)


def join_chunks(chunks: list[Path], out: Path) -> Joined:
    """Write the sets of ``chunks`` as one set to ``out`` (uncompressed ``.npz``), streaming
    every array entry chunk by chunk; compute the canonical order on the way.

    Memory stays flat in the number of pieces, but for three integers a piece (the order's
    domain, pattern length and disjunct) and the order itself: the patterns are only compared
    row to row as they stream by (a serial run finds its pieces in exactly the reverse of the
    canonical order, see :class:`_Monotone`); only pieces found in another order (workers, a
    resumed run) are sorted, on packed keys of 8 bytes per 64 neurons read back from the chunks.
    """
    heads = [_members(c) for c in chunks]
    keys = list(dict.fromkeys(k for h in heads for k in h))
    width = max(h["patterns"].shape[1] if len(h["patterns"].shape) == 2 else 0 for h in heads) \
        if "patterns" in keys else 0
    # integer branch patterns (activations with more than two branches) are int8, padded with -1;
    # an engine result's boolean patterns are packed bits (padded with 0): both compare bytewise
    branches = "patterns" in keys and any(np.dtype(h["patterns"].dtype) == np.int8 for h in heads)
    bits_key = PROBLEM + "pattern_bits"
    bits = bits_key in heads[0] and bool(_read(chunks[0], bits_key, heads[0][bits_key]))
    bytewise = branches or bits
    count = sum(_count(h) for h in heads)
    lens = _column(chunks, heads, "pattern_lengths", count, -1)
    dis = _column(chunks, heads, "disjuncts", count, 0)
    dom = _column(chunks, heads, "domains", count, 0)
    monotone = _Monotone(lens, dis, dom, width, bytewise)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zout:
        for key in keys:
            if _is_header(key):
                c, h = next((c, h) for c, h in zip(chunks, heads) if key in h)
                arr = _read(c, key, h[key])
                with zout.open(key + ".npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)
                continue
            shapes = [h[key].shape for h in heads]
            dtype = np.dtype(np.int8) if key == "patterns" and branches else heads[0][key].dtype
            shape: tuple[int, ...]
            if key in _OFFSETS:
                shape = (sum(s[0] - 1 for s in shapes) + 1,)
            elif key == "patterns":
                shape = (sum(s[0] for s in shapes), width)
            else:
                shape = (sum(s[0] for s in shapes),) + tuple(shapes[0][1:])
            with zout.open(key + ".npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_2_0(fh, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                          "fortran_order": False, "shape": shape})
                shift = 0
                for i, (c, h) in enumerate(zip(chunks, heads)):
                    arr = _read(c, key, h[key])
                    if key in _OFFSETS:
                        part = arr[1:] + shift if i else arr + shift
                        shift += int(arr[-1])
                        arr = part
                    elif key == "patterns":
                        if arr.shape[1] < width:
                            arr = np.pad(arr, ((0, 0), (0, width - arr.shape[1])),
                                         constant_values=-1 if branches else (0 if bits else 255))
                        monotone.feed(arr)
                    arr = np.ascontiguousarray(arr, dtype=dtype)
                    if arr.size:  # the chunk's bytes as they are in memory (no copy)
                        # (numpy's stub declares ndarray a buffer only for Python >= 3.12)
                        fh.write(memoryview(arr.reshape(-1)).cast("B"))  # type: ignore[arg-type]
                    del arr
    dim_key = "ambient_dim" if "ambient_dim" in heads[0] else PROBLEM + "ambient_dim"
    n = int(_read(chunks[0], dim_key, heads[0][dim_key]))
    order = monotone.order()
    if order is None:  # found out of order: sort
        order = _canonical(_packed_keys(chunks, heads, count, width, bytewise), lens, dis, dom)
    return Joined(order, dis, dom, n)


def _count(head: dict[str, _Member]) -> int:
    """The number of pieces of a chunk."""
    return head["pattern_lengths"].shape[0]


def _column(chunks: list[Path], heads: list[dict[str, _Member]], key: str, count: int, missing: int) -> np.ndarray:
    """One integer a piece, for every piece of ``chunks`` (``missing`` where a file lacks it)."""
    out = np.full(count, missing, np.int64)
    start = 0
    for c, h in zip(chunks, heads):
        m = _count(h)
        if key in h:
            out[start:start + m] = _read(c, key, h[key])
        start += m
    return out


def _n_words(width: int, branches: bool) -> int:
    return -(-width // (8 if branches else 64))


def _words(patterns: np.ndarray, n_words: int, branches: bool = False) -> np.ndarray:
    """Rows of 0/1 (other values: past the pattern's end) packed 64 neurons to a ``uint64``,
    first neuron in the highest bit: comparing rows of words compares the packed patterns
    byte by byte (zero-padded), as :func:`preimage.engine.runner.canonical_order` does.
    Branch patterns (``branches``) are their bytes, 8 units to a word (padding as 0); so are
    patterns already packed to bits (8 bytes to a word)."""
    if branches:
        packed = np.where(patterns >= 0, patterns, 0).astype(np.uint8)
    else:
        packed = np.packbits(patterns == 1, axis=1)
    padded = np.zeros((packed.shape[0], 8 * n_words), np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view(">u8").astype(np.uint64)


def _packed_keys(chunks: list[Path], heads: list[dict[str, _Member]], count: int, width: int,
                 branches: bool = False) -> np.ndarray:
    """The patterns of ``chunks`` as :func:`_words`, one row per word (``(words, count)``)."""
    n_words = _n_words(width, branches)
    keys = np.zeros((n_words, count), np.uint64)
    start = 0
    for c, h in zip(chunks, heads):
        m = _count(h)
        if "patterns" in h and m:
            keys[:, start:start + m] = _words(_read(c, "patterns", h["patterns"]), n_words, branches).T
        start += m
    return keys


class _Monotone:
    """Compares each piece's canonical key with the previous piece's while the patterns
    stream by: is the file order already canonical, or exactly its reverse?

    A serial search walks the tree depth first, the active side of a split first, so its
    pieces come in strictly decreasing canonical order (two pieces differ first at the
    neuron split where their paths part); pieces of workers or of a resumed run come in
    another order, and are sorted instead. Keys: (domain, packed pattern, length, disjunct)
    — zero-padded packed patterns compare as the runner's unpadded bytes once the length
    breaks their ties (a shorter pattern's bytes are a prefix, hence first).
    """

    def __init__(self, lens: np.ndarray, dis: np.ndarray, dom: np.ndarray, width: int, branches: bool = False) -> None:
        self.lens, self.dis, self.dom = lens, dis, dom
        self.branches = branches
        self.n_words = _n_words(width, branches)
        self.start = 0
        self.last: list[np.ndarray] | None = None
        self.increasing = self.decreasing = True

    def feed(self, patterns: np.ndarray) -> None:
        m = patterns.shape[0]
        s, e = self.start, self.start + m
        self.start = e
        if not m or not (self.increasing or self.decreasing):
            return
        words = _words(patterns, self.n_words, self.branches)
        columns = [self.dom[s:e], *(words[:, k] for k in range(self.n_words)), self.lens[s:e], self.dis[s:e]]
        if self.last is not None:
            columns = [np.concatenate([prev, col]) for prev, col in zip(self.last, columns)]
        self.last = [col[-1:].copy() for col in columns]
        sign = np.zeros(columns[0].shape[0] - 1, np.int8)  # next piece's key vs this one's
        for col in columns:
            a, b = col[:-1], col[1:]
            sign = np.where(sign != 0, sign, (b > a).astype(np.int8) - (b < a).astype(np.int8))
        self.increasing = self.increasing and bool(np.all(sign >= 0))  # ties keep file order (a stable sort)
        self.decreasing = self.decreasing and bool(np.all(sign < 0))

    def order(self) -> np.ndarray | None:
        """The canonical order if the file order is it or its reverse (else ``None``)."""
        n = self.lens.shape[0]
        if self.start != n:  # not every pattern was seen: no conclusion
            return None
        if self.increasing:
            return np.arange(n, dtype=np.int64)
        if self.decreasing:
            return np.arange(n - 1, -1, -1, dtype=np.int64)
        return None


def _canonical(keys: np.ndarray, lens: np.ndarray, dis: np.ndarray, dom: np.ndarray) -> np.ndarray:
    """The order of :func:`preimage.engine.runner.canonical_order` — (domain, packed pattern,
    pattern length, disjunct) — from the patterns as rows of :func:`_words` (``keys``, one
    row per word: each a contiguous sort key)."""
    return np.lexsort((dis, lens, *keys[::-1], dom)).astype(np.int64, copy=False)
