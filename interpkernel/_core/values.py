"""What a value is, without moving it: descriptions, fingerprints and the version store.

In the interp kernel a value stays in the interpreter that made it.  The host
schedules cells by what values *are*, so each interpreter describes the values
its cells make (`describe` -> `ValueInfo`: type, estimated size, whether it
can change in place, which notebook code it holds) and keeps them by version
in a `Store`.  `fingerprint` is the cheap run-time check behind the
dataflow's promise: taken before and after a cell, a different fingerprint
means the cell changed the value in place.  It samples big containers, so it
can miss a change deep in the middle of one; it never reports a change that
did not happen.

Looking at a value runs none of its code: types are tested with
``issubclass(type(value), T)``, as ``isinstance`` asks the value for its
``__class__`` (a notebook's ``__getattribute__`` runs), and attributes are read
from the value's own ``__dict__``.
"""

import collections
import functools
import gc
import itertools
import sys
import sysconfig
import types
import weakref
import zlib
from typing import NamedTuple

__all__ = ['ValueInfo', 'describe', 'fingerprint', 'Store', 'code_key', 'comes_with_python',
           'is_notebook_function']

_IMMUTABLE_ATOMS = (type(None), bool, int, float, complex, str, bytes, range, type(Ellipsis),
                    type(NotImplemented))
_SAMPLE = 16            # items looked at from each end and across the middle of a container
_FULL = 256             # containers up to this size are fingerprinted item by item
_DEPTH = 3              # how deep fingerprints look into nested containers
_IMMUTABLE_CHECK = 100_000   # tuples/frozensets longer than this count as mutable


class ValueInfo(NamedTuple):
    """A value as the scheduler sees it (crosses interpreters as a plain tuple).

    Attributes:
        type_module, type_qualname: its type; for a module, its own name and 'module'.
        size: estimated bytes it holds (sampled for big containers).
        immutable: it can never change in place (ints, strings, tuples of them ...).
        iterator: iterating it consumes it (iterators, generators, files), or
            iterating what it holds does (a tuple of ``tee(...)``'s iterators).
        identity: ``id()`` in the interpreter that holds it, to find aliases.
        code: `code_key` of notebook code the value is or calls (a function, a
            class, an instance's class and the functions set on it from outside
            its body, a decorated function's original, a defaultdict's
            factory, the functions and the classes of the objects one of
            Python's containers holds ...).
        movable: False if it is known not to cross interpreters (a generator,
            a lock, an open file), or if copying it would run notebook code (its
            class's ``__getattribute__``); True if it may (tried when needed).
        is_class: it is a class.
        installed: it is a module, or a class or function defined by one, of
            Python's or of an installed package, not of the notebook's files.
            The run-time check fingerprints none of those, and no notebook value
            lives in them, so a cell that reads only such values (and
            immutable ones) reaches no value the check could see changed.
        defined_in: the module a class or function says it was defined in
            (its ``__module__``), else ''.
        defined_as: the name it says it has there (its ``__qualname__``), else ''.
        items_known: it is one of Python's containers (a list, dict, deque ...)
            whose items (keys too) were all looked at and hold no container:
            `code` names the classes of all the objects comparing or sorting it
            may compare.
        metaclass_code: of a class: `code_key` of its notebook metaclass, the
            notebook classes that derives from and the functions set on them
            (Python calls the metaclass to make an instance, and a class
            statement naming the class as a base calls it too).
        dispatches: calling it calls one of the functions `code` names, which
            one its arguments' types choose (a ``functools.singledispatch``
            function, whose registered implementations a later cell may add to).
    """
    type_module: str
    type_qualname: str
    size: int
    immutable: bool
    iterator: bool
    identity: int
    code: tuple
    movable: bool
    is_class: bool
    installed: bool
    defined_in: str = ''
    defined_as: str = ''
    items_known: bool = False
    metaclass_code: tuple = ()
    dispatches: bool = False

    @classmethod
    def received(cls, info):
        """The `ValueInfo` of the plain tuple an interpreter sent, its type's names
        interned: a long session keeps one per shown result, most of a few types."""
        module, qualname, *rest = info
        return cls(_interned(module), _interned(qualname), *rest)


def _interned(text):
    return sys.intern(text) if type(text) is str else text


