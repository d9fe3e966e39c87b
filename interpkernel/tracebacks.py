"""A worker cell's failure, shown by the host's IPython as if it had happened there.

A worker reports its failure as `ErrorLink` records (exception type, message,
frames); exceptions and frames cannot cross interpreters.  Here each link
becomes a stand-in exception whose traceback is made of real frames with the
worker's file names, function names, parameters and line numbers (Jinja2
builds its template tracebacks the same way), so IPython's own formatter
shows it: the same layout, source lines with ``---->``, colours and chained
exceptions as ipykernel.  Source lines come from the host's `linecache`, which
holds the notebook's cells (the kernel puts them there) and reads files.
"""

import functools
import inspect
import types

__all__ = ['structured_traceback', 'cell_code_name', 'warm_up']


def structured_traceback(shell, chain):
    """IPython's traceback lines (``error`` content's ``traceback``) for `chain`.

    Returns None when IPython needs the original exception to show it well (a
    SyntaxError, whose position IPython reads from its attributes).
    """
    raised = stand_in(chain)
    if raised is None:
        return None
    # No frame of the host's own to skip (IPython's run_code, for a host cell).
    return shell.InteractiveTB.structured_traceback(type(raised), raised, raised.__traceback__,
                                                    tb_offset=0)


def stand_in(chain):
    """An exception standing in for the one `chain` describes: its class's name and
    module, message, notes, causes and a traceback of its frames' file names,
    names and lines (what IPython's formatter reads).  None when IPython needs the
    original to show it well (a SyntaxError, whose position it reads from its
    attributes), or for an empty chain."""
    if not chain or any(link.syntax_error for link in chain):
        return None
    exceptions = [_stand_in(link) for link in chain]
    for exception, link, following in zip(exceptions, chain, [*exceptions[1:], None]):
        if link.raised_from == 'cause':
            exception.__cause__ = following
        elif link.raised_from == 'context':
            exception.__context__ = following
    return exceptions[0]


def warm_up():
    """Load and compile now what IPython's formatter loads and compiles for its first
    traceback (stack_data, pygments' Python lexer, inspect's table of module files),
    about 35 ms that the first error a notebook shows would otherwise wait for.
    Safe to call from any thread: it only fills those libraries' caches."""
    try:   # IPython's own dependencies, imported as IPython imports them
        import stack_data   # noqa: F401
        from pygments import highlight
        from pygments.formatters import Terminal256Formatter
        from pygments.lexers import get_lexer_by_name
    except ImportError:    # an IPython that formats without them: nothing to warm
        return
    highlight('def f(x):\n    return x\n', get_lexer_by_name('python3'), Terminal256Formatter())
    try:
        inspect.getmodule(None, '<interpkernel warm-up>')
    except AttributeError:
        # A first cell's `%run` had a module in sys.modules without its __name__ for
        # a moment (IPython's stand-in __main__): the first traceback fills the table.
        pass


def cell_code_name(filename):
    """``('Cell', 'In[3]')`` for a worker cell's file name ``<cell In[3]>``, else None."""
    if filename.startswith('<cell ') and filename.endswith('>'):
        return 'Cell', filename[len('<cell '):-1]
    return None


def _stand_in(link):
    exception = _exception_type(link.type_name, link.module)(link.message)
    for note in link.notes:
        exception.add_note(note)
    traceback = None
    for frame in reversed(link.frames):
        traceback = types.TracebackType(traceback, *_frame(frame), frame.lineno)
    return exception.with_traceback(traceback)


def _exception_type(name, module):
    """A class named as the worker's exception (IPython shows its name and module)."""
    return type(name, (Exception,), {'__module__': module, '__str__': _message})


def _message(exception):
    return exception.args[0]


def _frame(record):
    """(A real frame whose code has the record's file name, function name and
    parameters, stopped at the line the worker's frame reached last; an
    instruction of it at the line its traceback entry names).  Readers of a
    traceback take one line or the other: `traceback.extract_tb` (%xmode Plain)
    the instruction's, IPython's Context mode a cell frame's."""
    raiser, entry = _raiser(record.filename, record.firstlineno, record.lineno, record.reached,
                            record.name, record.args, record.varargs, record.varkw)
    try:
        raiser(*[None] * len(record.args))
    except _FrameWanted as wanted:
        stopped = wanted.__traceback__.tb_next
        return stopped.tb_frame, stopped.tb_lasti if entry is None else entry
    raise AssertionError('the frame maker did not raise')   # pragma: no cover


class _FrameWanted(Exception):
    pass


@functools.lru_cache(maxsize=1024)
def _raiser(filename, firstlineno, lineno, reached, qualname, args, varargs, varkw):
    """(A function that raises `_FrameWanted` at line `reached`, with the worker
    frame's file name, name and parameters (any names: ``.0`` of a comprehension
    too); the offset of an instruction of it at line `lineno`, or None for the
    raise's own).  IPython reads the line of a frame in a file it cannot open (a
    cell's, named as ipykernel names it) from the frame, not its traceback entry."""
    parameters = [f'p{i}' for i in range(len(args))]
    parameters += ['*v'] if varargs else []
    parameters += ['**k'] if varkw else []
    namespace = {'_FrameWanted': _FrameWanted}
    exec(compile(f'def _raiser({", ".join(parameters)}):'
                 f'{_body(reached - firstlineno, lineno - firstlineno)}\n', filename, 'exec'),
         namespace)
    raiser = namespace['_raiser']
    names = (*args, *filter(None, (varargs, varkw)))
    # Lines count from the def: moving it moves them.
    raiser.__code__ = raiser.__code__.replace(
        co_name=qualname.rpartition('.')[2], co_qualname=qualname, co_varnames=names,
        co_firstlineno=firstlineno)
    entry = None
    if lineno != reached:
        entry = next((2 * index for index, (line, *_) in enumerate(raiser.__code__.co_positions())
                      if line == lineno), None)
    return raiser, entry


def _body(reached, named):
    """The body of `_raiser`: the raise `reached` lines below the def, and an
    instruction `named` lines below it (a name read on its own line, before or
    inside the raise's parentheses)."""
    reached, named = max(reached, 0), max(named, 0)
    if named == reached or named == 0 < reached:
        return '\n' * reached + '    raise _FrameWanted'
    if named < reached:
        return '\n' * named + '    _FrameWanted\n' + '\n' * (reached - named - 1) + \
            '    raise _FrameWanted'
    return '\n' * reached + '    raise (' + '\n' * (named - reached) + '_FrameWanted)'
