"""``%interp timeline``: what the chart shows, in the interp kernel, in IPython and in JupyterLab.

The SVG must parse as XML and carry what a reader needs: a legend, time
ticks, a tooltip per cell (its first line, where it ran, what it waited for),
the dataflow waits, breaks where idle time was cut out; by default only the
last run; cells aborted before they ran listed, not drawn.
"""

import re
import time
import xml.etree.ElementTree as ET

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from jupyter_client.manager import start_new_kernel

from interpkernel.kernel.install import DISPLAY_NAME, KERNEL_NAME
from test_jupyterlab import TOKEN, browser, lab, page  # noqa: F401 (the JupyterLab fixtures)
from test_magics_kernel import Session

SVG = '{http://www.w3.org/2000/svg}'
RUN = [
    'def work(n):\n    total = 0\n    for i in range(n):\n        total += i % 7\n    return total',
    'a = work(1_500_000)',
    'b = work(1_500_000)',
    'c = a + b\nprint(c)',
]


def _svg(html):
    """The <svg> element inside the timeline's HTML, parsed."""
    return ET.fromstring(re.search(r'<svg\b.*</svg>', html, re.DOTALL).group(0))


def _texts(svg, tag='text'):
    return [''.join(e.itertext()) for e in svg.iter(SVG + tag)]


@pytest.fixture(scope='module')
def kernel(kernelspec):
    manager, client = start_new_kernel(kernel_name=KERNEL_NAME)
    yield Session(client)
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def _timeline(session, line):
    msg_id, reply = session.run(line)
    assert reply['status'] == 'ok', reply
    [result] = session.of(msg_id, 'execute_result')
    return result['content']['data']


def test_the_kernel_timeline_shows_the_last_run_its_waits_and_a_legend(kernel):
    session = kernel
    session.run('%config InterpMagics.timeline_gap = 1.0')
    _, early = session.run('early = 1')
    time.sleep(1.5)                               # an idle gap: what follows is a new run
    ids = [session.submit(code) for code in RUN]
    replies = [session.reply(msg_id) for msg_id in ids]
    first = replies[0]['execution_count']
    labels = [f'In[{first + i}]' for i in range(len(RUN))]

    last_two = _timeline(session, '%interp timeline -n 2')['text/plain']
    assert last_two.startswith(f'{labels[2]} … {labels[3]}: the last 2 cells')
    data = _timeline(session, '%interp timeline')
    assert data['image/svg+xml'].startswith('<svg')
    svg = _svg(data['text/html'])
    assert f'In[{early["execution_count"]}]' not in data['text/plain']   # before the gap
    for label in labels:
        assert label in data['text/plain']
    titles = _texts(svg, 'title')
    joined = next(t for t in titles if t.startswith(f'{labels[3]}: done on #'))
    assert 'c = a + b' in joined
    assert f'{labels[1]} (reads a)' in joined and f'{labels[2]} (reads b)' in joined
    texts = _texts(svg)
    assert {'done', 'waiting (for inputs or a free worker)',
            'an input it waited for is ready'} <= set(texts)
    assert len([t for t in texts if re.fullmatch(r'\d+(\.\d+)? s', t)]) >= 3   # ticks
    arrows = [e for e in svg.iter(SVG + 'line') if e.get('marker-end')]
    assert len(arrows) >= 2                       # the join waited for a and b

    everything = _timeline(session, '%interp timeline --all')
    assert f'In[{early["execution_count"]}]' in everything['text/plain']
    svg = _svg(everything['text/html'])
    assert 'idle time cut out' in _texts(svg)
    assert any(t.endswith('s idle, cut out') for t in _texts(svg, 'title'))



@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic('load_ext', 'interpkernel')
    yield ip
    ip.run_line_magic('unload_ext', 'interpkernel')


