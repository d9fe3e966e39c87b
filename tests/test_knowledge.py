"""What calls into builtins and the standard library do besides computing a result."""

import _interpreters
import abc
import array
import collections
import collections.abc
import copy
import csv
import dataclasses
import datetime
import decimal
import enum
import fractions
import hashlib
import importlib
import inspect
import io
import operator
import os
import pathlib
import pickle
import random
import re
import subprocess
import sys
import statistics
import string
import struct
import textwrap
import types
import uuid
import zlib
from types import SimpleNamespace

import pytest

from interpkernel.dataflow import knowledge
from interpkernel.dataflow.knowledge import (ALL_ARGUMENTS, PURE, RECEIVER, STATES, UNKNOWN,
                                             attribute_state, function_effect, method_effect,
                                             type_state)


def resolve(module, qualname):
    """The object ``module.qualname`` names (AttributeError if none)."""
    found = importlib.import_module(module)
    for part in qualname.split('.'):
        found = getattr(found, part)
    return found


FUNCTIONS = [(module, qualname, effect) for module, table in knowledge._FUNCTIONS.items()
             for qualname, effect in table.items()]

# Types whose qualname is not a name in their module.
HIDDEN_TYPES = {(knowledge._module(t.__module__), t.__qualname__): t for t in [
    type(iter(b'')), type(iter({}.items())), type(iter({})), type(iter({}.values())),
    type(iter([])), type(reversed([])), type(iter(range(1))), type(iter(set())), type(iter('')),
    type(iter('é')), type(iter(())), type(iter(int, 0)), types.GeneratorType, types.CoroutineType,
    types.AsyncGeneratorType, type(csv.reader([])), type(csv.writer(io.StringIO())),
    type(hashlib.sha256()), type(hashlib.shake_128()), type(zlib.compressobj()),
    type(zlib.decompressobj()),
]}


def find_type(module, qualname):
    try:
        found = resolve(module, qualname)
    except AttributeError:
        found = None
    return found if isinstance(found, type) else HIDDEN_TYPES[module, qualname]


METHODS = [(module, qualname, method, effect)
           for (module, qualname), table in knowledge._METHODS.items()
           for method, effect in table.items()]


# -- the tables name real things --

@pytest.mark.parametrize('module, qualname, effect', FUNCTIONS,
                         ids=[f'{m}.{q}' for m, q, _ in FUNCTIONS])
def test_every_function_exists_and_is_found_by_the_names_it_reports(module, qualname, effect):
    found = resolve(module, qualname)
    assert callable(found)
    assert function_effect(module, qualname) is effect
    own_module, own_name = getattr(found, '__module__', None), getattr(found, '__qualname__', None)
    if own_module and own_module != module and own_name == qualname:
        try:
            same = resolve(own_module, own_name) is found
        except (AttributeError, ImportError):
            same = False
        if same:
            assert function_effect(own_module, own_name) == effect


def test_dotted_functions_are_class_or_static_methods():
    descriptors = (classmethod, staticmethod, type(dict.__dict__['fromkeys']))
    for module, qualname, _ in FUNCTIONS:
        owner, _, name = qualname.rpartition('.')
        if owner:
            assert isinstance(inspect.getattr_static(resolve(module, owner), name), descriptors), \
                f'{module}.{qualname}'


@pytest.mark.parametrize('module, qualname', sorted(knowledge._METHODS))
def test_every_method_exists_and_is_found_by_the_type_names_at_run_time(module, qualname):
    cls = find_type(module, qualname)
    for method, effect in knowledge._METHODS[module, qualname].items():
        assert getattr(cls, method, None) is not None, f'{qualname}.{method}'
        assert method_effect(cls.__module__, cls.__qualname__, method) is effect


def _parameters(function):
    try:
        return list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return None   # a builtin without a signature


def _check_mutated_names(where, effect, parameters):
    """Each position that may be passed by keyword is listed by name too, and each name exists."""
    if parameters is None:
        return
    names = {p.name for p in parameters}
    any_keyword = any(p.kind == p.VAR_KEYWORD for p in parameters)
    for target in effect.mutates - {RECEIVER, ALL_ARGUMENTS}:
        if isinstance(target, int):
            if target < len(parameters) and \
                    parameters[target].kind == inspect.Parameter.POSITIONAL_OR_KEYWORD:
                assert parameters[target].name in effect.mutates, where
        else:
            assert target in names or any_keyword, where