def code_key(function):
    """(filename, qualname, first line) of a function's code, how the dataflow finds its summary."""
    code = function.__code__
    return (code.co_filename, code.co_qualname, code.co_firstlineno)


def _class_key(cls):
    """(filename, qualname, first line) of a class, the filename that of a function
    written in its body (None if it has none): not of one a decorator added, as
    dataclass adds ``__replace__`` from dataclasses.py."""
    filename = None
    for member in _of_class(cls, '__dict__').values():
        function = _function_of(member)
        if function is not None and \
                function.__code__.co_qualname.startswith(f'{cls.__qualname__}.'):
            filename = function.__code__.co_filename
            break
    return (filename, _of_class(cls, '__qualname__'), _of_class(cls, '__firstlineno__', 0))


def _function_of(obj):
    """The plain function behind a method wrapper, a decorated function or a partial."""
    for _ in range(8):
        if issubclass(type(obj), types.FunctionType):
            # (functools.wraps gave a wrapper the names of what it wraps: its
            # code and globals say what it is.)
            if (obj.__globals__.get('__name__'), obj.__code__.co_qualname) \
                    not in _CALLING_WRAPPERS:
                return obj
            obj = _own_attributes(obj).get('__wrapped__')
        elif issubclass(type(obj), (staticmethod, classmethod, types.MethodType)):
            obj = obj.__func__
        elif issubclass(type(obj), property):
            obj = obj.fget
        elif '__wrapped__' in (attributes := _own_attributes(obj)):   # functools.wraps
            obj = attributes['__wrapped__']
        elif issubclass(type(obj), functools.partial):
            obj = obj.func
        else:
            return None
    return None


# Python's wrappers that do nothing but call what they wrap (``@contextmanager``'s:
# entering its result runs the notebook generator's body).
_CALLING_WRAPPERS = frozenset({('contextlib', 'contextmanager.<locals>.helper'),
                               ('contextlib', 'asynccontextmanager.<locals>.helper')})


def _of_class(cls, name, default=None):
    """Class `cls`'s attribute `name` (`default` if it has none), looked up as
    `type` looks it up: a notebook metaclass's ``__getattribute__`` would run
    (and print, or count) for the kernel's look."""
    try:
        return type.__getattribute__(cls, name)
    except AttributeError:
        return default


def _own_attributes(obj):
    """The attributes kept in `obj`'s own ``__dict__`` (or {}), read without running
    its class's ``__getattr__`` or ``__getattribute__``: a notebook's may print,
    count its calls or raise, and looking at a value must do none of that."""
    try:
        attributes = object.__getattribute__(obj, '__dict__')
    except (AttributeError, TypeError):   # TypeError: another class's __dict__ descriptor
        return {}
    return attributes if isinstance(attributes, dict) else {}


def is_notebook_function(function):
    """Is plain function `function` defined by notebook code (its globals a notebook
    namespace)?  A library's wrapper made with ``functools.wraps`` takes the
    ``__module__`` of what it wraps, but its globals stay its library's."""
    globals_ = getattr(function, '__globals__', None)
    return function.__module__ == '__main__' and globals_ is not None and \
        globals_.get('__name__') == '__main__'


def _notebook_code(value):
    """Keys of the notebook code a value is or holds (functions, classes, closures)."""
    keys = []
    function = _function_of(value)
    for implementation in dispatched(function):
        keys.extend(_notebook_code(implementation))
    if function is not None and is_notebook_function(function):
        keys.append(code_key(function))
        for cell in function.__closure__ or ():
            try:
                held = cell.cell_contents
            except ValueError:      # an empty cell
                continue
            inner = _function_of(held)
            if inner is not None and inner is not function and is_notebook_function(inner):
                keys.append(code_key(inner))
    keys.extend(_class_code(value if issubclass(type(value), type) else type(value)))
    if issubclass(type(value), collections.defaultdict):
        # Looking a missing key up calls its factory: notebook code it holds.
        factory = _DEFAULT_FACTORY.__get__(value)
        function = _function_of(factory)
        if function is not None and is_notebook_function(function):
            keys.append(code_key(function))
        keys.extend(_class_code(factory if issubclass(type(factory), type) else type(factory)))
    keys.extend(_lazy_code(value))
    if type(value) in _PLAIN_CONTAINERS:
        # A container of notebook functions (`ops = {'add': add}`): calling one
        # of its items runs their code; comparing or sorting objects of
        # notebook classes runs their classes'.
        for item in itertools.islice(_items(value), _FULL):
            function = _function_of(item)
            if function is not None and is_notebook_function(function):
                keys.append(code_key(function))
            elif type(item).__module__ == '__main__':
                keys.extend(_class_code(type(item)))
    return tuple(dict.fromkeys(keys))


