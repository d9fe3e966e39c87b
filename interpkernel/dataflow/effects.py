"""What a cell may read and change, once what its names hold is known.

`analysis` records calls by their syntax; whether ``f(L)`` changes ``L``
depends on what ``f`` is.  `resolve` answers that with what the dataflow
knows of each name (`Known`): a module, a notebook function or class (whose
`analysis` summary says what it does), an instance, a value of a known type,
or nothing yet.  Calls into the standard library go by `knowledge`; calls it
cannot know are assumed to change their arguments and the outside world.

State outside variables is named like a variable so the dataflow can order
it: ``'<random>'`` for random's generator (see `knowledge.STATES`),
``'<module m>'`` for whatever else module ``m`` keeps.
"""

import builtins
import inspect
import linecache
import sys
import types
from dataclasses import dataclass, field
from typing import NamedTuple

from . import knowledge
from .analysis import (APPLY, ATTRIBUTE, CLOSURE, DAEMON_THREAD, EXPR, GETITEM, HELD, IDENTITY,
                       IMPLICIT, ITERATE, METACLASS, OPERATOR, ClassSummary, FunctionSummary,
                       analyse, is_marker, made_by)

__all__ = ['Known', 'Resolved', 'resolve', 'Summaries', 'state_name', 'module_state', 'spoken',
           'UNKNOWN', 'MISSING', 'known_from_info', 'known_from_value', 'known_builtin',
           'static_known', 'in_cell']


def state_name(kind):
    """The pseudo-variable of a `knowledge.STATES` entry (``'<random>'``)."""
    return f'<{kind}>'


def module_state(module):
    """The pseudo-variable for the state a module keeps (``'<module numpy>'``)."""
    return f'{_STATE_OF}{module.partition(".")[0]}>'


def shared_state(key):
    """The pseudo-variable for the objects that the instances of the notebook class
    of code key `key` share through it (``'<shared by Dog at <cell In[3]>:1>'``)."""
    filename, qualname, line = key
    return f'{_SHARED_BY}{qualname} at {filename}:{line}>'


def is_shared_state(state):
    return state.startswith(_SHARED_BY)


def spoken(name):
    """`name` as a message to the user says it: a variable as itself, the state a
    pseudo-variable stands for in words (``'<random>'``: "random's global
    generator")."""
    if not name.startswith('<'):
        return name
    if is_shared_state(name):
        return f'what the instances of {name[len(_SHARED_BY):].partition(" at ")[0]} share'
    if is_module_attributes(name):
        return f'the attributes of module {name[len(_ATTRIBUTES_OF):-1]}'
    if name.startswith(_STATE_OF):
        return f'the state of module {name[len(_STATE_OF):-1]}'
    kind = knowledge.STATES.get(name[1:-1])
    return kind.description if kind is not None else name


def module_attributes(module):
    """The pseudo-variable for the attributes of a module, which a cell may rebind
    (``os.getcwd = fake``): no copy is made, so its readers run where it changed."""
    return f'{_ATTRIBUTES_OF}{module.partition(".")[0]}>'


_ATTRIBUTES_OF = '<attributes of '
_SHARED_BY = '<shared by '
_STATE_OF = '<module '


def is_module_attributes(state):
    return state.startswith(_ATTRIBUTES_OF)


class Known(NamedTuple):
    """What a name holds, as far as the dataflow knows.

    Attributes:
        kind: 'module', 'function' (notebook code), 'class' (notebook class),
            'instance' (of notebook classes), 'callable' (a builtin or library
            function), 'value' (of type module.qualname), 'unknown' (not known
            yet: its writer has not run) or 'missing' (not defined).
        module, qualname: the module's name; the callable's or the type's.
        code: code keys ``(filename, qualname, line)`` of the notebook code it
            is or holds.
        immutable: it cannot change in place.
        iterator: iterating it consumes it.
        defined_in: the module a class or function held comes from, if known.
        items_known: a container whose items' classes `code` names, all of
            them (`ValueInfo.items_known`).
        metaclass_code: of a class, the code keys of its notebook metaclass
            (`ValueInfo.metaclass_code`).
        dispatches: calling it calls any one of the functions `code` names
            (`ValueInfo.dispatches`), not the first (whose closures the rest are).
    """
    kind: str
    module: str = ''
    qualname: str = ''
    code: tuple = ()
    immutable: bool = False
    iterator: bool = False
    defined_in: str = ''
    items_known: bool = False
    metaclass_code: tuple = ()
    dispatches: bool = False


UNKNOWN = Known('unknown')
MISSING = Known('missing')
_NO_STATE = frozenset()


def known_builtin(name):
    """What a name holds if no cell defines it: a builtin, or nothing."""
    if hasattr(builtins, name):
        value = getattr(builtins, name)
        if isinstance(value, type):
            return Known('callable', 'builtins', name)
        return Known('callable', 'builtins', name) if callable(value) else \
            Known('value', 'builtins', type(value).__qualname__, immutable=True)
    return MISSING


_CALLABLE_TYPES = frozenset({'function', 'method', '_lru_cache_wrapper', 'partial',
                             'staticmethod', 'classmethod'})
# Those of them that keep state of their own, which calling them changes.
_STATEFUL_WRAPPERS = frozenset({'_lru_cache_wrapper'})
# Values of libraries' types that a call calling what it is given calls: methods
# bound to an object, and wrappers of other calls.
_CALLED_VALUES = frozenset({'builtin_function_or_method', 'method-wrapper', 'method', 'partial',
                            'methodcaller'})


def fills_its_cache(known):
    """Does calling what `known` says change it (``functools.cache``'s wrapper)?"""
    return known.kind == 'function' and known.qualname in _STATEFUL_WRAPPERS


# The libraries whose functions the knowledge describes by the names they have
# there (numpy's are found through their arrays).
_DESCRIBED = frozenset({*sys.stdlib_module_names, 'IPython'})


def imported_function(effects, name):
    """What `name` holds if the cell bound it with ``from m import f`` to a function
    (or class) of Python's own, or of IPython, that the knowledge describes:
    ``from random import randint`` is random's, whose calls change its state;
    else None."""
    module, attribute = effects.imported.get(name, ('', ''))
    if f'{module}.{attribute}' in sys.modules:
        return None     # a module (``from IPython.core import magic``), no function
    return _described_callable(module, attribute)


def known_after(effects, name, info):
    """What `name` holds after its cell ran, its value described by `info`."""
    known = known_from_info(info)
    if known.kind == 'value' and (info.is_class or info.type_qualname in _LIBRARY_CALLABLES):
        # Whatever name holds it (``ask = input``), a function says where it is from.
        from_itself = _described_callable(info.defined_in, info.defined_as) \
            if info.installed else None
        return imported_function(effects, name) or from_itself or known
    return known


def _described_callable(module, qualname):
    """``module.qualname`` as a callable, if it is Python's own or IPython's and the
    knowledge describes it; else None."""
    if module.partition('.')[0] in _DESCRIBED and qualname and (
            knowledge.function_effect(module, qualname) is not None or
            knowledge.reads_notebook_names(module, qualname)):
        return Known('callable', module, qualname)
    return None


# Python's metaclasses a notebook's may derive from.
_LIBRARY_METACLASSES = frozenset({'type', 'ABCMeta', 'EnumMeta', 'EnumType'})

# The types of functions and methods of libraries (``random.randint`` is a bound method).
_LIBRARY_CALLABLES = frozenset({'function', 'builtin_function_or_method', 'method',
                                'method_descriptor'})


def known_from_info(info):
    """What a value described by a `ValueInfo` is."""
    module, qualname = info.type_module, info.type_qualname
    if qualname == 'module':
        return Known('module', module, qualname)
    # A key with no filename is a class's with no function in its body (`Summaries.get`).
    notebook = info.code
    if notebook and info.is_class:
        return Known('class', module, qualname, notebook, metaclass_code=info.metaclass_code)
    if notebook and qualname in _CALLABLE_TYPES:
        return Known('function', module, qualname, notebook, dispatches=info.dispatches)
    if notebook and module == '__main__':
        return Known('instance', module, qualname, notebook, info.immutable, info.iterator)
    if info.is_class or qualname in _LIBRARY_CALLABLES:
        return Known('value', module, qualname, notebook, defined_in=info.defined_in)
    # A container may hold notebook functions (`ops = {'add': add}`) or objects
    # of notebook classes: their code is kept.
    return Known('value', module, qualname, notebook, info.immutable, info.iterator,
                 items_known=info.items_known)


@dataclass
class Resolved:
    """What a cell may do, its calls resolved.

    Attributes:
        reads, binds, deletes: names, including those its calls read, bind or delete.
        mutates: names whose objects it may change in place.
        certain: those among them it changes for sure as far as anything
            tells (syntax, a table, a summary), not just because a call could
            not be known.
        reads_state, writes_state: pseudo-variables of state (`state_name`,
            `module_state`) it reads or changes.
        host_only: why it can only run in the host interpreter, if it must.
        unknown: why it may read or change any name (it calls something not
            known yet), or None.
        reads_anything: why it may read names no analysis can list (it calls
            notebook code through an object made on the way, or a library
            that calls back into the notebook), or None.
        links: name -> the names a call may have stored into its object, or
            stored it into (``L.append(q)``, ``link(a, b)``), both ways.
        shares: name -> the names sharing its objects when the cell changed
            them, for the cells after it (the scheduler sets it).
        shares_as_of: how many values the scheduler had indexed by their objects
            when it set `shares` (a newer one may share them).
    """
    reads: set = field(default_factory=set)
    binds: set = field(default_factory=set)
    deletes: set = field(default_factory=set)
    mutates: set = field(default_factory=set)
    certain: set = field(default_factory=set)
    reads_state: set = field(default_factory=set)
    writes_state: set = field(default_factory=set)
    host_only: list = field(default_factory=list)
    unknown: str | None = None
    reads_anything: str | None = None
    links: dict = field(default_factory=dict)
    shares: dict = field(default_factory=dict)
    looked_up: dict = field(default_factory=dict, compare=False, repr=False)
    looked_up_others: dict = field(default_factory=dict, compare=False, repr=False)
    looked_up_before: dict = field(default_factory=dict, compare=False, repr=False)
    unrefined: object = field(default=None, compare=False, repr=False)
    shares_as_of: int = field(default=-1, compare=False, repr=False)


