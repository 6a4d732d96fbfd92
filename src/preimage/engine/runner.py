"""Running a search: budgets, stops, checkpoints and executors.

The search tree is split into independent subtrees (nodes of the depth-first stack). A run
first works serially for a moment; if work remains and more than one worker is allowed, the
remaining nodes become tasks for a :class:`concurrent.futures.Executor` — a local process
pool, or a Dask ``distributed`` cluster. Each task explores its nodes for a bounded time and
hands back its pieces and the nodes it did not reach, which become new tasks.

The contract (see ``docs/engine.md``): every node of the tree is, at any moment, in exactly
one place — the frontier, one task in flight, or explored with *all* of its pieces recorded.
A task's result (pieces and leftover nodes) is accepted whole or not at all; a task that is
lost (a dead worker, an interrupt) gives its nodes back to the frontier and its pieces are
never counted. Stops — ``max_pieces``, ``time_limit``, SIGINT, SIGTERM — only take effect
between nodes. So any sequence of stops and resumes, with any executors, ends with exactly
the pieces of one uninterrupted serial run, none lost, none twice; they are sorted
canonically at the end.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from ..errors import InvalidInputError, PreimageError, RunAborted, WorkersLostError
from .search import Node, Problem, RawPiece, Stats, make_search, rebuilt

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from types import FrameType
    from typing import TypeAlias

    from distributed import Client

    from ..specs import Spec
    from .search import RunStats

    #: what a worker task hands back: ``(index, pieces, stats, leftover nodes, unconfirmed)``
    _TaskResult: TypeAlias = tuple[int, list[RawPiece], Stats, list[Node], int]

__all__ = ["RunState", "run", "save_checkpoint", "load_checkpoint", "CHECKPOINT_VERSION", "StopRequest",
           "WorkersLostError", "RunAborted"]

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 4  # 4: pieces kept as pattern + cut codes (3: nodes hold branch patterns)

#: seconds of serial work before the remaining nodes are farmed out
SERIAL_SECONDS = 0.5
#: seconds a task explores before it returns its unexplored nodes
TASK_SECONDS = 2.0
#: a task that fails this many times in a row stops the run (a deterministic error)
MAX_TASK_FAILURES = 3
#: seconds to wait for a Dask scheduler to accept a connection (the whole attempt is
#: abandoned after ``SCHEDULER_TIMEOUT + 3`` s, whatever the other side does)
SCHEDULER_TIMEOUT = 5.0
#: seconds a Dask cluster may have no worker before the run stops with :class:`WorkersLostError`
NO_WORKER_SECONDS = 10.0
#: progress is reported this often (seconds) while a run works (plus at most one compiled
#: chunk: reports come at least every 0.5 s)
PROGRESS_SECONDS = 0.4


@dataclass
class Checker:
    """Confirms a candidate piece with an independent forward pass (for decisions)."""

    spec: Spec
    tol: float

    def point(self, piece: RawPiece, problem: Problem) -> np.ndarray:
        """A point of the piece's relative interior (its rows rebuilt; an LP), in input coordinates."""
        from ..polyhedra import Polyhedron

        rows = rebuilt(problem, [piece])[0]
        A_dom, b_dom = problem.chart.u_constraints()
        P = Polyhedron(np.vstack([A_dom, rows.A]), np.concatenate([b_dom, -rows.c]), rows.E, -rows.e)
        x: np.ndarray = problem.chart.to_input(P.relative_interior_point())[0]
        return x

    def confirm(self, piece: RawPiece, problem: Problem) -> np.ndarray | None:
        x = self.point(piece, problem)
        h = problem.forward(x)
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
    info: dict[str, Any] = field(default_factory=dict)
    checker: Checker | None = None
    #: pieces found earlier that live in a result file, not in ``pieces``:
    #: ``{"path": the .npz file, "count": how many}`` (a streamed run's checkpoint)
    stored: dict[str, Any] | None = None
    #: pieces of this call handed to ``on_piece`` and not kept in ``pieces`` (a streamed run)
    streamed: int = 0

    @property
    def n_pieces(self) -> int:
        return len(self.pieces) + self.streamed + (self.stored["count"] if self.stored else 0)


