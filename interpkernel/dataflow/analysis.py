"""What a cell reads, binds, deletes and may change, from its syntax tree.

The dataflow's view of one cell, shared by the kernel and the ``%%interp``
magic.  Syntax alone tells which names a cell reads and binds; whether a call
changes what it is given depends on what is called, which is often only known
once earlier cells have run.  So the analysis records every call with the
names whose objects flow into each argument (`Call`), and a summary of every
function and class the cell defines (`FunctionSummary`, `ClassSummary`), and
leaves it to `dataflow.effects` to resolve them against what the names hold.

Flows are conservative: a name bound from an expression that may share
objects with other names (``row = grid[0]``, ``b = f(a)``) is an alias of
them (`CellEffects.aliases`), and changing it may change them.
"""

import ast
from dataclasses import dataclass, field, replace
from typing import NamedTuple

__all__ = ['CellEffects', 'Call', 'MagicCall', 'magic_call', 'FunctionSummary', 'ClassSummary',
           'analyse', 'parse',
           'ITERATE', 'GETITEM', 'IMPLICIT', 'APPLY', 'EXPR', 'HELD', 'OPERATOR', 'CLOSURE',
           'ATTRIBUTE', 'IDENTITY', 'METACLASS',
           'IPYTHON_NAMES',
           'made_by', 'made_in_cell', 'literal_name', 'is_marker', 'TOO_DEEP']

ITERATE = '<iterate>'   # pseudo-callee: a loop, unpacking or `in` iterates its argument
GETITEM = '<getitem>'   # pseudo-callee: `x[k]` read (a defaultdict inserts k)
# Pseudo-callee ``(IMPLICIT, method)``: a method Python calls itself, of what the
# first argument's names hold (the rest: its other arguments): a `with` block's
# __enter__ and __exit__, a class statement's __init_subclass__ of its bases and
# __new__ and __init__ of its metaclass.
IMPLICIT = '<implicit>'
# Pseudo-callee ``(METACLASS, method)``: the method of the metaclass of the classes
# the first argument's names hold: a class statement calls its bases' metaclass's
# __new__ and __init__ (``class Student(Person)``, Person's metaclass a notebook's).
METACLASS = '<metaclass>'
APPLY = '()'            # last part of a callee path: call the result of calling the path before it
EXPR = '<expr>'         # first part of a callee path whose root is no name: a call's result
HELD = '<held>'         # ... or what its root's objects may hold (``x[0].f()``, ``f().a.g()``)
MADE = 'made'           # a local's origin (`_Scope.bound`): a call of a global (``n = Node()``)
OPERATOR = '<operator>'  # pseudo-callee: an operator calling special methods of its operands
IDENTITY = '<identity>'  # pseudo-callee: `a is b` compares its operands' objects (a copy's differ)
# Pseudo-callee ``(ATTRIBUTE, attr, 'get' | 'set' | 'delete')``: ``x.attr`` read, set
# or deleted, which runs what x's class hooks there (a property, a descriptor,
# ``__getattr__``).
ATTRIBUTE = '<attribute>'
CLOSURE = '<closure>'   # in a function's flows: variables of an enclosing function



def made_by(callee):
    """The flow marker of an object a function made by calling global `callee`."""
    return f'<new {callee}>'


def made_in_cell(callee):
    """The flow marker of an object a cell made by calling `callee` (followed only
    if `callee` is a notebook class: see `effects`)."""
    return f'<made {callee}>'


def literal_name(type_name):
    """The flow marker of a literal of builtin type `type_name` ("".join: '<literal str>')."""
    return f'<literal {type_name}>'


def is_marker(name):
    """Is `name` a flow marker (`made_by`, `literal_name`, CLOSURE, pseudo-callees), not a name?"""
    return name.startswith('<')


# Calls whose effects no analysis can know: the cell is a barrier.
_DYNAMIC_CALLS = frozenset({'exec', 'eval', 'globals', 'locals', 'vars', '__import__',
                            'get_ipython', 'compile'})
# A daemon thread outlives its cell and changes state at any time after; and
# workers cannot run one (isolated interpreters refuse them), the host can.
DAEMON_THREAD = 'it starts a daemon thread'
# Where Python keeps the last error shown (IPython sets them as it shows one).
_LAST_ERROR = frozenset({('sys', 'last_exc'), ('sys', 'last_value'), ('sys', 'last_type'),
                         ('sys', 'last_traceback'), ('traceback', 'print_last')})
# IPython's history names: their values follow the order cells were submitted in.
IPYTHON_NAMES = frozenset({'_', '__', '___', 'In', 'Out', '_i', '_ii', '_iii', '_ih', '_oh'})


class Call(NamedTuple):
    """One call, as its syntax shows it.

    Attributes:
        callee: the dotted path called, from a name (``('heapq', 'heappush')``,
            ``('L', 'append')``, ``('self', 'items', 'append')``); it starts
            with `EXPR` when the root is no name (``get().append(1)`` is
            ``(EXPR, 'append')``), or with `HELD` when it is something the
            root's objects hold (``ops['add'](1)`` is ``(HELD,)``,
            ``get().items.append(1)`` ``(HELD, 'append')``, and so is a call of
            a function's local taken out of something, ``for h in hs: h()``),
            and ends with `APPLY` when the result of a call is called
            (``lru_cache(maxsize=None)(f)``).
        root: the names the object at the root of `callee` may come from
            (``{'L'}`` for a global; parameters, globals or `CLOSURE` inside a
            function).
        args: for each positional argument, the names whose objects may flow into it.
        keywords: ``(keyword, names)`` pairs; keyword None for ``**mapping``.
        starred: a ``*args`` or ``**kwargs`` argument hides which goes where.
        line: the line of the call in the cell.
        callbacks: the calls the callee makes if it calls what it is given: one
            per argument that is a method or a module's function
            (``map(seen.add, xs)``, ``max(d, key=d.get)``) or the result of a
            call (``map(operator.methodcaller('add', 1), xs)``), given (what)
            the other arguments (hold).
    """
    callee: tuple
    root: frozenset
    args: tuple
    keywords: tuple
    starred: bool
    line: int
    callbacks: tuple = ()


@dataclass(frozen=True)
class FunctionSummary:
    """What calling a function defined in the notebook may do.

    Names in the flows are its parameters, global names, or `CLOSURE`.

    Attributes:
        key: ``(qualname, first line)``, how a function object finds its summary
            (``co_qualname``, ``co_firstlineno``).
        params: positional parameters in order; kwonly, vararg and kwarg apart.
        defaults: parameters that have a default value.
        default_flows: ``(parameter, names)``: the names the default value may
            share objects with (``def report(f=approximation)``).
        reads: globals it may read when called (functions it defines included).
        binds, deletes: globals it rebinds or deletes (``global x``).
        mutates: parameters, globals and `CLOSURE` it may change in place.
        stores: ``(roots, sources)``: it may store objects of `sources` into
            (a part of) an object of `roots` (``def link(a, b): a.next = b``).
        calls: the calls it makes.
        returns: the names its result may share objects with.
        keeps_state: calling it changes the function object itself (``nonlocal``
            rebinding, a changed default value, its own attributes).
        nested: keys of the functions defined in it.
        imports: packages it imports.
        generator: it contains ``yield``: calling it makes a generator.
        dynamic: why calling it may read or change any name (it calls
            ``exec``, ``eval``, ``globals()`` ...), or None.
    """
    key: tuple
    params: tuple = ()
    kwonly: tuple = ()
    vararg: str | None = None
    kwarg: str | None = None
    defaults: frozenset = frozenset()
    default_flows: tuple = ()
    reads: frozenset = frozenset()
    binds: frozenset = frozenset()
    deletes: frozenset = frozenset()
    mutates: frozenset = frozenset()
    stores: tuple = ()
    calls: tuple = ()
    returns: frozenset = frozenset()
    keeps_state: bool = False
    nested: tuple = ()
    imports: tuple = ()
    generator: bool = False
    dynamic: str | None = None


@dataclass(frozen=True)
class ClassSummary:
    """A class defined in the notebook: its methods' summaries, by name.

    `decorators` are the dotted paths of its decorators (``('?',)`` for one
    that is no dotted name); `factories`, those of the ``default_factory=``
    callables its body names, or None if one is no dotted name (a lambda);
    `shares_state`: its body binds a list, dict or set, one object that all
    its instances share (``tricks = []``; ``self.tricks.append(t)`` changes it),
    or a method changes the class itself (``type(self).count += 1``).
    `accessors`: names of its properties -> the keys of their functions (getter,
    setter, deleter); `binds_made`: its body binds the result of a call, which
    may be a descriptor (``x = IntegerValue()``) that all instances share;
    `metaclass`: the ``metaclass=`` its statement names (``('?',)``: no dotted name).
    """
    key: tuple
    methods: dict = field(default_factory=dict)   # method name -> FunctionSummary key
    bases: tuple = ()                             # base class names, as written
    decorators: tuple = ()
    factories: tuple | None = ()
    shares_state: bool = False
    accessors: dict = field(default_factory=dict)
    binds_made: bool = False
    metaclass: tuple = ()                         # the metaclass= keyword's dotted path


