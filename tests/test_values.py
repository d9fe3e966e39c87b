"""What the run-time check fingerprints: values a cell may change in place, not library code."""

import collections
import json
import math

import pytest

from interpkernel._core import values


def _notebook_objects():
    namespace = {'__name__': '__main__'}
    exec('def f(x, seen=[]):\n    seen.append(x)\nclass C:\n    pass\nc = C()', namespace)
    return namespace['f'], namespace['C'], namespace['c']


def test_the_check_covers_notebook_objects_and_containers_not_library_code():
    function, cls, instance = _notebook_objects()
    store = values.Store()
    held = {'items': [1, 2], 'table': {'a': 1}, 'f': function, 'C': cls, 'c': instance,
            'dumps': json.dumps, 'OrderedDict': collections.OrderedDict, 'math': math,
            'len': len, 'n': 3, 's': 'text'}
    for name, value in held.items():
        store.put((name, 1), value)
    checked = {key[0] for key in store.mutable_keys()}
    assert checked == {'items', 'table', 'f', 'C', 'c'}


def test_the_checked_keys_follow_what_each_key_holds_as_it_is_put_again_and_dropped():
    store = values.Store()
    store.put(('a', 1), [1])
    store.put(('b', 1), 5)
    store.put(('a', 1), 'now text')     # the same key, now an atom: no longer checked
    store.put(('b', 1), {'now': 'a dict'})
    store.put(('c', 2), [3])
    assert store.mutable_keys() == [('b', 1), ('c', 2)]
    store.drop([('c', 2), ('missing', 9)])
    assert store.mutable_keys() == [('b', 1)]


def test_pickling_a_class_or_its_instances_leaves_its_fingerprint_as_it_was():
    from interpkernel._core import transfer
    _, cls, _ = _notebook_objects()
    before = values.fingerprint(cls)
    transfer.encode(cls, notebook=True)
    transfer.encode(cls(), notebook=True)
    assert values.fingerprint(cls) == before
    cls.__annotations__['x'] = int      # a cell's own change still shows
    assert values.fingerprint(cls) != before


def test_a_store_reuses_the_fingerprints_a_checked_cell_left_until_a_value_is_put_again():
    store = values.Store()
    store.put(('a', 1), [1])
    store.put(('b', 1), [2])
    taken = store.fingerprints()
    store.remember_fingerprints(taken)
    store.get(('a', 1)).append(9)      # between cells nothing runs: what was taken stands
    assert store.fingerprints() == taken
    store.put(('a', 1), [1, 9])
    assert store.fingerprints()[('a', 1)] == values.fingerprint([1, 9])
    store.forget_fingerprints()
    store.get(('b', 1)).append(9)
    assert store.fingerprints()[('b', 1)] != taken[('b', 1)]


def test_a_notebook_functions_fingerprint_follows_its_mutable_default():
    function, _, _ = _notebook_objects()
    before = values.fingerprint(function)
    function(1)
    assert values.fingerprint(function) != before


def test_library_code_inside_a_container_is_not_walked():
    assert values.fingerprint(collections.OrderedDict) == \
        ('library', id(collections.OrderedDict))
    holder = [collections.OrderedDict, json.dumps]
    assert values.fingerprint(holder) == values.fingerprint(list(holder))


def test_a_numpy_array_changed_in_place_has_another_fingerprint():
    numpy = pytest.importorskip('numpy')
    whole, strided, big = numpy.zeros(8), numpy.zeros((4, 4))[:, 1], numpy.zeros(2_000_000)
    before = [values.fingerprint(a) for a in (whole, strided, big)]
    whole += 1
    strided[2] = 5
    big[1_000_000:1_000_100] = 7
    assert all(values.fingerprint(a) != f for a, f in zip((whole, strided, big), before))
    assert values.fingerprint(whole) == values.fingerprint(whole.copy())


