"""Running one cell's code the way IPython does, and describing how it failed.

Shared by the worker loop (inside subinterpreters) and the host engine.
"""

import __future__
import ast
import contextlib
import linecache
import os
import re
import sys
import warnings
from typing import NamedTuple

from .protocol import ErrorFrame, ErrorLink
from .refusal import refusal

__all__ = ['call_at_depth', 'cell_filename', 'check_syntax', 'execute', 'future_flags',
           'FUTURE_FLAGS', 'execute_timed', 'format_duration',
           'hides_result', 'describe_error', 'async_raise', 'remember_cell',
           'warnings_of_file_ignored']

# Our own code (the worker's runtime, channels, pools): a traceback shows none
# of it, as Python's own functions written in C show no frame.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep
_CO_COROUTINE = 0x80
_FRAME = r'File "(.*?)", line (\d+)'
# The labels of the cells run here under a code name (their file names): the
# frames of their code are the cell's own, shown as ``Cell In[3], line 2``.
_LABELS_OF_CODE_NAMES = {}
_CHAIN_LIMIT = 16             # exceptions of a chain kept for the host to format
FUTURE_FLAGS = 0             # the compiler flags of every ``from __future__ import``
for _feature in __future__.all_feature_names:
    FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag


def cell_filename(label):
    """The file name a cell's code is compiled under (``<cell LABEL>``)."""
    return f'<cell {label}>'


def remember_cell(filename, label, source):
    """Put cell `source` in linecache as file `filename`: tracebacks, warnings and
    ``inspect.getsource`` show the lines of its code; tracebacks name it `label`."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    if filename != cell_filename(label):
        _LABELS_OF_CODE_NAMES[filename] = label


def check_syntax(source, label, flags=0, filename=None):
    """Raise SyntaxError (naming the cell) if `source` does not parse (under the
    ``__future__`` `flags`: ``barry_as_FLUFL`` parses ``<>``); else return its tree.
    `filename`: the cell's file name, if not ``<cell LABEL>``."""
    return compile(source, filename or cell_filename(label), 'exec',
                   ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT | (flags & FUTURE_FLAGS))


@contextlib.contextmanager
def warnings_of_file_ignored(filename):
    """Ignore, while the block runs, the warnings of code in file `filename`: those
    of compiling code under that name (the SyntaxWarnings of an invalid escape
    sequence ...), which are a cell's to show once, as it is compiled to run."""
    # Into the filter list itself, and out again: filterwarnings would also bump
    # the filters' version, and so show again every warning shown once already.
    ignored = ('ignore', None, Warning, re.compile(re.escape(filename) + r'\Z'), 0)
    filters = warnings.filters
    filters.insert(0, ignored)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):   # a cell's resetwarnings() took it out
            filters.remove(ignored)


def future_flags(tree):
    """The compiler flags the ``from __future__ import`` statements at the top
    level of module `tree` turn on (unknown features: none; compiling fails)."""
    flags = 0
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == '__future__':
            for alias in statement.names:
                if alias.name in __future__.all_feature_names:
                    flags |= getattr(__future__, alias.name).compiler_flag
    return flags


