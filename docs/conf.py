"""Sphinx configuration of the preimage documentation (``make docs``).

Why Sphinx: the package's docstrings are numpy-style reStructuredText with ``:func:`` /
``:class:`` roles and doctest examples, which Sphinx's autodoc + napoleon render as they are
(MkDocs' mkdocstrings would need the roles rewritten); myst-parser includes the existing
markdown pages unchanged, and sphinx-argparse renders the command line from the real
``argparse`` parser, so the CLI page cannot drift from the code. The doctests in the
docstrings are run by pytest (``--doctest-modules``, part of ``make test``), not by Sphinx.
The doc tools are pinned in ``docs/requirements.lock``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "src"))  # document this tree, whatever the venv's install points at

import preimage  # noqa: E402

project = "preimage"
author = "the preimage authors"
copyright = "the preimage authors"
release = version = preimage.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinxarg.ext",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "gallery/README-snippet.md", "requirements.lock"]

# -- autodoc / napoleon ------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True        # "Attributes" as a field list: no duplicate attribute entries
napoleon_use_rtype = False
python_use_unqualified_type_names = True
add_module_names = False

# -- myst --------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # pages that start at "##" under a title are fine

# -- HTML --------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"preimage {release}"
html_static_path: list[str] = []
html_show_sourcelink = False


# -- the gallery page: the README's gallery section, with its links made relative to docs/ ------
def _gallery_from_readme() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## Gallery.*?$(.*?)(?=^## )", text, flags=re.S | re.M)
    if m is None:
        raise RuntimeError("README.md has no '## Gallery' section for docs/gallery.md")
    body = m.group(1)
    body = body.replace("[docs/figures/](docs/figures/)", "[Figures](figures/index.md)")
    body = body.replace("](docs/", "](")
    return body


def _source_read(app, docname, source):
    if docname == "gallery":
        source[0] = source[0].replace("<!-- README gallery -->", _gallery_from_readme())


# -- a check that the reference covers the public API ------------------------------------------
PUBLIC_MODULES = {  # module -> the names to check (None: its __all__)
    "preimage": None,
    "preimage.conv": None,
    "preimage.analysis": None,
    "preimage.plotting": None,
    "preimage.polyhedra": None,
    "preimage.engine.result": ["PreimageResult", "Verdict"],
    "preimage.errors": None,
    "preimage.tolerances": None,
}


def _check_api_coverage(app, env):
    """Warn (an error under -W) for a public name documented nowhere in the reference."""
    import importlib

    objects = env.get_domain("py").objects
    for modname, names in PUBLIC_MODULES.items():
        mod = importlib.import_module(modname)
        for name in mod.__all__ if names is None else names:
            obj = getattr(mod, name)
            candidates = {f"{modname}.{name}", f"preimage.{name}"}
            home = getattr(obj, "__module__", None)
            if isinstance(home, str):
                candidates.add(f"{home}.{name}")
            if not candidates & set(objects):
                from sphinx.util import logging as sphinx_logging

                sphinx_logging.getLogger(__name__).warning(
                    "public name %s.%s is not in the API reference", modname, name)


# -- constants re-exported by a package keep the ``#:`` comment of the module defining them ----
def _reexported_data_doc(app, what, name, obj, options, lines):
    if what != "data" or lines:
        return
    import sys as _sys

    from sphinx.pycode import ModuleAnalyzer

    package, _, attr = name.rpartition(".")
    for modname in sorted(m for m in _sys.modules if m.startswith(package + ".")):
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # noqa: BLE001 - a module without source
            continue
        if ("", attr) in docs:
            lines.extend(line for line in docs[("", attr)])
            return


# -- the docstrings' compact fields ----------------------------------------------------------
# The package writes numpy sections with one line per field, ``name : what it is``, rather
# than ``name : type`` plus an indented description. Napoleon would read the description as
# a type; this rewrites such a line to ``name`` + the indented description before napoleon
# runs. A short type-like text (``layer : CirculantLayer``) is left as a type.
_FIELD_SECTIONS = {"Parameters", "Other Parameters", "Attributes", "Returns", "Yields", "Raises"}
_FIELD = re.compile(r"^(?P<name>[^\s:][^:]*?) : (?P<rest>.+)$")


def _is_type_like(text: str) -> bool:
    text = text.strip()
    return (len(text.split()) <= 4 and "``" not in text and not text.endswith((".", ";", ","))
            and not text.startswith(("a ", "an ", "the ")))


def _compact_fields(app, what, name, obj, options, lines):
    section = None
    out: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and nxt.strip() and set(nxt.strip()) == {"-"} and len(nxt.strip()) >= 3:
            section = line.strip()
        elif section in _FIELD_SECTIONS and line and not line[0].isspace() and set(line) != {"-"}:
            prev = out[-1] if out else ""
            if section in ("Returns", "Yields") and prev.strip() and set(prev.strip()) != {"-"}:
                out.append("    " + line)  # a wrapped line of the previous field's text
                continue
            m = _FIELD.match(line)
            if m and not _is_type_like(m["rest"]):
                out.extend([m["name"].rstrip(), "    " + m["rest"]])
                continue
            if section in ("Returns", "Yields") and not m and not _is_type_like(line):
                head, sep, rest = re.split(r"( — |: )", line, maxsplit=1) + ["", ""][: 3 - len(
                    re.split(r"( — |: )", line, maxsplit=1))]
                if sep:
                    out.extend([head, "    " + rest])
                    continue
        out.append(line)
    lines[:] = out


# Napoleon reads an attribute's or property's first line ``text: more`` as ``type: description``;
# the package's property docstrings use that form for prose (``d − 2``: the rotational freedom
# ...), never for a type (the types come from annotations), so the whole text stays description.
def _consume_inline_attribute_as_text(self):
    return "", self.__class__([*self._dedent(self._consume_to_end())], self._config).lines()


def setup(app):
    from sphinx.ext.napoleon.docstring import GoogleDocstring

    GoogleDocstring._consume_inline_attribute = _consume_inline_attribute_as_text
    app.connect("autodoc-process-docstring", _compact_fields, priority=100)
    app.connect("autodoc-process-docstring", _reexported_data_doc)
    app.connect("source-read", _source_read)
    app.connect("env-check-consistency", _check_api_coverage)