def test_installed_libraries_modules_classes_and_functions_are_told_apart_from_the_notebooks(
        tmp_path, monkeypatch):
    # A cell that reads only these reaches no value the run-time check sees: it is
    # not fingerprinted for them.  A module of the notebook's own files may hold
    # notebook values, so it is not one of them.
    function, cls, instance = _notebook_objects()
    for value in (math, json, json.dumps, collections.OrderedDict, len, dict):
        assert values.describe(value).installed, value
    (tmp_path / 'helpers_of_this_notebook.py').write_text('items = []\ndef add(x):\n'
                                                          '    items.append(x)\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    import helpers_of_this_notebook as helpers
    for value in (function, cls, instance, [1], {'a': 1}, helpers, helpers.add):
        assert not values.describe(value).installed, value


def test_a_fingerprint_or_description_runs_no_python_code_of_the_value():
    # A notebook's __len__ that prints printed once more in the cell that ran it.
    calls = []

    class Counted:
        def __len__(self):
            calls.append('len')
            return 1

        def __length_hint__(self):
            calls.append('hint')
            return 1

    class CountedList(list):
        def __len__(self):
            calls.append('list len')
            return 1

    class CountedIterator:
        def __next__(self):
            raise StopIteration

        def __length_hint__(self):
            calls.append('iterator hint')
            return 0

    for value in (Counted(), CountedList([1, 2]), CountedIterator(), [Counted()]):
        values.fingerprint(value)
        values.describe(value)
    assert calls == []
    changed = CountedList([1, 2])
    before = values.fingerprint(changed)
    changed.append(3)
    assert values.fingerprint(changed) != before and calls == []


def test_describing_and_fingerprinting_run_no_attribute_hook_of_the_value():
    # A __getattr__ raising KeyError broke the worker describing what a cell left;
    # a tracing __getattribute__ printed into that cell.
    namespace = {'__name__': '__main__', 'calls': []}
    exec('class Hooked:\n'
         '    def __getattr__(self, name):\n        calls.append(name)\n        raise KeyError(name)\n'
         'class Traced:\n'
         '    def __getattribute__(self, name):\n        calls.append(name)\n'
         '        return object.__getattribute__(self, name)\n'
         'class Slotted:\n    __slots__ = ("a", "b")\n'
         '    def __getattr__(self, name):\n        calls.append(name)\n        raise KeyError(name)\n'
         'class AttrDict(dict):\n'
         '    def __getattr__(self, name):\n        calls.append(name)\n        return self[name]\n'
         'slotted = Slotted()\nslotted.a = [1]', namespace)
    hooked, traced = namespace['Hooked'](), namespace['Traced']()
    for value in (hooked, traced, namespace['slotted'], namespace['AttrDict'](a=1), [traced]):
        values.describe(value)
        values.fingerprint(value)
    assert namespace['calls'] == []
    # What its copy would run makes it stay where it is.
    assert not values.describe(traced).movable and values.describe(hooked).movable
    before = values.fingerprint(namespace['slotted'])
    namespace['slotted'].b = 2
    assert values.fingerprint(namespace['slotted']) != before


def test_a_container_of_iterators_is_used_up_by_iterating_what_it_holds():
    import itertools
    assert values.describe(itertools.tee([1, 2], 2)).iterator
    assert values.describe([iter([1])]).iterator and values.describe({'k': iter([])}).iterator
    assert not values.describe([[1], (2,)]).iterator and not values.describe(()).iterator


def test_an_exception_that_was_raised_stays_where_its_traceback_is():
    # python-deepdive's "The __del__ Method": error.__traceback__ was None in a copy.
    try:
        raise ValueError('bump')
    except ValueError as raised:
        error = raised
    assert not values.describe(error).movable
    assert not values.describe(error.__traceback__).movable
    assert values.describe(ValueError('never raised')).movable


def test_weak_containers_and_weakly_held_notebook_objects_stay_where_they_are():
    # A copy of a WeakSet held its items where nothing else did: empty at once.
    namespace = {'__name__': '__main__'}
    exec('import weakref\nclass Obj:\n    pass\nheld = Obj()\nplain = Obj()\n'
         'ws = weakref.WeakSet([held])\nwd = weakref.WeakValueDictionary(a=held)\n'
         'done = weakref.finalize(held, print)', namespace)
    for name in ('ws', 'wd', 'done', 'held'):
        assert not values.describe(namespace[name]).movable, name
    assert values.describe(namespace['plain']).movable
    assert values.describe(namespace['Obj']).movable     # classes are held weakly by Python


def test_a_containers_code_names_the_notebook_classes_of_what_it_holds():
    # Comparing or sorting the items runs those classes' methods.
    function, cls, instance = _notebook_objects()
    assert values.describe([instance, 1]).code == values.describe(instance).code != ()
    assert values.describe({'k': instance}).code == values.describe(instance).code
    assert values.describe([1, 'a']).code == ()
    factory = collections.defaultdict(function)
    assert values.describe(factory).code == values.describe(function).code != ()
    assert values.describe(collections.defaultdict(cls)).code == values.describe(cls).code
    # Which classes all of its items are of is known only for one level of them.
    assert values.describe([instance, 1]).items_known
    assert values.describe({instance: 1}).items_known
    assert values.describe({instance: 1}).code == values.describe(instance).code
    assert values.describe(collections.deque([instance])).items_known
    assert not values.describe([[instance]]).items_known
    assert not values.describe(list(range(1000))).items_known


def test_an_object_of_a_class_holding_another_classs_dict_descriptor_is_described():
    # type(name, bases, dict(cls.__dict__)) copies cls's '__dict__' descriptor, which
    # raises TypeError for the new class's objects: the worker describing one broke.
    namespace = {'__name__': '__main__'}
    exec('class Point:\n    def __init__(self, x):\n        self._x = x\n'
         'Remade = type("Point", Point.__bases__, dict(Point.__dict__))\np = Remade(1)',
         namespace)
    point = namespace['p']
    assert values.describe(point).type_qualname == 'Point'
    assert values.fingerprint(point) == values.fingerprint(point)


def test_looking_at_a_class_runs_none_of_its_metaclasss_attribute_hooks():
    # describe() read Account.__mro__ through MetaLogger.__getattribute__, which printed.
    namespace = {'__name__': '__main__'}
    exec('SEEN = []\nclass MetaLogger(type):\n    def __getattribute__(cls, name):\n'
         '        SEEN.append(name)\n        return super().__getattribute__(name)\n'
         'class Account(metaclass=MetaLogger):\n    __slots__ = ("apr",)', namespace)
    values.describe(namespace['Account'])
    values.fingerprint(namespace['Account'])
    assert namespace['SEEN'] == []
