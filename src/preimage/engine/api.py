"""The engine's public functions: :func:`preimage`, :func:`linear_regions`, :func:`verify`,
:func:`resume`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tolerances
from ..errors import InvalidInputError
from ..network import Network
from ..polyhedra import Piece, PolyhedralSet
from .domain import as_domains, chart
from .result import DeferredSet, PreimageResult, Verdict, to_pieces
from .runner import Checker, RunState, canonical_order, load_checkpoint, run, save_checkpoint
from .search import Problem, Stats, rebuilt, root_nodes
from .stream import PieceStream
from .targets import LayerTarget, disjoint_union, normalize_target
from .vpoly import words_for

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from collections.abc import Sequence
    from concurrent.futures import Executor
    from contextlib import AbstractContextManager
    from types import MappingProxyType

    from distributed import Client
    from numpy.typing import ArrayLike

    from ..polyhedra import Box, Polyhedron
    from ..specs import Spec
    from .domain import Slice
    from .search import RunStats
    from .stream import Joined
    from .targets import Activity, AffineSubspace

__all__ = ["preimage", "linear_regions", "verify", "resume", "build_problems"]

log = logging.getLogger(__name__)

#: the vertex backend is used when the domain's chart has at most this many dimensions
VERTEX_BACKEND_MAX_DIM = 10


def _blas_single_thread() -> AbstractContextManager[object]:
    """The engine multiplies many tiny matrices: threaded BLAS only adds contention (and
    slows down badly on a busy machine), so the engine's calls run with one BLAS thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        import contextlib

        return contextlib.nullcontext()
    limits: AbstractContextManager[object] = threadpool_limits(limits=1, user_api="blas")
    return limits


def _check_network(net: object) -> Network:
    if not isinstance(net, Network):
        raise InvalidInputError(f"net must be a preimage.Network, got {type(net).__name__}")
    return net


def build_problems(net: Network, target: LayerTarget | None, domain: Box | Polyhedron | Slice | Sequence[Box], *,
                   prune: bool = True, backend: str = "auto", near: ArrayLike | None = None) -> list[Problem]:
    """One :class:`Problem` per domain of a union."""
    if backend not in ("auto", "vertex", "lp"):
        raise InvalidInputError(f"backend must be 'auto', 'vertex' or 'lp', got {backend!r}")
    k = net.depth if target is None else target.layer
    layers = net.layers[:k]
    weights = tuple(np.ascontiguousarray(lay.dense_weight) for lay in layers)
    biases = tuple(np.asarray(lay.bias) for lay in layers)
    activations = tuple(lay.activation for lay in layers)
    problems: list[Problem] = []
    for i, dom in enumerate(as_domains(domain, net.input_dim)):
        ch = chart(dom, net.input_dim)
        if ch.dim == 0:
            raise InvalidInputError("the domain is a single point; evaluate the network there instead")
        use = backend if backend != "auto" else ("vertex" if ch.dim <= VERTEX_BACKEND_MAX_DIM else "lp")
        n_facets = 2 * ch.dim if ch.u_box is not None else ch.u_polyhedron.n_inequalities  # type: ignore[union-attr]
        target_rows = 0
        if target is not None:
            target_rows = target.width if target.activity is not None else max(
                (A.shape[0] for A, _, _, _ in target.polyhedra), default=0)
        # a constraint per facet, per decision of every layer, per target row (two per unit
        # of a forced activity)
        slots = n_facets + sum(lay.activation.table(lay.pre_dim).n_decisions for lay in layers) \
            + 2 * target_rows + 1
        hint = None
        if near is not None:
            x = np.asarray(near, dtype=np.float64).reshape(-1)
            if x.shape[0] != net.input_dim:
                raise InvalidInputError(f"near must be an input of width {net.input_dim}, got length {x.shape[0]}")
            hint = np.linalg.lstsq(ch.B, x - ch.x0, rcond=None)[0]
        problems.append(Problem(weights, biases, activations, ch, target, words_for(slots), prune, i, use, hint))
    return problems


