"""The result file's join (engine/stream.py): same arrays as the chunks put end to end, and the
canonical order of :func:`preimage.engine.result.canonical_index`, whatever order the pieces
come in (as a serial search finds them, sorted, shuffled), with mixed pattern lengths, ties,
and compressed chunks."""

from __future__ import annotations

import numpy as np
import pytest

from preimage.engine.result import canonical_index
from preimage.engine.stream import join_chunks


def _chunk(path, rng, pats, lens, dis, dom, compressed=False, n=2):
    m = len(lens)
    P = np.full((m, max([*lens, 0])), 255, np.uint8)
    for i in range(m):
        P[i, : lens[i]] = pats[i][: lens[i]]
    (np.savez_compressed if compressed else np.savez)(
        path, format=np.array("preimage.PolyhedralSet"), version=np.array(1), ambient_dim=np.array(n),
        A=rng.normal(size=(3 * m, n)), b=rng.normal(size=3 * m), A_offsets=np.arange(m + 1) * 3,
        C=np.zeros((0, n)), d=np.zeros(0), C_offsets=np.zeros(m + 1, np.int64), patterns=P,
        pattern_lengths=np.array(lens, np.int64), M=rng.normal(size=(m, n)), c=np.zeros(m),
        M_offsets=np.arange(m + 1), map_dim=np.array(1), disjuncts=np.array(dis, np.int64),
        domains=np.array(dom, np.int64))


def _arrays(ix, pats, lens, dis, dom):
    """The canonical-order columns of the pieces ``ix``, as in a result file."""
    P = np.full((len(ix), max([lens[i] for i in ix] + [0])), 255, np.uint8)
    for r, i in enumerate(ix):
        P[r, : lens[i]] = pats[i][: lens[i]]
    return {"patterns": P, "pattern_lengths": np.array([lens[i] for i in ix], np.int64),
            "disjuncts": np.array([dis[i] for i in ix], np.int64), "domains": np.array([dom[i] for i in ix], np.int64)}


@pytest.mark.parametrize("arrival", ["shuffled", "increasing", "decreasing"])
@pytest.mark.parametrize("mixed", [False, True])
def test_join_order_and_arrays(tmp_path, arrival, mixed):
    rng = np.random.default_rng(hash((arrival, mixed)) % 2**32)
    for trial in range(25):
        n = int(rng.integers(0, 50))
        base = int(rng.choice([1, 8, 9, 64, 65, 300]))
        lens = [int(rng.integers(0, base + 3)) if mixed else base for _ in range(n)]
        width = max([*lens, 1])
        pats = [rng.integers(0, 2, size=width) * (rng.random(width) < 0.5) for _ in range(n)]
        if n > 1 and trial % 3 == 0:  # a tie
            pats[1], lens[1] = pats[0].copy(), lens[0]
        dis = [int(rng.integers(0, 2)) for _ in range(n)]
        dom = [int(rng.integers(0, 2)) for _ in range(n)]

        perm = rng.permutation(n)
        if arrival != "shuffled":
            canon = perm[canonical_index(_arrays(list(perm), pats, lens, dis, dom))]
            perm = canon if arrival == "increasing" else canon[::-1]
        expected = canonical_index(_arrays(list(perm), pats, lens, dis, dom))
        cuts = sorted(rng.integers(0, n + 1, size=int(rng.integers(0, 4))).tolist())
        bounds = [0, *cuts, n]
        folder = tmp_path / f"{arrival}{mixed}{trial}"
        folder.mkdir()
        chunks, parts = [], []
        for j, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            ix = [int(i) for i in perm[a:b]]
            path = folder / f"chunk_{j:05d}.npz"
            _chunk(path, rng, [pats[i] for i in ix], [lens[i] for i in ix], [dis[i] for i in ix],
                   [dom[i] for i in ix], compressed=bool(rng.random() < 0.3))
            chunks.append(path)
            with np.load(path) as z:
                parts.append({k: z[k] for k in z.files})
        joined = join_chunks(chunks, folder / "out.npz")
        assert np.array_equal(joined.order, expected)
        with np.load(folder / "out.npz") as z:
            assert int(z["A_offsets"].shape[0]) == n + 1
            for key in ("A", "b", "M", "disjuncts", "domains", "pattern_lengths"):
                assert np.array_equal(z[key], np.concatenate([p[key] for p in parts]))
            assert np.array_equal(z["A_offsets"], np.arange(n + 1) * 3)
            assert np.array_equal(canonical_index({k: z[k] for k in z.files}), expected)