# -- stops ------------------------------------------------------------------------------------------------
class StopRequest:
    """SIGINT and SIGTERM, while a run works, ask it to stop at the next node boundary.

    Installed only in the main thread (elsewhere signals never reach the run), and not for
    a signal the process ignores (``nohup``, background jobs of a non-interactive shell). A second
    signal while a stop is pending raises :class:`RunAborted` (a :class:`KeyboardInterrupt`)
    at once: the user insists, and nothing is saved. The previous handlers are restored on exit.
    """

    def __init__(self) -> None:
        self.signal: str | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002 - the signal API
        name = signal.Signals(signum).name
        if self.signal is not None:
            raise RunAborted(f"second {name}: aborted")
        self.signal = name
        log.info("%s received: stopping at the next node (a second one aborts)", name)

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue  # e.g. started with nohup or in the background: the caller chose to ignore it
                try:
                    self._previous[sig] = signal.signal(sig, self._handler)
                except (ValueError, OSError):  # pragma: no cover - embedded interpreters
                    pass
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        for sig, old in self._previous.items():
            signal.signal(sig, old)
        return False


# -- worker tasks -----------------------------------------------------------------------------------------
def _worker_init() -> None:
    """Worker processes leave SIGINT to the parent (which stops the run and keeps its state)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _task(problem: Problem, index: int, nodes: list[Node], deadline: float | None, seconds: float | None,
          checker: Checker | None, max_pieces: int | None) -> _TaskResult:
    """Explore ``nodes`` (a worker task). Returns ``(index, pieces, stats, leftover, unconfirmed)``.

    All of it belongs together: the pieces are those of the explored nodes, ``leftover`` the
    nodes not reached."""
    from .kernels import ensure_compiled

    ensure_compiled()  # a worker with a cold cache compiles before its task's clock starts
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")  # worker processes: tiny matrices only
    except ImportError:  # pragma: no cover
        pass
    start = time.time()
    collector = _Collector(checker, problem, max_pieces)

    def should_stop() -> bool:
        now = time.time()
        return (deadline is not None and now > deadline) or (seconds is not None and now - start > seconds)

    search = make_search(problem, collector.sink, should_stop, piece_budget=max_pieces, one_piece=checker is not None)
    rest = search.run(list(nodes))
    return index, collector.pieces, search.stats, rest, collector.unconfirmed


class _Collector:
    """The sink of one search: keeps its pieces; says when the piece budget (or, for a
    decision, the first confirmed piece) ends the search. The search always finishes the
    node it is on, so every piece of an explored node is kept."""

    def __init__(self, checker: Checker | None, problem: Problem, budget: int | None,
                 forward: Callable[[RawPiece], None] | None = None) -> None:
        self.checker, self.problem, self.budget = checker, problem, budget
        self.pieces: list[RawPiece] = []
        self.forward = forward  # serial runs: each piece is accepted at once (streamed as found)
        self.count = 0
        self.unconfirmed = 0

    def _keep(self, piece: RawPiece) -> None:
        self.count += 1
        if self.forward is not None:
            self.forward(piece)
        else:
            self.pieces.append(piece)

    def sink(self, piece: RawPiece) -> bool:
        if self.checker is not None:
            if self.checker.confirm(piece, self.problem) is None:
                self.unconfirmed += 1
                return True
            self._keep(piece)
            return False
        self._keep(piece)
        return self.budget is None or self.count < self.budget


# -- executors --------------------------------------------------------------------------------------------
def _connect(address: str) -> Client:
    """A Dask client for ``address``, or a clear error within ``SCHEDULER_TIMEOUT + 3`` s."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise InvalidInputError("a Dask scheduler needs dask[distributed] installed") from exc
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            box["client"] = Client(address, timeout=f"{SCHEDULER_TIMEOUT}s")
        except BaseException as exc:  # noqa: BLE001 - reported below, whatever it is
            box["error"] = exc

    t = threading.Thread(target=attempt, name="preimage-dask-connect", daemon=True)
    t.start()
    t.join(SCHEDULER_TIMEOUT + 3.0)
    if "client" in box:
        client: Client = box["client"]
        return client
    what = ("no answer" if t.is_alive() else f"{type(box['error']).__name__}: {str(box['error'])[:200]}")
    raise InvalidInputError(f"scheduler {address!r} does not answer as a Dask scheduler ({what})")