class Summaries:
    """Function and class summaries by code key ``(filename, qualname, line)``.

    Cells the dataflow analysed are added with `add`; for any other file
    (a function defined in a plain IPython cell), the source is read from
    `linecache` and analysed once.
    """

    def __init__(self):
        self._files = {}
        self._class_files = {}    # (qualname, line) -> files defining such a class
        self._methods = {}        # method names -> `methods_named`, until a file is added

    def add(self, filename, effects):
        if effects.functions:
            self._files[filename] = effects.functions
            self._methods.clear()
        elif self._files.pop(filename, None) is not None:
            # (No summary key names a file that defines no code: one entry less a cell.)
            self._methods.clear()
        for key, summary in effects.functions.items():
            if isinstance(summary, ClassSummary):
                self._class_files.setdefault(key, set()).add(filename)

    def methods_named(self, methods, metaclasses=False):
        """For every notebook class known here that defines one of `methods` (with
        `metaclasses`, every such metaclass: a class deriving from ``type``), the
        summary of the first it defines: what calling them on a value whose class
        is not known yet may run."""
        found = self._methods.get((methods, metaclasses))
        if found is None:
            found = []
            names = self._metaclass_names() if metaclasses else None
            for filename, functions in self._files.items():
                for summary in functions.values():
                    if not isinstance(summary, ClassSummary) or \
                            names is not None and summary.key[1] not in names:
                        continue
                    key = next((summary.methods[m] for m in methods if m in summary.methods),
                               None)
                    function = key and functions.get(key)
                    if isinstance(function, FunctionSummary):
                        found.append(function)
            self._methods[methods, metaclasses] = found
        return found

    def _metaclass_names(self):
        """Qualnames of the notebook classes deriving from ``type``, or from a
        library's metaclass, directly or through one another."""
        classes = [summary for functions in self._files.values()
                   for summary in functions.values() if isinstance(summary, ClassSummary)]
        names = set()
        while True:
            more = {cls.key[1] for cls in classes if cls.key[1] not in names and any(
                base.rpartition('.')[2] in _LIBRARY_METACLASSES or base in names
                for base in cls.bases)}
            if not more:
                return names
            names |= more

    def makes_generators(self):
        """Does a notebook function known here make a generator (``yield``)?"""
        found = self._methods.get(_GENERATORS)
        if found is None:
            found = self._methods[_GENERATORS] = any(
                isinstance(summary, FunctionSummary) and summary.generator
                for functions in self._files.values() for summary in functions.values())
        return found

    def accessors_named(self, attribute):
        """The summaries of the functions of every notebook class's property
        `attribute` (None: of all its properties): what reading, setting or
        deleting that attribute of a value whose class is not known may run."""
        found = self._methods.get((_ACCESSORS, attribute))
        if found is None:
            found = []
            for functions in self._files.values():
                for summary in functions.values():
                    if not isinstance(summary, ClassSummary):
                        continue
                    for name, keys in summary.accessors.items():
                        if attribute is None or name == attribute:
                            found += [f for f in map(functions.get, keys)
                                      if isinstance(f, FunctionSummary)]
            self._methods[(_ACCESSORS, attribute)] = found
        return found

    def get(self, key):
        """The summary of `key`, or None.  A class with no function written in its
        body has no filename in its key: it is found if one cell alone defines a
        class of that name on that line."""
        filename, qualname, line = key
        if filename is None:
            files = self._class_files.get((qualname, line), ())
            if len(files) != 1:
                return None
            filename, = files
        functions = self._files.get(filename)
        if functions is None:
            functions = self._files[filename] = _analyse_file(filename)
            self._methods.clear()
        return functions.get((qualname, line))


def _analyse_file(filename):
    source = ''.join(linecache.getlines(filename))
    if not source:
        return {}
    try:
        return analyse(source, filename).functions
    except (SyntaxError, ValueError, RecursionError):
        return {}


def resolve(effects, lookup, summaries, previous=None):
    """The `Resolved` effects of a cell.

    Args:
        effects: its `analysis.CellEffects`.
        lookup: ``lookup(name)`` -> `Known`: what a name holds where the cell runs.
        summaries: a `Summaries`.
        previous: the `Resolved` of an earlier resolution of the same cell:
            if every name it looked up still holds what it held, it is the answer.
    """
    others = getattr(lookup, 'alternatives', None)
    if previous is not None and all(lookup(name) == known
                                    for name, known in previous.looked_up.items()) and \
            (others is None or all(others(name) == found
                                   for name, found in previous.looked_up_others.items())) and \
            all(getattr(lookup, 'before', lookup)(name) == known
                for name, known in previous.looked_up_before.items()):
        return previous
    resolver = _Resolver(lookup, summaries, effects)
    resolver.run()
    resolver.result.looked_up = {name: known for name, known in resolver.known_cache.items()
                                 if not is_marker(name)}
    resolver.result.looked_up_others = dict(resolver.others_cache)
    resolver.result.looked_up_before = dict(resolver.before_cache)
    return resolver.result


# Library functions whose result is a decorator, which changes nothing of ours
# (``functools.lru_cache(maxsize=None)(f)``, ``dataclasses.dataclass(order=True)(C)``).
_DECORATOR_FACTORIES = frozenset({'functools.lru_cache', 'functools.wraps',
                                  'dataclasses.dataclass'})
# Library functions that make a callable of what they are given, which a call
# given it (``map(operator.methodcaller('add', 1), items)``) calls.
_CALLABLE_MAKERS = frozenset({'operator.methodcaller', 'operator.itemgetter',
                              'operator.attrgetter', 'functools.partial', 'numpy.vectorize',
                              'numpy.frompyfunc'})
# Library functions whose result, called, only reads what it is given.
_READING_RESULTS = frozenset({'operator.itemgetter', 'operator.attrgetter'})
# Builtins that turn their arguments into text, and the methods that does.
_SHOWING = frozenset({'print', 'str', 'repr', 'format', 'ascii'})
# What reading, setting or deleting an attribute of an object of a notebook class
# may run: its class's hooks, and a descriptor's method (of any notebook class).
_ATTRIBUTE_HOOKS = {'get': (('__getattribute__', '__getattr__'), '__get__'),
                    'set': (('__setattr__',), '__set__'),
                    'delete': (('__delattr__',), '__delete__')}
_DESCRIPTOR_METHODS = ('__get__', '__set__', '__delete__')
# Objects whose freeing runs code: a generator's ``finally`` blocks, a file's flush.
_FINALIZED_TYPES = frozenset({('builtins', 'generator'), ('builtins', 'async_generator'),
                              ('builtins', 'coroutine'), ('_io', 'TextIOWrapper'),
                              ('_io', 'BufferedWriter'), ('_io', 'BufferedRandom'),
                              ('_io', 'FileIO')})
_GENERATORS = '<generators>'   # `Summaries.makes_generators`'s entry among `methods_named`'s
_ACCESSORS = '<accessors>'     # `Summaries.accessors_named`'s entries among `methods_named`'s
# The builtins reading, setting or deleting an attribute of their first argument.
_ATTRIBUTE_BUILTINS = {'getattr': 'get', 'hasattr': 'get', 'setattr': 'set', 'delattr': 'delete'}
_STR_METHODS = ('__str__', '__repr__', '__format__')
_ITEM_DISPLAY_METHODS = ('_repr_pretty_', '__repr__')   # IPython's pretty printer, per item
_CONTAINERS = frozenset({'list', 'tuple', 'dict', 'set', 'frozenset', 'deque', 'defaultdict',
                         'OrderedDict', 'Counter', 'ChainMap'})
_DISPLAY_METHODS = ('__repr__', '_repr_pretty_', '_repr_html_', '_repr_markdown_', '_repr_latex_',
                    '_repr_svg_', '_repr_png_', '_repr_jpeg_', '_repr_json_', '_repr_javascript_',
                    '_repr_pdf_', '_repr_mimebundle_', '_ipython_display_')
# Builtins that run special methods of their first argument (the first of those
# its class defines), and those that iterate their arguments (``__iter__``).
_BUILTIN_SPECIALS = {
    'len': ('__len__',), 'abs': ('__abs__',), 'hash': ('__hash__',),
    'bool': ('__bool__', '__len__'), 'int': ('__int__', '__index__', '__trunc__'),
    'float': ('__float__', '__index__'), 'complex': ('__complex__', '__float__', '__index__'),
    'round': ('__round__',), 'reversed': ('__reversed__', '__len__'), 'next': ('__next__',),
    'iter': ('__iter__', '__getitem__'), 'divmod': ('__divmod__',), 'bin': ('__index__',),
    'hex': ('__index__',), 'oct': ('__index__',), 'dir': ('__dir__',),
}
_ITERATING_BUILTINS = frozenset({'list', 'tuple', 'set', 'frozenset', 'dict', 'sorted', 'sum',
                                 'any', 'all', 'enumerate', 'zip', 'bytes', 'bytearray'})
_ORDERING_BUILTINS = frozenset({'sorted', 'min', 'max'})
# The comparison methods an ordering may run: total_ordering's run ``__eq__`` too.
_ORDERING = ('__lt__', '__le__', '__gt__', '__ge__', '__eq__')
# What a comparison operator may run (its own method, or its operand's reflection).
_COMPARISON_METHODS = {'__eq__': ('__eq__',), '__ne__': ('__ne__', '__eq__'),
                       **dict.fromkeys(_ORDERING[:4], _ORDERING)}
# Container methods comparing the items with each other or with what they are given.
_COMPARING_METHODS = {'sort': _ORDERING, 'index': ('__eq__',), 'count': ('__eq__',),
                      'remove': ('__eq__',)}
# Hashing a key runs its ``__hash__``, and ``__eq__`` when it meets an equal hash:
# builtins making a set or dict of what they are given, and the methods of
# Python's dicts and sets taking a key (``update`` and ``union``, many).
_HASHING = ('__hash__', '__eq__')
_HASHING_BUILTINS = frozenset({'set', 'frozenset', 'dict'})
_KEYED_TYPES = frozenset({'dict', 'set', 'frozenset', 'defaultdict', 'OrderedDict', 'Counter'})
_KEY_METHODS = frozenset({'get', 'setdefault', 'pop', 'add', 'discard', 'remove',
                          '__contains__', '__getitem__', '__setitem__', '__delitem__',
                          'move_to_end'})
_KEYS_METHODS = frozenset({'update', 'union', 'intersection', 'difference',
                           'symmetric_difference', 'issubset', 'issuperset', 'isdisjoint',
                           'intersection_update', 'difference_update',
                           'symmetric_difference_update', 'fromkeys', 'subtract'})
_NOT_SHARED = frozenset({'callable', 'module', 'missing', 'function', 'class'})
_READ_METHODS = frozenset({'get', 'copy', 'keys', 'items', 'values', 'index', 'count',
                           '__getitem__', '__contains__', '__len__', '__iter__'})
# Methods no library calls on an object it is given: Python calls them making
# or freeing one, or on its class.
_NOT_CALLED_ON_INSTANCES = frozenset({
    '__new__', '__init__', '__post_init__', '__del__', '__init_subclass__', '__set_name__',
    '__class_getitem__', '__get__', '__set__', '__delete__', '__instancecheck__',
    '__subclasscheck__', '__prepare__'})
