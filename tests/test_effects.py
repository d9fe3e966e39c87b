"""What a cell's calls may read and change, once what its names hold is known."""

import linecache

import pytest

from interpkernel.dataflow.analysis import analyse
from interpkernel.dataflow.effects import (Summaries, in_cell, known_builtin, known_from_value,
                                           resolve, spoken)

SETUP = '''\
import heapq, random, decimal, sys, os, itertools, collections, hashlib, re
queue = []
numbers = [3, 1, 2]
REGISTRY = {}
count = 0
def add_to(item, bucket):
    bucket.append(item)
def total(xs):
    return sum(xs)
def register(f):
    REGISTRY[f.__name__] = f
    return f
def bump():
    global count
    count += 1
def remember(x, seen=[]):
    seen.append(x)
def reads_scale(v):
    return v * SCALE
def calls_reader(v):
    return reads_scale(v) + 1
def make_counter():
    n = 0
    def step():
        nonlocal n
        n += 1
        return n
    return step
tick = make_counter()
class Stack:
    def __init__(self):
        self.items = []
    def push(self, v):
        self.items.append(v)
    def peek(self):
        return self.items[-1]
stack = Stack()
it = iter(numbers)
counts = collections.defaultdict(int)
name = 'text'
import dataclasses
from dataclasses import dataclass, field
LOG = []
def new_bucket():
    LOG.append('bucket')
    return []
@dataclass
class Point:
    x: int
    y: int = 0
    def norm(self):
        return abs(self.x) + abs(self.y)
@dataclass
class Logged:
    x: int
    def __post_init__(self):
        LOG.append(self.x)
@dataclasses.dataclass
class Holder:
    items: list = field(default_factory=new_bucket)
    def first(self):
        return self.items[0]
def tag(cls):
    REGISTRY[cls.__name__] = cls
    return cls
@tag
class Tagged:
    def name(self):
        return 'tagged'
ALPHABET = 'abc'
class Game:
    def plays(self, fragment):
        return [fragment + letter for letter in ALPHABET]
def first_play(game):
    return game.plays('')[0]
def make_list():
    return []
class Board(list):
    def _repr_html_(self):
        return board_html(self)
    def __str__(self):
        return board_html(self)
def board_html(board):
    return SQUARE.join(board)
def make_board():
    return Board('ab')
class Tile:
    def __repr__(self):
        return tile_text(self)
def tile_text(tile):
    return LETTERS[0]
tiles = [Tile()]
class Box:
    def __init__(self, content):
        self.content = content
def link(a, b):
    a.next = b
from IPython.core.formatters import PlainTextFormatter
text_formatter = PlainTextFormatter()
class Displayed:
    def _ipython_display_(self):
        show_it(self)
class Keeper:
    def __init__(self, items):
        self.items = items
        self.items.append(0)
def fill(n):
    out = []
    for i in range(n):
        out.append(i)
    return out
def fill_logged(n):
    out = []
    LOG.append(out)
    out.append(n)
def fill_given(bucket):
    out = bucket
    out.append(1)
def fill_rebound(n):
    out = []
    out = numbers
    out.append(n)
def digest(text):
    return hashlib.new('md5', ('%s' % text).encode('utf-8')).hexdigest()
SCORES = []
class Player:
    def score(self):
        SCORES.append(1)
class Team:
    def __init__(self):
        self.members = [Player()]
        self.captain = Player()
        self.handlers = []
    def fire(self):
        for handler in self.handlers:
            handler()
    def captain_scores(self):
        score = self.captain.score
        score()
team = Team()
players = [Player()]
class League:
    best = Player()
def score_all(t):
    for member in t.members:
        member.score()
class Chain:
    states = [0, 1]
    def R(self, state):
        return REWARDS[state]
    def T(self, state):
        return [(1.0, state)]
chain = Chain()
class Searcher:
    def __init__(self, h):
        self.h = h
    def run(self, x):
        return self.h(x)
searcher = Searcher(len)
def trace1(f):
    def traced():
        print(f.__name__)
    return traced
def step():
    pass
step = trace1(step)
class Song:
    def __str__(self):
        return 'la'
class Acrostic(Song):
    pass
class Checked:
    def __init__(self, value):
        self.value = value
        self.check()
    def check(self):
        LOG.append(self.value)
SUBCLASSES = []
class Plugin:
    def __init_subclass__(cls, **options):
        SUBCLASSES.append(cls.__name__)
CLASSES = {}
class Registering(type):
    def __new__(mcls, name, bases, namespace):
        CLASSES[name] = cls = super().__new__(mcls, name, bases, namespace)
        return cls
FIELDS = []
class Field:
    def __set_name__(self, owner, name):
        FIELDS.append(name)
ENTERED = []
class Guard:
    def __enter__(self):
        ENTERED.append(1)
    def __exit__(self, *exc):
        ENTERED.append(0)
    def __eq__(self, other):
        ENTERED.append(other)
        return False
    __hash__ = None
guard = Guard()
push_on_stack = stack.push
append_to_queue = queue.append
CALLS = []
class Tally:
    def __call__(self, v):
        CALLS.append(v)
tally = Tally()
class Registered(metaclass=Registering):
    pass
INSTANCES = {}
class Single(type):
    def __call__(cls, *args):
        return INSTANCES.setdefault(cls, super().__call__(*args))
    def forget(cls):
        INSTANCES.pop(cls, None)
class Config(metaclass=Single):
    pass
from contextlib import contextmanager
@contextmanager
def entering(n):
    ENTERED.append(n)
    yield n
HASHED = []
class Keyed:
    def __hash__(self):
        HASHED.append(1)
        return 1
key = Keyed()
keys_pair = (key, 2)     # a tuple's hash is its items'
MADE = []
class Made:
    def __new__(cls, *args):
        MADE.append(cls)
        return super().__new__(cls)
'''


def namespace_of(setup):
    """The namespace `setup` makes, run as the first cell (its source findable)."""
    filename = '<cell In[1]>'
    linecache.cache[filename] = (len(setup), None, setup.splitlines(True), filename)
    namespace = {'__name__': '__main__'}
    exec(compile(setup, filename, 'exec'), namespace)
    return namespace


@pytest.fixture(scope='module')
def namespace():
    return namespace_of(SETUP)