def _check_address(address: str) -> None:
    text = address.split("://", 1)[-1]
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInputError(f"scheduler must be a Dask address like 'tcp://host:8786', got {address!r}")


class _Executors:
    """The executor of a run (created on demand) and, for Dask, the client it belongs to."""

    def __init__(self, workers: int, scheduler: Any) -> None:  # duck-typed: open() tells the kinds apart
        self.workers, self.scheduler = workers, scheduler
        self.executor: Executor | None = None
        self.client: Client | None = None
        self.owned = False
        self.owned_client = False

    def open(self) -> Executor:
        if self.executor is not None:
            return self.executor
        sch = self.scheduler
        if sch is None:
            self.executor, self.owned = self._pool(), True
        elif isinstance(sch, str):
            _check_address(sch)
            self.client, self.owned_client = _connect(sch), True
            self.executor, self.owned = self.client.get_executor(), True
        elif hasattr(sch, "get_executor"):
            self.client = sch
            self.executor = sch.get_executor()
        elif isinstance(sch, Executor):
            self.executor = sch
        else:
            raise InvalidInputError("scheduler must be a dask distributed Client, its address, or an Executor, "
                                    f"got {type(sch).__name__}")
        return self.executor

    def _pool(self) -> Executor:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                   initializer=_worker_init)

    def n_workers(self) -> int | None:
        """Workers of the Dask cluster now (``None`` when not on Dask)."""
        if self.client is None:
            return None
        try:
            return len(self.client.scheduler_info(n_workers=-1)["workers"])
        except TypeError:  # older distributed: no n_workers argument
            return len(self.client.scheduler_info()["workers"])
        except Exception:  # noqa: BLE001 - a lost scheduler has no workers
            return 0

    def replace_broken_pool(self) -> None:
        if self.owned and self.client is None:
            self.close(kill=True)
            self.executor, self.owned = self._pool(), True

    def close(self, *, kill: bool = False) -> None:
        ex = self.executor
        if ex is not None and self.owned:
            procs = list(getattr(ex, "_processes", {}).values()) if kill else []
            try:
                ex.shutdown(wait=False, cancel_futures=True)
            except TypeError:  # dask's ClientExecutor has no cancel_futures
                ex.shutdown(wait=False)
            for p in procs:  # tasks in flight were given back: do not wait for them
                try:
                    p.terminate()
                except Exception:  # noqa: BLE001 - already gone
                    pass
        if self.client is not None and self.owned_client:
            self.client.close()
        self.executor = None
        self.client = None if self.owned_client else self.client