@dataclass(frozen=True)
class CellEffects:
    """The names a cell touches, and what it calls.

    Attributes:
        reads: names the cell may read before binding them itself, in order of
            first use (builtins included: a notebook may shadow them).
        binds: names the cell may bind or rebind at top level.
        deletes: names the cell may delete (``del x``, ``except E as x``); a name
            may be in both (``x = 1; del x`` may fail between the two).
        mutates: names whose objects the cell changes in place through syntax
            (``x[0] = 1``, ``x.a = 1``, ``x[0] += 1``); what they share is in `aliases`.
        set_into: those among them whose own attribute or item the cell sets
            (``os.getcwd = fake``, not ``decimal.getcontext().prec = 6``).
        calls: every call at top level (and in class bodies); calls inside
            functions are in their summaries.
        aliases: ``(name, sources)``: `name` was bound from an expression that
            may share objects with `sources`.
        functions: summaries of every function and class defined in the cell,
            by key.
        definitions: top-level names bound by ``def``/``class`` (or a lambda) -> summary
            key, if that is the last binding of the name.
        every_definition: top-level names -> the keys of every ``def``, ``class`` or
            lambda binding them, in order (a cell may call each one).
        modules: names bound to modules by ``import`` -> the module's dotted name.
        imported: names bound by ``from m import a`` -> ``(m, a)``.
        imports: top-level packages the cell imports (anywhere in it).
        submodules: the modules inside packages it imports by name (``aima.mdp``,
            from ``from aima.mdp import POMDP``), and what it imports from a
            module, which may be one too (``aima.nlp`` from ``from aima import
            nlp``; ``aima.mdp.POMDP``): one may refuse subinterpreters where
            its package does not.
        literal_types: names bound from an expression whose type the syntax
            shows (``x = []``) -> ``(module, qualname)``.
        constructed: names bound to the result of calling a name path
            (``acc = Accumulator()``) -> that path.
        shows_result: the last statement is an expression not ended by ``;``
            (IPython may show its value and store it in ``_``).
        result_flow: the names the shown value may share objects with
            (showing it runs its ``__repr__``).
        barrier: why the cell's effects cannot be known statically, or None.
        future_flags: the compiler flags its ``from __future__`` imports turn
            on, for it and every cell after it (as IPython's compiler keeps them).
    """
    reads: tuple
    binds: tuple
    deletes: tuple
    mutates: tuple = ()
    set_into: tuple = ()
    calls: tuple = ()
    aliases: tuple = ()
    functions: dict = field(default_factory=dict)
    definitions: dict = field(default_factory=dict)
    every_definition: dict = field(default_factory=dict)
    modules: dict = field(default_factory=dict)
    imported: dict = field(default_factory=dict)
    imports: tuple = ()
    submodules: tuple = ()
    literal_types: dict = field(default_factory=dict)
    constructed: dict = field(default_factory=dict)
    shows_result: bool = False
    result_flow: frozenset = frozenset()
    barrier: str | None = None
    future_flags: int = 0

    @property
    def writes(self):
        """Names whose value the cell may change: bound or changed in place."""
        return tuple(dict.fromkeys((*self.binds, *self.mutates)))


TOO_DEEP = 'it is too deeply nested to analyse'
_PARSED = '<interpkernel analysis>'   # the file name cells are parsed under here


def parse(source, filename='<cell>', flags=0):
    """The tree of cell `source`, parsed under the compiler `flags`, showing no
    warning (raises SyntaxError naming `filename`, as compile would)."""
    from .._core.execution import warnings_of_file_ignored
    try:
        with warnings_of_file_ignored(_PARSED):
            return compile(source, _PARSED, 'exec', ast.PyCF_ONLY_AST | flags)
    except SyntaxError as error:
        error.filename = filename
        raise


def analyse(source, filename='<cell>', flags=0):
    """Return the `CellEffects` of cell `source` (raises SyntaxError), parsed
    under the ``__future__`` compiler `flags` earlier cells turned on.

    A cell nested too deeply for the analysis to recurse through (a sum of
    thousands of terms) is a barrier, not an error: Python may still run it.
    """
    from .._core.execution import FUTURE_FLAGS, future_flags, hides_result
    try:
        tree = parse(source, filename, ast.PyCF_ALLOW_TOP_LEVEL_AWAIT | (flags & FUTURE_FLAGS))
    except RecursionError:
        # Python cannot compile it either: running it fails the same way.
        return CellEffects((), (), (), barrier=TOO_DEEP)
    visitor = _Visitor()
    try:
        if 'class' in source and '__' in source:
            _mangle_private_names(tree)
        for statement in tree.body:
            visitor.visit(statement)
    except RecursionError:
        return _too_deep(tree)
    shows = bool(tree.body) and isinstance(tree.body[-1], ast.Expr) and not hides_result(source)
    effects = visitor.effects(shows, future_flags(tree))
    for code in _code_magics_run(tree):
        try:
            inner = analyse(code, filename, flags)
        except SyntaxError:
            continue    # the magic reports it
        # What the code changes in place, directly or through the calls it makes (a
        # magic's cell is a barrier: what it binds shows as its value changing).
        effects = replace(
            effects, mutates=tuple(dict.fromkeys((*effects.mutates, *inner.mutates))),
            calls=(*effects.calls, *inner.calls))
    return effects


# IPython's magics that run their argument or body as code in the user's namespace.
_CODE_LINE_MAGICS = frozenset({'time'})
_CODE_CELL_MAGICS = frozenset({'time', 'capture'})


def _code_magics_run(tree):
    """The code strings that the calls of `_CODE_LINE_MAGICS` and `_CODE_CELL_MAGICS`
    at the top of `tree` run (``%time data[5] = 1`` becomes
    ``get_ipython().run_line_magic('time', 'data[5] = 1')``)."""
    for statement in tree.body:
        call = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
        magic = magic_call(call)
        if magic is None:
            continue
        if magic.cell is None and magic.name in _CODE_LINE_MAGICS:
            yield magic.line
        elif magic.cell is not None and magic.name in _CODE_CELL_MAGICS:
            yield magic.cell


class MagicCall(NamedTuple):
    """A call of an IPython magic as IPython's transformed source writes it."""
    name: str
    line: str
    cell: str | None       # None for a line magic


