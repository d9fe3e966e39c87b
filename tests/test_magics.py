"""The %%interp and %interp magics, through a real IPython shell."""

import pytest
from IPython.core.completer import provisionalcompleter

from interpkernel import Channel


@pytest.fixture
def ns(shell):
    """The user namespace, with the names a test adds removed afterwards."""
    before = set(shell.user_ns)
    yield shell.user_ns
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]


def run(shell, cell):
    return shell.run_cell(cell, store_history=True)


def test_inferred_inputs_and_outputs(shell, ns, capsys):
    ns['data'] = [1, 2, 3]
    result = run(shell, '%%interp\nprint("in worker")\ntotal = sum(data)\ndef twice(v):\n'
                        '    return 2 * v\nimport json')
    assert result.success
    assert ns['total'] == 6 and ns['twice'](4) == 8 and ns['json'].__name__ == 'json'
    assert 'in worker' in capsys.readouterr().out


@pytest.mark.parametrize('cell', ['%%interp\n\nlaid_out = 6 * 7\nprint(laid_out)',
                                  '%%interp\n    laid_out = 6 * 7\n    print(laid_out)',
                                  '%%interp\n>>> laid_out = 6 * 7\n>>> print(laid_out)'])
def test_a_body_laid_out_as_ipython_cleans_it_up_runs(shell, ns, capsys, cell):
    # A blank first line was taken for IPython syntax; an indented body failed.
    assert run(shell, cell).success
    assert capsys.readouterr().out == '42\n' and ns['laid_out'] == 42


def test_last_expression_is_out(shell, ns):
    ns['x'] = 20
    result = run(shell, '%%interp\nx + 1')
    assert repr(result.result) == '21'
    assert result.result._repr_mimebundle_()[0] == {'text/plain': '21'}


def test_functions_and_classes_from_earlier_cells_work_in_the_worker(shell, ns):
    run(shell, 'class Box:\n    def __init__(self, v): self.v = v\n'
               'def make(v):\n    return Box(v * FACTOR)\nFACTOR = 3')
    assert run(shell, '%%interp\nb = make(2)\nv = b.v').success
    assert ns['v'] == 6 and type(ns['b']).__name__ == 'Box'


def test_explicit_in_and_out(shell, ns):
    ns['a'], ns['b'] = 1, 2
    assert run(shell, '%%interp --in a --out c\nc = a + 10\nd = 5').success
    assert ns['c'] == 11 and 'd' not in ns


def test_out_empty_returns_nothing(shell, ns):
    assert run(shell, "%%interp --out ''\nnothing_back = 1").success
    assert 'nothing_back' not in ns


def test_mutation_through_a_method_comes_back(shell, ns):
    ns['items'] = [1]
    assert run(shell, '%%interp\nitems.append(2)').success
    assert ns['items'] == [1, 2]


def test_mutation_through_a_call_comes_back(shell, ns):
    run(shell, 'import heapq\nh = [5]\nL = []\ndef append_to(x, target):\n    target.append(x)')
    assert run(shell, '%%interp\nheapq.heappush(h, 3)\nappend_to(7, L)').success
    assert ns['h'] == [3, 5] and ns['L'] == [7]


@pytest.mark.parametrize('cell', ['L.append(q)', 'link(L, q)', 'L[:] = [q]'])
def test_an_object_the_cell_stored_into_another_is_one_object_here(shell, ns, cell):
    run(shell, 'L = []\nq = []\ndef link(a, b):\n    a.append(b)')
    assert run(shell, f'%%interp\n{cell}').success
    ns['q'].append(1)
    assert ns['L'] == [[1]]


def test_names_holding_one_object_are_one_object_in_the_worker(shell, ns):
    run(shell, 'a = [1]\nb = a')
    assert run(shell, '%%interp\nsame = a is b').success
    assert ns['same'] is True


def test_a_function_that_sets_a_global_sets_it_here(shell, ns):
    run(shell, 'hits = 0\ndef hit():\n    global hits\n    hits += 1')
    assert run(shell, '%%interp\nhit()\nhit()').success
    assert ns['hits'] == 2


def test_annotations_naming_notebook_aliases_are_sent(shell, ns):
    run(shell, 'from typing import List\nPair = tuple')
    result = run(shell, '%%interp\ndef first(xs: List[int], p: Pair) -> int:\n    return xs[0]\n'
                        'value = first([4], (1, 2))')
    assert result.success and ns['value'] == 4