def _budgets(time_limit: Any, max_pieces: Any, workers: Any,
             scheduler: Any) -> tuple[float | None, int | None, int]:
    """Check the run options before any work (clear errors naming the argument)."""
    if time_limit is not None:
        try:
            t = float(time_limit)
        except (TypeError, ValueError):
            raise InvalidInputError(f"time_limit must be a number of seconds or None, got {time_limit!r}") from None
        if not np.isfinite(t) or t < 0:
            raise InvalidInputError(f"time_limit must be a finite number of seconds >= 0 (or None), got {time_limit!r}")
        time_limit = t
    if max_pieces is not None:
        if isinstance(max_pieces, bool) or not isinstance(max_pieces, (int, np.integer)) or max_pieces < 1:
            raise InvalidInputError(f"max_pieces must be a whole number >= 1 (or None), got {max_pieces!r}")
        max_pieces = int(max_pieces)
    if workers is None:
        workers = 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InvalidInputError(f"workers must be a whole number >= 1, got {workers!r}")
    if scheduler is not None and not isinstance(scheduler, str) and not hasattr(scheduler, "get_executor") \
            and not hasattr(scheduler, "submit"):
        raise InvalidInputError("scheduler must be a dask distributed Client, its address, or an Executor, "
                                f"got {type(scheduler).__name__}")
    if isinstance(scheduler, str) and not scheduler.strip():
        raise InvalidInputError("scheduler must be a Dask address like 'tcp://host:8786', got an empty string")
    return time_limit, max_pieces, int(workers)


def _writable(path: str | os.PathLike[str] | None, what: str) -> None:
    """Fail early when ``path`` cannot be written (its folder is created if missing)."""
    if path is None:
        return
    folder = Path(path).expanduser().resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"{what} {str(path)!r}: cannot create its folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise InvalidInputError(f"{what} {str(path)!r}: its folder {str(folder)!r} is not writable")


def _remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _default_checkpoint(kind: str) -> str:
    """Where a stopped run's checkpoint goes when the caller named no place (a new temp file)."""
    import tempfile

    fd, path = tempfile.mkstemp(prefix=f"preimage-{kind}-", suffix=".checkpoint")
    os.close(fd)
    return path


