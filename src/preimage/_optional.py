"""Optional dependencies: one place that imports them and says which extra to install.

The extras of ``pyproject.toml``: ``plot`` (matplotlib, plotly), ``torch`` (PyTorch),
``analysis`` (scikit-learn) and ``all``. A missing one raises
:class:`~preimage.errors.MissingDependencyError` with one line naming the extra.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["EXTRAS", "require"]

#: top-level module -> (distribution name, extra of ``preimage`` that installs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "matplotlib": ("matplotlib", "plot"),
    "plotly": ("plotly", "plot"),
    "torch": ("torch", "torch"),
    "sklearn": ("scikit-learn", "analysis"),
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (e.g. ``"matplotlib.figure"``) or raise one clear line.

    >>> require("json", "a doctest").__name__
    'json'
    """
    try:
        return import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        dist, extra = EXTRAS.get(top, (top, "all"))
        raise MissingDependencyError(
            f"{purpose} needs {dist}, which is not installed: pip install 'preimage[{extra}]'",
            name=top,
        ) from exc