# Special methods that change their object: a library runs them on what it changes.
_CHANGING_SPECIALS = frozenset({
    '__setitem__', '__delitem__', '__setattr__', '__delattr__', '__setstate__', '__enter__',
    '__exit__', '__aenter__', '__aexit__', *(f'__i{op}__' for op in (
        'add', 'sub', 'mul', 'matmul', 'truediv', 'floordiv', 'mod', 'pow', 'lshift', 'rshift',
        'and', 'xor', 'or'))})
# Methods that are no special methods but that Python's protocols call (a mapping's keys).
_READ_BY_LIBRARIES = frozenset({'keys'})


class _Resolver:
    def __init__(self, lookup, summaries, effects):
        self.lookup, self.summaries, self.effects = lookup, summaries, effects
        self.result = Resolved(set(effects.reads), set(effects.binds), set(effects.deletes),
                               set(effects.mutates), set(effects.mutates))
        self.aliases = {}
        for name, sources in effects.aliases:
            for source in sources:
                self.aliases.setdefault(name, set()).add(source)
                self.aliases.setdefault(source, set()).add(name)
        self.callbacks = ((), None)   # the `Call.callbacks` of the call applied, and its bind
        self.calling_back = set()       # callables being called back (recursion)
        self.active = set()     # summaries being applied (recursion)
        self.applied = set()    # (summary, callee, arguments) applied already
        self.known_cache = {}
        self.others_cache = {}
        self.alternatives = getattr(lookup, 'alternatives', None)   # set by `in_cell`
        self.before_cell = getattr(lookup, 'before', lookup)        # set by `in_cell`
        self.before_cache = {}

    def known_before_cell(self, name):
        """What `name` holds as the cell starts (`known`: when its calls run)."""
        found = self.before_cache.get(name)
        if found is None:
            found = self.before_cache[name] = self.before_cell(name)
        return found

    def known(self, name):
        found = self.known_cache.get(name)
        if found is None:
            found = self.known_cache[name] = self._lookup_marker(name) if is_marker(name) \
                else self.lookup(name)
        return found

    def knowns(self, name):
        """Everything `name` may hold while the cell runs: what `known` says, and the
        other values a name the cell rebinds holds before or after (`in_cell`)."""
        if self.alternatives is None or is_marker(name):
            return (self.known(name),)
        found = self.others_cache.get(name)
        if found is None:
            found = self.others_cache[name] = self.alternatives(name)
        return (self.known(name), *found)

    def _lookup_marker(self, marker):
        """What a flow marker stands for: an object made by a call, or a literal."""
        if marker.startswith('<literal '):
            type_name = marker[len('<literal '):-1]
            return Known('value', 'builtins', type_name, immutable=type_name in _IMMUTABLE_LITERALS)
        made_in_cell = marker.startswith('<made ')
        if made_in_cell or marker.startswith('<new '):
            if _library_made(marker):
                return self._library_result(marker)
            maker = self.known(_maker(marker))
            if maker.kind == 'class':
                return Known('instance', '__main__', maker.qualname, maker.code)
            if made_in_cell:
                # In a cell, only an instance of a notebook class is followed: what
                # a notebook function returns goes unfollowed there, as any value
                # whose maker is not known (following it as 'fresh' would make
                # the cell read everything).
                return UNKNOWN
            if maker.kind in ('callable', 'module', 'value'):
                return Known('value', maker.module, '')    # a library made it
            if maker.kind == 'function':
                return Known('fresh', code=maker.code)     # whatever notebook code returned
        return UNKNOWN

    def run(self):
        result, effects = self.result, self.effects
        for name in effects.reads:
            self._read_name(name)
        # An import gives the module as earlier cells left it (``os.getcwd = fake``).
        for module in {*effects.modules.values(), *(m for m, _ in effects.imported.values())}:
            result.reads_state |= self._module_reads(module)
        if effects.imports:
            outside = [m for m in effects.imports if m not in sys.stdlib_module_names]
            result.reads_state.add(state_name('sys.path'))
            if outside:
                result.reads_state |= {state_name('files'), state_name('cwd')}
        for call in effects.calls:
            self.call(call, self._cell_names)
        self._finalize_replaced()
        if effects.shows_result:     # IPython shows the value: its _repr_*_ methods run
            flow = effects.result_flow
            for name in self._cell_names(flow) | self._unfollowed(flow):
                for method in _DISPLAY_METHODS:
                    self._special(name, (method,), [])
                self._show_items(name, _ITEM_DISPLAY_METHODS)
        for kind in knowledge.STATES.values():
            if kind.every_cell_reads:
                result.reads_state.add(state_name(kind.name))
        # What the cell changes in place, it changes in whatever shares it.
        result.mutates = self._close(result.mutates)
        result.links = {name: shared for name, others in result.links.items()
                        if self._may_share(name)
                        if (shared := {other for other in others if self._may_share(other)})}
        result.mutates = {n for n in result.mutates if not self.known(n).immutable
                          or n in result.binds}
        for name in list(result.mutates):
            known = self.known(name)
            if known.kind == 'module':
                result.writes_state |= self._module_states(known.module)
                if name in effects.set_into:    # ``os.getcwd = fake``
                    result.writes_state.add(module_attributes(known.module))
            # Where it comes from: a class's or function's own module, else its
            # type's (an IPython formatter's).
            origin = effects.imported.get(name, (effects.modules.get(name),))[0] or \
                known.defined_in or (known.module if known.kind in ('module', 'callable', 'value')
                                     and known.module != 'builtins' else '')
            if known.kind in ('value', 'callable') and origin not in ('', 'builtins', '__main__') \
                    and (known.defined_in or known.kind == 'callable') and \
                    (name in effects.set_into or name in result.certain):
                # A library's class or function changed (``Fraction.speak = f``, or by a
                # decorator setting ``cls.speak``): each interpreter has its own, and
                # no copy is made, so the cells after it run where it changed.
                result.writes_state.add(module_attributes(origin))
            if knowledge.needs_shell(origin) or (origin.partition('.')[0] == 'IPython' and (
                    not known.defined_in or name in effects.set_into)):
                # ``InteractiveShell.ast_node_interactivity = 'all'``: a worker's
                # copy of IPython is not the shell that runs the notebook. (Calling
                # a display class, ``HTML(...)``, changes nothing of the shell.)
                result.host_only.append(f'it changes {name}, part of IPython, whose shell '
                                        f'is the host')
                result.writes_state.add(state_name('ipython'))
        result.certain &= result.mutates
        for names in (result.mutates, result.certain, result.reads, result.binds, result.deletes):
            names -= {name for name in names if is_marker(name)}

    def _finalize_replaced(self):
        """A name the cell rebinds or deletes lets go of the object it held, and
        ``__del__`` of that object's notebook class runs then, in the cell, unless
        something else holds it.  So the cell reads the name (it runs where that
        object is, after its writer and the cells reading it) and does what
        ``__del__`` does."""
        result = self.result
        for name in {*self.effects.binds, *self.effects.deletes, *result.binds, *result.deletes}:
            if is_marker(name):
                continue
            held = self.known_before_cell(name)
            if self._finalizes(held):
                result.reads.add(name)
                result.mutates.add(name)
                if (held.module, held.qualname) in _FINALIZED_TYPES:
                    continue
                if held.kind == 'value':    # what it holds may be of any such class
                    self._every_class_method(name, ('__del__',), [], [])
                else:
                    self._special_of(name, held, ('__del__',), [])

    def _finalizes(self, known):
        """May freeing a value `known` describes run code: is it of a notebook class
        defining ``__del__``, a generator (its ``finally`` blocks) or a file (its
        flush)?  A value not made yet may be a generator a notebook function makes."""
        if known.kind == 'value' and (known.module, known.qualname) in _FINALIZED_TYPES:
            return True
        if known.kind == 'unknown' and self.summaries.makes_generators():
            return True
        if known.kind == 'unknown' or known.kind == 'value' and not known.immutable:
            # (A container may hold such objects.)
            return bool(self.summaries.methods_named(('__del__',)))
        if known.kind != 'instance':
            return False
        classes = [c for c in map(self.summaries.get, known.code) if isinstance(c, ClassSummary)]
        return self._find_method(classes, known.code, '__del__') is not None

    def _library_result(self, marker):
        """What a library function's result marker (`_library_made`) stands for: a
        value of the type the function is known to return, else nothing more than
        its module (already in the same flow) says."""
        root, _, qualname = _maker(marker).partition('.')
        module = self.known(root)
        made = module.kind == 'module' and knowledge.result_type(module.module, qualname)
        return Known('value', *made) if made else MISSING

    def _cell_names(self, flow):
        """The names of a flow in the cell, and the objects it made that are followed.

        A library function's result of a known type stands for its module as a
        receiver: ``hashlib.new(name).hexdigest()`` calls a hash's method, not the
        module's.
        """
        names = set()
        for name in flow:
            if name == CLOSURE:
                continue
            if _library_made(name):
                if self.known(name).kind == 'value':
                    names.add(name)
            elif not (name.startswith('<made ') and self.known(name).kind != 'instance'):
                names.add(name)
        return frozenset(names) - self._typed_makers(flow)

    def _typed_makers(self, flow):
        """The modules in `flow` only as the makers of results whose type is known."""
        return {_maker(name).partition('.')[0] for name in flow
                if _library_made(name) and self.known(name).kind == 'value'}

    def _unfollowed(self, flow):
        """The objects in `flow` that notebook functions made in the cell, whose class
        is not known till it runs (`_cell_names` leaves them out)."""
        return frozenset(n for n in flow if n.startswith('<made ') and not _library_made(n)
                         and self.known(n).kind != 'instance')

    def _close(self, names):
        """`names` and the names whose objects they may share, through this cell's flows.

        Values that cannot share a changeable object (numbers, strings,
        functions, modules ...) do not carry a change further.
        """
        seen, stack = set(), list(names)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in names or self._may_share(name):
                stack.extend(self.aliases.get(name, ()))
        return {n for n in seen if n in names or self._may_share(n)}

    def _may_share(self, name):
        """May `name` hold an object that changes in place, which others can hold?"""
        if _library_made(name):
            return False    # each call makes an object of its own
        known = self.known(name)
        return not (known.immutable or known.kind in _NOT_SHARED)

    def _read_name(self, name):
        for known in self.knowns(name):
            self.result.reads_state |= self._class_states(known)
            self._read_bases(name, known)
            if known.kind == 'module':
                self.result.reads_state |= self._module_reads(known.module)
            elif known.kind in ('value', 'instance'):
                touched = knowledge.type_state(known.module, known.qualname)
                if touched is not None:
                    state, writes = touched
                    (self.result.writes_state if writes else self.result.reads_state).add(
                        state_name(state))

    def _read_bases(self, name, known):
        """Reading a notebook class (or an instance of one) reads its bases' names too:
        inspect and pydoc find an inherited method's class by name (``help(Sub)``
        shows the docstrings ``Base``'s methods inherit)."""
        if known.kind not in ('class', 'instance'):
            return
        for key in known.code:
            summary = self.summaries.get(key)
            if isinstance(summary, ClassSummary):
                for base in summary.bases:
                    if base.isidentifier() and base != name and base not in self.result.reads:
                        self.result.reads.add(base)
                        self._read_name(base)

    def _class_states(self, known):
        """The states of the notebook classes of `known` (a class or an instance)
        whose instances share a changeable object (`ClassSummary.shares_state`):
        whatever uses one reads it, whatever calls into one changes it, so they
        run in order, where that object is."""
        if known.kind not in ('class', 'instance'):
            return set()
        states = set()
        for key in known.code:
            summary = self.summaries.get(key)
            if isinstance(summary, ClassSummary) and (
                    summary.shares_state or summary.binds_made and self._stateful_descriptors()):
                states.add(shared_state(key))
        return states

    def _stateful_descriptors(self):
        """Does a notebook descriptor keep state in itself (``self._value = v`` in
        its ``__set__``)?  A class holding one shares it among its instances."""
        return any(summary.params and summary.params[0] in summary.mutates
                   for method in _DESCRIPTOR_METHODS
                   for summary in self.summaries.methods_named((method,)))

    @classmethod
    def _module_reads(cls, module):
        """The states a cell reads by using `module`: its states and its attributes."""
        return cls._module_states(module) | {module_attributes(module)}

    @staticmethod
    def _module_states(module):
        top = module.partition('.')[0]
        states = {state_name(k.name) for k in knowledge.STATES.values()
                  if top in k.imports and not k.process_wide}
        if not states or top in knowledge.PARTLY_KNOWN:
            states.add(module_state(top))
        return states

    # -- calls --

    def call(self, call, bind):
        """Apply one call; `bind` maps the names in its flows to cell names."""
        saved, self.callbacks = self.callbacks, (call.callbacks, bind)
        try:
            self._call(call, bind)
        finally:
            self.callbacks = saved

    def _call(self, call, bind):
        args = [bind(flow) for flow in call.args]
        keywords = [(keyword, bind(flow)) for keyword, flow in call.keywords]
        everything = set().union(*args, *(flow for _, flow in keywords))
        callee = call.callee
        if callee and callee[0] == ITERATE:
            self._iterate(everything)
            return
        if callee and callee[0] == IDENTITY:
            return      # no code runs
        if callee and callee[0] == OPERATOR:
            self._operator(callee[1:], [arg | self._unfollowed(flow)
                                        for arg, flow in zip(args, call.args)])
            return
        if callee and callee[0] == ATTRIBUTE:
            self._attribute(callee[1], callee[2], everything, held=callee[3:] == (HELD,))
            return
        if callee and callee[0] == GETITEM:
            for name in everything:
                self._method(name, '__getitem__', [], [], call.starred)
            return
        if callee and callee[0] == IMPLICIT:
            # A class's own (__init_subclass__, a metaclass's __new__) as well as an
            # instance's; object's and type's do nothing a cell could see.
            for name in args[0]:
                self._special(name, callee[1:], args[1:], kinds=('instance', 'class'))
            return
        if callee and callee[0] == METACLASS:
            for name in args[0]:
                for known in self.knowns(name):
                    self._metaclass_method(name, known, callee[1], args[1:], [])
            return
        roots = {root for root in bind(call.root)
                 if not _library_made(root) or self.known(root).kind == 'value'}
        factories = self._library_functions(callee)
        if factories:
            self._call_library_result(
                factories, {n for n in roots if n != callee[0] and not is_marker(n)},
                args, keywords)
            return
        if callee and callee[0] in (EXPR, HELD):
            roots -= self._typed_makers(roots)
        elif callee and callee[0] in roots and all(
                known.kind == 'module' for known in self.knowns(callee[0])):
            # ``hashlib.new(...)``: a module's function, whatever else a function's
            # flows say the module's name may share objects with.
            roots = {callee[0]}
        path = callee[1:]
        if not roots:
            self._unknown_call(None, args, keywords, 'it calls an object made in the call')
            if len(path) == 1:    # make_board().render(): any notebook class's render
                for made in self._unfollowed(call.root):
                    self._every_class_method(made, path, args, keywords)
            return
        for root in roots:
            # What the root holds, or what a call of it returned, may be called
            # instead of the root itself: ``team.members[0].up()``, ``obj.child().run()``,
            # ``[p.score() for p in players]``.
            held = callee[0] == HELD and not _library_made(root) or \
                callee[0] == EXPR and not is_marker(root) or \
                callee[0] not in call.root and not is_marker(callee[0]) and not is_marker(root)
            self._call_on(root, path, args, keywords, call.starred, direct=not held)
            if held:
                self._call_held(root, path, args, keywords)
        if not path and any(self._shows(root) for root in roots):
            for made in self._unfollowed(set().union(*call.args)):
                self._special(made, _STR_METHODS, [])
                self._show_items(made, ('__repr__',))

    def _call_held(self, name, path, args, keywords):
        """Call, with `path`'s last method (or none: call it), an object that `name`'s
        object holds: of any notebook class, or any library's."""
        if not any(known.kind == 'instance' or known.kind == 'value' and not known.immutable
                   for known in self.knowns(name)):
            return    # functions, classes, modules and numbers hold nothing that is called
        if not path:
            self._unseen_code({name}, args, keywords, f'it calls something {name} holds')
            return
        self._every_class_method(name, path[-1:], args, keywords)
        self._unknown_call({name}, args, keywords, None)

    def _shows(self, name):
        """Is `name` a builtin that formats its arguments (print, str, repr ...)?"""
        return any(known.kind == 'callable' and known.module == 'builtins' and
                   known.qualname in _SHOWING for known in self.knowns(name))

    def _call_on(self, name, path, args, keywords, starred, direct=True):
        """Call ``name.path...(args)``, whatever `name` may hold (`direct`: surely
        `name` itself, not perhaps something it holds)."""
        for known in self.knowns(name):
            self._call_on_known(name, known, path, args, keywords, starred, direct)

    def _call_on_known(self, name, known, path, args, keywords, starred, direct=True):
        """Call ``name.path...(args)``, `name` holding what `known` says."""
        if path and path[-1] == APPLY:
            self._apply_result(name, known, path[:-1], args, keywords)
            return
        kind = known.kind
        if kind == 'missing':
            return   # a NameError: it changes nothing
        if kind == 'fresh':
            self._unseen_code({name}, args, keywords,
                              'it calls into an object a notebook function made')
            return
        if kind == 'unknown':
            if len(path) == 1:    # a method of a value not known yet
                self._method(name, path[0], args, keywords, starred, known)
                return
            if path:
                self._unknown_call({name}, args, keywords, None)
                return
            self.result.unknown = self.result.unknown or f'it calls {name}, not known yet'
            self._mutate_all(args, keywords, {name})
            return
        if kind == 'module':
            self._module_call(name, known.module, path, args, keywords)
            return
        if kind == 'function':
            if path:   # an attribute of a function object: fib.cache_clear()
                self._mutate({name})
                return
            if fills_its_cache(known):
                self._mutate({name})
            self._functions(name, known, args, keywords, starred)
            return
        if kind == 'class':
            self._class_call(name, known, path, args, keywords, starred)
            return
        if kind == 'instance':
            method = path[0] if path else '__call__'
            if len(path) > 1:
                # A method of an attribute: the attribute is part of it.
                self._call_held(name, path, args, keywords)
                return
            self._method(name, method, args, keywords, starred, known, direct)
            return
        if kind == 'callable':
            if path:
                # ``str.lower(s)``, ``list.append(L, x)``: a type's method, called
                # with its receiver first.
                effect = _unbound_method_effect(known, path)
                if effect is None:
                    self._unknown_call({name}, args, keywords, None)
                elif starred:
                    self._effect(effect, set().union(*args), args, keywords)
                else:
                    self._effect(effect, set().union(*args[:1]), args[1:], keywords)
                return
            if knowledge.reads_notebook_names(known.module, known.qualname):
                self._unseen_code({name}, args, keywords,
                                  _searching(known.module, known.qualname))
                return
            effect = knowledge.function_effect(known.module, known.qualname)
            self._effect(effect or knowledge.UNKNOWN, None, args, keywords,
                         runs_specials=known.module != 'builtins')
            if known.module == 'builtins':
                self._builtin_specials(known.qualname, args)
            return
        # a value of a known type
        if not path and known.code:     # a notebook function taken out of a container
            for key in known.code:
                summary = self.summaries.get(key)
                if isinstance(summary, FunctionSummary):
                    self._apply(summary, {name}, _every_param(summary, args, keywords))
            return
        if not path:
            if known.defined_in not in ('', 'builtins', '__main__'):
                # A library's class or function the knowledge does not describe
                # (``from helpers import record``) may change its module's state,
                # which each interpreter has its own of: as ``helpers.record()``.
                self.result.writes_state.add(module_state(known.defined_in))
            self._unknown_call({name}, args, keywords, None)
            return
        if len(path) > 1:
            self._unknown_call({name}, args, keywords, None)
            return
        self._method(name, path[0], args, keywords, starred, known)

    def _library_functions(self, callee):
        """``'module.qualname'`` of each library function whose result `callee` may
        call (``functools.partial(f)(x)``, or ``partial(f)(x)`` after ``from
        functools import partial``); empty if it may call something else."""
        knowns = self.knowns(callee[0]) if len(callee) > 1 and callee[-1] == APPLY else ()
        if not knowns:
            return frozenset()
        if len(callee) > 2 and all(known.kind == 'module' for known in knowns):
            return frozenset(f'{known.module}.{".".join(callee[1:-1])}' for known in knowns)
        if len(callee) == 2 and all(known.kind == 'callable' and not known.code
                                    for known in knowns):
            return frozenset(f'{known.module}.{known.qualname}' for known in knowns)
        return frozenset()

    def _call_library_result(self, factories, held, args, keywords):
        """Call what one of the library functions `factories` returned, given what
        it was given (`held`).

        A decorator factory's result (``functools.lru_cache(maxsize=None)(f)``)
        changes nothing of ours.  Any other may call what it holds, or a method
        of its arguments, with them: ``operator.methodcaller('append', 1)(a)``
        changes `a`, ``functools.partial(add_to, 5, a)()`` calls ``add_to``.
        """
        if factories <= _DECORATOR_FACTORIES | _READING_RESULTS:
            return
        # A library's function or module given to it is no object of ours to change.
        ours = {name for name in held if not all(
            known.kind in ('callable', 'module', 'missing') for known in self.knowns(name))}
        for name in ours:
            for known in self.knowns(name):
                if known.kind in ('function', 'unknown', 'fresh'):
                    self._call_on_known(name, known, (), [*args, ours - {name}], keywords,
                                        True)
        everything = set().union(*args, held, *(flow for _, flow in keywords))
        notebook_objects = {name for name in everything if any(
            known.kind in ('class', 'instance') and known.code for known in self.knowns(name))}
        # Functions, classes and modules are called, not changed (their code says
        # what it changes); but which method of a notebook object is called, and
        # what it changes, the analysis cannot tell.
        given = [{name for name in names
                  if not all(known.kind in _NOT_SHARED for known in self.knowns(name))}
                 for names in (*args, held)] + [notebook_objects]
        if notebook_objects:
            self._unseen_code(None, given, keywords,
                              f'it calls what {" or ".join(sorted(factories))} made, which '
                              f'may call into {", ".join(sorted(notebook_objects))}')
        else:
            self._unknown_call(None, given, keywords, None)

    def _apply_result(self, name, known, path, args, keywords):
        """Call what calling ``name.path`` returned (``lru_cache(maxsize=None)(f)``)."""
        if known.kind == 'module' or known.kind == 'callable':
            # Given to the call whose result is called, not what made it (that
            # is `_call_library_result`'s): it is called only if that result calls it.
            return
        if known.kind == 'function' and not path:
            for key in known.code:
                summary = self.summaries.get(key)
                if isinstance(summary, FunctionSummary):
                    for nested in summary.nested:
                        inner = self.summaries.get((key[0], *nested))
                        if isinstance(inner, FunctionSummary):
                            self._apply(inner, {name}, _every_param(inner, args, keywords))
            return
        self._unknown_call({name}, args, keywords, None)

    def _module_call(self, name, module, path, args, keywords):
        if not path:
            return
        attribute = path[0]
        state = knowledge.attribute_state(module, attribute)
        if state is not None:
            if len(path) > 1 and path[1] not in _READ_METHODS:
                self.result.writes_state.add(state_name(state))
            else:
                self.result.reads_state.add(state_name(state))
            return
        qualname = '.'.join(path)
        if knowledge.reads_notebook_names(module, qualname):
            self._unseen_code(None, args, keywords, _searching(module, qualname))
            return
        effect = knowledge.function_effect(module, qualname)
        if effect is None and len(path) > 1:
            effect = knowledge.function_effect(f'{module}.{path[0]}', '.'.join(path[1:]))
        if effect is None:
            self.result.writes_state.add(module_state(module))
            effect = knowledge.UNKNOWN
        self._effect(effect, None, args, keywords)

    def _functions(self, name, known, args, keywords, starred):
        """Call `name`, a notebook function (or a method bound to an object)."""
        code = known.code
        summaries = [self.summaries.get(key) for key in code]
        summaries = [s for s in summaries if isinstance(s, FunctionSummary)]
        if not summaries:
            self._unknown_call({name}, args, keywords, None)
            return
        if known.qualname == 'method':
            # ``add = stack.push`` ... ``add(1)``: its object is the first argument,
            # and `name` shares it.
            args = [{name}, *args]
        # The function itself; the rest are closures it holds, or its alternatives.
        for summary in summaries if known.dispatches else summaries[:1]:
            mapping = _every_param(summary, args, keywords) if starred else \
                _params(summary, args, keywords)
            # Its closure's variables live in the function object: `name`.
            self._apply(summary, {name}, mapping, closure_code=code[1:])

    def _class_call(self, name, known, path, args, keywords, starred):
        if not path:
            # Python makes an instance through the metaclass's __call__ (a
            # singleton's registry), which calls the class's __new__.
            self._metaclass_method(name, known, '__call__', args, keywords)
        classes = self._calling_into(name, known, args, keywords)
        if classes is None:
            return
        method = path[0] if path else '__init__'
        if len(path) > 1:
            # ``Color.RED.describe()``: what the class holds (an enum's member, a
            # default instance) may be of any notebook class.
            self._every_class_method(name, path[-1:], args, keywords)
            self._mutate({name})
            return
        if not path:
            new = self._find_method(classes, known.code, '__new__')
            if new is not None:
                self._apply(new, {name}, _params(new, [{name}, *args], keywords) if not starred
                            else _every_param(new, [{name}, *args], keywords))
        summary = self._find_method(classes, known.code, method)
        if summary is None and path and self._metaclass_method(name, known, method, args,
                                                               keywords):
            return   # ``Cls.method()`` where the metaclass defines it: ``cls`` is Cls
        if summary is None:
            if path:
                self._unknown_call({name}, args, keywords, None)
            elif classes[0].decorators:    # a dataclass (`_remade` said)
                self._decorated_construction(name, classes, known.code, args, keywords)
            return   # no __init__ of ours: the new object just holds its arguments
        if path:   # Class.method(...): a class or static method, or a plain call with self
            mapping = _every_param(summary, args, keywords)
            first = summary.params[0] if summary.params else None
            if first is not None:
                mapping[first] = mapping.get(first, set()) | {name}
            self._apply(summary, {name}, mapping)
            return
        mapping = _params(summary, [set(), *args], keywords) if not starred else \
            _every_param(summary, args, keywords)
        if summary.params:
            # self: the new object, an instance of the class (``self.check()`` in
            # __init__ is the class's check), which no name holds yet.
            mapping[summary.params[0]] = {made_by(name)} if not is_marker(name) else set()
        self._apply(summary, {name}, mapping)

    def _metaclass_method(self, name, known, method, args, keywords):
        """Apply `method` of the notebook metaclass of `name`, holding what `known`
        says, on `name` (its first parameter) and `args`; while `name` is not
        known yet, that of any notebook metaclass defining it.  True if one did."""
        if known.kind == 'unknown':
            summaries = self.summaries.methods_named((method,), metaclasses=True)
        elif known.kind == 'class' and known.metaclass_code:
            metaclass = known._replace(code=known.metaclass_code, metaclass_code=())
            classes = self._calling_into(name, metaclass, args, keywords)
            found = classes and self._find_method(classes, metaclass.code, method)
            summaries = [found] if found is not None else []
        elif known.kind == 'class' and self._names_a_metaclass(known):
            # Its statement, not run yet, names a metaclass (or its bases may have
            # one): which is known once it has run; until then, any notebook one.
            summaries = self.summaries.methods_named((method,), metaclasses=True)
        else:
            summaries = ()
        for summary in summaries:
            self._apply(summary, {name}, _params(summary, [{name}, *args], keywords))
        return bool(summaries)

    def _names_a_metaclass(self, known, depth=3):
        """Does the class statement of `known` (a notebook class whose metaclass is not
        known from a made class) name a metaclass other than ``type``, or derive
        from a notebook class that may have one?"""
        for key in known.code:
            summary = self.summaries.get(key)
            if not isinstance(summary, ClassSummary):
                continue
            if summary.metaclass and summary.metaclass != ('type',):
                return True
            for base in summary.bases if depth else ():
                based = self.known(base.partition('.')[0]) if '.' not in base else UNKNOWN
                if based.kind == 'class' and (based.metaclass_code or
                                              self._names_a_metaclass(based, depth - 1)):
                    return True
        return False

    def _unseen_code(self, callee, args, keywords, why):
        """A call that may run notebook code no summary describes: it may read (and,
        through what it reaches, change) anything; `why` says so."""
        self.result.reads_anything = self.result.reads_anything or why
        self._unknown_call(callee, args, keywords, None)

    def _unseen_class(self, name, args, keywords):
        """A call into a notebook class whose code the dataflow cannot find."""
        self._unseen_code({name}, args, keywords,
                          f'it calls into {name}, whose class\'s code the kernel cannot see')

    def _remade(self, name, classes, args, keywords):
        """True if a decorator other than dataclass or total_ordering may have replaced
        what the notebook's `classes` define (then a call into them may do anything,
        and that call is counted so)."""
        for cls in classes:
            for decorator in cls.decorators:
                if not self._is_library(decorator, 'dataclasses', 'dataclass') and \
                        not self._is_library(decorator, 'functools', 'total_ordering'):
                    self._unseen_code({name}, args, keywords,
                                      f'it calls into {name}, whose class the decorator '
                                      f'{".".join(decorator)} may have changed')
                    return True
        return False

    def _decorated_construction(self, name, classes, code, args, keywords):
        """``name(args)`` makes an instance of ``classes[0]``, a dataclass with no
        ``__init__`` of its own: it calls each ``default_factory``, then
        ``__post_init__`` (self holding the arguments)."""
        if classes[0].factories is None:    # a lambda ...: whatever it calls
            self._unseen_code({name}, args, keywords,
                              f'it makes a {name}, whose default_factory is no name')
            return
        for root, *path in classes[0].factories:
            self._call_on(root, tuple(path), [], [], False)
        post_init = self._find_method(classes, code, '__post_init__')
        if post_init is not None:
            given = set().union(*args, *(flow for _, flow in keywords))
            mapping = _every_param(post_init, args, keywords)
            if post_init.params:
                mapping[post_init.params[0]] = given   # self holds what it was given
            self._apply(post_init, {name}, mapping)

    def _is_library(self, path, module, function):
        """Is decorator `path` `module`.`function` (``@function``, ``@function(...)``,
        ``@module.function``), as far as what its name holds tells?"""
        if path == (function,):       # @function: a library's function of that name
            def holds(known):
                return known.kind in ('callable', 'value') and not known.code and \
                    known.module in (module, 'builtins')
        elif len(path) == 2 and path[1] == function:     # @module.function
            def holds(known):
                return known.kind == 'module' and known.module == module
        else:
            return False
        knowns = list(self.knowns(path[0]))
        return bool(knowns) and all(map(holds, knowns))

    def _calling_into(self, name, known, args, keywords):
        """Count what any call into the notebook classes of `known` (a class or an
        instance) does, whichever method it runs; return their summaries, or None
        if there is no more to count: that call may run anything (their code
        unseen, or remade by a decorator), or its class was made by a call
        (``type('P', (), {'show': f})``), whose methods are the functions set on it."""
        classes = [c for c in map(self.summaries.get, known.code) if isinstance(c, ClassSummary)]
        if not classes:
            if any(isinstance(self.summaries.get(key), FunctionSummary) for key in known.code):
                self._set_on_class(name, known, args, keywords)
            else:
                self._unseen_class(name, args, keywords)
            return None
        if self._remade(name, classes, args, keywords):
            return None
        self.result.writes_state |= self._class_states(known)
        self._set_on_class(name, known, args, keywords)
        return classes

    def _set_on_class(self, name, known, args, keywords):
        """Apply the functions set on the classes of `name` from outside their bodies
        (`ValueInfo.code`): which name each went under, so which of them a call
        runs, is not known, so each may run, given any of the arguments."""
        for key in known.code:
            summary = self.summaries.get(key)
            if isinstance(summary, FunctionSummary):
                self._apply(summary, {name}, _every_param(summary, [{name}, *args], keywords))
            elif summary is None and key[0] is not None:   # (None: a class, `Summaries.get`)
                self._unseen_code({name}, args, keywords,
                                  f'it calls into {name}, whose class has a method '
                                  f'the kernel cannot see')

    def _find_method(self, classes, code, method):
        for summary, key in zip(classes, [k for k in code if isinstance(self.summaries.get(k),
                                                                         ClassSummary)]):
            found = summary.methods.get(method)
            if found is not None:
                function = self.summaries.get((key[0], *found))
                if isinstance(function, FunctionSummary):
                    return function
        return None

    def _method(self, name, method, args, keywords, starred, known=None, direct=True):
        """Call ``name.method(args)``, `name` holding what `known` says (None: whatever
        it may hold); `direct` as for `_call_on`."""
        if known is None:
            for known in self.knowns(name):
                self._method(name, method, args, keywords, starred, known, direct)
            return
        if known.kind == 'unknown':
            # What the value is will be known when it runs; a method of it can
            # change it and what it is given, and it may be any notebook class's
            # method of that name, reading that method's globals.
            self._unknown_call({name}, args, keywords, None)
            self._every_class_method(name, (method,), args, keywords)
            return
        if known.kind == 'missing':
            return
        if known.kind == 'instance':
            classes = self._calling_into(name, known, args, keywords)
            if classes is None:
                return
            summary = self._find_method(classes, known.code, method)
            if summary is not None:
                mapping = _params(summary, [{name}, *args], keywords) if not starred else \
                    _every_param(summary, [{name}, *args], keywords)
                self._apply(summary, {name}, mapping)
                return
            if any(base != 'object' for c in classes for base in c.bases):
                # Inherited from a library class, which may call the notebook's
                # own methods back (unittest.TestCase.run calls its tests).
                self._unseen_code({name}, args, keywords,
                                  f'it calls {method} of {name}, inherited from a library class')
            elif direct and not method.startswith('__'):
                # No class of ours defines it: an attribute of the object may hold
                # what is called (``self.h = h`` ... ``self.h(node)``), or it raises.
                self._unseen_code({name}, args, keywords,
                                  f'it calls {name}.{method}, which no class of its defines')
            return
        if known.immutable:
            # ``'{a} {b}'.format_map(d)`` runs ``d.__missing__``.
            self._given_to_library(set().union(*args, *(f for _, f in keywords)), set())
            return
        if method in _COMPARING_METHODS:     # ``xs.sort()``, ``xs.index(x)``
            self._items_run(name, _COMPARING_METHODS[method])
        if known.module in ('builtins', 'collections') and known.qualname in _KEYED_TYPES:
            self._hash_arguments(method, args)
        if method in ('__getitem__', '__missing__') and known.code and \
                (known.module, known.qualname) == ('collections', 'defaultdict'):
            self._call_factory(name, known)
        effect = knowledge.method_effect(known.module, known.qualname, method)
        self._effect(effect if effect is not None else knowledge.UNKNOWN, {name}, args, keywords)

    def _hash_arguments(self, method, args):
        """A dict's or set's `method` hashes the key it is given (``s.add(v)``), or
        the keys its arguments hold (``s.update(vs)``)."""
        if method in _KEY_METHODS and args:
            self._hash_keys(args[0], held=False)
        elif method in _KEYS_METHODS:
            self._hash_keys(set().union(*args))

    def _hash_keys(self, names, held=True):
        """Hash the objects `names` hold (``set([p, q])``: their flows name p and q),
        and (`held`) those the containers they hold hold (``set(points)``); a
        tuple's or frozenset's items are hashed with it (``k = (p, q); d[k]``)."""
        for name in names:
            self._special(name, ('__hash__',), [])
            self._special(name, ('__eq__',), [names])
            if held or self._hashes_its_items(name):
                self._items_run(name, _HASHING)

    def _hashes_its_items(self, name):
        """Does `name` hold a tuple or a frozenset, whose hash is its items'?"""
        return any(known.kind == 'value' and known.module == 'builtins' and
                   known.qualname in ('tuple', 'frozenset') for known in self.knowns(name))

    def _call_factory(self, name, known):
        """``d[key]``, a key missing, calls the factory of `name`'s defaultdict: a
        notebook function, a notebook class (``__new__``, ``__init__``) or an
        object of one (``__call__``)."""
        classes = []
        for key in known.code:
            summary = self.summaries.get(key)
            if isinstance(summary, FunctionSummary):
                self._apply(summary, {name}, _every_param(summary, [], []))
            elif isinstance(summary, ClassSummary):
                classes.append(summary)
            elif summary is None and key[0] is not None:
                self._unseen_code({name}, [], [], f'it may call the factory of {name}, '
                                                  f'whose code the kernel cannot see')
        for method in ('__call__', '__new__', '__init__'):
            summary = self._find_method(classes, known.code, method)
            if summary is not None:
                self._apply(summary, {name}, _params(summary, [{name}], []))

    def _builtin_specials(self, builtin, args):
        """The special methods of notebook classes that calling `builtin` with `args`
        runs: ``len(t)`` runs ``T.__len__``, ``list(t)`` ``T.__iter__``..."""
        if builtin in _SHOWING:
            for flow in args:
                for shown in flow:
                    self._special(shown, _STR_METHODS, [])
                    self._show_items(shown, ('__repr__',))
        elif builtin in _BUILTIN_SPECIALS and args:
            for name in args[0]:
                self._special(name, _BUILTIN_SPECIALS[builtin], [])
        elif builtin in _ATTRIBUTE_BUILTINS and args:
            # Which attribute is not kept (a constant, or not): any of them.
            self._attribute(None, _ATTRIBUTE_BUILTINS[builtin], args[0])
        elif builtin in _ITERATING_BUILTINS:
            self._iterate(set().union(*args))
        elif builtin in ('map', 'filter') or builtin in ('min', 'max') and len(args) == 1:
            self._iterate(set().union(*args[1:] if builtin in ('map', 'filter') else args))
        if builtin in _HASHING_BUILTINS:     # ``set(points)``: their __hash__ and __eq__
            self._hash_keys(set().union(*args))
        if builtin == 'sum':     # ``sum(vectors)``: 0 + the first runs its __radd__
            for name in set().union(*args):
                self._items_run(name, ('__add__', '__radd__'))
                self._special(name, ('__add__', '__radd__'), [])    # start=
        if builtin in _ORDERING_BUILTINS:
            # They compare what they are given (``max(a, b)``) or its items.
            given = set().union(*args)
            for name in given:
                self._items_run(name, _ORDERING)
                for method in _ORDERING:
                    self._special(name, (method,), [given])

    def _operator(self, methods, args):
        """An operator on notebook objects runs their special methods (``a + b``: ``__add__``)."""
        if methods[0] in _COMPARISON_METHODS:
            # ``!=`` falls back on ``__eq__``; the ordering methods functools.total_ordering
            # makes run the class's own ``__lt__`` (or another) and ``__eq__``; and
            # either operand's may run.
            compared = _COMPARISON_METHODS[methods[0]]
            for names, other in ((args[0], args[1]), (args[1], args[0])):
                for name in names:
                    for method in compared:
                        self._special(name, (method,), [other])
                    self._items_run(name, compared)
            return
        if len(args) == 2:
            for name in args[0]:
                self._special(name, methods[:1], [args[1]])
            for name in args[1]:
                self._special(name, methods[1:], [args[0]])
            # A library object's operator (a literal's: no names flow from it) may run
            # the other operand's special methods (``'%(a)s' % d`` runs
            # ``d.__getitem__``, ``[0] * n`` ``n.__index__``).
            for names, other in ((args[0], args[1]), (args[1], args[0])):
                if not other or any(known.kind == 'value' for name in other
                                    for known in self.knowns(name)):
                    self._given_to_library(names, set())
        else:
            for name in args[0]:
                self._special(name, methods, [])
                if methods == ('__hash__',) and self._hashes_its_items(name):
                    self._items_run(name, methods)     # ``k = (p, q); d[k]``
                if '__repr__' in methods:     # ``f'{hand}'``: a list shows its items' reprs
                    self._show_items(name, ('__repr__',))
                if methods == ('__contains__',):
                    # With no __contains__, ``x in obj`` iterates obj (an iterator, used up;
                    # an object of a notebook class through its __iter__ or __getitem__).
                    for known in self.knowns(name):
                        if known.iterator and known.kind == 'value' or \
                                known.kind == 'instance' and not self._defines(known, methods[0]) \
                                and (self._defines(known, '__iter__') or
                                     self._defines(known, '__getitem__')):
                            self._iterate_known(name, known)

    def _attribute(self, attribute, mode, names, held=False):
        """``name.attribute`` read, set or deleted (`mode`) runs what a notebook class
        of `name` hooks there: its ``__getattribute__``/``__getattr__`` (``__setattr__``,
        ``__delattr__``), its property's functions, and a descriptor's ``__get__``
        (``__set__``, ``__delete__``), which may be any notebook class's, held by
        the class.  A descriptor keeping state in itself changes the state all
        instances of classes holding one share (`_class_states`).

        With `held`, it is an attribute of something `name` holds (``s.box.peek``);
        `attribute` None: any attribute (``getattr(s, key)``).
        """
        hooks, descriptor = _ATTRIBUTE_HOOKS[mode]
        for name in names:
            for known in (UNKNOWN,) if held else self.knowns(name):
                if known.kind == 'value' and mode == 'get' and \
                        knowledge.caches_on_read(known.module, known.qualname, attribute):
                    self._mutate({name})    # ``files.n`` keeps the joined list in `files`
                if known.kind not in ('unknown', 'instance', 'class'):
                    continue      # a module's or a library value's: nothing of ours runs
                descriptors = self.summaries.methods_named((descriptor,))
                if known.kind == 'unknown':
                    # Its class is not known: any notebook class's hooks may run.
                    for summary in [*(f for hook in hooks
                                      for f in self.summaries.methods_named((hook,))),
                                    *self.summaries.accessors_named(attribute)]:
                        self._apply(summary, {name}, _params(summary, [{name}], []))
                    for summary in descriptors:
                        self._apply(summary, {name}, _params(summary, [{name}] * 3, []))
                    continue
                classes = [c for c in map(self.summaries.get, known.code)
                           if isinstance(c, ClassSummary)]
                if known.kind == 'instance':
                    for method in hooks:
                        summary = self._find_method(classes, known.code, method)
                        if summary is not None:
                            self._apply(summary, {name}, _params(summary, [{name}], []))
                    for summary in self._accessors(classes, known.code, attribute):
                        self._apply(summary, {name}, _params(summary, [{name}], []))
                for summary in descriptors:
                    self._apply(summary, {name}, _params(summary, [{name}] * 3, []))
                    if summary.params and summary.params[0] in summary.mutates:
                        self.result.writes_state |= self._class_states(known)

    def _accessors(self, classes, code, attribute):
        """The summaries of the functions of property `attribute` of `classes`
        (None: of all their properties)."""
        keys = [k for k in code if isinstance(self.summaries.get(k), ClassSummary)]
        for summary, key in zip(classes, keys):
            functions = summary.accessors.values() if attribute is None else \
                [summary.accessors.get(attribute, ())]
            for function in (f for group in functions for f in group):
                found = self.summaries.get((key[0], *function))
                if isinstance(found, FunctionSummary):
                    yield found

    def _special(self, name, methods, args, kinds=('instance',)):
        """Apply the first of `methods` a notebook class of `name` defines (none: nothing),
        where `name` holds one of `kinds` of notebook object."""
        for known in self.knowns(name):
            self._special_of(name, known, methods, args, kinds)

    def _special_of(self, name, known, methods, args, kinds=('instance',)):
        """`_special`, `name` holding what `known` says."""
        if '__next__' in methods:     # ``next(gen)``
            self._advance(name, known)
        if known.kind == 'unknown':   # ``board = make_board(); board`` shows a Board
            self._every_class_method(name, methods, args, [])
            return
        if known.kind not in kinds:
            return   # builtin types' operators change nothing
        classes = [c for c in map(self.summaries.get, known.code)
                   if isinstance(c, ClassSummary)]
        self.result.writes_state |= self._class_states(known)
        self._set_on_class(name, known, args, [])
        for method in methods:
            summary = self._find_method(classes, known.code, method)
            if summary is not None:
                self._apply(summary, {name}, _params(summary, [{name}, *args], []))
                break

    def _made_here(self, name):
        return is_marker(name) or name in self.effects.binds

    def _every_class_method(self, name, methods, args, keywords):
        """Apply, for every notebook class, the first of `methods` it defines, on
        `name`, a value whose class is not known yet (or something a value holds).

        Such a value is one the cell makes, or one an earlier cell has not made
        yet: this cell waits for it, and is resolved again once it is made.
        Until then, what those methods read counts: a later cell must not
        drop or change it meanwhile (a class the method instantiates,
        defined again below).
        """
        for summary in self.summaries.methods_named(tuple(methods)):
            self._apply(summary, {name}, _params(summary, [{name}, *args], keywords))

    def _holds_objects(self, name, known):
        """May `name`, holding what `known` says, be a container of objects of
        notebook classes (or a value the cell makes, not known yet)?"""
        return known.kind == 'value' and known.module in ('builtins', 'collections') and \
            known.qualname in _CONTAINERS or known.kind == 'unknown' and self._made_here(name)

    def _show_items(self, name, methods):
        """Showing a container shows what it holds (a list's repr is its items'
        reprs): they may be objects of any notebook class."""
        for known in self.knowns(name):
            if self._holds_objects(name, known):
                for method in methods:
                    self._every_class_method(name, (method,), [], [])
                return

    def _items_run(self, name, methods):
        """Comparing, ordering or adding up a container runs `methods` of what it
        holds: objects of the notebook classes it is known to hold, or of any class."""
        for known in self.knowns(name):
            if not self._holds_objects(name, known):
                continue
            if not known.items_known:
                for method in methods:
                    self._every_class_method(name, (method,), [{name}], [])
                continue
            for key in known.code:      # the classes of its items, each with its methods
                cls = self.summaries.get(key)
                for method in methods if isinstance(cls, ClassSummary) else ():
                    summary = self._find_method([cls], (key,), method)
                    if summary is not None:
                        self._apply(summary, {name}, _params(summary, [{name}, {name}], []))

    def _iterate(self, names):
        for name in names:
            for known in self.knowns(name):
                self._iterate_known(name, known)

    def _iterate_known(self, name, known):
        """Iterate `name`, holding what `known` says."""
        if known.kind == 'instance':
            # Its iterator is most often itself (``return self``); a class with no
            # __iter__ is iterated through __getitem__ (0, 1, ... until IndexError).
            self._method(name, '__iter__', [], [], False, known)
            self._method(name, '__next__', [], [], False, known)
            if not self._defines(known, '__iter__') and self._defines(known, '__getitem__'):
                self._method(name, '__getitem__', [set()], [], False, known)
            # list(), tuple(), [*x] and f(*x) ask its length first, to size what they make.
            self._special_of(name, known, ('__len__', '__length_hint__'), [])
        elif known.iterator or known.kind == 'unknown':
            self._mutate({name})
            self._advance(name, known)
        elif known.kind == 'value' and not known.immutable and \
                knowledge.method_effect(known.module, known.qualname, '__iter__') is None and \
                known.module not in ('builtins', 'collections', 'array'):
            self._mutate({name})

    def _advance(self, name, known):
        """Advancing `name`, an iterator `known` describes, runs the notebook code it
        holds: a generator's body, or what a ``map`` calls (`ValueInfo.code`), which
        may read and change what that code reaches and what the iterator holds."""
        if known.kind != 'value' or not known.iterator:
            return
        for key in known.code:
            summary = self.summaries.get(key)
            if isinstance(summary, FunctionSummary):
                self._apply(summary, {name}, _every_param(summary, [{name}], []))
            elif isinstance(summary, ClassSummary):     # ``map(Point, pairs)``
                made = Known('class', '__main__', key[1], (key,))
                self._class_call(name, made, (), [{name}], [], False)
                instance = Known('instance', '__main__', key[1], (key,))
                if self._defines(instance, '__call__'):
                    self._method(name, '__call__', [{name}], [], False, instance, direct=False)
            else:
                self._unseen_code({name}, [], [],
                                  f'advancing {name} runs notebook code the kernel cannot see')

    # -- effects --

    def _effect(self, effect, receiver, args, keywords, runs_specials=True):
        """Apply a `knowledge.Effect` of a call on `receiver` (names, or None).  With
        `runs_specials`, the library's code may run methods of the notebook objects
        it is given (`_given_to_library`); a builtin's are its table's."""
        result = self.result
        result.reads_state |= {state_name(s) for s in effect.reads_state}
        result.writes_state |= {state_name(s) for s in effect.writes_state}
        if effect.host_only:
            result.host_only.append(effect.host_only)
        certain = effect is not knowledge.UNKNOWN
        given = set().union(*args, *(f for _, f in keywords))
        changed = set()
        for target in effect.mutates:
            # What a call changes, it may store the rest of what it is given into
            # (``L.append(q)``, ``heapq.heappush(h, item)``, ``setattr(o, 'a', v)``).
            if target == knowledge.ALL_ARGUMENTS:
                everything = given | (receiver or set())
                self._mutate(everything, certain)
                self._link(everything, everything)
                changed |= everything
            elif target == knowledge.RECEIVER:
                self._mutate(receiver or set(), certain)
                self._link(receiver or set(), given)
            elif isinstance(target, int):
                if target < len(args):
                    self._mutate(args[target], certain)
                    self._link(args[target], set().union(*args[:target], *args[target + 1:],
                                                         *(f for _, f in keywords)))
                    changed |= args[target]
            else:
                named = set().union(*(f for k, f in keywords if k == target))
                self._mutate(named, certain)
                changed |= named
        if runs_specials:
            self._given_to_library(given, changed)
        for method in effect.runs_methods:
            for name in given | (receiver or set()):
                self._special(name, (method,), [])
                self._show_items(name, (method,))     # what it holds: of any notebook class
        if effect.calls_arguments:
            callbacks, bind = self.callbacks
            self.callbacks = ((), None)
            for callback in callbacks:
                if callback.callee[-1] == APPLY:
                    # Of the results of calls it is given, those of the library's
                    # functions that make callables are what it calls.
                    if self._library_functions(callback.callee) & _CALLABLE_MAKERS:
                        self.call(callback, bind)
                elif self._is_method(callback, bind):
                    self.call(callback, bind)
            given |= receiver or set()
            for name in given:
                for known in self.knowns(name):
                    self._call_back(name, known, [given - {name}])

    def _is_method(self, callback, bind):
        """May the attribute a `Call.callbacks` entry names be a method or function,
        not data (``sys.stdout``, ``self.out``)?"""
        path = callback.callee[1:]
        for root in bind(callback.root):
            for known in self.knowns(root):
                if known.kind == 'module':
                    if callable(_loaded(known.module, path)) or \
                            knowledge.function_effect(known.module, '.'.join(path)) is not None:
                        return True
                elif known.kind == 'instance':
                    if len(path) == 1 and self._defines(known, path[0]):
                        return True
                elif known.kind != 'missing':
                    return True
        return False

    def _defines(self, known, method):
        """Does a notebook class of `known` (an instance) define `method`?"""
        classes = [c for c in map(self.summaries.get, known.code) if isinstance(c, ClassSummary)]
        return self._find_method(classes, known.code, method) is not None

    def _call_back(self, name, known, args):
        """Call `name`, given to a call that calls what it is given, with `args`
        (the rest of what that call was given, or what it holds); or advance it,
        an iterator (``next(gen)``, ``gen.send(v)``)."""
        if known.kind == 'unknown':
            self._mutate({name})   # calling it may change it
            return
        self._advance(name, known)
        called = known.kind == 'value' and known.qualname in _CALLED_VALUES
        if not called and known.kind not in ('function', 'class', 'instance', 'callable') or \
                name in self.calling_back:
            return
        self.calling_back.add(name)
        try:
            if called:
                # ``add = seen.add`` in an earlier cell: its object, which `name`
                # shares, and what it is given may change.
                self._unknown_call({name}, args, [], None)
            elif known.kind == 'function':
                if known.qualname in _STATEFUL_WRAPPERS:
                    self._mutate({name})
                self._functions(name, known, args, [], True)
            elif known.kind == 'class':
                self._class_call(name, known, (), args, [], True)
                self._library_instance_methods(known)
            elif known.kind == 'instance':
                if self._defines(known, '__call__'):
                    self._method(name, '__call__', args, [], True, known, direct=False)
            else:    # ``map(next, iterators)``, ``map(heapq.heappop, heaps)``
                self._call_on_known(name, known, (), args, [], True)
        finally:
            self.calling_back.discard(name)

    def _library_instance_methods(self, known):
        """A library given notebook class `known` may call any method of the
        instances it makes (``json.dumps(x, cls=Encoder)`` calls ``Encoder.default``):
        what they read and change beyond those instances."""
        for key in known.code:
            cls = self.summaries.get(key)
            for method in cls.methods if isinstance(cls, ClassSummary) else ():
                summary = self._find_method([cls], (key,), method)
                if summary is not None:
                    self._apply(summary, set(), _every_param(summary, [], []))

    def _given_to_library(self, names, changed):
        """A library's code given notebook objects `names` may run their special
        methods (``'{a}'.format_map(d)`` runs ``d.__missing__``, ``json.dump(x, f)``
        ``f.write``): those reading them, and of those in `changed`, which the
        call may change, any method.  (What a notebook object's class is not
        known yet the cell is analysed again for, once it is.)"""
        for name in names:
            for known in self.knowns(name):
                if known.kind != 'instance' or not known.code:
                    continue
                for key in known.code:
                    cls = self.summaries.get(key)
                    methods = cls.methods if isinstance(cls, ClassSummary) else ()
                    for method in methods:
                        if method in _NOT_CALLED_ON_INSTANCES or name not in changed and \
                                (method in _CHANGING_SPECIALS or not _is_special(method)
                                 and method not in _READ_BY_LIBRARIES):
                            continue
                        summary = self._find_method([cls], (key,), method)
                        if summary is not None:
                            self._apply(summary, {name}, _every_param(summary, [names], []))

    def _unknown_call(self, callee, args, keywords, why):
        """A call into code no summary or table describes."""
        self._effect(knowledge.UNKNOWN, callee, args, keywords)

    def _mutate_all(self, args, keywords, callee):
        self._mutate(set().union(*args, *(f for _, f in keywords), callee))

    def _mutate(self, names, certain=False):
        names = {n for n in names if n != CLOSURE}
        self.result.mutates |= names
        if certain:
            self.result.certain |= names

    def _link(self, holders, held):
        """Objects of `held` may now be stored in objects of `holders`: changing one
        may change the other, in this cell and in the cells after it.  An object
        the call made holds them only through the call's result, whose flow
        says so already."""
        holders = {n for n in holders if not is_marker(n)}
        for holder in holders:
            for name in held:
                if name != holder and not is_marker(name):
                    for one, other in ((holder, name), (name, holder)):
                        self.aliases.setdefault(one, set()).add(other)
                        self.result.links.setdefault(one, set()).add(other)

    def _apply(self, summary, callee, mapping, closure_code=()):
        """Apply a notebook function's summary, its parameters bound by `mapping`."""
        # By identity: a summary's key (qualname, line) is the same for a function
        # of an earlier cell and one the cell defines on the same line.
        application = (id(summary), frozenset(callee),
                       frozenset((k, frozenset(v)) for k, v in mapping.items()))
        if id(summary) in self.active or application in self.applied:
            return   # recursion, or applied already with the same arguments
        self.applied.add(application)
        self.active.add(id(summary))
        try:
            closure = callee
            defaults = dict(summary.default_flows)

            def bind(flow):
                names = set()
                for name in flow:
                    if name in mapping:
                        names |= mapping[name] - {_DEFAULT}
                        if _DEFAULT in mapping[name]:   # it may be left to its default
                            names |= callee | defaults.get(name, frozenset())
                    elif name == CLOSURE:
                        names |= closure
                    elif name in summary.defaults:
                        # Its default value lives in the function object.
                        names |= callee | defaults.get(name, frozenset())
                    elif name in summary.params or name in summary.kwonly or \
                            name in (summary.vararg, summary.kwarg):
                        continue   # a parameter given nothing of ours
                    else:
                        names.add(name)
                return frozenset(names)

            result = self.result
            if summary.dynamic:
                which = f'{summary.key[0]}, which {summary.dynamic.removeprefix("it ")}'
                result.unknown = result.unknown or f'it calls {which}'
                if summary.dynamic == DAEMON_THREAD:
                    result.host_only.append(which)
            for name in summary.reads:
                result.reads.add(name)
                self._read_name(name)
            result.binds |= set(summary.binds)
            result.deletes |= set(summary.deletes)
            self._mutate(bind(summary.mutates), certain=True)
            for roots, sources in summary.stores:
                self._link(bind(roots), bind(sources))
            if summary.keeps_state:
                self._mutate(callee, certain=True)
            if summary.imports:
                result.reads_state.add(state_name('sys.path'))
            for call in summary.calls:
                if call.callee and call.callee[0] == CLOSURE or (
                        call.root == frozenset({CLOSURE}) and closure_code):
                    for key in closure_code:
                        inner = self.summaries.get(key)
                        if isinstance(inner, FunctionSummary):
                            self._apply(inner, callee, _every_param(
                                inner, [bind(a) for a in call.args],
                                [(k, bind(f)) for k, f in call.keywords]))
                    continue
                self.call(call, bind)
        finally:
            self.active.discard(id(summary))


