"""How values move between interpreters.

Each value is encoded into something the interpreter layer can share, picking
the cheapest way that keeps Python's copy semantics:

- ``None``, bool, int, float, str, bytes, and tuples of them: shared natively;
- memoryview: zero-copy, the receiver sees the same memory;
- bytearray and array.array: their buffer crosses as a view and the receiver
  copies it once (no pickling); see `encode` for who must keep the source alive;
- modules: by name, re-imported on the other side;
- everything else: cloudpickle, so functions, lambdas and classes defined in a
  notebook travel by value with the globals they use.

`encode_values`/`decode_values` move a whole set of named values all or
nothing: if one cannot move, a `TransferError` names it and nothing is assigned.
"""

import array
import importlib
import pickle
import sys
import types

from ..errors import TransferError
from . import _xi
from .refusal import refusal

__all__ = ['encode', 'decode', 'encode_values', 'decode_values', 'rebind_globals']


_INT64 = range(-2 ** 63, 2 ** 63)


def _is_native(value):
    kind = type(value)
    if kind is tuple:
        return all(_is_native(item) for item in value)
    if kind is int:
        return value in _INT64   # the interpreter layer shares 64-bit ints only
    return kind in _xi.NATIVE_TYPES


def _type_name(value):
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module in ('builtins', '__main__') else f'{module}.{kind.__qualname__}'


def encode(value, *, snapshot=True):
    """Encode `value` into a shareable payload for `decode` in another interpreter.

    With ``snapshot=False`` a bytearray or array.array is not copied here: the
    caller promises to keep it alive and unchanged until the payload is decoded.
    Raises whatever pickling raises for a value that cannot move.
    """
    if _is_native(value):
        return ('n', value)
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
    import cloudpickle  # imported on first need: it costs ~2 ms per interpreter
    return ('p', cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), _type_name(value))


def decode(payload):
    """Rebuild the value that `encode` turned into `payload`."""
    tag = payload[0]
    if tag == 'n' or tag == 'v':
        return payload[1]
    if tag == 'ba':
        return bytearray(payload[1])
    if tag == 'a':
        result = array.array(payload[1])
        result.frombytes(payload[2])
        return result
    if tag == 'm':
        return importlib.import_module(payload[1])
    if tag == 'p':
        return pickle.loads(payload[1])
    raise ValueError(f'unknown payload tag {tag!r}')


def _reason(exc):
    refused = refusal(exc)
    return str(refused) if refused else f'{type(exc).__name__}: {exc}'


def encode_values(values, *, snapshot=True, direction='into the worker'):
    """Encode a mapping of names to values; a tuple of (name, payload) pairs.

    Raises TransferError for the first value that cannot move.
    """
    encoded = []
    for name, value in values.items():
        try:
            encoded.append((name, encode(value, snapshot=snapshot)))
        except Exception as exc:
            raise TransferError(name, _type_name(value), _reason(exc), direction) from exc
    return tuple(encoded)


def decode_values(encoded, *, direction='into the worker'):
    """Decode the pairs from `encode_values` into a dict, all or nothing."""
    values = {}
    for name, payload in encoded:
        try:
            values[name] = decode(payload)
        except Exception as exc:
            type_name = {'m': 'module', 'p': payload[-1]}.get(payload[0], 'buffer')
            raise TransferError(name, type_name, _reason(exc), direction) from exc
    return values


def rebind_globals(value, namespace):
    """Make a function defined in a notebook look its globals up in `namespace`.

    A function that crossed by value carries a private copy of the globals it
    used when it was sent; in Python it would read them from the namespace
    where it is called, at call time.  Returns `value` itself for anything else.
    """
    if type(value) is not types.FunctionType or value.__module__ != '__main__' \
            or value.__globals__ is namespace:
        return value
    rebound = types.FunctionType(value.__code__, namespace, value.__name__,
                                 value.__defaults__, value.__closure__)
    rebound.__kwdefaults__ = value.__kwdefaults__
    rebound.__qualname__, rebound.__doc__ = value.__qualname__, value.__doc__
    rebound.__annotations__ = value.__annotations__
    rebound.__dict__.update(value.__dict__)
    return rebound