def test_del_in_the_cell_deletes_here_too(shell, ns):
    ns['gone'] = 1
    assert run(shell, '%%interp\ndel gone').success
    assert 'gone' not in ns


def test_a_del_that_may_not_run_leaves_the_name_as_the_cell_left_it(shell, ns):
    ns['kept'] = [1]
    assert run(shell, '%%interp\nif len(kept) > 5:\n    del kept').success
    assert ns['kept'] == [1]
    assert run(shell, '%%interp\nfresh = 5\nif fresh > 9:\n    del fresh').success
    assert ns['fresh'] == 5
    ns['gone'] = 0
    assert run(shell, '%%interp\ngone = 1\ndel gone').success
    assert 'gone' not in ns


def test_a_function_defined_in_the_cell_gets_what_it_reads_and_changes(shell, ns):
    ns['data'], ns['items'] = [1, 2], [1]
    assert run(shell, '%%interp\ndef h():\n    items.append(2)\n    return sum(data)\n'
                      'r = h()').success
    assert ns['r'] == 3 and ns['items'] == [1, 2]


def test_named_worker_keeps_its_namespace(shell, ns):
    assert run(shell, '%%interp keeper\nhidden_state = 41').success
    del ns['hidden_state']
    assert run(shell, "%%interp keeper --in '' --out answer\nanswer = hidden_state + 1").success
    assert ns['answer'] == 42


def test_error_fails_the_cell_with_the_cells_traceback(shell, ns, capsys):
    result = run(shell, '%%interp\nx = 1\n1 / 0')
    assert not result.success and isinstance(result.error_in_exec, ZeroDivisionError)
    out = capsys.readouterr().out
    assert 'line 2' in out and 'ZeroDivisionError: division by zero' in out
    assert 'interpkernel' not in out


def test_cell_defined_exception_keeps_its_type(shell, ns):
    result = run(shell, '%%interp\nclass Custom(Exception): pass\nraise Custom("x")')
    assert type(result.error_in_exec).__name__ == 'Custom'


def test_spmd_gathers_by_rank(shell, ns, capsys):
    assert run(shell, '%%interp -n 2 --out part\npart = (rank, size)\nprint("hi")').success
    assert ns['part'] == [(0, 2), (1, 2)]
    out = capsys.readouterr().out
    assert '[rank 0] hi' in out and '[rank 1] hi' in out


def test_timeout_interrupts_with_a_clear_message(shell, ns, capsys):
    result = run(shell, '%%interp --timeout 0.3\nwhile True:\n    pass')
    assert type(result.error_in_exec).__name__ == 'CellTimeout'
    assert 'ran past --timeout 0.3 s and was interrupted' in capsys.readouterr().out
    assert run(shell, '%%interp\nafter = 1').success


def test_a_timeout_that_runs_out_before_the_cell_begins_is_a_timeout_too(shell, ns, capsys):
    busy = [run(shell, '%%interp --bg\nimport time\ntime.sleep(1)') for _ in range(4)]
    assert all(r.success for r in busy)
    result = run(shell, '%%interp --timeout 0.2\nqueued = 1')     # behind the busy cells
    assert type(result.error_in_exec).__name__ == 'CellTimeout' and 'queued' not in ns
    assert 'ran past --timeout 0.2 s' in capsys.readouterr().out
    assert run(shell, '%interp wait').success


def test_background_cell_returns_at_once_and_lands_later(shell, ns):
    run(shell, '%interp channel gate')
    assert run(shell, '%%interp --bg slow\ngate.recv()\nlate = "here"').success
    assert 'late' not in ns          # the magic returned while the cell waits on the gate
    ns['gate'].send('open')
    run(shell, '%interp wait slow')
    assert ns['late'] == 'here'


def test_two_background_cells_overlap_in_time(shell, ns):
    cell = ('%%interp --bg {name}\nimport time\nstart_{name} = time.perf_counter()\n'
            'total = 0\nfor i in range(3_000_000):\n    total += i\n'
            'end_{name} = time.perf_counter()')
    run(shell, cell.format(name='left'))
    run(shell, cell.format(name='right'))
    run(shell, '%interp wait')
    assert ns['start_left'] < ns['end_right'] and ns['start_right'] < ns['end_left']


def test_host_engine_runs_numpy(shell, ns):
    pytest.importorskip('numpy')
    result = run(shell, '%%interp --engine host\nimport numpy as np\narr = np.arange(4)\narr.sum()')
    assert result.success and int(result.result) == 6 and list(ns['arr']) == [0, 1, 2, 3]