def test_changed_arguments_are_named_as_they_may_be_passed():
    for module, qualname, effect in FUNCTIONS:
        _check_mutated_names(f'{module}.{qualname}', effect, _parameters(resolve(module, qualname)))
    for module, qualname, method, effect in METHODS:
        cls = find_type(module, qualname)
        parameters = _parameters(getattr(cls, method))
        if parameters and not isinstance(inspect.getattr_static(cls, method),
                                         (classmethod, staticmethod)):
            parameters = parameters[1:]   # self
        _check_mutated_names(f'{qualname}.{method}', effect, parameters)


def test_every_state_named_is_described():
    named = set(knowledge._ATTRIBUTE_STATES.values())
    named |= {state for state, _ in knowledge._TYPE_STATES.values()}
    for effect in [e for *_, e in FUNCTIONS] + [e for *_, e in METHODS]:
        named |= effect.reads_state | effect.writes_state
        named |= {effect.result_state} - {None}
    assert named <= set(STATES)
    for name, kind in STATES.items():
        assert kind.name == name
        assert (kind.capture is None) == (kind.restore is None)
        assert not (kind.process_wide and kind.capture)


# -- the tables say what the dataflow relies on --

def test_what_the_dataflow_relies_on():
    assert function_effect('heapq', 'heappush').mutates == {0}
    sorted_ = function_effect('builtins', 'sorted')
    assert not sorted_.mutates and sorted_.calls_arguments and sorted_.result_shares
    assert function_effect('builtins', 'next').mutates == {0}
    assert function_effect('builtins', 'print').mutates == {'file'}
    assert 'files' in function_effect('builtins', 'open').writes_state
    assert function_effect('builtins', 'input').host_only
    shuffle = function_effect('random', 'shuffle')
    assert 0 in shuffle.mutates and shuffle.reads_state == shuffle.writes_state == {'random'}
    assert function_effect('random', 'random').writes_state == {'random'}
    assert function_effect('random', 'Random') == PURE
    draw = method_effect('random', 'Random', 'random')
    assert draw.mutates == {RECEIVER} and not draw.writes_state
    assert method_effect('collections', 'defaultdict', '__getitem__').mutates == {RECEIVER}
    assert not method_effect('builtins', 'dict', '__getitem__').mutates
    assert function_effect('decimal', 'getcontext').result_state == 'decimal'
    assert function_effect('json', 'dump').mutates == {1, 'fp'}
    assert function_effect('os.path', 'join') == function_effect('posixpath', 'join') == PURE
    assert function_effect('os', 'path.join') is None   # the caller asks for module os.path
    assert 'cwd' in function_effect('os.path', 'abspath').reads_state
    assert method_effect('builtins', 'dict', 'fromkeys') == \
        function_effect('builtins', 'dict.fromkeys')
    assert 'files' in method_effect('_io', 'TextIOWrapper', 'write').writes_state
    assert 'files' in method_effect('pathlib._local', 'PosixPath', 'read_text').reads_state
    assert method_effect('pathlib._local', 'PosixPath', 'with_suffix') == PURE
    assert attribute_state('sys', 'path') == 'sys.path'
    assert attribute_state('os', 'environ') == 'environ'
    assert type_state('decimal', 'Decimal')[0] == 'decimal'
    assert type_state('logging', 'Logger') == ('logging', True)
    assert STATES['warnings'].every_cell_reads and STATES['recursionlimit'].every_cell_reads
    assert STATES['cwd'].process_wide and STATES['files'].process_wide


def test_unknown_things_are_none_and_unknown_changes_everything():
    assert function_effect('builtins', 'no_such_function') is None
    assert function_effect('no_such_module', 'f') is None
    assert function_effect('doctest', 'testmod') is None
    assert method_effect('builtins', 'list', 'no_such_method') is None
    assert method_effect('no_such_module', 'T', 'm') is None
    assert attribute_state('sys', 'version') is None
    assert type_state('builtins', 'list') is None
    assert ALL_ARGUMENTS in UNKNOWN.mutates and UNKNOWN.calls_arguments
    assert function_effect('builtins', 'exec') == UNKNOWN


# -- and calls do what the tables say --

