"""numba's ``njit``, as the compiled kernels import it: numba's own, typed for type checkers.

numba ships ``py.typed`` but leaves ``njit`` unannotated, so under ``mypy --strict`` each kernel
it decorates would lose its annotations (``disallow_untyped_decorators``) and every call of a
kernel from Python would go unchecked. For type checkers ``njit(**options)`` is declared here as
a decorator that keeps the kernel's signature, which is how the kernels are used (called with
the annotated arguments; ``preimage.engine.kernels`` reaches the dispatcher's own attributes
through ``getattr``). At run time the name is numba's ``njit`` itself: nothing else changes (the
kernels, their compilation and numba's disk cache are exactly as with ``from numba import njit``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["njit"]

if TYPE_CHECKING:  # pragma: no cover - the declaration type checkers read
    from collections.abc import Callable
    from typing import Any, TypeVar

    _F = TypeVar("_F", bound=Callable[..., Any])

    def njit(**options: Any) -> Callable[[_F], _F]:
        """numba's ``njit(**options)`` decorator (see :func:`numba.njit`)."""
        ...
else:
    from numba import njit
