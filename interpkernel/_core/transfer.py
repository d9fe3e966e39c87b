"""How values move between interpreters.

Each value is encoded into something the interpreter layer can share, picking
the cheapest way that keeps Python's copy semantics:

- ``None``, bool, int, float, str, bytes, and tuples of them: shared natively;
- memoryview: zero-copy, the receiver sees the same memory;
- bytearray and array.array: their buffer crosses as a view and the receiver
  copies it once (no pickling); see `encode` for who must keep the source alive;
- modules: by name, re-imported on the other side;
- everything else: cloudpickle, so functions, lambdas and classes defined in a
  notebook travel by value.  By default they carry a copy of the globals they
  use; with ``notebook=True`` they instead look their globals up, when
  called, in the namespace they land in (`decode`'s), as a function does in
  sequential Python.  ``functools.lru_cache`` wrappers of notebook functions
  move too, with an empty cache.  Sets and frozensets iterate in the order
  they had (`set_order`), or do not move.

`encode_values`/`decode_values` move a whole set of named values all or
nothing: if one cannot move, a `TransferError` names it and nothing is assigned.
The values of builtin, standard-library and notebook types among them go in
one pickle, so that objects they share stay shared (``d['k'] is q``).
"""

import array
import enum
import importlib
import marshal
import pickle
import sys
import types
import typing

from ..errors import TransferError
from . import _xi, set_order
from .refusal import refusal
from .values import dispatched, is_notebook_function

__all__ = ['encode', 'decode', 'encode_values', 'decode_values', 'type_name', 'reason']


_INT64 = range(-2 ** 63, 2 ** 63)


def _is_native(value):
    kind = type(value)
    if kind is tuple:
        return all(_is_native(item) for item in value)
    if kind is int:
        return value in _INT64   # the interpreter layer shares 64-bit ints only
    return kind in _xi.NATIVE_TYPES


def type_name(value):
    """How messages name the type of `value`."""
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module in ('builtins', '__main__') else f'{module}.{kind.__qualname__}'


def encode(value, *, snapshot=True, notebook=False, copy_finalized=True):
    """Encode `value` into a shareable payload for `decode` in another interpreter.

    With ``snapshot=False`` a bytearray or array.array is not copied here: the
    caller promises to keep it alive and unchanged until the payload is decoded.
    With ``notebook=True`` functions defined in ``__main__`` look their globals
    up where they land instead of carrying copies; with ``copy_finalized=False``
    too, an object of a ``__main__`` class with a ``__del__`` is refused
    (`Finalized`): each copy would run it once more.
    Raises whatever pickling raises for a value that cannot move.
    """
    if _is_native(value):
        return ('ni', value) if type(value) is str and _xi.is_interned(value) else ('n', value)
    kind = type(value)
    if kind is memoryview:
        return ('v', value)
    if kind is bytearray:
        return ('ba', bytes(value) if snapshot else memoryview(value))
    if kind is array.array:
        data = value.tobytes() if snapshot else memoryview(value).cast('B')
        return ('a', value.typecode, data)
    if kind is types.ModuleType and sys.modules.get(value.__name__) is value \
            and getattr(value, '__spec__', None) is not None:
        return ('m', value.__name__)
    pickler = 'kernel' if notebook and not copy_finalized else notebook
    return ('p', _dumps(value, pickler), type_name(value))


class Finalized(TypeError):
    """An object whose class has a ``__del__`` was not copied."""


def _dumps(value, pickler):
    import io
    buffer = io.BytesIO()
    # Protocol 3 pickles a set as a call of ``set`` with its items in
    # iteration order, which `_OrderedUnpickler` makes keep that order (`set_order`).
    _picklers()[pickler](buffer, protocol=_PROTOCOL).dump(value)
    return buffer.getvalue()


_PROTOCOL = 3
# How protocol 3 names the set types (a set's call, or the type itself).
_SET_GLOBALS = (b'cbuiltins\nset\n', b'cbuiltins\nfrozenset\n')