def effects_of(source, namespace, setup=SETUP):
    effects = analyse(source, '<cell In[2]>')
    summaries = Summaries()
    summaries.add('<cell In[1]>', analyse(setup, '<cell In[1]>'))   # as the scheduler does,
    summaries.add('<cell In[2]>', effects)     # every cell it ran and the cell's own functions

    def defined(name):
        return known_from_value(namespace[name]) if name in namespace else known_builtin(name)

    return resolve(effects, in_cell(effects, '<cell In[2]>', defined), summaries)


@pytest.mark.parametrize('source, changed', [
    ('heapq.heappush(queue, 4)', {'queue'}),
    ('heapq.heappop(queue)', {'queue'}),
    ('add_to(5, numbers)', {'numbers'}),
    ('remember(1)', {'remember'}),
    ('tick()', {'tick'}),
    ('stack.push(1)', {'stack'}),
    ('next(it)', {'it'}),
    ('for x in it:\n    pass', {'it'}),
    ('random.shuffle(numbers)', {'numbers'}),
    ('counts["new"]', {'counts'}),
    ('numbers.sort()', {'numbers'}),
    ('row = numbers\nrow.append(1)', {'numbers', 'row'}),
    # What a library's function returned, called at once: it calls what it holds.
    ('import operator\noperator.methodcaller("append", 1)(numbers)', {'numbers'}),
    ('import functools\nfunctools.partial(add_to, 5, numbers)()', {'numbers'}),
    ('import functools\nfunctools.partial(add_to, 5)(numbers)', {'numbers'}),
    ('import functools\nfunctools.partial(bump)()', {'count'}),
    ('from functools import partial\npartial(bump)()', {'count'}),
    ('from functools import partial\npartial(add_to, 5)(numbers)', {'numbers'}),
    ('import operator\nx = list(map(operator.methodcaller("append", 1), [numbers]))',
     {'numbers'}),
])
def test_calls_that_change_what_they_are_given(namespace, source, changed):
    assert changed <= effects_of(source, namespace).mutates


@pytest.mark.parametrize('source, changed', [
    ('list(map(queue.append, numbers))', {'queue'}),
    ('collections.deque(map(stack.push, numbers), maxlen=0)', {'stack'}),
    ('list(filter(queue.append, numbers))', {'queue'}),
    ('list(map(heapq.heappop, [queue]))', {'queue'}),
    ('list(map(next, [it]))', {'it'}),
    ('list(map(list.append, [queue], numbers))', {'queue'}),
    ('list(map(Player.score, players))', {'SCORES'}),
    ('list(map(add_to, numbers, [queue]))', {'queue'}),
    ('list(map(Logged, numbers))', {'LOG'}),
    ('list(map(tally, numbers))', {'CALLS'}),
    ('import functools\nfunctools.reduce(add_to, numbers, queue)', {'queue'}),
    ('import functools\nfunctools.reduce(lambda acc, v: acc.append(v) or acc, numbers, queue)',
     {'queue'}),
    ('s = sorted(players, key=lambda p: p.score())', {'SCORES'}),
    ('s = [p.score() for p in players]', {'SCORES'}),
    # a method taken from its object earlier changes the object (which it shares)
    ('push_on_stack(1)', {'push_on_stack'}),
    ('list(map(push_on_stack, numbers))', {'push_on_stack'}),
    ('list(map(append_to_queue, numbers))', {'append_to_queue'}),
])
def test_a_call_that_calls_what_it_is_given_makes_those_calls(namespace, source, changed):
    # map, filter, sorted's key, functools.reduce call the method, function, class
    # or lambda they are given with (what) the rest of their arguments (hold).
    assert changed <= effects_of(source, namespace).mutates


@pytest.mark.parametrize('source', [
    'import logging\nh = logging.StreamHandler(sys.stdout)',
    'import json\njson.dump(numbers, sys.stdout)',
    's = sorted(numbers, key=stack.items)',
])
def test_data_given_to_a_call_that_calls_what_it_is_given_is_not_called(namespace, source):
    # sys.stdout is no function of sys: calling it would change sys's state,
    # which only the host has.
    effects = effects_of(source, namespace)
    assert '<module sys>' not in effects.writes_state and 'stack' not in effects.mutates


@pytest.mark.parametrize('source', [
    'r = total(numbers)', 'n = len(numbers)', 's = sorted(numbers)', 'numbers.count(1)',
    'name.upper()', 'heapq.nlargest(2, numbers)', 'stack.peek()', 'list(numbers)',
    'for x in numbers:\n    pass', 'x = max(numbers) + min(numbers)',
    'x = max(counts, key=counts.get)', "s = sorted(['b', 'A'], key=str.lower)",
    'x = list(map(len, [numbers]))', 's = sorted(numbers, key=total)',
    's = max(counts.items())', 'import operator\ns = sorted([numbers], key=operator.itemgetter(0))',
    'from operator import attrgetter\ns = sorted([stack], key=attrgetter("items"))',
])
def test_calls_that_change_nothing_leave_their_arguments_alone(namespace, source):
    assert effects_of(source, namespace).mutates <= {'x', 'r', 'n', 's'}


@pytest.mark.parametrize('source', [
    'import functools\ng = functools.lru_cache(maxsize=None)(total)',
    'import functools\ng = functools.wraps(total)(bump)',
    'from functools import lru_cache\ng = lru_cache(maxsize=None)(total)',
])
def test_what_a_library_decorator_factory_returns_changes_nothing_of_ours(namespace, source):
    effects = effects_of(source, namespace)
    assert effects.mutates <= {'g'} and effects.reads_anything is None


@pytest.mark.parametrize('source', [
    'import operator\noperator.methodcaller("push", 1)(stack)',
    'from operator import methodcaller\nmethodcaller("push", 1)(stack)',
    'import operator\nlist(map(operator.methodcaller("push", 1), [stack]))',
    'import functools\nfunctools.partial(stack.push, 1)()',
])
def test_a_method_called_by_name_on_a_notebook_object_may_do_anything(namespace, source):
    # methodcaller('push', 1) calls stack.push, whose code the call does not name.
    effects = effects_of(source, namespace)
    assert 'stack' in effects.mutates and 'may call into stack' in effects.reads_anything