def snapshot(value):
    """A copy of what `value` holds, to compare before and after a call."""
    if isinstance(value, random.Random):
        return value.getstate()
    if isinstance(value, (io.StringIO, io.BytesIO)):
        return value.getvalue(), value.tell()
    if isinstance(value, HASH):
        return value.hexdigest()
    if isinstance(value, collections.abc.Iterator):
        return list(copy.deepcopy(value))
    if isinstance(value, (type, types.FunctionType)):
        return dict(vars(value)), value.__name__, value.__doc__
    if type(value).__eq__ is object.__eq__:
        return type(value), snapshot(vars(value)) if hasattr(value, '__dict__') else repr(value)
    return copy.deepcopy(value)


HASH = type(hashlib.sha256())


def call(*args, **kwargs):
    return args, kwargs


def a_function(a, b=[1]):
    """A function to look at."""
    return a


def fresh_function():
    def f():
        """A function to change."""
    return f


def fresh_class():
    class Fresh:
        x: int = 0

        def __eq__(self, other):
            return self.x == other.x

        def __lt__(self, other):
            return self.x < other.x
    return Fresh


def fresh_abstract_class():
    class Fresh(abc.ABC):
        pass
    Fresh.method = abc.abstractmethod(fresh_function())
    return Fresh


@dataclasses.dataclass
class Point:
    x: list
    y: int


class Colour(enum.Enum):
    RED = 1


def _named_targets(effect, args, kwargs):
    """The arguments `effect` says may change, among those passed: {target: value}."""
    return {target: args[target] if isinstance(target, int) else kwargs[target]
            for target in effect.mutates
            if (isinstance(target, int) and target < len(args)) or target in kwargs}


def _arguments(args, kwargs):
    return {**dict(enumerate(args)), **kwargs}


