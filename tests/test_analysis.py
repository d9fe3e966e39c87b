"""What a cell reads and writes, from its syntax tree."""

import pytest

from interpkernel.dataflow.analysis import analyse


@pytest.mark.parametrize('source, reads, writes', [
    ('y = x + 1', ['x'], ['y']),
    ('x = 1\ny = x', [], ['x', 'y']),
    ('x += 1', ['x'], ['x']),
    ('def f(a):\n    b = a + g\n    return b\nr = f(2)', ['g'], ['f', 'r']),
    ('class K(Base):\n    a = 1\n    def m(self):\n        return helper(self.a)', ['Base', 'helper'], ['K']),
    ('lam = lambda v: v * factor', ['factor'], ['lam']),
    ('[i * j for i in range(n)]', ['range', 'n', 'j'], []),
    ('(w := 5)', [], ['w']),
    ('for i in items:\n    total += i', ['items', 'total'], ['i', 'total']),
    ('if c:\n    z = 1\nprint(z)', ['c', 'print', 'z'], ['z']),
    ('import numpy as np, os.path\nfrom math import sqrt', [], ['np', 'os', 'sqrt']),
    ('def f():\n    global G\n    G = 1', [], ['G', 'f']),
])
def test_reads_and_writes(source, reads, writes):
    effects = analyse(source)
    assert list(effects.reads) == reads and list(effects.writes) == writes
    assert effects.barrier is None


def test_calling_a_method_or_assigning_into_a_name_writes_it():
    effects = analyse('data.append(1)\nd[k] = 2\nobj.attr = 3')
    assert list(effects.writes) == ['data', 'd', 'obj']
    assert list(effects.mutates) == ['data', 'd', 'obj']
    assert 'k' in effects.reads


def test_del_reads_then_deletes():
    effects = analyse('del old')
    assert effects.reads == ('old',) and effects.deletes == ('old',) and effects.writes == ()


def test_imports_and_module_names_are_recorded():
    effects = analyse('import numpy as np\nfrom os import path\nimport json')
    assert effects.imports == ('numpy', 'os', 'json')
    assert effects.modules == ('np', 'json')


@pytest.mark.parametrize('source, why', [
    ('from math import *', 'star-imports from math'),
    ("exec('x = 1')", 'calls exec()'),
    ('g = globals()', 'calls globals()'),
])
def test_cells_whose_effects_cannot_be_known_are_barriers(source, why):
    assert why in analyse(source).barrier


def test_a_local_named_like_a_dynamic_call_is_not_a_barrier():
    assert analyse('def f(eval):\n    return eval(1)').barrier is None


def test_syntax_errors_are_raised():
    with pytest.raises(SyntaxError):
        analyse('x = (')


def test_match_captures_are_writes():
    effects = analyse('match point:\n    case (p, q):\n        pass\n    case {"k": v, **rest}:\n        pass')
    assert {'p', 'q', 'v', 'rest'} <= set(effects.writes)


def test_methods_do_not_see_class_body_names():
    effects = analyse('class K:\n    limit = 1\n    def get(self):\n        return limit')
    assert 'limit' in effects.reads


def test_walrus_in_a_comprehension_binds_outside_it():
    effects = analyse('[y := i for i in range(3)]\nprint(y)')
    assert 'y' in effects.writes    # and is still read: the loop may bind nothing