@pytest.mark.parametrize('source, changed', [
    ('class Mine(Plugin):\n    pass', 'SUBCLASSES'),          # the bases' __init_subclass__
    ('class Mine(Plugin, x=1):\n    pass', 'SUBCLASSES'),
    ('class Mine(metaclass=Registering):\n    pass', 'CLASSES'),  # the metaclass's __new__
    ('class Mine(Registered):\n    pass', 'CLASSES'),       # ... the base's metaclass's
    ('c = Config()', 'INSTANCES'),                          # the metaclass's __call__
    ('Config.forget()', 'INSTANCES'),                       # a method of the metaclass
    ('m = Made(1)', 'MADE'),                                # the class's __new__
    ('class Mine:\n    size = Field()', 'FIELDS'),                # its objects' __set_name__
    ('with guard:\n    pass', 'ENTERED'),                         # __enter__ and __exit__
    ('with entering(1):\n    pass', 'ENTERED'),           # a @contextmanager's body
    ('found = guard in [1, 2]', 'ENTERED'),                        # the items' __eq__
])
def test_methods_python_calls_by_itself_count_as_calls(namespace, source, changed):
    # A registry of subclasses kept by a base class or a metaclass, a context
    # manager's log: the cell changes them, though it names none of them.
    effects = effects_of(source, namespace)
    assert changed in effects.mutates and changed in effects.reads


@pytest.mark.parametrize('source', ['class Mine(metaclass=Preparing):\n    pass',
                                    'class Mine(Prepared):\n    pass'])
def test_a_class_statement_calls_its_metaclasss_prepare(source):
    # MyClass(metaclass=MyMeta) ran MyMeta.__prepare__ where OrderedDict was not.
    setup = ('PREPARED = []\nclass Preparing(type):\n    @classmethod\n'
             '    def __prepare__(mcs, name, bases):\n        PREPARED.append(name)\n'
             '        return {}\nclass Prepared(metaclass=Preparing):\n    pass\n')
    effects = effects_of(source, namespace_of(setup), setup=setup)
    assert 'PREPARED' in effects.mutates and 'PREPARED' in effects.reads


@pytest.mark.parametrize('source', [
    'd = {key: 1}', 's = {key}', 'found = key in counts', 'counts[key] = 1', 'x = counts[key]',
    'del counts[key]', 'd = {k: 1 for k in [key]}', 's = {k for k in [key]}',
    's = set([key])', 'keys = [key]\ns = frozenset(keys)', 's = set()\ns.add(key)',
    'x = counts.get(key)', 's = set()\ns.update([key])', 'counts.setdefault(key, 0)',
    'counts[keys_pair] = 1', 'found = keys_pair in counts', 'x = counts.get(keys_pair)',
])
def test_a_key_put_in_or_looked_up_in_a_dict_or_set_is_hashed(namespace, source):
    effects = effects_of(source, namespace)
    assert 'HASHED' in effects.mutates and 'HASHED' in effects.reads


def test_a_call_into_a_helper_modules_function_or_class_changes_the_modules_state(
        tmp_path, monkeypatch):
    # pytudes' Euler: `run(euler_3)` recorded into the helper module's RUNS in one
    # worker, and `runs()` printed another worker's (one problem missing, no note).
    (tmp_path / 'helper_with_state.py').write_text(
        'RUNS = {}\nclass run:\n    def __init__(self, f):\n        RUNS[f.__name__] = f()\n'
        'def runs():\n    return sorted(RUNS)\n')
    monkeypatch.syspath_prepend(tmp_path)
    setup = 'from helper_with_state import run, runs'
    namespace = {'__name__': '__main__'}
    exec(setup, namespace)
    for source in ('run(len)', 'x = runs()'):
        effects = effects_of(source, namespace, setup=setup)
        assert '<module helper_with_state>' in effects.writes_state


LAZY_SETUP = """\
from functools import singledispatch
def numbers():
    yield LAST
made = numbers()
scaled = map(lambda v: v * SCALE, [1, 2])
shifted = (v + SHIFT for v in range(3))
class Point:
    def __init__(self, v):
        self.v = v + ORIGIN
points = map(Point, filter(None, [1, 2]))
import itertools
limited = itertools.takewhile(lambda v: v < LIMIT, range(10))
paired = zip([1], enumerate(numbers()))
def draw(it):
    for x in it:
        yield x
drawn = draw(x + 1 for x in map(lambda v: v * FACTOR, [3]))
class Seq:
    def __getitem__(self, i):
        if i >= LENGTH:
            raise IndexError(i)
        return i
seq = Seq()
class Sized:
    def __iter__(self):
        return iter([])
    def __len__(self):
        return SIZE
sized = Sized()
@singledispatch
def show(x):
    return 'object'
@show.register(int)
def _(x):
    return 'int' + TAG
"""


@pytest.mark.parametrize('source, read', [
    ('print(list(made))', 'LAST'), ('print(next(made))', 'LAST'),
    ('for v in made:\n    pass', 'LAST'), ('made.send(None)', 'LAST'),
    ('total = sum(scaled)', 'SCALE'), ('first = next(scaled)', 'SCALE'),
    ('print(list(shifted))', 'SHIFT'), ('print(max(shifted))', 'SHIFT'),
    ('print(len(list(points)))', 'ORIGIN'), ('print(list(limited))', 'LIMIT'),
    ('print(list(paired))', 'LAST'), ('print(next(drawn))', 'FACTOR'),
    ('print(show(1))', 'TAG'),
])
def test_advancing_a_lazy_value_or_calling_a_dispatcher_reads_what_its_notebook_code_reads(
        source, read):
    # A generator, a map or a generator expression made in one cell and advanced
    # in another runs its notebook code then, as does a singledispatch function a
    # later cell registered an implementation with: that code's globals are read
    # where the advancing cell runs (before: NameError, or an old value).
    namespace = namespace_of(LAZY_SETUP)
    effects = effects_of(source, namespace, setup=LAZY_SETUP)
    assert read in effects.reads