def test_numpy_in_a_worker_names_ways_that_work_without_numpys_frames(shell, ns, capsys):
    pytest.importorskip('numpy')
    result = run(shell, '%%interp\nimport numpy')
    assert type(result.error_in_exec).__name__ == 'SubinterpreterImportError'
    shown = capsys.readouterr().out.strip().splitlines()
    message = shown[-1]
    assert "SubinterpreterImportError: 'numpy' cannot be imported" in message
    assert '%%interp --engine host' in message and 'interp kernel' in message
    assert '%interp cluster start -n N, then %%interp --engine cluster' in message
    assert not any('numpy/' in line or 'importlib' in line for line in shown)
    assert any(line.strip() == 'import numpy' for line in shown)   # the cell's own line


def test_channel_between_background_producer_and_consumer(shell, ns):
    run(shell, '%interp channel pipe')
    assert isinstance(ns['pipe'], Channel)
    run(shell, '%%interp --bg consumer\ngot = [item for item in pipe]')
    run(shell, '%%interp --bg producer\nfor i in range(5):\n    pipe.send(i)\npipe.close()')
    run(shell, '%interp wait')
    assert ns['got'] == [0, 1, 2, 3, 4]


def test_labels_match_the_prompt(shell, ns, capsys):
    """IPython 9 counts a cell before running it: the label must still be the prompt's."""
    result = run(shell, '%%interp\nx = 1\n1 / 0')
    assert f'Cell In[{result.execution_count}], line 2' in capsys.readouterr().out
    background = run(shell, '%%interp --bg labelled\nx = 1')
    run(shell, '%interp wait labelled')
    assert f'[interp] In[{background.execution_count}] on labelled' in capsys.readouterr().out
    timeline = repr(shell.run_line_magic('interp', 'timeline -n 1'))
    assert f'In[{background.execution_count}] ' in timeline


def test_wait_for_finished_background_cells_returns_at_once(shell, ns):
    run(shell, '%%interp --bg finished_early\nearly = 1')
    magics = shell.magics_manager.registry['InterpMagics']
    magics._background[-1].wait(10)
    assert run(shell, '%interp wait finished_early').success
    assert run(shell, '%interp wait finished_early').success   # again: still nothing to do
    assert run(shell, '%interp wait').success
    assert ns['early'] == 1


def test_interrupt_says_what_it_interrupted(shell, ns, capsys):
    run(shell, '%%interp --bg spinner\nwhile True:\n    pass')
    result = run(shell, '%interp interrupt spinner')
    assert result.success
    run(shell, '%interp wait spinner')
    out = capsys.readouterr().out
    assert f'[interp] interrupted In[{result.execution_count - 1}] on spinner' in out
    run(shell, '%interp interrupt spinner')
    assert '[interp] nothing to interrupt: no cell is running on spinner' in capsys.readouterr().out


def test_timeline_text_columns_line_up_with_spmd_labels(shell, ns):
    run(shell, '%%interp --out alone\nalone = 1')
    run(shell, '%%interp -n 2 --out part\npart = rank')
    lines = repr(shell.run_line_magic('interp', 'timeline -n 3')).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith('cell '))
    rows = lines[header + 1:]
    assert len(rows) == 3 and any('[rank 1]' in row for row in rows)
    for column in ('state', 'on', 'queued'):
        at = lines[header].index(column)
        assert all(row[at - 2:at] == '  ' and row[at] != ' ' for row in rows), column


def test_status_and_timeline(shell, ns):
    run(shell, '%%interp\nx = 1')
    status = shell.run_line_magic('interp', 'status')
    assert 'worker' in repr(status) and 'idle' in repr(status)
    assert '<table>' in status._repr_html_()
    timeline = shell.run_line_magic('interp', 'timeline')
    assert '<svg' in timeline._repr_html_() and 'In[' in repr(timeline)


def test_pool_resize_and_reset(shell, ns):
    run(shell, '%interp pool 3')
    magics = shell.magics_manager.registry['InterpMagics']
    assert magics.pool.size == 3
    run(shell, '%interp reset')
    assert run(shell, '%%interp\nfresh = 1').success and ns['fresh'] == 1
    run(shell, '%interp pool 2')


def _completions(shell, line):
    with provisionalcompleter():
        return [c.text for c in shell.Completer.completions(line, len(line))]


def test_completion_of_subcommands_and_worker_names(shell, ns):
    run(shell, '%%interp completer_target\nx = 1')
    assert 'status' in _completions(shell, '%interp st')
    assert 'completer_target' in _completions(shell, '%interp close comp')


