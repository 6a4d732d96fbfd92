"""The engine's compiled kernels, compiled (or found in numba's disk cache) before any clock starts.

The kernels of :mod:`~preimage.engine.vpoly`, :mod:`~preimage.engine.bounds` and
:mod:`~preimage.engine.walk` are numba functions with ``cache=True``: the first run
on a machine compiles them (tens of seconds) and stores the machine code next to the
sources (``__pycache__``) or under ``NUMBA_CACHE_DIR``; later processes load it in
milliseconds. :func:`ensure_compiled` is called by the engine's entry points before they
start their clocks, so that a ``time_limit`` is never spent compiling:

* with a warm cache it only reads numba's small index files (well under a millisecond) and
  compiles nothing; each kernel is then loaded from disk at its first call (10-35 ms), so a
  run loads only the kernels it uses, and without numba's compiler set-up (about 0.25 s,
  see :func:`_install_fast_loader`);
* with a cold cache (first run, new numba, edited kernel sources) it says so once on
  stderr, with the expected duration, then compiles every kernel for every signature the
  engine calls it with, and numba writes them to its cache.

``python -c "from preimage.engine.kernels import ensure_compiled; ensure_compiled()"``
warms the cache ahead of time (``make`` does this when it sets up the environment).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from numba import types

__all__ = ["ensure_compiled", "missing", "KERNELS", "COMPILE_SECONDS"]

log = logging.getLogger(__name__)

#: what a full compile of the kernels takes (measured on the project's 2-core machine with the
#: one walk, every activation: 55 s idle; longer under load)
COMPILE_SECONDS = "about a minute"

_f8_1 = types.float64[::1]
_f8_2 = types.float64[:, ::1]
_i8_1 = types.int64[::1]
_i1_1 = types.int8[::1]
_u8_2 = types.uint64[:, ::1]
_i8 = types.int64
_f8 = types.float64

# the arguments of walk.walk (see engine/search.py, which builds them): the layers as a typed list
# of (W, b, the activation's table arrays, plain, identity), the domain, the target, the options,
# the stack; then max_nodes and max_out
_TABLE = (_i8_1, _i8_1, _f8_1, _i8_1, _i8_1, _i1_1, _i8_1, _f8_1, _f8_1, _i8_1, _i8_1, _i1_1)
# bounds.pack_layers: (W, b, the table's arrays), each flat with its offsets; shapes; flags
_LAYERS = types.Tuple((types.Tuple(tuple(t for a in (_f8_1, _f8_1, *_TABLE) for t in (a, _i8_1))),
                       types.int64[:, ::1], types.int64[:, ::1]))
_DOM = types.Tuple((_f8_2, _f8_1, _f8_1, _f8_1, _f8_1))
_TARGET = types.Tuple((_i8, _f8_1, _f8_1, _i1_1, _f8_2, _f8_1, _i8_1, _f8_2, _f8_1, _i8_1, _f8_2, _f8_1, _i8_1,
                       types.boolean))
_OPTS = types.Tuple((types.boolean, _f8, _f8, _f8))
_ANSWERS = types.Tuple((_i8_1, _f8_1, _i8_1, _i8_1))
_STACK = types.Tuple((_f8_2, _i8_1, _u8_2, _i8_1, _i1_1, _i8_1, _i1_1, _i8_1, _f8_2, _f8_1, _i8_1, _f8_2, _i8_1,
                      _f8_1, _i8_1, _i8_1))

#: ``(module, function, [argument types, ...])``: every kernel the engine calls from Python,
#: with the argument types it passes (all arrays C-contiguous and writable; Python ints and
#: floats are int64 and float64). Kernels called only from other kernels (``_popcount``,
#: ``_min_over``, ``_offsets``) are compiled with their callers.
KERNELS: tuple[tuple[str, str, tuple[tuple[types.Type, ...], ...]], ...] = (
    ("preimage.engine.vpoly", "_classify", ((_f8_2, _f8_2, _f8_1, _i1_1, _f8),)),
    ("preimage.engine.vpoly", "_cut", ((_f8_2, _u8_2, _f8_1, _f8, _i8, _i8, _i8),)),
    ("preimage.engine.vpoly", "_cut_cls", ((_f8_2, _u8_2, _i1_1, _f8_1, _i8, _i8, _i8),)),
    ("preimage.engine.walk", "walk", ((_i8, _LAYERS, _DOM, _TARGET, _OPTS, _STACK, _ANSWERS, _i8, _i8),)),
    ("preimage.engine.rebuild", "rebuild", ((_LAYERS, _TARGET, _f8_2, _f8_1, _i1_1, _i8_1, _i8_1, _i8_1),)),
    ("preimage.engine.bounds", "forward_bounds",
     ((_i8, _f8_2, _f8_1, _f8_1, _f8_2, _f8_1, _f8_2, _f8_1, _LAYERS, _i8),)),
    ("preimage.engine.bounds", "backward_rows",
     ((_i8, _f8_2, _f8_1, _f8_1, _f8_2, _f8_1, _f8_2, _f8_1, _LAYERS, _i8, _f8_2, types.boolean, _f8_1, _f8_1),)),
)

#: numba versions whose internals :func:`_fast_load` was checked against
_FAST_LOAD_NUMBA = ("0.68.",)

_lock = threading.Lock()
_done = False


def _dispatchers() -> Iterator[tuple[str, Any, tuple[tuple[types.Type, ...], ...]]]:
    from importlib import import_module

    for module, name, sigs in KERNELS:
        yield f"{module.rsplit('.', 1)[-1]}.{name}", getattr(import_module(module), name), sigs


def _cached(disp: Any, sig: tuple[types.Type, ...]) -> bool:
    """Whether numba's disk cache holds a valid entry for ``disp`` at ``sig`` (reads the
    index only; numba's own check, minus loading the machine code)."""
    if sig in disp.overloads:
        return True
    try:
        cache = disp._cache
        index = cache._cache_file._load_index()
        hit: bool = cache._index_key(sig, disp.targetctx.codegen()) in index
        return hit
    except Exception:  # pragma: no cover - a numba without these internals: assume cold
        return False


