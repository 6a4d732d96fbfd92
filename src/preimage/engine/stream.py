"""Streaming pieces to a result file while a search runs.

Pieces are appended in chunks to ``OUT.parts/chunk_NNNNN.npz`` (each chunk a valid
``preimage.PolyhedralSet`` file, see ``docs/formats.md``), so a crash loses at most the
last chunk's worth of time. When the run ends — complete or stopped — the chunks are
joined into ``OUT`` (pieces in the order they were found) and removed. A resumed run
starts with the pieces found before as its first chunk (the earlier result file, or the
checkpoint's pieces), so ``OUT`` always holds every piece of the result. Chunks and the joined file are built from the raw pieces' arrays, without
a Python object per piece, and stored uncompressed (writing is then as fast as the disk).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from ..polyhedra.io import concat_set_arrays
from .result import raw_arrays
from .search import Problem, RawPiece

__all__ = ["PieceStream"]

#: pieces per chunk, and the longest a found piece waits before it is written
CHUNK_PIECES = 2000
CHUNK_SECONDS = 5.0


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
            raise InvalidInputError(f"the checkpoint's pieces are in {str(path)!r}, which cannot be read: {exc}") from None
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

    def flush(self) -> None:
        for index, chart in self.charts.items():
            raws = [r for r in self.buffer if r.domain_index == index]
            for start in range(0, len(raws), CHUNK_PIECES):
                tmp = self.parts / f"chunk_{self.count:05d}.tmp.npz"
                np.savez(tmp, **raw_arrays(raws[start:start + CHUNK_PIECES], chart))
                os.replace(tmp, self.parts / f"chunk_{self.count:05d}.npz")
                self.count += 1
        self.buffer = []
        self.last = time.monotonic()

    def finish(self) -> Path:
        """Join the chunks into ``out`` (atomically); the chunks go once it is written."""
        self.flush()
        chunks = sorted(self.parts.glob("chunk_*[0-9].npz"))
        parts = []
        for c in chunks:
            with np.load(c, allow_pickle=False) as z:
                parts.append({k: z[k] for k in z.files})
        if not parts:  # no piece at all: an empty set of the right space
            ch = next(iter(self.charts.values()))
            n = ch.dim if ch.slice is not None else ch.input_dim
            none = np.zeros(0, np.int64)
            parts = [{"format": np.array("preimage.PolyhedralSet"), "version": np.array(1), "ambient_dim": np.array(n),
                      "A": np.zeros((0, n)), "b": np.zeros(0), "A_offsets": np.zeros(1, np.int64),
                      "C": np.zeros((0, n)), "d": np.zeros(0), "C_offsets": np.zeros(1, np.int64),
                      "patterns": np.zeros((0, 0), np.uint8), "pattern_lengths": none, "M": np.zeros((0, n)),
                      "c": np.zeros(0), "M_offsets": np.zeros(1, np.int64), "map_dim": np.array(0),
                      "disjuncts": none, "domains": none}]
        joined = concat_set_arrays(parts)
        if self.out.suffix.lower() == ".json":  # small results, as JSON
            from ..polyhedra.io import save, set_from_arrays

            save(set_from_arrays(joined), self.out.with_name(self.out.name + ".tmp.json"))
            os.replace(self.out.with_name(self.out.name + ".tmp.json"), self.out)
        else:
            tmp = self.out.with_name(self.out.name + ".tmp.npz")
            np.savez(tmp, **joined)
            os.replace(tmp, self.out)
        shutil.rmtree(self.parts, ignore_errors=True)
        return self.out