PURE_CALLS = [
    ('builtins', 'sorted', lambda: call([3, 1, [2]], key=repr)),
    ('builtins', 'len', lambda: call([1, 2])),
    ('builtins', 'sum', lambda: call([[1], [2]], [])),
    ('builtins', 'max', lambda: call([[1], [2]])),
    ('builtins', 'min', lambda: call([[1], [2]], key=len)),
    ('builtins', 'list', lambda: call({'a': [1]})),
    ('builtins', 'dict', lambda: call([('a', [1])])),
    ('builtins', 'set', lambda: call([1, 2])),
    ('builtins', 'tuple', lambda: call([[1]])),
    ('builtins', 'frozenset', lambda: call({1, 2})),
    ('builtins', 'reversed', lambda: call([1, 2])),
    ('builtins', 'enumerate', lambda: call([1, 2])),
    ('builtins', 'zip', lambda: call([1], [2])),
    ('builtins', 'map', lambda: call(len, [[1]])),
    ('builtins', 'filter', lambda: call(None, [0, 1])),
    ('builtins', 'iter', lambda: call([1])),
    ('builtins', 'any', lambda: call([0, [1]])),
    ('builtins', 'all', lambda: call([[1], 2])),
    ('builtins', 'repr', lambda: call({'a': [1]})),
    ('builtins', 'str', lambda: call([1])),
    ('builtins', 'getattr', lambda: call(SimpleNamespace(a=[1]), 'a')),
    ('builtins', 'isinstance', lambda: call([1], list)),
    ('builtins', 'bytes', lambda: call(bytearray(b'ab'))),
    ('builtins', 'memoryview', lambda: call(bytearray(b'ab'))),
    ('builtins', 'dir', lambda: call(SimpleNamespace(a=1))),
    ('builtins', 'dict.fromkeys', lambda: call(['a', 'b'], [])),
    ('math', 'fsum', lambda: call([0.1, 0.2])),
    ('math', 'prod', lambda: call([2, 3])),
    ('math', 'dist', lambda: call([0, 0], [3, 4])),
    ('operator', 'add', lambda: call([1], [2])),
    ('operator', 'contains', lambda: call([1, 2], 1)),
    ('operator', 'itemgetter', lambda: call(0)),
    ('itertools', 'chain', lambda: call([1], [2])),
    ('itertools', 'permutations', lambda: call([1, 2, 3])),
    ('itertools', 'groupby', lambda: call([1, 1, 2])),
    ('itertools', 'accumulate', lambda: call([1, 2], operator.add)),
    ('functools', 'reduce', lambda: call(operator.add, [[1], [2]])),
    ('functools', 'partial', lambda: call(sorted, [2, 1])),
    ('heapq', 'nlargest', lambda: call(2, [3, 1, 2])),
    ('heapq', 'nsmallest', lambda: call(2, [3, 1, 2], key=abs)),
    ('heapq', 'merge', lambda: call([1, 3], [2])),
    ('bisect', 'bisect', lambda: call([1, 2, 3], 2)),
    ('bisect', 'bisect_left', lambda: call([1, 2, 3], 2, key=abs)),
    ('copy', 'copy', lambda: call([[1]])),
    ('copy', 'replace', lambda: call(Point([1], 2), y=5)),
    ('collections', 'Counter', lambda: call(['a', 'b', 'a'])),
    ('collections', 'deque', lambda: call([1, 2], 5)),
    ('collections', 'OrderedDict', lambda: call([('a', [1])])),
    ('collections', 'defaultdict', lambda: call(list, {'a': [1]})),
    ('collections', 'ChainMap', lambda: call({'a': 1}, {'b': 2})),
    ('statistics', 'mean', lambda: call([1, 2, 3])),
    ('statistics', 'median', lambda: call([3, 1, 2])),
    ('statistics', 'stdev', lambda: call([1.0, 2.0, 4.0])),
    ('statistics', 'quantiles', lambda: call([1, 2, 3, 4, 5])),
    ('fractions', 'Fraction', lambda: call(1, 3)),
    ('json', 'dumps', lambda: call({'a': [1, 2]})),
    ('json', 'loads', lambda: call('[1]')),
    ('pickle', 'dumps', lambda: call({'a': [1]})),
    ('re', 'sub', lambda: call('a', lambda m: 'b', 'aa')),
    ('re', 'findall', lambda: call('a', 'aba')),
    ('textwrap', 'dedent', lambda: call('  a\n  b')),
    ('string', 'capwords', lambda: call('a b')),
    ('dataclasses', 'asdict', lambda: call(Point([1], 2))),
    ('dataclasses', 'astuple', lambda: call(Point([1], 2))),
    ('dataclasses', 'fields', lambda: call(Point)),
    ('array', 'array', lambda: call('i', [1, 2])),
    ('struct', 'unpack', lambda: call('<i', bytearray(4))),
    ('hashlib', 'sha256', lambda: call(bytearray(b'ab'))),
    ('base64', 'b64encode', lambda: call(bytearray(b'ab'))),
    ('binascii', 'hexlify', lambda: call(bytearray(b'ab'))),
    ('zlib', 'compress', lambda: call(bytearray(b'ab'))),
    ('os.path', 'join', lambda: call('a', 'b')),
    ('pprint', 'pformat', lambda: call({'a': [1]})),
    ('typing', 'cast', lambda: call(list, [1])),
    ('inspect', 'signature', lambda: call(a_function)),
    ('enum', 'unique', lambda: call(Colour)),
    ('secrets', 'choice', lambda: call([[1], [2]])),
    ('uuid', 'uuid5', lambda: call(uuid.NAMESPACE_DNS, 'x')),
    ('random', 'Random', lambda: call(5)),
]


@pytest.mark.parametrize('module, qualname, arguments', PURE_CALLS,
                         ids=[f'{m}.{q}' for m, q, _ in PURE_CALLS])
def test_calls_said_to_change_no_argument_change_none(module, qualname, arguments):
    assert not function_effect(module, qualname).mutates
    args, kwargs = arguments()
    before = {key: snapshot(value) for key, value in _arguments(args, kwargs).items()}
    resolve(module, qualname)(*args, **kwargs)
    assert {key: snapshot(value) for key, value in _arguments(args, kwargs).items()} == before