@pytest.mark.parametrize('source, read', [
    # a class with no __iter__ is iterated through __getitem__, and `in` iterates
    ('print(list(seq))', 'LENGTH'), ('print(2 in seq)', 'LENGTH'), ('print(2 in made)', 'LAST'),
    # testing an object for truth runs its __len__ (no __bool__); so does sizing a list
    ('if sized:\n    pass', 'SIZE'), ('x = 1 if sized else 2', 'SIZE'), ('x = not sized', 'SIZE'),
    ('x = sized or 1', 'SIZE'), ('assert sized', 'SIZE'), ('while sized:\n    break', 'SIZE'),
    ('x = [v for v in [1] if sized]', 'SIZE'), ('x = [*sized]', 'SIZE'), ('x = list(sized)', 'SIZE'),
])
def test_iterating_or_testing_an_object_runs_the_methods_python_calls_for_it(source, read):
    # `if box:` ran Box.__len__, `[*box]` sized the list with it, `list(seq)` ran
    # Seq.__getitem__: where their globals were not (NameError).
    effects = effects_of(source, namespace_of(LAZY_SETUP), setup=LAZY_SETUP)
    assert read in effects.reads


@pytest.mark.parametrize('source', ['raise AppError()', 'e = AppError()\nraise e',
                                    'raise ValueError() from AppError()'])
def test_an_exception_a_cell_raises_is_shown_through_its_str(source):
    # `raise AppError()` showed `<cannot show the exception: NameError>`: its
    # __str__ ran where SUFFIX was not.
    setup = 'class AppError(Exception):\n    def __str__(self):\n        return "failed" + SUFFIX\n'
    assert 'SUFFIX' in effects_of(source, namespace_of(setup), setup=setup).reads


def test_a_container_formatted_in_an_f_string_shows_its_items_reprs():
    # print(f"{hand}") ran Card.__repr__ where SUIT was not (NameError).
    setup = 'class Card:\n    def __repr__(self):\n        return "C" + SUIT\nhand = [Card()]\n'
    assert 'SUIT' in effects_of('print(f"{hand}")', namespace_of(setup), setup=setup).reads


HOOKS_SETUP = """\
import copy, json, pickle
HOOKED = []
class Hooked:
    def __copy__(self):
        HOOKED.append('copy')
        return Hooked()
    def __deepcopy__(self, memo):
        HOOKED.append('deepcopy')
        return Hooked()
    def __reduce__(self):
        HOOKED.append('reduce')
        return (Hooked, ())
    def __radd__(self, other):
        HOOKED.append('radd')
        return other
hooked = Hooked()
class Encoder(json.JSONEncoder):
    def default(self, o):
        HOOKED.append('default')
        return 0
"""


@pytest.mark.parametrize('source', [
    'c = copy.copy(hooked)', 'c = copy.deepcopy(hooked)', 'c = copy.deepcopy([hooked])',
    'p = pickle.dumps(hooked)', 'p = pickle.dumps({"k": [hooked]})',
    'total = sum([hooked, hooked])', 's = json.dumps([1], cls=Encoder)',
])
def test_the_hooks_a_library_call_runs_on_notebook_objects_count_as_calls(source):
    # copy.deepcopy([D()]) ran D.__deepcopy__ where the list it appends to was not
    # (NameError, then an empty list); json.dumps(cls=Encoder) ran Encoder.default
    # where the global it read was not; sum(vectors) ran their __radd__.
    namespace = namespace_of(HOOKS_SETUP)
    effects = effects_of(source, namespace, setup=HOOKS_SETUP)
    assert 'HOOKED' in effects.mutates and 'HOOKED' in effects.reads


LIBRARY_SETUP = """\
import json, string
class Lookup(dict):
    def __missing__(self, key):
        return key + MARK
    def record(self):
        RECORDED.append(self)
class Sized:
    def __index__(self):
        return SIZE
    def __format__(self, spec):
        return spec + MARK
class Sink:
    def write(self, text):
        WRITTEN.append(text)
lookup, sized, sink = Lookup(a=1), Sized(), Sink()
"""


@pytest.mark.parametrize('source, read', [
    ("'{a} {b}'.format_map(lookup)", 'MARK'), ("'%(a)s %(b)s' % lookup", 'MARK'),
    ("string.Template('$a $b').substitute(lookup)", 'MARK'),
    ("'{:x}'.format(sized)", 'MARK'), ('[0] * sized', 'SIZE'),
    ("'{b}'.format_map(Lookup())", 'MARK'), ('json.dump([1], sink)', 'WRITTEN'),
])
def test_a_library_call_given_a_notebook_object_may_run_its_special_methods(source, read):
    # '{a} {b}'.format_map(d) ran Lookup.__missing__ where MARK was not (NameError);
    # json.dump, which may change the file it is given, calls its write.
    namespace = namespace_of(LIBRARY_SETUP)
    assert read in effects_of(source, namespace, setup=LIBRARY_SETUP).reads


@pytest.mark.parametrize('source', ["'{a}'.format_map(lookup)", 'print(len(lookup))'])
def test_a_library_call_runs_no_plain_method_of_what_it_does_not_change(source):
    # A builtin runs the methods its table names (len: __len__), no others.
    namespace = namespace_of(LIBRARY_SETUP)
    effects = effects_of(source, namespace, setup=LIBRARY_SETUP)
    assert 'RECORDED' not in effects.reads and 'RECORDED' not in effects.mutates
    assert ('MARK' in effects.reads) == ('format_map' in source)


def test_a_method_of_a_class_made_by_calling_type_reads_what_the_function_set_on_it_reads():
    # `Point = type('Point', (), {'show': lambda self: ... MARK})`: `pp.show()` ran
    # where MARK was not (NameError), its call counted as a library method's.
    setup = ("Point = type('Point', (), {'show': lambda self: 'P' + MARK})\npp = Point()\n"
             "from collections import namedtuple\nPair = namedtuple('Pair', 'a b')\n"
             "pair = Pair(1, 2)\n")
    namespace = namespace_of(setup)
    assert 'MARK' in effects_of('print(pp.show())', namespace, setup=setup).reads
    # A class a library made runs none of the notebook's code.
    effects = effects_of('print(pair._asdict())', namespace, setup=setup)
    assert effects.reads_anything is None and effects.mutates <= {'pair'}


def test_a_class_statement_with_no_such_methods_changes_nothing_else(namespace):
    effects = effects_of('class Mine(Song, metaclass=type):\n    size = len("ab")', namespace)
    assert effects.mutates <= {'Mine'}


def test_storing_an_argument_into_a_new_object_leaves_the_argument_as_it_was(namespace):
    assert 'numbers' not in effects_of('b = Box(numbers)', namespace).mutates


