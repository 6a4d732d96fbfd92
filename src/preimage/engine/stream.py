"""Streaming pieces to a result file while a search runs.

Pieces are appended in chunks to ``OUT.parts/chunk_NNNNN.npz`` (each chunk a valid
``preimage.PolyhedralSet`` file, see ``docs/formats.md``), so a crash loses at most the
last chunk's worth of time. When the run ends — complete or stopped — the chunks are
joined into ``OUT`` (pieces in the order they were found) and removed. A resumed run
starts with the pieces found before as its first chunk (the earlier result file, or the
checkpoint's pieces), so ``OUT`` always holds every piece of the result. Chunks and the
joined file are built from the raw pieces' arrays, without a Python object per piece, and
stored uncompressed (writing is then as fast as the disk).
"""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .result import canonical_index, raw_arrays
from .search import Problem, RawPiece

__all__ = ["PieceStream"]

#: pieces per chunk, and the longest a found piece waits before it is written
CHUNK_PIECES = 2000
CHUNK_SECONDS = 5.0
#: the final join takes about this share of the time the chunks took to write (measured on
#: ACAS Xu 3_3: 0.6 s to join 141,835 pieces written in 1.4 s), plus a fixed part
JOIN_SHARE = 0.5
FINISH_MIN_SECONDS = 0.05


class PieceStream:
    """Collects raw pieces and writes them out in chunks (see the module docstring)."""

    def __init__(self, out, problems: list[Problem], existing: list[RawPiece] = (), stored: dict | None = None) -> None:
        self.out = Path(out)
        if self.out.suffix.lower() not in (".npz", ".json"):
            self.out = self.out.with_suffix(".npz")
        self.parts = Path(str(self.out) + ".parts")
        shutil.rmtree(self.parts, ignore_errors=True)  # left by a crash: the checkpoint's pieces replace it
        self.parts.mkdir(parents=True, exist_ok=True)
        self.charts = {pb.domain_index: pb.chart for pb in problems}
        self.count = 0
        self.write_seconds = 0.0  # time spent writing chunks (the final join takes about half)
        if stored is not None:  # the pieces of the earlier runs: their file is the first chunk
            self._adopt(Path(stored["path"]), int(stored["count"]))
        self.buffer: list[RawPiece] = list(existing)
        self.last = time.monotonic()
        self.flush()

    def _adopt(self, path: Path, count: int) -> None:
        from ..errors import InvalidInputError

        try:
            with np.load(path, allow_pickle=False) as z:
                found = int(z["A_offsets"].shape[0] - 1)
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
        if len(self.buffer) >= CHUNK_PIECES or time.monotonic() - self.last > CHUNK_SECONDS:
            self.flush()

    def finish_seconds(self) -> float:
        """An estimate of :meth:`finish`'s time: joining reads and writes every chunk once,
        about half the time their writing took (measured), plus the last chunk."""
        return JOIN_SHARE * self.write_seconds + FINISH_MIN_SECONDS

    def flush(self) -> None:
        t0 = time.perf_counter()
        for index, chart in self.charts.items():
            raws = [r for r in self.buffer if r.domain_index == index]
            for start in range(0, len(raws), CHUNK_PIECES):
                tmp = self.parts / f"chunk_{self.count:05d}.tmp.npz"
                np.savez(tmp, **raw_arrays(raws[start:start + CHUNK_PIECES], chart))
                os.replace(tmp, self.parts / f"chunk_{self.count:05d}.npz")
                self.count += 1
        self.buffer = []
        self.last = time.monotonic()
        self.write_seconds += time.perf_counter() - t0

    def finish(self) -> Joined:
        """Join the chunks into ``out`` (atomically; one chunk's arrays in memory at a time),
        remove them, and return the pieces' canonical order and their disjuncts and domains."""
        self.flush()
        chunks = sorted(self.parts.glob("chunk_*[0-9].npz"))
        if not chunks:  # no piece at all: an empty set of the right space
            ch = next(iter(self.charts.values()))
            n = ch.dim if ch.slice is not None else ch.input_dim
            empty = self.parts / "chunk_00000.npz"
            none = np.zeros(0, np.int64)
            np.savez(empty, **{"format": np.array("preimage.PolyhedralSet"), "version": np.array(1),
                               "ambient_dim": np.array(n), "A": np.zeros((0, n)), "b": np.zeros(0),
                               "A_offsets": np.zeros(1, np.int64), "C": np.zeros((0, n)), "d": np.zeros(0),
                               "C_offsets": np.zeros(1, np.int64), "patterns": np.zeros((0, 0), np.uint8),
                               "pattern_lengths": none, "M": np.zeros((0, n)), "c": np.zeros(0),
                               "M_offsets": np.zeros(1, np.int64), "map_dim": np.array(0), "disjuncts": none,
                               "domains": none})
            chunks = [empty]
        if self.out.suffix.lower() == ".json":  # small results, as JSON
            from ..polyhedra.io import concat_set_arrays, save, set_from_arrays

            parts = []
            for c in chunks:
                with np.load(c, allow_pickle=False) as z:
                    parts.append({k: z[k] for k in z.files})
            joined = concat_set_arrays(parts)
            tmp = self.out.with_name(self.out.name + ".tmp.json")
            save(set_from_arrays(joined), tmp)
            os.replace(tmp, self.out)
            result = Joined(canonical_index(joined), joined["disjuncts"], joined["domains"], joined["ambient_dim"])
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
_OFFSETS = {"A_offsets": "A", "C_offsets": "C", "M_offsets": "M"}


