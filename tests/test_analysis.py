"""What a cell reads, binds and may change, from its syntax tree."""

import pytest

from interpkernel.dataflow.analysis import (APPLY, EXPR, GETITEM, HELD, IDENTITY, ITERATE,
                                            TOO_DEEP, ClassSummary, analyse)


@pytest.mark.parametrize('source, reads, binds', [
    ('y = x + 1', ['x'], ['y']),
    ('x = 1\ny = x', [], ['x', 'y']),
    ('x += 1', ['x'], ['x']),
    # a function reads its globals when called (see its summary), not when defined
    ('def f(a):\n    b = a + g\n    return b\nr = f(2)', [], ['f', 'r']),
    ('def f(a):\n    return a + g', [], ['f']),
    ('class K(Base):\n    a = 1\n    def m(self):\n        return helper(self.a)', ['Base'], ['K']),
    ('lam = lambda v: v * factor', [], ['lam']),
    ('[i * j for i in range(n)]', ['range', 'n', 'j'], []),
    ('(w := 5)', [], ['w']),
    ('for i in items:\n    total += i', ['items', 'total'], ['i', 'total']),
    ('if c:\n    z = 1\nprint(z)', ['c', 'print', 'z'], ['z']),
    ('import numpy as np, os.path\nfrom math import sqrt', [], ['np', 'os', 'sqrt']),
    ('def f():\n    global G\n    G = 1', [], ['f']),
    # a class body declaring a name global binds the global, not a class attribute
    ('class K:\n    global g\n    g = 1\n    h = g', [], ['g', 'K']),
    ('class K:\n    global g\n    for g in range(2):\n        pass', ['range'], ['g', 'K']),
])
def test_reads_and_binds(source, reads, binds):
    effects = analyse(source)
    assert list(effects.reads) == reads and list(effects.binds) == binds
    assert effects.barrier is None


def test_a_class_body_deleting_a_name_it_declares_global_deletes_the_global():
    assert analyse('class K:\n    global g\n    del g').deletes == ('g',)
    assert analyse('class K:\n    g = 1\n    del g').deletes == ()


def test_a_class_body_in_a_function_declaring_a_name_global_makes_the_function_bind_it():
    effects = analyse('def make():\n    class K:\n        global g\n        g = 1\n    return K')
    assert effects.functions[('make', 1)].binds == {'g'}


def test_private_names_in_a_class_are_the_mangled_globals_the_compiler_makes():
    # wtfpython's "Name mangling": the method reads the global _A__variable.
    effects = analyse('class A:\n    x = __y\n    def f(self, __p):\n        return __variable, __p\n'
                      '    def g(self):\n        global __z\n        __z = __dunder__\n'
                      'v = __top')
    assert list(effects.reads) == ['_A__y', '__top']
    summaries = {key[0]: summary for key, summary in effects.functions.items()}
    assert summaries['A.f'].reads == {'_A__variable'}
    assert summaries['A.g'].binds == {'_A__z'} and summaries['A.g'].reads == {'__dunder__'}


@pytest.mark.parametrize('body, shares', [
    ('tricks = []', True), ('index: dict = {}', True), ('seen = set()', True),
    ('counts = collections.Counter()', True), ('kinds = [k for k in "ab"]', True),
    ('name = "dog"', False), ('legs = 4', False), ('pair = (1, 2)', False),
    ('def f(self):\n        return []', False),
    # a method changing the class itself changes what every instance sees
    ('def bump(self):\n        type(self).count += 1', True),
    ('def seen(self, v):\n        self.__class__.last = v', True),
    ('def bump(self):\n        self.count += 1', False),
    ('def kind(self):\n        return type(self).__name__', False),
    # a class method setting its class's attribute (python-deepdive's Timer.set_tz)
    ('@classmethod\n    def set_tz(cls, tz):\n        cls.tz = tz', True),
    ('@classmethod\n    def set_tz(klass, tz):\n        setattr(klass, "tz", tz)', True),
    ('@classmethod\n    def make(cls, tz):\n        made = cls()\n        made.tz = tz', False),
    ('@staticmethod\n    def set_tz(cls, tz):\n        cls.tz = tz', False),
])
def test_a_class_whose_body_binds_a_container_shares_it_with_its_instances(body, shares):
    [summary] = [s for s in analyse(f'class Dog:\n    {body}').functions.values()
                 if isinstance(s, ClassSummary)]
    assert summary.shares_state is shares