def dispatched(function):
    """The functions a ``functools.singledispatch`` function `function` chooses
    among (those a later cell registers too); none for any other."""
    if function is None or (function.__globals__.get('__name__'), function.__code__.co_qualname) \
            != ('functools', 'singledispatch.<locals>.wrapper'):
        return ()
    registry = _own_attributes(function).get('registry')
    return tuple(registry.values()) if isinstance(registry, types.MappingProxyType) else ()


def _lazy_code(iterator, depth=4):
    """Keys of the notebook code that advancing `iterator` runs: a notebook
    generator's or coroutine's body (a generator expression's too), what a
    ``map``, ``filter`` or itertools' iterator calls, and what the iterators
    they draw from run (``enumerate(gen)``, ``zip(a, b)``, ``(f(x) for x in m)``)."""
    kind = type(iterator)
    if kind in _SUSPENDED:
        frame = _SUSPENDED[kind][0].__get__(iterator)
        if frame is None:       # finished: it runs nothing more
            return
        if frame.f_globals.get('__name__') == '__main__':
            code = _SUSPENDED[kind][1].__get__(iterator)
            yield (code.co_filename, code.co_qualname, code.co_firstlineno)
        if depth:
            for local in list(frame.f_locals.values()):
                yield from _lazy_code(local, depth - 1)
    elif depth and kind.__module__ in ('builtins', 'itertools') and (
            hasattr(kind, '__next__') or kind is tuple and len(iterator) <= 16 or
            kind is _TEE_BUFFER):
        # Python's own iterators: what they hold, found without running any of
        # it (a tuple of zip's iterators, tee's shared buffer ...).
        for held in gc.get_referents(iterator):
            if held is kind:
                continue
            if callable(held) and not hasattr(type(held), '__next__'):
                yield from _notebook_code(held)
            else:
                yield from _lazy_code(held, depth - 1)


# Where tee's iterators keep what they draw from (zip's and chain's: in a tuple).
_TEE_BUFFER = type(gc.get_referents(itertools.tee(())[0])[-1])


# Where a suspended body's frame and code are (read through the type's descriptors).
_SUSPENDED = {kind: (vars(kind)[prefix + '_frame'], vars(kind)[prefix + '_code'])
              for kind, prefix in ((types.GeneratorType, 'gi'), (types.CoroutineType, 'cr'),
                                   (types.AsyncGeneratorType, 'ag'))}


# Python's containers (exactly: a subclass's own methods are not called).
_PLAIN_CONTAINERS = frozenset({list, tuple, set, frozenset, dict, collections.deque,
                               collections.defaultdict, collections.OrderedDict,
                               collections.Counter})


def _items(container):
    """What one of `_PLAIN_CONTAINERS` holds: a dict's keys and values."""
    return itertools.chain(dict.keys(container), dict.values(container)) \
        if isinstance(container, dict) else iter(container)


def _items_known(value):
    """See `ValueInfo.items_known`: each item is an atom or an object of a
    notebook class (not a container, nor a library's object that may hold one)."""
    return type(value) in _PLAIN_CONTAINERS and len(value) <= _FULL and \
        all(type(item) in _IMMUTABLE_ATOMS or type(item).__module__ == '__main__'
            for item in _items(value))


def _class_code(cls):
    """Keys of the notebook classes among `cls` and its bases, and of the functions
    set on them."""
    for klass in _of_class(cls, '__mro__'):
        if _of_class(klass, '__module__') != '__main__':
            continue
        # A class a library function made (namedtuple, Enum('E', ...)) runs no code of
        # the notebook's but the functions set on it (``type('P', (), {'show': f})``);
        # one of a class statement (`__firstlineno__`) runs its body's.
        if '__firstlineno__' in _of_class(klass, '__dict__'):
            yield _class_key(klass)
        yield from _set_on(klass)