def magic_call(node):
    """The `MagicCall` that `node` is, if it is ``get_ipython().run_line_magic(name,
    line)`` or ``get_ipython().run_cell_magic(name, line, cell)`` with string
    constants; else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and
            isinstance(node.func.value, ast.Call) and
            isinstance(node.func.value.func, ast.Name) and
            node.func.value.func.id == 'get_ipython' and
            all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)):
        return None
    args = [a.value for a in node.args]
    if node.func.attr == 'run_line_magic' and len(args) == 2:
        return MagicCall(args[0], args[1], None)
    if node.func.attr == 'run_cell_magic' and len(args) == 3:
        return MagicCall(*args)
    return None


def _mangle_private_names(tree):
    """Rename in `tree` the private names (``__x``) that class bodies and the
    functions in them use, as the compiler does (``_A__x`` in ``class A``): a
    method reading ``__x`` reads the global ``_A__x``."""
    classes = []

    def mangled(name):
        owner = classes[-1] if classes else ''
        if owner and name.startswith('__') and not name.endswith('__'):
            return f'_{owner}{name}'
        return name

    class Mangler(ast.NodeVisitor):
        def visit_ClassDef(self, node):
            # Its decorators, bases and keywords belong to the scope around it.
            for expr in (*node.decorator_list, *node.bases, *node.keywords):
                self.visit(expr)
            classes.append(node.name.lstrip('_'))
            for statement in node.body:
                self.visit(statement)
            classes.pop()

        def visit_Name(self, node):
            node.id = mangled(node.id)

        def visit_arg(self, node):
            node.arg = mangled(node.arg)
            self.generic_visit(node)

        def visit_Global(self, node):
            node.names = [mangled(name) for name in node.names]

        visit_Nonlocal = visit_Global

    Mangler().visit(tree)


def _too_deep(tree):
    """The barrier effects of a cell too deep to analyse: every name it mentions
    (``ast.walk`` does not recurse), so that a caller moving values in and out
    (the ``%%interp`` magic) still moves all it may use and change."""
    from .._core.execution import future_flags
    reads, binds, deletes = _Ordered(), _Ordered(), _Ordered()
    imports = _Ordered()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                binds.add(node.id)
            else:
                reads.add(node.id)
                if isinstance(node.ctx, ast.Del):
                    deletes.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            binds.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imports.add(node.module.partition('.')[0])
            for alias in node.names:
                if isinstance(node, ast.Import):
                    imports.add(alias.name.partition('.')[0])
                if alias.name != '*':
                    binds.add(alias.asname or alias.name.partition('.')[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            binds.add(node.name)
            deletes.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            binds.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            binds.add(node.rest)
    # Anything read may be changed in place: what calls do is unknown here.
    return CellEffects(reads=tuple(reads), binds=tuple(binds), deletes=tuple(deletes),
                       mutates=tuple(reads), imports=tuple(imports), barrier=TOO_DEEP,
                       future_flags=future_flags(tree))


class _Ordered(dict):
    """An insertion-ordered set."""

    def add(self, name):
        self[name] = None


_OPERATORS = {ast.Add: 'add', ast.Sub: 'sub', ast.Mult: 'mul', ast.MatMult: 'matmul',
              ast.Div: 'truediv', ast.FloorDiv: 'floordiv', ast.Mod: 'mod', ast.Pow: 'pow',
              ast.LShift: 'lshift', ast.RShift: 'rshift', ast.BitOr: 'or', ast.BitXor: 'xor',
              ast.BitAnd: 'and'}
_UNARY = {ast.USub: 'neg', ast.UAdd: 'pos', ast.Invert: 'invert'}
_COMPARISONS = {ast.Eq: ('__eq__', '__eq__'), ast.NotEq: ('__ne__', '__ne__'),
                ast.Lt: ('__lt__', '__gt__'), ast.LtE: ('__le__', '__ge__'),
                ast.Gt: ('__gt__', '__lt__'), ast.GtE: ('__ge__', '__le__')}
_LITERAL_TYPES = {ast.List: 'list', ast.ListComp: 'list', ast.Dict: 'dict',
                  ast.DictComp: 'dict', ast.Set: 'set', ast.SetComp: 'set',
                  ast.Tuple: 'tuple', ast.JoinedStr: 'str', ast.GeneratorExp: 'generator'}
_CONSTRUCTORS = frozenset({'list', 'dict', 'set', 'tuple', 'str', 'int', 'float', 'bytes',
                           'bytearray', 'frozenset', 'range', 'sorted', 'complex', 'bool'})
_TEXT_TYPES = frozenset({'str', 'bytes'})
# Builtins whose result shares no object with their arguments (numbers, strings, bools).
_FRESH_RESULTS = frozenset({'len', 'sum', 'abs', 'int', 'float', 'str', 'repr', 'bool', 'hash',
                            'id', 'isinstance', 'issubclass', 'ord', 'chr', 'round', 'format',
                            'hex', 'bin', 'oct', 'divmod', 'pow', 'callable', 'ascii', 'hasattr',
                            'print', 'complex'})


class _Scope:
    """One function (or the cell itself) being summarised.

    Class bodies and comprehensions have no `_Scope`: what they do belongs to
    the function or cell they run in; only their own names are kept apart.
    Flows are sets of raw names (locals included) until `visible` reduces them.
    """

    def __init__(self, kind, local=(), params=(), declared_global=(), declared_nonlocal=()):
        self.kind = kind                      # 'cell' or 'function'
        self.local = set(local)
        self.params = tuple(params)
        self.declared_global = set(declared_global)
        self.declared_nonlocal = set(declared_nonlocal)
        self.reads = _Ordered()               # global names read
        self.binds, self.deletes = _Ordered(), _Ordered()
        self.mutated = _Ordered()             # raw names changed in place, anywhere in them
        self.set_into = _Ordered()            # ... whose own attributes or items were set
        self.calls = []
        self.attributes = set()               # (names, callee) of its ATTRIBUTE calls
        self.edges = {}                       # raw name -> raw names it may share objects with
        self.holds = {}                       # raw name -> raw names stored into its object
        self.held_by = {}                     # the reverse of `holds`
        self.returns = set()
        self.keeps_state = False
        self.generator = False
        self.dynamic = None
        self.nested = []
        self.imports = _Ordered()
        self.free = set()                     # variables of enclosing functions it uses
        self.rebound_free = set()             # ... and rebinds (``nonlocal``)
        self.origins = {}                     # local -> what every binding of it is, or None

    def link(self, name, sources):
        """`name` may now share objects with `sources` (and they with it)."""
        for source in sources:
            if source != name:
                self.edges.setdefault(name, set()).add(source)
                self.edges.setdefault(source, set()).add(name)

    def hold(self, root, sources):
        """The object of `root` may now hold objects of `sources` (``root.a = s``)."""
        for source in sources:
            if source != root:
                self.holds.setdefault(root, set()).add(source)
                self.held_by.setdefault(source, set()).add(root)

    def closure(self, names, *, through_markers=True):
        """`names` with every name they may share objects with, transitively (not
        through a flow marker unless `through_markers`: two objects made by
        calling ``Foo`` are two objects)."""
        seen, stack = set(), list(names)
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                if through_markers or name in names or not is_marker(name):
                    stack.extend(self.edges.get(name, ()))
                    stack.extend(self.holds.get(name, ()))
                    stack.extend(self.held_by.get(name, ()))
        return seen

    def changed(self, anywhere, set_into=()):
        """The raw names whose objects change when those of `anywhere` may change
        anywhere in them and those of `set_into` only have an attribute or item
        set (``s.v = v`` changes ``s``, not ``v``).

        What a changed object is held by changes with it; what it shares
        objects with in some other way (``b = a.f``: `b` may be `a`, or a part
        of it) may change anywhere; only what changes anywhere changes what it holds.
        """
        whole = {}                  # name -> may it change anywhere in it
        stack = [(name, True) for name in anywhere] + [(name, False) for name in set_into]
        while stack:
            name, anywhere_in_it = stack.pop()
            if name in whole and (whole[name] or not anywhere_in_it):
                continue
            whole[name] = anywhere_in_it
            stack.extend((other, True) for other in self.edges.get(name, ()))
            stack.extend((other, False) for other in self.held_by.get(name, ()))
            if anywhere_in_it:
                stack.extend((other, True) for other in self.holds.get(name, ()))
        return set(whole)

    def bound(self, name, origin):
        """Local `name` is bound to an expression of `origin`: a literal's
        ``(module, type)``, `MADE`, ``('.', name, *attributes)``, or None (anything)."""
        if name in self.local and name not in self.params:
            earlier = self.origins.get(name, origin)
            self.origins[name] = origin if earlier == origin else None

    def attribute_alias(self, name):
        """``(root, *attributes)`` if every binding of local `name` is that attribute
        of a parameter or global `root` (``R = mdp.R``), else None."""
        origin = self.origins.get(name)
        if origin is None or origin[0] != '.' or \
                origin[1] in self.local and origin[1] not in self.params:
            return None
        return origin[1:]

    def private_literal(self, name):
        """The type of local `name` if every binding of it gives that type and its
        object is no one else's (no parameter, global, closure variable or made
        object shares or holds it), else None."""
        literal = self.origins.get(name)
        if literal is None or literal[0] in ('.', MADE):
            return None
        seen, stack = set(), [name]
        while stack:
            other = stack.pop()
            if other not in seen:
                seen.add(other)
                stack.extend(self.edges.get(other, ()))
                stack.extend(self.held_by.get(other, ()))
        if any(not other.startswith('<literal ') for other in self.exposed(seen)):
            return None
        return literal

    def exposed(self, names):
        """`names` reduced to what a caller sees: parameters, globals, CLOSURE and
        `made_by` markers."""
        if self.kind == 'cell':
            return frozenset(names)
        return frozenset(n for n in names
                         if n in self.params or n == CLOSURE or n not in self.local)

    def visible(self, names):
        """Closed flows reduced to what a caller sees."""
        return self.exposed(self.closure(names))


class _Hidden(dict):
    """Names of a class body or comprehension: name -> the names its value may share with.

    `declared`: the names a class body declares ``global`` (-> 'global') or
    ``nonlocal`` (-> 'closure'), which it binds outside itself.
    """

    def __init__(self, kind, declared=None):
        super().__init__()
        self.kind = kind
        self.declared = declared or {}


class _Visitor(ast.NodeVisitor):
    def __init__(self):
        self.cell = _Scope('cell')
        self.scopes = [self.cell]             # function scopes, innermost last
        self.hidden = []                      # class bodies and comprehensions we are in
        self.qualname = []                    # how Python names what is defined now
        self.methods = []                     # per class body being visited: name -> key
        self.accessors = []                   # ... property name -> keys of its functions
        self.functions = {}
        self.definitions = {}
        self.every_definition = {}
        self.modules, self.imported = {}, {}
        self.submodules = _Ordered()
        self.literal_types = {}
        self.constructed = {}
        self.last_flow = set()
        self.barrier = None
        # Per call whose arguments are being visited: what its lambdas are given.
        self.given = []
        # Names surely bound by earlier statements of the cell: one set per
        # nesting of if/for/while/try/with/match; a block's bindings end with it.
        self._bound = [set()]

    @property
    def scope(self):
        return self.scopes[-1]

    def effects(self, shows_result, future_flags=0):
        cell = self.cell
        mutates = tuple(cell.mutated)
        changed = (*cell.binds, *mutates)
        sharing = {name: frozenset(n for n in cell.closure({name}, through_markers=False)
                                   if n != name and not is_marker(n))
                   for name in dict.fromkeys(changed)}
        aliases = tuple((name, sources) for name, sources in sharing.items() if sources)
        return CellEffects(
            reads=tuple(cell.reads), binds=tuple(cell.binds), deletes=tuple(cell.deletes),
            mutates=mutates, set_into=tuple(cell.set_into), calls=tuple(cell.calls),
            aliases=aliases,
            functions=dict(self.functions), definitions=dict(self.definitions),
            every_definition={name: tuple(keys) for name, keys in self.every_definition.items()},
            modules=dict(self.modules), imported=dict(self.imported),
            imports=tuple(cell.imports), submodules=tuple(self.submodules),
            literal_types=dict(self.literal_types),
            constructed=dict(self.constructed), shows_result=shows_result,
            result_flow=frozenset(self.last_flow) if shows_result else frozenset(),
            barrier=self.barrier, future_flags=future_flags)

    def _dynamic(self, why):
        """Effects no analysis can know: the cell's own code makes it a barrier;
        a function's makes calling that function one."""
        if self.scope.kind == 'function':
            self.scope.dynamic = self.scope.dynamic or why
        elif self.barrier is None:
            self.barrier = why

    # -- names --

    def _hidden_sources(self, name):
        """What `name` may share with, if a comprehension or our own class body binds it."""
        for depth, hidden in enumerate(reversed(self.hidden)):
            if hidden.kind == 'class' and depth:
                continue   # a class body's names are invisible inside comprehensions in it
            if name in hidden:
                return hidden[name]
        return None

    def _kind(self, name):
        """'hidden', 'local' (to the current function), 'closure' or 'global'."""
        if self._hidden_sources(name) is not None:
            return 'hidden'
        scope = self.scope
        if scope.kind == 'cell' or name in scope.declared_global:
            return 'global'
        if name in scope.local and name not in scope.declared_nonlocal:
            return 'local'
        for outer in reversed(self.scopes[1:-1]):
            if name in outer.local and name not in outer.declared_global:
                return 'closure'
        return 'global'

    def _names_of(self, name):
        """The raw names the object bound to `name` (as seen here) may come from."""
        kind = self._kind(name)
        if kind == 'hidden':
            return set(self._hidden_sources(name))
        if kind == 'closure':
            self.scope.free.add(name)
            return {CLOSURE}
        return {name}

    def _load(self, name):
        if self._kind(name) != 'global':
            return
        if self.scope.kind == 'function' or not any(name in b for b in self._bound):
            self.scope.reads.add(name)

    def _declared_by_class(self, name):
        """'global' or 'closure' if the class body being visited declares `name` so."""
        return self.hidden[-1].declared.get(name) if self.hidden else None

    def _store(self, name, sources=(), origin=None):
        declared = self._declared_by_class(name)
        if self.hidden and declared is None:
            self.hidden[-1][name] = set(sources)
            return
        scope, kind = self.scope, declared or self._kind(name)
        if kind == 'closure':
            scope.keeps_state = True
            scope.free.add(name)
            scope.rebound_free.add(name)
            return
        scope.link(name, sources)
        if scope.kind == 'function':
            scope.bound(name, origin)
        if kind == 'global':
            # A cell (or call) that fails stops anywhere: a del before this
            # binding may be its last word on the name, so both are kept.
            scope.binds.add(name)
            if scope.kind == 'cell':
                self._bound[-1].add(name)
                self._forget(name)

    def _define(self, name, key):
        """Top-level `name` is now bound by the def, class or lambda of summary `key`."""
        self.definitions[name] = key
        self.every_definition.setdefault(name, []).append(key)
        self.literal_types.pop(name, None)

    def _forget(self, name):
        """`name` at the top level no longer holds the function, class or module an
        earlier statement bound (a def, class, lambda or import adds it back after;
        `_assign` keeps `literal_types`)."""
        for known in (self.definitions, self.modules, self.imported):
            known.pop(name, None)

    def _delete(self, name):
        declared = self._declared_by_class(name)
        if (declared or self._kind(name)) != 'global' or self.hidden and declared is None:
            return
        scope = self.scope
        scope.deletes.add(name)       # a binding before it stays in binds (see _store)
        if scope.kind == 'cell':
            self._forget(name)
            self.literal_types.pop(name, None)
            for bound in self._bound:
                bound.discard(name)

    def _mutate(self, names, set_into=False):
        """The objects of `names` change (`set_into`: only an attribute or item of
        theirs is set or deleted).  In a function, what that changes of the
        parameters and globals is closed in its summary (`_Scope.changed`); at the
        cell's level, what a name shares is resolved with what it holds."""
        scope = self.scope
        changed = scope.set_into if set_into and scope.kind == 'function' else scope.mutated
        for name in names:
            changed.add(name)
            if set_into and scope.kind == 'cell':
                scope.set_into.add(name)

    # -- expressions: visiting them returns what their value may share objects with --

    def visit(self, node):
        if isinstance(node, ast.expr):
            return self.flow(node)
        return super().visit(node)

    def flow(self, node):
        """Visit expression `node`; the raw names its value may share objects with."""
        method = getattr(self, f'_flow_{type(node).__name__}', None)
        if method is not None:
            return method(node)
        for child in ast.iter_child_nodes(node):
            self.visit(child)
        return set()

    def _flow_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            if node.id == 'get_ipython' and self._kind(node.id) == 'global':
                # The shell itself, even uncalled (``ip = get_ipython``): only the host has it.
                self._dynamic('it uses get_ipython')
            elif node.id == '_dh' and self._kind(node.id) == 'global':
                # IPython's directory history, which %cd (a magic, in the host) grows.
                self._dynamic('it reads _dh, the directories %cd went to')
            self._load(node.id)
            return self._names_of(node.id)
        if isinstance(node.ctx, ast.Store):
            self._store(node.id)
        else:
            self._load(node.id)
            self._delete(node.id)
        return set()

    def _flow_Attribute(self, node):
        names = self.flow(node.value)
        self._attribute(node, names)
        if isinstance(node.value, ast.Name) and node.value.id == 'sys' and \
                ('sys', node.attr) in _LAST_ERROR:
            # The kernel keeps the last error (of a cell in any worker) in the host's sys.
            self._dynamic(f'it reads sys.{node.attr}, the last error shown')
        if isinstance(node.ctx, ast.Load):
            return names
        self._mutate(names, set_into=isinstance(node.value, ast.Name))
        return set()

    def _attribute(self, node, names):
        """``name.attr`` (or ``name.part.attr``, of something `names` hold) read, set or
        deleted: what its class hooks there runs."""
        if not names:
            return
        mode = 'get' if isinstance(node.ctx, ast.Load) else \
            'delete' if isinstance(node.ctx, ast.Del) else 'set'
        callee = (ATTRIBUTE, node.attr, mode) if isinstance(node.value, ast.Name) else \
            (ATTRIBUTE, node.attr, mode, HELD)
        # Once per object, attribute and mode: a method reads ``self.x`` often.
        access = (frozenset(names), callee)
        if access not in self.scope.attributes:
            self.scope.attributes.add(access)
            self._call(callee, (), (access[0],), (), False, node)

    def _flow_Subscript(self, node):
        names = self.flow(node.value)
        # ``d[key]``: a dict hashes its key (a list's index is an int: nothing runs).
        self._hash(self.flow(node.slice), node)
        if isinstance(node.slice, ast.Constant) and node.slice.value == '__main__':
            self._dynamic("it reads sys.modules['__main__']")   # the notebook's namespace
        if isinstance(node.ctx, ast.Load):
            if isinstance(node.value, ast.Name):   # the name's own object is indexed
                self._call((GETITEM,), (), (frozenset(names),), (), False, node)
            return names
        # ``del t[k]`` (a loop's ``for t[k] in ...``) runs a notebook class's method.
        method = '__delitem__' if isinstance(node.ctx, ast.Del) else '__setitem__'
        self._call((OPERATOR, method), (), (frozenset(names),), (), False, node)
        self._mutate(names, set_into=isinstance(node.value, ast.Name))
        return set()

    def _flow_Starred(self, node):
        names = self.flow(node.value)
        self._iterate(names, node)
        return names

    def _flow_List(self, node):
        names = set()
        for element in node.elts:
            names |= self.flow(element)
        return names

    _flow_Tuple = _flow_List

    def _flow_Set(self, node):
        names = self._flow_List(node)
        self._hash(names, node)
        return names

    def _flow_Dict(self, node):
        names = set()
        for key, value in zip(node.keys, node.values):
            if key is not None:
                keys = self.flow(key)
                self._hash(keys, node)
                names |= keys
            names |= self.flow(value)
        return names

    def _hash(self, keys, node):
        """Keys of a dict or items of a set (`keys`) are hashed, and compared with the
        keys there, most often of their own classes: their ``__hash__`` and ``__eq__`` run."""
        if keys:
            self._call((OPERATOR, '__hash__'), (), (frozenset(keys),), (), False, node)
            self._call((OPERATOR, '__eq__', '__eq__'), (), (frozenset(keys), frozenset(keys)),
                       (), False, node)

    def _flow_BinOp(self, node):
        left, right = self.flow(node.left), self.flow(node.right)
        name = _OPERATORS.get(type(node.op))
        if name and (left or right):
            self._call((OPERATOR, f'__{name}__', f'__r{name}__'), (),
                       (frozenset(left), frozenset(right)), (), False, node)
        return left | right

    def _flow_UnaryOp(self, node):
        operand = self.flow(node.operand)
        name = _UNARY.get(type(node.op))
        if name and operand:
            self._call((OPERATOR, f'__{name}__'), (), (frozenset(operand),), (), False, node)
        elif isinstance(node.op, ast.Not):
            self._truth_of(operand, node)
        return set()

    def _truth(self, node):
        """Flow of `node`, whose value is tested for truth (``if x:``, ``x or y``)."""
        names = self.flow(node)
        self._truth_of(names, node)
        return names

    def _truth_of(self, names, node):
        """Testing what `names` hold for truth runs a notebook object's ``__bool__``,
        or else its ``__len__``."""
        if names:
            self._call((OPERATOR, '__bool__', '__len__'), (), (frozenset(names),), (), False, node)

    def _flow_FormattedValue(self, node):
        value = self.flow(node.value)
        if node.format_spec is not None:
            self.visit(node.format_spec)
        if value:
            self._call((OPERATOR, '__format__', '__str__', '__repr__'), (), (frozenset(value),),
                       (), False, node)
        return set()

    def _flow_BoolOp(self, node):
        # Each value but the last is tested for truth; the result, where it is used.
        names = self._truth(node.values[0])
        for value in node.values[1:]:     # may not be evaluated: binds only maybe
            flow = self._maybe(value)
            if value is not node.values[-1]:
                self._truth_of(flow, value)
            names |= flow
        return names

    def _flow_IfExp(self, node):
        self._truth(node.test)
        return self._maybe(node.body) | self._maybe(node.orelse)

    def _maybe(self, node):
        """Flow of an expression that may not be evaluated: a walrus in it binds
        only maybe (``(x := 1) if c else x`` reads x)."""
        self._bound.append(set())
        try:
            return self.flow(node)
        finally:
            self._bound.pop()

    def _flow_Await(self, node):
        return self.flow(node.value)

    def _flow_Compare(self, node):
        left = self.flow(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            names = self.flow(comparator)
            if isinstance(op, (ast.In, ast.NotIn)):
                self._iterate(names, node)
                self._hash(left, node)     # ``key in d``, ``item in s``
                if names:
                    self._call((OPERATOR, '__contains__'), (), (frozenset(names),), (), False,
                               node)
                if left or names:    # a container's items are compared with it: ==
                    self._call((OPERATOR, '__eq__', '__eq__'), (),
                               (frozenset(left), frozenset(names)), (), False, node)
            elif type(op) in _COMPARISONS and (left or names):
                mine, theirs = _COMPARISONS[type(op)]
                self._call((OPERATOR, mine, theirs), (), (frozenset(left), frozenset(names)),
                           (), False, node)
            elif isinstance(op, (ast.Is, ast.IsNot)) and left and names:
                # (``x is None`` compares with what every copy shares.)
                self._call((IDENTITY,), (), (frozenset(left), frozenset(names)), (), False, node)
            left = names
        return set()

    def _flow_NamedExpr(self, node):
        names = self.flow(node.value)
        # The target binds in the nearest scope that is not a comprehension.
        saved = self.hidden
        while self.hidden and self.hidden[-1].kind == 'comprehension':
            self.hidden = self.hidden[:-1]
        try:
            self._store(node.target.id, names)
        finally:
            self.hidden = saved
        return names

    def _flow_Lambda(self, node):
        self._function(node, '<lambda>', node.body, node.args, ())
        return set()

    def _flow_ListComp(self, node):
        return self._comprehension(node, [node.elt])

    def _flow_GeneratorExp(self, node):
        names = self._comprehension(node, [node.elt])
        self._generator_body(node)
        return names

    def _generator_body(self, node):
        """Summarise what advancing generator expression `node` runs, as the code
        Python compiles it to: a function of the iterator its first loop draws
        from (``.0``), so a later cell that advances it reads what it reads."""
        first = node.generators[0]
        source = ast.copy_location(ast.Name('.0', ast.Load()), first.iter)
        body = ast.copy_location(ast.ListComp(node.elt, [
            ast.comprehension(first.target, source, first.ifs, first.is_async),
            *node.generators[1:]]), node)
        arguments = ast.arguments([], [ast.arg('.0')], None, [], [], None, [])
        self._function(ast.copy_location(ast.Lambda(arguments, body), node), '<genexpr>',
                       body, arguments, (), inline=False)

    def _flow_SetComp(self, node):
        return self._comprehension(node, [node.elt], hashed=node.elt)

    def _flow_DictComp(self, node):
        return self._comprehension(node, [node.key, node.value], hashed=node.key)

    def _comprehension(self, node, elements, hashed=None):
        """`hashed`: the one of `elements` a set or dict comprehension hashes."""
        # The first iterable is evaluated in the enclosing scope.
        sources = self.flow(node.generators[0].iter)
        self._iterate(sources, node)
        self.hidden.append(_Hidden('comprehension'))
        self._bound.append(set())      # the loop may not run: a walrus in it binds maybe
        names = set()
        try:
            for index, generator in enumerate(node.generators):
                if index:
                    sources = self.flow(generator.iter)
                    self._iterate(sources, node)
                for target in ast.walk(generator.target):
                    if isinstance(target, ast.Name):
                        self.hidden[-1][target.id] = set(sources)
                for condition in generator.ifs:
                    self._truth(condition)
            for element in elements:
                flows = self.flow(element)
                if element is hashed:
                    self._hash(flows, node)
                names |= flows
        finally:
            self._bound.pop()
            self.hidden.pop()
        return names

    def visit_Raise(self, node):
        # An exception let out of the cell is shown: its class's __str__ runs
        # (so does a cause's, shown above it).
        for part in (node.exc, node.cause):
            names = self.flow(part) if part is not None else set()
            if names:
                self._call((OPERATOR, '__str__', '__repr__'), (), (frozenset(names),), (), False,
                           node)

    def visit_Assert(self, node):
        self._truth(node.test)
        if node.msg is not None:
            self._maybe(node.msg)          # evaluated only if the test fails

    def _flow_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and self._kind(func.id) == 'global' and (
                (func.id in _DYNAMIC_CALLS and not (func.id == 'vars' and node.args))
                or (func.id == 'dir' and not node.args)):    # dir(): every name defined
            self._dynamic(f'it calls {func.id}()')
        callee, root = self._callee(func)
        if callee in _LAST_ERROR:
            self._dynamic(f'it calls {".".join(callee)}, which shows the last error')
        if callee[-1] == 'setDaemon' or any(
                keyword.arg == 'daemon' and not _is_false(keyword.value) for keyword in node.keywords):
            self._dynamic(DAEMON_THREAD)
        values = [*node.args, *(keyword.value for keyword in node.keywords)]
        # A lambda given to a call is called with (what) the other arguments (hold):
        # they are visited first, so that its parameters can stand for them.
        flows = {id(value): frozenset(self.flow(value))
                 for value in values if not isinstance(value, ast.Lambda)}
        self.given.append(frozenset().union(*flows.values()))
        try:
            flows.update((id(value), frozenset(self.flow(value)))
                         for value in values if isinstance(value, ast.Lambda))
        finally:
            self.given.pop()
        args = [flows[id(arg)] for arg in node.args]
        keywords = [(keyword.arg, flows[id(keyword.value)]) for keyword in node.keywords]
        starred = any(isinstance(arg, ast.Starred) for arg in node.args) or \
            any(keyword.arg is None for keyword in node.keywords)
        callbacks = []
        for value in values:
            path = _path(value)
            if len(path) > 1:
                called, called_root = path, frozenset(self._names_of(path[0]))
            elif isinstance(value, ast.Call) and _path(value.func):
                # What a call returned, which may be called in turn: ``map(operator.
                # methodcaller('add', 1), items)`` calls what ``methodcaller`` made.
                called, called_root = (*_path(value.func), APPLY), flows[id(value)]
            else:
                continue
            others = frozenset().union(*(flow for key, flow in flows.items()
                                         if key != id(value)))
            callbacks.append(Call(called, called_root, (others,), (), True,
                                  getattr(node, 'lineno', 0)))
        self._call(callee, root, args, keywords, starred, node, tuple(callbacks))
        if len(callee) == 1 and (callee[0] in _FRESH_RESULTS or (
                # ``found = set()``: an empty container of its own, as ``found = {}``
                not values and callee[0] in _CONSTRUCTORS and self._kind(callee[0]) == 'global')):
            return set()
        # The result may be (part of) the receiver of a method, or an argument;
        # the result of calling a global (or a global's attribute) is remembered
        # as made by it (so that `t = Test(); t.check()` in a function, or
        # `play(Game())` in a cell, finds Test's or Game's methods, and
        # `hashlib.new(name).hexdigest()` a hash's).
        names = set(root) if len(callee) != 1 else set()
        if root == {callee[0]} and not is_marker(callee[0]) and (
                len(callee) == 1 or self._kind(callee[0]) == 'global'):
            maker = '.'.join(callee)
            names.add(made_by(maker) if self.scope.kind == 'function' else made_in_cell(maker))
        for flow in (*args, *(flow for _, flow in keywords)):
            names |= flow
        return names

    def _callee(self, func):
        """Visit a callee expression: (its dotted path, the names its root may come from)."""
        path = _path(func)
        if path:
            self._load(path[0])
            return path, self._names_of(path[0])
        if isinstance(func, ast.Call):
            before = len(self.scope.calls)
            flow = self.flow(func)
            inner = self.scope.calls[before:]     # the inner call itself comes last
            inner_path = inner[-1].callee if inner else (EXPR,)
            return (*inner_path, APPLY), flow
        if isinstance(func, ast.Attribute) and _bare_super(func.value) and \
                self.scope.kind == 'function' and self.scope.params:
            # ``super().m(...)`` calls a base class's m on the method's own object:
            # some notebook class's m (not the one that calls it), on `self`.
            receiver = self.scope.params[0]
            self._load(receiver)
            return (HELD, func.attr), self._names_of(receiver)
        if isinstance(func, ast.Attribute):
            literal = _literal_type(func.value)
            flow = self.flow(func.value)
            holder = EXPR if isinstance(func.value, ast.Call) else HELD
            # "".join(...), [1, 2].count(1), f'{x}'.upper(): a container made of
            # names holds their objects (its methods may call theirs), a string not.
            if literal is not None and (not flow or literal[1] in _TEXT_TYPES):
                return (literal_name(literal[1]), func.attr), {literal_name(literal[1])}
            return (holder, func.attr), flow
        return (HELD if isinstance(func, ast.Subscript) else EXPR,), self.flow(func)

    def _call(self, callee, root, args, keywords, starred, node, callbacks=()):
        self.scope.calls.append(Call(tuple(callee), frozenset(root), tuple(args),
                                     tuple(keywords), starred, getattr(node, 'lineno', 0),
                                     callbacks))

    def _iterate(self, names, node):
        if names:
            self._call((ITERATE,), (), (frozenset(names),), (), False, node)

    # -- statements --

    def _assign(self, target, sources, value=None):
        """Bind `target` to a value that may share objects with `sources`."""
        if isinstance(target, ast.Name):
            literal = _literal_type(value) if value is not None else None
            self._store(target.id, sources, literal or self._origin(value))
            if self.scope.kind == 'cell' and not self.hidden:
                if literal is None:
                    self.literal_types.pop(target.id, None)
                else:
                    self.literal_types[target.id] = literal
                path = _path(value.func) if isinstance(value, ast.Call) else ()
                if path and literal is None:
                    self.constructed[target.id] = path
                else:
                    self.constructed.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if sources and not isinstance(value, (ast.Tuple, ast.List)):
                self._iterate(sources, target)
            # ``R, T = mdp.R, mdp.T``: each name gets its own expression.
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) and \
                len(value.elts) == len(target.elts) and not any(
                    isinstance(e, ast.Starred) for e in (*value.elts, *target.elts)) else None
            for index, element in enumerate(target.elts):
                self._assign(element, sources, values[index] if values else None)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, sources)
        else:
            self._store_into(target, sources, value)

    def _origin(self, value):
        """`value`'s origin for `_Scope.bound`, if it is no literal."""
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
                self._kind(value.func.id) == 'global':
            return (MADE,)
        path = _path(value) if isinstance(value, ast.Attribute) else ()
        return ('.', *path) if path else None

    def _target_roots(self, target):
        """Visit the object and index of an attribute or item target: its roots."""
        roots = self.flow(target.value)
        if isinstance(target, ast.Subscript):
            self._hash(self.flow(target.slice), target)
        return roots

    def _store_into(self, target, sources, value=None, roots=None):
        """An attribute or item of some object now holds a value sharing `sources`
        (`roots`: the target's, if visited already)."""
        if isinstance(target, ast.Attribute) and target.attr == 'daemon' \
                and not (value is not None and _is_false(value)):
            self._dynamic(DAEMON_THREAD)
        if roots is None:
            roots = self._target_roots(target)
        if isinstance(target, ast.Subscript):   # a notebook class's __setitem__ runs
            self._call((OPERATOR, '__setitem__'), (), (frozenset(roots),), (), False, target)
        else:
            self._attribute(target, roots)
        # ``s.v = v`` sets an attribute of `s` itself; ``s.items[0] = v``, of
        # whatever `s.items` holds, which may be anything `s` holds.
        self._mutate(roots, set_into=isinstance(target.value, ast.Name))
        for root in roots:
            self.scope.hold(root, sources)

    def visit_Assign(self, node):
        value = node.value
        if isinstance(value, ast.Lambda) and self.scope.kind == 'cell' and not self.hidden \
                and all(isinstance(target, ast.Name) for target in node.targets):
            # A lambda given a name is a def: calling the name does what its body does.
            key = self._function(value, '<lambda>', value.body, value.args, (), inline=False)
            for target in node.targets:
                self._assign(target, set(), value)
                self._define(target.id, key)
            return
        sources = self.flow(value)     # the value is evaluated before the targets bind
        for target in node.targets:
            self._assign(target, sources, value)
            # ``x = y = []``: the targets, bound left to right, hold one object.
            root = _target_root(target)
            if root is not None:
                sources = sources | {root}

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self._assign(node.target, self.flow(node.value), node.value)
        elif not isinstance(node.target, ast.Name):
            self.flow(node.target.value)
        # A simple name's annotation is evaluated at module and class level, not in functions.
        if self.scope.kind == 'cell' or (self.hidden and self.hidden[-1].kind == 'class'):
            self.visit(node.annotation)
        if self.scope.kind == 'cell' and not self.hidden and node.simple:
            # Python records it in the namespace's __annotations__, made if missing.
            names = self._names_of('__annotations__')
            self._load('__annotations__')
            self._mutate(names)
            self._store('__annotations__', names)

    def visit_AugAssign(self, node):
        # Python reads the target before it evaluates the value (``x += (x := 1)``).
        target = node.target
        if isinstance(target, ast.Name):
            self._load(target.id)
            names = self._names_of(target.id)
            sources = self.flow(node.value)
            self._mutate(names)           # `x += y` changes a list in place
            name = _OPERATORS.get(type(node.op))
            if name:    # ``a += b`` runs ``a.__iadd__(b)``, or else ``a.__add__(b)``
                for method in (f'__i{name}__', f'__{name}__'):
                    self._call((OPERATOR, method, f'__r{name}__'), (),
                               (frozenset(names), frozenset(sources)), (), False, node)
            self._store(target.id, sources | names)
        else:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                # ``d[k] += 1`` reads d[k] first (a defaultdict's factory may run).
                self._call((GETITEM,), (), (frozenset(self._names_of(target.value.id)),), (),
                           False, node)
            roots = self._target_roots(target)
            self._store_into(target, self.flow(node.value), roots=roots)

    def visit_For(self, node):
        sources = self.flow(node.iter)
        self._iterate(sources, node)
        self._bound.append(set())
        self._assign(node.target, sources)
        for statement in node.body:
            self.visit(statement)
        self._bound.pop()
        self._block(node.orelse)     # after the last iteration, if any

    visit_AsyncFor = visit_For

    def visit_With(self, node):
        self._bound.append(set())
        for item in node.items:
            sources = self.flow(item.context_expr)
            for method in ('__enter__', '__exit__'):
                self._call((IMPLICIT, method), (), (frozenset(sources),), (), False, node)
            if item.optional_vars is not None:
                self._assign(item.optional_vars, sources)
        for statement in node.body:
            self.visit(statement)
        self._bound.pop()

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node):
        if node.type is not None:
            self.visit(node.type)
        if node.name is not None:
            self._store(node.name)
        for statement in node.body:
            self.visit(statement)
        if node.name is not None:   # Python deletes the name when the handler ends
            self._delete(node.name)

    def visit_Delete(self, node):
        for target in node.targets:
            self.flow(target)

    def visit_Expr(self, node):
        self.last_flow = self.flow(node.value)

    def visit_Return(self, node):
        if node.value is not None:
            self.scope.returns |= self.flow(node.value)

    def _flow_Yield(self, node):
        self.scope.generator = True
        if node.value is not None:
            self.scope.returns |= self.flow(node.value)
        return set()

    def _flow_YieldFrom(self, node):
        self.scope.generator = True
        names = self.flow(node.value)
        self._iterate(names, node)
        self.scope.returns |= names
        return set()

    def visit_Global(self, node):
        pass    # collected before the function's body is visited

    visit_Nonlocal = visit_Global

    def _capture(self, node):
        for name in (getattr(node, 'name', None), getattr(node, 'rest', None)):
            if name is not None:
                self._store(name, self._subject)
        self.generic_visit(node)

    visit_MatchAs = visit_MatchStar = visit_MatchMapping = _capture

    def visit_Match(self, node):
        self._subject = self.flow(node.subject)
        for case in node.cases:
            self._bound.append(set())      # a case binds only for itself
            self.visit(case.pattern)
            if case.guard is not None:
                self.visit(case.guard)
            for statement in case.body:
                self.visit(statement)
            self._bound.pop()

    _subject = frozenset()

    def _block(self, statements):
        """Statements that may or may not run: what they bind is surely bound only
        in them (each branch of an if, a loop's body and its else)."""
        self._bound.append(set())
        for statement in statements:
            self.visit(statement)
        self._bound.pop()

    def visit_If(self, node):
        self._truth(node.test)
        self._block(node.body)
        self._block(node.orelse)

    visit_While = visit_If

    def visit_Try(self, node):
        # A handler or finally clause may run after any part of the body: what
        # the body binds is not surely bound there (it is in the else clause).
        self._block((*node.body, *node.orelse))
        for handler in node.handlers:
            self._block((handler,))
        self._block(node.finalbody)

    visit_TryStar = visit_Try

    # -- imports --

    def visit_Import(self, node):
        for alias in node.names:
            if alias.name == '__main__':
                self._dynamic('it imports __main__')   # the notebook's namespace
            package = alias.name.partition('.')[0]
            self.scope.imports.add(package)
            self.cell.imports.add(package)
            if package != alias.name:
                self.submodules.add(alias.name)
            name = alias.asname or package
            self._store(name)
            if self.scope.kind == 'cell' and not self.hidden:
                self.modules[name] = alias.name if alias.asname else package
                self.imported.pop(name, None)
                self.literal_types.pop(name, None)

    def visit_ImportFrom(self, node):
        module = node.module if node.level == 0 else None
        if module == '__main__':
            self._dynamic('it imports from __main__')
        if module:
            self.scope.imports.add(module.partition('.')[0])
            self.cell.imports.add(module.partition('.')[0])
            if '.' in module:
                self.submodules.add(module)
        for alias in node.names:
            if alias.name == '*':
                self._dynamic(f'it star-imports from {node.module}')
                continue
            if module:
                self.submodules.add(f'{module}.{alias.name}')   # ``from aima import nlp``
            name = alias.asname or alias.name
            self._store(name)
            if self.scope.kind == 'cell' and not self.hidden:
                self.modules.pop(name, None)
                self.literal_types.pop(name, None)
                if module:
                    self.imported[name] = (module, alias.name)
                else:
                    self.imported.pop(name, None)

    # -- definitions --

    def _function(self, node, name, body, args, decorators, inline=True):
        """Summarise a def or lambda; visit what defining it evaluates.  Returns its key.

        An anonymous lambda, or a function made in a function, may be called
        where it is made: what it does is added there too (`inline`).
        """
        defaulted = [*zip([a.arg for a in (*args.posonlyargs, *args.args)][-len(args.defaults):]
                          if args.defaults else [], args.defaults),
                     *((a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults)
                       if d is not None)]
        default_flows, default_sources = [], {}
        for param, default in defaulted:
            flow = self.flow(default)
            default_sources[param] = set(flow)
            if self.scope.kind == 'cell':     # names the caller can see
                default_flows.append((param, frozenset(flow)))
        for decorator in decorators:
            self.visit(decorator)
        if not isinstance(node, ast.Lambda):
            # Annotations are evaluated when the def runs.
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None and arg.annotation is not None:
                    self.visit(arg.annotation)
            if node.returns is not None:
                self.visit(node.returns)
        positional = tuple(a.arg for a in (*args.posonlyargs, *args.args))
        kwonly = tuple(a.arg for a in args.kwonlyargs)
        extra = tuple(a.arg for a in (args.vararg, args.kwarg) if a is not None)
        with_defaults = set(positional[len(positional) - len(args.defaults):])
        with_defaults |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
        declared_global, declared_nonlocal, local = _declarations(body, positional + kwonly + extra)
        key = ('.'.join((*self.qualname, name)), _first_line(node))
        if self.scope.kind == 'function':
            self.scope.nested.append(key)
        scope = _Scope('function', local, positional + kwonly + extra, declared_global,
                       declared_nonlocal)
        given = self.given[-1] if isinstance(node, ast.Lambda) and self.given else frozenset()
        saved = self.hidden, self._bound, self.qualname, self.given
        self.hidden, self._bound, self.given = [], [set()], []
        self.qualname = [*self.qualname, name, '<locals>']
        self.scopes.append(scope)
        try:
            if isinstance(body, list):
                for statement in body:
                    self.visit(statement)
            else:
                scope.returns |= self.flow(body)
        finally:
            self.scopes.pop()
            self.hidden, self._bound, self.qualname, self.given = saved
        changed = scope.changed(scope.mutated, scope.set_into)
        mutates = scope.exposed(changed)
        stores = tuple((scope.exposed(scope.changed((), {root})), scope.visible(sources))
                       for root, sources in scope.holds.items())
        summary = FunctionSummary(
            key=key, params=positional, kwonly=kwonly,
            vararg=args.vararg.arg if args.vararg else None,
            kwarg=args.kwarg.arg if args.kwarg else None,
            defaults=frozenset(with_defaults), default_flows=tuple(default_flows),
            reads=frozenset(scope.reads),
            binds=frozenset(scope.binds), deletes=frozenset(scope.deletes), mutates=mutates,
            stores=tuple((roots, sources) for roots, sources in stores if roots and sources),
            calls=tuple(_visible_call(scope, call) for call in scope.calls),
            returns=scope.visible(scope.returns),
            keeps_state=scope.keeps_state or CLOSURE in changed or bool(mutates & with_defaults),
            nested=tuple(scope.nested), imports=tuple(scope.imports), generator=scope.generator,
            dynamic=scope.dynamic)
        self.functions[key] = summary
        if inline and (isinstance(node, ast.Lambda) or self.scope.kind == 'function'):
            self._inline(summary, scope, default_sources, given)
        return key

    def _inline(self, summary, inner, default_sources, given):
        """What calling a function made here may do, the code making it may do.

        A function defined in a function may be called by its maker; a lambda
        may be called by whatever it is given to (``sorted(xs, key=lambda
        x: x[col])``, ``map``, a call right away), here.  Its parameters stand
        for their default values, or for what it is `given`: the other
        arguments of the call it is given to, or what they hold (calling a
        parameter's method calls something they hold); its closure variables
        for the maker's variables it uses (`inner`'s).
        """
        params = {*summary.params, *summary.kwonly, summary.vararg, summary.kwarg}
        free = set()
        for name in inner.free:
            free |= self._names_of(name)
        if any(self._kind(name) == 'closure' for name in inner.rebound_free):
            self.scope.keeps_state = True

        def mapped(flow):
            names = set()
            for name in flow:
                if name in default_sources:
                    names |= default_sources[name]
                elif name in params:
                    names |= given
                elif name == CLOSURE:
                    names |= free
                elif is_marker(name):
                    names.add(name)
                else:
                    names |= self._names_of(name)
            return frozenset(names)

        scope = self.scope
        for name in summary.reads:
            self._load(name)
        if scope.kind == 'function':      # a lambda binds no global
            scope.binds.update(dict.fromkeys(summary.binds))
            scope.deletes.update(dict.fromkeys(summary.deletes))
        self._mutate(mapped(summary.mutates))
        for roots, sources in summary.stores:
            for root in mapped(roots):
                scope.hold(root, mapped(sources))
        def inlined(call):
            callee, root = call.callee, mapped(call.root)
            if callee[0] in params and callee[0] not in default_sources:
                callee = (HELD, *callee[1:])
            elif call.root == {CLOSURE} and callee[0] in inner.free and \
                    callee[0] not in inner.rebound_free:
                # ``found.add(p)`` in it calls the maker's `found`, not every
                # variable of the maker it uses (CLOSURE stands for them all).
                root = frozenset(self._names_of(callee[0]))
            return call._replace(
                callee=callee, root=root,
                args=tuple(mapped(flow) for flow in call.args),
                keywords=tuple((keyword, mapped(flow)) for keyword, flow in call.keywords),
                callbacks=tuple(inlined(callback) for callback in call.callbacks))

        for call in summary.calls:
            scope.calls.append(inlined(call))
        for module in summary.imports:
            scope.imports.add(module)
        if summary.dynamic:
            self._dynamic(summary.dynamic)

    def _decorate(self, decorators, node, name):
        """Each decorator is a call that receives what is being defined; returns
        the names the decorators are reached through, whose objects what the
        decorators return may hold (``@stats.decorator``: a closure over its data)."""
        flow = frozenset() if self.hidden else frozenset(self._names_of(name))
        roots = set()
        for decorator in reversed(decorators):
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            path = _path(target) or (EXPR,)
            if isinstance(decorator, ast.Call):
                path = (*path, APPLY)
            root = self._names_of(path[0]) if path[0] != EXPR else set()
            self._call(path, root, (flow,), (), False, node)
            roots |= root
        return frozenset(roots)

    def visit_FunctionDef(self, node):
        key = self._function(node, node.name, node.body, node.args, node.decorator_list)
        decorator_roots = self._decorate(node.decorator_list, node, node.name)
        if self.hidden and self.hidden[-1].kind == 'class':
            self.methods[-1][node.name] = key
            if any(_is_accessor(decorator) for decorator in node.decorator_list):
                self.accessors[-1].setdefault(node.name, []).append(key)
        # The function holds its defaults' objects (``def find(b, prefixes=P)``).
        self._store(node.name, decorator_roots.union(
            *(flow for _, flow in self.functions[key].default_flows)))
        if self.scope.kind == 'cell' and not self.hidden:
            self._define(node.name, key)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        for expr in node.decorator_list:
            self.visit(expr)
        base_flows = [frozenset(self.flow(base)) for base in node.bases]
        keywords = {keyword.arg: frozenset(self.flow(keyword.value)) for keyword in node.keywords}
        key = ('.'.join((*self.qualname, node.name)), _first_line(node))
        saved = self.qualname
        self.qualname = [*self.qualname, node.name]
        declared_global, declared_nonlocal, _ = _declarations(node.body, ())
        self.hidden.append(_Hidden('class', {**dict.fromkeys(declared_nonlocal, 'closure'),
                                             **dict.fromkeys(declared_global, 'global')}))
        self.methods.append({})
        self.accessors.append({})
        try:
            for statement in node.body:
                self.visit(statement)
        finally:
            methods = self.methods.pop()
            accessors = {name: tuple(keys) for name, keys in self.accessors.pop().items()}
            accessors.update(_property_calls(node.body, methods))
            self.hidden.pop()
            self.qualname = saved
        bases = tuple('.'.join(_path(base)) for base in node.bases if _path(base))
        decorators = tuple(_path(d.func if isinstance(d, ast.Call) else d) or ('?',)
                           for d in node.decorator_list)
        metaclass = next(((_path(k.value) or ('?',)) for k in node.keywords
                          if k.arg == 'metaclass'), ())
        self.functions[key] = ClassSummary(key, methods, bases, decorators,
                                           _default_factories(node.body),
                                           _binds_a_container(node.body)
                                           or _changes_its_class(node.body), accessors,
                                           _binds_a_call(node.body), metaclass)
        # Python calls the bases' __init_subclass__ (a registry of subclasses) and
        # the metaclass's __prepare__ (before the body), __new__ and __init__ with
        # the new class: the one named, or the bases'.
        made = frozenset({node.name})
        for flow in base_flows:
            self._call((IMPLICIT, '__init_subclass__'), (), (flow, made), (), False, node)
        for statement in node.body:   # ``attr = Field()``: the object's __set_name__
            value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) \
                else None
            path = _path(value.func) if isinstance(value, ast.Call) else ()
            if path and self._kind(path[0]) == 'global':
                maker = '.'.join(path)
                made_object = made_by(maker) if self.scope.kind == 'function' \
                    else made_in_cell(maker)
                self._call((IMPLICIT, '__set_name__'), (), (frozenset({made_object}), made),
                           (), False, statement)
        for method in ('__prepare__', '__new__', '__init__'):
            if keywords.get('metaclass'):
                self._call((IMPLICIT, method), (), (keywords['metaclass'], made, *base_flows),
                           (), False, node)
            for flow in base_flows:
                self._call((METACLASS, method), (), (flow, made, *base_flows), (), False, node)
        self._store(node.name, self._decorate(node.decorator_list, node, node.name))
        if self.scope.kind == 'cell' and not self.hidden:
            self._define(node.name, key)