def _member_header(zf: zipfile.ZipFile, key: str) -> tuple[tuple, np.dtype]:
    with zf.open(key + ".npy") as fh:
        major, _ = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(fh)
    return shape, dtype


def join_chunks(chunks: list[Path], out: Path) -> Joined:
    """Write the sets of ``chunks`` as one set to ``out`` (uncompressed ``.npz``), streaming
    every array entry chunk by chunk; compute the canonical order on the way."""
    heads = []
    for c in chunks:
        with zipfile.ZipFile(c) as zf:
            keys = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
            heads.append({k: _member_header(zf, k) for k in keys})
    keys = list(heads[0])
    width = max(h["patterns"][0][1] if len(h["patterns"][0]) == 2 else 0 for h in heads)
    branches = any(np.dtype(h["patterns"][1]) == np.int8 for h in heads)  # integer branch patterns
    packed, lengths, disjuncts, domains = [], [], [], []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zout:
        for key in keys:
            shapes = [h[key][0] for h in heads]
            dtype = np.dtype(np.int8) if key == "patterns" and branches else heads[0][key][1]
            if key in _SCALARS:
                with np.load(chunks[0], allow_pickle=False) as z:
                    arr = z[key]
                with zout.open(key + ".npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)
                continue
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
                for i, c in enumerate(chunks):
                    with np.load(c, allow_pickle=False) as z:
                        arr = z[key]
                    if key in _OFFSETS:
                        part = arr[1:] + shift if i else arr + shift
                        shift += int(arr[-1])
                        arr = part
                    elif key == "patterns":
                        if arr.shape[1] < width:
                            arr = np.pad(arr, ((0, 0), (0, width - arr.shape[1])),
                                         constant_values=-1 if branches else 255)
                        if branches:  # the branch indices are the order's bytes
                            packed.append(np.ascontiguousarray(arr, dtype=np.int8).view(np.uint8))
                        else:
                            packed.append(np.packbits(arr == 1, axis=1))  # 8 neurons a byte, for the order
                    fh.write(np.ascontiguousarray(arr, dtype=dtype).tobytes())
                    if key == "pattern_lengths":
                        lengths.append(arr)
                    elif key == "disjuncts":
                        disjuncts.append(arr)
                    elif key == "domains":
                        domains.append(arr)
    with np.load(chunks[0], allow_pickle=False) as z:
        n = int(z["ambient_dim"])
    lens = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    dis = np.concatenate(disjuncts) if disjuncts else np.zeros(lens.shape[0], np.int64)
    dom = np.concatenate(domains) if domains else np.zeros(lens.shape[0], np.int64)
    bits = np.concatenate(packed) if packed else np.zeros((0, 0), np.uint8)
    return Joined(_canonical(bits, lens, dis, dom, 1 if branches else 8), dis, dom, n)


def _canonical(bits: np.ndarray, lens: np.ndarray, dis: np.ndarray, dom: np.ndarray, per_byte: int = 8) -> np.ndarray:
    """The order of :func:`preimage.engine.runner.canonical_order` — (domain, pattern key,
    pattern length, disjunct) — from the patterns' keys (one row a piece, padded; ``per_byte``
    units a byte: 8 packed bits, or 1 branch index)."""
    if lens.size and np.any(lens != lens[0]):  # mixed lengths: compare as the runner does
        keys = [(int(dom[i]), bits[i, : -(-int(lens[i]) // per_byte)].tobytes(), int(lens[i]), int(dis[i]))
                for i in range(lens.shape[0])]
        return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
    columns = [bits[:, k] for k in range(bits.shape[1] - 1, -1, -1)]
    return np.lexsort((dis, lens, *columns, dom)).astype(np.int64)