def _loaded(module, path):
    """The object at dotted `path` in `module` if the host has imported it, else None."""
    found = sys.modules.get(module)
    for part in path:
        found = getattr(found, part, None)
    return found


def _unbound_method_effect(known, path):
    """The `knowledge.Effect` of calling ``Type.method`` (`known` a builtin or
    library type, `path` ``(method,)``) with an instance first, or None if that
    is no method of its instances (a class method, or not known)."""
    if len(path) != 1:
        return None
    holder = _loaded(known.module, known.qualname.split('.'))
    if not isinstance(holder, type):
        return None
    try:
        method = inspect.getattr_static(holder, path[0])
    except AttributeError:
        return None
    if not isinstance(method, (types.MethodDescriptorType, types.WrapperDescriptorType,
                               types.FunctionType)):
        return None
    return knowledge.method_effect(known.module, known.qualname, path[0]) or knowledge.UNKNOWN


def _maker(marker):
    """What made the object of a `made_by`/`made_in_cell` marker (``'hashlib.new'``)."""
    return marker[marker.index(' ') + 1:-1]


def _library_made(marker):
    """Is `marker` the result of calling a global's attribute (``<made hashlib.new>``)?"""
    return (marker.startswith('<made ') or marker.startswith('<new ')) and '.' in marker


