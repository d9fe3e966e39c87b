"""``python -m interpkernel run``: run a notebook as "Run All" does and say how it went.

Every code cell is sent at once (`notebook.Kernel`), on the interp kernel
unless another is named.  A progress bar counts the cells as they end; then
one line per cell says how long it ran, where, and what it waited for (the
interp kernel says; other kernels run cells one after another), and a summary
sets the wall time against the sum of the cells' times.
"""

import json
import re
import sys
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import nbformat
from tqdm import tqdm

from .errors import InterpkernelError
from .kernel.install import KERNEL_NAME
from .notebook import SETTLE, TIMELINE, Kernel, comparable, kernel_names

__all__ = ['NotebookRun', 'CellLine', 'load', 'execute', 'cell_lines', 'report', 'write', 'main']

COMPARED_WITH = 'python3'   # what --compare runs on besides interp, unless --kernel names one
_SOURCE_WIDTH = 32
# What nbformat raises for JSON that is not a notebook, besides its ValidationError.
_MALFORMED = (nbformat.ValidationError, AttributeError, KeyError, TypeError, ValueError)


@dataclass
class NotebookRun:
    """One run of a notebook on one kernel.

    Attributes:
        kernel: the kernel's name.  runs: a `CellRun` per code cell.
        interp: whether the interp kernel ran it (its replies say where each
            cell ran and what it waited for).
        wall: seconds from the first cell busy to the last cell idle.
        timeline: the SVG ``%interp timeline`` drew, if asked for, else None.
        problem: why the run as a whole went wrong (timed out, the kernel
            died), or None.
    """
    kernel: str
    runs: list
    interp: bool
    wall: float
    timeline: str | None
    problem: str | None


@dataclass(frozen=True)
class CellLine:
    """One cell as the report shows it (None or '-' where not known)."""
    label: str
    seconds: float | None
    ran_on: str
    waited_for: str
    source: str
    outcome: str
    note: str = ''


def load(path):
    """Read the notebook at `path`, converted to nbformat 4.

    Raises InterpkernelError (one line) if it is missing, unreadable, not JSON
    or not a valid notebook.
    """
    try:
        text = Path(path).read_text(encoding='utf-8')
    except FileNotFoundError:
        raise InterpkernelError(f'{path}: no such file') from None
    except OSError as exc:
        raise InterpkernelError(f'{path}: {exc.strerror}') from None
    except UnicodeDecodeError:
        raise InterpkernelError(f'{path} is not a notebook: it is not UTF-8 text') from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InterpkernelError(f'{path} is not valid JSON: {exc}') from None
    if not isinstance(data, dict) or 'nbformat' not in data:
        raise InterpkernelError(f'{path} is not a valid notebook: it has no "nbformat" field')
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except _MALFORMED as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InterpkernelError(f'{path} is not a valid notebook: {reason}') from None
    return notebook


def execute(notebook, kernel_name, *, timeout, timeline=False, cwd=None, label=None):
    """Run `notebook` on `kernel_name` as "Run All" does; return a NotebookRun.

    The kernel runs in `cwd` (the notebook's folder, for its relative paths).
    Past `timeout` seconds it is interrupted, as the stop button does, and the
    cells get `SETTLE` seconds to report how they ended.
    """
    problem = drawn = None
    try:
        kernel = Kernel(kernel_name, cwd=cwd)
    except RuntimeError as exc:
        raise InterpkernelError(str(exc)) from None
    with kernel:
        pending = kernel.submit(notebook)
        with tqdm(total=len(pending), unit='cell', desc=label or kernel_name,
                  file=sys.stderr, disable=None, leave=False) as bar:
            try:
                kernel.collect(pending, timeout, on_done=lambda run: bar.update())
            except TimeoutError:
                problem = f'the run passed --timeout {timeout:g} s and was interrupted'
                kernel.interrupt()
                try:
                    kernel.collect(pending, SETTLE)
                except (TimeoutError, RuntimeError):
                    pass   # what has not ended by now is reported unfinished
            except RuntimeError as exc:
                problem = str(exc)   # the kernel died
        if problem is None and timeline:
            drawn = _svg(kernel.ask({'svg': TIMELINE}).get('svg', {}))
    runs = list(pending.values())
    busy = [r.busy for r in runs if r.busy is not None]
    idle = [r.idle for r in runs if r.idle is not None]
    wall = max(idle) - min(busy) if busy and idle else 0.0
    return NotebookRun(kernel_name, runs, kernel.is_interp, wall, drawn, problem)