def missing() -> list[str]:
    """The kernels (``module.function``) with a signature neither loaded nor in the disk cache."""
    return [label for label, disp, sigs in _dispatchers() if not all(_cached(disp, s) for s in sigs)]


def _fast_load_enabled() -> bool:
    import numba

    if os.environ.get("PREIMAGE_NUMBA_FAST_LOAD", "1").strip().lower() in ("0", "off", "no", "false"):
        return False
    version: str = numba.__version__
    return version.startswith(_FAST_LOAD_NUMBA)


def _install_fast_loader(disp: Any) -> bool:
    """Make numba load ``disp``'s cached machine code without its ``target_context.refresh()``.

    On a cache hit numba's ``Dispatcher.compile`` calls ``Cache.load_overload``, which first
    refreshes the target context: it installs every typing and lowering registry numba has
    and, through its BLAS check, imports ``scipy.linalg`` -- about 0.25 s per process, needed
    to compile, not to run machine code that is already compiled. Running it needs the numba
    runtime, initialised here instead. Only this dispatcher's cache object is changed, and
    only its loading: the rest of the cache-hit path is numba's own, kernels still load at
    their first call (a run loads only those it uses), and a cache miss compiles as before
    (compiling refreshes the context itself). It relies on numba internals, so it is used
    only with the numba versions it was checked with (``_FAST_LOAD_NUMBA``) and
    ``PREIMAGE_NUMBA_FAST_LOAD=0`` switches it off.
    """
    from numba.core.caching import FunctionCache
    from numba.core.runtime import nrt

    cache = disp._cache
    if not isinstance(cache, FunctionCache) or getattr(cache, "_preimage_fast_loader", False):
        return False

    def load_overload(sig: Any, target_context: Any) -> Any:
        nrt.rtsys.initialize(target_context)
        with cache._guard_against_spurious_io_errors():
            return cache._load_overload(sig, target_context)

    # numba internals, on purpose (see above): the instance attribute shadows numba's method, and
    # a marker on the cache object says it is installed
    cache.load_overload = load_overload  # type: ignore[method-assign]
    cache._preimage_fast_loader = True  # type: ignore[attr-defined]
    return True


def _stderr_note(message: str) -> None:
    sys.stderr.write(f"preimage: {message}\n")
    sys.stderr.flush()


def ensure_compiled(progress_note: Callable[[str], None] | None = _stderr_note) -> float:
    """Make sure every engine kernel is compiled and in numba's disk cache (once per process).

    With a warm cache this compiles and loads nothing (kernels load from disk at their first
    call, in milliseconds; see :func:`_install_fast_loader`). With a cold one,
    ``progress_note`` (default: one line on stderr; ``None``: silent) is told once that the
    kernels are being compiled and cached, and how long that takes, and every kernel is
    compiled for the signatures the engine uses.
    Returns the seconds spent compiling (0.0 when nothing was compiled).
    """
    global _done
    if _done:
        return 0.0
    with _lock:
        if _done:
            return 0.0
        todo = [(label, disp, sig) for label, disp, sigs in _dispatchers() for sig in sigs if not _cached(disp, sig)]
        seconds = 0.0
        if todo:
            if progress_note is not None:
                progress_note(f"compiling the engine's numba kernels and caching them on disk (first run only; "
                              f"takes {COMPILE_SECONDS})...")
            t0 = time.perf_counter()
            for label, disp, sig in todo:
                t = time.perf_counter()
                disp.compile(sig)
                log.debug("kernel %s compiled in %.1f s", label, time.perf_counter() - t)
            seconds = time.perf_counter() - t0
            log.info("engine kernels compiled and cached in %.1f s", seconds)
        if _fast_load_enabled():
            for label, disp, _ in _dispatchers():
                try:
                    _install_fast_loader(disp)
                except Exception as exc:  # numba's own loading remains
                    log.debug("kernel %s: fast loader not installed (%s: %s)", label, type(exc).__name__, exc)
        _done = True
        return seconds
