"""Property tests on random input: the cell analysis and the magics' option parsers.

The kernel runs a cell in a worker that holds only the names the analysis
predicts it reads, and orders cells by the names they are predicted to read,
bind, delete and change in place.  A prediction that misses a name is not an
error anyone sees: cells run in the wrong order, or with a stale value.  So
the analysis is checked against real runs of random notebook cells, built
from a small grammar of everyday Python over a fixed set of globals (ints
``a b c d v``, lists ``L u``, a dict ``D``, functions ``f`` and ``g``):

* the analysis never fails on valid Python (deeply nested expressions
  included), and rejects invalid Python exactly when ``compile`` does;
* whatever a run of the cell binds, deletes or changes in place was
  predicted; and running it as the kernel does, with only the predicted
  reads bound and its changes merged back, ends exactly as running it in the
  full namespace (same names, same values, same output, same exception).

The magics take options typed by hand: random option lines must either run
the trivial cell or fail with one line saying what was wrong, changing
nothing.

``FUZZ_SCALE=20 pytest --timeout=0 tests/test_fuzz.py`` tries 20 times as many examples.
"""

import contextlib
import gc
import io
import os
import resource
import sys
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from interpkernel.dataflow.analysis import TOO_DEEP, analyse
from interpkernel.dataflow.effects import (Summaries, in_cell, known_builtin, known_from_value,
                                           resolve)
from interpkernel.errors import InterpkernelError

SCALE = int(os.environ.get('FUZZ_SCALE', '1'))    # more examples for a longer hunt

# -- the namespace earlier cells made --

SETUP = '''\
a = 1
b = 2
c = 0
d = -3
L = [3, 1, 2]
D = {'k': 1, 'j': [4]}
u = [5]
v = 6
def f(x=0, y=None):
    return a + len(D)
def g(y=1, seen=[]):
    seen.append(y)
    L.append(y)
    return len(seen)
'''
SETUP_FILE = '<cell In[1]>'
CELL_FILE = '<cell In[2]>'
SETUP_CODE = compile(SETUP, SETUP_FILE, 'exec')
SETUP_EFFECTS = analyse(SETUP, SETUP_FILE)


def fresh_namespace():
    """The namespace after SETUP, made anew: its functions' globals are this very dict."""
    namespace = {'__name__': '__main__'}
    exec(SETUP_CODE, namespace)
    return namespace


START_NAMES = tuple(n for n in fresh_namespace() if not n.startswith('__'))

# -- a grammar of notebook cells --

INTS = ('a', 'b', 'c', 'd')
# Exceptions the generated code catches: never RuntimeError (RecursionError) nor
# BaseException, so that runaway recursion and the step budget end the run.
CAUGHT = '(KeyError, IndexError, TypeError, ValueError, ZeroDivisionError, NameError, AttributeError)'
KEYS = ("'k'", "'j'", "'m'")
ITERABLES = ('range(3)', 'L', 'D', 'L[:2]', 'sorted(L)', 'list(D)', 'range(0)')
MAX_DEPTH = 3      # nesting of blocks in generated cells (deep nesting has its own statements)


class _Scope:
    """Where generated code is: the cell, or a function (and which names it may use)."""

    def __init__(self, function=False, params=(), local=(), declared=(), loop=False, depth=0,
                 nested=0):
        self.function = function
        self.params = params          # parameters, closure and loop variables it may read
        self.local = local            # names it assigns as its own locals
        self.declared = declared      # names declared global in it
        self.loop = loop              # inside a loop of this function (break/continue)
        self.depth = depth
        self.nested = nested          # how many defs it is inside

    def but(self, **changes):
        scope = _Scope(self.function, self.params, self.local, self.declared, self.loop,
                       self.depth, self.nested)
        for name, value in changes.items():
            setattr(scope, name, value)
        return scope

    def int_names(self):
        return (*INTS, *self.params, *self.local) if self.function else \
            (*INTS, 'v', *self.params)

    def int_targets(self):
        if not self.function:
            return (*INTS, 'u', 'v')
        return (*self.local, *[n for n in self.declared if n in INTS])

    def list_targets(self):
        if not self.function:
            return ('L', 'u', 'v')
        return (*self.local, *[n for n in self.declared if n == 'L'])

    def dict_targets(self):
        if not self.function:
            return ('D', 'u')
        return (*self.local, *[n for n in self.declared if n == 'D'])

    def receivers(self):
        """Names of lists (or what may be one) whose methods may be called."""
        return ('L', "D['j']", *self.params, *self.local) if self.function else \
            ('L', "D['j']", 'u')