def _svg(bundle):
    """The SVG picture in a mimebundle: its image/svg+xml, or an <svg> inside its HTML."""
    if 'image/svg+xml' in bundle:
        return bundle['image/svg+xml']
    found = re.search(r'<svg\b.*</svg>', bundle.get('text/html', ''), re.DOTALL)
    return found.group(0) if found else None


def _label(run, number):
    return f'In[{run.count}]' if run.count is not None else f'cell {number}'


def cell_lines(run):
    """A CellLine per code cell of `run` (a NotebookRun)."""
    lines = []
    for number, cell in enumerate(run.runs, start=1):
        label = _label(cell, number)
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), '')
        if len(first) > _SOURCE_WIDTH:
            first = first[:_SOURCE_WIDTH - 1] + '…'
        outcome = {'ok': '', 'aborted': 'not run: an earlier cell failed',
                   'unfinished': 'unfinished'}.get(cell.status)
        if outcome is None:
            outcome = f"{cell.reply.get('ename', 'error')}: {cell.reply.get('evalue', '')}"
        flow = cell.dataflow
        if not run.interp:
            seconds = None if cell.idle is None or cell.busy is None else cell.idle - cell.busy
            lines.append(CellLine(label, seconds, '-', '-', first, outcome))
        elif flow is not None:
            lines.append(CellLine(label, flow.ran, flow.ran_on, _waited(flow.waited_for), first,
                                  outcome, flow.note))
        else:   # the kernel answered before the cell had a place (a syntax error ...)
            lines.append(CellLine(label, None, '-', '-', first, outcome))
    return lines


def _waited(pairs):
    """The cells waited for, grouped by why: ``In[1..8] (it runs after every earlier cell)``."""
    groups = {}
    for label, why in pairs:
        groups.setdefault(why, []).append(label)
    return ', '.join(f'{_labels(labels)} ({why})' for why, labels in groups.items()) or '-'


def _labels(labels):
    """``In[1], In[2], In[3], In[5]`` as ``In[1..3], In[5]``."""
    counts = sorted(int(label[3:-1]) for label in labels)
    runs = []
    for count in counts:
        if runs and count == runs[-1][1] + 1:
            runs[-1][1] = count
        else:
            runs.append([count, count])
    return ', '.join(f'In[{a}..{b}]' if b - a >= 2
                     else ', '.join(f'In[{n}]' for n in range(a, b + 1)) for a, b in runs)


def report(run, out=print):
    """Print a line per cell, then the wall time, the sum of the cells' times and the speed-up."""
    lines = cell_lines(run)
    columns = [('cell', [line.label for line in lines]),
               ('ran on', [line.ran_on for line in lines]),
               ('source', [line.source for line in lines])]
    cell, where, source = (max([len(head), *map(len, values)]) for head, values in columns)
    out(f"{'cell':<{cell}}  {'ran':>8}  {'ran on':<{where}}  {'source':<{source}}  waited for")
    for line in lines:
        seconds = '?' if line.seconds is None else f'{line.seconds:.3f} s'
        outcome = f'  <- {line.outcome}' if line.outcome else ''
        out(f'{line.label:<{cell}}  {seconds:>8}  {line.ran_on:<{where}}  '
            f'{line.source:<{source}}  {line.waited_for}{outcome}')
    counted = [line.seconds for line in lines if line.seconds is not None]
    total = sum(counted)
    speed_up = f'{total / run.wall:.2f}x' if run.wall > 0 else '-'
    out(f'wall time {run.wall:.2f} s (first cell busy to last cell idle), cells ran '
        f'{total:.2f} s in all: speed-up {speed_up}')
    notes = {}
    for line in lines:
        if line.note:
            notes.setdefault(line.note, []).append(line.label)
    for note, labels in notes.items():
        out(f'  {_labels(labels)}: {note}')
    if len(counted) < len(lines):
        out('  (cells with no time did not run)')


def _differences(first, second):
    """(label, (output on first, output on second)) per cell whose outputs differ."""
    found = []
    for number, (a, b) in enumerate(zip(first.runs, second.runs), start=1):
        left, right = comparable(a.outputs), comparable(b.outputs)
        if left != right:
            pair = next((x, y) for x, y in zip_longest(left, right) if x != y)
            found.append((_label(a, number), pair))
    return found