def _first_line(node):
    """The first line of a def or class as its code reports it (``co_firstlineno``,
    ``__firstlineno__``): that of its first decorator, if it has any."""
    decorators = getattr(node, 'decorator_list', None)
    return decorators[0].lineno if decorators else node.lineno


_CONTAINER_NODES = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
_CONTAINER_MAKERS = frozenset({'list', 'dict', 'set', 'bytearray', 'defaultdict', 'Counter',
                               'deque', 'OrderedDict'})


def _is_accessor(decorator):
    """Does `decorator` make a property (``@property``, ``@x.setter``,
    ``@functools.cached_property``)?"""
    path = _path(decorator)
    return bool(path) and path[-1] in ('property', 'cached_property', 'getter', 'setter',
                                       'deleter')


def _property_calls(body, methods):
    """name -> keys of the methods of class `body` that ``name = property(get, set)``
    makes a property of."""
    found = {}
    for statement in body:
        value = statement.value if isinstance(statement, ast.Assign) else None
        if isinstance(value, ast.Call) and _is_accessor(value.func):
            parts = [*value.args, *(keyword.value for keyword in value.keywords)]
            keys = tuple(methods[part.id] for part in parts
                         if isinstance(part, ast.Name) and part.id in methods)
            found.update({target.id: keys for target in statement.targets
                          if isinstance(target, ast.Name) and keys})
    return found


