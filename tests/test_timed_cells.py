"""Cells that are one ``%time`` or ``%%time``: which ones a worker may run, and
the times printed as IPython's magic prints them."""

import math

import pytest
from IPython.core.magics.execution import _format_time

from interpkernel._core.execution import format_duration
from interpkernel.dataflow.graph import TimedCode
from interpkernel.kernel.timed import timed_code


def timed(shell, cell):
    return timed_code(shell, shell.transform_cell(cell))


@pytest.mark.parametrize('cell, code', [
    ('%time 1 + 1', TimedCode('1 + 1\n', 1)),
    ('%%time\nx = 1\nx', TimedCode('x = 1\nx\n', 1)),
    ('# first\n\n%time f()', TimedCode('f()\n', 3)),
    # As the magic reads its line: split like a shell's arguments, joined by spaces.
    ('%time print("a   b")', TimedCode('print("a b")\n', 1)),
    ('%time', TimedCode('\n', 1)),
])
def test_a_cell_that_is_one_time_magic_on_python_is_its_code(shell, cell, code):
    assert timed(shell, cell) == code


@pytest.mark.parametrize('cell', [
    '%time --no-raise-error 1 / 0',      # the magic's option: IPython handles it
    '%%time x = 1\ny = 2',               # a statement after %%time: IPython's UsageError
    '%time !ls',                         # IPython syntax in its code
    '%%time\n%ls',
    'y = %time 1',                       # its value assigned: more than the magic
    '%time 1\n%time 2',
    'x = 1\n%time x',
    '%timeit 1',
    '%time 1 +',                         # IPython reports the syntax error
    '%time -- x = 1',                    # (the magic passes '--' on as code)
    'x = 1',
    '%time ' + ' + '.join(['1'] * 100_000),       # too deep to parse: as any such cell
    '%time ' + '(' * 300 + '1' + ')' * 300,
    '%time "\x00"',
])
def test_a_cell_that_is_more_or_other_than_one_time_magic_on_python_is_left_to_ipython(
        shell, cell):
    assert timed(shell, cell) is None


def test_a_time_magic_that_is_not_ipythons_is_left_to_it(shell, monkeypatch):
    monkeypatch.setitem(shell.magics_manager.magics['line'], 'time', lambda line: line)
    assert timed(shell, '%time 1 + 1') is None


@pytest.mark.parametrize('seconds', [
    0.0, 1e-10, 3e-9, 5e-7, 1e-3 - 1e-12, 1e-3, 0.0123456, 0.5, 1.0, 9.99, 10.0, 59.9,
    60.0, 61.5, 3600.0, 3725.2, 86400.0, 90000.0, 200000.7,
    *(10 ** (exponent / 7) for exponent in range(-70, 42)),
])
def test_a_duration_is_written_as_ipythons_time_magic_writes_it(seconds):
    assert format_duration(seconds) == _format_time(seconds)


def test_durations_below_a_minute_keep_three_significant_digits():
    assert [format_duration(s) for s in (math.pi * 1e-6, math.pi * 1e-3, math.pi)] == [
        '3.14 μs', '3.14 ms', '3.14 s']