def _execute(state: RunState, *, time_limit: float | None, max_pieces: int | None, workers: int,
             scheduler: str | Executor | Client | None, progress: Callable[[RunStats], None] | None,
             out: str | os.PathLike[str] | None, checkpoint: str | os.PathLike[str] | None) -> PreimageResult | Verdict:
    """Run ``state``; stream its pieces to ``out``; on a stop save its checkpoint; the result.

    With ``out``, a stop's checkpoint does not repeat the pieces: they are in ``out``, which
    the checkpoint names (``state.stored``); a resume adopts that file as its first chunk.
    """
    from .kernels import ensure_compiled
    from .runner import WorkersLostError

    ensure_compiled()  # compiling (a cold kernel cache) is not part of any time budget
    if state.stored is not None and out is None:
        out = state.stored["path"]
    with _blas_single_thread():
        stream = PieceStream(out, state.problems, state.pieces, state.stored) if out else None
        state.streamed = 0
        try:  # a streamed run keeps no piece in memory: they are in the stream's chunks
            state, reason = run(state, time_limit=time_limit, max_pieces=max_pieces, workers=workers,
                                scheduler=scheduler, progress=progress,
                                on_piece=stream.add if stream is not None else None,
                                keep=stream is None or stream.out.suffix.lower() == ".json",
                                reserve=stream.finish_seconds if stream is not None else None)
        finally:
            if stream is not None:
                stream.flush()  # whatever happens next, the pieces found are on disk
        stopped = reason is not None and reason != "found"
        ckpt: str | None = None
        temporary = False
        if stopped:  # every stop leaves a checkpoint: where asked, next to the result file, or a temp file
            ckpt = str(checkpoint or (str(stream.out) + ".checkpoint" if stream is not None else None) or "")
            if not ckpt:
                ckpt, temporary = _default_checkpoint(state.kind), True
        result: PreimageResult | Verdict
        if state.kind == "verify":
            if ckpt:
                save_checkpoint(state, ckpt)
            result = _verdict(state, reason, ckpt)
        elif stream is not None:
            joined = stream.finish()
            total = state.n_pieces
            result = _result_from_file(state, stream.out, joined, reason, ckpt)
            if stopped and stream.out.suffix.lower() == ".npz":  # the checkpoint names the file
                assert ckpt is not None  # (every stop has a checkpoint)
                state.pieces, state.streamed, state.stored = [], 0, {"path": str(stream.out), "count": total}
                save_checkpoint(state, ckpt)
            elif stopped:  # a .json result (small): the checkpoint holds the pieces
                assert ckpt is not None
                save_checkpoint(state, ckpt)
        else:
            if ckpt:
                save_checkpoint(state, ckpt)
            result = _result(state, reason, ckpt)
        if ckpt:
            log.info("run stopped (%s); checkpoint saved to %s", reason, ckpt)
        if temporary:  # a checkpoint nobody named lives as long as its result (not removed at exit)
            import weakref

            assert ckpt is not None

            weakref.finalize(result, _remove_file, ckpt).atexit = False
    if reason == "workers_lost":
        raise WorkersLostError(
            f"every worker of the Dask cluster is gone; {state.n_pieces} pieces found so far are kept, "
            f"and the checkpoint {ckpt} can be finished locally with preimage.resume", result)
    return result


def _frozen(info: Mapping[str, Any]) -> MappingProxyType[str, Any]:
    """A read-only view of a copy of ``info`` (results are immutable snapshots)."""
    from types import MappingProxyType

    return MappingProxyType(dict(info))


def _result(state: RunState, reason: str | None, ckpt: str | None) -> PreimageResult:
    raws = canonical_order(state.pieces)
    problems = {pb.domain_index: pb for pb in state.problems}

    def build() -> list[Piece]:  # the pieces' geometry, rebuilt from their patterns and cut codes
        pieces: list[Piece] = []
        for index, pb in problems.items():  # raws are ordered by domain first
            mine = [r for r in raws if r.domain_index == index]
            pieces.extend(to_pieces(rebuilt(pb, mine), pb.chart))
        return pieces

    ch0 = state.problems[0].chart
    n = ch0.dim if ch0.slice is not None else ch0.input_dim
    return PreimageResult(
        DeferredSet(build, len(raws), n),
        reason is None,
        state.stats.snapshot(),
        state.layer,
        np.array([r.disjunct for r in raws], dtype=np.int64),
        np.array([r.domain_index for r in raws], dtype=np.int64),
        (),
        ckpt,
        reason,
        _frozen(state.info),
    )


def _result_from_file(state: RunState, path: Path, joined: Joined, reason: str | None,
                      ckpt: str | None) -> PreimageResult:
    """The result of a streamed run: a view of its result file (memory-mapped, a piece is
    read and rebuilt from its pattern and cut codes when used), in canonical order."""
    order = joined.order
    pieces_set: PolyhedralSet
    if Path(path).suffix.lower() == ".json":
        def build() -> list[Piece]:
            from ..polyhedra.io import load_geometry

            loaded = load_geometry(path)
            assert isinstance(loaded, PolyhedralSet)  # the stream wrote a set
            pieces = loaded.pieces
            return [pieces[i] for i in order]
        pieces_set = DeferredSet(build, order.shape[0], int(joined.ambient_dim))
    else:  # memory-mapped: a piece is read from the file and rebuilt when used
        from .result_file import EngineResultView

        pieces_set = EngineResultView(path, order)

    return PreimageResult(pieces_set, reason is None,
                          state.stats.snapshot(), state.layer, joined.disjuncts[order], joined.domains[order],
                          (), ckpt,
                          reason, _frozen(state.info))


