"""The magics in terminal IPython, driven through a pseudo-terminal as a user types.

What only a terminal shows: the --bg status line cannot update in place, so
each change of state is a new line; prompts and labels must agree; Ctrl-C
during ``%interp wait`` must read as one line.
"""

import os
import re
import sys
import time

import pexpect
import pytest

_ESCAPES = re.compile(r'\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[=>])')
_SUBMIT = '\x1b\r'     # Esc-Enter: prompt_toolkit runs a multi-line cell


class Terminal:
    """IPython in a pty; `text` is everything it printed, escape sequences removed."""

    def __init__(self):
        env = dict(os.environ, TERM='xterm', PROMPT_TOOLKIT_NO_CPR='1')
        self.child = pexpect.spawn(
            sys.executable, ['-m', 'IPython', '--no-banner', '--colors=nocolor',
                             '--no-confirm-exit', '--HistoryManager.hist_file=:memory:',
                             '--InterpMagics.status_interval=0.2'],
            encoding='utf-8', dimensions=(50, 200), env=env, timeout=60)
        self.raw = ''
        self.prompt = 1
        self.wait_for(r'In \[1\]:')

    @property
    def text(self):
        return _ESCAPES.sub('', self.raw).replace('\r', '')

    def read(self):
        try:
            while True:
                self.raw += self.child.read_nonblocking(100_000, timeout=0.05)
        except (pexpect.TIMEOUT, pexpect.EOF):
            pass

    def wait_for(self, pattern, since=0, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read()
            match = re.search(pattern, self.text[since:])
            if match:
                return match
        raise AssertionError(f'{pattern!r} did not show within {timeout} s:\n'
                             f'{self.text[since:]}')

    def run(self, cell):
        """Type `cell` at the prompt, wait for the next prompt; return (its number, output)."""
        since, number = len(self.text), self.prompt
        self.child.send(cell.replace('\n', '\r') + (_SUBMIT if '\n' in cell else '\r'))
        self.prompt += 1
        self.wait_for(rf'In \[{self.prompt}\]:', since)
        return number, self.text[since:]

    def close(self):
        self.child.sendline('exit')
        self.child.expect(pexpect.EOF)


@pytest.fixture(scope='module')
def terminal():
    term = Terminal()
    term.run('%load_ext interpkernel')
    yield term
    term.close()


def test_background_status_line_reports_each_change(terminal):
    number, _ = terminal.run('%%interp --bg sleeper\nimport time\ntime.sleep(1.5)\nslept = 1')
    since = max(0, len(terminal.text) - 200)   # its "running" line may have shown already
    terminal.wait_for(rf'\[interp\] In\[{number}\] on sleeper: done after 1\.\d s', since)
    lines = re.findall(rf'\[interp\] In\[{number}\] on sleeper: (\w+)', terminal.text)
    assert lines[-2:] == ['running', 'done'] and lines.count('running') == 1


def test_labels_match_the_prompts(terminal):
    number, _ = terminal.run('%%interp --bg oops\nx = 1\n1 / 0')
    terminal.wait_for(rf'Cell In\[{number}\], line 2')
    terminal.wait_for(rf'\[interp\] In\[{number}\] on oops: failed')


def test_interrupt_confirms_what_it_stopped(terminal):
    number, _ = terminal.run('%%interp --bg spin\nwhile True:\n    pass')
    _, out = terminal.run('%interp interrupt spin')
    assert f'[interp] interrupted In[{number}] on spin' in out


def test_ctrl_c_during_wait_is_one_line(terminal):
    number, _ = terminal.run('%%interp --bg forever\nwhile True:\n    pass')
    since = len(terminal.text)
    terminal.child.send('%interp wait forever\r')
    time.sleep(1)
    terminal.child.sendintr()
    terminal.prompt += 1
    terminal.wait_for(rf'In \[{terminal.prompt}\]:', since)
    out = terminal.text[since:]
    assert f'KeyboardInterrupt: interrupted In[{number}] on forever' in out
    assert 'threading.py' not in out and 'Traceback' not in out.split('KeyboardInterrupt:')[-1]
    assert out.count('KeyboardInterrupt') == 2   # the cell's own, and the wait's one line


def test_timeline_text_columns_line_up(terminal):
    terminal.run('%%interp -n 2 --out part\npart = rank')
    _, out = terminal.run('%interp timeline -n 3')
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith('cell '))
    rows = [line for line in lines[header + 1:] if line.startswith('In[')]
    assert len(rows) == 3 and any('[rank 1]' in row for row in rows)
    for column in ('state', 'on ', 'queued', 'waited', 'ran'):
        at = lines[header].index(column)
        assert all(row[at - 2:at] == '  ' and row[at] != ' ' for row in rows), column
