"""The one error hierarchy of :mod:`preimage`.

Every error the library raises on purpose derives from :class:`PreimageError`.
Subclasses also derive from the matching builtin, so ``except ValueError`` keeps
working for callers who do not know this library.

Messages name the argument, what was expected and what came, e.g.
``bias of layer 2 must have length 50 (the rows of its weight), got length 49``.
"""

from __future__ import annotations

__all__ = [
    "PreimageError",
    "InvalidInputError",
    "UnsupportedLayerError",
    "SolverError",
    "AmbiguousGeometryError",
    "ImportMismatchError",
    "MissingDependencyError",
    "WorkersLostError",
    "RunAborted",
]


class PreimageError(Exception):
    """Root of every error raised by :mod:`preimage`."""


class InvalidInputError(PreimageError, ValueError):
    """An argument has the wrong shape, type or value (NaN, negative activity, ...)."""


class UnsupportedLayerError(PreimageError, NotImplementedError):
    """A model contains an operation or module the importers cannot represent exactly."""


class SolverError(PreimageError, RuntimeError):
    """The LP/QP solver failed in a way that is not an answer (not infeasible/unbounded)."""


class AmbiguousGeometryError(PreimageError, ArithmeticError):
    """A floating-point decision is too close to call within the tolerances.

    Raised instead of guessing: a rank, a sign or an emptiness that lies inside the
    ambiguity band of :mod:`preimage.tolerances`.
    """


class ImportMismatchError(PreimageError, ValueError):
    """An imported network disagrees with the source model's own forward pass."""


class MissingDependencyError(PreimageError, ImportError):
    """An optional dependency is not installed; the message names the extra to install,
    e.g. ``plotting needs matplotlib, which is not installed: pip install 'preimage[plot]'``."""


class WorkersLostError(PreimageError, RuntimeError):
    """Every worker of a Dask cluster is gone. ``result`` holds what was found; its
    checkpoint (``result.frontier_path``) can be finished by a local :func:`preimage.resume`."""

    def __init__(self, message: str, result=None) -> None:
        super().__init__(message)
        self.result = result


class RunAborted(KeyboardInterrupt):
    """A second SIGINT/SIGTERM while a run was already stopping: abort at once, without
    saving (the first one stops the run at the next node and keeps everything)."""