def preimage(
    net: Network,
    target: Activity | Polyhedron | Box | AffineSubspace | Sequence[Polyhedron | Box] | Spec,
    *,
    layer: int | None = None,
    domain: Box | Polyhedron | Slice | Sequence[Box],
    time_limit: float | None = None,
    max_pieces: int | None = None,
    prune: bool = True,
    workers: int | None = None,
    scheduler: str | Executor | Client | None = None,
    progress: Callable[[RunStats], None] | None = None,
    backend: str = "auto",
    out: str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    near: ArrayLike | None = None,
    method: str = "forward",
) -> PreimageResult:
    """The exact set of inputs in ``domain`` whose layer-``layer`` value lies in ``target``.

    Parameters
    ----------
    net : the network.
    target : :class:`~preimage.Activity` (an activity point), a :class:`~preimage.Polyhedron`
        or :class:`~preimage.Box` in the layer's space, :class:`~preimage.AffineSubspace`, a
        list of polyhedra (a union), or a VNN-LIB :class:`~preimage.Spec` (its output part).
    layer : the target layer (default: the last).
    domain : a bounded :class:`~preimage.Box`, :class:`~preimage.Polyhedron`,
        :class:`~preimage.Slice` or a list of boxes (a union).
    time_limit, max_pieces : budgets; when one runs out (or on Ctrl-C / SIGTERM) the result
        holds what was found, ``complete=False``, and the frontier is saved to ``checkpoint``
        (default ``out + ".checkpoint"``, else a temporary file: ``result.frontier_path``)
        for :func:`resume`. The time limit covers the whole call, writing ``out`` included.
    prune : drop regions that bounds prove cannot reach the target (same result either way).
    workers : processes to use (default 1: serial); ``scheduler``: a Dask
        ``distributed.Client`` or its address, to spread the run over a cluster.
    progress : called with the running :class:`~preimage.engine.search.RunStats` now and then.
    backend : ``"vertex"`` (regions kept as vertices: no LPs; domains of dimension up to 10),
        ``"lp"`` (H-representation and warm-started LPs), or ``"auto"``.
    out : stream pieces to this ``.npz`` result file as they are found.
    near : an input whose side of every split is explored first (e.g. the example whose
        activity is the target: its piece is then found first under a budget). The result
        does not depend on it.
    method : ``"forward"`` (default: forward enumeration of activation regions) or
        ``"dual-basis"``: the papers' backward procedure (:mod:`preimage.layer.backward`;
        same set; ReLU and affine layers; no checkpoint, so it refuses ``out``,
        ``checkpoint``, ``workers`` > 1, ``scheduler`` and a ``backend``).

    Returns
    -------
    PreimageResult — ``.set`` is a :class:`~preimage.PolyhedralSet` whose pieces carry their
    activation pattern and affine map; their union is exactly the preimage.

    Examples
    --------
    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, -1.0], [1.0, 1.0]]), np.zeros(2), True),
    ...                                     (np.array([[1.0, 1.0]]), np.zeros(1), False)])
    >>> res = preimage.preimage(net, preimage.Box([1.0], [2.0]), domain=preimage.Box([-1, -1], [1, 1]))
    >>> res.complete, len(res.set) > 0
    (True, True)
    >>> X = res.set.sample(50, seed=0)
    >>> tol = preimage.tolerances.CONTAINS
    >>> bool(np.all((net.forward(X) >= 1 - tol) & (net.forward(X) <= 2 + tol)))
    True
    """
    net = _check_network(net)
    time_limit, max_pieces, workers = _budgets(time_limit, max_pieces, workers, scheduler)
    if method != "forward":
        return _dual_basis(net, target, method, layer=layer, domain=domain, time_limit=time_limit,
                           max_pieces=max_pieces, prune=prune, workers=workers, scheduler=scheduler,
                           progress=progress, backend=backend, out=out, checkpoint=checkpoint, near=near)
    _writable(out, "out")
    _writable(checkpoint, "checkpoint")
    state = _forward_state(net, target, layer, domain, prune=prune, backend=backend, near=near)
    result = _execute(state, time_limit=time_limit, max_pieces=max_pieces, workers=workers, scheduler=scheduler,
                      progress=progress, out=out, checkpoint=checkpoint)
    assert isinstance(result, PreimageResult)  # (not a decision)
    return result