def test_a_new_object_changing_what_it_was_given_changes_it(namespace):
    assert 'numbers' in effects_of('k = Keeper(numbers)', namespace).mutates


@pytest.mark.parametrize('source, holder, held', [
    ('numbers.append(queue)', 'numbers', 'queue'),
    ('heapq.heappush(queue, numbers)', 'queue', 'numbers'),
    ('setattr(stack, "top", numbers)', 'stack', 'numbers'),
    ('REGISTRY.update(k=numbers)', 'REGISTRY', 'numbers'),
    ('link(stack, numbers)', 'stack', 'numbers'),
    ('stack.push(numbers)', 'stack', 'numbers'),
])
def test_a_call_storing_one_argument_into_another_links_them(namespace, source, holder, held):
    effects = effects_of(source, namespace)
    assert {holder, held} <= effects.mutates
    assert held in effects.links[holder] and holder in effects.links[held]


@pytest.mark.parametrize('source', [
    "word = 'plumage!'\nword = word.strip('!')\nword", 't = [1, 2]\nt = t.copy()',
    'p = Point(1)\np = p.norm()', 'a = numbers.copy()\nb = a.copy()\na = b.copy()',
])
def test_a_name_rebound_from_a_method_of_its_own_value_resolves(namespace, source):
    effects = effects_of(source, namespace)
    assert effects.binds >= {name.split(' =')[0] for name in source.splitlines()
                             if ' = ' in name}


@pytest.mark.parametrize('source', [
    "import unittest\nunittest.main(argv=[''], exit=False)", 'import doctest\ndoctest.testmod()',
    'from doctest import testmod\ntestmod()',
])
def test_running_the_tests_of_the_notebook_may_read_every_name(namespace, source):
    assert 'looks for what to run among every name' in effects_of(source, namespace).reads_anything


def test_timing_source_code_may_read_every_name(namespace):
    # setup='from __main__ import f, data' (Advent of Code notebooks)
    for source in ("import timeit\ntimeit.timeit('f(x)', setup='from __main__ import f, x')",
                   'from timeit import repeat\nrepeat(lambda: 1, number=2)'):
        assert 'looks for what to run' in effects_of(source, namespace).reads_anything


@pytest.mark.parametrize('source, changed', [('print(files.n)', True), ('x = files.s', True),
                                             ('print(len(files))', False)])
def test_reading_a_caching_property_of_ipythons_slist_changes_it(source, changed):
    # `c = !ls`, then `c.n`: SList keeps the joined string on the list, which the
    # run-time check saw as a change no one foresaw (a false note).
    setup = 'from IPython.utils.text import SList\nfiles = SList(["a", "b"])\n'
    effects = effects_of(source, namespace_of(setup), setup=setup)
    assert ('files' in effects.mutates) == changed


@pytest.mark.parametrize('source', [
    'import typing\nhints = typing.get_type_hints(Point)',
    'from typing import get_type_hints\nget_type_hints(add_to)',
    'import inspect\ninspect.get_annotations(add_to, eval_str=True)',
])
def test_evaluating_annotations_may_read_every_name(namespace, source):
    # Under `from __future__ import annotations` (or written as strings) they are
    # evaluated by the call, with the function's globals: get_type_hints(f) raised
    # NameError Alias where the cell ran.
    assert 'evaluates the annotations' in effects_of(source, namespace).reads_anything


def test_changing_an_object_of_ipython_changes_the_shell_and_needs_the_host(namespace):
    # ip.display_formatter.formatters['text/latex'].for_type_by_name(...)
    effects = effects_of('text_formatter.for_type(int, repr)', namespace)
    assert effects.host_only and '<ipython>' in effects.writes_state


def test_showing_a_value_runs_its_ipython_display_method(namespace):
    assert 'show_it' in effects_of('Displayed()', namespace).reads


def test_a_decorator_is_a_call_that_may_change_globals(namespace):
    effects = effects_of('@register\ndef new():\n    pass', namespace)
    assert 'REGISTRY' in effects.mutates and 'REGISTRY' in effects.reads


def test_making_a_plain_dataclass_changes_nothing_else(namespace):
    effects = effects_of('p = Point(1, 2)', namespace)
    assert effects.reads_anything is None and effects.mutates <= {'p'}


@pytest.mark.parametrize('source', ['q = Logged(3)', 'h = Holder()'])
def test_making_a_dataclass_runs_its_post_init_and_default_factories(namespace, source):
    effects = effects_of(source, namespace)
    assert 'LOG' in effects.mutates and 'LOG' in effects.reads


def test_making_a_class_whose_init_another_decorator_made_may_read_anything(namespace):
    assert effects_of('t = Tagged()', namespace).reads_anything is not None


def test_a_function_redefined_on_the_line_of_an_earlier_one_of_that_name_counts_too(namespace):
    # SETUP's add_to is on line 6: so is the cell's; both calls count.
    effects = effects_of('add_to(0, numbers)\n\n\n\n\n'
                         'def add_to(item, bucket):\n    LOG.append(item)\nadd_to(1, [])',
                         namespace)
    assert {'numbers', 'LOG'} <= effects.mutates


def test_a_function_setting_a_global_binds_it(namespace):
    assert 'count' in effects_of('bump()', namespace).binds


@pytest.mark.parametrize('source, read', [
    ('board = make_board()\nboard', {'board_html', 'SQUARE'}),      # IPython shows it
    ('print(make_board())', {'board_html', 'SQUARE'}),
    ('make_board()', {'board_html', 'SQUARE'}),
    ('f"{make_board()}"', {'board_html', 'SQUARE'}),
    ('game = make_list()\ngame.plays("x")', {'ALPHABET'}),
    ('make_list().plays("x")', {'ALPHABET'}),
    ('print([Tile()])', {'tile_text', 'LETTERS'}),     # a list shows its items' reprs
    ('row = {"k": Tile()}\nrow', {'tile_text', 'LETTERS'}),
    ('print(tiles)', {'tile_text', 'LETTERS'}),
    ('tiles', {'tile_text', 'LETTERS'}),
])
def test_a_value_whose_class_is_not_known_yet_or_a_container_may_run_any_notebook_class_method(
        namespace, source, read):
    # What a notebook function returns is known once the cell has run: till
    # then its display and its methods may be any notebook class's.
    assert read <= effects_of(source, namespace).reads