PURE_METHOD_CALLS = [
    ('builtins', 'list', 'count', lambda: ([[1], [1]], call([1]))),
    ('builtins', 'list', 'index', lambda: ([[1], [2]], call([2]))),
    ('builtins', 'list', 'copy', lambda: ([[1]], call())),
    ('builtins', 'list', '__getitem__', lambda: ([[1]], call(0))),
    ('builtins', 'list', '__add__', lambda: ([1], call([2]))),
    ('builtins', 'dict', 'get', lambda: ({'a': [1]}, call('a'))),
    ('builtins', 'dict', 'keys', lambda: ({'a': [1]}, call())),
    ('builtins', 'dict', 'items', lambda: ({'a': [1]}, call())),
    ('builtins', 'dict', 'copy', lambda: ({'a': [1]}, call())),
    ('builtins', 'dict', '__or__', lambda: ({'a': [1]}, call({'b': 2}))),
    ('builtins', 'set', 'union', lambda: ({1}, call([2]))),
    ('builtins', 'set', 'issubset', lambda: ({1}, call([1, 2]))),
    ('builtins', 'set', '__and__', lambda: ({1, 2}, call({2}))),
    ('builtins', 'frozenset', 'union', lambda: (frozenset({1}), call({2}))),
    ('builtins', 'tuple', 'count', lambda: (([1], [1]), call([1]))),
    ('builtins', 'str', 'join', lambda: (',', call(['a', 'b']))),
    ('builtins', 'str', 'format', lambda: ('{}', call([1]))),
    ('builtins', 'str', '__mod__', lambda: ('%s', call([1]))),
    ('builtins', 'bytes', 'join', lambda: (b',', call([bytearray(b'a')]))),
    ('builtins', 'bytearray', 'hex', lambda: (bytearray(b'a'), call())),
    ('builtins', 'bytearray', 'copy', lambda: (bytearray(b'a'), call())),
    ('builtins', 'int', 'bit_length', lambda: (5, call())),
    ('builtins', 'float', 'hex', lambda: (0.5, call())),
    ('collections', 'deque', 'count', lambda: (collections.deque([1, 1]), call(1))),
    ('collections', 'deque', 'copy', lambda: (collections.deque([[1]]), call())),
    ('collections', 'Counter', 'most_common', lambda: (collections.Counter('aab'), call(1))),
    ('collections', 'Counter', 'total', lambda: (collections.Counter('aab'), call())),
    ('collections', 'Counter', 'elements', lambda: (collections.Counter('aab'), call())),
    ('collections', 'Counter', '__add__',
     lambda: (collections.Counter('a'), call(collections.Counter('b')))),
    ('collections', 'defaultdict', 'get', lambda: (collections.defaultdict(list), call('k'))),
    ('collections', 'OrderedDict', 'copy', lambda: (collections.OrderedDict(a=[1]), call())),
    ('array', 'array', 'tolist', lambda: (array.array('i', [1]), call())),
    ('random', 'Random', 'getstate', lambda: (random.Random(1), call())),
    ('statistics', 'NormalDist', 'cdf', lambda: (statistics.NormalDist(), call(0.5))),
    ('decimal', 'Decimal', 'as_tuple', lambda: (decimal.Decimal('1.5'), call())),
    ('fractions', 'Fraction', 'limit_denominator', lambda: (fractions.Fraction(1, 3), call(2))),
    ('datetime', 'date', 'isoformat', lambda: (datetime.date(2024, 1, 2), call())),
    ('datetime', 'timedelta', 'total_seconds', lambda: (datetime.timedelta(1), call())),
    ('re', 'Pattern', 'findall', lambda: (re.compile('a'), call('aba'))),
    ('re', 'Pattern', 'sub', lambda: (re.compile('a'), call(lambda m: 'b', 'aa'))),
    ('re', 'Match', 'group', lambda: (re.match('a', 'ab'), call(0))),
    ('textwrap', 'TextWrapper', 'wrap', lambda: (textwrap.TextWrapper(width=3), call('ab cd'))),
    ('struct', 'Struct', 'unpack', lambda: (struct.Struct('<b'), call(bytearray(1)))),
    ('hashlib', 'HASH', 'hexdigest', lambda: (hashlib.sha256(b'a'), call())),
    ('pathlib', 'PurePosixPath', 'joinpath', lambda: (pathlib.PurePosixPath('a'), call('b'))),
    ('pathlib', 'PurePosixPath', 'with_suffix', lambda: (pathlib.PurePosixPath('a.x'), call('.y'))),
    ('io', 'StringIO', 'getvalue', lambda: (io.StringIO('ab'), call())),
]


@pytest.mark.parametrize('module, qualname, method, arguments', PURE_METHOD_CALLS,
                         ids=[f'{q}.{m}' for _, q, m, _ in PURE_METHOD_CALLS])
def test_methods_said_to_change_nothing_change_nothing(module, qualname, method, arguments):
    assert not method_effect(module, qualname, method).mutates
    receiver, (args, kwargs) = arguments()
    assert find_type(module, qualname) is type(receiver)
    before = snapshot(receiver), {k: snapshot(v) for k, v in _arguments(args, kwargs).items()}
    getattr(receiver, method)(*args, **kwargs)
    after = snapshot(receiver), {k: snapshot(v) for k, v in _arguments(args, kwargs).items()}
    assert after == before