def _forward_state(net: Network, target: Any, layer: int | None, domain: Any, *, prune: bool, backend: str,
                   near: ArrayLike | None) -> RunState:
    """The run state of ``preimage(..., method="forward")``: its problems and root nodes."""
    tgt = normalize_target(target, net, layer)
    origin = None
    if tgt.activity is None and len(tgt.polyhedra) > 1:
        # a union target: make its parts disjoint, so that pieces meet only on boundaries
        parts, origin = disjoint_union(tgt.polyhedra)
        tgt = LayerTarget(tgt.layer, tgt.width, None, parts)
    problems = build_problems(net, tgt, domain, prune=prune, backend=backend, near=near)
    state = RunState("preimage", tgt.layer, problems, frontier=[(i, root_nodes(pb)) for i, pb in enumerate(problems)])
    if origin is not None:
        state.info["disjunct_origin"] = origin
    return state


def _dual_basis(net: Network, target: Any, method: str, *, layer: int | None, domain: Any, time_limit: float | None,
                max_pieces: int | None, prune: bool, workers: int, scheduler: Any,
                progress: Callable[[RunStats], None] | None, backend: str, out: Any, checkpoint: Any,
                near: ArrayLike | None) -> PreimageResult:
    """``preimage(..., method="dual-basis")``: refuse the options it has no use for, then run it."""
    from ..layer.backward import backward_preimage

    if method != "dual-basis":
        raise InvalidInputError(f"method must be 'forward' or 'dual-basis', got {method!r}")
    refused = {"out": out is not None, "checkpoint": checkpoint is not None, "workers": workers != 1,
               "scheduler": scheduler is not None, "backend": backend != "auto"}
    for name, given in refused.items():
        if given:
            raise InvalidInputError(
                f"method='dual-basis' does not take {name}= (it runs serially in memory and keeps no checkpoint; "
                f"a stopped run is re-run with a larger budget); use method='forward' for {name}=")
    with _blas_single_thread():
        return backward_preimage(net, target, layer=layer, domain=domain, time_limit=time_limit,
                                 max_pieces=max_pieces, prune=prune, progress=progress, near=near)


def linear_regions(
    net: Network,
    domain: Box | Polyhedron | Slice | Sequence[Box],
    *,
    time_limit: float | None = None,
    max_pieces: int | None = None,
    workers: int | None = None,
    scheduler: str | Executor | Client | None = None,
    progress: Callable[[RunStats], None] | None = None,
    backend: str = "auto",
    out: str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
) -> PreimageResult:
    """Every activation region of ``net`` in ``domain``, with the network's affine map on each.

    ``domain`` may be a :class:`~preimage.Slice` (a 2-D or 3-D affine slice of the input,
    e.g. through data points); then the pieces are in slice coordinates. Budgets, workers
    and checkpoints work as in :func:`preimage`.
    """
    net = _check_network(net)
    time_limit, max_pieces, workers = _budgets(time_limit, max_pieces, workers, scheduler)
    _writable(out, "out")
    _writable(checkpoint, "checkpoint")
    problems = build_problems(net, None, domain, prune=False, backend=backend)
    state = RunState("regions", net.depth, problems, frontier=[(i, root_nodes(pb)) for i, pb in enumerate(problems)])
    result = _execute(state, time_limit=time_limit, max_pieces=max_pieces, workers=workers, scheduler=scheduler,
                      progress=progress, out=out, checkpoint=checkpoint)
    assert isinstance(result, PreimageResult)  # (not a decision)
    return result