def _searching(module, qualname):
    return f'it calls {module}.{qualname}, which ' \
        f'{knowledge.reads_notebook_names(module, qualname)}'


def _is_special(method):
    return len(method) > 4 and method.startswith('__') and method.endswith('__')


def _params(summary, args, keywords):
    """Parameter -> the names whose objects its argument may hold."""
    mapping = {}
    for param, flow in zip(summary.params, args):
        mapping[param] = set(flow)
    if summary.vararg is not None:
        mapping[summary.vararg] = set().union(*args[len(summary.params):])
    extra = set()
    for keyword, flow in keywords:
        if keyword in summary.params or keyword in summary.kwonly:
            mapping[keyword] = mapping.get(keyword, set()) | set(flow)
        else:
            extra |= set(flow)
    if summary.kwarg is not None:
        mapping[summary.kwarg] = extra
    return mapping


# In a parameter's flow from `_every_param`: it may be left to its default value.
_DEFAULT = '<default>'


def _every_param(summary, args, keywords):
    """Each parameter may hold any argument (``*args`` hide which goes where), and
    one with a default value may be given none."""
    everything = set().union(*args, *(flow for _, flow in keywords))
    names = (*summary.params, *summary.kwonly, summary.vararg, summary.kwarg)
    return {name: set(everything) | ({_DEFAULT} if name in summary.defaults else set())
            for name in names if name is not None}