def execute(source, label, namespace, flags=0, code_name=None, frame_depth=0, timed_at=0):
    """Run cell `source` in `namespace`; return ``(value,)`` of a shown last expression, else None.

    `flags`: the ``__future__`` compiler flags earlier cells turned on; the
    cell's own ``from __future__`` imports apply to the statements after them.
    `code_name`: the file name ipykernel gives a kernel cell's code (else
    ``<cell LABEL>``); with one, its SyntaxWarnings show as on ipykernel,
    which compiles a cell whole under ``<>`` twice first (IPython's checks
    for top-level ``await``).
    As in IPython: each top-level statement is compiled on its own (two equal
    constants in two statements are two objects: ``a = 999; b = 999; a is b``
    is False); the last statement, if an expression, is evaluated apart
    and its value returned, unless it is None or the line ends with ``;``;
    top-level ``await`` works; the source is put in linecache so tracebacks
    and ``inspect`` show its lines.
    `frame_depth`: how many frames deep the cell's code runs, counted from the
    bottom of this thread's stack, if it would otherwise run shallower: the
    process it stands in for had that many, and recursion runs out at the same
    depth (``RecursionError`` and its "similar frames" count as there).
    `timed_at`: if not 0, `source` is the code of the cell's ``%time`` (or
    ``%%time``) on that line, run and timed as `execute_timed` says.
    """
    filename = code_name or cell_filename(label)
    if timed_at:
        return execute_timed(source, filename, timed_at, namespace, flags, frame_depth)
    remember_cell(filename, label, source)
    flags = (flags & FUTURE_FLAGS) | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    if code_name:
        tree = _check_syntax_as_ipython(source, label, flags, filename)
    else:
        tree = check_syntax(source, label, flags, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not hides_result(source):
        last = ast.Expression(tree.body.pop().value)
    for statement in tree.body:
        code = compile(ast.Module([statement], []), filename, 'exec', flags)
        flags |= code.co_flags & FUTURE_FLAGS     # as IPython's compiler keeps them
        _run_code(code, namespace, frame_depth)
    if last is None:
        return None
    value = _run_code(compile(last, filename, 'eval', flags), namespace, frame_depth)
    return None if value is None else (value,)


def execute_timed(source, filename, line, namespace, flags=0, frame_depth=0):
    """Run `source`, the code of IPython's ``%time`` (or ``%%time``) on line `line`
    of the cell compiled as `filename`, as the magic does; return ``(value,)`` as
    `execute` does.

    As IPython's magic: the code is compiled whole, under ``<timed eval>`` if it is
    one expression (its value is the result), else ``<timed exec>`` (the value of
    a last expression after other statements is the result); the CPU and wall
    times it took are printed after it, even if it raised (then the exception
    goes on), and so are parsing and compiling times over 0.1 s.  A traceback
    starts at the magic's line of the cell, as IPython's does.  CPU time is this
    thread's: other cells running at the same time do not count.
    """
    flags = flags & FUTURE_FLAGS
    started = _cpu_times()
    # Parsed under IPython's name for what it parses (its SyntaxWarnings show it).
    tree = compile(source, '<unknown>', 'exec', ast.PyCF_ONLY_AST | flags)
    parsing = _cpu_times().total - started.total
    last = None
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
        mode, name, tree = 'eval', '<timed eval>', ast.Expression(tree.body[0].value)
    else:
        mode, name = 'exec', '<timed exec>'
        if len(tree.body) > 1 and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
    started = _cpu_times()
    code = compile(tree, name, mode, flags)
    compiling = _cpu_times().total - started.total
    hidden = hides_result(source)

    def run():
        import time
        wall, cpu = time.time(), _cpu_times()
        try:
            value = eval(code, namespace)
            if last is not None:
                value = eval(compile(last, name, 'eval', flags), namespace)
        except (Exception, KeyboardInterrupt):
            _print_times(cpu, time.time() - wall, compiling, parsing)
            raise
        _print_times(cpu, time.time() - wall, compiling, parsing)
        return None if value is None or hidden else (value,)

    # Called from the magic's line of the cell: the traceback starts there.
    caller = compile('\n' * (line - 1) + 'run()', filename, 'eval')
    if not frame_depth:
        return eval(caller, {'run': run})
    # A frame deeper than the cell, as under the magic: recursion in the code
    # runs out where it does on ipykernel.
    return call_at_depth(frame_depth + 1, eval, caller, {'run': run})


class _CpuTimes(NamedTuple):
    total: float
    system: float


def _cpu_times():
    """This thread's CPU times so far (the process's where threads are not told apart)."""
    import resource
    import time
    if not hasattr(resource, 'RUSAGE_THREAD'):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return _CpuTimes(usage.ru_utime + usage.ru_stime, usage.ru_stime)
    # A thread's rusage is sampled at clock ticks (a short cell would show 0 ns, or
    # more CPU than wall time): the total comes from the thread's CPU clock, and
    # only the system time from the rusage.
    return _CpuTimes(time.thread_time(), resource.getrusage(resource.RUSAGE_THREAD).ru_stime)


def _print_times(cpu_before, wall, compiling, parsing):
    """Print IPython's ``%time`` report: CPU and wall times, then compiling and
    parsing times if over 0.1 s."""
    cpu = _cpu_times()
    total = max(cpu.total - cpu_before.total, 0.0)
    system = min(max(cpu.system - cpu_before.system, 0.0), total)
    print(f'CPU times: user {format_duration(total - system)}, '
          f'sys: {format_duration(system)}, total: {format_duration(total)}')
    print(f'Wall time: {format_duration(wall)}')
    if compiling > 0.1:
        print(f'Compiler : {format_duration(compiling)}')
    if parsing > 0.1:
        print(f'Parser   : {format_duration(parsing)}')


_SPANS = (('d', 86400), ('h', 3600), ('min', 60), ('s', 1))
_SUBSECOND_UNITS = ('s', 'ms', 'μs', 'ns')


def format_duration(seconds):
    """`seconds` as IPython's ``%time`` shows a time: ``1h 2min 5s`` from a minute
    on (whole units, the largest first, down to the last one reached); below,
    three significant digits in the unit its thousands fall in (``3.25 ms``)."""
    import math
    if seconds >= 60:
        parts, left = [], seconds
        for suffix, length in _SPANS:
            count = int(left / length)
            if count:
                left %= length
                parts.append(f'{count}{suffix}')
            if left < 1:
                break
        return ' '.join(parts)
    order = min(-(math.floor(math.log10(seconds)) // 3), 3) if seconds > 0 else 3
    return '%.3g %s' % (seconds * 1000 ** order, _SUBSECOND_UNITS[order])


# What may make compiling, not parsing, warn: ``x is 1``, ``assert (x, 'why')``,
# a number or string called or indexed (``1(2)``: "perhaps you missed a comma?").
_COMPILING_MAY_WARN = re.compile(r'\bis\b|\bassert\b|(?<![\w.])\d[\w.]*\s*[\[(]|[\'"]\s*\(')


def _check_syntax_as_ipython(source, label, flags, filename):
    """`check_syntax`, the SyntaxWarnings shown as ipykernel shows them: twice as
    ``<>:LINE: ...`` (IPython compiles the cell whole twice first), then its
    parse's own, with their lines.  The compiles under ``<>`` are made only
    when parsing warned or compiling may (they cost as much as the cell's own)."""
    with warnings.catch_warnings(record=True) as parsed:
        tree = check_syntax(source, label, flags, filename)
    if parsed or _COMPILING_MAY_WARN.search(source):
        for _ in range(2):
            try:   # under IPython's flags, not the cell's
                compile(source, '<>', 'exec', ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            except (SyntaxError, MemoryError, RecursionError):   # its own compile says it
                break
    for warning in parsed:    # (another thread's too, caught meanwhile)
        warnings.showwarning(warning.message, warning.category, warning.filename,
                             warning.lineno, warning.file, warning.line)
    return tree


def _run_code(code, namespace, frame_depth=0):
    value = call_at_depth(frame_depth, eval, code, namespace) if frame_depth \
        else eval(code, namespace)
    if code.co_flags & _CO_COROUTINE:     # the cell used top-level await
        import asyncio
        value = asyncio.run(value)
    return value


def call_at_depth(depth, function, *args, **kwargs):
    """``function(*args, **kwargs)``, the frame it makes (a builtin like ``eval``:
    the frame of the code it runs) at least `depth` frames deep in this thread's
    stack, counted from the bottom.  Recursion in it runs out where it would in
    a process whose stack was that deep under it."""
    missing = depth - 1 - _depth_of(sys._getframe())
    if missing < 1:
        return function(*args, **kwargs)
    return _deeper(missing, function, args, kwargs)


def _deeper(frames, function, args, kwargs):
    """``function(*args, **kwargs)`` from `frames` frames deeper than the caller."""
    if frames > 1:
        return _deeper(frames - 1, function, args, kwargs)
    return function(*args, **kwargs)


def _depth_of(frame):
    depth = 0
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


def hides_result(source):
    """IPython's rule: a trailing ';' on the last line hides the result."""
    import io
    import tokenize
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER,
            tokenize.DEDENT, tokenize.INDENT}
    meaningful = [t for t in tokens if t.type not in skip]
    return bool(meaningful) and meaningful[-1].string == ';'


def _user_traceback(tb):
    """Drop our own frames from the front of a traceback (the runtime's), and
    from its end (a channel's wait, the runtime's stand-in for ``time.sleep``)."""
    while tb is not None and _runtimes(tb):
        tb = tb.tb_next
    last, entry = tb, tb
    while entry is not None:
        if not _runtimes(entry):
            last = entry
        entry = entry.tb_next
    if last is not None:
        last.tb_next = None
    return tb


def _runtimes(entry):
    return entry.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR)


def _cell_label(filename):
    """The label of the cell whose code has file name `filename`, or None."""
    if filename.startswith('<cell ') and filename.endswith('>'):
        return filename[len('<cell '):-1]
    return _LABELS_OF_CODE_NAMES.get(filename)


def _cell_frame_named(frame):
    """``File "<cell In[3]>", line 2`` as IPython shows it: ``Cell In[3], line 2``."""
    label = _cell_label(frame[1])
    return frame[0] if label is None else f'Cell {label}, line {frame[2]}'


def _safe_str(exc):
    try:
        return str(exc)
    except Exception as broken:
        return f'<cannot show the exception: {type(broken).__name__}>'


def describe_error(exc):
    """(Jupyter ``error`` content, the exception to report) for a cell's failure.

    The traceback starts at the cell's own code and names cells as IPython
    does (``Cell In[3], line 2``).  A module's refusal to load in a
    subinterpreter is reported as a `SubinterpreterImportError` that says what
    to do, in place of the ImportError.
    """
    import traceback
    replacement = refusal(exc) if isinstance(exc, ImportError) else None
    if replacement is not None and replacement is not exc:
        replacement.__cause__ = None
        replacement.__suppress_context__ = True
        exc = replacement.with_traceback(exc.__traceback__)
    tb = _user_traceback(exc.__traceback__)
    # The traceback module parses the lines it shows (where to put carets),
    # under the name '<unknown>'.
    try:
        with warnings_of_file_ignored('<unknown>'):
            if tb is None:  # raised by the runtime itself (bad input or output): the message says it all
                lines = traceback.format_exception_only(exc)
            elif replacement is not None:
                # A refusal: the cell's own lines, not the module's import machinery.
                frames = [f for f in traceback.extract_tb(tb) if _cell_label(f.filename)]
                lines = ['Traceback (most recent call last):\n', *traceback.format_list(frames),
                         *traceback.format_exception_only(exc)]
            else:
                lines = traceback.format_exception(exc.with_traceback(tb))
    except Exception as broken:   # an exception whose __str__ or __repr__ raises
        lines = [f'{type(exc).__name__}: <cannot show the exception: {broken!r}>']
    text = re.sub(_FRAME, _cell_frame_named, ''.join(lines).rstrip('\n'))
    content = {'ename': type(exc).__name__, 'evalue': _safe_str(exc),
               'traceback': text.split('\n'),
               # Nothing to format for a failure of the runtime's own (no cell frame).
               'interp_chain': () if tb is None else _chain(exc, tb, cells_only=bool(replacement))}
    return content, exc


def _chain(exc, tb, cells_only):
    """`exc` (whose traceback from the cell on is `tb`) and the exceptions it
    was raised from, as `ErrorLink` records; `cells_only` keeps only cell frames."""
    links, seen = [], set()
    while exc is not None and id(exc) not in seen and len(links) < _CHAIN_LIMIT:
        seen.add(id(exc))
        if exc.__cause__ is not None:
            raised_from, following = 'cause', exc.__cause__
        elif exc.__context__ is not None and not exc.__suppress_context__:
            raised_from, following = 'context', exc.__context__
        else:
            raised_from, following = '', None
        notes = getattr(exc, '__notes__', None)
        links.append(ErrorLink(
            type(exc).__name__, type(exc).__module__, _safe_str(exc),
            tuple(map(str, notes)) if isinstance(notes, (list, tuple)) else (),
            _frames(tb if not links else exc.__traceback__, cells_only), raised_from,
            isinstance(exc, SyntaxError)))
        exc = following
    return tuple(links)


def _frames(tb, cells_only):
    """The traceback's frames outside the runtime, outermost first."""
    import inspect
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        cell = _cell_label(code.co_filename)
        if not code.co_filename.startswith(_PACKAGE_DIR) and (not cells_only or cell):
            args, varargs, varkw = inspect.getargs(code)
            frames.append(ErrorFrame(code.co_filename, tb.tb_lineno or code.co_firstlineno,
                                     tb.tb_frame.f_lineno or code.co_firstlineno,
                                     code.co_firstlineno, code.co_qualname, tuple(args),
                                     varargs, varkw))
        tb = tb.tb_next
    return tuple(frames)


_set_async_exc = None


def async_raise(thread_id, exc_type):
    """Schedule `exc_type` to be raised in thread `thread_id` of this interpreter.

    It is raised at that thread's next bytecode boundary (not inside a blocking
    C call).  ``exc_type=None`` withdraws one that has not been raised yet.
    """
    global _set_async_exc
    if _set_async_exc is None:
        import ctypes  # imported on first use: most workers are never interrupted
        func = ctypes.pythonapi.PyThreadState_SetAsyncExc
        func.argtypes = (ctypes.c_ulong, ctypes.c_void_p)
        _set_async_exc = func
    _set_async_exc(thread_id, None if exc_type is None else id(exc_type))