# Read through its descriptor: a notebook subclass's attribute hooks must not run.
_DEFAULT_FACTORY = vars(collections.defaultdict)['default_factory']


def _set_on(cls):
    """Keys of notebook functions set on class `cls` from outside its body
    (``Card.__str__ = card_str``, or by a magic): a call of any of its methods may
    run them.  A decorator's (dataclass's ``__init__``) say they are the class's."""
    for member in _of_class(cls, '__dict__').values():
        function = _function_of(member)
        if function is not None and is_notebook_function(function) and \
                not function.__qualname__.startswith(f'{cls.__qualname__}.'):
            yield code_key(function)


_UNMOVABLE = frozenset({'generator', 'coroutine', 'async_generator', 'frame', 'traceback',
                        'lock', 'RLock', 'Thread', 'socket', 'TextIOWrapper', 'BufferedReader',
                        'BufferedWriter', 'BufferedRandom', 'FileIO', 'Connection', 'Cursor',
                        'SSLSocket',
                        # A copy would hold its objects weakly where nothing else holds
                        # them: empty at once (pickle copies a WeakSet's items).
                        'WeakSet', 'WeakValueDictionary', 'WeakKeyDictionary', 'finalize',
                        'ReferenceType', 'WeakMethod'})


_TRACEBACK = vars(BaseException)['__traceback__']
# What a metaclass runs as a class is made (a copy too) or its attributes set and read.
_METACLASS_HOOKS = frozenset({'__prepare__', '__new__', '__init__', '__setattr__',
                              '__getattribute__', '__getattr__'})


def _remade_by_its_metaclass(value):
    """Is `value` a class, or an object of a class, whose notebook metaclass runs
    code as the class is made or its attributes set?  A copy would be made
    through it again (its ``__new__`` printing, registering once more)."""
    cls = value if issubclass(type(value), type) else type(value)
    return any(meta.__module__ == '__main__' and not _METACLASS_HOOKS.isdisjoint(vars(meta))
               for meta in type(cls).__mro__)


def _holds_traceback(value):
    """Is `value` an exception that was raised (``except E as e: error = e``)?  A
    copy would lose its traceback, whose frames cannot be copied."""
    return issubclass(type(value), BaseException) and _TRACEBACK.__get__(value) is not None


def describe(value):
    """The `ValueInfo` of `value` (cheap: samples big containers)."""
    kind = type(value)
    module = value.__name__ if issubclass(type(value), types.ModuleType) else kind.__module__
    defined_in = defined_as = ''
    if issubclass(type(value), type):
        defined_in, defined_as = _of_class(value, '__module__'), _of_class(value, '__qualname__')
    elif issubclass(type(value), (types.FunctionType, types.BuiltinFunctionType)):
        defined_in = getattr(value, '__module__', '')
        defined_as = getattr(value, '__qualname__', '')
    return ValueInfo(module, kind.__qualname__, _size(value), _immutable(value),
                     hasattr(kind, '__next__') or _holds_iterators(value), id(value),
                     _notebook_code(value),
                     kind.__qualname__ not in _UNMOVABLE and not _filled_cache(value)
                     and not _weakly_held(value)
                     and not _python_method(value, '__getattribute__')
                     and not _holds_traceback(value) and not _remade_by_its_metaclass(value),
                     issubclass(type(value), type), _installed(value),
                     defined_in if isinstance(defined_in, str) else '',
                     defined_as if isinstance(defined_as, str) else '',
                     _items_known(value),
                     tuple(_class_code(kind)) if issubclass(kind, type) else (),
                     bool(dispatched(_function_of(value))))


# Where Python's own modules and installed packages live (a venv's site-packages too).
_STDLIB_DIRS = tuple(filter(None, {sysconfig.get_path(name) for name in ('stdlib', 'platstdlib')}))
_PACKAGE_DIRS = tuple(filter(None, {sysconfig.get_path(name) for name in ('purelib', 'platlib')}))


def comes_with_python(spec, *, or_installed=False):
    """Is the module of import spec `spec` built in, frozen or a file of Python's
    standard library (``or_installed``: or of an installed package)?"""
    origin = getattr(spec, 'origin', None)
    return origin in ('built-in', 'frozen') or isinstance(origin, str) and origin.startswith(
        _STDLIB_DIRS + _PACKAGE_DIRS if or_installed else _STDLIB_DIRS)