def test_annotations_evaluated_when_a_def_runs_are_reads():
    effects = analyse('def area(s: Shape, n: int = 1) -> float:\n    return 1.0\n'
                      'x: Alias = 3\n'
                      'def inner():\n    local: NotEvaluated = 2')
    assert {'Shape', 'int', 'float', 'Alias'} <= set(effects.reads)
    assert 'NotEvaluated' not in effects.reads


@pytest.mark.parametrize('source, records', [
    ('x: int = 5', True), ('y: str', True), ('if True:\n    z: int = 1', True),
    ('(x): int = 5', False),               # not a simple name: Python records nothing
    ('class C:\n    a: int = 1', False),   # the class's own __annotations__
    ('def f():\n    b: int = 1', False),
])
def test_an_annotated_name_in_a_cell_is_recorded_in_the_namespaces_annotations(source, records):
    # `x: int = 5` in one cell, `y: str` in another: __annotations__ holds both.
    effects = analyse(source)
    assert ('__annotations__' in effects.binds and '__annotations__' in effects.reads) is records


def test_a_function_summary_says_what_calling_it_reads_and_changes():
    effects = analyse('def add(item, to):\n    to.append(item)\n    log.append(item)\n'
                      '    global count\n    count = total + 1\n    return to')
    summary = effects.functions[('add', 1)]
    assert summary.params == ('item', 'to')
    assert {'log', 'total'} <= summary.reads and summary.binds == {'count'}
    calls = {call.callee: call for call in summary.calls}
    assert calls[('to', 'append')].root == {'to'} and calls[('to', 'append')].args == ({'item'},)
    assert calls[('log', 'append')].root == {'log'}
    assert summary.returns == {'to'}


def test_a_local_alias_of_a_parameter_counts_as_the_parameter():
    summary = analyse('def f(xs):\n    ys = xs\n    ys[0] = 1').functions[('f', 1)]
    assert summary.mutates == {'xs'}


@pytest.mark.parametrize('body, changed', [
    ('s.v = v', {'s'}),
    ('s.v = v\n    s.v[0] = 1', {'s', 'v'}),
    ('s.v = v\n    t = s.v\n    t[0] = 1', {'s', 'v'}),
    ('s.v = v\n    w = s\n    w.v.x = 1', {'s', 'v'}),
])
def test_setting_an_attribute_changes_the_object_not_what_is_stored_into_it(body, changed):
    summary = analyse(f'def f(s, v):\n    {body}').functions[('f', 1)]
    assert summary.mutates == changed
    assert any('s' in roots and 'v' in sources for roots, sources in summary.stores)


def test_state_kept_in_a_closure_or_a_mutable_default_is_kept_by_the_function():
    effects = analyse('def counter():\n    n = 0\n    def inc():\n        nonlocal n\n'
                      '        n += 1\n        return n\n    return inc\n'
                      'def remember(x, seen=[]):\n    seen.append(x)\n'
                      'def plain(x):\n    return x * 2')
    summaries = {key[0]: summary for key, summary in effects.functions.items()}
    assert summaries['counter.<locals>.inc'].keeps_state
    assert summaries['counter'].nested == (('counter.<locals>.inc', 3),)
    assert summaries['plain'].keeps_state is False
    assert {call.callee for call in summaries['remember'].calls} == {('seen', 'append')}


def test_generator_functions_are_marked():
    effects = analyse('def gen():\n    yield 1\ndef fn():\n    return 1')
    assert effects.functions[('gen', 1)].generator and not effects.functions[('fn', 3)].generator