def known_from_value(value):
    """What a live value is (the ``%%interp`` magic knows its values)."""
    from .._core.values import describe
    return known_from_info(describe(value))


_IMMUTABLE_LITERALS = frozenset({'int', 'float', 'str', 'bytes', 'bool', 'complex', 'NoneType',
                                 'range', 'frozenset'})


def static_known(effects, filename, name):
    """What a cell's syntax says `name` will hold after it (its `CellEffects`).

    `filename` is the file its code is compiled under (its functions' summaries
    are found by it), or None.
    """
    if filename is not None and name in effects.definitions:
        return _defined(effects, filename, name, effects.definitions[name])
    if name in effects.modules:
        return Known('module', effects.modules[name], 'module')
    if name in effects.imported:
        return imported_function(effects, name) or UNKNOWN
    if name in effects.literal_types:
        module, qualname = effects.literal_types[name]
        return Known('value', module, qualname, immutable=qualname in _IMMUTABLE_LITERALS)
    return UNKNOWN


def _defined(effects, filename, name, key):
    """What `name` holds once the def, class or lambda of summary `key` bound it."""
    summary = effects.functions.get(key)
    decorated = any(call.line == key[1] and call.args and name in call.args[0]
                    for call in effects.calls)
    if decorated:
        return UNKNOWN
    kind = 'class' if isinstance(summary, ClassSummary) else 'function'
    return Known(kind, '__main__', key[0], ((filename, *key),))