MUTATING_CALLS = [
    ('builtins', 'next', lambda: call(iter([1, 2]))),
    ('builtins', 'setattr', lambda: call(SimpleNamespace(a=1), 'a', 2)),
    ('builtins', 'delattr', lambda: call(SimpleNamespace(a=1), 'a')),
    ('builtins', 'print', lambda: call('x', file=io.StringIO())),
    ('heapq', 'heappush', lambda: call([1, 3], 2)),
    ('heapq', 'heappop', lambda: call([1, 3])),
    ('heapq', 'heapify', lambda: call([3, 1, 2])),
    ('heapq', 'heapreplace', lambda: call([1, 3], 2)),
    ('heapq', 'heappushpop', lambda: call([1, 3], 2)),
    ('bisect', 'insort', lambda: call([1, 3], 2)),
    ('bisect', 'insort_left', lambda: call(a=[1, 3], x=2)),
    ('operator', 'setitem', lambda: call([1, 2], 0, 9)),
    ('operator', 'delitem', lambda: call([1, 2], 0)),
    ('operator', 'iadd', lambda: call([1], [2])),
    ('operator', 'ior', lambda: call({1}, {2})),
    ('operator', 'getitem', lambda: call(collections.defaultdict(list), 'k')),
    ('copy', 'deepcopy', lambda: call([[1]], {})),
    ('json', 'dump', lambda: call([1], io.StringIO())),
    ('json', 'dump', lambda: call([1], fp=io.StringIO())),
    ('json', 'load', lambda: call(io.StringIO('[1] '))),
    ('pickle', 'dump', lambda: call([1], io.BytesIO())),
    ('pickle', 'load', lambda: call(io.BytesIO(pickle.dumps(1)))),
    ('pprint', 'pprint', lambda: call([1], io.StringIO())),
    ('pprint', 'pp', lambda: call([1], stream=io.StringIO())),
    ('functools', 'update_wrapper', lambda: call(fresh_function(), a_function)),
    ('functools', 'total_ordering', lambda: call(fresh_class())),
    ('dataclasses', 'dataclass', lambda: call(fresh_class())),
    ('struct', 'pack_into', lambda: call('<b', bytearray(1), 0, 5)),
    ('abc', 'abstractmethod', lambda: call(fresh_function())),
    ('abc', 'update_abstractmethods', lambda: call(fresh_abstract_class())),
    ('typing', 'final', lambda: call(fresh_function())),
    ('typing', 'no_type_check', lambda: call(fresh_function())),
    ('typing', 'override', lambda: call(fresh_function())),
    ('inspect', 'markcoroutinefunction', lambda: call(fresh_function())),
    ('random', 'shuffle', lambda: call(list(range(20)))),
    ('base64', 'encode', lambda: call(io.BytesIO(b'abc'), io.BytesIO())),
    ('shutil', 'copyfileobj', lambda: call(io.BytesIO(b'ab'), io.BytesIO())),
    ('dis', 'show_code', lambda: call(a_function, file=io.StringIO())),
    ('dis', 'dis', lambda: call(fresh_function(), file=io.StringIO())),
]


@pytest.mark.parametrize('module, qualname, arguments', MUTATING_CALLS,
                         ids=[f'{m}.{q}' for m, q, _ in MUTATING_CALLS])
def test_calls_change_the_arguments_they_are_said_to_and_no_others(module, qualname, arguments):
    effect = function_effect(module, qualname)
    args, kwargs = arguments()
    targets = _named_targets(effect, args, kwargs)
    assert targets, 'the sample passes none of the arguments said to change'
    before = {key: snapshot(value) for key, value in _arguments(args, kwargs).items()}
    resolve(module, qualname)(*args, **kwargs)
    after = {key: snapshot(value) for key, value in _arguments(args, kwargs).items()}
    for key in before:
        assert (after[key] != before[key]) == (key in targets), key