def test_calls_record_what_flows_into_each_argument():
    effects = analyse('heapq.heappush(q, item)\nrow = grid[0]\nrow.append(x)\n'
                      'ops["add"](1)\nget().append(2)\nlru_cache(maxsize=None)(f)')
    callees = [call.callee for call in effects.calls]
    assert ('heapq', 'heappush') in callees and (GETITEM,) in callees
    push = effects.calls[callees.index(('heapq', 'heappush'))]
    assert push.args == ({'q'}, {'item'}) and push.root == {'heapq'}
    assert (HELD,) in callees and (EXPR, 'append') in callees and ('lru_cache', APPLY) in callees


def test_loops_unpacking_and_membership_iterate_what_they_are_given():
    effects = analyse('for x in it:\n    pass\na, b = pair\nfound = 3 in bag')
    iterated = [set(call.args[0]) for call in effects.calls if call.callee == (ITERATE,)]
    assert iterated == [{'it'}, {'pair'}, {'bag'}]


def test_names_bound_from_parts_of_others_share_objects_with_them():
    effects = analyse('row = grid[0]\nalias = data\nn = len(data)\nitems.append(new)')
    aliases = dict(effects.aliases)
    assert aliases['row'] == {'grid'} and aliases['alias'] == {'data'}
    assert 'n' not in aliases          # len() makes a new object


@pytest.mark.parametrize('source, shared', [
    ('x = y = []', {'x': {'y'}, 'y': {'x'}}),
    ('a = b = c = {}', {'a': {'b', 'c'}, 'b': {'a', 'c'}, 'c': {'a', 'b'}}),
    ("d['k'] = v = []", {'d': {'v'}, 'v': {'d'}}),
    ('x = obj.items = []', {'x': {'obj'}, 'obj': {'x'}}),
])
def test_the_targets_of_one_assignment_share_its_object(source, shared):
    assert dict(analyse(source).aliases) == shared


def test_a_function_shares_the_objects_of_its_defaults():
    assert dict(analyse('def grow(x, prefixes=P, n=1):\n    prefixes.add(x)').aliases) == \
        {'grow': {'P'}}


def test_what_a_decorator_made_shares_the_objects_the_decorator_is_reached_through():
    # ``@stats.decorator``: a closure over the data ``stats`` holds.
    assert dict(analyse('@stats.decorator\ndef f():\n    pass').aliases) == {'f': {'stats'}}
    assert dict(analyse('@registry.add("k")\nclass C:\n    pass').aliases) == {'C': {'registry'}}


def test_names_unpacked_from_separate_values_do_not_share():
    assert analyse('x, y = [], []').aliases == ()


def test_assigning_into_a_name_changes_it_in_place():
    effects = analyse('d[k] = 2\nobj.attr = 3\ncounts[w] += 1')
    assert set(effects.mutates) == {'d', 'obj', 'counts'} and 'k' in effects.reads


def test_del_reads_then_deletes():
    effects = analyse('del old')
    assert effects.reads == ('old',) and effects.deletes == ('old',) and effects.binds == ()


def test_an_exception_name_is_deleted_when_its_handler_ends():
    assert 'e' in analyse('try:\n    pass\nexcept ValueError as e:\n    pass').deletes


def test_imports_and_module_names_are_recorded():
    effects = analyse('import numpy as np\nfrom os import path\nimport json, xml.dom')
    assert effects.imports == ('numpy', 'os', 'json', 'xml')
    assert effects.modules == {'np': 'numpy', 'json': 'json', 'xml': 'xml'}
    assert effects.imported == {'path': ('os', 'path')}


def test_syntax_shows_some_types_and_constructors():
    effects = analyse('a = []\nb = {k: 1 for k in x}\nc = sorted(y)\nd = Thing(1)\ne = f"{a}"')
    assert effects.literal_types == {'a': ('builtins', 'list'), 'b': ('builtins', 'dict'),
                                     'c': ('builtins', 'list'), 'e': ('builtins', 'str')}
    assert effects.constructed == {'d': ('Thing',)}