class _OrderedUnpickler(pickle._Unpickler):
    """Python's own unpickler, in which a call of ``set`` or ``frozenset`` (a set
    being rebuilt from its items) gives one that iterates in their order; the
    type itself (``Belief = frozenset``, ``defaultdict(set)``) stays the type.

    (C's unpickler offers no hook on calls, only on names: there a name for
    the type would have become a function.)
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def load_reduce(self):
        args = self.stack.pop()
        make = self.stack[-1]
        if make is set:
            make = set_order.ordered_set
        elif make is frozenset:
            make = set_order.ordered_frozenset
        self.stack[-1] = make(*args)

    dispatch[pickle.REDUCE[0]] = load_reduce


def _loads(data):
    import io
    if any(name in data for name in _SET_GLOBALS):
        return _OrderedUnpickler(io.BytesIO(data)).load()
    return pickle.loads(data)


_pickler_classes = None


def _picklers():
    """{notebook: Pickler class}: cloudpickle's, keeping code objects whole; and
    with ``notebook=True``, also landing functions defined in ``__main__``;
    'kernel': that, refusing objects of its classes with a ``__del__``."""
    global _pickler_classes
    if _pickler_classes is not None:
        return _pickler_classes
    import functools
    import cloudpickle  # imported on first need: it costs ~2 ms per interpreter
    cached_function = type(functools.lru_cache()(lambda: None))

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, (types.MethodType, types.BuiltinMethodType)):
                found = _module_method(obj)
                if found is not None:
                    return _module_attribute, found
            if type(obj) is property:
                # Python names a property as its class is made (__set_name__); a copy
                # set on a copied class afterwards would take its getter's name.
                return _property, (obj.fget, obj.fset, obj.fdel, obj.__doc__,
                                   getattr(obj, '__name__', None))
            if isinstance(obj, types.CodeType):
                # cloudpickle renames a code object's file to '<dynamic-code>':
                # tracebacks would lose their cell, the dataflow the code's key.
                return marshal.loads, (marshal.dumps(obj),)
            reduced = super().reducer_override(obj)
            if isinstance(obj, type) and '__slots__' in vars(obj) and \
                    isinstance(reduced, tuple) and len(reduced) > 1 and \
                    len(reduced[1]) == 6 and isinstance(reduced[1][3], dict):
                # cloudpickle makes a class it copies by value from its name, bases
                # and these keywords, then sets its attributes: `__slots__` set
                # then shapes nothing, and its objects would get a __dict__.
                constructor, name, bases, keywords, *rest = reduced[1]
                reduced = (reduced[0], (constructor, name, bases,
                                        {**keywords, '__slots__': obj.__slots__}, *rest),
                           *reduced[2:])
            elif isinstance(obj, enum.EnumType) and isinstance(reduced, tuple) and \
                    len(reduced) > 2 and len(reduced[1]) == 7 and \
                    isinstance(reduced[1][3], dict) and isinstance(reduced[2], tuple):
                # An enum copied by value is made from its members' values: by
                # name, its aliases (``Y = 1`` after ``X = 1``) are members too.
                bases, name, qualname, _, *rest = reduced[1]
                members = {key: member.value for key, member in obj.__members__.items()}
                attributes, *more = reduced[2]
                attributes = {k: v for k, v in attributes.items() if k not in members}
                reduced = (reduced[0], (bases, name, qualname, members, *rest),
                           (attributes, *more), *reduced[3:])
                # What a custom __new__ set on its members besides their value.
                kept = {key: {k: v for k, v in vars(member).items() if k not in _ENUM_OWN}
                        for key, member in obj.__members__.items()}
                kept = {key: found for key, found in kept.items() if found}
                if kept and len(reduced) == 6 and callable(reduced[5]):
                    reduced = (*reduced[:2], (reduced[2], kept, reduced[5]), None, None,
                               _set_enum_state)
            return reduced

    class NotebookPickler(Pickler):
        def reducer_override(self, obj):
            if type(obj).__module__ == '__main__' and not isinstance(obj, type):
                cls = type(obj)
                cached = '__slotnames__' in vars(cls)
                reduced = obj.__reduce_ex__(_PROTOCOL)
                if not cached and '__slotnames__' in vars(cls):
                    # copyreg's cache, which moving the object must not leave in
                    # the class: dir() of the class or the object would list it.
                    del cls.__slotnames__
                if isinstance(reduced, tuple) and len(reduced) >= 2 and \
                        (len(reduced) < 3 or reduced[2] is None) and \
                        getattr(obj, '__dict__', None):
                    # A library base's own reduce (Counter's) leaves out the
                    # attributes the notebook's subclass gave the object.
                    return (*reduced[:2], obj.__dict__, *reduced[3:])
                return reduced       # made already: pickle would ask for it again
            if isinstance(obj, typing.TypeAliasType) and obj.__module__ == '__main__':
                # ``type Hand = str``: pickled by name, it would be looked up in
                # the __main__ it lands in, which need not have it.
                try:
                    value = obj.__value__     # evaluated now, if it was not yet
                except NameError:   # one naming what is not defined: by name, as before
                    return super().reducer_override(obj)
                return _type_alias, (obj.__name__, value, obj.__type_params__)
            if isinstance(obj, types.FunctionType) and is_notebook_function(obj):
                return (_landed_function, (obj.__code__, len(obj.__code__.co_freevars)),
                        _function_state(obj), None, None, _set_function_state)
            if isinstance(obj, cached_function) and \
                    isinstance(obj.__wrapped__, types.FunctionType) and \
                    is_notebook_function(obj.__wrapped__):
                parameters = obj.cache_parameters()
                return (_cached, (obj.__wrapped__, parameters['maxsize'], parameters['typed']))
            if isinstance(obj, types.FunctionType) and dispatched(obj):
                # Its cache of choices by type holds weak references, which cannot
                # be pickled: made again from the function and what is registered.
                extra = {key: value for key, value in vars(obj).items()
                         if key not in _DISPATCHER_ATTRIBUTES}
                return _single_dispatch, (obj.__wrapped__, dict(obj.registry), extra)
            return super().reducer_override(obj)

    class KernelPickler(NotebookPickler):
        def reducer_override(self, obj):
            cls = type(obj)
            if cls.__module__ == '__main__' and getattr(cls, '__del__', None) is not None:
                raise Finalized(f'an object of {cls.__qualname__}, a class with a __del__, '
                                f'is not copied: each copy would run __del__ once more')
            return super().reducer_override(obj)

    _pickler_classes = {False: Pickler, True: NotebookPickler, 'kernel': KernelPickler}
    return _pickler_classes


def _type_alias(name, value, type_params):
    """A ``type name = value`` alias of the notebook's, made again where it lands."""
    # Its __module__ is the __name__ of the globals it is made in.
    scope = {'__name__': '__main__', 'TypeAliasType': typing.TypeAliasType}
    return eval('TypeAliasType(name, value, type_params=type_params)', scope,
                {'name': name, 'value': value, 'type_params': type_params})