# -- the run ----------------------------------------------------------------------------------------------
class _Run:
    """One call of :func:`run` (see the module docstring for the contract it keeps)."""

    def __init__(self, state: RunState, *, time_limit: float | None, max_pieces: int | None, workers: int,
                 scheduler: str | Executor | Client | None, progress: Callable[[RunStats], None] | None,
                 on_piece: Callable[[RawPiece], None] | None, stop: StopRequest, keep: bool = True,
                 reserve: Callable[[], float] | None = None) -> None:
        self.state = state
        self.keep = keep or on_piece is None
        self.t0 = time.perf_counter()
        self.deadline = None if time_limit is None else time.time() + float(time_limit)
        self.reserve = reserve
        self.max_pieces = max_pieces
        self.workers = workers
        self.progress = progress
        self.on_piece = on_piece
        self.stop_request = stop
        self.queue: deque[tuple[int, list[Node]]] = deque((i, list(n)) for i, n in state.frontier if n)
        state.frontier = []
        self.base = state.stats
        self.run_stats = Stats()
        self.unconfirmed = 0
        self.reason: str | None = None
        self.last_report = time.monotonic()
        self.executors = _Executors(workers, scheduler)
        self.parallel = scheduler is not None or workers > 1

    # stop conditions and progress
    def _search_deadline(self) -> float | None:
        """When the search must stop: the deadline less the time still needed to write what
        was found (``reserve``), so that a time limit covers the whole call."""
        if self.deadline is None:
            return None
        return self.deadline - (self.reserve() if self.reserve is not None else 0.0)

    def _pieces_left(self) -> int | None:
        return None if self.max_pieces is None else self.max_pieces - self.state.n_pieces

    def _check_stop(self) -> str | None:
        if self.stop_request.signal is not None:
            return "interrupt"
        # (the search deadline is a float whenever the deadline is)
        if self.deadline is not None and time.time() > cast(float, self._search_deadline()):
            return "time_limit"
        left = self._pieces_left()
        if left is not None and left <= 0:
            return "max_pieces"
        return None

    def _report(self, extra: Stats | None = None, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if not force and now - self.last_report < PROGRESS_SECONDS:
            return
        self.last_report = now
        s = Stats()
        s.add(self.base)
        s.add(self.run_stats)
        if extra is not None:
            s.add(extra)
        s.seconds = self.base.seconds + time.perf_counter() - self.t0
        self.progress(s.snapshot())

    def _accept(self, pieces: list[RawPiece]) -> None:
        """Record every piece of a finished search or task (never a part of them): in the
        state, or only through ``on_piece`` (a streamed run keeps no piece in memory)."""
        for p in pieces:
            if self.on_piece is not None:
                self.on_piece(p)
            if self.keep:
                self.state.pieces.append(p)
            else:
                self.state.streamed += 1
        if self.state.checker is not None and pieces:
            self.reason = "found"

    # serial phase
    def serial(self) -> None:
        serial_end = time.time() + SERIAL_SECONDS if self.parallel else None
        while self.queue and self.reason is None:
            self.reason = self._check_stop()
            if self.reason is not None:
                break
            index, nodes = self.queue.popleft()
            pb = self.state.problems[index]
            left = self._pieces_left()
            # serially, a piece is final once emitted (stops fall between nodes): accept it now
            collector = _Collector(self.state.checker, pb, left, forward=lambda p: self._accept([p]))
            search = None

            # ``search`` is bound late on purpose: the search made below, reported while it runs
            def should_stop() -> bool:
                self._report(search.stats if search is not None else None)  # noqa: B023
                return (self.stop_request.signal is not None
                        or (self.deadline is not None and time.time() > cast(float, self._search_deadline()))
                        or (serial_end is not None and time.time() > serial_end))

            search = make_search(pb, collector.sink, should_stop, piece_budget=left,
                                 one_piece=self.state.checker is not None)
            try:
                rest = search.run(nodes)  # stops only between nodes
            except RunAborted:
                raise
            except KeyboardInterrupt:  # raised by a progress callback (between nodes)
                rest = nodes
                self.reason = "interrupt"
            self.run_stats.add(search.stats)
            self.unconfirmed += collector.unconfirmed
            if rest:
                self.queue.appendleft((index, rest))
                if self.parallel and self.reason is None and self._check_stop() is None:
                    return  # the serial moment is over: farm out the rest
        if self.reason is None and self.queue:
            self.reason = self._check_stop()

    # parallel phase
    def parallel_phase(self) -> None:
        executor = self.executors.open()
        n_workers = self.workers if self.executors.client is None else max(1, self.executors.n_workers() or 1)
        in_flight: dict[Future[_TaskResult], tuple[int, list[Node], int]] = {}  # index, nodes, piece budget
        failures = 0
        no_workers_since: float | None = None
        try:
            while True:
                if self.reason is None:
                    self.reason = self._check_stop()
                if self.reason is None:
                    self._submit(executor, in_flight, n_workers)
                if not in_flight:
                    break
                done, _ = wait(list(in_flight), timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    index, nodes, _ = in_flight.pop(fut)
                    try:
                        _, pieces, st, rest, unc = fut.result()
                    except PreimageError:
                        raise
                    except Exception as exc:  # a worker died: its nodes go back to the frontier
                        failures += 1
                        if failures >= MAX_TASK_FAILURES * max(1, len(in_flight) + 1):
                            self.queue.append((index, nodes))
                            raise PreimageError(f"tasks keep failing ({type(exc).__name__}: {exc}); stopping") from exc
                        log.warning("a task failed (%s: %s); running it again", type(exc).__name__, exc)
                        self.queue.append((index, nodes))
                        if "BrokenProcessPool" in type(exc).__name__:
                            self.executors.replace_broken_pool()
                            executor = self.executors.open()
                        continue
                    failures = 0
                    self.run_stats.add(st)
                    self.unconfirmed += unc
                    if self.reason != "found":
                        self._accept(pieces)
                    if rest:
                        self.queue.append((index, rest))
                self._report()
                if self.reason is None:
                    self.reason = self._check_stop()
                if self.reason in ("interrupt", "found"):
                    break  # tasks in flight give their nodes back (below)
                if self.executors.client is not None:
                    if self.executors.n_workers() == 0:
                        no_workers_since = no_workers_since or time.monotonic()
                        if time.monotonic() - no_workers_since > NO_WORKER_SECONDS:
                            self.reason = "workers_lost"
                            break
                    else:
                        no_workers_since = None
        finally:
            for fut, (index, nodes, _) in in_flight.items():  # not accepted: explored again later
                fut.cancel()
                self.queue.append((index, nodes))
            in_flight.clear()

    def _submit(self, executor: Executor, in_flight: dict[Future[_TaskResult], tuple[int, list[Node], int]],
                n_workers: int) -> None:
        """Fill the executor up to two tasks per worker. Under ``max_pieces`` the pieces still
        allowed are shared out between the tasks in flight (a task ends its node, so the run
        may end a few pieces over the budget, never far over it)."""
        while self.queue and len(in_flight) < 2 * n_workers:
            budget = self._pieces_left()
            if budget is not None:
                budget -= sum(b for _, _, b in in_flight.values())
                if budget <= 0:
                    return
                budget = -(-budget // (2 * n_workers - len(in_flight)))
            index, nodes = self.queue.popleft()
            parts = max(1, min(len(nodes), 2 * n_workers - len(in_flight) - len(self.queue)))
            chunks = [nodes[i::parts] for i in range(parts)]  # round robin: deep and shallow mixed
            for chunk in chunks[1:]:
                self.queue.appendleft((index, chunk))
            fut = executor.submit(_task, self.state.problems[index], index, chunks[0], self._search_deadline(),
                                  TASK_SECONDS,
                                  self.state.checker, budget)
            in_flight[fut] = (index, chunks[0], budget or 0)
            self.state.info["tasks"] = self.state.info.get("tasks", 0) + 1

    def execute(self) -> str | None:
        try:
            if self.executors.scheduler is not None:  # connect first: a bad address is an error now
                self.executors.open()
            try:
                self.serial()
                if self.queue and self.reason is None:
                    self.parallel_phase()
            except RunAborted:
                raise
            except KeyboardInterrupt:  # from a progress callback (between tasks): the state is whole
                self.reason = "interrupt"
        finally:
            self.executors.close(kill=self.reason in ("interrupt", "found", "workers_lost"))
            self.state.frontier = list(self.queue)
            self.run_stats.seconds = time.perf_counter() - self.t0
            total = Stats()
            total.add(self.base)
            total.add(self.run_stats)
            total.seconds = self.base.seconds + self.run_stats.seconds
            self.state.stats = total
            self.state.info["unconfirmed"] = self.state.info.get("unconfirmed", 0) + self.unconfirmed
            if self.stop_request.signal is not None:
                self.state.info["signal"] = self.stop_request.signal
        try:
            self._report(force=True)  # the final counts
        except RunAborted:
            raise
        except KeyboardInterrupt:  # the state is whole: an interrupt now stops an unfinished run
            if self.reason is None:
                self.reason = "interrupt"
        if self.reason == "found":
            return self.reason
        if self.state.frontier and self.reason is None:  # pragma: no cover - every exit sets a reason
            self.reason = "time_limit"
        return self.reason if self.state.frontier else None


def run(
    state: RunState,
    *,
    time_limit: float | None = None,
    max_pieces: int | None = None,
    workers: int = 1,
    scheduler: str | Executor | Client | None = None,
    progress: Callable[[RunStats], None] | None = None,
    on_piece: Callable[[RawPiece], None] | None = None,
    keep: bool = True,
    reserve: Callable[[], float] | None = None,
) -> tuple[RunState, str | None]:
    """Continue ``state`` until its frontier is empty or a stop.

    Returns the updated state and why it stopped early (``None`` when complete):
    ``"time_limit"``, ``"max_pieces"``, ``"interrupt"`` (SIGINT/SIGTERM or a
    :class:`KeyboardInterrupt` from ``progress``), ``"workers_lost"`` (Dask) or ``"found"``
    (a decision: ``state.checker`` confirmed a piece). ``max_pieces`` counts every piece of
    the state (so a resume whose budget is used up returns at once); ``time_limit`` is the
    time of this call (``0``: return at once); ``reserve()`` (seconds) is kept free of it for
    the caller's work after the search (writing the result). With ``keep=False`` the pieces
    go only to ``on_piece`` (counted in ``state.streamed``), so memory does not grow with the
    answer.
    """
    r = _Run(state, time_limit=time_limit, max_pieces=max_pieces, workers=workers, scheduler=scheduler,
             progress=progress, on_piece=on_piece, stop=StopRequest(), keep=keep, reserve=reserve)
    with r.stop_request:
        log.info("run started: %d frontier nodes, %d pieces so far", sum(len(n) for _, n in r.queue),
                 state.n_pieces)
        reason = r.execute()
    log.info("run ended: %s, %d pieces", reason or "complete", state.n_pieces)
    return state, reason


def canonical_order(pieces: list[RawPiece]) -> list[RawPiece]:
    """Pieces sorted by (domain, pattern, disjunct): the same order for every schedule."""
    from .result import pattern_key

    return sorted(pieces, key=lambda p: (p.domain_index, pattern_key(p.pattern), len(p.pattern), p.disjunct))


def _pack_pieces(pieces: list[RawPiece]) -> dict[str, np.ndarray]:
    """The pieces as a few flat arrays (fast to pickle: no per-piece objects)."""
    return {
        "pattern": (np.concatenate([p.pattern for p in pieces]).astype(np.int8) if pieces else np.zeros(0, np.int8)),
        "pattern_bool": np.array(all(p.pattern.dtype == np.bool_ for p in pieces)),
        "pattern_len": np.array([p.pattern.shape[0] for p in pieces], dtype=np.int64),
        "cuts": np.concatenate([p.cuts for p in pieces]).astype(np.int64) if pieces else np.zeros(0, np.int64),
        "cuts_len": np.array([p.cuts.shape[0] for p in pieces], dtype=np.int64),
        "dim": np.array([p.dim for p in pieces], dtype=np.int64),
        "disjunct": np.array([p.disjunct for p in pieces], dtype=np.int64),
        "domain_index": np.array([p.domain_index for p in pieces], dtype=np.int64),
    }


def _unpack_pieces(packed: dict[str, np.ndarray]) -> list[RawPiece]:
    n = packed["pattern_len"].shape[0]
    pat_off = np.concatenate([[0], np.cumsum(packed["pattern_len"])])
    cut_off = np.concatenate([[0], np.cumsum(packed["cuts_len"])])
    pats = packed["pattern"]
    if bool(packed["pattern_bool"]):
        pats = pats.astype(bool)
    cuts = packed["cuts"]
    return [RawPiece(pats[pat_off[i]:pat_off[i + 1]], cuts[cut_off[i]:cut_off[i + 1]], int(packed["dim"][i]),
                     int(packed["disjunct"][i]), int(packed["domain_index"][i]))
            for i in range(n)]


def save_checkpoint(state: RunState, path: str | os.PathLike[str]) -> str:
    """Write ``state`` to ``path`` atomically (a pickle; load it only from a trusted source).

    The pieces found so far are stored as flat arrays; the frontier as its nodes."""
    from copy import copy

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    flat = copy(state)
    flat.pieces = []
    with open(tmp, "wb") as fh:
        pickle.dump({"format": "preimage.checkpoint", "version": CHECKPOINT_VERSION, "state": flat,
                     "pieces": _pack_pieces(state.pieces)}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, p)
    return str(p)


def load_checkpoint(path: str | os.PathLike[str]) -> RunState:
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"checkpoint {str(p)!r} does not exist")
    try:
        with open(p, "rb") as fh:
            data = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as exc:
        raise InvalidInputError(f"{str(p)!r} is not a preimage checkpoint: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != "preimage.checkpoint":
        raise InvalidInputError(f"{str(p)!r} is not a preimage checkpoint")
    if data.get("version") != CHECKPOINT_VERSION:
        raise InvalidInputError(
            f"{str(p)!r} has checkpoint version {data.get('version')}, expected {CHECKPOINT_VERSION}"
            " (written by another version of preimage)"
        )
    state: RunState = data["state"]
    state.pieces = _unpack_pieces(data["pieces"])
    return state