MUTATING_METHOD_CALLS = [
    ('builtins', 'list', 'append', lambda: ([1], call(2))),
    ('builtins', 'list', 'sort', lambda: ([2, 1], call())),
    ('builtins', 'list', 'pop', lambda: ([1, 2], call())),
    ('builtins', 'list', '__setitem__', lambda: ([1], call(0, 5))),
    ('builtins', 'list', '__iadd__', lambda: ([1], call([2]))),
    ('builtins', 'dict', 'setdefault', lambda: ({}, call('k', []))),
    ('builtins', 'dict', 'update', lambda: ({}, call(a=1))),
    ('builtins', 'dict', 'pop', lambda: ({'a': 1}, call('a'))),
    ('builtins', 'set', 'add', lambda: ({1}, call(2))),
    ('builtins', 'set', '__ior__', lambda: ({1}, call({2}))),
    ('builtins', 'bytearray', 'extend', lambda: (bytearray(b'a'), call(b'b'))),
    ('builtins', 'bytearray', '__setitem__', lambda: (bytearray(b'a'), call(0, 98))),
    ('builtins', 'str', 'format_map', lambda: ('{k}', call(collections.defaultdict(str)))),
    ('builtins', 'list_iterator', '__next__', lambda: (iter([1, 2]), call())),
    ('builtins', 'map', '__next__', lambda: (map(str, [1, 2]), call())),
    ('collections', 'defaultdict', '__getitem__',
     lambda: (collections.defaultdict(list), call('k'))),
    ('collections', 'Counter', 'update', lambda: (collections.Counter('a'), call('ab'))),
    ('collections', 'Counter', 'subtract', lambda: (collections.Counter('a'), call('a'))),
    ('collections', 'deque', 'rotate', lambda: (collections.deque([1, 2, 3]), call(1))),
    ('collections', 'deque', 'appendleft', lambda: (collections.deque([1]), call(0))),
    ('collections', 'OrderedDict', 'move_to_end',
     lambda: (collections.OrderedDict(a=1, b=2), call('a'))),
    ('array', 'array', 'append', lambda: (array.array('i', [1]), call(2))),
    ('random', 'Random', 'random', lambda: (random.Random(1), call())),
    ('random', 'Random', 'shuffle', lambda: (random.Random(1), call(list(range(20))))),
    ('io', 'StringIO', 'write', lambda: (io.StringIO(), call('x'))),
    ('io', 'StringIO', 'read', lambda: (io.StringIO('ab'), call(1))),
    ('io', 'BytesIO', 'readinto', lambda: (io.BytesIO(b'ab'), call(bytearray(2)))),
    ('string', 'Template', 'substitute',
     lambda: (string.Template('$k'), call(collections.defaultdict(str)))),
    ('struct', 'Struct', 'pack_into', lambda: (struct.Struct('<b'), call(bytearray(1), 0, 5))),
    ('hashlib', 'HASH', 'update', lambda: (hashlib.sha256(), call(b'a'))),
]


@pytest.mark.parametrize('module, qualname, method, arguments', MUTATING_METHOD_CALLS,
                         ids=[f'{q}.{m}' for _, q, m, _ in MUTATING_METHOD_CALLS])
def test_methods_change_what_they_are_said_to_and_nothing_else(module, qualname, method, arguments):
    effect = method_effect(module, qualname, method)
    receiver, (args, kwargs) = arguments()
    assert find_type(module, qualname) is type(receiver)
    targets = _named_targets(effect, args, kwargs)
    assert targets or RECEIVER in effect.mutates, 'the sample passes nothing said to change'
    values = {RECEIVER: receiver, **_arguments(args, kwargs)}
    before = {key: snapshot(value) for key, value in values.items()}
    getattr(receiver, method)(*args, **kwargs)
    after = {key: snapshot(value) for key, value in values.items()}
    for key in before:
        assert (after[key] != before[key]) == (key in targets or key == RECEIVER and
                                               RECEIVER in effect.mutates), key


def test_the_samples_cover_enough():
    assert len(PURE_CALLS) + len(PURE_METHOD_CALLS) >= 40
    assert len(MUTATING_CALLS) + len(MUTATING_METHOD_CALLS) >= 25


# -- state copies exactly from one interpreter to another --

VARIABLE = 'INTERPKERNEL_TEST_KNOWLEDGE'
OTHER_VARIABLE = 'INTERPKERNEL_TEST_KNOWLEDGE_OTHER'