def _binds_a_call(body):
    """Does class `body` bind a name to what a call returns (``x = IntegerValue()``)?"""
    return any(isinstance(statement, (ast.Assign, ast.AnnAssign)) and
               isinstance(statement.value, ast.Call) for statement in body)


def _binds_a_container(body):
    """Does class `body` bind a name to a new list, dict or set (``tricks = []``)?"""
    for statement in body:
        value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, _CONTAINER_NODES) or isinstance(value, ast.Call) and \
                (_path(value.func) or ('',))[-1] in _CONTAINER_MAKERS:
            return True
    return False


def _changes_its_class(body):
    """Does a method of class `body` set or delete an attribute of its object's
    class (``type(self).count += 1``, ``self.__class__.seen = x``, or in a class
    method ``cls.tz = tz``)?  Every instance then shares that change."""
    for method in body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        parameters = [*method.args.posonlyargs, *method.args.args]
        cls = parameters[0].arg if parameters and any(
            _path(decorator) == ('classmethod',) for decorator in method.decorator_list) \
            else None
        for node in ast.walk(method):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
                holder = node.value
                if isinstance(holder, ast.Attribute) and holder.attr == '__class__' or \
                        isinstance(holder, ast.Call) and _path(holder.func) == ('type',) \
                        and len(holder.args) == 1 or \
                        isinstance(holder, ast.Name) and holder.id == cls:
                    return True
            elif cls is not None and isinstance(node, ast.Call) and \
                    _path(node.func) in (('setattr',), ('delattr',)) and node.args and \
                    isinstance(node.args[0], ast.Name) and node.args[0].id == cls:
                return True
    return False


