"""Running a search: budgets, interrupts, checkpoints, streaming, and executors.

The search tree is split into independent subtrees (nodes of the depth-first stack). A run
first works serially for a moment; if work remains and more than one worker is allowed, the
remaining nodes become tasks for a :class:`concurrent.futures.Executor` — a local process
pool by default, or a Dask ``distributed`` cluster. Each task explores its nodes for a
bounded time and hands back its pieces and the nodes it did not reach, which become new
tasks: the load balances itself and nothing is lost if a worker dies (its task is run
again). Pieces are sorted canonically at the end, so every schedule gives the same result.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InvalidInputError, PreimageError
from .search import Node, Problem, RawPiece, Stats, make_search

__all__ = ["RunState", "run", "save_checkpoint", "load_checkpoint", "CHECKPOINT_VERSION"]

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1

#: seconds of serial work before the remaining nodes are farmed out
SERIAL_SECONDS = 0.5
#: seconds a task explores before it returns its unexplored nodes
TASK_SECONDS = 2.0
#: a task that fails this many times in a row stops the run (a deterministic error)
MAX_TASK_FAILURES = 3
#: how long to wait for a Dask scheduler to answer
SCHEDULER_TIMEOUT = "5s"


@dataclass
class Checker:
    """Confirms a candidate piece with an independent forward pass (for decisions)."""

    spec: Any
    tol: float

    def point(self, piece: RawPiece, problem: Problem) -> np.ndarray:
        return problem.chart.to_input(piece.X.mean(axis=0))[0]

    def confirm(self, piece: RawPiece, problem: Problem) -> np.ndarray | None:
        x = self.point(piece, problem)
        h = x
        for W, b, r in zip(problem.weights, problem.biases, problem.relus):
            h = W @ h + b
            if r:
                h = np.maximum(h, 0.0)
        return x if self.spec.is_counterexample(x, h, tol=self.tol) else None


@dataclass
class RunState:
    """Everything needed to continue a run: the problems, what was found, what is left."""

    kind: str
    layer: int
    problems: list[Problem]
    pieces: list[RawPiece] = field(default_factory=list)
    frontier: list[tuple[int, list[Node]]] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    info: dict = field(default_factory=dict)


def _task(problem: Problem, index: int, nodes: list[Node], deadline: float | None, seconds: float | None,
          checker: Checker | None, max_pieces: int | None):
    """Explore ``nodes`` (a worker task). Returns ``(index, pieces, stats, leftover, candidates)``."""
    from .kernels import ensure_compiled; ensure_compiled()  # noqa: E702 - compile before any clock starts
    pieces: list[RawPiece] = []
    unconfirmed = [0]
    start = time.time()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")  # worker processes: tiny matrices only
    except ImportError:  # pragma: no cover
        pass

    def sink(piece: RawPiece) -> bool:
        if checker is not None:
            x = checker.confirm(piece, problem)
            if x is None:
                unconfirmed[0] += 1
                return True
            pieces.append(piece)
            return False
        pieces.append(piece)
        return max_pieces is None or len(pieces) < max_pieces

    def should_stop() -> bool:
        now = time.time()
        return (deadline is not None and now > deadline) or (seconds is not None and now - start > seconds)

    search = make_search(problem, sink, should_stop, piece_budget=max_pieces)
    rest = search.run(list(nodes))
    return index, pieces, search.stats, rest, unconfirmed[0]


def _split_nodes(nodes: list[Node], parts: int) -> list[list[Node]]:
    """Deal the nodes into up to ``parts`` tasks (round robin: deep and shallow mixed)."""
    parts = max(1, min(parts, len(nodes)))
    return [nodes[i::parts] for i in range(parts)]


def _shutdown(executor) -> None:
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # dask's ClientExecutor has no cancel_futures
        executor.shutdown(wait=False)
    client = getattr(executor, "_preimage_client", None)
    if client is not None:
        client.close()


def _make_executor(workers: int | None, scheduler) -> tuple[Executor | None, bool]:
    """The executor to use and whether this function created it (and must shut it down)."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - dask is a dependency
            raise InvalidInputError("a Dask scheduler needs dask[distributed] installed") from exc
        if isinstance(scheduler, str):
            try:
                client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise InvalidInputError(f"the Dask scheduler at {scheduler!r} does not answer: {exc}") from exc
            executor = client.get_executor()
            executor._preimage_client = client  # closed with the executor
            return executor, True
        if hasattr(scheduler, "get_executor"):
            return scheduler.get_executor(), False
        if isinstance(scheduler, Executor):
            return scheduler, False
        raise InvalidInputError(
            f"scheduler must be a dask distributed Client, its address, or an Executor, got {type(scheduler).__name__}"
        )
    if workers is None or workers <= 1:
        return None, False
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp

    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")), True