def _installed(value):
    """Is `value` a module of Python's or of an installed package, or a class or
    function such a module defines (see `ValueInfo.installed`)?"""
    if issubclass(type(value), types.ModuleType):
        module = value
    else:
        try:
            if not _library_callable(value) or not isinstance(value.__module__, str):
                return False
        except Exception:   # noqa: BLE001 - an object whose __getattr__ fails is not ours to judge
            return False
        module = sys.modules.get(value.__module__)
    return comes_with_python(getattr(module, '__spec__', None), or_installed=True)


def _cache_info(value):
    """``cache_info()`` of a functools.lru_cache / cache wrapper, else None."""
    if type(value).__name__ != '_lru_cache_wrapper':
        return None
    return tuple(value.cache_info())


def _weakly_held(value):
    """Is `value` an object of a notebook class that something holds weakly (a
    ``weakref.finalize``, a ``WeakValueDictionary``)?  Those follow the original's
    life: it stays where it is, so a cell that lets go of it frees it there."""
    kind = type(value)
    return kind.__module__ == '__main__' and not issubclass(kind, type) and \
        weakref.getweakrefcount(value) > 0


def _filled_cache(value):
    """A cache its calls filled does not survive a copy (a copy starts empty): such a
    function stays where it was filled, and its readers go there."""
    info = _cache_info(value)
    return info is not None and info[-1] > 0


def _library_or_atom(value):
    return issubclass(type(value), _IMMUTABLE_ATOMS) and type(value) in _IMMUTABLE_ATOMS or \
        issubclass(type(value), types.ModuleType) or _library_callable(value)


def _library_callable(value):
    """A named callable a library defines: function, class, builtin, numpy's ufunc ..."""
    return callable(value) and getattr(type(value), '__module__', None) != '__main__' and \
        getattr(value, '__module__', None) not in ('__main__', None) and \
        isinstance(getattr(value, '__name__', None), str)


def _immutable(value, depth=0):
    if issubclass(type(value), _IMMUTABLE_ATOMS):
        return type(value) in _IMMUTABLE_ATOMS
    if type(value) in (tuple, frozenset) and depth < 8 and len(value) <= _IMMUTABLE_CHECK:
        return all(_immutable(item, depth + 1) for item in value)
    return False


def _holds_iterators(value):
    """Does a list, tuple or dict hold iterators (``tee(...)``'s), as far as a sample
    shows?  Iterating one of them uses up part of the container's value."""
    if type(value) not in (list, tuple, dict) or not value:
        return False
    return any(hasattr(type(item), '__next__')
               for item in _sample(value.values() if type(value) is dict else value))


def _size(value):
    try:
        size = sys.getsizeof(value)
    except TypeError:
        return 64
    # Only the builtin containers themselves are sampled: a subclass's own
    # ``__len__``, ``__iter__`` or ``values`` is notebook code.
    if type(value) in (list, tuple, set, frozenset, dict) and value:
        items = list(_sample(value.values() if type(value) is dict else value))
        if type(value) is dict:
            items += list(_sample(value.keys()))
        each = sum(_shallow(item) for item in items) / len(items)
        size += int(each * len(value) * (2 if type(value) is dict else 1))
    elif not issubclass(type(value), (type, types.ModuleType, types.FunctionType)):
        size += sum(_shallow(v) for v in list(_own_attributes(value).values())[:_FULL])
    return size


def _shallow(item):
    try:
        size = sys.getsizeof(item)
    except TypeError:
        return 64
    if issubclass(type(item), (list, tuple, set, frozenset, dict)):
        size += 64 * len(item)
    return size


def _sample(items):
    """Up to 3 * _SAMPLE items: the first, the last and some across the middle."""
    if isinstance(items, (list, tuple)):
        count = len(items)
        if count <= 3 * _SAMPLE:
            return items
        step = count // _SAMPLE
        return [*items[:_SAMPLE], *items[step::step][:_SAMPLE], *items[-_SAMPLE:]]
    if len(items) <= 3 * _SAMPLE:
        return list(items)
    iterator = iter(items)
    first = [next(iterator) for _ in range(_SAMPLE)]
    last = list(itertools.islice(reversed(items), _SAMPLE)) \
        if hasattr(items, '__reversed__') else []
    return first + last


