"""`python -m interpkernel run`: a notebook run as Run All does, and its report.

The runner starts real kernels (interp, and ipykernel's python3) with
jupyter_client; the interp kernel needs no installed kernelspec.
"""

import json
import re
import subprocess
import sys

import nbformat
import pytest
from jupyter_client.kernelspec import NoSuchKernel

from interpkernel.cli import main
from interpkernel.notebook import KernelSpecs

WORK = ('def work(n):\n    total = 0\n    for i in range(n):\n        total += i % 7\n'
        '    return total')


def _notebook(path, *cells, tags=None):
    """Write a notebook of code cells to `path`; `tags`: cell index -> tags."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    for index, cell_tags in (tags or {}).items():
        notebook.cells[index].metadata['tags'] = cell_tags
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def independent(tmp_path):
    return _notebook(tmp_path / 'independent.ipynb', WORK, 'a = work(200_000)',
                     'b = work(200_000)', 'print(a + b)')


def _run(capsys, *argv):
    status = main(['run', *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def _line(out, label):
    return next(line for line in out.splitlines() if line.startswith(label + ' '))


def test_runs_on_the_interp_kernel_and_writes_the_executed_notebook(independent, tmp_path, capsys):
    written, picture = tmp_path / 'out' / 'done.ipynb', tmp_path / 'run.svg'
    status, out, err = _run(capsys, independent, '-o', written, '--timeline', picture)
    assert status == 0, err
    assert 'independent.ipynb on the interp kernel:' in out
    # a line per cell: how long it ran, where, what it waited for
    assert re.match(r'In\[2\] +\d+\.\d{3} s +#\d +a = work\(200_000\) +In\[1\] \(reads work\)',
                    _line(out, 'In[2]'))
    assert re.match(r'In\[3\] +\d+\.\d{3} s +#\d ', _line(out, 'In[3]'))
    assert re.search(r'wall time \d+\.\d\d s .*cells ran \d+\.\d\d s in all: speed-up \d+\.\d\dx',
                     out)
    executed = nbformat.read(written, as_version=4)
    assert [c.execution_count for c in executed.cells] == [1, 2, 3, 4]
    assert executed.cells[3].outputs[0]['text'] == f'{2 * sum(i % 7 for i in range(200_000))}\n'
    assert picture.read_text().startswith('<svg')


def test_runs_in_a_process_where_ipyparallel_turned_date_parsing_off(independent):
    # Importing ipyparallel's client makes jupyter_client leave message dates as
    # strings, for the whole process: the runner's timings must not depend on it.
    code = ('import sys\nimport ipyparallel.client\nfrom interpkernel.cli import main\n'
            'sys.exit(main(["run", sys.argv[1]]))')
    done = subprocess.run([sys.executable, '-c', code, str(independent)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r'wall time \d+\.\d\d s ', done.stdout), done.stdout


def test_on_another_kernel_where_and_waits_are_unknown(independent, capsys):
    status, out, err = _run(capsys, independent, '--kernel', 'python3', '--inplace')
    assert status == 0, err
    assert re.match(r'In\[2\] +\d+\.\d{3} s +- +a = work\(200_000\) +-$', _line(out, 'In[2]'))
    assert nbformat.read(independent, as_version=4).cells[3].outputs   # written in place


def test_compare_reports_both_times_and_whether_outputs_match(independent, tmp_path, capsys):
    status, out, err = _run(capsys, independent, '--compare')
    assert status == 0, err
    assert 'on the interp kernel:' in out and 'on the python3 kernel:' in out
    assert re.search(r'interp \d+\.\d\d s, python3 \d+\.\d\d s: interp is \d+\.\d\dx as fast', out)
    assert 'outputs: the same in all 4 code cells' in out

    differ = _notebook(tmp_path / 'differ.ipynb', 'print(type(get_ipython().kernel).__name__)')
    status, out, _ = _run(capsys, differ, '--compare')
    assert status == 1
    assert 'outputs differ in 1 of 1 code cells: In[1]' in out
    assert 'InterpKernel' in out and 'IPythonKernel' in out


def test_a_failing_cell_names_itself_and_fails_the_run(tmp_path, capsys):
    failing = _notebook(tmp_path / 'failing.ipynb', 'x = 1', 'y = x / 0', 'z = y + 1')
    status, out, err = _run(capsys, failing, '-o', tmp_path / 'out.ipynb')
    assert status == 1
    assert err.strip() == ('error on interp: In[2] (code cell 2) failed: ZeroDivisionError: '
                           'division by zero; the 1 cells after it were not run, as in Run All')
    assert 'not run: an earlier cell failed' in _line(out, 'cell 3')
    executed = nbformat.read(tmp_path / 'out.ipynb', as_version=4)   # written all the same
    assert executed.cells[1].outputs[0]['ename'] == 'ZeroDivisionError'


def test_a_cell_asking_for_input_fails_as_under_nbclient_instead_of_waiting(tmp_path, capsys):
    asking = _notebook(tmp_path / 'asking.ipynb', 'x = 1', 'name = input("name? ")', 'y = 2')
    status, out, err = _run(capsys, asking, '-o', tmp_path / 'out.ipynb')
    assert status == 1
    assert err.startswith('error on interp: In[2] (code cell 2) failed: StdinNotImplementedError')


def test_a_cell_tagged_raises_exception_may_fail(tmp_path, capsys):
    allowed = _notebook(tmp_path / 'allowed.ipynb', 'x = 1 / 0', 'print("after")',
                        tags={0: ['raises-exception']})
    status, out, err = _run(capsys, allowed, '--kernel', 'python3')
    assert status == 0, err
    assert 'ZeroDivisionError: division by zero' in _line(out, 'In[1]')
    assert re.match(r'In\[2\] +\d', _line(out, 'In[2]'))


def test_timeout_interrupts_the_run(tmp_path, capsys):
    slow = _notebook(tmp_path / 'slow.ipynb', 'import time\ntime.sleep(60)')
    status, out, err = _run(capsys, slow, '--timeout', '2')
    assert status == 1
    assert err.strip() == 'error on interp: the run passed --timeout 2 s and was interrupted'
    assert 'KeyboardInterrupt' in _line(out, 'In[1]')


@pytest.mark.parametrize('content, message', [
    (None, r'error: .*missing\.ipynb: no such file'),
    ('{"cells": [',
     r'error: .*broken\.ipynb is not valid JSON: Expecting value: line 1 column 12 \(char 11\)'),
    ('[1, 2]', r'error: .*broken\.ipynb is not a valid notebook: it has no "nbformat" field'),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     r'error: .*broken\.ipynb is not a valid notebook: .*missing an expected key: metadata'),
], ids=['missing', 'not-json', 'not-a-notebook', 'not-nbformat'])
def test_a_notebook_it_cannot_read_is_a_one_line_error(tmp_path, capsys, content, message):
    path = tmp_path / ('missing.ipynb' if content is None else 'broken.ipynb')
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        main(['run', str(path)])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == ''
    assert len(err.splitlines()) == 1 and re.fullmatch(message, err.strip()), err


def test_an_unknown_kernel_is_a_one_line_error(independent, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(['run', str(independent), '--kernel', 'no-such-kernel'])
    _, err = capsys.readouterr()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: no kernel named 'no-such-kernel'; the kernels here: ")
    assert 'interp' in err and 'python3' in err


def test_the_interp_kernel_needs_no_installed_kernelspec(tmp_path):
    specs = KernelSpecs(kernel_dirs=[str(tmp_path)])   # a Jupyter with no kernelspec at all
    assert specs.get_kernel_spec('interp').argv[1:3] == ['-m', 'interpkernel.kernel']
    with pytest.raises(NoSuchKernel):
        specs.get_kernel_spec('no-such-kernel')


def test_the_command_line(independent):
    done = subprocess.run([sys.executable, '-m', 'interpkernel', 'run', str(independent),
                           '--kernel', 'python3'], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'speed-up' in done.stdout
    both = subprocess.run([sys.executable, '-m', 'interpkernel', 'run', str(independent), '-o',
                           'x.ipynb', '--inplace'], capture_output=True, text=True, timeout=60)
    assert both.returncode == 2 and 'not allowed with argument' in both.stderr
    assert json.loads(independent.read_text())['cells'][0]['outputs'] == []