def test_classes_are_summarised_with_their_methods():
    effects = analyse('class Stack:\n    def push(self, v):\n        self.items.append(v)\n'
                      '    def top(self):\n        return self.items[-1]')
    summary = effects.functions[effects.definitions['Stack']]
    assert isinstance(summary, ClassSummary) and set(summary.methods) == {'push', 'top'}
    assert effects.functions[summary.methods['push']].calls[0].callee == ('self', 'items', 'append')


@pytest.mark.parametrize('source, shows', [
    ('x', True), ('x;', False), ('x = 1', False), ('print(1)\n1 + 1', True), ('', False),
])
def test_a_last_expression_may_show_a_result(source, shows):
    assert analyse(source).shows_result is shows


@pytest.mark.parametrize('source, why', [
    ('from math import *', 'star-imports from math'),
    ("exec('x = 1')", 'calls exec()'),
    ('g = globals()', 'calls globals()'),
    ('threading.Thread(target=serve, daemon=True).start()', 'starts a daemon thread'),
    ('worker = Thread(target=serve)\nworker.daemon = True', 'starts a daemon thread'),
    ('worker.setDaemon(1)', 'starts a daemon thread'),
    ('ip = get_ipython\nip().user_ns', 'uses get_ipython'),
    ('shell = get_ipython()', 'calls get_ipython()'),
    ("print([k for k in dir() if k[0] != '_'])", 'calls dir()'),
    ("import sys\n'x' in sys.modules['__main__'].__dict__", "reads sys.modules['__main__']"),
    ('import __main__\n__main__.x = 1', 'imports __main__'),
    ('from __main__ import x', 'imports from __main__'),
    ('import sys\nprint(sys.last_value)', 'reads sys.last_value, the last error shown'),
    ('print(_dh[-1])', 'reads _dh, the directories %cd went to'),
    ('import sys\nerror = sys.last_exc', 'reads sys.last_exc'),
    ('import traceback\ntraceback.print_last()', 'calls traceback.print_last'),
])
def test_cells_whose_effects_cannot_be_known_are_barriers(source, why):
    assert why in analyse(source).barrier


@pytest.mark.parametrize('source', [
    'threading.Thread(target=serve, daemon=False).start()',
    'worker.daemon = None',
    'threading.Thread(target=serve).start()',
    'names = dir(obj)',
])
def test_threads_that_are_not_daemons_are_no_barrier(source):
    assert analyse(source).barrier is None


def test_a_function_that_starts_a_daemon_thread_makes_its_callers_barriers():
    effects = analyse('def start():\n    threading.Thread(target=serve, daemon=True).start()')
    assert effects.barrier is None
    assert effects.functions[effects.definitions['start']].dynamic == 'it starts a daemon thread'


def test_a_local_named_like_a_dynamic_call_is_not_a_barrier():
    assert analyse('def f(eval):\n    return eval(1)').barrier is None
    assert analyse('def f(get_ipython):\n    return get_ipython').barrier is None


def test_syntax_errors_are_raised():
    with pytest.raises(SyntaxError):
        analyse('x = (')


def test_match_captures_are_binds():
    effects = analyse('match point:\n    case (p, q):\n        pass\n'
                      '    case {"k": v, **rest}:\n        pass')
    assert {'p', 'q', 'v', 'rest'} <= set(effects.binds)


def test_methods_do_not_see_class_body_names():
    effects = analyse('class K:\n    limit = 1\n    def get(self):\n        return limit')
    assert 'limit' in effects.functions[('K.get', 3)].reads


def test_walrus_in_a_comprehension_binds_outside_it():
    effects = analyse('[y := i for i in range(3)]\nprint(y)')
    assert 'y' in effects.binds and 'y' in effects.reads   # the loop may bind nothing


def test_too_deep_to_analyse_is_a_barrier_naming_every_name():
    # Python runs a sum of 1200 terms; the analysis recursion cannot follow it.
    effects = analyse('x = ' + ' + '.join(['a', 'L[0]'] * 600) + '\ndel y')
    assert effects.barrier == TOO_DEEP
    assert {'a', 'L', 'y'} <= set(effects.reads) and 'x' in effects.binds
    assert 'y' in effects.deletes and 'L' in effects.mutates