def test_calling_a_function_reads_the_globals_it_and_its_callees_use(namespace):
    assert {'SCALE', 'reads_scale'} <= effects_of('calls_reader(2)', namespace).reads


@pytest.mark.parametrize('source, state, writes', [
    ('random.seed(1)', '<random>', True),
    ('random.random()', '<random>', True),
    ('decimal.getcontext().prec = 5', '<decimal>', True),
    ('sys.setrecursionlimit(5000)', '<recursionlimit>', True),
    ('sys.path.append("..")', '<sys.path>', True),
    ('os.environ["X"] = "1"', '<environ>', True),
    ('print(os.environ.get("X"))', '<environ>', False),
    ('os.getcwd = lambda: "/home/dinsdale"', '<attributes of os>', True),
    ('import os\nos.getcwd()', '<attributes of os>', False),   # as a cell that patched it left it
    ('from os import getcwd\ngetcwd()', '<attributes of os>', False),
    # A library's class changed is its module's: each interpreter has its own.
    ('from fractions import Fraction\nFraction.speak = lambda self: "late"',
     '<attributes of fractions>', True),
])
def test_module_state_is_read_and_written_like_a_variable(namespace, source, state, writes):
    effects = effects_of(source, namespace)
    assert state in (effects.writes_state if writes else effects.reads_state)


def test_a_library_class_a_notebook_function_changes_changes_its_modules_attributes():
    setup = 'from fractions import Fraction\ndef dec(cls):\n    cls.speak = len\n    return cls'
    namespace = {'__name__': '__main__'}
    exec(compile(setup, '<cell In[1]>', 'exec'), namespace)
    for source in ('Fraction = dec(Fraction)', 'dec(Fraction)', 'setattr(Fraction, "x", 1)'):
        assert '<attributes of fractions>' in effects_of(source, namespace, setup).writes_state


@pytest.mark.parametrize('source', ['decimal.getcontext().prec = 6', 'sys.path.append(".")',
                                    'x = os.getcwd()', 'digest = hashlib.md5()\ndigest.name2 = 1',
                                    'from fractions import Fraction\nf = Fraction(1, 2)'])
def test_only_rebinding_a_module_attribute_changes_the_modules_attributes(namespace, source):
    assert not any(state.startswith('<attributes of') for state in
                   effects_of(source, namespace).writes_state)


def test_every_cell_reads_the_warning_filters(namespace):
    assert '<warnings>' in effects_of('x = 1', namespace).reads_state


def test_calling_something_not_known_yet_may_do_anything():
    effects = analyse('f(x)')
    resolved = resolve(effects, lambda name: known_from_value(None) if name == 'x' else
                       __import__('interpkernel.dataflow.effects', fromlist=['UNKNOWN']).UNKNOWN,
                       Summaries())
    assert resolved.unknown == 'it calls f, not known yet'


@pytest.mark.parametrize('source', [
    'from IPython.core.magic import register_line_magic\n'
    '@register_line_magic\ndef shout(line):\n    return line.upper()',
    'import IPython.core.magic\nIPython.core.magic.register_cell_magic(lambda line, cell: cell)',
    'from IPython import embed\nembed()',
    'magic.register_line_magic(print)',     # a module an earlier cell imported
])
def test_what_reaches_for_ipythons_shell_needs_the_host(namespace, source):
    import IPython.core.magic
    namespace = {**namespace, 'magic': IPython.core.magic}
    assert "which needs IPython's shell, in the host" in effects_of(source, namespace).host_only[0]


@pytest.mark.parametrize('source', [
    'display(HTML("<b>bold</b>"))', 'IPython.display.clear_output()', 'pretty([1, 2])'])
def test_ipythons_display_and_formatting_run_anywhere(namespace, source):
    import IPython.display
    import IPython.lib.pretty
    namespace = {**namespace, 'IPython': IPython, 'display': IPython.display.display,
                 'HTML': IPython.display.HTML, 'pretty': IPython.lib.pretty.pretty}
    assert not effects_of(source, namespace).host_only


def test_input_needs_the_host(namespace):
    assert effects_of('answer = input()', namespace).host_only


@pytest.mark.parametrize('source', [
    'remember(*[1])', 'remember(**{"x": 1})', 'r = sorted(numbers, key=remember)',
])
def test_a_call_that_hides_which_argument_goes_where_may_leave_a_default(namespace, source):
    # remember's default list may be the one it changes
    assert 'remember' in effects_of(source, namespace).mutates


@pytest.mark.parametrize('source', [
    # called before its new definition, then after it
    'total(numbers)\ndef total(xs):\n    xs.append(1)\ntotal(numbers)',
    # defined only maybe
    'if numbers:\n    def total(xs):\n        xs.append(1)\ntotal(numbers)',
    # defined again after the call
    'def total(xs):\n    xs.append(1)\ntotal(numbers)\ndef total(xs):\n    return 0',
    # the old add_to, called by a function before the cell defines a new one
    'def helper():\n    add_to(1, numbers)\nhelper()\ndef add_to(item, bucket):\n    pass',
])
def test_a_name_the_cell_defines_again_is_each_of_its_values_in_turn(namespace, source):
    assert 'numbers' in effects_of(source, namespace).mutates


def test_a_function_rebound_to_something_else_is_not_known(namespace):
    effects = effects_of('def total(xs):\n    return 0\ntotal = add_to\ntotal(1, numbers)',
                         namespace)
    assert effects.unknown is not None or 'numbers' in effects.mutates


def test_a_named_lambda_given_to_a_call_reads_what_its_body_reads(namespace):
    effects = effects_of('lam = lambda v: v * SCALE\nr = sorted(numbers, key=lam)', namespace)
    assert 'SCALE' in effects.reads


@pytest.fixture(scope='module')
def arrays():
    numpy = pytest.importorskip('numpy')
    return {'np': numpy, 'a': numpy.zeros(4), 'b': numpy.zeros(4)}