# What a name may hold that notebook code in the cell may call, before the cell rebinds it.
_CALLED = frozenset({'function', 'class', 'instance'})


def in_cell(effects, filename, before):
    """A lookup for `resolve`: what a name holds when the cell's calls run.

    A name the cell binds itself (and does not read first) holds what the
    cell's syntax says; any other name, what `before(name)` says.

    A name the cell rebinds may hold more than one thing while it runs: the
    lookup's ``alternatives(name)`` are the others -- every def, class or
    lambda the cell binds it to, what its last binding makes it if the cell
    reads it first, and, if the cell's code may call it before rebinding it,
    what it held before.
    """
    resolving = set()    # names whose value after the cell is being worked out

    def after(name):
        if name in resolving:      # ``x = 'a'; x = x.upper()``: made from itself
            return static_known(effects, filename, name)
        resolving.add(name)
        try:
            return _made_by_call(name)
        finally:
            resolving.discard(name)

    def _made_by_call(name):
        path = effects.constructed.get(name)
        if path is not None and len(path) == 1:
            made_by = lookup(path[0])
            if made_by.kind == 'class':
                return Known('instance', '__main__', made_by.qualname, made_by.code)
        elif path is not None:
            made_by = lookup(path[0])
            result = made_by.kind == 'module' and \
                knowledge.result_type(made_by.module, '.'.join(path[1:]))
            if result:     # np.arange(...): an array, whose methods are known
                return Known('value', *result)
        return static_known(effects, filename, name)

    def lookup(name):
        if name in effects.binds and name not in effects.reads:
            return after(name)
        return before(name)

    def alternatives(name):
        if name not in effects.binds and name not in effects.deletes:
            return ()
        found = [_defined(effects, filename, name, key) if filename is not None else UNKNOWN
                 for key in effects.every_definition.get(name, ())]
        old = before(name)
        if name in effects.reads:
            new = after(name) if name in effects.binds else MISSING
            if new.kind != 'unknown' or old.kind in _CALLED:
                found.append(new)
        elif old.kind in _CALLED:
            found.append(old)
        primary = lookup(name)
        return tuple(k for k in dict.fromkeys(found) if k != primary and k != MISSING)

    lookup.alternatives = alternatives
    lookup.before = before
    return lookup