def test_aborted_cells_are_listed_not_drawn(shell):
    """Rows shaped as the interp kernel hands them to attach_kernel."""
    now = time.perf_counter()
    rows = [('In[1]', 'done', '#0', now - 3, now - 2.9, now - 2, [], ''),
            ('In[2]', 'failed', '#1', now - 2.9, now - 2.8, now - 2.5, [], ''),
            ('In[3]', 'aborted', '', now - 2.9, None, now - 2.5, ['In[1] (reads x)'], ''),
            ('In[4]', 'aborted', '', now - 2.9, None, now - 2.5, [], ''),
            ('In[5]', 'waiting', '', now - 1, None, None, ['In[9] (reads y)'], '')]
    shell.magics_manager.registry['InterpMagics'].attach_kernel(lambda: [], lambda: rows)
    timeline = shell.run_line_magic('interp', 'timeline')
    text = repr(timeline)
    assert 'not run (aborted or cancelled before they started): In[3], In[4]' in text
    drawn = [line.split()[0] for line in text.splitlines()[4:]]
    assert drawn == ['In[1]', 'In[2]', 'In[5]']
    svg = _svg(timeline._repr_html_())
    assert 'waiting' in _texts(svg) and 'failed' in _texts(svg)      # a lane and a legend entry
    assert not any(t.startswith(('In[3]', 'In[4]')) for t in _texts(svg, 'title'))


def test_a_cancelled_background_cell_is_listed_not_drawn(shell):
    sleeping = shell.run_cell('%%interp --bg lane\nimport time\ntime.sleep(30)',
                              store_history=True)
    run = shell.magics_manager.registry['InterpMagics']._background[-1].run
    deadline = time.monotonic() + 30
    while run.state() != 'running':
        assert time.monotonic() < deadline, 'the first cell never started'
        time.sleep(0.02)
    queued = shell.run_cell('%%interp --bg lane\nnever = 1', store_history=True)
    shell.run_cell('%interp interrupt lane', store_history=True)
    shell.run_cell('%interp wait lane', store_history=True)
    text = repr(shell.run_line_magic('interp', 'timeline --all'))
    assert f'before they started): In[{queued.execution_count}]\n' in text
    assert re.search(rf'^In\[{sleeping.execution_count}\] +interrupted +lane ', text, re.M)


def test_the_timeline_in_jupyterlab_has_tooltips(kernelspec, lab, page, artefacts):
    url, root = lab
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(code) for code in [*RUN, '%interp timeline']])
    notebook.metadata['kernelspec'] = {'name': KERNEL_NAME, 'display_name': DISPLAY_NAME,
                                       'language': 'python'}
    nbformat.write(notebook, root / 'timeline.ipynb')
    page.goto(f'{url}/lab/tree/timeline.ipynb?token={TOKEN}')
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
        timeout=60_000)
    cells = page.locator('.jp-Notebook .jp-Cell')
    deadline = time.monotonic() + 60
    # Run the cells at once (select them, Shift+Enter).  Until the notebook has its kernel
    # connection, JupyterLab drops the request (the prompt shows [*], then [ ] again):
    # until the first cell (a `def`, done at once) has its number, try again.
    while not re.fullmatch(r'\[\d+\]:', cells.first.locator('.jp-InputPrompt').inner_text()
                           .strip()):
        assert time.monotonic() < deadline, 'JupyterLab never ran the cells'
        dialog = page.locator('.jp-Dialog')
        assert not dialog.count(), f'JupyterLab shows a dialog: {dialog.first.inner_text()!r}'
        cells.first.locator('.jp-InputPrompt').click()
        page.keyboard.press('Escape')
        for _ in RUN[1:]:
            page.keyboard.press('Shift+ArrowDown')
        page.keyboard.press('Shift+Enter')
        page.wait_for_timeout(3000)
    page.locator('.jp-OutputArea-output', has_text='8999990').wait_for(timeout=60_000)
    timeline = cells.nth(len(RUN))
    timeline.locator('.jp-InputPrompt').click()
    page.keyboard.press('Shift+Enter')             # then the timeline
    chart = timeline.locator('.jp-OutputArea-output svg')
    chart.wait_for(timeout=60_000)
    titles = chart.locator('title').all_text_contents()
    assert any('c = a + b' in t and 'waited for' in t for t in titles)
    chart.screenshot(path=artefacts / 'timeline.png')
    page.screenshot(path=artefacts / 'timeline-notebook.png')