@pytest.mark.parametrize('source, changed', [
    ('np.add(a, 1, a)', {'a'}),                 # out in its place among the arguments
    ('np.add(a, 1, out=b)', {'b'}),
    ('np.sqrt(a, a)', {'a'}),
    ('np.sum(a, 0, None, b)', {'b'}),
    ('a.sum(0, None, b)', {'b'}),
    ('a.clip(0, 1, a)', {'a'}),
    ('np.median(a, overwrite_input=True)', {'a'}),
    ('np.random.shuffle(a)', {'a'}),
    ('a.sort()', {'a'}),
    ('a += 1', {'a'}),
])
def test_numpy_calls_that_change_an_array_in_place(arrays, source, changed):
    assert changed <= effects_of(source, arrays).mutates


@pytest.mark.parametrize('source', [
    'c = np.sqrt(a) + np.add(a, b)', 'm = a.mean()', 's = np.sum(a, axis=0)',
    'd = np.dot(a, b)', 'u = np.concatenate([a, b])',
])
def test_numpy_calls_that_change_nothing(arrays, source):
    resolved = effects_of(source, arrays)
    assert not resolved.mutates & {'a', 'b'} and '<module numpy>' not in resolved.writes_state


@pytest.mark.parametrize('source', [
    'np.random.seed(1)', 'x = np.random.dirichlet([1, 1])', 'np.set_printoptions(precision=2)',
    'np.seterr(all="raise")', 'x = np.random.rand(3)',
])
def test_numpys_global_state_is_written_by_what_changes_it(arrays, source):
    assert '<numpy>' in effects_of(source, arrays).writes_state


def test_an_unlisted_numpy_call_may_change_numpys_own_state(arrays):
    # Not in the table: it may set state no copy is made of, so the cells after it
    # that use numpy run where it ran.
    resolved = effects_of('np.set_string_function(None)', arrays)
    assert '<module numpy>' in resolved.writes_state
    assert '<module numpy>' in effects_of('x = np.arange(3)', arrays).reads_state


def test_an_object_made_in_a_calls_arguments_has_its_methods_followed(namespace):
    # `first_play(Game())`: the function calls a method of the object made in the
    # argument, which reads a global (norvig's Ghost notebook: `win(Vocabulary(...))`
    # missed `alphabet`, a NameError where Python works).
    effects = effects_of('first_play(Game())', namespace)
    assert 'ALPHABET' in effects.reads and effects.reads_anything is None
    shown = effects_of('Game().plays("x")', namespace)
    assert 'ALPHABET' in shown.reads and shown.reads_anything is None


def test_what_a_notebook_function_returns_in_a_cell_is_not_taken_for_everything(namespace):
    effects = effects_of('first_play(make_list())', namespace)
    assert effects.reads_anything is None


def test_two_objects_made_by_one_class_in_a_cell_are_not_taken_for_one():
    effects = analyse('a = Foo()\nb = Foo()\nc = Foo(a)\nd = c')
    assert dict(effects.aliases) == {'c': frozenset({'a', 'd'}), 'a': frozenset({'c', 'd'}),
                                     'd': frozenset({'a', 'c'})}


@pytest.mark.parametrize('source', [
    "hashlib.new('md5', b'spam').hexdigest()", "h = hashlib.sha256()\nh.update(b'eggs')",
    "d = digest(name)", "x = fill(3)", "('%s' % name).encode('utf-8')",
    "re.compile('a+').findall(name)",
])
def test_calls_on_values_a_library_or_a_function_just_made_change_nothing_else(namespace,
                                                                               source):
    # What a library function returns is known by its type (a hash, a pattern),
    # and a list a function fills is its own: neither is the module, the outside
    # world, or anything of the notebook's.
    resolved = effects_of(source, namespace)
    assert resolved.mutates <= {'h', 'x', 'd'} and not resolved.writes_state


@pytest.mark.parametrize('source, changed', [
    ('fill_logged(1)', 'LOG'), ('fill_given(numbers)', 'numbers'),
    ('fill_rebound(1)', 'numbers'),
])
def test_a_list_a_function_shares_with_others_changes_theirs(namespace, source, changed):
    assert changed in effects_of(source, namespace).mutates


@pytest.mark.parametrize('source', [
    'players[0].score()', 'team.members[0].score()', 'team.captain.score()',
    'score_all(team)', 'team.captain_scores()', 'def first(t):\n    t.members[0].score()\n'
                                               'first(team)',
    'League.best.score()',
])
def test_a_method_of_an_object_another_holds_is_any_notebook_class_s(namespace, source):
    # The receiver is an item or attribute of the name the syntax shows, or a
    # local taken out of one: its class may be any of the notebook's.
    resolved = effects_of(source, namespace)
    assert 'SCORES' in resolved.reads and 'SCORES' in resolved.mutates


@pytest.mark.parametrize('source', ['team.fire()', 'team.handlers[0]()', 'searcher.run(1)',
                                    'searcher.h(2)'])
def test_calling_something_an_object_holds_may_run_any_notebook_code(namespace, source):
    assert effects_of(source, namespace).reads_anything


def test_a_method_taken_into_a_local_is_that_objects_method(namespace):
    # aima's value iteration: ``R, T = mdp.R, mdp.T`` then ``R(s)``. Before, the
    # call looked like one of a global R, unknown, which made the cell read
    # everything (numpy in the host, and the MDP in a worker: a TransferError).
    resolved = effects_of('def values(mdp):\n    R, T = mdp.R, mdp.T\n'
                          '    return [R(s) + sum(p for p, _ in T(s)) for s in mdp.states]\n'
                          'v = values(chain)', namespace)
    assert resolved.unknown is None and resolved.reads_anything is None
    assert 'REWARDS' in resolved.reads


@pytest.mark.parametrize('source', ['team.members[0].score()', 'score_all(team)',
                                    'for m in team.members:\n    m.score()'])
def test_a_method_of_something_held_is_not_looked_up_on_its_holder(namespace, source):
    # Team defines no `score`: the receiver is a member, not the team.
    assert effects_of(source, namespace).reads_anything is None


def test_a_wrapper_showing_the_function_it_wraps_resolves(namespace):
    # pytudes' trace1: the wrapper prints `f.__name__`, `f` a variable of its
    # closure. Its resolution failed (code keys were taken for names).
    assert 'step' in effects_of('step()', namespace).reads


def test_a_method_init_calls_on_the_new_object_is_the_class_s(namespace):
    # pytudes' Advent `answer` class: __init__ calls self.check(), which reads a
    # global (`time`). The new object had no name, so the call was lost.
    resolved = effects_of('c = Checked(1)', namespace)
    assert 'LOG' in resolved.reads and 'LOG' in resolved.mutates