@pytest.mark.parametrize('cell, message', [
    ('%%interp --bogus\nx = 1', 'unrecognized arguments: --bogus'),
    ('%%interp 9lives\nx = 1', 'must be a Python identifier'),
    ('%%interp --in undefined_name\nx = 1', '--in names undefined_name, not defined here'),
    ('%%interp -n 0\nx = 1', '-n must be at least 1'),
    ('%%interp --timeout -1\nx = 1', '--timeout takes a positive number of seconds'),
    ('%%interp --timeout 0\nx = 1', 'got 0; leave it out for no time limit'),
    ('%%interp --timeout nan\nx = 1', 'got nan'),
    ('%%interp --timeout inf\nx = 1', 'got inf'),
    ('%%interp --timeout 1e300\nx = 1', 'got 1e+300'),
    ('%%interp class\nx = 1', "not a keyword, got 'class'"),
    ('%%interp --in class\nx = 1', "Python names (not keywords), got 'class'"),
    ('%%interp --out x,def\nx = 1', "Python names (not keywords), got 'def'"),
    ('%interp channel class', "not a keyword, got 'class'"),
    ('%interp pool 10000', 'more workers than max_pool_size'),
    ('%%interp -n 10000\nx = 1', 'more workers than max_pool_size'),
    ('%%interp\n!ls', 'line 1 uses IPython syntax'),
    ('%%interp\n\nx = 1\n!ls', "line 3 uses IPython syntax ('!ls')"),
    ('%%interp\n   \n', 'the cell body is empty'),
    ('%interp', 'needs a subcommand'),
    ('%interp frobnicate', "unknown %interp subcommand 'frobnicate'"),
    ('%interp wait never_ran', "no %%interp cell ran on 'never_ran'"),
    ('%interp close nobody', "no worker named 'nobody'"),
    ('%interp pool 0', 'at least 1 worker'),
    ("%%interp --in 'a\nx = 1", 'No closing quotation'),
    ('%interp wait "never', 'No closing quotation'),
])
def test_bad_input_is_a_one_line_usage_error_and_changes_nothing(shell, ns, capsys, cell, message):
    before = dict(ns)
    result = run(shell, cell)
    assert not result.success
    out = capsys.readouterr()
    assert message in out.out + out.err
    assert len((out.out + out.err).strip().splitlines()) == 1
    assert {k: v for k, v in ns.items() if not k.startswith('_')} == \
        {k: v for k, v in before.items() if not k.startswith('_')}
    assert run(shell, '%%interp --out y\ny = 1').success


def test_unmovable_input_names_the_variable(shell, ns, capsys, tmp_path):
    ns['handle'] = open(tmp_path / 'log.txt', 'w')
    result = run(shell, '%%interp\nsize = handle.write("x")')
    ns['handle'].close()
    assert type(result.error_in_exec).__name__ == 'TransferError'
    out = capsys.readouterr().out
    assert "'handle'" in out and 'open the file inside the cell' in out
    assert 'size' not in ns


def test_out_of_a_name_the_cell_did_not_set(shell, ns, capsys):
    result = run(shell, '%%interp --out never_set\nx = 1')
    assert type(result.error_in_exec).__name__ == 'MissingOutputError'
    assert 'never_set' in capsys.readouterr().out


def test_syntax_error_is_reported_with_its_line(shell, ns, capsys):
    result = run(shell, '%%interp\nx = 1\ny = (')
    assert isinstance(result.error_in_exec, SyntaxError)
    assert 'line 2' in capsys.readouterr().out.replace(':2', 'line 2')


def test_close_of_a_busy_worker_refuses_then_forces(shell, ns, capsys):
    run(shell, '%%interp --bg busy\nwhile True:\n    pass')
    result = run(shell, '%interp close busy')
    assert not result.success and '--force' in capsys.readouterr().err
    assert run(shell, '%interp close busy --force').success
    assert run(shell, '%%interp\nok = 1').success


def test_help_lists_every_option(shell):
    doc = shell.find_cell_magic('interp').__doc__
    assert doc.lstrip(':\n ').startswith('%interp [')
    for option in ('--in', '--out', '--bg', '-n N', '--all', '--timeout', '--engine', 'Examples'):
        assert option in doc
    assert 'The stop button' in doc and 'leaves ``--bg`` cells running' in doc
    assert 'status' in shell.find_line_magic('interp').__doc__