def fingerprint(value, depth=_DEPTH):
    """A cheap summary of `value`'s state: equal before and after unless it changed.

    Looks at identities of items (so a replaced item shows), lengths, and
    recursively into mutable items, up to `_DEPTH` levels; containers longer
    than `_FULL` are sampled at both ends and across the middle.
    """
    if issubclass(type(value), _IMMUTABLE_ATOMS) and type(value) in _IMMUTABLE_ATOMS:
        return None
    if _library_callable(value):
        return ('library', id(value))     # see Store.mutable_keys
    kind = type(value)
    cache = _cache_info(value)
    if cache is not None:     # calls change what it holds, not what it is
        return ('cache', id(value), cache)
    if depth <= 0:
        return (id(kind), _length(value))
    if issubclass(type(value), (list, tuple)):
        # A subclass's own methods (a notebook's __len__ that prints) are not called.
        whole = value if kind is list or kind is tuple else \
            (list if issubclass(type(value), list) else tuple).__getitem__(value, slice(None))
        items = whole if len(whole) <= _FULL else _sample(whole)
        return (kind.__name__, len(whole), tuple(_item(v, depth) for v in items),
                _attributes(value, depth))
    if issubclass(type(value), dict):
        pairs = dict.items(value)
        size = dict.__len__(value)
        pairs = pairs if size <= _FULL else _sample(pairs)
        return (kind.__name__, size, tuple((id(k), _item(v, depth)) for k, v in pairs),
                _attributes(value, depth),
                issubclass(type(value), collections.defaultdict) and id(value.default_factory))
    if issubclass(type(value), (set, frozenset)):
        content = frozenset(map(id, value)) if len(value) <= _FULL * 4 else None
        return (kind.__name__, len(value), content)
    if issubclass(type(value), (bytearray, memoryview)) or kind.__name__ == 'array':
        return (kind.__name__, _length(value), _buffer_checksum(value))
    if kind.__name__ == 'ndarray' and kind.__module__ == 'numpy' and not value.dtype.hasobject:
        # Its data, as the check of what a cell changed must see `a += 1`.
        return ('ndarray', value.shape, str(value.dtype), _array_checksum(value))
    if kind.__name__ == 'deque':
        return ('deque', len(value), tuple(_item(v, depth) for v in _sample(list(value))))
    if issubclass(type(value), types.FunctionType):
        return ('function', id(value.__code__), _item(value.__defaults__, depth),
                _item(value.__kwdefaults__, depth),
                tuple(_cell(c, depth) for c in value.__closure__ or ()),
                _item(value.__dict__, depth))
    if issubclass(type(value), type):
        # Pickling a class, or an instance, leaves these on the class (copyreg
        # caches __slotnames__; a class with no annotations gets an empty dict).
        members = list(_of_class(value, '__dict__').items())[:_FULL]
        return ('class', tuple((name, _item(member, depth)) for name, member in members
                               if name != '__slotnames__' and
                               not (name == '__annotations__' and member == {})))
    if issubclass(type(value), types.GeneratorType):
        frame = value.gi_frame
        return ('generator', value.gi_running, frame.f_lasti if frame is not None else -1)
    if issubclass(type(value), types.ModuleType):
        return ('module', len(vars(value)))
    if hasattr(kind, '__next__'):
        return (kind.__name__, _iterator_position(value))
    return (kind.__name__, _attributes(value, depth), _length(value))


def _item(value, depth):
    """How an item of a container shows in its container's fingerprint."""
    if issubclass(type(value), _IMMUTABLE_ATOMS) and type(value) in _IMMUTABLE_ATOMS:
        return id(value)
    return (id(value), fingerprint(value, depth - 1))


def _cell(cell, depth):
    try:
        return _item(cell.cell_contents, depth)
    except ValueError:
        return 'empty'


def _attributes(value, depth):
    names = _own_attributes(value) or None
    slots = [(k, s) for k in _of_class(type(value), '__mro__')
             for s in _of_class(k, '__slots__', ()) if isinstance(s, str)]
    result = _item(names, depth) if isinstance(names, dict) else None
    if slots:
        result = (result, tuple(_item(_slot(value, k, s), depth) for k, s in slots))
    return result


