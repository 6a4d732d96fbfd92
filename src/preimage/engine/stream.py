"""Streaming pieces to a result file while a search runs.

Pieces are appended in chunks to ``OUT.parts/chunk_NNNNN.npz`` (each chunk a valid
``preimage.PolyhedralSet`` file, see ``docs/formats.md``), so a crash loses at most the
last chunk's worth of time. When the run ends, the whole set is written to ``OUT`` and the
chunks are removed.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..polyhedra import PolyhedralSet
from ..polyhedra.io import save
from .result import to_pieces
from .search import Problem, RawPiece

__all__ = ["PieceStream"]

#: pieces per chunk, and the longest a found piece waits before it is written
CHUNK_PIECES = 2000
CHUNK_SECONDS = 5.0


class PieceStream:
    """Collects raw pieces and writes them out in chunks (see the module docstring)."""

    def __init__(self, out, problems: list[Problem]) -> None:
        self.out = Path(out)
        if self.out.suffix.lower() not in (".npz", ".json"):
            self.out = self.out.with_suffix(".npz")
        self.parts = Path(str(self.out) + ".parts")
        self.parts.mkdir(parents=True, exist_ok=True)
        self.charts = {pb.domain_index: pb.chart for pb in problems}
        ch0 = problems[0].chart
        self.n = ch0.dim if ch0.slice is not None else ch0.input_dim
        self.buffer: list[RawPiece] = []
        self.count = len(list(self.parts.glob("chunk_*.npz")))
        self.last = time.monotonic()

    def add(self, piece: RawPiece) -> None:
        self.buffer.append(piece)
        if len(self.buffer) >= CHUNK_PIECES or time.monotonic() - self.last > CHUNK_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        pieces = []
        for index, chart in self.charts.items():
            pieces.extend(to_pieces([r for r in self.buffer if r.domain_index == index], chart))
        S = PolyhedralSet(pieces, self.n)
        save(S, self.parts / f"chunk_{self.count:05d}.npz")
        self.count += 1
        self.buffer = []
        self.last = time.monotonic()

    def finish(self, result_set: PolyhedralSet, *, complete: bool) -> None:
        """Write the final set to ``out``; the chunks go once the set is safely written."""
        save(result_set, self.out)
        shutil.rmtree(self.parts, ignore_errors=True)