def resume(path: str | os.PathLike[str] | PreimageResult | Verdict, *, time_limit: float | None = None,
           max_pieces: int | None = None, workers: int | None = None,
           scheduler: str | Executor | Client | None = None, progress: Callable[[RunStats], None] | None = None,
           out: str | os.PathLike[str] | None = None,
           checkpoint: str | os.PathLike[str] | None = None) -> PreimageResult | Verdict:
    """Continue a stopped :func:`preimage` / :func:`linear_regions` / :func:`verify` run.

    ``path`` is its checkpoint, the ``out`` file of the run (next to which the checkpoint
    lies), or the stopped result itself (its ``frontier_path``). The finished result is
    the same as that of an uninterrupted run, whatever sequence of stops and workers led
    to it. Budgets: ``time_limit`` is the time of this call (``0`` returns at once);
    ``max_pieces`` counts *all* pieces of the result, those found before included, so a
    resume whose piece budget is already reached returns at once. When the run completes
    its checkpoint is deleted. A stopped :func:`verify` resumes to a :class:`Verdict`.
    """
    time_limit, max_pieces, workers = _budgets(time_limit, max_pieces, workers, scheduler)
    if isinstance(path, (PreimageResult, Verdict)):
        if path.frontier_path is None:
            raise InvalidInputError("this result is complete: there is nothing to resume")
        path = path.frontier_path
    p = Path(path)
    if not p.exists() and Path(str(p) + ".checkpoint").exists():
        p = Path(str(p) + ".checkpoint")
    elif p.suffix == ".npz" and Path(str(p) + ".checkpoint").exists():
        p = Path(str(p) + ".checkpoint")
    state = load_checkpoint(p)
    if state.kind not in ("preimage", "regions", "verify"):
        raise InvalidInputError(f"{str(p)!r} holds a {state.kind!r} run, which cannot be resumed here")
    if out is None and state.stored is not None:
        out = state.stored["path"]
    elif out is None and state.kind != "verify" and str(p).endswith(".checkpoint") \
            and Path(str(p)[: -len(".checkpoint")]).suffix in (".npz", ".json"):
        out = str(p)[: -len(".checkpoint")]
    _writable(out, "out")
    result = _execute(state, time_limit=time_limit, max_pieces=max_pieces, workers=workers, scheduler=scheduler,
                      progress=progress, out=out, checkpoint=checkpoint or p)
    done = result.status != "unknown" if isinstance(result, Verdict) else result.complete
    if done and p.exists() and p.name.endswith(".checkpoint"):
        p.unlink()
    return result


def verify(net: Network, spec: Spec | str | os.PathLike[str], *, time_limit: float | None = None,
           workers: int | None = None, scheduler: str | Executor | Client | None = None,
           progress: Callable[[RunStats], None] | None = None, falsify: bool = True,
           checkpoint: str | os.PathLike[str] | None = None) -> Verdict:
    """Decide a VNN-LIB property: is the unsafe set reachable from the input set?

    Returns a :class:`~preimage.Verdict`: ``"sat"`` with a counterexample confirmed by a
    forward pass, ``"unsat"`` (the preimage of the unsafe output set within the input set is
    empty — a proof), or ``"unknown"`` (budget exhausted, or candidates that a forward pass
    could not confirm). The search stops at the first non-empty piece. With
    ``falsify=True`` a quick sampling/gradient search for a counterexample runs first (it can
    only answer ``"sat"``, with a checked input). A budget or an interrupt (SIGINT/SIGTERM)
    answers ``"unknown"`` and saves a checkpoint (``checkpoint``, or a temp file: see
    ``Verdict.frontier_path``) that :func:`resume` continues to the final verdict.
    """
    from ..specs import Spec, load_vnnlib

    net = _check_network(net)
    time_limit, _, workers = _budgets(time_limit, None, workers, scheduler)
    _writable(checkpoint, "checkpoint")
    if not isinstance(spec, (Spec, str, os.PathLike)):
        raise InvalidInputError(
            f"spec must be a preimage.Spec or the path of a .vnnlib file, got {type(spec).__name__}"
        )
    if not isinstance(spec, Spec):
        spec = load_vnnlib(spec)
    with _blas_single_thread():
        return _verify(net, spec, time_limit=time_limit, workers=workers, scheduler=scheduler, progress=progress,
                       falsify=falsify, checkpoint=checkpoint)