def _slot(value, cls, name):
    """The value in slot `name` of `cls` (None if unset), read from its member
    descriptor: ``getattr`` would run the class's ``__getattr__`` for an unset one."""
    member = _of_class(cls, '__dict__').get(name)
    if type(member) is not types.MemberDescriptorType:
        return None
    try:
        return member.__get__(value, cls)
    except AttributeError:
        return None


def _length(value):
    """len(value), unless that would run Python code (a notebook's ``__len__`` may
    print, or count its calls, which the check must not do)."""
    if _python_method(value, '__len__'):
        return None
    try:
        return len(value)
    except Exception:   # noqa: BLE001 - any object: no length is an answer too
        return None


def _python_method(value, name):
    return isinstance(getattr(type(value), name, None), types.FunctionType)


def _buffer_checksum(value):
    view = memoryview(value).cast('B') if not issubclass(type(value), memoryview) else value.cast('B')
    if len(view) <= 1 << 20:
        return zlib.crc32(view)
    step = len(view) // 64
    return tuple(zlib.crc32(view[i:i + 4096]) for i in range(0, len(view), step))


def _array_checksum(array):
    """`_buffer_checksum` of a numpy array's data, strided views included."""
    if array.flags.c_contiguous:
        return _buffer_checksum(array)
    flat = array.ravel(order='K')     # a copy for a strided view: sample big ones
    step = max(1, flat.size // (1 << 17))
    return _buffer_checksum(flat[::step].copy())


def _iterator_position(value):
    """Something that changes as an iterator advances (None when it cannot be seen)."""
    import operator
    if _python_method(value, '__length_hint__') or _python_method(value, '__len__'):
        return None     # (see `_length`)
    try:
        return operator.length_hint(value, -1), repr(value) if type(value).__module__ == \
            'itertools' else None
    except Exception:   # noqa: BLE001 - a hint that raises tells nothing
        return None


class Store:
    """The versions of values one interpreter holds, by key ``(name, seq)``.

    A version is the value a name had after the cell numbered ``seq`` (the
    dataflow's numbering); several keys may hold the same object.
    """

    def __init__(self):
        self.versions = {}
        self._fingerprints = {}     # key -> its value's fingerprint as the last checked cell ended
        # The keys of `mutable_keys`, in the order they were put: decided as each
        # is put (what a value is does not change), not for every key at every
        # cell, which cost each cell in proportion to the names of the session.
        self._mutable = {}

    def __contains__(self, key):
        return key in self.versions

    def get(self, key):
        return self.versions[key]

    def put(self, key, value):
        self.versions[key] = value
        self._fingerprints.pop(key, None)
        if _library_or_atom(value):
            self._mutable.pop(key, None)
        else:
            self._mutable[key] = None

    def drop(self, keys):
        for key in keys:
            self.versions.pop(key, None)
            self._fingerprints.pop(key, None)
            self._mutable.pop(key, None)

    def fingerprints(self):
        """key -> `fingerprint` of each value a cell could change in place
        (`mutable_keys`); those taken as the last checked cell ended are reused."""
        taken = self._fingerprints
        return {key: taken[key] if key in taken else fingerprint(self.versions[key])
                for key in self.mutable_keys()}

    def remember_fingerprints(self, fingerprints):
        """Keep the `fingerprints` taken as a checked cell ended for the next one:
        no cell runs here between the two (after a cell run unchecked, `forget_fingerprints`)."""
        self._fingerprints = fingerprints

    def forget_fingerprints(self):
        self._fingerprints = {}

    def keys_holding(self, value):
        """Every key whose version is `value` itself."""
        return [key for key, held in self.versions.items() if held is value]

    def mutable_keys(self):
        """The keys of the values a cell could change in place (the run-time check
        fingerprints them before and after each cell).

        Leaves out immutable atoms, and modules, classes, functions and other
        named callables that libraries define: fingerprinting the ~500 names of ``from numpy import *``
        cost every later cell ~50 ms, and notebook code that changes a library's
        class or function does so by name, which the analysis sees.
        """
        return list(self._mutable)