def _function_state(function):
    closure = tuple(_cell_contents(cell) for cell in function.__closure__ or ())   # (full, value)
    return {'defaults': function.__defaults__, 'kwdefaults': function.__kwdefaults__,
            'annotations': function.__annotations__, 'dict': function.__dict__,
            'qualname': function.__qualname__, 'doc': function.__doc__,
            'name': function.__name__, 'closure': closure}


def _cell_contents(cell):
    try:
        return True, cell.cell_contents
    except ValueError:      # a variable not assigned yet
        return False, None


_landing = None   # the namespace decode() is landing values in, or None: __main__'s


def _module_method(method):
    """``(module, name)`` if `method` is what ``module.name`` gives, a method bound to
    an object the module keeps (``random.choice``, of random's hidden generator:
    a copy would draw from a copy of it, which ``random.seed`` does not seed)."""
    owner = getattr(method, '__self__', None)
    if owner is None or isinstance(owner, types.ModuleType):
        return None        # a module's function: pickled by name already
    function = getattr(method, '__func__', method)
    # (A method written in C, random.random, has no module: its object's type has.)
    module_name = getattr(function, '__module__', None) or type(owner).__module__
    name = getattr(method, '__name__', None)
    if not isinstance(module_name, str) or module_name == '__main__' or \
            not isinstance(name, str):
        return None
    module = sys.modules.get(module_name)
    found = vars(module).get(name) if isinstance(module, types.ModuleType) else None
    if getattr(found, '__self__', None) is owner and \
            getattr(found, '__func__', None) is getattr(method, '__func__', None):
        return module_name, name
    return None


def _module_attribute(module, name):
    return getattr(importlib.import_module(module), name)


def _landed_function(code, free):
    namespace = _landing if _landing is not None else sys.modules['__main__'].__dict__
    closure = tuple(types.CellType() for _ in range(free)) or None
    return types.FunctionType(code, namespace, code.co_name, None, closure)


def _set_function_state(function, state):
    function.__defaults__, function.__kwdefaults__ = state['defaults'], state['kwdefaults']
    function.__annotations__ = state['annotations']
    function.__dict__.update(state['dict'])
    function.__qualname__, function.__doc__ = state['qualname'], state['doc']
    function.__name__ = state['name']
    for cell, (full, value) in zip(function.__closure__ or (), state['closure']):
        if full:
            cell.cell_contents = value
    return function


def _property(fget, fset, fdel, doc, name):
    made = property(fget, fset, fdel, doc)
    if name is not None:
        made.__name__ = name
    return made


# What Enum keeps in each member's own __dict__.
_ENUM_OWN = frozenset({'_value_', '_name_', '__objclass__', '_sort_order_'})


def _set_enum_state(cls, state):
    """Set a copied enum's state (`set_class_state` sets the class's), then the
    attributes its members had besides their values."""
    class_state, kept, set_class_state = state
    set_class_state(cls, class_state)
    for name, attributes in kept.items():
        member = cls.__members__[name]
        for key, value in attributes.items():
            setattr(member, key, value)