def _default_factories(body):
    """Dotted paths of the ``default_factory=`` callables class `body` names (dataclass
    fields), or None if one is no dotted name."""
    found = []
    for statement in body:
        value = getattr(statement, 'value', None) if isinstance(
            statement, (ast.Assign, ast.AnnAssign)) else None
        for node in ast.walk(value) if value is not None else ():
            if isinstance(node, ast.keyword) and node.arg == 'default_factory':
                path = _path(node.value)
                if not path:
                    return None
                found.append(path)
    return tuple(found)


def _visible_call(scope, call):
    """A call inside a function, its flows reduced to parameters, globals and CLOSURE.

    A call of a local, or of its method, says what the local holds:
    - bound only to literals of one type, and the function's own object
      (``out = []`` ... ``out.append(x)``): that type's method;
    - bound only to an attribute of a parameter or global (``R = mdp.R``):
      that attribute of it;
    - bound only to calls of globals, or to literals: the local's object, as
      far as its flows tell;
    - else (``for h in self.handlers: h()``): something its flows' objects hold.
    """
    callee, root = call.callee, call.root
    receiver = callee[0]
    if receiver in scope.local and receiver not in scope.params and root == {receiver}:
        literal = scope.private_literal(receiver) if len(callee) == 2 else None
        alias = scope.attribute_alias(receiver)
        if literal is not None:
            callee = (literal_name(literal[1]), callee[1])
            root = frozenset(callee[:1])
        elif alias is not None:
            callee, root = (*alias, *callee[1:]), frozenset(alias[:1])
        elif scope.origins.get(receiver) is None:
            callee = (HELD, *callee[1:])
    return call._replace(
        callee=callee,
        root=root if callee[0].startswith('<literal ') else scope.visible(root),
        args=tuple(scope.visible(flow) for flow in call.args),
        keywords=tuple((keyword, scope.visible(flow)) for keyword, flow in call.keywords),
        callbacks=tuple(_visible_call(scope, callback) for callback in call.callbacks))