def run(
    state: RunState,
    *,
    time_limit: float | None = None,
    max_pieces: int | None = None,
    workers: int | None = 1,
    scheduler=None,
    progress: Callable[[Stats], None] | None = None,
    checker: Checker | None = None,
    on_piece: Callable[[RawPiece], None] | None = None,
) -> tuple[RunState, str | None]:
    """Continue ``state`` until its frontier is empty or a budget stops it.

    Returns the updated state and the reason it stopped early (``None`` when complete):
    ``"time_limit"``, ``"max_pieces"``, ``"interrupt"`` or ``"found"`` (a decision).
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else time.time() + float(time_limit)
    queue: deque[tuple[int, list[Node]]] = deque((i, list(n)) for i, n in state.frontier if n)
    state.frontier = []
    reason: str | None = None
    base = Stats()
    base.add(state.stats)
    base.seconds = state.stats.seconds
    run_stats = Stats()
    unconfirmed = 0

    def accept(pieces: list[RawPiece]) -> bool:
        """Record pieces; ``False`` when the run must stop."""
        nonlocal reason
        for p in pieces:
            state.pieces.append(p)
            if on_piece is not None:
                on_piece(p)
            if checker is not None:
                reason = "found"
                return False
            if max_pieces is not None and len(state.pieces) >= max_pieces:
                reason = "max_pieces"
                return False
        return True

    def report() -> None:
        if progress is not None:
            s = Stats()
            s.add(base)
            s.add(run_stats)
            s.seconds = base.seconds + time.perf_counter() - t0
            progress(s)

    executor, owned = None, False
    if scheduler is not None:  # connect first: a scheduler that does not answer is an error now
        executor, owned = _make_executor(workers, scheduler)
    try:
        # 1. serial phase (all of it when no executor is asked for)
        serial_budget = None if (workers in (None, 1) and scheduler is None) else SERIAL_SECONDS
        start = time.time()
        while queue and reason is None:
            index, nodes = queue.popleft()
            remaining = None if max_pieces is None else max_pieces - len(state.pieces)
            stop_at = deadline
            if serial_budget is not None:
                stop_at = min(deadline or np.inf, start + serial_budget)
            pb = state.problems[index]
            search_pieces: list[RawPiece] = []

            def sink(piece: RawPiece, pb=pb) -> bool:
                nonlocal unconfirmed
                if checker is not None and checker.confirm(piece, pb) is None:
                    unconfirmed += 1
                    return True
                search_pieces.append(piece)
                if checker is not None:
                    return False
                return remaining is None or len(search_pieces) < remaining

            search = make_search(pb, sink, lambda: stop_at is not None and time.time() > stop_at,
                                 (lambda s: report()) if progress else None, piece_budget=remaining)
            try:
                rest = search.run(nodes)
            except KeyboardInterrupt:
                run_stats.add(search.stats)
                run_stats.seconds += search.stats.seconds
                accept(search_pieces)
                queue.appendleft((index, nodes))
                reason = "interrupt"
                break
            run_stats.add(search.stats)
            if not accept(search_pieces):
                if rest:
                    queue.appendleft((index, rest))
                break
            if rest:
                queue.appendleft((index, rest))
                if deadline is not None and time.time() > deadline:
                    reason = "time_limit"
                break
        # 2. parallel phase
        if queue and reason is None:
            if executor is None:
                executor, owned = _make_executor(workers, scheduler)
            if executor is None:  # pragma: no cover - serial mode empties the queue
                raise PreimageError("internal: work left without an executor")
            n_workers = workers or os.cpu_count() or 2
            in_flight: dict[Future, tuple[int, list[Node]]] = {}
            failures = 0

            def submit_more() -> None:
                while queue and len(in_flight) < 2 * n_workers:
                    index, nodes = queue.popleft()
                    chunks = _split_nodes(nodes, max(1, 2 * n_workers - len(in_flight) - len(queue)))
                    for chunk in chunks[1:]:
                        queue.appendleft((index, chunk))
                    remaining = None if max_pieces is None else max_pieces - len(state.pieces)
                    fut = executor.submit(_task, state.problems[index], index, chunks[0], deadline, TASK_SECONDS,
                                          checker, remaining)
                    in_flight[fut] = (index, chunks[0])
                    state.info["tasks"] = state.info.get("tasks", 0) + 1

            try:
                submit_more()
                while in_flight:
                    done, _ = wait(list(in_flight), timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:
                        index, nodes = in_flight.pop(fut)
                        try:
                            _, pieces, st, rest, unc = fut.result()
                        except Exception as exc:  # a worker died: run its task again
                            if isinstance(exc, PreimageError):
                                raise
                            failures += 1
                            if failures >= MAX_TASK_FAILURES * max(1, len(in_flight) + 1):
                                raise PreimageError(f"tasks keep failing ({type(exc).__name__}: {exc}); stopping") from exc
                            log.warning("a task failed (%s: %s); running it again", type(exc).__name__, exc)
                            queue.append((index, nodes))
                            if "BrokenProcessPool" in type(exc).__name__:
                                executor, owned = _replace_pool(executor, owned, workers)
                            continue
                        failures = 0
                        run_stats.add(st)
                        unconfirmed += unc
                        log.debug("task: %d nodes in, %d explored in %.2f s, %d left, %d queued",
                                  len(nodes), st.nodes, st.seconds, len(rest), len(queue))
                        if reason is None and not accept(pieces):
                            pass
                        if rest:
                            queue.append((index, rest))
                    report()
                    if reason is not None or (deadline is not None and time.time() > deadline):
                        if reason is None:
                            reason = "time_limit"
                        for fut in list(in_flight):
                            fut.cancel()
                        # tasks end by their own deadline; collect what they found
                        for fut in list(in_flight):
                            index, nodes = in_flight.pop(fut)
                            try:
                                _, pieces, st, rest, unc = fut.result()
                            except Exception:
                                queue.append((index, nodes))
                                continue
                            run_stats.add(st)
                            if reason != "found":
                                accept(pieces)
                            if rest:
                                queue.append((index, rest))
                        break
                    submit_more()
            except KeyboardInterrupt:
                reason = "interrupt"
                for fut, item in list(in_flight.items()):
                    fut.cancel()
                    queue.append(item)
                in_flight.clear()
            if queue and reason is None and deadline is not None and time.time() > deadline:
                reason = "time_limit"
    finally:
        if executor is not None and owned:
            _shutdown(executor)
    state.frontier = list(queue)
    run_stats.seconds = time.perf_counter() - t0
    state.stats = base
    state.stats.add(run_stats)
    state.stats.seconds = base.seconds + run_stats.seconds
    state.info["unconfirmed"] = state.info.get("unconfirmed", 0) + unconfirmed
    if reason is None and state.frontier:
        reason = "time_limit"
    return state, reason


def _replace_pool(executor, owned, workers):
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp

    if owned:
        _shutdown(executor)
        return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")), True
    return executor, owned


def canonical_order(pieces: list[RawPiece]) -> list[RawPiece]:
    """Pieces sorted by (domain, pattern, disjunct): the same order for every schedule."""
    return sorted(pieces, key=lambda p: (p.domain_index, np.packbits(p.pattern).tobytes(), len(p.pattern), p.disjunct))


def save_checkpoint(state: RunState, path) -> str:
    """Write ``state`` to ``path`` (a pickle; load it only from a trusted source)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump({"format": "preimage.checkpoint", "version": CHECKPOINT_VERSION, "state": state}, fh,
                    protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, p)
    return str(p)


def load_checkpoint(path) -> RunState:
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"checkpoint {str(p)!r} does not exist")
    try:
        with open(p, "rb") as fh:
            data = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise InvalidInputError(f"{str(p)!r} is not a preimage checkpoint: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != "preimage.checkpoint":
        raise InvalidInputError(f"{str(p)!r} is not a preimage checkpoint")
    if data.get("version") != CHECKPOINT_VERSION:
        raise InvalidInputError(f"{str(p)!r} has checkpoint version {data.get('version')}, expected {CHECKPOINT_VERSION}")
    return data["state"]