class _Writer:
    """Draws one random cell, as source text, from `draw`.

    Simple choices come first in every list, and rare features sit behind
    `rare`, so that Hypothesis shrinks a failing cell towards plain code.
    """

    def __init__(self, draw):
        self.draw = draw

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def number(self, low, high):
        return self.draw(st.integers(low, high))

    def rare(self, percent):
        """True `percent` % of the time (shrinks to False)."""
        return self.draw(st.integers(0, 99)) >= 100 - percent

    # -- expressions --

    def int_expr(self, scope, budget=2):
        if budget <= 0 or not self.draw(st.booleans()):
            return self.pick((*map(str, range(4)), '-1', *scope.int_names()))
        sub = budget - 1
        kind = self.number(0, 19)
        e = lambda: self.int_expr(scope, sub)   # noqa: E731
        if kind == 0:
            return f'{e()} + {e()}'
        if kind == 1:
            return f'{e()} - {e()}'
        if kind == 2:
            return f'({e()}) * {self.number(0, 3)}'
        if kind == 3:
            return f'({e()}) {self.pick(("//", "%"))} ({e()})'
        if kind == 4:
            return self.pick(('len(L)', 'len(D)', 'sum(L)', "D['k']", "D.get('k', 0)",
                              "D['j'][0]", 'len(D["j"])'))
        if kind == 5:
            return f'L[{self.number(-2, 2)}]'
        if kind == 6:
            return self.call(scope, sub)
        if kind == 7:
            return f'({e()} if {self.cond(scope, sub)} else {e()})'
        if kind == 8:
            return f'(lambda x=0: x + {self.pick(scope.int_names())})({e()})'
        if kind == 9:
            targets = scope.int_targets()
            if targets:
                return f'({self.pick(targets)} := {e()})'
            return e()
        if kind == 10:
            return f'sum([k + {e()} for k in {self.pick(ITERABLES)}])'
        if kind == 11:
            return f'len([k for k in {self.pick(ITERABLES)} if {self.cond(scope, sub, "k")}])'
        if kind == 12:
            return f'{self.pick(("min", "max"))}({e()}, {e()})'
        if kind == 13:
            return f'abs({e()})'
        if kind == 14:
            return f'sum(k * {e()} for k in {self.pick(ITERABLES)})'
        if kind == 15:
            return f'len({{k: {e()} for k in {self.pick(ITERABLES)}}})'
        if kind == 16:
            return f'sorted(L, key=lambda k: {self.pick(("-k", "k % 2", "k + a", "str(k)"))})[0]'
        if kind == 17:
            return f'-{e()}'
        if kind == 18:
            return self.deep_expr(scope, self.draw(st.booleans())) if self.rare(15) else e()
        return f'int(bool({self.cond(scope, sub)}))'

    def deep_expr(self, scope, deep=True):
        """Expressions nested hundreds of levels deep (`deep`: only the deepest)."""
        kind = self.number(0, 4)
        if kind == 0:     # a sum of many terms: a BinOp as deep as it has terms
            terms = [self.pick(('1', *scope.int_names())) for _ in range(8)]
            # (12000 terms are too many for Python's own compiler)
            count = self.pick((800, 1500, 12000) if deep else (3, 50, 300, 800))
            return ' + '.join(terms[i % len(terms)] for i in range(count))
        # The parser allows fewer than 200 nested brackets of any kind in all.
        depth = self.pick((150,) if deep else (5, 100, 150))
        if kind == 1:     # parentheses add no nodes
            return '(' * depth + self.int_expr(scope, 0) + ')' * depth
        if kind == 2:     # nested lists
            return 'len(' + '[' * depth + self.int_expr(scope, 0) + ']' * depth + ')'
        if kind == 3:     # unary minus chains
            return '-' * self.pick((1200, 3000) if deep else (3, 200)) + \
                self.pick(scope.int_names())
        return 'abs(' * depth + self.int_expr(scope, 0) + ')' * depth

    def call(self, scope, budget):
        name = self.pick(('f', 'g'))
        kind = self.number(0, 7)
        e = lambda: self.int_expr(scope, budget)   # noqa: E731
        if kind == 0:
            return f'{name}()'
        if kind == 1:
            return f'{name}({e()})'
        if kind == 2:
            return f'{name}({e()}, {e()})'
        if kind == 3:
            return f'{name}({self.pick(("L", "D", "D[\'j\']"))})'
        if kind == 4:
            return f'{name}(y={e()})'
        if kind == 5:
            return f'{name}(*{self.pick(("L", "[1]", "()"))})'
        if kind == 6 and self.rare(10):
            return f'{name}()()'      # call what it returned (a closure, or a TypeError)
        return f'{name}({e()}, {self.pick(("L", "D"))})'

    def list_expr(self, scope):
        e = lambda: self.int_expr(scope, 1)   # noqa: E731
        return self.pick((
            lambda: f'[{e()}, {e()}]', lambda: 'L', lambda: 'L[:2]', lambda: 'list(L)',
            lambda: 'sorted(L)', lambda: f'[k * 2 for k in {self.pick(ITERABLES)}]',
            lambda: f'L + [{e()}]', lambda: "D['j']",
            lambda: f'[L, {e()}]', lambda: '[]'))()

    def dict_expr(self, scope):
        e = lambda: self.int_expr(scope, 1)   # noqa: E731
        return self.pick((
            lambda: f"{{'k': {e()}, 'j': [{e()}]}}", lambda: 'dict(D)', lambda: 'D',
            lambda: f'{{k: k for k in {self.pick(ITERABLES)}}}',
            lambda: f"{{**D, 'k': {e()}}}", lambda: '{}'))()

    def cond(self, scope, budget=1, extra=None):
        names = (*scope.int_names(), extra) if extra else scope.int_names()
        e = lambda: self.int_expr(scope, budget) if not extra or self.draw(st.booleans()) \
            else extra   # noqa: E731
        kind = self.number(0, 7)
        if kind == 0:
            return f'{e()} < {e()}'
        if kind == 1:
            return f'{e()} == {e()}'
        if kind == 2:
            return f'{self.pick(names)} in L'
        if kind == 3:
            return f'{self.pick(KEYS)} in D'
        if kind == 4:
            return f'not {e()}'
        if kind == 5:
            return f'{e()} > 0 and {e()} < 3'
        if kind == 6:
            return self.pick(('L', 'D', "D['j']"))
        return e()

    # -- statements --

    def block(self, scope, minimum=1):
        count = self.number(minimum, 3)
        return [line for _ in range(count) for line in self.statement(scope)]

    def statement(self, scope):
        """Lines of one statement (indented relative to `scope`'s block)."""
        compound = scope.depth < MAX_DEPTH and self.draw(st.booleans()) and \
            self.draw(st.booleans())
        if compound:
            return self.compound(scope.but(depth=scope.depth + 1))
        return [self.simple(scope)]

    def simple(self, scope):
        e = lambda: self.int_expr(scope)   # noqa: E731
        kind = self.number(0, 26)
        int_targets, list_targets = scope.int_targets(), scope.list_targets()
        dict_targets = scope.dict_targets()
        if kind == 0 and int_targets:
            return f'{self.pick(int_targets)} = {e()}'
        if kind == 1 and int_targets:
            return f'{self.pick(int_targets)} {self.pick(("+=", "-=", "*="))} {e()}'
        if kind == 2 and list_targets:
            return f'{self.pick(list_targets)} = {self.list_expr(scope)}'
        if kind == 3 and dict_targets:
            return f'{self.pick(dict_targets)} = {self.dict_expr(scope)}'
        if kind == 4 and len(int_targets) >= 2:
            first, second = self.draw(st.permutations(int_targets))[:2]
            return self.pick((f'{first}, {second} = {e()}, {e()}',
                              f'{first}, {second} = {second}, {first}',
                              f'{first}, {second} = L[:2]',
                              f'{first}, *{second} = L'))
        if kind == 5:
            deletable = scope.int_targets() + scope.list_targets()
            options = ['del L[0]', f'del D[{self.pick(KEYS)}]', "del D['j'][-1]"]
            if deletable:
                options.insert(0, f'del {self.pick(deletable)}')
            return self.pick(options)
        if kind == 6:
            return f'D[{self.pick(KEYS)}] = {e()}'
        if kind == 7:
            return f'L[{self.number(-2, 2)}] {self.pick(("=", "+="))} {e()}'
        if kind in (8, 9, 10):
            receiver = self.pick(scope.receivers())
            return self.pick((
                lambda: f'{receiver}.append({e()})',
                lambda: f'{receiver}.extend([{e()}, {e()}])', lambda: f'{receiver}.pop()',
                lambda: f'{receiver}.sort()', lambda: f'{receiver}.reverse()',
                lambda: f'{receiver}.insert(0, {e()})', lambda: f'{receiver}.remove({e()})',
                lambda: f'{receiver}.clear()', lambda: f'{receiver}.sort(key=lambda k: -k)',
                lambda: f'{receiver} += [{e()}]', lambda: f'{receiver}[0] = {e()}'))()
        if kind == 11:
            return self.pick((
                lambda: f'D.update({self.dict_expr(scope)})',
                lambda: f'D.pop({self.pick(KEYS)}, None)',
                lambda: f'D.setdefault({self.pick(KEYS)}, []).append({e()})',
                lambda: f'D |= {self.dict_expr(scope)}', lambda: 'D.clear()',
                lambda: f"D['j'][0] = {e()}"))()
        if kind == 12:
            return self.pick((lambda: f'print({e()})', lambda: 'print(L, D)',
                              lambda: f'print(sorted(L), len(D), sum([{e()}]))'))()
        if kind in (13, 14):
            return self.call(scope, 1)
        if kind == 15 and int_targets:
            return f'{self.pick(int_targets)} = {self.call(scope, 1)}'
        if kind == 16 and (int_targets or list_targets):
            # aliases: changing one name changes what another holds
            target = self.pick(int_targets + list_targets)
            return f'{target} = {self.pick(("L", "D", "D[\'j\']", "[L, D]", "L[:]"))}'
        if kind == 17 and scope.loop:
            return self.pick(('break', 'continue'))
        if kind == 18 and (scope.local or not scope.function):
            # (an annotated name cannot be declared global)
            return f'{self.pick(scope.local or int_targets)}: int = {e()}'
        if kind == 20:
            return f'f.tag = {e()}'
        if kind == 21 and int_targets:
            return f'{self.pick(int_targets)} = [k for k in {self.pick(ITERABLES)} ' \
                   f'if {self.cond(scope, 1, "k")}]'
        if kind == 22 and not scope.function and self.rare(30):
            return f'f = lambda x=0, y={self.pick(("1", "a", "L"))}: ' \
                   f'{self.pick(("x + a", "y.append(x)", "L.append(x)", "g(x)", "x + y"))}'
        if kind == 23:
            return 'pass'
        return f'{self.pick(int_targets)} = {e()}' if int_targets else f'print({e()})'

    def compound(self, scope):
        kind = self.number(0, 6)
        inner = scope.but()
        if kind == 0:
            lines = [f'if {self.cond(scope)}:', *indent(self.block(inner))]
            if self.draw(st.booleans()):
                lines += ['else:', *indent(self.block(inner))]
            return lines
        if kind == 1:
            variable = self.pick(('i', 'j'))
            looped = inner.but(loop=True, params=(*inner.params, variable))
            lines = [f'for {variable} in {self.pick(ITERABLES)}:', *indent(self.block(looped))]
            if self.rare(20):
                lines += ['else:', *indent(self.block(inner))]
            return lines
        if kind == 2:   # a bounded while loop: its counter is no target of the grammar
            looped = inner.but(loop=True, params=(*inner.params, 'n'))
            return ['n = 0', f'while n < {self.number(0, 3)}:', '    n += 1',
                    *indent(self.block(looped))]
        if kind == 3:
            lines = ['try:', *indent(self.block(inner)),
                     self.pick((f'except {CAUGHT} as e:', 'except KeyError:',
                                f'except {CAUGHT}:')),
                     *indent(self.block(inner))]
            if self.rare(20):
                lines += ['else:', *indent(self.block(inner))]
            return lines
        if kind in (4, 5) and scope.nested < 2:
            return self.function(scope)
        if kind == 6 and self.rare(25):
            return self.deep_block(scope)
        return [self.simple(scope)]

    def deep_block(self, scope):
        """ifs nested far beyond MAX_DEPTH (the parser allows 100 levels in all)."""
        depth = self.pick((4, 30, 80))
        lines = [' ' * i + f'if {self.pick(scope.int_names())} > -5:' for i in range(depth)]
        return [*lines, ' ' * depth + self.simple(scope.but(loop=False))]

    def function(self, scope):
        """A def: parameters, defaults, globals, a nested closure, a return."""
        nested = scope.nested
        name = 'h' if scope.function else self.pick(('f', 'g'))
        signature, params = self.pick((
            ('x=0, y=1', ('x', 'y')), ('x=a', ('x',)), ('x=0, y=[]', ('x', 'y')),
            ('x=0, y=L', ('x', 'y')), ('*x', ()), ('x=0, *, y=1', ('x', 'y')), ('', ()),
            ('x', ('x',)), ('x, y=1', ('x', 'y'))))
        declared = tuple(sorted(set(self.draw(st.lists(st.sampled_from((*INTS, 'L', 'D')),
                                                        max_size=2)))))
        # Inside a def, names assigned without `global` are its locals: u and v.
        body_scope = _Scope(function=True, params=params + scope.params + scope.local,
                            local=('u', 'v'), declared=declared, depth=scope.depth,
                            nested=nested + 1)
        lines = [f'def {name}({signature}):']
        body = []
        if declared:
            body.append(f'global {", ".join(declared)}')
        closure = nested == 0 and self.rare(30)
        if closure:
            body.append('u = 0')
        body += self.block(body_scope)
        if closure:
            # a nested function keeping state in its maker's variable
            inner = body_scope.but(params=(*body_scope.params, 'u'), local=('v',),
                                   declared=(), nested=nested + 2)
            body += ['def h(z=1):', '    nonlocal u', '    u += z',
                     *indent(self.block(inner)), f'    return u + {self.pick(INTS)}']
            body.append(self.pick(('h(x)' if 'x' in params else 'h()', 'return h',
                                   'h()')))
        if self.draw(st.booleans()):
            body.append(f'return {self.int_expr(body_scope)}')
        lines += indent(body)
        if self.rare(40):
            lines.append(self.call(scope, 1))     # called by the code that defined it
        return lines