def _is_false(node):
    """Is expression `node` a constant that is false (``False``, ``None``, ``0``)?"""
    return isinstance(node, ast.Constant) and not node.value


def _target_root(target):
    """The name an assignment target binds or stores into (``x`` of ``x``,
    ``x.a`` or ``x[0].b``); None for a tuple or starred target."""
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _bare_super(node):
    """Is `node` ``super()``, with no arguments?"""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
        node.func.id == 'super' and not node.args and not node.keywords


def _path(node):
    """The dotted path of a Name/Attribute chain (``a.b.c`` -> ('a', 'b', 'c')), or ()."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return (node.id, *reversed(parts))
    return ()


def _literal_type(value):
    """(module, qualname) of expression `value`'s type, if its syntax shows it."""
    kind = _LITERAL_TYPES.get(type(value))
    if kind is not None:
        return ('builtins', kind)
    if isinstance(value, ast.Constant):
        return ('builtins', type(value.value).__name__)
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mod) and \
            isinstance(value.left, ast.Constant) and isinstance(value.left.value, (str, bytes)):
        return ('builtins', type(value.left.value).__name__)     # '%s' % x: formatting
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
            and value.func.id in _CONSTRUCTORS:
        return ('builtins', 'list' if value.func.id == 'sorted' else value.func.id)
    return None