# What functools.singledispatch sets on the function it makes (besides what it copies
# from the function it wraps).
_DISPATCHER_ATTRIBUTES = frozenset({'register', 'dispatch', 'registry', '_clear_cache',
                                    '__wrapped__'})


def _single_dispatch(function, registry, attributes):
    import functools
    dispatcher = functools.singledispatch(function)
    for cls, implementation in registry.items():
        if cls is not object:
            dispatcher.register(cls, implementation)
    vars(dispatcher).update(attributes)
    return dispatcher


def _cached(function, maxsize, typed):
    import functools
    return functools.lru_cache(maxsize=maxsize, typed=typed)(function)


def decode(payload, namespace=None):
    """Rebuild the value that `encode` turned into `payload`.

    Notebook functions encoded with ``notebook=True`` look their globals up in
    `namespace` (default: ``__main__``'s).
    """
    global _landing
    if payload[0] == 'p' and namespace is not None:
        saved, _landing = _landing, namespace
        try:
            return _loads(payload[1])
        finally:
            _landing = saved
    tag = payload[0]
    if tag == 'n' or tag == 'v':
        return payload[1]
    if tag == 'ni':
        return sys.intern(payload[1])
    if tag == 'ba':
        return bytearray(payload[1])
    if tag == 'a':
        result = array.array(payload[1])
        result.frombytes(payload[2])
        return result
    if tag == 'm':
        return _import_moved(payload[1])
    if tag == 'p':
        return _loads(payload[1])
    raise ValueError(f'unknown payload tag {tag!r}')


def _import_moved(name):
    """Module `name`, which the sender had imported: importing it here too is ours
    to do, not the notebook's, so what its top level prints (``import this``) is
    not shown again (its first import, in the cell, showed it)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return importlib.import_module(name)


def reason(exc):
    """Why a value could not move, from the exception its encoding or decoding raised."""
    refused = refusal(exc)
    if refused:
        return str(refused)
    return str(exc) if isinstance(exc, set_order.OrderNotKept) else f'{type(exc).__name__}: {exc}'


# In `encode_values`' pairs: the pickle of several values (the first of them
# carries it), and the others that came in it.
_TOGETHER, _WITH = 'together', 'with'


def _pickled_together(value):
    """Would `encode` pickle `value`, and can its type load wherever it can itself
    (a builtin, standard-library or notebook type)?  A third party's value is
    encoded on its own: one that cannot load then names itself."""
    if _is_native(value) or type(value) in (memoryview, bytearray, array.array,
                                           types.ModuleType):
        return False
    module = type(value).__module__ or ''
    return module == '__main__' or module.partition('.')[0] in sys.stdlib_module_names


def encode_values(values, *, snapshot=True, notebook=False, direction='into the worker',
                  together=True):
    """Encode a mapping of names to values; a tuple of (name, payload) pairs.

    With ``together=False`` each value gets a payload `decode` reads on its own.
    Raises TransferError for the first value that cannot move.
    """
    grouped = [name for name, value in values.items()
               if together and _pickled_together(value)]
    pickled = None
    if len(grouped) > 1:
        try:
            pickled = _dumps({name: values[name] for name in grouped}, notebook)
        except Exception:   # noqa: BLE001 - encoded one by one below, which names the culprit
            pickled = None
    encoded = []
    for name, value in values.items():
        if pickled is not None and name in grouped:
            encoded.append((name, (_TOGETHER, pickled, tuple(grouped)) if name == grouped[0]
                            else (_WITH, grouped[0])))
            continue
        try:
            encoded.append((name, encode(value, snapshot=snapshot, notebook=notebook)))
        except Exception as exc:
            raise TransferError(name, type_name(value), reason(exc), direction) from exc
    return tuple(encoded)


def decode_values(encoded, *, namespace=None, direction='into the worker'):
    """Decode the pairs from `encode_values` into a dict, all or nothing."""
    values = {}
    for name, payload in encoded:
        if payload[0] == _WITH:
            continue    # it came with the first of its pickle
        try:
            if payload[0] == _TOGETHER:
                values.update(decode(('p', payload[1], 'dict'), namespace))
            else:
                values[name] = decode(payload, namespace)
        except Exception as exc:
            if payload[0] == _TOGETHER:
                name, type_name = ', '.join(payload[2]), 'values pickled together'
            else:
                type_name = {'m': 'module', 'p': payload[-1]}.get(payload[0], 'buffer')
            raise TransferError(name, type_name, reason(exc), direction) from exc
    return values
