"""Cells that are one ``%time`` or ``%%time``: their code runs where its values live.

IPython's ``%time`` runs its code in the user's namespace and prints how long
it took. A cell that is only that is, for the dataflow, a cell of that code: a
worker runs it, timed there (`execution.execute_timed`), so that it needs no
copy of its values in the host. Anything IPython would do otherwise (an option,
a statement after ``%%time``, IPython syntax in the code, a ``time`` magic that
is not IPython's) leaves the cell to IPython, in the host.
"""

import ast

from IPython.core import magic_arguments
from IPython.core.error import UsageError
from IPython.core.magics.execution import ExecutionMagics

from ..dataflow import analysis
from ..dataflow.graph import TimedCode

__all__ = ['timed_code']


def timed_code(shell, source):
    """The `TimedCode` of a cell whose transformed `source` is one call of IPython's
    own ``%time`` or ``%%time`` (as ``get_ipython().run_line_magic('time', ...)``)
    on plain Python that parses; else None."""
    if "magic('time'" not in source:     # (no parse for the cells that are not)
        return None
    tree = _parsed(source)
    if tree is None:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    called = analysis.magic_call(call)
    # (IPython's own transformation passes neither keywords nor get_ipython arguments.)
    if called is None or called.name != 'time' or call.keywords or call.func.value.args:
        return None
    kind, line, cell = ('line' if called.cell is None else 'cell'), called.line, called.cell
    magic = shell.find_magic('time', kind)
    if getattr(magic, '__func__', None) is not ExecutionMagics.time:
        return None
    try:
        # As the magic reads its line: options first, the rest is code.
        options, rest = magic_arguments.parse_argstring(magic, line, partial=True)
    except UsageError:
        return None
    code = ' '.join(rest)
    if options.no_raise_error or (cell is not None and code):
        return None
    code = code if cell is None else cell
    try:
        body = shell.transform_cell(code)
    except SyntaxError:
        return None
    if 'get_ipython()' in body and 'get_ipython()' not in code or _parsed(body) is None:
        return None
    return TimedCode(body, tree.body[0].lineno)


def _parsed(source):
    """The tree of `source` (its SyntaxWarnings not shown: running it shows them),
    or None if it does not parse, or is too deep to (the analysis and IPython then
    say so as for any cell)."""
    try:
        return analysis.parse(source)
    except (SyntaxError, RecursionError, MemoryError):
        return None