def test_too_deep_for_python_to_compile_is_a_barrier():
    assert analyse('x = ' + ' + '.join(['a'] * 20000)).barrier == TOO_DEEP


@pytest.mark.parametrize('source', [
    'if c:\n    u = 1\nelse:\n    print(u)',                   # the other branch
    'try:\n    del w\n    u = 1\nexcept NameError:\n    print(u)',  # a handler after part of the body
    'try:\n    u = 1\nfinally:\n    print(u)',
    'for i in items:\n    u = 1\nelse:\n    print(u)',          # no iteration at all
    'while c:\n    u = 1\nelse:\n    print(u)',
    'match c:\n    case 1:\n        u = 1\n    case _:\n        print(u)',
    'y = (u := 1) if c else u',                                 # a walrus that may not run
    'y = c and (u := 1) or u',
    'assert c, (u := 1)\nprint(u)',
    'u += (u := 1)',                                            # the target is read first
])
def test_a_name_bound_only_on_some_paths_is_still_read(source):
    assert 'u' in analyse(source).reads


def test_binding_in_the_else_of_a_try_is_sure():
    assert 'u' not in analyse('try:\n    u = 1\nexcept E:\n    pass\nelse:\n    print(u)').reads


@pytest.mark.parametrize('source', ['x = 1\ndel x', 'del x\nx = x', 'if c:\n    del x\nx = 1'])
def test_a_cell_that_binds_and_deletes_a_name_may_end_with_either(source):
    # It may fail between the two (`x = x` after del raises NameError).
    effects = analyse(source)
    assert 'x' in effects.binds and 'x' in effects.deletes


@pytest.mark.parametrize('source, reads', [
    ('r = sorted(xs, key=lambda v: v * scale)', {'xs', 'scale'}),
    ('r = list(map(lambda v: v + offset, xs))', {'xs', 'offset'}),
    ('xs.sort(key=lambda v: v % base)', {'xs', 'base'}),
    ('(lambda: log.append(1))()', {'log'}),
])
def test_an_anonymous_lambda_does_what_it_does_where_it_is_made(source, reads):
    assert reads <= set(analyse(source).reads)


def test_an_anonymous_lambda_calls_and_changes_what_its_body_does():
    effects = analyse('(lambda: log.append(1))()\n(lambda d=cache: d.clear())()')
    roots = [set(call.root) for call in effects.calls if call.callee[-1] in ('append', 'clear')]
    assert {'log'} in roots and {'cache'} in roots     # a default is what the body gets


def test_a_named_lambda_is_a_definition():
    # Like a def: its body runs when the name is called (see its summary).
    effects = analyse('lam = lambda v: v * factor')
    assert effects.definitions == {'lam': ('<lambda>', 1)} and 'factor' not in effects.reads


def test_a_function_made_in_a_function_does_what_it_does_in_its_maker():
    effects = analyse('def outer(xs):\n    def add():\n        xs.append(1)\n    add()\n'
                      'def keep(xs):\n    kept = []\n    def add(v):\n        kept.append(v)\n'
                      '    add(1)\n    return kept')
    summaries = {key[0]: summary for key, summary in effects.functions.items()}
    assert any(call.root == {'xs'} for call in summaries['outer'].calls)
    assert not any('xs' in call.root for call in summaries['keep'].calls)   # only what it uses


def test_a_definition_is_forgotten_when_the_name_is_bound_again():
    effects = analyse('def f():\n    pass\nf = g\ndef h():\n    pass\ndef h():\n    pass')
    assert 'f' not in effects.definitions and effects.definitions['h'] == ('h', 6)
    assert effects.every_definition == {'f': (('f', 1),), 'h': (('h', 4), ('h', 6))}


def test_is_between_two_objects_compares_their_identities():
    # (``x is None`` compares with a singleton every copy shares.)
    [call] = [c for c in analyse('same = l[0] is l[1]').calls if c.callee == (IDENTITY,)]
    assert call.args == (frozenset({'l'}), frozenset({'l'}))
    assert not [c for c in analyse('empty = x is None or y is not True').calls
                if c.callee == (IDENTITY,)]