# Statements that change each state away from a fresh interpreter's.
STATE_CHANGES = {
    'random': 'random.seed(1); random.random()',
    'decimal': ('c = decimal.getcontext(); c.prec = 50; c.traps[decimal.Inexact] = True\n'
                'c.flags[decimal.Rounded] = True\n'
                'decimal.DefaultContext.rounding = decimal.ROUND_DOWN'),
    'warnings': ("warnings.filterwarnings('ignore', category=DeprecationWarning, module='x')\n"
                 "warnings.simplefilter('error', UserWarning, append=True)\n"
                 "warnings.filterwarnings('always', message='Hello.*', lineno=3)"),
    'sys.path': "sys.path.insert(0, '/nonexistent/interpkernel')",
    'sys.argv': "sys.argv[:] = ['notebook', '--flag']",
    'recursionlimit': 'sys.setrecursionlimit(5000)',
    'int_max_str_digits': 'sys.set_int_max_str_digits(10000)',
    'environ': f"os.environ[{VARIABLE!r}] = 'set in the first interpreter'",
    'gc': 'gc.disable(); gc.set_threshold(500, 5, 5); gc.set_debug(gc.DEBUG_UNCOLLECTABLE)',
    'calendar': 'calendar.setfirstweekday(calendar.SUNDAY)',
    'numpy': ("numpy.random.seed(3); numpy.random.rand(); numpy.random.randn()\n"
              "numpy.set_printoptions(precision=2); numpy.seterr(all='raise')"),
}
# Statements run before restoring, which the restore must undo.
BEFORE_RESTORE = {
    'environ': f"os.environ[{OTHER_VARIABLE!r}] = 'set in the second interpreter'",
    'warnings': "warnings.simplefilter('ignore')",
}
# What must behave the same after restoring.
PROBES = {'random': 'random.random()', 'numpy': '(numpy.random.randn(), str(numpy.array([1/3])))'}

COPYABLE = sorted(name for name, kind in STATES.items() if kind.capture)


def run_isolated(code):
    """Run `code` in a fresh isolated subinterpreter."""
    iid = _interpreters.create('isolated')
    try:
        failure = _interpreters.exec(iid, code)
    finally:
        _interpreters.destroy(iid)
    assert failure is None, failure.formatted


def capture_in_fresh_interpreter(kind, path, before='', restore_from=None):
    """Run `before` (and restore the state pickled at `restore_from`) in a fresh
    interpreter, then pickle (capture, probe) to `path` and return it."""
    lines = [f'import pickle, {", ".join(kind.imports)}', before]
    if restore_from is not None:
        lines += [f'with open({str(restore_from)!r}, "rb") as f:',
                  '    state, _ = pickle.load(f)',
                  kind.restore]
    lines += [f'value = {kind.capture}',
              f'probe = {PROBES.get(kind.name, "None")}',
              f'with open({str(path)!r}, "wb") as f:',
              '    pickle.dump((value, probe), f)']
    if 'numpy' in kind.imports:     # it refuses subinterpreters: a process of its own
        subprocess.run([sys.executable, '-c', '\n'.join(lines)], check=True)
    else:
        run_isolated('\n'.join(lines))
    with open(path, 'rb') as f:
        return pickle.load(f)


def test_every_copyable_state_has_a_change_to_copy():
    assert set(STATE_CHANGES) == set(COPYABLE)


@pytest.mark.parametrize('name', COPYABLE)
def test_state_restores_exactly_in_another_interpreter(name, tmp_path):
    kind = STATES[name]
    try:
        fresh, _ = capture_in_fresh_interpreter(kind, tmp_path / 'fresh')
        changed = capture_in_fresh_interpreter(kind, tmp_path / 'changed', STATE_CHANGES[name])
        assert changed[0] != fresh
        restored = capture_in_fresh_interpreter(kind, tmp_path / 'restored',
                                                BEFORE_RESTORE.get(name, ''), tmp_path / 'changed')
        assert restored == changed
    finally:
        for variable in (VARIABLE, OTHER_VARIABLE):   # set process-wide by the subinterpreters
            os.unsetenv(variable)


def test_a_copied_warnings_filter_matches_what_the_original_matched():
    """The interpreter's default filter for __main__ holds the module name as a plain
    string, matched exactly; its copy is a regex matching exactly that."""
    filters = [('default', None, DeprecationWarning, '__main__', 0),
               ('ignore', re.compile('hello', re.I), UserWarning, re.compile('a.b'), 3)]
    state = eval(STATES['warnings'].capture,
                 {'re': re, 'warnings': SimpleNamespace(filters=filters)})
    (_, message, _, module, _), copied = state
    assert message is None and re.match(module, '__main__') and not re.match(module, '__main__x')
    assert copied == ('ignore', 'hello', UserWarning, 'a.b', 3)