@pytest.mark.parametrize('source', ['help(Acrostic)', 'a = Acrostic()\nhelp(a)'])
def test_reading_a_notebook_class_reads_its_bases_names(namespace, source):
    # pydoc finds an inherited method's class by name: help(Acrostic) in the host
    # lost the docstrings Song's methods inherit (PythonFreeCourse, hunt 4).
    assert 'Song' in effects_of(source, namespace).reads


FINALIZED = """\
class Resource:
    open = 0
    def __del__(self):
        Resource.open -= 1
res = Resource()
items = [Resource()]
plain = Resource
"""


@pytest.mark.parametrize('source, name', [
    ('del res', 'res'), ('res = None', 'res'), ('items = []', 'items'),
    ('for res in range(2):\n    pass', 'res'),
    ('def drop():\n    global res\n    res = 1\ndrop()', 'res'),
])
def test_letting_go_of_an_object_whose_class_has_a_finalizer_reads_it_and_runs_it(source, name):
    # The object is freed in the cell, if no other name holds it: the cell runs
    # where it is, after its readers, and does what ``__del__`` does.
    namespace = {'__name__': '__main__'}
    exec(compile(FINALIZED, '<cell In[1]>', 'exec'), namespace)
    effects = effects_of(source, namespace, FINALIZED)
    assert name in effects.reads and name in effects.mutates
    assert 'Resource' in effects.mutates


def test_letting_go_of_what_no_finalizer_can_hold_reads_nothing(namespace):
    namespace_with_finalizer = {'__name__': '__main__'}
    exec(compile(FINALIZED, '<cell In[1]>', 'exec'), namespace_with_finalizer)
    assert 'plain' not in effects_of('plain = 5', namespace_with_finalizer, FINALIZED).reads
    # No notebook class defines one: a list let go of holds none.
    assert 'numbers' not in effects_of('numbers = []', namespace).reads


HIERARCHY = """\
import math
class Person:
    def set_name(self, value):
        self.name = value
class Student(Person):
    def set_name(self, value):
        super().set_name(value)
class Steps:
    i = 0
    def __iter__(self):
        return self
    def __next__(self):
        self.i += 1
        if self.i > 2:
            raise StopIteration
        return math.pi
class Vec:
    def __add__(self, other):
        return Vec() if isinstance(other, Vec) else SCALE
class Total:
    def __iadd__(self, other):
        return min(other, LIMIT)
class Point:
    def __eq__(self, other):
        return isinstance(other, Point) and EQUAL
from functools import total_ordering
@total_ordering
class Rank:
    def __eq__(self, other):
        return EQUAL
    def __lt__(self, other):
        return isinstance(other, Rank) and LESS
s = Student()
steps = Steps()
vec = Vec()
total = Total()
p, q = Point(), Point()
ranks = [Rank(), Rank()]
low, high = ranks
nested = [[Rank()], [Rank()]]
import collections
queued = collections.deque(ranks)
"""


@pytest.mark.parametrize('source, read, changed', [
    # A method calling its base's through super() changes what the base's changes.
    ('s.set_name("Eric")', 's', {'s'}),
    # Iterating an object runs its __next__ (its __iter__ returns it): what it reads.
    ('list(Steps())', 'math', set()),
    ('for x in steps:\n    pass', 'math', {'steps'}),
    ('s = set(steps)', 'math', {'steps'}),     # (and hashes what it gives)
    ('d = dict(steps)', 'math', {'steps'}),
    # ``a += b`` runs ``__iadd__``, or else ``__add__``.
    ('total += 1', 'LIMIT', {'total'}),
    ('vec += 1', 'SCALE', {'vec'}),
    # ``!=`` falls back on ``__eq__`` (python-deepdive's Vector: NameError), and the
    # comparisons functools.total_ordering makes run the class's own.
    ('p != q', 'EQUAL', set()),
    ('low <= high', 'LESS', set()),
    ('low >= high', 'EQUAL', set()),
    # Comparing containers, or ordering what a builtin or a list method is given,
    # compares the items.
    ('[p] == [q]', 'EQUAL', set()),
    ('sorted(ranks)', 'LESS', set()),
    ('max(low, high)', 'LESS', set()),
    ('ranks.sort()', 'LESS', {'ranks'}),
    ('ranks.index(high)', 'EQUAL', set()),
    # What one of its items holds, no class is known of: any class's.
    ('nested[0] < nested[1]', 'LESS', set()),
    ('sorted(queued)', 'LESS', set()),
])
def test_calls_python_makes_through_super_iteration_and_operators_are_followed(source, read,
                                                                             changed):
    namespace = {'__name__': '__main__'}
    exec(compile(HIERARCHY, '<cell In[1]>', 'exec'), namespace)
    effects = effects_of(source, namespace, HIERARCHY)
    assert read in effects.reads and changed <= effects.mutates


@pytest.mark.parametrize('name, words', [
    ('count', 'count'),
    ('<random>', "random's global generator"),
    ('<cwd>', 'the working directory'),
    ('<module numpy>', 'the state of module numpy'),
    ('<attributes of os>', 'the attributes of module os'),
    ("<shared by Dog at <cell In[3]>:1>", 'what the instances of Dog share'),
    ("<shared by Outer.Dog at /tmp/ipykernel_1/2.py:4>", 'what the instances of Outer.Dog share'),
])
def test_messages_name_state_in_words(name, words):
    assert spoken(name) == words


def test_a_defaultdicts_factory_runs_where_a_missing_key_is_looked_up():
    setup = ('from collections import defaultdict\nclass Node:\n    def __init__(self):\n'
             '        MADE.append(1)\nnodes = defaultdict(Node)\ndef missing():\n'
             '    global MISSES\n    MISSES = 1\n    return 0\ncounts = defaultdict(missing)\n'
             'plain = defaultdict(int)\nMADE = []')
    namespace = {'__name__': '__main__'}
    exec(compile(setup, '<cell In[1]>', 'exec'), namespace)
    assert 'MADE' in effects_of('nodes["a"]', namespace, setup).mutates
    assert 'MISSES' in effects_of('counts["a"] += 1', namespace, setup).binds
    assert effects_of('plain["a"] += 1', namespace, setup).mutates == {'plain'}