def _failure(notebook, run):
    """A one-line message naming the first cell that failed without a ``raises-exception`` tag."""
    cells = [c for c in notebook.cells if c.cell_type == 'code']
    for number, (cell, cell_run) in enumerate(zip(cells, run.runs), start=1):
        if cell_run.status == 'error' and 'raises-exception' not in cell.metadata.get('tags', []):
            reply = cell_run.reply
            aborted = sum(r.status == 'aborted' for r in run.runs)
            after = f'; the {aborted} cells after it were not run, as in Run All' \
                if aborted else ''
            return (f"{_label(cell_run, number)} (code cell {number}) failed: "
                    f"{reply.get('ename')}: {reply.get('evalue')}{after}")
    return None


def write(notebook, run, path):
    """Write `notebook` with the outputs and execution counts of `run` to `path`."""
    executed = nbformat.from_dict(notebook)
    cells = [c for c in executed.cells if c.cell_type == 'code']
    for cell, cell_run in zip(cells, run.runs):
        cell.execution_count = None if cell_run.status == 'aborted' else cell_run.count
        cell.outputs = [_without_display_id(output) for output in cell_run.outputs]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, path)


def _without_display_id(output):
    output = nbformat.from_dict(output)
    output.get('metadata', {}).pop('_display_id', None)
    return output


def main(path, *, output=None, inplace=False, timeline=None, kernel=None,
         compare=False, timeout=600, out=print, err=None):
    """Run, report, write; return the exit status: 0, or 1 if the run went wrong.

    `kernel` defaults to the interp kernel.  Raises InterpkernelError (one
    line) for a notebook or kernel it cannot run.
    """
    kernel = kernel or KERNEL_NAME
    err = err or _stderr
    notebook = load(path)
    kernels = [kernel]
    if compare:
        kernels = [KERNEL_NAME, COMPARED_WITH if kernel == KERNEL_NAME else kernel]
    available = kernel_names()
    for name in kernels:
        if name not in available:
            raise InterpkernelError(f'no kernel named {name!r}; the kernels here: '
                                    f'{", ".join(available)}')
    status = 0
    runs = []
    for name in kernels:
        run = execute(notebook, name, timeout=timeout, timeline=bool(timeline) and not runs,
                      cwd=Path(path).resolve().parent, label=f'{Path(path).name} on {name}')
        out(f'{Path(path).name} on the {name} kernel:')
        report(run, out)
        problem = run.problem or _failure(notebook, run)
        if problem:
            err(f'error on {name}: {problem}')
            status = 1
        runs.append(run)
    if compare and _compare(*runs, out):
        status = 1
    destination = path if inplace else output
    if destination:
        write(notebook, runs[0], destination)
        out(f'wrote {destination}')
    if timeline:
        if runs[0].timeline is None:
            why = runs[0].problem or (f'%interp timeline drew nothing on {runs[0].kernel} (on '
                                      f'kernels other than interp, the notebook must run '
                                      f'%%interp cells)')
            err(f'error: no timeline to write: {why}')
            status = 1
        else:
            Path(timeline).parent.mkdir(parents=True, exist_ok=True)
            Path(timeline).write_text(runs[0].timeline, encoding='utf-8')
            out(f'wrote {timeline}')
    return status


def _stderr(text):
    sys.stdout.flush()   # keep the report and the errors in order
    print(text, file=sys.stderr)


def _compare(first, second, out):
    """Report times and output differences; True if the outputs differ."""
    faster = f'{second.wall / first.wall:.2f}x' if first.wall > 0 else '-'
    out(f'{first.kernel} {first.wall:.2f} s, {second.kernel} {second.wall:.2f} s: '
        f'{first.kernel} is {faster} as fast')
    found = _differences(first, second)
    if not found:
        out(f'outputs: the same in all {len(first.runs)} code cells')
        return False
    out(f'outputs differ in {len(found)} of {len(first.runs)} code cells: '
        + ', '.join(label for label, _ in found))
    for label, (a, b) in found:
        out(f'  {label}: {_short(a)} on {first.kernel}, {_short(b)} on {second.kernel}')
    return True


def _short(output, width=70):
    text = repr(output)
    return text if len(text) <= width else text[:width - 1] + '…'