def indent(lines):
    return ['    ' + line for line in lines]


@st.composite
def cells(draw):
    """Random valid notebook cells over SETUP's names (and their own locals)."""
    writer = _Writer(draw)
    # `global` at the top level is allowed (and changes nothing) before any use.
    lines = [f'global {writer.pick(INTS)}'] if writer.rare(5) else []
    for _ in range(draw(st.integers(1, 6))):
        lines += writer.statement(_Scope())
    return '\n'.join(lines) + '\n'


@st.composite
def deep_cells(draw):
    """Cells with one expression, or one block, nested hundreds of levels deep."""
    writer = _Writer(draw)
    scope = _Scope()
    deep = writer.deep_expr(scope)
    middle = writer.pick((
        [f'a = {deep}'], [f'print({deep})'], [f'L.append({deep})'],
        ['def f(x=0):', f'    return {deep}'], [f'c = [k + {deep} for k in L]'],
        writer.deep_block(scope)))
    return '\n'.join([*writer.statement(scope), *middle, *writer.statement(scope)]) + '\n'


# -- predicting and running a cell --

def predict(source):
    """What the kernel predicts a cell after SETUP reads, binds, deletes and changes.

    As `Scheduler.submit`: the cell's own functions are summarised under its
    file name; names it changes in place that it did not bind first are read
    too (they are bound into its worker).
    """
    effects = analyse(source, CELL_FILE)
    summaries = Summaries()
    summaries.add(SETUP_FILE, SETUP_EFFECTS)
    summaries.add(CELL_FILE, effects)
    start = fresh_namespace()

    def before(name):
        return known_from_value(start[name]) if name in start else known_builtin(name)

    resolved = resolve(effects, in_cell(effects, CELL_FILE, before), summaries)
    incoming = {n for n in resolved.mutates if n not in effects.binds or n in effects.reads}
    return effects, resolved, set(resolved.reads) | incoming


