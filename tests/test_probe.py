"""Modules that refuse subinterpreters: a clear error in cells, and a cached probe."""

import sys

import pytest

from interpkernel import Pool, SubinterpreterImportError, probe_import
from interpkernel import probe

pytest.importorskip('numpy')


@pytest.fixture(scope='module')
def pool():
    with Pool(1) as own:
        yield own


def test_importing_numpy_in_a_worker_names_the_module_and_the_way_out(pool):
    future = pool.submit('import json\nimport numpy as np', worker='w')
    with pytest.raises(SubinterpreterImportError) as info:
        future.result()
    message = str(info.value)
    assert "'numpy' cannot be imported in a subinterpreter" in message
    assert '--engine host' in message
    assert isinstance(info.value, ImportError) and info.value.module == 'numpy'
    assert 'Cell ' in '\n'.join(future.error['traceback'])   # the cell's line, not ours


def test_worker_is_usable_after_the_refusal(pool):
    with pytest.raises(ImportError):
        pool.run('import numpy', worker='w')
    assert pool.run('import json\nv = json.dumps(1)', outputs=['v'], worker='w') == {'v': '1'}


def test_probe_tells_in_advance():
    assert probe_import('json') is None
    assert 'does not support loading in subinterpreters' in probe_import('numpy')
    assert 'No module named' in probe_import('no_such_module_anywhere')


def test_a_name_imported_from_a_module_is_probed_as_the_module_it_may_be():
    # ``from numpy import array`` / ``from json import JSONDecoder``: the names
    # are probed as submodules; one that is none is an attribute of a module
    # that imports, or of one that refuses.
    assert probe_import('json.JSONDecoder') is None
    assert probe_import('json.decoder') is None
    assert 'does not support loading in subinterpreters' in probe_import('numpy.array')
    assert 'No module named' in probe_import('no_such_package_anywhere.mod')


def test_probe_caches_its_answer(monkeypatch):
    probe_import('csv')
    monkeypatch.setattr(probe._xi, 'run', lambda iid, code: pytest.fail('probed twice'))
    assert probe_import('csv') is None


@pytest.mark.parametrize('name', ['IPython', 'IPython.display', 'IPython.core.display'])
def test_modules_the_worker_runtime_imports_need_no_probe(pool, monkeypatch, name):
    # A probe of IPython.display imports all of IPython in the scratch interpreter
    # (~50 ms of a first cell's wait); workers import it themselves to show results.
    monkeypatch.setattr(probe._xi, 'run', lambda iid, code: pytest.fail(f'probed {name}'))
    assert probe_import(name) is None
    monkeypatch.undo()
    assert pool.run(f'import {name}\nshown = {name}.__name__', outputs=['shown']) == \
        {'shown': name}


def test_one_scratch_interpreter_serves_every_probe(monkeypatch):
    probe_import('json')
    made = []
    create = probe._xi.create
    monkeypatch.setattr(probe._xi, 'create', lambda: made.append(1) or create())
    assert probe_import('wave') is None and probe_import('numpy') is not None
    assert probe_import('sqlite3') is None and made == []


@pytest.mark.parametrize('name', ['', 'a b', 'os;print(1)', 3])
def test_probe_refuses_bad_module_names(name):
    with pytest.raises(ValueError, match='dotted name'):
        probe_import(name)


def test_prepare_makes_the_scratch_interpreter_before_the_first_probe(monkeypatch):
    monkeypatch.setattr(probe, '_scratch', probe._ScratchInterpreter())
    monkeypatch.setattr(probe, '_cache', {})
    probe.prepare()
    create = probe._xi.create
    monkeypatch.setattr(probe._xi, 'create', lambda: pytest.fail('made on the first probe'))
    try:
        assert probe_import('json') is None
    finally:
        monkeypatch.setattr(probe._xi, 'create', create)
        probe._scratch.close()


@pytest.mark.parametrize('name, first', [
    ('unittest', True), ('collections.abc', True), ('math', True), ('curses', True),
    ('numpy', False),            # not the standard library's: probed here
    ('this', False),             # prints as it imports: not before the cell's own code
    ('not_a_module_at_all', False),
])
def test_standard_modules_are_imported_first_in_workers_instead_of_probed(name, first):
    assert probe.importable_first(name) is first


def test_a_standard_module_shadowed_by_a_notebook_file_is_probed(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, 'tabnanny', raising=False)
    assert probe.importable_first('tabnanny')
    (tmp_path / 'tabnanny.py').write_text('print("mine")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not probe.importable_first('tabnanny')


def test_a_refusal_found_in_a_worker_is_remembered_for_the_module_and_its_own(monkeypatch):
    monkeypatch.setattr(probe, '_cache', {})
    probe.remember('curses', 'module _curses does not support loading in subinterpreters')
    assert not probe.importable_first('curses') and not probe.importable_first('curses.ascii')
    assert probe_import('curses') == 'module _curses does not support loading in subinterpreters'


def test_a_module_that_does_without_a_refusing_extension_counts_as_refusing(
        monkeypatch, tmp_path):
    # requests imports in a worker, but without charset_normalizer's compiled part:
    # it behaves otherwise there (and warns), so its cells belong in the host.
    (tmp_path / 'optional_curses.py').write_text(
        'try:\n    import curses\nexcept ImportError:\n    curses = None\n')
    (tmp_path / 'uses_optional_curses.py').write_text('import optional_curses\n')
    (tmp_path / 'optional_readline.py').write_text(
        'try:\n    import readline\nexcept ImportError:\n    readline = None\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert probe_import('optional_curses') == \
        'module _curses does not support loading in subinterpreters'
    # Imported again by a module probed later, cached in the scratch interpreter:
    assert probe_import('uses_optional_curses') == \
        'module _curses does not support loading in subinterpreters'
    # readline only edits typed lines: doing without it changes no result.
    assert probe_import('optional_readline') is None


def test_a_probe_shows_nothing_a_module_prints_as_it_imports(tmp_path, monkeypatch, capfd):
    # `import this`: the check that a module imports in a subinterpreter printed the
    # Zen again, and the kernel showed it in whichever cell ran next.
    (tmp_path / 'prints_as_it_imports.py').write_text('print("The Zen")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert probe_import('prints_as_it_imports') is None
    assert capfd.readouterr() == ('', '')
