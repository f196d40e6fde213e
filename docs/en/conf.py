"""Sphinx configuration of mmebv's documentation (``make docs``).

The pages are Markdown (myst-parser), as in the OpenMMLab projects; the API
page is reStructuredText for autodoc. The build runs with ``-W``: a broken
cross-reference, a docstring that does not render or a missing page fails.
"""
import ast
import importlib
import inspect
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

from mmebv import __version__  # noqa: E402

project = 'mmebv'
author = 'mmebv contributors'
copyright = '2026, mmebv contributors'
version = release = __version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.viewcode',
]

source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build']

# Markdown: `(label)=` targets and heading anchors for `page.md#anchor` links.
myst_enable_extensions = ['colon_fence', 'dollarmath']
myst_heading_anchors = 3

# Every cross-reference must resolve.
nitpicky = True
# (how references to other projects resolve: see resolve_as_python below)

autodoc_default_options = {
    'members': True,
    'member-order': 'bysource',
}
autodoc_typehints = 'signature'
autodoc_class_signature = 'mixed'
# Methods overriding mmengine's (before_train...) without a docstring of
# their own are not listed with the upstream text, which describes upstream.
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

html_theme = 'furo'
html_title = f'mmebv {release}'


# --- Docstrings written as plain text ------------------------------------
# mmebv's docstrings are read with help() as often as here, and write
# absolute values and norms the plain way: max |cos|, |x|, |norm - 1|. In
# reStructuredText |...| is a substitution reference (an error when
# undefined), so bars outside inline literals are escaped.
_LITERAL = re.compile(r'(``.*?``|`[^`]*`)')


def escape_bars(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        parts = _LITERAL.split(line)
        lines[i] = ''.join(part if j % 2 else part.replace('|', r'\|')
                           for j, part in enumerate(parts))


# Napoleon reads the first line of a constant's ``#:`` comment (and of a
# property's docstring) as "type: description" (Google style for
# attributes), so "Smallest temperature: logits are ..." would become a
# type. mmebv writes those as prose: Google-style parsing is kept for
# modules, classes, functions and methods.
def prose_constants(app):
    listeners = app.events.listeners['autodoc-process-docstring']
    for i, listener in enumerate(listeners):
        if listener.handler.__module__ == 'sphinx.ext.napoleon':
            napoleon = listener.handler

            def handler(app, what, *args, napoleon=napoleon):
                if what not in ('data', 'attribute', 'property'):
                    napoleon(app, what, *args)

            listeners[i] = listener._replace(handler=handler)


# --- References resolved as Python resolves names ------------------------
# Docstrings refer to names as their module sees them: ``lower_bound`` in
# mmebv.core.generate is mmebv.core.bounds.lower_bound, imported;
# ``mmebv.core.EBVClassifier`` is a re-export; ``Tensor`` is torch's. Sphinx
# only knows the documented, defining locations. A reference Sphinx cannot
# resolve is looked up as Python would, from the module (and class) it is
# written in:
# * an object documented here (under its defining name) gets the link;
# * an object that exists but has no entry here (torch, mmengine, the
#   codebases, the standard library: their inventories would come from
#   intersphinx, which downloads them, and the build must work offline; or a
#   private helper of mmebv) is shown as code, without a link;
# * a name Python does not find links to the one documented object of that
#   name, if there is exactly one;
# * anything else (a typo, a removed or renamed object) fails the build.
_MISSING = object()


def _lookup(path):
    """The object a dotted path names, importing modules; else _MISSING."""
    parts = path.split('.')
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:cut]))
        except Exception:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return _MISSING
        return obj
    return _MISSING


def _typing_import(module, name):
    """What ``name`` would be in ``module`` if its imports made only for
    type checkers (``if TYPE_CHECKING:``) ran; else _MISSING."""
    try:
        tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    except Exception:
        return _MISSING
    first, _, rest = name.partition('.')
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if (alias.asname or alias.name) == first:
                    path = f'{node.module}.{alias.name}'
                    return _lookup(f'{path}.{rest}' if rest else path)
    return _MISSING


def _documented_name(obj, last, domain):
    if inspect.ismodule(obj):
        name = obj.__name__
    elif inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(
            obj, property):
        name = f'{getattr(obj, "__module__", "")}.' \
               f'{getattr(obj, "__qualname__", "")}'
    else:  # a constant: the documented name holding this very object
        name = next((n for n in domain.objects if n.rsplit('.', 1)[-1] == last
                     and _lookup(n) is obj), None)
    return name if name in domain.objects else None


def _link(app, env, node, contnode, name):
    new = node.deepcopy()
    new['reftarget'] = name
    new['refspecific'] = False
    new['py:module'] = new['py:class'] = None
    domain = env.get_domain('py')
    return domain.resolve_xref(env, node['refdoc'], app.builder,
                               node['reftype'], name, new, contnode)


def resolve_as_python(app, env, node, contnode):
    if node.get('refdomain') != 'py':
        return None
    target = node['reftarget'].lstrip('.~')
    if target == 'optional':  # "(str, optional)" in Args: a word
        return contnode
    domain = env.get_domain('py')
    module, cls = node.get('py:module'), node.get('py:class')
    scopes = [f'{module}.{cls}' if module and cls else None, module, '']
    for scope in scopes:
        if scope is None:
            continue
        obj = _lookup(f'{scope}.{target}' if scope else target)
        if obj is _MISSING and scope == module:
            obj = _typing_import(module, target)
        if obj is _MISSING:
            continue
        name = _documented_name(obj, target.rsplit('.', 1)[-1], domain)
        if name:
            return _link(app, env, node, contnode, name)
        return contnode
    same = [n for n in domain.objects if n.endswith('.' + target)]
    if len(same) == 1:
        return _link(app, env, node, contnode, same[0])
    return None


def setup(app):
    app.connect('autodoc-process-docstring', escape_bars, priority=400)
    app.connect('builder-inited', prose_constants)
    app.connect('missing-reference', resolve_as_python)