def _verify(net: Network, spec: Spec, *, time_limit: float | None, workers: int,
            scheduler: str | Executor | Client | None, progress: Callable[[RunStats], None] | None,
            falsify: bool, checkpoint: str | os.PathLike[str] | None) -> Verdict:
    from .kernels import ensure_compiled

    ensure_compiled()  # before the clock starts
    if spec.n_inputs != net.input_dim:
        raise InvalidInputError(
            f"the spec has {spec.n_inputs} inputs (X_0..X_{spec.n_inputs - 1}), the network takes {net.input_dim}"
        )
    if spec.n_outputs != net.output_dim:
        raise InvalidInputError(
            f"the spec has {spec.n_outputs} outputs (Y_0..Y_{spec.n_outputs - 1}), "
            f"the network produces {net.output_dim}"
        )
    t0 = time.perf_counter()
    total = Stats()
    if falsify:
        from .falsify import falsify as _falsify

        for case in spec.cases:
            tgt = normalize_target(list(case.outputs), net, None)
            x = _falsify(net, case.domain, tgt.polyhedra)
            if x is not None:
                y = net.forward(x)
                if spec.is_counterexample(x, y, tol=tolerances.CONTAINS):
                    total.seconds = time.perf_counter() - t0
                    return Verdict("sat", x, y, total.snapshot(), info=_frozen({"found_by": "falsification"}))
    problems: list[Problem] = []
    for case in spec.cases:
        tgt = normalize_target(list(case.outputs), net, None)
        problems.extend(build_problems(net, tgt, case.domain))
    problems = [Problem(pb.weights, pb.biases, pb.activations, pb.chart, pb.target, pb.words, pb.prune, i, pb.backend,
                        pb.hint) for i, pb in enumerate(problems)]
    state = RunState("verify", net.depth, problems, frontier=[(i, root_nodes(pb)) for i, pb in enumerate(problems)],
                     checker=Checker(spec, tolerances.CONTAINS))
    state.stats.seconds = time.perf_counter() - t0  # the falsification time counts
    remaining = None if time_limit is None else max(0.0, float(time_limit) - (time.perf_counter() - t0))
    result = _execute(state, time_limit=remaining, max_pieces=None, workers=workers, scheduler=scheduler,
                      progress=progress, out=None, checkpoint=checkpoint)
    assert isinstance(result, Verdict)  # (a decision)
    return result


def _verdict(state: RunState, reason: str | None, ckpt: str | None) -> Verdict:
    """The verdict of a (possibly resumed) verification run."""
    if state.pieces:
        piece = state.pieces[0]
        pb = state.problems[piece.domain_index]
        assert state.checker is not None
        x = state.checker.confirm(piece, pb)
        assert x is not None  # confirmed by the worker
        y = pb.forward(np.asarray(x))
        return Verdict("sat", x, y, state.stats.snapshot(), info=_frozen({"found_by": "exact search"}))
    if reason is not None:
        return Verdict("unknown", None, None, state.stats.snapshot(), reason=reason, frontier_path=ckpt,
                       stopped_by=reason)
    unconfirmed = state.info.get("unconfirmed", 0)
    if unconfirmed:
        return Verdict("unknown", None, None, state.stats.snapshot(),
                       reason=f"{unconfirmed} candidate pieces could not be confirmed by a forward pass")
    return Verdict("unsat", None, None, state.stats.snapshot())