class _OverBudget(BaseException):
    """The cell ran too long or grew too big; no generated code catches a BaseException."""


STEPS = 20_000          # trace events a run may take (loops are bounded; recursion may branch)
MEMORY = 512 << 20      # bytes a run may add to the process (``a = L`` then ``a += a`` in a loop)


@contextlib.contextmanager
def _memory_limit():
    """Make an allocation beyond MEMORY more than now raise MemoryError (Linux)."""
    try:
        with open('/proc/self/statm') as statm:
            size = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + MEMORY if hard == resource.RLIM_INFINITY else min(size + MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def execute(source, namespace):
    """Run `source` in `namespace`: (exception type or None, what it printed).

    Raises `_OverBudget` if it runs longer than STEPS trace events or takes
    more than MEMORY.
    """
    code = compile(source, CELL_FILE, 'exec')
    steps = 0

    def trace(frame, event, arg):
        nonlocal steps
        steps += 1
        if steps > STEPS:
            raise _OverBudget
        return trace

    printed = io.StringIO()
    previous = sys.gettrace()
    # No garbage collection while it runs: a collection at the bottom of a
    # runaway recursion would run gc callbacks with no stack left.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _memory_limit(), contextlib.redirect_stdout(printed):
            sys.settrace(trace)
            try:
                exec(code, namespace)
            finally:
                sys.settrace(previous)
    except MemoryError:
        raise _OverBudget from None
    except Exception as exc:
        return type(exc), printed.getvalue()
    finally:
        if collecting:
            gc.enable()
    return None, printed.getvalue()


def fingerprint(value, memo, depth=0):
    """A comparable picture of `value`'s contents; objects seen before (`memo`)
    appear as back-references, so sharing and cycles show.  Below `_DEEPEST`
    levels (a loop nesting lists, ``x = [x]``) only the type shows: deeper,
    this picture would run out of Python's stack."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, int) or value.bit_length() < 4000 else \
            ('int', hash(value))
    if depth > _DEEPEST:
        return ('deep', type(value).__name__)
    if id(value) in memo:
        return ('ref', memo[id(value)])
    memo[id(value)] = len(memo)
    depth += 1
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(fingerprint(v, memo, depth) for v in value))
    if isinstance(value, dict):
        return ('dict', tuple((fingerprint(k, memo, depth), fingerprint(v, memo, depth))
                              for k, v in value.items()))
    if callable(value) and hasattr(value, '__code__'):
        # Functions from different runs are different objects: compare what they
        # are and the state they keep (defaults, attributes, closure cells).
        cells = tuple(fingerprint(cell.cell_contents, memo, depth) if _filled(cell)
                      else '<empty>' for cell in value.__closure__ or ())
        return ('function', value.__code__.co_qualname, value.__code__.co_firstlineno,
                fingerprint(value.__defaults__, memo, depth),
                fingerprint(value.__kwdefaults__, memo, depth),
                fingerprint(value.__dict__, memo, depth), cells)
    return (type(value).__qualname__, repr(value) if isinstance(value, range) else '?')


_DEEPEST = 150


def _filled(cell):
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def picture(namespace):
    """The user-visible state of a namespace: its names and their values, sharing included."""
    memo = {}
    return {name: fingerprint(namespace[name], memo) for name in sorted(namespace)
            if not name.startswith('__')}


def run_as_the_kernel_does(source, namespace, given):
    """Run the cell in `namespace` with only the names `given` of SETUP's bound,
    as a worker runs it; then merge what it bound, deleted and changed back
    into the rest, as the kernel does with the worker's report: a name given
    and gone at the end was deleted.  Returns (error, printed, merged namespace).

    Every run goes through here, so that all start at the same stack depth
    (a cell recursing until RecursionError does as much each time).
    """
    absent = {name: namespace.pop(name) for name in START_NAMES if name not in given}
    error, printed = execute(source, namespace)
    return error, printed, {**absent, **namespace}


# -- A: the analysis --

def test_analysis_accepts_exactly_what_python_compiles():
    """Never an exception but SyntaxError, and that exactly when compile() raises it."""
    counts = Counter()

    @settings(max_examples=600 * SCALE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(cells(), deep_cells()), st.data())
    def check(source, data):
        # The cell as generated, and a prefix of it (mostly not valid Python).
        cut = data.draw(st.integers(0, len(source)), label='cut')
        for text in (source, source[:cut]):
            try:
                compile(text, CELL_FILE, 'exec')
            except SyntaxError:
                with pytest.raises(SyntaxError):
                    analyse(text, CELL_FILE)
                counts['syntax error'] += 1
                continue
            except RecursionError:
                # Too deep for Python to compile: running the cell fails the same
                # way, so the analysis need not say more than "a barrier".
                assert analyse(text, CELL_FILE).barrier == TOO_DEEP
                counts['too deep to compile'] += 1
                continue
            effects = analyse(text, CELL_FILE)     # no exception: not even a RecursionError
            assert effects.barrier in (None, TOO_DEEP)
            counts['too deep' if effects.barrier else 'analysed'] += 1
            predict(text)     # resolving what it calls does not fail either

    check()
    print(dict(counts))
    # Each way through the analysis was taken (else the strategies test less than meant).
    assert all(counts[kind] for kind in ('syntax error', 'too deep', 'analysed')), dict(counts)


def test_predictions_cover_what_random_cells_really_do():
    """Soundness: nothing a run does is missing from the prediction.

    A cell with a barrier or an `unknown` call is ordered after every other
    cell and sees every name, so its predictions need not be precise: those
    are skipped, counted, and must stay rare (else this test checks little).
    """
    counts = Counter()

    @settings(max_examples=1500 * SCALE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(cells())
    def check(source):
        effects, resolved, reads = predict(source)
        # The worker is given what the cell may read, and what it may delete: only
        # a name it was given can it report as deleted.  (The kernel gives only
        # the reads, so it misses `x = 0; del x` of an x it did not read: a gap
        # in the runtime, not in the analysis this test checks.)
        given = reads | resolved.deletes
        if effects.barrier or resolved.unknown or resolved.reads_anything:
            counts['skipped'] += 1
            return
        compile(source, CELL_FILE, 'exec')     # the grammar makes valid Python only
        namespace = fresh_namespace()
        originals = {name: namespace[name] for name in START_NAMES}
        before = {name: fingerprint(value, {}) for name, value in originals.items()}
        try:
            error, printed, _ = run_as_the_kernel_does(source, namespace, START_NAMES)
            kernel = run_as_the_kernel_does(source, fresh_namespace(), given)
        except _OverBudget:
            counts['over budget'] += 1
            assume(False)
        counts['checked'] += 1
        counts['failed'] += error is not None
        shown = f'cell:\n{source}\npredicted {resolved}\ngiven {sorted(given)}'

        # Every name bound anew, rebound or deleted was foreseen.
        names = {n for n in (*originals, *namespace) if not n.startswith('__')}
        for name in sorted(names):
            if name not in namespace:
                assert name in resolved.deletes, f'deleted {name!r} unforeseen; {shown}'
            elif name not in originals or namespace[name] is not originals[name]:
                assert name in resolved.binds, f'bound {name!r} unforeseen; {shown}'
        # Every object of SETUP changed in place was foreseen as changed (the
        # kernel reports a changed version whose name is not in `mutates`).
        for name, value in originals.items():
            if fingerprint(value, {}) != before[name]:
                assert name in resolved.mutates, f'changed {name!r} unforeseen; {shown}'

        # Reads: with only the predicted reads at hand, the run ends the same.
        expected = (error, printed, picture(namespace))
        got = (kernel[0], kernel[1], picture(kernel[2]))
        if got != expected:
            culprits = [name for name in START_NAMES if name not in given and
                        _outcome_without(source, name) != expected]
            pytest.fail(f'without {culprits or "the unread names"} the cell ends differently:'
                        f' {got[:2]} instead of {expected[:2]}; {shown}')

    check()
    print(dict(counts))
    assert counts['checked'] >= 100 * SCALE
    assert counts['skipped'] <= counts['checked'] / 10, dict(counts)


def _outcome_without(source, name):
    error, printed, namespace = run_as_the_kernel_does(
        source, fresh_namespace(), set(START_NAMES) - {name})
    return error, printed, picture(namespace)


# -- B: the magics' option parsers --

OPTION_VALUES = st.one_of(
    st.sampled_from(('0', '1', '2', '-1', '-0', 'nan', 'inf', '-inf', '1e300', '1e-300',
                     '10' * 20, '2.5', '0x10', '', "''", '""', '"a b"', "'", '"', 'x', 'x,y',
                     ' x , y ', 'class', 'def,x', 'None', '1x', 'é', 'naïve', 'a.b', '--in',
                     '-n', '\\', '$x', '{x}', 'x=1', '#0', '\u200b', 'ℌ', '\U0001f600')),
    # any text typed on one line (no character str.splitlines breaks a line at), as a
    # frontend can send it: UTF-8, so no lone surrogate (IPython's own tokenizer fails on
    # one, in a multi-line UnicodeEncodeError, before any magic runs)
    st.text(st.characters(exclude_categories=('Cs',),
                          exclude_characters='\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029'),
            max_size=6))
WORKER_NAMES = ('fuzz1', 'fuzz2', 'naïve')     # the only workers a valid name may start


# Options of %%interp with values that are right alone (together they may clash).
VALID_CELL_OPTIONS = (('--in', 'fuzz_a'), ('--in', "''"), ('--out', 'x'), ('--out', "''"),
                      ('--out', 'x,x'), ('-n', '1'), ('-n', '2'), ('--all',), ('-b',),
                      ('--block',), ('--timeout', '60'), ('--engine', 'sub'),
                      ('--engine', 'host'), *((name,) for name in WORKER_NAMES))


@st.composite
def cell_lines(draw):
    """The option line of ``%%interp``: known options, unknown ones, any values."""
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(VALID_CELL_OPTIONS), max_size=3, unique=True))
        return ' '.join(word for option in chosen for word in option)
    words = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            words += [draw(st.sampled_from(('--in', '--out'))), draw(OPTION_VALUES)]
        elif kind == 1:
            # -n N starts N workers: only the harmless counts, and bad ones
            words += ['-n', draw(st.sampled_from(('1', '0', '-3', '10000', '1e3', 'nan',
                                                   'two', '99999999999999999999')))]
        elif kind == 2:
            # a valid --timeout only starts a timer the end of the cell cancels
            words += ['--timeout', draw(st.sampled_from(('60', '0', '-1', 'nan', 'inf',
                                                         '-inf', '1e300', 'x', '', '1e-300')))]
        elif kind == 3:
            words += ['--engine', draw(st.sampled_from(('sub', 'host', 'Host', '', 'gpu')))]
        elif kind == 4:
            words.append(draw(st.sampled_from(('-b', '--block', '--all', '--engine'))))
        elif kind == 5:
            words.append(draw(st.sampled_from(WORKER_NAMES + ('class', '9lives', 'None',
                                                              'é-1', '#0', 'a b'))))
        elif kind == 6:
            words.append(draw(st.sampled_from(('--bogus', '-z', '--', '-', '--in=x',
                                               '--out=', '--timeout=5', '-n1', '--al'))))
        else:
            words.append(draw(OPTION_VALUES))
    return ' '.join(words)


VALID_LINES = ('status', 'wait', 'interrupt', 'timeline', 'timeline -n 2', 'timeline --all',
               'pool 2', 'pool 1', 'channel fuzz_channel', 'channel fuzz_channel --capacity 3',
               'close fuzz1', 'wait fuzz1', 'interrupt fuzz2', 'reset')


@st.composite
def line_magic_lines(draw):
    """The line of ``%interp``: a subcommand (or not) and random arguments."""
    if draw(st.booleans()):
        return draw(st.sampled_from(VALID_LINES))
    command = draw(st.sampled_from(('status', 'wait', 'interrupt', 'close', 'pool', 'timeline',
                                    'channel', 'frobnicate', '', 'STATUS', 'reset')))
    words = [command]
    for _ in range(draw(st.integers(0, 3))):
        words.append(draw(st.one_of(
            OPTION_VALUES,
            st.sampled_from(('--force', '-n', '--all', '--capacity', '-h', '--bogus',
                             '999999', '0', '-5', '3', 'nobody', 'fuzz1')))))
    line = ' '.join(words)
    if command == 'pool' and _pool_size(words) not in (None, 1, 2):
        return 'pool 2'      # a big valid size starts as many workers: not for a fuzzer
    return line


def _pool_size(words):
    try:
        return int(words[1]) if len(words) == 2 and 0 < int(words[1]) <= 64 else None
    except ValueError:
        return None


def _shown(run):
    """Call `run()`: (what it returned, everything it printed)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = run()
    return result, out.getvalue() + err.getvalue()


def _user_names(shell):
    return {k: v for k, v in shell.user_ns.items()
            if not k.startswith('_') and k not in shell.user_ns_hidden}


# Errors a bad line may raise: IPython's usage error, and the errors the
# extension raises with a one-line message of its own.
ONE_LINE_ERRORS = (UsageError, InterpkernelError)


@pytest.fixture(scope='module')
def magics(shell):
    yield shell.magics_manager.registry['InterpMagics']
    shell.run_line_magic('interp', 'pool 2')


def _settled(magics):
    """Every --bg cell and worker is done: nothing was left half done."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pending = [b for b in magics._background if not b.done()]
        busy = [w for w in (magics._pool.workers if magics._pool else [])
                if w.state in ('running', 'broken')]
        if not pending and not busy:
            return True
        time.sleep(0.02)
    return False


def _failure(run):
    """Call `run()` with its output captured: the one-line error it raised, or None."""
    try:
        _shown(run)
    except ONE_LINE_ERRORS as exc:
        assert '\n' not in str(exc).strip(), repr(exc)
        return str(exc)
    return None


def _shown_in_one_line(printed):
    """Did IPython show the error as one ``Name: message`` line, no traceback
    (SPMD: one after each ``[rank N]`` header)?"""
    lines = printed.strip().splitlines()
    errors = [line for line in lines if not line.startswith('[rank ')]
    return len(errors) == max(1, len(lines) - len(errors)) and \
        all(': ' in line and 'Traceback' not in line for line in errors)


def test_any_cell_magic_line_runs_or_fails_in_one_line_changing_nothing(shell, magics):
    counts = Counter()
    shell.user_ns['fuzz_a'] = 1    # a name --in may send

    @settings(max_examples=150 * SCALE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(cell_lines())
    def check(line):
        shell.user_ns.pop('x', None)
        before = _user_names(shell)
        started = time.monotonic()
        failed = _failure(lambda: shell.run_cell_magic('interp', line, 'x = 1'))
        assert _settled(magics), f'{line!r} left a cell or worker busy'
        after = _user_names(shell)
        if failed is not None:
            counts['usage error'] += 1
            assert after == before, f'{line!r} failed but changed the namespace'
            # And IPython shows it as that one line, no traceback (a cell may beat a
            # timeout of 1e-300 s the second time: the race is the cell's, not ours).
            result, printed = _shown(lambda: shell.run_cell(f'%%interp {line}\nx = 1'))
            if not (result.success and 'ran past --timeout' in failed):
                assert not result.success and _shown_in_one_line(printed), printed
            shell.user_ns.pop('x', None)
        else:
            counts['ran'] += 1
            # Nothing changed but x, brought back as such (SPMD with --out x: one per rank).
            x = after.pop('x', 1)
            assert after == before, f'{line!r} changed more than x'
            assert x == 1 or (isinstance(x, list) and set(x) == {1}), (line, x)
        shell.user_ns.pop('x', None)
        assert time.monotonic() - started < 30, f'{line!r} took {time.monotonic() - started:.1f} s'

    check()
    del shell.user_ns['fuzz_a']
    print(dict(counts))
    assert counts['ran'] and counts['usage error'], dict(counts)


def test_any_line_magic_line_runs_or_fails_in_one_line(shell, magics):
    counts = Counter()

    @settings(max_examples=150 * SCALE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(line_magic_lines())
    def check(line):
        before = set(shell.user_ns)
        started = time.monotonic()
        failed = _failure(lambda: shell.run_line_magic('interp', line))
        assert _settled(magics), f'{line!r} left a cell or worker busy'
        if failed is not None:
            counts['usage error'] += 1
            assert set(shell.user_ns) == before, f'{line!r} failed but changed the namespace'
            if not line.rstrip().endswith('?'):   # in a cell, `...?` asks IPython for help
                result, printed = _shown(lambda: shell.run_cell(f'%interp {line}'))
                assert not result.success and _shown_in_one_line(printed), printed
        else:
            counts['ran'] += 1
        for name in set(shell.user_ns) - before:    # %interp channel NAME made one
            del shell.user_ns[name]
        assert time.monotonic() - started < 30, f'{line!r} took {time.monotonic() - started:.1f} s'

    check()
    print(dict(counts))
    assert counts['ran'] and counts['usage error'], dict(counts)