def _declarations(body, params):
    """(global, nonlocal, local names) of a function body."""
    declared_global, declared_nonlocal, local = set(), set(), set(params)
    nodes = list(_walk_scope(body))
    for child in nodes:
        if isinstance(child, ast.Global):
            declared_global.update(child.names)
        elif isinstance(child, ast.Nonlocal):
            declared_nonlocal.update(child.names)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            local.add(child.id)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            local.add(child.name)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            local.update(a.asname or a.name.partition('.')[0] for a in child.names if a.name != '*')
        elif isinstance(child, ast.ExceptHandler) and child.name:
            local.add(child.name)
        elif isinstance(child, (ast.MatchAs, ast.MatchStar)) and child.name:
            local.add(child.name)
        elif isinstance(child, ast.MatchMapping) and child.rest:
            local.add(child.rest)
        elif isinstance(child, ast.NamedExpr):
            local.add(child.target.id)
    return declared_global, declared_nonlocal, local - declared_global


_NEW_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _walk_scope(body):
    """Nodes of a function body that belong to its scope.

    Nested functions and classes are yielded but not entered; in
    comprehensions only walrus targets bind in the function.
    """
    stack = list(body) if isinstance(body, list) else [body]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _NEW_SCOPES):
            continue
        if isinstance(node, _COMPREHENSIONS):
            stack.extend(n for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
            continue
        stack.extend(ast.iter_child_nodes(node))
